"""The mortgage book's part of the quarter close: its loans' stages, the allowance on the
receivables of loans subrogated and awaiting the collateral sale, the provision for
guarantee losses by stage, the unearned fees and the cash flows (:func:`value_mortgage`).

Stages: a performing loan is stage 1; a delinquent loan owing ``months_delinquent``
payments is staged by the same month counts as a rent contract (``stage_2_months_owed``,
``stage_3_months_owed``); a subrogated loan has left the guarantee and holds a receivable.
The provision of a stage over 12 months is the loss on the defaults of months 1-12: a default
is subrogated ``subrogation_lag_months`` after it, so the subrogation of months 1 to 12 +
lag, less the recoveries of those subrogations (the collateral sells
``recovery_delay_months`` after each); over the lifetime, every subrogation to the horizon
less the recoveries within it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..simulation.exact_mortgage import expected_mortgage_groups
from ..simulation.mortgage import SIGNS, MortgageModel, prepare_mortgage_book
from ..simulation.mortgage_inforce import simulate_mortgage_groups
from .fees import unearned_mortgage_fees
from .settings import ValuationSettings
from .summary import scenario_summary

#: The label of the mortgage receivables' row in the allowance table.
MORTGAGE_BUCKET = "mortgage, awaiting sale"
#: The output group of the subrogated loans (groups 0-2 are stages 1-3).
SUBROGATED_GROUP = 3


@dataclasses.dataclass(frozen=True)
class MortgageFigures:
    """The mortgage book's rows of the quarter close's tables, its loans and its flows."""

    allowance_row: dict
    provision: pd.DataFrame
    unearned_fee_yen: int
    refunds_next_12_months_yen: float
    loans: pd.DataFrame
    expected_net: np.ndarray    # by month 0..T
    simulated_net: np.ndarray   # scenarios x months 0..T
    credit_loss_by_scenario: np.ndarray  # lifetime net loss of every stage plus the receivables not recovered


def mortgage_stages(book: pd.DataFrame, model: MortgageModel, settings: ValuationSettings) -> tuple:
    """Each loan's stage (0 for a subrogated loan) and output group: its stage less 1, or
    :data:`SUBROGATED_GROUP`; checks the book."""
    status = prepare_mortgage_book(book, model, what="mortgage book").status
    n = len(book)
    stage = np.ones(n, dtype=np.int64)
    owed = status.months_delinquent
    stage[status.delinquent] = np.where(owed >= settings.stage_3_months_owed, 3,
                                        np.where(owed >= settings.stage_2_months_owed, 2, 1))
    stage[status.subrogated] = 0
    group = np.where(stage > 0, stage - 1, SUBROGATED_GROUP)
    return stage, group, status


def _windowed(grouped: np.ndarray, lag: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    """Net loss (subrogation less recoveries) of each group over 12 months and lifetime from
    ``... x G x 2 x (T + 1)`` flows: subrogation of months 1-(12 + lag) less recoveries of
    months 1-(12 + lag + delay), and of every month less every recovery."""
    sub, rec = grouped[..., 0, :], grouped[..., 1, :]
    return sub[..., 1: 13 + lag].sum(axis=-1) - rec[..., 1: 13 + lag + delay].sum(axis=-1), \
        sub[..., 1:].sum(axis=-1) - rec[..., 1:].sum(axis=-1)


def value_mortgage(book: pd.DataFrame, model: MortgageModel, settings: ValuationSettings, *, n_scenarios: int,
                   seed: int, threads: int | None = None) -> MortgageFigures:
    """The mortgage book's figures (module docstring), exact and simulated."""
    stage, group, status = mortgage_stages(book, model, settings)
    exact_flows, exact_groups = expected_mortgage_groups(book, model, group, SUBROGATED_GROUP + 1)
    flows, grouped, _ = simulate_mortgage_groups(book, model, n_scenarios, seed, group, SUBROGATED_GROUP + 1,
                                                 threads=threads)
    lag, delay = model.subrogation_lag_months, model.recovery_delay_months
    e12, el = _windowed(exact_groups, lag, delay)
    m12, ml = _windowed(grouped.astype(float), lag, delay)
    rows = []
    for s in (1, 2, 3):
        booked = e12[s - 1] if s == 1 else el[s - 1]
        rows.append(("mortgage", s, int((stage == s).sum()), e12[s - 1], el[s - 1],
                     *scenario_summary(m12[:, s - 1])[:2], *scenario_summary(ml[:, s - 1])[:2],
                     "12 months" if s == 1 else "lifetime", booked))
    provision = pd.DataFrame(rows, columns=["product", "stage", "contracts", "ecl_12_months_yen", "ecl_lifetime_yen",
                                            "mc_12_months_yen", "mc_12_months_standard_error_yen", "mc_lifetime_yen",
                                            "mc_lifetime_standard_error_yen", "booked_basis", "booked_yen"])
    T = model.months
    disc = settings.discount(np.arange(T + 1))
    receivable = float(status.receivable.sum())
    expected = float(exact_groups[SUBROGATED_GROUP, 1] @ disc)
    unrecovered = receivable - grouped[:, SUBROGATED_GROUP, 1].astype(float) @ disc
    allowance_row = {"bucket": MORTGAGE_BUCKET, "receivables": len(status.subrogated), "receivable_yen": receivable,
                     "expected_recovery_yen": expected,
                     **dict(zip(("mc_allowance_yen", "mc_standard_error_yen", "unrecovered_q995_yen"),
                                scenario_summary(unrecovered), strict=True))}
    unearned = unearned_mortgage_fees(book, model)
    unearned[status.subrogated] = 0  # the guarantee has ended
    t = np.arange(T + 1)
    refunds = float(exact_flows["refunds"].to_numpy()[(t >= 1) & (t <= 12)].sum())
    receivable_yen = np.zeros(len(book), dtype=np.int64)
    receivable_yen[status.subrogated] = status.receivable
    owed = np.zeros(len(book), dtype=np.int64)
    owed[status.delinquent] = status.months_delinquent
    loans = pd.DataFrame({"status": np.array(["performing", "delinquent", "subrogated"])[
                              np.select([stage == 0, np.isin(np.arange(len(book)), status.delinquent)], [2, 1], 0)],
                          "stage": stage, "months_delinquent": owed, "receivable_yen": receivable_yen,
                          "unearned_fee_yen": unearned}, index=book.index)
    return MortgageFigures(allowance_row, provision, int(unearned.sum()), refunds, loans,
                           exact_flows.to_numpy() @ SIGNS, np.einsum("slt,l->st", flows, SIGNS),
                           ml[:, :3].sum(axis=1) + unrecovered)
