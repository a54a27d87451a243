"""Closed receivables (求償債権 of tenancies that have ended with a balance still owed), and the
checks on a book in force that the quarter close adds to the engine's.

A closed receivable recovers as the model's after-exit recovery says, from where it
stands: ``floor(balance x recovery_rate x m(z))`` ``recovery_delay_months`` after the exit,
so ``recovery_delay_months - months_since_exit`` months after the valuation date, or
nothing once that month has passed. An insured receivable whose JHF payout has been
received owes JHF the recovery's ``recovery_share`` (the remittance, 納付), truncated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..collection import TENANCY_ENDING_EXITS
from ..products.common import first_row, rate_fraction, require_frame, require_whole
from ..simulation.rent import RentModel

#: The columns of a table of closed receivables.
RECEIVABLE_COLUMNS = ("receivable_id", "balance_yen", "months_since_exit", "exit_kind", "insured",
                      "jhf_payout_received_yen")


def validate_receivables(receivables: pd.DataFrame, what: str = "receivables") -> None:
    """``ValueError`` naming the column, the row and the value: a balance must be a whole
    number of yen above 0; months since the exit whole and not negative; the exit a
    tenancy-ending one; insured True/False; the payout received whole, not negative, and 0
    unless insured; the ids unique."""
    require_frame(receivables, RECEIVABLE_COLUMNS, what)
    for c, unit in (("balance_yen", "whole yen"), ("months_since_exit", "whole months"),
                    ("jhf_payout_received_yen", "whole yen")):
        require_whole(receivables, c, what, unit=unit)
    balance = receivables["balance_yen"].to_numpy()
    checks = (
        (balance <= 0, "balance_yen", "a receivable needs a balance above 0, got {v}"),
        (receivables["months_since_exit"].to_numpy() < 0, "months_since_exit", "negative months {v}"),
        (receivables["jhf_payout_received_yen"].to_numpy() < 0, "jhf_payout_received_yen", "a negative payout {v}"),
        (~receivables["exit_kind"].isin(TENANCY_ENDING_EXITS).to_numpy(), "exit_kind",
         "{v!r} is not a tenancy-ending exit (" + ", ".join(TENANCY_ENDING_EXITS) + ")"),
    )
    for bad, column, message in checks:
        if bad.any():
            row, i = first_row(receivables, bad)
            raise ValueError(f"{what} column {column!r} in row {row!r}: "
                             + message.format(v=receivables[column].iloc[i]))
    if receivables["insured"].dtype != bool:
        raise ValueError(f"{what} column 'insured' must be True/False, got dtype {receivables['insured'].dtype}")
    bad = ~receivables["insured"].to_numpy() & (receivables["jhf_payout_received_yen"].to_numpy() > 0)
    if bad.any():
        row, i = first_row(receivables, bad)
        raise ValueError(f"{what} column 'jhf_payout_received_yen' in row {row!r}: a payout of "
                         f"{receivables['jhf_payout_received_yen'].iloc[i]} on a receivable that is not insured")
    duplicated = receivables["receivable_id"].duplicated().to_numpy()
    if duplicated.any():
        row, i = first_row(receivables, duplicated)
        raise ValueError(f"{what} column 'receivable_id' in row {row!r}: {receivables['receivable_id'].iloc[i]!r} "
                         f"appears more than once")


def receivable_recoveries(receivables: pd.DataFrame, model: RentModel, z) -> tuple[np.ndarray, np.ndarray,
                                                                                 np.ndarray]:
    """Given the factor ``z`` (a number, or an array of scenarios' factors), each
    receivable's recovery and remittance (yen; scenarios x receivables for an array) and the
    projection month they fall in (0 when the recovery month has passed: nothing)."""
    balance = receivables["balance_yen"].to_numpy(np.int64)
    month = model.recovery_delay_months - receivables["months_since_exit"].to_numpy(np.int64)
    due = (month >= 1) & (month <= model.months)
    zs = np.asarray(z, dtype=float)
    recovered = np.where(due[None, :], model.recovery_after_exit(balance, np.atleast_1d(zs)), 0)
    share = rate_fraction(model.jhf.recovery_share)
    owes = receivables["insured"].to_numpy(bool) & (receivables["jhf_payout_received_yen"].to_numpy() > 0)
    remitted = np.where(owes[None, :], recovered * share.numerator // share.denominator, 0)
    if zs.ndim == 0:
        recovered, remitted = recovered[0], remitted[0]
    return recovered, remitted, np.where(due, month, 0)


def check_inforce_book(book: pd.DataFrame, what: str = "rent book") -> None:
    """What a book in force needs beyond the engine's checks: a ``contract_id`` for every
    row, unique, and a ``start_month`` on or before the valuation date (0 or less: minus the
    months since the contract started)."""
    require_frame(book, ("contract_id", "start_month"), what, allow_empty=False)
    missing = book["contract_id"].isna().to_numpy()
    if missing.any():
        row, _ = first_row(book, missing)
        raise ValueError(f"{what} column 'contract_id' in row {row!r}: an empty cell; every contract needs an id")
    duplicated = book["contract_id"].duplicated().to_numpy()
    if duplicated.any():
        row, i = first_row(book, duplicated)
        raise ValueError(f"{what} column 'contract_id' in row {row!r}: {book['contract_id'].iloc[i]!r} appears "
                         f"more than once")
    require_whole(book, "start_month", what, unit="whole months")
    late = book["start_month"].to_numpy() > 0
    if late.any():
        row, i = first_row(book, late)
        raise ValueError(f"{what} column 'start_month' in row {row!r}: {int(book['start_month'].iloc[i])} is "
                         f"after the valuation date; a book in force starts on or before it (0 or less)")
