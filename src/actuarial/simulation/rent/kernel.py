"""The rent collection kernel (numba, ``nogil``): a scenario's first missed rents (:func:`_scan`)
and the collection months of the contracts that miss one (:func:`_collections`), into its
cash-flow lines (:func:`scenario`). It reads each state's role and cash-flow rule from
:class:`CollectionRules` (built from :func:`actuarial.collection.state_codes`), the commonest
draws from the scenario's tables (:mod:`.tables`), and steps the stream itself
(:mod:`.stream`). :mod:`actuarial.simulation.reference` walks the same streams in plain
Python, and tests hold the two equal to the yen. docs/performance.md says why it is written
as it is, with the measurements.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

from ...collection import ROLE_PAYMENT_EXIT
from .book import LIMIT_BITS, LIMIT_MASK
from .stream import draw, load_stream, sfc64, store_stream
from .tables import (
    MIXED,
    TO_UNIT,
    TOP_BITS,
    dunning_outcome,
    gap,
    grade_tables,
    rank,
    scenario_tables,
    split_outcome,
    table_gap,
)


class BookArrays(NamedTuple):
    """The book as the kernel reads it (:func:`~.book.prepare_book`): the offsets of its
    (grade, first month at risk) groups (``group_start``, one more than the groups), each
    group's grade index and months before its first month at risk, the contracts' records
    flattened (:func:`~.book.contract_records`), and the expected fee and JHF premium lines
    (``T + 1`` months each), which do not depend on the scenario."""

    group_start: np.ndarray
    group_grade: np.ndarray
    group_offset: np.ndarray
    contract: np.ndarray
    fees: np.ndarray
    premium: np.ndarray


#: The columns of :attr:`CollectionRules.states`.
S_ROLE, S_REPAYS, S_COST, S_COST_NUM, S_COST_DEN = range(5)


class CollectionRules(NamedTuple):
    """What the collection months do, fixed for a run: the horizon ``months``; the draw order
    of each transient state's moves (``dest``, :func:`~.tables.transition_order`); by state
    (:func:`~actuarial.collection.state_codes`), one row a state in ``states`` (one array, so
    the loop keeps one base pointer for them all): its role code (``S_ROLE``), 1 if a month
    there repays as a plan (``S_REPAYS``), and what entering it costs, ``fixed + floor(total x
    num / den)`` of the contract's monthly total (:meth:`~.model.RentModel.entry_cost_arrays`),
    as ``S_COST`` = ``fixed + 1`` for a state with a cost and 0 for one without (so that one
    number tells), ``S_COST_NUM`` and ``S_COST_DEN``; a plan's month repays
    ``repay_months`` monthly totals; after a tenancy-ending exit ``floor(arrears x
    recovery_rate x m)`` is recovered ``recovery_delay_months`` later; the JHF coverage ratio
    and recovery share as exact fractions ``num / den``, and the share of insured events JHF
    refuses (``refused_share``)."""

    months: int
    dest: np.ndarray
    states: np.ndarray
    repay_months: int
    recovery_rate: float
    recovery_delay_months: int
    coverage_num: int
    coverage_den: int
    share_num: int
    share_den: int
    refused_share: float


@intrinsic
def _opaque(typingctx, x):
    """``x``, unchanged but hidden from LLVM's optimiser: an empty inline-assembly statement
    that takes and returns it in a register. The kernel passes the next contract's month,
    loaded one step ahead, through it. Otherwise LLVM folds that load into the conditional
    move that takes it, and its x86 pass then turns a conditional move with a memory operand
    into a branch: one a contract, mispredicted at random (2.9 against 2.45 ms a scenario)."""
    sig = x(x)

    def codegen(context, builder, signature, args):
        t = args[0].type
        return builder.asm(ir.FunctionType(t, [t]), "", "=r,0", [args[0]], False)
    return sig, codegen


#: The kernel's own lines (not :data:`LINES`: no fees or premiums, which do not depend on the
#: scenario), month-major in one flat array: ``out[month * OUT_LINES + line]``.
OUT_LINES = 5
_SUBROGATED, _COSTS, _RECOVERED, _PAYOUT, _REMITTANCE = range(OUT_LINES)
#: The kernel runs the cured-line loop (:func:`_collections`) in scenarios whose chance of
#: staying in dunning is below this: there it is 10-15% faster, but each stay leaves it at the
#: cost of a mispredicted branch, and by 5% stays the branch-free loop is as fast.
CURED_LOOP_STAYS = 0.02


@numba.njit(nogil=True, cache=True, inline="always")
def _list_contract(tm, i, k, T, listed):
    """Write contract ``i``'s first missed month ``tm`` and the index of its record
    (``4 i``, :func:`contract_records` flattened) to the list's next slot ``k``; returns the
    next free slot: ``k + 1`` if the month falls within the horizon (the slot is kept), else
    ``k``."""
    listed[np.uint64(2) * k] = tm
    listed[np.uint64(2) * k + np.uint64(1)] = np.uint64(4) * np.uint64(i)
    return k + np.uint64(tm <= T)


@numba.njit(nogil=True, cache=True)
def _scan(st, tables, book, T, listed, counts):
    """A scenario's first missed rents: uniform ``k`` of the stream ``st`` (:func:`draw`) decides
    the ``k``-th contract's, in group order. The contracts that miss a rent within the horizon
    are listed in order, as pairs ``listed[2k] = `` that month, ``listed[2k + 1] = `` the
    index of their record, 4 times their position (the kernel then needs no multiplication);
    ``counts`` gets them by grade, so the list runs grade by grade in those numbers. Returns
    how many there are. ``tables``: the scenario's :class:`~.tables.ScenarioTables`;
    ``book``: the run's :class:`BookArrays`.

    Written without a branch on the outcome (each contract is written to the next slot, which
    only advances when it misses a rent): a third of contracts do not, at random, and a
    mispredicted branch costs more than the writes. Two contracts to a 64-bit word of the
    generator, its low half then its high half as :func:`draw` gives them; the branch on a
    pending high half goes the same way on every pass but a group's first (0.17 -> 0.11 ms
    a scenario, against :func:`draw`'s branch on every draw).
    """
    shift = np.uint64(32 - TOP_BITS)
    k = np.uint64(0)
    start = book.group_start
    sa, sb, sc, sw, half, has = load_stream(st)
    for g in range(start.shape[0] - 1):
        grade = book.group_grade[g]
        s0 = book.group_offset[g]
        first_table, first_split, _, _, ia, cdf, guide = grade_tables(tables, grade)
        i = start[g]
        stop = start[g + 1]
        k0 = k
        # The two halves' steps below are the same lines on purpose: as an inlined helper
        # (a branch and a call, like table_gap's fallback) numba counts references to its
        # arrays on every contract, and the scan ran 2.2 times the instructions (measured).
        while i < stop:
            if has:  # the high half of the last word: every pass but a group's first
                bits = np.int64(half)
                has = False
                tm = np.int64(first_table[np.uint64(bits) >> shift])
                if tm == MIXED:
                    tm = split_outcome(first_split, bits)
                    if tm == MIXED:
                        tm = gap((bits * TO_UNIT) * ia, cdf, guide)
                k = _list_contract(tm + s0, i, k, T, listed)
                i += 1
                if i == stop:
                    break
            word, sa, sb, sc, sw = sfc64(sa, sb, sc, sw)
            bits = np.int64(word & np.uint64(0xFFFFFFFF))
            half = word >> np.uint64(32)
            has = True
            tm = np.int64(first_table[np.uint64(bits) >> shift])
            if tm == MIXED:
                tm = split_outcome(first_split, bits)
                if tm == MIXED:
                    tm = gap((bits * TO_UNIT) * ia, cdf, guide)
            k = _list_contract(tm + s0, i, k, T, listed)
            i += 1
        counts[grade] += np.int64(k - k0)
    store_stream(st, (sa, sb, sc, sw, half, has))
    return np.int64(k)


@numba.njit(nogil=True, cache=True, inline="always")
def _pay_or_stay(o, tm, owed, tot, cover, out):
    """A month ``tm`` in dunning whose draw ``o`` pays the arrears the next month (``o > 0``,
    then ``o`` months to the next missed rent) or stays in dunning (``o == 0``), written
    without a branch on which: the month's total ``tot`` is subrogated if still covered (the
    arrears ``owed`` so far in the episode, in yen, below the ``cover`` in yen), and the
    arrears are recovered next month if paid. Returns the contract's next month in dunning
    and the arrears owed. Owed and cover kept in yen rather than months spare a
    multiplication a month (5-8% of a scenario)."""
    sub = tot if owed < cover else 0
    out[np.uint64(tm * OUT_LINES + _SUBROGATED)] += sub
    owed += sub
    paid = o > 0
    out[np.uint64((tm + 1) * OUT_LINES + _RECOVERED)] += owed if paid else 0
    return tm + 1 + o, 0 if paid else owed


@numba.njit(nogil=True, cache=True, inline="always")
def _dunning_month(o, tm, owed, k, T, listed, contract, out):
    """:func:`_pay_or_stay` for the listed contract whose pair starts at ``listed[k]`` (its
    total and cover read from its record), then, if its next month falls after the horizon,
    the next contract (``k + 2``) in its place: its first month, loaded before the step and
    taken by a conditional move (kept one by :func:`_opaque`), with nothing owed. Returns
    ``(tm, owed, k)``."""
    ui = np.uint64(listed[np.uint64(k + 1)])
    ahead = _opaque(listed[np.uint64(k + 2)])
    tm, owed = _pay_or_stay(o, tm, owed, contract[ui], contract[ui + np.uint64(1)], out)
    done = tm > T
    return (ahead if done else tm), (0 if done else owed), k + 2 * np.int64(done)


@numba.njit(nogil=True, cache=True, inline="always")
def _next_word(sa, sb, sc, sw, table, shift):
    """The generator's next 64-bit word (:func:`sfc64`): its low half as a uniform's bits
    and that uniform's ``table`` entry, its high half, and the generator after it."""
    word, sa, sb, sc, sw = sfc64(sa, sb, sc, sw)
    bits = np.int64(word & np.uint64(0xFFFFFFFF))
    return bits, np.int64(table[np.uint64(bits >> shift)]), word >> np.uint64(32), sa, sb, sc, sw


@numba.njit(nogil=True, cache=True, inline="always")
def _cured_month(o, tm, k, T, listed, contract, cured):
    """A month ``tm`` in dunning with nothing owed before it, paid the next month (``o > 0``
    months to the next missed rent), for the listed contract at ``listed[k]``: its monthly
    total, if it has a month of cover (:func:`contract_records`), goes to the ``cured``
    line, which is subrogated that month and recovered the next. Then, as in :func:`_dunning_month`,
    the next contract in its place if the next month falls after the horizon. Returns
    ``(tm, k)``."""
    ui = np.uint64(listed[np.uint64(k + 1)])
    ahead = _opaque(listed[np.uint64(k + 2)])
    cured[np.uint64(tm)] += contract[ui + np.uint64(3)]
    tm = tm + 1 + o
    done = tm > T
    return (ahead if done else tm), k + 2 * np.int64(done)


# error_model="numpy": no division here can be by zero (a chosen move's interval of uniforms
# is never empty; the fractions' denominators are positive), so the kernel goes without
# Python's zero-division checks, and with the unsigned indices on the exit path runs 3% fewer
# instructions (callgrind), about 2% less time
@numba.njit(nogil=True, cache=True, error_model="numpy")
def _collections(st, counts, listed, tables, book, rules, out):
    """The collection months of the contracts listed by :func:`_scan` (``counts`` of them by
    grade), drawing uniforms in order from the stream ``st`` (:func:`~.stream.draw`), with the
    scenario's ``tables``, the run's ``book`` and ``rules`` (:class:`CollectionRules`: what
    each state's month, entry and exit do, from :func:`~actuarial.collection.state_codes`); adds to ``out``
    (flat, month-major: ``out[month * OUT_LINES + line]`` for the lines subrogation, costs,
    recoveries, JHF payout, remittance; month ``T + 1`` takes what falls after the horizon
    and is dropped). ``contract`` is :func:`contract_records` flattened.

    The contract in hand is kept in registers: ``k`` where its pair starts in ``listed`` (two
    times its rank), ``tm`` its next month in dunning, ``owed`` the arrears owed in the
    episode in yen (the months subrogated, less any a plan repaid, times the monthly
    total). Most months in dunning end in payment the next month (the dunning table's entry
    is then the months to the following missed rent) or stay in dunning (entry 0); both
    run without a branch on the outcome, two to a 64-bit word of the generator, and when
    the month falls after the horizon the next contract's first month, loaded one step
    ahead, takes its place (a conditional move, kept one by :func:`_opaque`). A move to
    another state follows the chain month by month (:func:`next_tables`) until the tenant
    pays (a fresh episode in dunning at the next missed rent) or the path ends. Uniforms
    whose table bucket is ``MIXED`` are worked out exactly (by the bucket's split when it
    has one), so the tables change the speed, never a result.

    In a scenario where staying in dunning is rarer than ``CURED_LOOP_STAYS`` (a good
    economy), almost every month in dunning is paid the next month with nothing owed before
    it; such a month adds the contract's total to one cured line (:func:`_cured_month`),
    subrogated that month and recovered the next, and the loop that does only this is 10-15%
    faster. It leaves to the steps above, at the cost of a mispredicted branch, the months
    that stay (then the rest of that episode) and the moves to other states. Which loop runs
    never changes a result.
    """
    m, thr, nexts, paid0, edges, rank_of = (tables.m, tables.thr, tables.nexts.reshape(-1), tables.paid0,
                                            tables.edges, tables.rank_of)
    T, dest, contract, states = rules.months, rules.dest, book.contract, rules.states
    K = dest.shape[0]
    stay = rank_of[0, 0]
    cured_loop = edges[0, stay + 1] - edges[0, stay] < CURED_LOOP_STAYS
    cured = np.zeros(T + 2, dtype=np.int64)
    thr0 = thr[0]
    dest0 = dest[0]
    shift = 32 - TOP_BITS
    rs = load_stream(st)
    k = 0
    end = 0
    for g in range(counts.shape[0]):
        end += 2 * counts[g]
        # one grade's run: its tables are fixed, so the next table entry never waits on the
        # contract's grade
        first_table, _, dunning_table, dunning_split, ia, cdf, guide = grade_tables(tables, g)
        if k >= end:
            continue
        # the contract in hand: its next month in dunning and arrears owed
        tm = listed[k]
        owed = np.int64(0)
        while True:
            slow = False
            if cured_loop:
                # the economy is good enough that almost every month in dunning is paid the
                # next month: with nothing owed before it, such a month is one entry of the
                # cured line, and the loop leaves the other outcomes to the month-by-month
                # steps below (a stay, then the episode to its end, or another state)
                while True:
                    while owed != 0 and k < end:  # an episode with arrears owed
                        bits, rs = draw(rs)
                        o = np.int64(dunning_table[np.uint64(bits >> shift)])
                        if o < 0:
                            slow = True
                            break
                        tm, owed, k = _dunning_month(o, tm, owed, k, T, listed, contract, out)
                    if slow or k >= end:
                        break
                    other = False  # an outcome other than paid the next month
                    if rs[5]:  # a high half left from the last word
                        bits = np.int64(rs[4])
                        rs = (rs[0], rs[1], rs[2], rs[3], rs[4], False)
                        o = np.int64(dunning_table[np.uint64(bits >> shift)])
                        if o > 0:
                            tm, k = _cured_month(o, tm, k, T, listed, contract, cured)
                        else:
                            other = True
                    sa, sb, sc, sw = rs[0], rs[1], rs[2], rs[3]
                    while not other and k < end:
                        bits, o, high, sa, sb, sc, sw = _next_word(sa, sb, sc, sw, dunning_table, shift)
                        if o <= 0:
                            rs = (sa, sb, sc, sw, high, True)
                            other = True
                            break
                        tm, k = _cured_month(o, tm, k, T, listed, contract, cured)
                        if k >= end:
                            rs = (sa, sb, sc, sw, high, True)
                            break
                        bits = np.int64(high)
                        o = np.int64(dunning_table[np.uint64(bits >> shift)])
                        rs = (sa, sb, sc, sw, high, False)
                        if o <= 0:
                            other = True
                            break
                        tm, k = _cured_month(o, tm, k, T, listed, contract, cured)
                    if not other:
                        break  # the grade's last contract is done
                    if o < 0:
                        slow = True
                        break
                    tm, owed, k = _dunning_month(o, tm, owed, k, T, listed, contract, out)  # a stay
            else:
                # months in dunning that pay or stay, the commonest draws, in a tight loop that
                # keeps the contract in registers and takes the next one's first month, loaded
                # one step ahead, when this one passes the horizon (unsigned indices: no
                # negative-index wrap-around)
                if rs[5]:  # a high half left from the last word
                    bits = np.int64(rs[4])
                    rs = (rs[0], rs[1], rs[2], rs[3], rs[4], False)
                    o = np.int64(dunning_table[np.uint64(bits >> shift)])
                    if o < 0:
                        slow = True
                    else:
                        tm, owed, k = _dunning_month(o, tm, owed, k, T, listed, contract, out)
                sa, sb, sc, sw = rs[0], rs[1], rs[2], rs[3]
                while not slow and k < end:
                    bits, o, high, sa, sb, sc, sw = _next_word(sa, sb, sc, sw, dunning_table, shift)
                    if o < 0:
                        rs = (sa, sb, sc, sw, high, True)
                        slow = True
                        break
                    tm, owed, k = _dunning_month(o, tm, owed, k, T, listed, contract, out)
                    if k >= end:
                        rs = (sa, sb, sc, sw, high, True)
                        break
                    bits = np.int64(high)
                    o = np.int64(dunning_table[np.uint64(bits >> shift)])
                    rs = (sa, sb, sc, sw, high, False)
                    if o < 0:
                        slow = True
                        break
                    tm, owed, k = _dunning_month(o, tm, owed, k, T, listed, contract, out)
            if not slow:
                break
            i = np.uint64(listed[np.uint64(k + 1)])
            tot = contract[i]
            cover = contract[i + np.uint64(1)]
            if o == MIXED:
                o = split_outcome(dunning_split, bits)
                if o == MIXED:
                    o = dunning_outcome(bits * TO_UNIT, thr0, dest0, paid0, ia, cdf, guide)
            if o >= 0:
                tm, owed = _pay_or_stay(o, tm, owed, tot, cover, out)
            else:  # the month in dunning, then another state from next month, month by month
                if owed < cover:
                    out[np.uint64(tm * OUT_LINES + _SUBROGATED)] += tot
                    owed += tot
                repay_yen = rules.repay_months * tot
                state = dest0[np.uint64(-o - 2)]
                prev = 0
                tm += 1
                while tm <= T and state < K:
                    # a month in a state of the process, written without a branch on whether it is
                    # subrogated (not in a plan, and still covered)
                    plan = states[np.uint64(state), S_REPAYS]
                    sub = (1 - plan) * np.int64(owed < cover) * tot
                    rep = plan * min(owed, repay_yen)  # a plan's month repays
                    out[np.uint64(tm * OUT_LINES + _SUBROGATED)] += sub
                    out[np.uint64(tm * OUT_LINES + _RECOVERED)] += rep
                    owed += sub - rep  # the arrears owed are always whole monthly totals
                    cost = states[np.uint64(state), S_COST]
                    if cost != 0 and state != prev:  # entered this month (a costly state: fixed + 1)
                        out[np.uint64(tm * OUT_LINES + _COSTS)] += cost - 1 + tot * states[
                            np.uint64(state), S_COST_NUM] // states[np.uint64(state), S_COST_DEN]
                    bits, rs = draw(rs)
                    nxt = nexts[(np.uint64(state) << np.uint64(TOP_BITS)) | np.uint64(bits >> shift)]
                    if nxt == MIXED:
                        nxt = dest[state, rank(bits * TO_UNIT, thr[state])]
                    prev = state
                    state = nxt
                    tm += 1
                if tm <= T:  # the path left the process this month
                    cost = states[np.uint64(state), S_COST]
                    if cost != 0:  # an exit with a cost (a division only then)
                        out[np.uint64(tm * OUT_LINES + _COSTS)] += cost - 1 + tot * states[
                            np.uint64(state), S_COST_NUM] // states[np.uint64(state), S_COST_DEN]
                    if states[np.uint64(state), S_ROLE] == ROLE_PAYMENT_EXIT:  # performing again
                        out[np.uint64(tm * OUT_LINES + _RECOVERED)] += owed
                        # the month's uniform, rescaled within the chosen move's interval, is a
                        # fresh uniform: it decides a missed rent before a move-out, and when
                        r = rank_of[np.uint64(prev), np.uint64(state)]
                        lo = edges[np.uint64(prev), np.uint64(r)]
                        x = (bits * TO_UNIT - lo) / (edges[np.uint64(prev), np.uint64(r + 1)] - lo)
                        months_to_next = table_gap(x, first_table)
                        if months_to_next == MIXED:
                            months_to_next = gap(x * ia, cdf, guide)
                        tm += months_to_next
                        owed = 0
                    else:  # a tenancy-ending exit (state_codes has checked that no other role exists)
                        arrears = owed
                        rec = int(math.floor(arrears * rules.recovery_rate * m + 1e-9))
                        rec_month = tm + rules.recovery_delay_months
                        pay_month = tm + 1
                        jhf = contract[i + np.uint64(2)]
                        # insured, and JHF does not refuse the claim (the exit's uniform, rescaled
                        # within its move, falls at or above the refused share): the payout on the
                        # covered part of the arrears, and the remittance of later recoveries
                        if jhf >= 0 and arrears > 0:
                            r = rank_of[np.uint64(prev), np.uint64(state)]
                            lo = edges[np.uint64(prev), np.uint64(r)]
                            x = (bits * TO_UNIT - lo) / (edges[np.uint64(prev), np.uint64(r + 1)] - lo)
                            if x >= rules.refused_share:
                                covered_num = (jhf >> LIMIT_BITS) * rules.coverage_num
                                pay = min(arrears * covered_num // (tot * rules.coverage_den), jhf & LIMIT_MASK)
                                if pay_month <= T:
                                    out[np.uint64(pay_month * OUT_LINES + _PAYOUT)] += pay
                                if rec_month >= pay_month and rec_month <= T:
                                    out[np.uint64(rec_month * OUT_LINES + _REMITTANCE)] += (rec * rules.share_num
                                                                                             // rules.share_den)
                        if rec_month <= T:
                            out[np.uint64(rec_month * OUT_LINES + _RECOVERED)] += rec
                        tm = T + 1  # the tenancy ended
            if tm > T:  # the next contract
                k += 2
                if k >= end:
                    break
                tm = listed[np.uint64(k)]
                owed = 0
    for t in range(T + 1):  # the cured line: subrogated in its month, recovered the next
        out[t * OUT_LINES + _SUBROGATED] += cured[t]
        out[(t + 1) * OUT_LINES + _RECOVERED] += cured[t]
    store_stream(st, rs)


@numba.njit(nogil=True, cache=True)
def scenario(z, st, inputs, book, rules, listed, counts, out, flows):
    """One scenario after its factor ``z``, in one call (no arrays boxed for Python between
    the steps): its tables (:func:`~.tables.scenario_tables` of the run's ``inputs``), the
    scan and the collection months into ``out`` (zeroed first, the kernel's workspace), then
    its cash flows into ``flows``, lines :data:`~.model.LINES` by month: the book's fee and
    JHF premium lines, which do not depend on the scenario, and the kernel's five.

    ``st`` is the scenario's stream (:func:`~.stream.stream_state`), ``book`` the run's
    :class:`BookArrays`, ``rules`` its :class:`CollectionRules`; ``listed`` is the scan's
    workspace (two slots a contract, and one pair more) and ``counts`` gets the contracts
    that miss a rent, by grade."""
    tables = scenario_tables(z, inputs)
    T = rules.months
    _scan(st, tables, book, T, listed, counts)
    out[:] = 0
    _collections(st, counts, listed, tables, book, rules, out)
    fees, premium = book.fees, book.premium
    for t in range(T + 1):
        flows[0, t] = fees[t]
        flows[1, t] = out[t * OUT_LINES + _SUBROGATED]
        flows[2, t] = out[t * OUT_LINES + _COSTS]
        flows[3, t] = out[t * OUT_LINES + _RECOVERED]
        flows[4, t] = premium[t]
        flows[5, t] = out[t * OUT_LINES + _PAYOUT]
        flows[6, t] = out[t * OUT_LINES + _REMITTANCE]
