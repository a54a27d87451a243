"""A seasoned book to try a quarter close on, built from a model's own dynamics
(:func:`synthetic_inforce_book`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..collection import STATES, TRANSIENT_STATES
from ..portfolio import synthetic_mortgage_book, synthetic_rent_book
from ..simulation.mortgage import MortgageModel, prepare_mortgage_book
from ..simulation.rent import RentModel
from ..simulation.rent.book import prepare_book
from .rollforward import closed_from_exits, rent_month, rent_rules


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
    total, cap, covered = (np.empty_like(a) for a in (layout.total, layout.cap, layout.jhf_covered))
    total[layout.position], cap[layout.position], covered[layout.position] = (layout.total, layout.cap,
                                                                               layout.jhf_covered)
    rules = rent_rules(model)
    by_grade = {g: model.hazard(h, 0.0) for g, h in model.delinquency_hazard.items()}
    hazard = base["grade"].map(by_grade).to_numpy(float)
    state = np.full(n_contracts, -1)  # -1 performing, else a state of STATES
    k = np.zeros(n_contracts, dtype=np.int64)
    gone = np.zeros(n_contracts, bool)
    exit_month = np.zeros(n_contracts, dtype=np.int64)
    cure_month = np.zeros(n_contracts, bool)  # paid up this month: the next missed rent comes later
    for month in range(1, max_age_months + 1):  # every contract alive and not yet at its date, at once
        # the valuation month's move is the projection's first draw
        rent_month(rng, rules, ~gone & (month <= age), month < age, True, hazard, cap, state, k, gone, cure_month,
                   exit_month, month)
    K = len(TRANSIENT_STATES)
    ended = gone & (state >= K)
    since = age - exit_month
    rent_at_start = (base["rent_yen"] + base["management_fee_yen"] + base["common_fee_yen"]).to_numpy(np.int64)
    receivables = closed_from_exits(model, ended & (k > 0) & (since <= write_off_months), k, total, covered, since,
                                    np.maximum(state, 0), base["insured"].to_numpy(bool), rent_at_start,
                                    np.array([f"R{i:07d}" for i in range(n_contracts)], dtype=object))
    collecting = state >= 0
    book = base.assign(contract_id=[f"C{i:07d}" for i in range(n_contracts)], start_month=-age,
                       status=np.where(collecting, np.array(STATES, dtype=object)[np.maximum(state, 0)], "performing"),
                       months_subrogated=np.where(collecting, k, 0), arrears_yen=np.where(collecting, k * total, 0))
    book = book[~gone].reset_index(drop=True)
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


def synthetic_inforce_mortgage_book(n_loans: int, model: MortgageModel, seed: int, *,
                                    lump_sum_share: float = 0.5) -> pd.DataFrame:
    """A mortgage book in force of ``n_loans`` loans up to 10 years old
    (:func:`~actuarial.portfolio.synthetic_mortgage_book`) with the delinquent and
    subrogated inventory the model implies in a steady state at the mean economy.

    A grade's monthly default hazard ``d`` is the rate at which loans are subrogated; with
    ``K = subrogation_after_months_delinquent`` and ``c`` the monthly cure rate, loans fall
    into arrears at ``e = d / (1 - c)^(K - 1)`` a month, so a loan is delinquent ``m`` months
    (1 to ``K - 1``) with chance ``e (1 - c)^(m - 1)`` and subrogated ``k`` months ago (0 to
    ``recovery_delay_months - 1``, its collateral not yet sold) with chance ``d``; its
    receivable is the balance when its payments stopped, ``k + K`` months before. A loan
    too young for its draw is performing. Lump-sum loans carry the fee the curve charged
    (``fee_paid_yen``). Draws come from ``SeedSequence(seed, spawn_key=(1,))``."""
    book = synthetic_mortgage_book(n_loans, seed, new_share=0.0, lump_sum_share=lump_sum_share)
    laid = prepare_mortgage_book(book, model)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    d = 1 - (1 - laid.annual_pd[laid.grade]) ** (1 / 12)
    c, K, delay = model.delinquent_monthly_cure_rate, model.subrogation_after_months_delinquent, \
        model.recovery_delay_months
    e = d / (1 - c) ** (K - 1)
    chances = np.concatenate([e[:, None] * (1 - c) ** np.arange(K - 1)[None, :],
                              np.repeat(d[:, None], delay, axis=1)], axis=1)  # m = 1..K-1, then k = 0..delay-1
    edges = np.cumsum(chances, axis=1)
    pick = (rng.random(len(book))[:, None] >= edges).sum(axis=1)  # K - 1 + delay: performing
    age = laid.age
    m = np.where(pick < K - 1, pick + 1, 0)
    k = np.where((pick >= K - 1) & (pick < K - 1 + delay), pick - (K - 1), -1)
    stopped = age - k - K  # payments made before the receivable's balance
    delinquent = (m > 0) & (m <= age)
    subrogated = (k >= 0) & (stopped >= 0)
    owed = np.floor(laid.principal * laid.shapes[laid.product, np.maximum(stopped, 0)] + 1e-6).astype(np.int64)
    fee = np.floor(laid.principal * laid.unearned[laid.product, 0] + 1e-6).astype(np.int64)
    out = book.assign(loan_id=[f"M{i:07d}" for i in range(len(book))],
                      status=np.select([delinquent, subrogated], ["delinquent", "subrogated"], "performing"),
                      months_delinquent=np.where(delinquent, m, 0),
                      receivable_yen=np.where(subrogated, owed, 0),
                      months_since_subrogation=np.where(subrogated, k, 0),
                      fee_paid_yen=np.where(laid.lump, fee, 0))
    first = ["loan_id", "status", "months_delinquent", "receivable_yen", "months_since_subrogation"]
    return out[first + [c for c in out.columns if c not in first]]


def inforce_mortgage_book_from_params(scenario, params_path) -> pd.DataFrame | None:
    """The mortgage book in force a scenario file's ``valuation`` section names (a CSV file
    relative to the file), or a synthetic one of ``synthetic_loans`` loans seeded by
    ``portfolio.seed`` (:func:`synthetic_inforce_mortgage_book`); None without a
    ``mortgage_model``."""
    from pathlib import Path

    from ..portfolio import read_book_csv

    v = scenario.valuation
    if v is None:
        raise ValueError(f"scenario {scenario.scenario.name!r} has no valuation section")
    if scenario.mortgage_model is None:
        return None
    if v.mortgage_book_csv:
        return read_book_csv(Path(params_path).resolve().parent / v.mortgage_book_csv, "mortgage")
    return synthetic_inforce_mortgage_book(v.synthetic_loans, MortgageModel.from_params(scenario),
                                           scenario.portfolio.seed,
                                           lump_sum_share=scenario.portfolio.mortgage_lump_sum_share)


def synthetic_next_quarter(rent_book: pd.DataFrame, receivables: pd.DataFrame, model: RentModel, seed: int, *,
                           months: int = 3, new_contracts: int = 0, hazard_factor: float = 1.0,
                           mortgage_book: pd.DataFrame | None = None, mortgage_model: MortgageModel | None = None,
                           new_loans: int = 0) -> dict:
    """The books ``months`` months later, to try a movement analysis on: the books in force
    rolled forward (:mod:`.rollforward`) with every grade's delinquency hazard and mortgage
    default rate times ``hazard_factor`` (worse than expected above 1), and new business:
    ``new_contracts`` performing rent contracts (ids ``N0000000``...) and ``new_loans``
    performing loans, started in the last ``months`` months. Returns ``rent``,
    ``receivables`` and, with a mortgage book, ``mortgage``. Draws come from
    ``SeedSequence(seed)`` and its spawned streams."""
    import dataclasses

    from .rollforward import roll_forward_mortgage, roll_forward_rent

    if not (isinstance(hazard_factor, (int, float)) and 0 < hazard_factor < 10):
        raise ValueError(f"hazard_factor must be a number above 0 and below 10, got {hazard_factor!r}")
    actual = dataclasses.replace(model, delinquency_hazard={g: min(h * hazard_factor, 0.99)
                                                            for g, h in model.delinquency_hazard.items()})
    rent, closed = roll_forward_rent(rent_book, receivables, actual, months, seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(9,)))
    out = {"receivables": closed}
    if new_contracts:
        new = synthetic_rent_book(new_contracts, seed=seed + 1)
        new = new.assign(contract_id=[f"N{i:07d}" for i in range(new_contracts)],
                         start_month=-rng.integers(0, months, new_contracts), status="performing", arrears_yen=0,
                         months_subrogated=0)
        rent = pd.concat([rent, new[list(rent.columns)]], ignore_index=True)
    out["rent"] = rent
    if mortgage_book is not None:
        worse = dataclasses.replace(mortgage_model, annual_default_rate={
            g: min(p * hazard_factor, 0.99) for g, p in mortgage_model.annual_default_rate.items()})
        loans = roll_forward_mortgage(mortgage_book, worse, months, seed)
        if new_loans:
            new = synthetic_inforce_mortgage_book(new_loans, mortgage_model, seed + 1)
            new = new.assign(loan_id=[f"N{i:07d}" for i in range(new_loans)], status="performing",
                             months_delinquent=0, receivable_yen=0, months_since_subrogation=0,
                             age_months=rng.integers(0, months, new_loans))
            loans = pd.concat([loans, new[list(loans.columns)]], ignore_index=True)
        out["mortgage"] = loans
    return out
