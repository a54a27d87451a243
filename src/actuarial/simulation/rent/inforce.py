"""The rent book in force on a valuation date: contracts already in collection start from
their state, and each walks month by month on its scenario's second stream.

A contract in collection on the date is in a transient collection state
(:data:`~actuarial.collection.TRANSIENT_STATES`) with ``k0`` months subrogated and owed (the
plan's cover used) and a receivable (求償債権) of ``arrears_yen``, ``k0`` monthly totals.
The valuation month (projection month 0) is its month in that state, its month rule
(subrogation or a plan's repayment) already in those figures: it only draws its move.
From then on it follows the collection chain as any contract in collection does
(:mod:`.kernel`, :mod:`~actuarial.simulation.reference`): the same month rule, moves,
entry costs, exits, JHF payout and remittance, and after a cure the next missed rent from
the rescaled uniform. Performing contracts run through the kernel
unchanged, so a book with every contract performing gives what it gives today.

Beside the contract's own cash flows the walk keeps a second ledger, the **run-off of the
receivable**: the same path of states, with no further subrogation. A plan's month repays
``min(k, repay months)`` of the months owed, oldest first, so the receivable left is
``max(arrears - (k0 - k) x total, 0)``; a payment exit recovers what is left, a
tenancy-ending exit ``floor(left x recovery rate x m)`` ``recovery_delay_months`` later,
with the JHF payout on it (if insured and not refused) and the remittance on that recovery.
The ledger ends at the first exit. It is what the valuation's allowance on the receivable
reads (:mod:`actuarial.valuation`).

Stream: scenario ``s`` draws its factor ``z`` from :func:`~.stream.scenario_rng` as every
rent run does, and the collecting contracts' uniforms from :func:`inforce_rng` ``(seed,
s)``, in book order, one a month in collection, as :func:`~.claims._walk` draws them.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from ...collection import ROLE_PAYMENT_EXIT, TRANSIENT_STATES
from ...products.common import first_row, require_known, require_whole
from ..distributed import check_run_arguments, progress_bar, run_scenarios
from .book import LIMIT_BITS, LIMIT_MASK, RentBook, contract_records, prepare_book
from .claims import entry_cost
from .engine import kernel_inputs
from .kernel import OUT_LINES, S_REPAYS, S_ROLE, scenario
from .model import LINES, RentModel
from .stream import draw, load_stream, scenario_rng, store_stream, stream_state
from .tables import TO_UNIT, TOP_BITS, gap, rank, scenario_tables

#: The lines a collecting contract's walk writes, by month: its own flows, then its
#: receivable's run-off (recoveries, JHF payout, remittance).
WALK_LINES = ("subrogation", "costs", "recoveries", "jhf_payout", "jhf_remittance",
              "runoff_recoveries", "runoff_jhf_payout", "runoff_jhf_remittance")
_SUB, _COST, _REC, _PAY, _REM, _RREC, _RPAY, _RREM = range(len(WALK_LINES))


def inforce_rng(seed: int, scenario: int) -> np.random.Generator:
    """The second stream of scenario ``scenario``, for the contracts in collection on the
    valuation date: SFC64 seeded with ``SeedSequence(seed, spawn_key=(scenario, 1))``
    (never the same as :func:`~.stream.scenario_rng`'s ``(scenario,)``)."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(scenario, 1))))


class CollectingArrays(NamedTuple):
    """The contracts in collection on the date, in book order: their records
    (:func:`~.book.contract_records` flattened, 4 a contract), grade index, state code,
    months owed ``k0``, receivable in yen and the output group each writes to."""

    contract: np.ndarray
    grade: np.ndarray
    state: np.ndarray
    owed_months: np.ndarray
    arrears: np.ndarray
    group: np.ndarray


@numba.njit(nogil=True, cache=True, inline="always")
def _tenancy_exit(owed, tot, jhf, x, m, rules):
    """A tenancy-ending exit with ``owed`` yen owed: the recovery ``floor(owed x rate x m)``,
    the JHF payout (insured, something owed, the rescaled uniform ``x`` not below the
    refused share: ``min(owed x covered x ratio / total, limit)``) and the remittance on the
    recovery (when it comes after the payout)."""
    rec = int(math.floor(owed * rules.recovery_rate * m + 1e-9))
    pay = rem = 0
    if jhf >= 0 and owed > 0 and x >= rules.refused_share:
        covered = owed * (jhf >> LIMIT_BITS) // tot  # whole months owed: exactly their cover
        pay = min(covered * rules.coverage_num // rules.coverage_den, jhf & LIMIT_MASK)
        if rules.recovery_delay_months >= 1:
            rem = rec * rules.share_num // rules.share_den
    return rec, pay, rem


@numba.njit(nogil=True, cache=True, inline="always")
def _add(out, g, line, month, amount, T):
    if month <= T:
        out[g, line, month] += amount


@numba.njit(nogil=True, cache=True, inline="always")
def _paid(out, g, month, owed, runoff, left, T):
    """A payment exit in ``month``: what is owed is recovered, and the receivable's run-off,
    if still running, recovers what is ``left`` of it and ends. Returns False (no run-off)."""
    _add(out, g, _REC, month, owed, T)
    if runoff:
        _add(out, g, _RREC, month, left, T)
    return False


@numba.njit(nogil=True, cache=True)
def walk_collecting(st, m, thr, inv_a, cdfs, guides, dunning, rules, arrays, out):
    """Walk every collecting contract of ``arrays`` (:class:`CollectingArrays`) from its
    state on the date, one uniform a month from the stream ``st``, adding its flows and its
    receivable's run-off by month (:data:`WALK_LINES`) to ``out[group]`` (``G x 8 x (T +
    1)``; what falls after the horizon is dropped). ``m``, ``thr``, ``inv_a``, ``cdfs``,
    ``guides`` and ``dunning`` (the dunning outcome tables by grade) are the scenario's
    (:class:`~.tables.ScenarioTables`), ``rules`` the run's :class:`~.kernel.CollectionRules`.

    A month in dunning reads its outcome from the dunning table, as the kernel does: a stay,
    or a payment the next month with the months to the next missed rent; a bucket of
    uniforms with more than one outcome (``MIXED``), or a move to another state, is worked
    out in full. The table changes the speed, never a result."""
    T, dest, states = rules.months, rules.dest, rules.states
    K = dest.shape[0]
    shift = np.uint64(32 - TOP_BITS)
    rs = load_stream(st)
    for i in range(arrays.grade.shape[0]):
        g, k = arrays.group[i], arrays.grade[i]
        tot, cover, jhf = arrays.contract[4 * i], arrays.contract[4 * i + 1], arrays.contract[4 * i + 2]
        state, owed = arrays.state[i], arrays.owed_months[i] * tot
        k0, arrears = arrays.owed_months[i], arrays.arrears[i]
        left_months, runoff = k0, True  # the receivable's run-off: months of it still owed
        month, ruled = 0, False  # the valuation month: its month rule is in the arrears; it only moves
        while month <= T:
            if not ruled:
                ruled = True
            elif states[state, S_REPAYS]:  # a plan's month repays whole totals, oldest first
                repaid = min(owed, rules.repay_months * tot)
                owed -= repaid
                _add(out, g, _REC, month, repaid, T)
                if runoff:
                    before = max(arrears - (k0 - left_months) * tot, 0)
                    left_months -= min(left_months, rules.repay_months)
                    _add(out, g, _RREC, month, before - max(arrears - (k0 - left_months) * tot, 0), T)
            elif owed < cover:
                owed += tot
                _add(out, g, _SUB, month, tot, T)
            bits, rs = draw(rs)
            if state == 0:
                o = np.int64(dunning[k, np.uint64(bits) >> shift])
                if o >= 0:  # stays (0), or pays next month with the next missed rent o months on
                    month += 1
                    if month > T or o == 0:
                        continue
                    runoff = _paid(out, g, month, owed, runoff, max(arrears - (k0 - left_months) * tot, 0), T)
                    month += o
                    owed = 0
                    continue
            u = bits * TO_UNIT
            r = rank(u, thr[state])
            nxt = dest[state, r]
            month += 1
            if month > T or nxt == state:
                continue
            prev, state = state, nxt
            _add(out, g, _COST, month, entry_cost(states, state, tot), T)  # entered this month
            if state < K:
                continue
            lo = thr[prev, r - 1] if r > 0 else 0.0
            x = (u - lo) / (thr[prev, r] - lo)  # the move's uniform rescaled: a fresh one
            left = max(arrears - (k0 - left_months) * tot, 0)
            if states[state, S_ROLE] == ROLE_PAYMENT_EXIT:
                runoff = _paid(out, g, month, owed, runoff, left, T)
                # performing again: the next missed rent from the rescaled uniform
                month += gap(x * inv_a[k], cdfs[k], guides[k])
                state, owed = 0, 0
                continue
            rec, pay, rem = _tenancy_exit(owed, tot, jhf, x, m, rules)
            _add(out, g, _REC, month + rules.recovery_delay_months, rec, T)
            _add(out, g, _PAY, month + 1, pay, T)
            _add(out, g, _REM, month + rules.recovery_delay_months, rem, T)
            if runoff:
                rec, pay, rem = _tenancy_exit(left, tot, jhf, x, m, rules)
                _add(out, g, _RREC, month + rules.recovery_delay_months, rec, T)
                _add(out, g, _RPAY, month + 1, pay, T)
                _add(out, g, _RREM, month + rules.recovery_delay_months, rem, T)
            break
    store_stream(st, rs)


# -- the book in force: its status columns, checked, and the run -------------------------------
#: The status of a contract paying its rent on the valuation date.
PERFORMING = "performing"
#: The optional status columns of a book in force (a book without them is all performing).
STATUS_COLUMNS = ("status", "arrears_yen", "months_subrogated")


def check_status(portfolio: pd.DataFrame, model: RentModel, monthly_total_yen: np.ndarray, cover_months: np.ndarray,
                 what: str = "portfolio") -> None:
    """The status columns (:data:`STATUS_COLUMNS`), all or none, checked row by row: a status
    is ``performing`` or a transient collection state; arrears and months subrogated are
    whole, not negative; a performing contract owes nothing; months subrogated are within
    the plan's cover, and the arrears are exactly that many monthly totals (the chain runs on
    whole months owed: a receivable that is not would be recovered as if it were).
    ``ValueError`` naming the column, the row and the value."""
    present = [c for c in STATUS_COLUMNS if c in portfolio.columns]
    if not present:
        return
    if len(present) < len(STATUS_COLUMNS):
        missing = [c for c in STATUS_COLUMNS if c not in portfolio.columns]
        raise ValueError(f"{what}: the status columns go together; {', '.join(present)} without {', '.join(missing)}")
    require_known(portfolio, "status", (PERFORMING, *TRANSIENT_STATES), what, "state")
    status = portfolio["status"]
    for c, unit in (("arrears_yen", "whole yen"), ("months_subrogated", "whole months")):
        require_whole(portfolio, c, what, unit=unit)
        bad = portfolio[c].to_numpy() < 0
        if bad.any():
            row, i = first_row(portfolio, bad)
            raise ValueError(f"{what} column {c!r} has a negative value {int(portfolio[c].iloc[i])} in row {row!r}")
    arrears = portfolio["arrears_yen"].to_numpy(np.int64)
    months = portfolio["months_subrogated"].to_numpy(np.int64)
    performing = (status == PERFORMING).to_numpy()
    checks = (
        (performing & ((arrears > 0) | (months > 0)), "arrears_yen",
         "a performing contract owes nothing: arrears {a} yen and {k} months subrogated"),
        (months > cover_months, "months_subrogated",
         "{k} months subrogated exceed the plan's cover of {c} months"),
        (~performing & (months > 0) & (arrears == 0), "arrears_yen",
         "{k} months subrogated but no arrears: a contract that owes nothing is performing or cured"),
        (~performing & (months == 0) & (arrears > 0), "arrears_yen",
         "arrears of {a} yen with no month subrogated: the receivable is what was subrogated"),
        (arrears != months * monthly_total_yen, "arrears_yen",
         "arrears of {a} yen are not the {k} months subrogated times the monthly total {t}: the guarantor "
         "subrogates whole months, and the model follows them"),
    )
    if "start_month" in portfolio.columns:  # at most one month subrogated a month since the start
        age = -portfolio["start_month"].to_numpy(np.int64)
        checks += ((months > np.maximum(age, 0) + 1, "months_subrogated",
                    "{k} months subrogated on a contract that started {g} months before the valuation date"),)
    else:
        age = np.zeros(len(portfolio), dtype=np.int64)
    for bad, column, message in checks:
        if bad.any():
            row, i = first_row(portfolio, bad)
            raise ValueError(f"{what} column {column!r} in row {row!r}: " + message.format(
                a=int(arrears[i]), k=int(months[i]), c=int(cover_months[i]), t=int(monthly_total_yen[i]),
                g=int(age[i])))


def state_of(portfolio: pd.DataFrame) -> np.ndarray:
    """Each contract's state code (:func:`~actuarial.collection.state_codes` order), -1 for
    performing; all -1 without the status columns."""
    if "status" not in portfolio.columns:
        return np.full(len(portfolio), -1, dtype=np.int64)
    codes = {name: i for i, name in enumerate(TRANSIENT_STATES)}
    return np.array([codes.get(s, -1) for s in portfolio["status"]], dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class InforceBook:
    """A book in force laid out for a run: the performing contracts as the kernel reads them
    (``performing``, :class:`~.book.RentBook`, or None when there are none), the collecting
    ones (:class:`CollectingArrays`, book order), the collecting contracts' rows in the book
    (``collecting_rows``), the number of output groups and the windows each group's flows
    are summed over (``W x (T + 1)`` weights by month)."""

    performing: RentBook | None
    collecting: CollectingArrays
    collecting_rows: np.ndarray
    n_groups: int
    windows: np.ndarray
    full: RentBook       # the whole book laid out: its fee and premium lines (contracts in collection keep
    pick: np.ndarray     # paying fees) and, at positions ``pick``, the collecting contracts' amounts


def prepare_inforce(portfolio: pd.DataFrame, model: RentModel, *, group_of=None, n_groups: int = 1,
                    windows=None, what: str = "portfolio") -> InforceBook:
    """Check a book in force (:func:`~.book.validate_portfolio`, :func:`check_status`) and lay
    it out. ``group_of``: for each contract, the group (``0..n_groups-1``) its collecting
    flows go to (all 0 when omitted); performing contracts always go to group 0's row of the
    kernel's flows. ``windows`` (default: the whole horizon) weigh each month's flows."""
    full = prepare_book(portfolio, model)
    total, cap = np.empty_like(full.total), np.empty_like(full.cap)
    total[full.position], cap[full.position] = full.total, full.cap
    check_status(portfolio, model, total, cap, what)
    state = state_of(portfolio)
    collecting = state >= 0
    performing = prepare_book(portfolio[~collecting], model) if (~collecting).any() else None
    # the collecting contracts' records, from the whole book's layout (its JHF attachment), in book order
    rank_in_full = np.empty(len(portfolio), dtype=np.int64)
    rank_in_full[full.position] = np.arange(len(portfolio))
    pick = rank_in_full[np.flatnonzero(collecting)]
    records = contract_records(full.total[pick], full.cap[pick], full.insured[pick], full.jhf_rent[pick], model.jhf,
                               full.jhf_covered[pick]).reshape(-1)
    grade_of, _ = full.grade_and_offset()
    arrays = CollectingArrays(records, grade_of[pick].astype(np.int64), state[collecting],
                              portfolio["months_subrogated"].to_numpy(np.int64)[collecting] if collecting.any()
                              else np.zeros(0, np.int64),
                              portfolio["arrears_yen"].to_numpy(np.int64)[collecting] if collecting.any()
                              else np.zeros(0, np.int64),
                              np.zeros(int(collecting.sum()), dtype=np.int64))
    book = InforceBook(performing, arrays, np.flatnonzero(collecting), 1, np.ones((1, model.months + 1)), full, pick)
    return regroup(book, group_of, n_groups, windows)


def regroup(book: InforceBook, group_of=None, n_groups: int = 1, windows=None) -> InforceBook:
    """``book`` with each contract's output group (``group_of``, one for each contract of the
    book, in ``0..n_groups-1``; all 0 when omitted) and the windows (``W x (T + 1)`` weights
    by month; the whole horizon when omitted), checked."""
    T1 = book.windows.shape[1]
    windows = np.ones((1, T1)) if windows is None else np.asarray(windows, dtype=float)
    if windows.ndim != 2 or windows.shape[1] != T1:
        raise ValueError(f"windows must be W x {T1} weights by month, got shape {windows.shape}")
    n = len(book.full.total)
    group_of = np.zeros(n, dtype=np.int64) if group_of is None else np.asarray(group_of, np.int64)
    if group_of.shape != (n,) or (group_of < 0).any() or (group_of >= n_groups).any():
        raise ValueError(f"group_of must give each of the {n} contracts a group in 0..{n_groups - 1}")
    collecting = book.collecting._replace(group=group_of[book.collecting_rows])
    return dataclasses.replace(book, collecting=collecting, n_groups=int(n_groups), windows=windows)


def run_inforce_into(book: InforceBook, model: RentModel, seed: int, jobs, outputs: tuple, bar=None) -> None:
    """For each ``(row, s)`` of ``jobs``, scenario ``s`` into row ``row`` of ``outputs``
    ``(flows, grouped, z)``: the book's cash flows (``7 x (T + 1)``, :data:`~.model.LINES`),
    each group's walk lines summed over the windows (``G x 8 x W``; group 0's first five
    lines also take the performing contracts' flows) and the factor."""
    flows, grouped, z = outputs
    T = model.months
    perf = book.performing
    inputs, _, rules = kernel_inputs(book.full, model)  # the scenario's tables and the rules: the whole book's
    if perf is not None:
        arrays = kernel_inputs(perf, model)[1]
        listed = np.zeros(2 * (len(perf.total) + 1), dtype=np.int64)
        out = np.empty((T + 2) * OUT_LINES, dtype=np.int64)
        counts = np.zeros(len(perf.grade_hazard), dtype=np.int64)
    walked = np.zeros((book.n_groups, len(WALK_LINES), T + 1), dtype=np.int64)
    for row, s in jobs:
        rng = scenario_rng(seed, s)
        z[row] = rng.standard_normal()
        if perf is not None:
            counts[:] = 0
            scenario(z[row], stream_state(rng), inputs, arrays, rules, listed, counts, out, flows[row])
        tables = scenario_tables(z[row], inputs)
        walked[:] = 0
        walk_collecting(stream_state(inforce_rng(seed, s)), tables.m, tables.thr, tables.inv_a, tables.cdfs,
                        tables.guides, tables.dunning_tables, rules, book.collecting, walked)
        flows[row, 0], flows[row, 4] = book.full.fees, book.full.premium  # collecting contracts' fees too
        flows[row, [1, 2, 3, 5, 6]] += walked[:, :5].sum(axis=0)
        grouped[row] = walked @ book.windows.T
        if perf is not None:
            grouped[row, 0, :5] += flows[row, [1, 2, 3, 5, 6]] @ book.windows.T - walked[:, :5].sum(axis=0) @ \
                book.windows.T
        if bar is not None:
            bar.update()


def simulate_inforce(portfolio: pd.DataFrame, model: RentModel, n_scenarios: int, seed: int, *,
                     group_of=None, n_groups: int = 1, windows=None, threads: int | None = None,
                     backend: str = "local", client=None, scheduler: str | None = None,
                     chunk_scenarios: int = 250) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rent book in force on the valuation date, ``n_scenarios`` scenarios: ``(flows,
    grouped, z)`` as :func:`run_inforce_into` fills them. A book without status columns, or
    all performing, gives the flows :func:`~.engine.simulate_rent` gives, to the yen. The
    result does not depend on ``threads``, ``chunk_scenarios`` or the backend."""
    check_run_arguments(n_scenarios=n_scenarios, seed=seed, threads=threads, chunk_scenarios=chunk_scenarios,
                        backend=backend, claims=0)
    book = prepare_inforce(portfolio, model, group_of=group_of, n_groups=n_groups, windows=windows)
    return simulate_prepared(book, model, n_scenarios, seed, threads=threads, backend=backend, client=client,
                             scheduler=scheduler, chunk_scenarios=chunk_scenarios)


def simulate_prepared(book: InforceBook, model: RentModel, n_scenarios: int, seed: int, *,
                      threads: int | None = None, backend: str = "local", client=None, scheduler: str | None = None,
                      chunk_scenarios: int = 250) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`simulate_inforce` of a book already laid out (:func:`prepare_inforce`,
    :func:`regroup`)."""
    threads = check_run_arguments(n_scenarios=n_scenarios, seed=seed, threads=threads,
                                  chunk_scenarios=chunk_scenarios, backend=backend, claims=0)
    T = model.months
    flows = np.zeros((n_scenarios, len(LINES), T + 1))
    grouped = np.zeros((n_scenarios, book.n_groups, len(WALK_LINES), len(book.windows)))
    z = np.empty(n_scenarios)
    bar = progress_bar(False, n_scenarios, 0, 1)
    run_scenarios(run_inforce_into, book, model, seed, n_scenarios, (flows, grouped, z), threads=threads,
                  backend=backend, client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios, bar=bar)
    return flows, grouped, z
