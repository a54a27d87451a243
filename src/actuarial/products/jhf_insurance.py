"""JHF rent-debt-guarantee insurance (家賃債務保証保険), terms as of 2023-04-01.

Source: JHF guide 家賃債務保証保険のご案内 (2023-04-01), summarised in docs/domain.md §2.

The Japan Housing Finance Agency (住宅金融支援機構, JHF) insures a registered rent
guarantor (家賃債務保証業者) against the rent it subrogates (代位弁済) for tenants who
need housing support (住宅確保要配慮者) living in registered dwellings (登録住宅).

Every rule below is a parameter of :class:`JHFTerms`, so that the 2025 successor products
(docs/domain.md §2.3) are parameter sets of the same formulas, not new code.

Roundings (the JHF guide gives whole-yen examples only; named here so they are not silent):

- premium: truncated to the yen (切り捨て);
- payout: each of the three limits truncated to the yen, then the smallest taken;
- remittance: truncated to the yen.

>>> t = JHFTerms()
>>> t.premium(rent=100_000, management_fee=0, common_fee=0, parking_fee=0)
25000
>>> t.payout(subrogated_rent=1_400_000, rent_at_start=100_000)
840000
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import pandas as pd

from .common import (
    RENT_ITEMS,
    SUBROGATION_ITEMS,
    check_count,
    check_rate,
    check_yen,
    first_row,
    is_array,
    mul_floor,
    rate_fraction,
    require_frame,
    to_date,
)

#: The eight support categories of the JHF guide II-1 (住宅確保要配慮者 ①-⑧).
SUPPORT_CATEGORIES = (
    "elderly",  # ① 高齢者
    "child_rearing",  # ② 子育て世帯 (child aged 18 or under)
    "poverty",  # ③ 生活困窮者
    "low_income",  # ④ 低所得者世帯
    "disabled",  # ⑤ 障がい者
    "disaster_victim",  # ⑥ 被災者
    "foreign_national",  # ⑦ 外国人
    "other_designated",  # ⑧ その他 (named in prefectural / municipal plans)
)

#: The seven eligibility conditions of the JHF guide II-1..7, in the guide's order.
ELIGIBILITY_CONDITIONS = (
    "support_category",
    "registered_dwelling",
    "income",
    "no_other_guarantor",
    "not_antisocial",
    "identity_verified",
    "consent",
)

#: Columns :meth:`JHFTerms.eligibility` needs; ``dwelling_accepts`` is optional.
ELIGIBILITY_COLUMNS = (
    "support_categories",
    "registered_dwelling",
    "monthly_income_yen",
    "rent_at_start_yen",
    "other_guarantor",
    "antisocial",
    "identity_verified",
    "consent_to_jhf",
)


@dataclasses.dataclass(frozen=True)
class JHFTerms:
    """Terms of the JHF rent-debt-guarantee insurance; defaults are the JHF guide's 2023-04-01 terms.

    Attributes
    ----------
    coverage_ratio:
        Share of the covered subrogated amount JHF pays (填補率), 0.70.
    cap_months:
        Months of the rent at the guarantee start whose ``coverage_ratio`` share caps the
        payout: 12, so the cap is 0.7 x 12 = 8.4 months' rent.
    cap_yen:
        Absolute cap per claim, 1,000,000 yen; ``None`` for no yen cap.
    premium_rate:
        Premium as a share of the monthly rent at the start (保険料率), 0.25, paid once.
    recovery_share:
        Share of recoveries after the payout remitted to JHF (回収金の7割を納付), 0.70.
    payment_lag_days:
        Days from claim to payment at the latest (原則30日以内), 30.
    covered_items:
        Subrogation items the insurance covers: unpaid rent including management and
        common-area fees. A 2025 variant adds ``"restoration"``.
    contract_amount_yen:
        The guarantor's aggregate insurance contract amount (保険契約額) per policy year: the
        most insurance (the sum of the claim-free payout limits) it may attach in a year
        (:meth:`attach_within_contract_amount`); ``None`` for no aggregate limit.
    name, effective_from:
        Label and the date the terms took effect.
    """

    coverage_ratio: float = 0.70
    cap_months: int = 12
    cap_yen: int | None = 1_000_000
    premium_rate: float = 0.25
    recovery_share: float = 0.70
    payment_lag_days: int = 30
    covered_items: tuple[str, ...] = RENT_ITEMS
    contract_amount_yen: int | None = None
    name: str = "JHF rent-debt-guarantee insurance (2023-04-01)"
    effective_from: dt.date = dt.date(2023, 4, 1)

    def __post_init__(self):
        check_rate("coverage_ratio", self.coverage_ratio)
        check_rate("premium_rate", self.premium_rate)
        check_rate("recovery_share", self.recovery_share)
        check_count("cap_months", self.cap_months, minimum=1)
        check_count("payment_lag_days", self.payment_lag_days)
        if self.cap_yen is not None:
            check_yen("cap_yen", self.cap_yen)
        if self.contract_amount_yen is not None:
            check_yen("contract_amount_yen", self.contract_amount_yen)
        if isinstance(self.covered_items, str):
            raise ValueError(f"covered_items must be a list of items, e.g. ('rent',), got the string "
                             f"{self.covered_items!r}")
        items = tuple(self.covered_items)
        unknown = [i for i in items if i not in SUBROGATION_ITEMS]
        if unknown:
            raise ValueError(f"covered_items has unknown item {unknown[0]!r}; known: {', '.join(SUBROGATION_ITEMS)}")
        object.__setattr__(self, "covered_items", items)
        if not isinstance(self.effective_from, dt.date):
            raise ValueError(f"effective_from must be a date, got {self.effective_from!r}")

    # -- exact fractions of the rates ------------------------------------------------
    @property
    def _coverage(self) -> Fraction:
        return rate_fraction(self.coverage_ratio, "coverage_ratio")

    # -- premium -------------------------------------------------------------------------
    def premium(self, *, rent, management_fee=0, common_fee=0, parking_fee=0):
        """Premium paid once when the insurance attaches, in yen (truncated).

        Defined as ``floor(premium_rate x (rent + management_fee + common_fee))`` at the
        guarantee start; parking is not "rent" (JHF guide III-7: 家賃月額には、管理費及び
        共益費を含み、駐車場代等は含みません). Scalars give an ``int``; arrays an ``int64`` array.

        >>> JHFTerms().premium(rent=63_000, management_fee=3_000, parking_fee=8_000)
        16500
        """
        rent = check_yen("rent", rent)
        management_fee = check_yen("management_fee", management_fee)
        common_fee = check_yen("common_fee", common_fee)
        check_yen("parking_fee", parking_fee)
        basis = rent + management_fee + common_fee
        return mul_floor(basis, rate_fraction(self.premium_rate, "premium_rate"))

    # -- payout ----------------------------------------------------------------------------
    def covered_amount(self, subrogated_rent):
        """The covered part of a subrogated amount, in yen.

        ``subrogated_rent`` is either an amount (taken as all covered rent), or a breakdown:
        a mapping of item -> yen over :data:`~actuarial.products.common.SUBROGATION_ITEMS`
        (or any object with such an ``items_yen`` mapping, such as
        :class:`~actuarial.products.rent_guarantee.Subrogation`). Only ``covered_items`` are
        summed; restoration, suit costs, renewal fees, removal, penalties and parking are left
        out under the 2023 terms.

        >>> JHFTerms().covered_amount({"rent": 600_000, "management_fee": 30_000, "suit_costs": 400_000})
        630000
        """
        if hasattr(subrogated_rent, "items_yen"):
            subrogated_rent = subrogated_rent.items_yen
        if isinstance(subrogated_rent, Mapping):
            total = 0
            for item, amount in subrogated_rent.items():
                if item not in SUBROGATION_ITEMS:
                    raise ValueError(
                        f"subrogated_rent has unknown item {item!r}; known: {', '.join(SUBROGATION_ITEMS)}"
                    )
                amount = check_yen(f"subrogated_rent[{item!r}]", amount)
                if item in self.covered_items:
                    total = total + amount
            return total
        return check_yen("subrogated_rent", subrogated_rent)

    def payout_limits(self, *, subrogated_rent, rent_at_start) -> dict:
        """The three amounts whose smallest is the payout (JHF guide III-5 ①-③), in yen.

        Defined as ``coverage``: floor(coverage_ratio x covered subrogated amount);
        ``months``: floor(coverage_ratio x cap_months x rent_at_start); ``yen``: cap_yen
        (absent when there is no yen cap). ``rent_at_start`` is the monthly rent including
        management and common-area fees at the guarantee start.

        >>> JHFTerms().payout_limits(subrogated_rent=1_400_000, rent_at_start=100_000)
        {'coverage': 980000, 'months': 840000, 'yen': 1000000}
        """
        covered = self.covered_amount(subrogated_rent)
        rent_at_start = check_yen("rent_at_start", rent_at_start)
        limits = {
            "coverage": mul_floor(covered, self._coverage),
            "months": mul_floor(rent_at_start * self.cap_months, self._coverage),
        }
        if self.cap_yen is not None:
            limits["yen"] = self.cap_yen
        return limits

    def payout(self, *, subrogated_rent, rent_at_start):
        """Insurance payout (保険金の額) in yen: the smallest of the three limits.

        Defined as ``min(floor(0.7 x covered subrogated), floor(0.7 x 12 x rent_at_start),
        1_000_000)`` with the JHF guide's terms (III-5). Works on scalars (``int``) and
        on arrays of equal shape (``int64`` array).

        >>> JHFTerms().payout(subrogated_rent=500_000, rent_at_start=100_000)
        350000
        >>> JHFTerms().payout(subrogated_rent=2_000_000, rent_at_start=200_000)
        1000000
        """
        limits = self.payout_limits(subrogated_rent=subrogated_rent, rent_at_start=rent_at_start)
        values = list(limits.values())
        if any(isinstance(v, np.ndarray) for v in values):
            return np.minimum.reduce(np.broadcast_arrays(*(np.asarray(v, dtype=np.int64) for v in values)))
        return int(min(values))

    def binding_limit(self, *, subrogated_rent, rent_at_start):
        """Which limit sets the payout: ``"coverage"``, ``"months"`` or ``"yen"``.

        Ties go to the earlier one in that order.

        >>> JHFTerms().binding_limit(subrogated_rent=1_400_000, rent_at_start=100_000)
        'months'
        """
        limits = self.payout_limits(subrogated_rent=subrogated_rent, rent_at_start=rent_at_start)
        names = list(limits)
        stacked = np.stack(np.broadcast_arrays(*[np.asarray(v) for v in limits.values()]))
        idx = np.argmin(stacked, axis=0)
        if np.ndim(idx) == 0:
            return names[int(idx)]
        return np.asarray(names, dtype=object)[idx]

    # -- insured event, claim, payment, remittance ------------------------------------------
    @staticmethod
    def insured_event(*, subrogated_yen, contract_ended, name_changed=False):
        """Whether the insured event (保険事故) has occurred.

        Defined as: the guarantor has subrogated (``subrogated_yen > 0``) AND the guarantee
        contract has ended OR the tenant's name on it changed (JHF guide III-2). A claim may
        be made before the tenant moves out.

        >>> JHFTerms.insured_event(subrogated_yen=300_000, contract_ended=True)
        True
        >>> JHFTerms.insured_event(subrogated_yen=0, contract_ended=True)
        False
        """
        sub = check_yen("subrogated_yen", subrogated_yen)
        ended = np.asarray(contract_ended, dtype=bool) | np.asarray(name_changed, dtype=bool)
        out = (np.asarray(sub) > 0) & ended
        return out if is_array(subrogated_yen, contract_ended, name_changed) else bool(out)

    def payment_date(self, claim_date) -> dt.date:
        """Latest payment date of a claim: ``claim_date + payment_lag_days`` (JHF guide III-6).

        >>> JHFTerms().payment_date(dt.date(2024, 3, 15))
        datetime.date(2024, 4, 14)
        """
        return to_date("claim_date", claim_date) + dt.timedelta(days=self.payment_lag_days)

    def remittance(self, *, recovered_after_payout):
        """Share of recoveries after the payout that the guarantor remits to JHF, in yen.

        Defined as ``floor(recovery_share x recovered_after_payout)`` (JHF guide I-2:
        保険金支払後、賃借人から回収があった場合は回収金の7割を納付). JHF does not take over
        the claim (非代位); the guide sets no ceiling on the remittance, so none is applied.

        >>> JHFTerms().remittance(recovered_after_payout=100_001)
        70000
        """
        rec = check_yen("recovered_after_payout", recovered_after_payout)
        return mul_floor(rec, rate_fraction(self.recovery_share, "recovery_share"))

    # -- policy year and the aggregate contract amount ---------------------------------------
    @staticmethod
    def policy_year(date):
        """Policy year (1 April - 31 March) containing ``date``, as its starting year.

        Works on a ``date``/``datetime``/ISO string (returns ``int``) or on an array or
        Series of dates (returns an ``int64`` array).

        >>> JHFTerms.policy_year(dt.date(2024, 3, 31)), JHFTerms.policy_year("2024-04-01")
        (2023, 2024)
        """
        if is_array(date) or isinstance(date, (list, tuple)):
            try:
                idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(date), errors="raise"))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"date must hold dates, got {date!r}: {exc}") from None
            if idx.hasnans:
                raise ValueError("date must hold dates, got a missing value")
            return np.where(idx.month >= 4, idx.year, idx.year - 1).astype(np.int64)
        d = to_date("date", date)
        return d.year if d.month >= 4 else d.year - 1

    def claim_free_limit(self, *, rent_at_start):
        """The most JHF can pay on a guarantee whatever is claimed: the smaller of the
        months limit ``floor(coverage_ratio x cap_months x rent_at_start)`` and the yen cap
        (:meth:`payout_limits`), in yen; an ``int64`` array for an array.

        >>> JHFTerms().claim_free_limit(rent_at_start=100_000), JHFTerms().claim_free_limit(rent_at_start=150_000)
        (840000, 1000000)
        """
        limits = self.payout_limits(subrogated_rent=0, rent_at_start=rent_at_start)
        values = [limits["months"]] + ([limits["yen"]] if "yen" in limits else [])
        if isinstance(values[0], np.ndarray):
            return np.minimum.reduce([np.asarray(v, dtype=np.int64) for v in np.broadcast_arrays(*values)])
        return int(min(values))

    def attach_within_contract_amount(self, guarantees: pd.DataFrame) -> pd.DataFrame:
        """Attach the insurance to guarantees within each policy year's insurance contract
        amount (ご利用可能額（保険契約額）, JHF guide V-4; docs/decisions.md says why the amount
        caps the insurance attached, not the payouts claimed).

        ``guarantees`` has columns ``attach_date`` (the guarantee's start, when the insurance
        attaches and its premium is paid) and ``rent_at_start`` (monthly rent with management
        and common-area fees). Each guarantee uses its claim-free payout limit, the most JHF
        can pay on it: ``min(floor(coverage_ratio x cap_months x rent_at_start), cap_yen)``.
        In attach-date order (ties in row order) within the policy year of its date, a
        guarantee is attached if its limit fits in what the year has left, else it goes
        uninsured (no premium, no payout); a later, smaller one may still fit. An optional
        boolean column ``committed`` marks guarantees insured already (the book in force):
        they use the year's amount whatever is left. Returns the guarantees with
        ``policy_year``, ``limit_yen`` and ``attached`` added, in the input order. With no
        contract amount every guarantee is attached.

        >>> t = JHFTerms(contract_amount_yen=1_500_000)
        >>> g = pd.DataFrame({"attach_date": ["2024-05-01", "2024-06-01", "2024-07-01", "2025-04-02"],
        ...                   "rent_at_start": [100_000, 100_000, 50_000, 100_000]})
        >>> t.attach_within_contract_amount(g)[["policy_year", "limit_yen", "attached"]].values.tolist()
        [[2024, 840000, True], [2024, 840000, False], [2024, 420000, True], [2025, 840000, True]]
        """
        require_frame(guarantees, ("attach_date", "rent_at_start"), "guarantees")
        rent = check_yen("guarantees['rent_at_start']", guarantees["rent_at_start"].to_numpy())
        limit = self.claim_free_limit(rent_at_start=np.asarray(rent, dtype=np.int64))
        try:
            years = self.policy_year(guarantees["attach_date"])
        except ValueError as exc:
            raise ValueError(f"guarantees column 'attach_date': {exc}") from None
        if "committed" in guarantees.columns and guarantees["committed"].dtype != bool:
            raise ValueError(f"guarantees column 'committed' must be True/False, "
                             f"got dtype {guarantees['committed'].dtype}")
        committed = (guarantees["committed"].to_numpy(bool) if "committed" in guarantees.columns
                     else np.zeros(len(guarantees), dtype=bool))
        out = guarantees.copy()
        out["policy_year"] = years
        out["limit_yen"] = limit
        attached = np.ones(len(out), dtype=bool)
        if self.contract_amount_yen is not None:
            used: dict[int, int] = {}
            for i in np.flatnonzero(committed):  # insured already: they use the year's amount first
                used[int(years[i])] = used.get(int(years[i]), 0) + int(limit[i])
            dates = pd.to_datetime(guarantees["attach_date"]).to_numpy()
            for i in np.lexsort((np.arange(len(out)), dates)):
                if committed[i]:
                    continue
                y = int(years[i])
                attached[i] = used.get(y, 0) + int(limit[i]) <= self.contract_amount_yen
                if attached[i]:
                    used[y] = used.get(y, 0) + int(limit[i])
        out["attached"] = attached
        return out

    # -- eligibility ----------------------------------------------------------------------------
    @staticmethod
    def eligibility(applicants: pd.DataFrame) -> pd.DataFrame:
        """Check the seven conditions of the JHF guide II for each applicant, vectorised.

        Columns needed: ``support_categories`` (one or more of :data:`SUPPORT_CATEGORIES`,
        as a list or a string separated by ``,``/``;``/``|``; empty for none),
        ``registered_dwelling``, ``monthly_income_yen``, ``rent_at_start_yen`` (monthly rent
        including management and common-area fees), ``other_guarantor``, ``antisocial``,
        ``identity_verified``, ``consent_to_jhf``. Optional: ``dwelling_accepts``, the
        categories the registered dwelling accepts (empty for all).

        Returns a DataFrame on the same index: one boolean column per condition of
        :data:`ELIGIBILITY_CONDITIONS` (True where it holds), ``eligible`` (all hold) and
        ``failed`` (the failed conditions, comma-separated, empty when eligible).

        >>> a = pd.DataFrame({"support_categories": ["elderly"], "registered_dwelling": [True],
        ...     "monthly_income_yen": [120_000], "rent_at_start_yen": [60_000],
        ...     "other_guarantor": [False], "antisocial": [False],
        ...     "identity_verified": [True], "consent_to_jhf": [True]})
        >>> JHFTerms.eligibility(a)[["eligible", "failed"]].values.tolist()
        [[True, '']]
        """
        require_frame(applicants, ELIGIBILITY_COLUMNS, "applicants")
        flags = {c: _bool_column(applicants, c) for c in
                 ("registered_dwelling", "other_guarantor", "antisocial", "identity_verified", "consent_to_jhf")}
        income = check_yen("applicants['monthly_income_yen']", applicants["monthly_income_yen"])
        rent = check_yen("applicants['rent_at_start_yen']", applicants["rent_at_start_yen"])
        cats = _category_column(applicants, "support_categories")
        if "dwelling_accepts" in applicants:
            accepts = _category_column(applicants, "dwelling_accepts")
        else:
            accepts = [frozenset()] * len(applicants)
        support = np.array([bool(c) and (not a or bool(c & a)) for c, a in zip(cats, accepts, strict=True)], dtype=bool)
        result = pd.DataFrame(
            {
                "support_category": support,
                "registered_dwelling": flags["registered_dwelling"],
                "income": income >= 2 * rent,
                "no_other_guarantor": ~flags["other_guarantor"],
                "not_antisocial": ~flags["antisocial"],
                "identity_verified": flags["identity_verified"],
                "consent": flags["consent_to_jhf"],
            },
            index=applicants.index,
        )
        conds = result[list(ELIGIBILITY_CONDITIONS)]
        result["eligible"] = conds.all(axis=1)
        # the failed conditions, joined once for each pattern of them (a pattern as bits)
        code = (~conds.to_numpy()).astype(np.int64) @ (np.int64(1) << np.arange(len(ELIGIBILITY_CONDITIONS)))
        names = np.asarray(ELIGIBILITY_CONDITIONS, dtype=object)
        joined = {int(c): ",".join(names[(int(c) >> np.arange(len(names))) & 1 == 1]) for c in np.unique(code)}
        result["failed"] = [joined[c] for c in code.tolist()]
        return result


def _bool_column(df: pd.DataFrame, column: str) -> np.ndarray:
    s = df[column]
    if s.dtype == bool:
        return s.to_numpy()
    bad = ~s.map(lambda v: isinstance(v, (bool, np.bool_)))
    if bad.any():
        row, i = first_row(s, bad)
        raise ValueError(f"column {column!r} must be True/False, got {s.iloc[i]!r} in row {row!r}")
    return s.to_numpy(dtype=bool)


def _category_column(df: pd.DataFrame, column: str) -> list:
    """:func:`_categories` of every row, each distinct text parsed once (in row order, so
    an error names the first bad row)."""
    seen: dict = {}
    out = []
    for row, value in zip(df.index.tolist(), df[column].tolist(), strict=True):
        if isinstance(value, str):
            if value not in seen:
                seen[value] = _categories(value, column, row)
            out.append(seen[value])
        else:
            out.append(_categories(value, column, row))
    return out


def _categories(value, column: str, row) -> frozenset:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return frozenset()
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").replace("|", ",").split(",")]
    elif isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        parts = [str(p).strip() for p in value]
    else:
        raise ValueError(f"column {column!r} must list support categories, got {value!r} in row {row!r}")
    parts = [p for p in parts if p]
    unknown = [p for p in parts if p not in SUPPORT_CATEGORIES]
    if unknown:
        raise ValueError(
            f"column {column!r} has unknown support category {unknown[0]!r} in row {row!r}; "
            f"known: {', '.join(SUPPORT_CATEGORIES)}"
        )
    return frozenset(parts)
