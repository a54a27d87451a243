"""A rent book as the engines read it: checked (:func:`validate_portfolio`), laid out in
(grade, first month at risk) groups (:class:`RentBook`, :func:`prepare_book`), and each
contract's record for the kernel (:func:`contract_records`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...products.common import first_row, require_frame, require_whole
from ...products.jhf_insurance import ELIGIBILITY_COLUMNS, JHFTerms
from .fees import fee_survival, plan_fee_line
from .model import RentModel

PORTFOLIO_COLUMNS = ("rent_yen", "management_fee_yen", "common_fee_yen", "parking_fee_yen", "plan", "grade", "insured")


def validate_portfolio(portfolio: pd.DataFrame, model: RentModel) -> None:
    """Raise ``ValueError`` naming the column and the first bad row.

    When the book carries the JHF eligibility columns, every insured contract must pass
    :meth:`~actuarial.products.jhf_insurance.JHFTerms.eligibility`.
    """
    require_frame(portfolio, PORTFOLIO_COLUMNS, "portfolio", allow_empty=False)
    for c in PORTFOLIO_COLUMNS[:4]:
        require_whole(portfolio, c, unit="whole yen")
        col = portfolio[c]
        bad = col.to_numpy() < 0
        if bad.any():
            row, i = first_row(portfolio, bad)
            raise ValueError(f"portfolio column {c!r} has a negative amount {int(col.iloc[i])} in row {row!r}")
    for c, known in (("plan", model.plans), ("grade", model.delinquency_hazard)):
        bad = ~portfolio[c].isin(list(known))
        if bad.any():
            row, i = first_row(portfolio, bad)
            raise ValueError(f"portfolio column {c!r} has unknown value {str(portfolio[c].iloc[i])!r} in row {row!r}; "
                             f"known: {', '.join(map(str, known))}")
    if portfolio["insured"].dtype != bool:
        raise ValueError(f"portfolio column 'insured' must be True/False, got dtype {portfolio['insured'].dtype}")
    if all(c in portfolio.columns for c in ELIGIBILITY_COLUMNS):
        insured = portfolio[portfolio["insured"].to_numpy()]
        check = model.jhf.eligibility(insured)
        if not check["eligible"].all():
            row, i = first_row(check, ~check["eligible"].to_numpy())
            raise ValueError(f"portfolio row {row!r} is insured but not eligible for JHF insurance "
                             f"(fails: {check['failed'].iloc[i]})")


@dataclasses.dataclass(frozen=True)
class RentBook:
    """The portfolio as arrays the kernel reads, contracts sorted by (grade, first month at
    risk), stable, so each group is a contiguous run read in order."""

    total: np.ndarray         # monthly total (plan basis), int64
    jhf_rent: np.ndarray      # rent at start in the JHF sense, int64
    cap: np.ndarray           # coverage months, int64
    insured: np.ndarray       # bool
    jhf_covered: np.ndarray   # the part of the monthly total JHF covers (no parking), int64
    group_start: np.ndarray   # offsets of the groups, one group per (grade, first month at risk)
    group_grade: np.ndarray   # grade index of each group
    group_offset: np.ndarray  # months before the first month at risk, max(start_month, 0)
    grade_hazard: np.ndarray
    fees: np.ndarray          # expected fee line, T + 1, float
    premium: np.ndarray       # JHF premiums by month, T + 1, float
    attachment: pd.DataFrame | None = None  # the JHF insurance attached by policy year (jhf_attachment)
    position: np.ndarray | None = None  # each contract's row position in the portfolio

    def grade_and_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """Each position's grade index and first-month offset (the arrays are in group order)."""
        sizes = np.diff(self.group_start)
        return np.repeat(self.group_grade, sizes), np.repeat(self.group_offset, sizes)


def start_months(portfolio: pd.DataFrame, months: int) -> np.ndarray:
    """The optional ``start_month`` column (0 when absent), checked: whole numbers below ``months``."""
    if "start_month" not in portfolio.columns:
        return np.zeros(len(portfolio), dtype=np.int64)
    require_whole(portfolio, "start_month", unit="whole months")
    col = portfolio["start_month"]
    bad = col.to_numpy() >= months
    if bad.any():
        row, i = first_row(portfolio, bad)
        raise ValueError(f"portfolio column 'start_month' must be below the horizon ({months}), "
                         f"got {int(col.iloc[i])} in row {row!r}")
    return col.to_numpy(np.int64)


def jhf_attachment(portfolio: pd.DataFrame, model: RentModel,
                   start: np.ndarray) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Which contracts are insured, and the JHF insurance attached by policy year.

    With no insurance contract amount (``model.jhf.contract_amount_yen`` None) the book's
    ``insured`` column as it is, and no table. With one, each insured contract attaches its
    insurance in its start month, ``model.projection_start`` plus ``start`` months, and
    :meth:`~actuarial.products.jhf_insurance.JHFTerms.attach_within_contract_amount` keeps a
    new one (``start >= 0``) insured only if its claim-free limit fits in what its policy
    year has left; contracts already in force (``start < 0``) were insured before and use
    their year's amount first. Those left out pay no premium and get no payout.

    The table, one row a policy year: ``guarantees`` insured in the book, ``attached``, their
    ``limit_attached_yen``, and the new ones ``left_uninsured`` with their ``limit_refused_yen``.
    The same in every scenario: attachment comes with each guarantee's start and does not
    depend on the economy.
    """
    insured = portfolio["insured"].to_numpy(bool).copy()
    if model.jhf.contract_amount_yen is None:
        return insured, None
    if model.projection_start is None:
        raise ValueError("jhf.contract_amount_yen caps the insurance attached in each policy year, so the model needs "
                         "rent_model.projection_start (the date of projection month 0) to place contracts in policy "
                         "years")
    rows = np.flatnonzero(insured)
    when = pd.Timestamp(model.projection_start)
    guarantees = pd.DataFrame({
        "attach_date": [when + pd.DateOffset(months=int(m)) for m in start[rows]],
        "rent_at_start": (portfolio["rent_yen"].to_numpy(np.int64) + portfolio["management_fee_yen"].to_numpy(np.int64)
                          + portfolio["common_fee_yen"].to_numpy(np.int64))[rows],
        "committed": start[rows] < 0,
    })
    out = model.jhf.attach_within_contract_amount(guarantees)
    insured[rows] = out["attached"].to_numpy(bool)
    refused = ~out["attached"]
    table = pd.DataFrame({
        "guarantees": out.groupby("policy_year").size(),
        "attached": out.groupby("policy_year")["attached"].sum(),
        "limit_attached_yen": out["limit_yen"].where(out["attached"], 0).groupby(out["policy_year"]).sum(),
        "left_uninsured": refused.groupby(out["policy_year"]).sum(),
        "limit_refused_yen": out["limit_yen"].where(refused, 0).groupby(out["policy_year"]).sum(),
    }).astype(np.int64)
    return insured, table


def prepare_book(portfolio: pd.DataFrame, model: RentModel) -> RentBook:
    """The portfolio checked (:func:`validate_portfolio`) and laid out as the engines read it:
    monthly totals and covers by plan, the expected fee and JHF premium lines, contracts
    sorted into (grade, first month at risk) groups."""
    validate_portfolio(portfolio, model)
    T = model.months
    start = start_months(portfolio, T)
    rent = portfolio["rent_yen"].to_numpy(np.int64)
    mgmt = portfolio["management_fee_yen"].to_numpy(np.int64)
    common = portfolio["common_fee_yen"].to_numpy(np.int64)
    parking = portfolio["parking_fee_yen"].to_numpy(np.int64)
    plans = portfolio["plan"].to_numpy()
    total = np.empty(len(portfolio), dtype=np.int64)
    covered = np.empty(len(portfolio), dtype=np.int64)
    cap = np.empty(len(portfolio), dtype=np.int64)
    grades = list(model.delinquency_hazard)
    gidx = pd.Index(grades).get_indexer(portfolio["grade"]).astype(np.int64)  # all known: validated
    grade = portfolio["grade"].to_numpy()
    alive = fee_survival(model, sorted(set(grade)))
    fees = np.zeros(T + 1)
    for name, plan in model.plans.items():
        sel = plans == name
        if not sel.any():
            continue
        items = plan.total_items(rent_yen=rent[sel], management_fee_yen=mgmt[sel], common_fee_yen=common[sel],
                                 parking_fee_yen=parking[sel])
        total[sel] = sum(items.values())
        covered[sel] = model.jhf.covered_amount(items)
        cap[sel] = plan.coverage_months
        fees += plan_fee_line(plan, total[sel], start[sel], grade[sel], model, alive)
    insured, attachment = jhf_attachment(portfolio, model, start)
    jhf_rent = rent + mgmt + common
    premium = np.zeros(T + 1)
    attach = insured & (start >= 0)
    np.add.at(premium, start[attach], model.jhf.premium(rent=rent[attach], management_fee=mgmt[attach],
                                                        common_fee=common[attach]).astype(float))
    offset = np.maximum(start, 0)
    order = np.lexsort((offset, gidx)).astype(np.int64)  # stable: book order within a group
    keys = np.stack([gidx[order], offset[order]], axis=1)
    new = np.concatenate([[True], np.any(keys[1:] != keys[:-1], axis=1)]) if len(order) else np.array([], bool)
    first = np.flatnonzero(new)
    return RentBook(total[order], jhf_rent[order], cap[order], insured[order], covered[order],
                    np.append(first, len(order)).astype(np.int64),
                    gidx[order][first].astype(np.int64), offset[order][first].astype(np.int64),
                    np.array([model.delinquency_hazard[g] for g in grades], float), fees, premium, attachment,
                    order)


#: The JHF field of a contract record: the payout limit in the low :data:`LIMIT_BITS` bits,
#: the covered monthly amount above them (:func:`contract_records`).
LIMIT_BITS = 40
LIMIT_MASK = (1 << LIMIT_BITS) - 1
MAX_COVERED_YEN = (1 << (63 - LIMIT_BITS)) - 1


def contract_records(total_yen: np.ndarray, cover_months: np.ndarray, insured: np.ndarray, jhf_rent_yen: np.ndarray,
                     jhf: JHFTerms, jhf_covered_yen: np.ndarray | None = None) -> np.ndarray:
    """One ``int64`` record of 4 per contract, what the collection kernel reads of it: the
    monthly total in yen, the arrears covered in yen (the months covered times the total),
    the JHF field (-1 when not insured), and the monthly total again if at least one month
    is covered, else 0 (what a month paid the next month adds to the kernel's cured line).

    The JHF field holds the payout limit that does not depend on the claim (the smaller of
    ``floor(coverage_ratio x cap_months x rent at start)`` and the yen cap, from
    :meth:`JHFTerms.payout_limits`) in its low :data:`LIMIT_BITS` bits, and the part of the
    monthly total the insurance covers (``jhf_covered_yen``, the total when omitted: rent,
    management and common-area fees, not parking) above them: the payout is figured on the
    covered part of the arrears, ``arrears x covered / total`` (arrears are whole monthly
    totals). Side by side, and 32 bytes so that no record straddles a cache line, they come
    into the cache together: a separate array for each was a cache miss at each exit (5% of
    the kernel's time at the base params).

    >>> r = contract_records(np.array([80_000]), np.array([24]), np.array([True]), np.array([75_000]), JHFTerms())
    >>> r[:, [0, 1, 3]]
    array([[  80000, 1920000,   80000]])
    >>> int(r[0, 2] & LIMIT_MASK), int(r[0, 2] >> LIMIT_BITS)  # the limit, the covered monthly amount
    (630000, 80000)
    """
    covered = total_yen if jhf_covered_yen is None else jhf_covered_yen
    columns = {"total_yen": total_yen, "cover_months": cover_months, "insured": insured, "jhf_rent_yen": jhf_rent_yen,
               "jhf_covered_yen": covered}
    lengths = {name: np.shape(v) for name, v in columns.items()}
    if len(set(lengths.values())) != 1 or len(lengths["total_yen"]) != 1:
        raise ValueError(f"contract_records needs 1-d arrays of one length, got shapes {lengths}")
    covered = np.asarray(covered, dtype=np.int64)
    insured = np.asarray(insured, dtype=bool)
    limit = jhf.claim_free_limit(rent_at_start=np.asarray(jhf_rent_yen, dtype=np.int64))
    checks = (("the JHF payout limit", limit, LIMIT_MASK), ("jhf_covered_yen", covered, MAX_COVERED_YEN))
    for name, values, top in checks:
        bad = insured & ((values < 0) | (values > top))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} of insured contract {i} is {int(values[i]):,} yen, outside 0..{top:,}")
    records = np.zeros((len(total_yen), 4), dtype=np.int64)
    records[:, 0] = total_yen
    records[:, 1] = np.asarray(total_yen, dtype=np.int64) * np.asarray(cover_months, dtype=np.int64)
    records[:, 2] = np.where(insured, limit | (covered << LIMIT_BITS), -1)
    records[:, 3] = np.where(records[:, 1] > 0, records[:, 0], 0)
    return records
