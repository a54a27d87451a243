"""Mortgage loans in force on a valuation date that are not performing: their statuses, the
checks on them, and the walk that runs them beside the scenario kernel.

A mortgage book may carry a ``status`` column (with the columns of
:data:`MORTGAGE_STATUS_COLUMNS`); a book without it is all performing and runs exactly as
before. The statuses, with ``K = subrogation_after_months_delinquent``, ``c =
delinquent_monthly_cure_rate`` and ``delay = recovery_delay_months``:

- ``performing``: the scenario kernel runs it (:mod:`.mortgage`), from month 1;
- ``delinquent``, ``months_delinquent = m >= 1`` payments missed: in each month ``j = 1, 2,
  ...`` the borrower pays all the arrears with chance ``c``, and the loan is performing
  again from month ``j + 1`` (its balance back on schedule, in the same economy: its default,
  prepayments and fees as a performing loan's, :func:`~.mortgage.loan_paths`). A loan not
  cured by month ``J = max(K - m, 1)`` is subrogated then: the guarantor pays the bank the
  balance owed since the first missed payment, ``floor(principal x shape(age - m))``, and
  the collateral sells ``delay`` months later for ``min(that balance, floor(collateral x
  sale factor(z)))``, as any default's. In arrears a loan pays no installment fee and
  prepays nothing;
- ``subrogated``: the guarantor has paid the bank and holds ``receivable_yen`` (求償債権),
  ``months_since_subrogation = k`` months ago; the collateral sells in month ``max(delay -
  k, 1)`` (at once when the sale is overdue) and recovers ``min(receivable,
  floor(collateral x sale factor(z)))``; nothing is recovered after it. The guarantee has
  ended: no fee, no refund.

The walk draws from the scenario's second stream, ``SeedSequence(seed, spawn_key=(s, 1))``,
one uniform for each delinquent loan's cure month, then the cured loans' performing paths'
draws; the economy ``z`` is the kernel's. So the performing loans' results do not
depend on the others.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from ..products.common import first_row, require_known, require_whole
from .mortgage import loan_paths

PERFORMING, DELINQUENT, SUBROGATED = "performing", "delinquent", "subrogated"
#: The statuses of a mortgage loan on the valuation date.
MORTGAGE_STATUSES = (PERFORMING, DELINQUENT, SUBROGATED)
#: The status columns of a mortgage book in force; ``status`` is needed for the others.
MORTGAGE_STATUS_COLUMNS = ("status", "months_delinquent", "receivable_yen", "months_since_subrogation")


class LoanStatus(NamedTuple):
    """The loans' statuses as the engines read them: the positions of the performing,
    delinquent and subrogated loans, each delinquent loan's months in arrears, each
    subrogated loan's receivable and months since subrogation, and every loan's group (0
    for a performing loan; the groups a valuation reports the others' flows by)."""

    performing: np.ndarray
    delinquent: np.ndarray
    months_delinquent: np.ndarray
    subrogated: np.ndarray
    receivable: np.ndarray
    months_since: np.ndarray
    group: np.ndarray
    n_groups: int = 1


def loan_status(portfolio: pd.DataFrame, model, what: str = "portfolio") -> LoanStatus:
    """Check the status columns (module docstring) and read them; ``ValueError`` naming the
    column, the row and the value:

    - a status must be one of :data:`MORTGAGE_STATUSES`;
    - ``months_delinquent`` is from 1 to the loan's age for a delinquent loan, else 0;
    - ``receivable_yen`` is above 0 and at most the principal for a subrogated loan (what is
      still owed of the balance the guarantor paid), else 0;
    - ``months_since_subrogation`` is not negative, and 0 unless subrogated;
    - a loan not performing is at least a month old.

    A book without ``status`` is all performing; the other status columns need it."""
    n = len(portfolio)
    if "status" not in portfolio.columns:
        extra = [c for c in MORTGAGE_STATUS_COLUMNS[1:] if c in portfolio.columns]
        if extra:
            raise ValueError(f"{what}: column {extra[0]!r} needs the column 'status' beside it")
        return LoanStatus(np.arange(n, dtype=np.int64), *(np.zeros(0, np.int64),) * 5, np.zeros(n, np.int64))
    require_known(portfolio, "status", MORTGAGE_STATUSES, what, "mortgage status")
    status = portfolio["status"]
    for needed, column in ((DELINQUENT, "months_delinquent"), (SUBROGATED, "receivable_yen")):
        if (status == needed).any() and column not in portfolio.columns:
            row, _ = first_row(portfolio, (status == needed).to_numpy())
            raise ValueError(f"{what}: row {row!r} is {needed}, which needs the column {column!r}")
    values = {}
    for c, unit in (("months_delinquent", "whole months"), ("receivable_yen", "whole yen"),
                    ("months_since_subrogation", "whole months")):
        if c in portfolio.columns:
            require_whole(portfolio, c, what, unit=unit)
            values[c] = portfolio[c].to_numpy(np.int64)
        else:
            values[c] = np.zeros(n, np.int64)
    code = np.select([(status == DELINQUENT).to_numpy(), (status == SUBROGATED).to_numpy()], [1, 2], 0)
    m, r, k = values["months_delinquent"], values["receivable_yen"], values["months_since_subrogation"]
    age = portfolio["age_months"].to_numpy(np.int64)
    checks = (
        ((code == 1) & (m < 1), "months_delinquent", "a delinquent loan has missed at least 1 payment, got {v}"),
        ((code == 1) & (m > age), "months_delinquent", "{v} payments missed on a loan that has not had as many "
                                                       "(age_months)"),
        ((code != 1) & (m != 0), "months_delinquent", "{v} on a loan that is not delinquent (must be 0)"),
        ((code == 2) & (r <= 0), "receivable_yen", "a subrogated loan needs its receivable above 0, got {v}"),
        ((code == 2) & (r > portfolio["principal_yen"].to_numpy(np.int64)), "receivable_yen",
         "{v} is above the loan's principal_yen; the receivable is what is left of the balance paid"),
        ((code != 2) & (r != 0), "receivable_yen", "{v} on a loan that is not subrogated (must be 0)"),
        (k < 0, "months_since_subrogation", "a negative number of months {v}"),
        ((code != 2) & (k != 0), "months_since_subrogation", "{v} on a loan that is not subrogated (must be 0)"),
        ((code != 0) & (age < 1), "age_months", "a loan {v} months old cannot be delinquent or subrogated yet"),
    )
    shown = {"months_delinquent": m, "receivable_yen": r, "months_since_subrogation": k, "age_months": age}
    for mask, column, message in checks:
        if mask.any():
            row, i = first_row(portfolio, mask)
            raise ValueError(f"{what} column {column!r} in row {row!r}: " + message.format(v=int(shown[column][i])))
    delinquent, subrogated = np.flatnonzero(code == 1), np.flatnonzero(code == 2)
    return LoanStatus(np.flatnonzero(code == 0), delinquent, m[delinquent], subrogated, r[subrogated],
                      k[subrogated], np.zeros(n, np.int64))


def with_groups(status: LoanStatus, group: np.ndarray, n_groups: int | None = None) -> LoanStatus:
    """The statuses with each loan's output group (``0`` for every performing loan), of
    ``n_groups`` (at least the groups named)."""
    group = np.asarray(group, dtype=np.int64)
    if group.shape != status.group.shape or (group < 0).any():
        raise ValueError(f"group must give each of the {len(status.group)} loans a group >= 0")
    if (group[status.performing] != 0).any():
        raise ValueError("a performing loan's flows go to group 0")
    named = int(group.max()) + 1 if len(group) else 1
    if n_groups is not None and n_groups < named:
        raise ValueError(f"n_groups ({n_groups}) is below the groups named ({named})")
    return status._replace(group=group, n_groups=named if n_groups is None else int(n_groups))


@numba.njit(nogil=True, cache=True)
def walk_loans(rng, d, sale, economy, loans, curves, status, after_months, cure_rate, out, alive_diff, grouped):
    """The scenario's delinquent and subrogated loans (module docstring), given its grades'
    monthly default hazards ``d`` and the sale factor ``sale``: adds their flows to ``out``
    (the kernel's integer lines) and ``alive_diff``, and their subrogation and recoveries by
    month to ``grouped[group, 0 or 1]``. ``after_months`` is ``K``, ``cure_rate`` ``c``.
    Draws from ``rng``: one uniform for each delinquent loan's cure month, in book order,
    then the cured loans' paths (:func:`~.mortgage.loan_paths`), in book order."""
    T, delay = economy.months, economy.recovery_delay_months
    log_stay = math.log(1.0 - cure_rate) if cure_rate > 0.0 else 0.0
    cured_ids = np.empty(status.delinquent.shape[0], dtype=np.int64)
    cured_start = np.empty(status.delinquent.shape[0], dtype=np.int64)
    n_cured = 0
    for j in range(status.delinquent.shape[0]):
        i = status.delinquent[j]
        g = status.group[i]
        last = max(after_months - status.months_delinquent[j], 1)  # the month it is subrogated unless cured
        u = rng.random()
        cured = 0
        if cure_rate > 0.0:
            tc = max(int(math.ceil(math.log(1.0 - u) / log_stay)), 1)
            if tc <= last:
                cured = tc
        if cured > 0:
            if cured + 1 <= min(T, loans.life[i]):
                cured_ids[n_cured], cured_start[n_cured] = i, cured + 1
                n_cured += 1
        elif last <= T:
            bal = int(math.floor(loans.principal[i] * curves.shapes[loans.product[i],
                                                                    loans.age[i] - status.months_delinquent[j]]
                                 + 1e-6))
            out[3, last] += bal
            grouped[g, 0, last] += bal
            rec = min(bal, int(math.floor(loans.collateral[i] * sale + 1e-6)))
            if last + delay <= T:
                out[4, last + delay] += rec
                grouped[g, 1, last + delay] += rec
    loan_paths(rng, cured_ids[:n_cured], cured_start[:n_cured], d, sale, economy, loans, curves, out, alive_diff,
               np.zeros((0, 4), dtype=np.int64), 0, grouped)
    for j in range(status.subrogated.shape[0]):
        i = status.subrogated[j]
        month = max(delay - status.months_since[j], 1)
        if month <= T:
            rec = min(status.receivable[j], int(math.floor(loans.collateral[i] * sale + 1e-6)))
            out[4, month] += rec
            grouped[status.group[i], 1, month] += rec


def simulate_mortgage_groups(portfolio: pd.DataFrame, model, n_scenarios: int, seed: int, group=None,
                             n_groups: int | None = None, *, threads: int | None = None, backend: str = "local",
                             client=None, scheduler: str | None = None, chunk_scenarios: int = 50) -> tuple:
    """Simulate a mortgage book in force as :func:`~.mortgage.simulate_mortgage` does, and
    return ``(flows, grouped, z)``: the lines by scenario and month, each group's
    subrogation and recoveries by scenario and month (``S x G x 2 x (T + 1)``, yen; group 0
    the performing loans', ``group`` as :func:`with_groups`) and each scenario's factor."""
    from .distributed import check_run_arguments, progress_bar, run_scenarios
    from .mortgage import MORTGAGE_LINES, prepare_mortgage_book, run_into

    threads = check_run_arguments(n_scenarios=n_scenarios, seed=seed, threads=threads,
                                  chunk_scenarios=chunk_scenarios, backend=backend)
    book = prepare_mortgage_book(portfolio, model)
    if group is not None:
        book = dataclasses.replace(book, status=with_groups(book.status, group, n_groups))
    T = model.months
    flows = np.zeros((n_scenarios, len(MORTGAGE_LINES), T + 1))
    grouped = np.zeros((n_scenarios, book.status.n_groups, 2, T + 1), dtype=np.int64)
    z = np.empty(n_scenarios)
    run_scenarios(run_into, book, model, seed, n_scenarios, (flows, z, grouped), threads=threads, backend=backend,
                  client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios,
                  bar=progress_bar(False, n_scenarios, 0, 1))
    return flows, grouped, z
