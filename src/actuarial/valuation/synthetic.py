"""A seasoned book to try a quarter close on, built from a model's own dynamics
(:func:`synthetic_inforce_book`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..collection import PAYMENT_EXIT, REPAYS, STATE_RULES, STATES, TRANSIENT_STATES
from ..portfolio import synthetic_rent_book
from ..simulation.rent import RentModel
from ..simulation.rent.book import prepare_book


def synthetic_inforce_book(n_contracts: int, model: RentModel, seed: int, *, max_age_months: int = 60,
                           write_off_months: int = 36) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(book, receivables)``: a rent book in force on a valuation date and its closed
    receivables, seasoned by the model itself in its central economy (``z = 0``).

    ``n_contracts`` contracts (:func:`~actuarial.portfolio.synthetic_rent_book`) start
    uniformly 0 to ``max_age_months`` months before the date. Each then lives month by month
    as the engine's contracts do: a performing tenant misses a rent with the grade's hazard
    or moves out (leaving the book); a missed rent starts the collection chain, which
    subrogates, repays a plan or moves as the model says. On the date a contract is
    performing or in the collection state of the valuation month, that month's subrogation or
    repayment counted in its months owed (``arrears_yen`` their monthly totals), its move
    still to come. A tenancy that ended in a tenancy-ending exit with arrears is a closed
    receivable: its balance (less the after-exit recovery if it has come), months since the
    exit, the exit, and the JHF payout received if it was insured. Receivables older than
    ``write_off_months`` are written off and left out. The draws come from one
    ``numpy.random.Generator`` seeded with ``seed``.
    """
    rng = np.random.default_rng(seed)
    base = synthetic_rent_book(n_contracts, seed=seed)
    age = rng.integers(0, max_age_months + 1, n_contracts)
    layout = prepare_book(base, model)
    total, cap = np.empty_like(layout.total), np.empty_like(layout.cap)
    total[layout.position], cap[layout.position] = layout.total, layout.cap
    covered = np.empty_like(layout.jhf_covered)
    covered[layout.position] = layout.jhf_covered
    p = model.chain.stressed(model.good_exit_multiplier(0.0)).matrix
    cumulative = np.cumsum(p[: len(TRANSIENT_STATES)], axis=1)
    hazard = {g: model.hazard(h, 0.0) for g, h in model.delinquency_hazard.items()}
    status, months, gone = [], [], np.zeros(n_contracts, bool)
    closed = []
    for i in range(n_contracts):
        h, state, k = hazard[base["grade"].iloc[i]], -1, 0
        for month in range(1, int(age[i]) + 1):
            u = rng.random()
            if state < 0:  # performing: a missed rent (that month is dunning's first), a move-out, or neither
                if u >= h:
                    if u < h + (1 - h) * model.moveout_hazard:
                        gone[i] = True
                        break
                    continue
                state, k, u = 0, 0, rng.random()
            if STATE_RULES[STATES[state]].month == REPAYS:
                k -= min(k, model.installment_repayment_months)
            elif k < cap[i]:
                k += 1
            if month == age[i]:  # the valuation month: its move is the projection's first draw
                break
            state = int(np.searchsorted(cumulative[state], u, side="right"))
            if state < len(TRANSIENT_STATES):
                continue
            if STATE_RULES[STATES[state]].role == PAYMENT_EXIT:
                state, k = -1, 0
                continue
            gone[i] = True  # the tenancy ended
            since = int(age[i]) - month
            balance = k * int(total[i])
            if balance > 0 and since <= write_off_months:
                recovered = model.recovery_after_exit(balance, 0.0) if since >= model.recovery_delay_months else 0
                insured = bool(base["insured"].iloc[i])
                payout = (model.jhf.payout(subrogated_rent=k * int(covered[i]), rent_at_start=int(
                    base["rent_yen"].iloc[i] + base["management_fee_yen"].iloc[i] + base["common_fee_yen"].iloc[i]))
                    if insured and since >= 1 else 0)
                closed.append((f"R{i:07d}", balance - recovered, since, STATES[state], insured and payout > 0,
                               int(payout)))
            break
        status.append("performing" if state < 0 else STATES[state])
        months.append(k if state >= 0 else 0)
    book = base.assign(contract_id=[f"C{i:07d}" for i in range(n_contracts)], start_month=-age, status=status,
                       months_subrogated=months)
    book["arrears_yen"] = book["months_subrogated"].to_numpy() * total
    book = book[~gone].reset_index(drop=True)
    receivables = pd.DataFrame(closed, columns=["receivable_id", "balance_yen", "months_since_exit", "exit_kind",
                                                "insured", "jhf_payout_received_yen"])
    receivables = receivables[receivables["balance_yen"] > 0].reset_index(drop=True)
    first = ["contract_id", "start_month", "status", "arrears_yen", "months_subrogated"]
    return book[first + [c for c in book.columns if c not in first]], receivables


#: The columns of the shipped seasoned book (no JHF eligibility columns: the book was insured
#: when its contracts started).
INFORCE_CSV_COLUMNS = ("contract_id", "start_month", "status", "arrears_yen", "months_subrogated", "rent_yen",
                       "management_fee_yen", "common_fee_yen", "parking_fee_yen", "plan", "grade", "insured")


def inforce_books_from_params(scenario, params_path, model: RentModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rent book in force and the closed receivables a scenario file's ``valuation``
    section names (CSV files relative to the file, :func:`~actuarial.portfolio.read_book_csv`),
    or a seasoned synthetic book of ``synthetic_contracts`` (seeded by ``portfolio.seed``)."""
    from pathlib import Path

    from ..portfolio import read_book_csv

    v = scenario.valuation
    if v is None:
        raise ValueError(f"scenario {scenario.scenario.name!r} has no valuation section")
    base = Path(params_path).resolve().parent
    book, receivables = synthetic_inforce_book(v.synthetic_contracts, model, scenario.portfolio.seed) \
        if not v.rent_book_csv or not v.receivables_csv else (None, None)
    if v.rent_book_csv:
        book = read_book_csv(base / v.rent_book_csv, "rent")
    if v.receivables_csv:
        receivables = read_book_csv(base / v.receivables_csv, "receivables")
    return book, receivables
