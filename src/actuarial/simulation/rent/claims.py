"""Claim-level output: one row per collection episode that ended within the horizon, for the
first scenarios of a run (``simulate(..., claims=K)``).

The fast kernel (:mod:`.kernel`) keeps no episodes. :func:`_walk` walks a scenario's stream
again, contract by contract and month by month as the plain-Python reference does, and
writes each episode's row; the tests hold its rows equal to the reference's
(:func:`actuarial.simulation.reference.simulate_reference` with ``claims=``). A run without
claims never calls it, so the bench is untouched.

An episode starts with a missed rent and ends in a payment exit (a cure, a completed plan)
or a tenancy-ending exit. Its amounts are the episode's own, whenever they are paid: the
recovery after a tenancy-ending exit and the JHF payout and remittance count even when they
fall after the horizon, which the cash flows drop.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

from ...collection import ROLE_PAYMENT_EXIT, STATES
from .book import LIMIT_BITS, LIMIT_MASK
from .kernel import S_COST, S_COST_DEN, S_COST_NUM, S_REPAYS, S_ROLE
from .stream import draw, load_stream, store_stream
from .tables import TO_UNIT, gap, rank

#: The columns of :attr:`~actuarial.simulation.SimulationResult.claims`.
CLAIM_COLUMNS = ("scenario", "contract", "grade", "monthly_total_yen", "rent_at_start_yen", "first_missed_month",
                 "exit", "exit_month", "months_subrogated", "subrogated_yen", "costs_yen", "recoveries_yen",
                 "jhf_payout_yen", "jhf_remittance_yen", "net_loss_yen")
#: The integer columns the walker writes (the grade and exit as indices, no net loss).
_RAW = 14


@numba.njit(nogil=True, cache=True, inline="always")
def move(rs, thr, dest, state):
    """A month's move from ``state``: the stream's next uniform ``u``, the rank ``r`` of the
    move it draws and the state it moves to; returns ``(u, r, next state, stream)``."""
    bits, rs = draw(rs)
    u = bits * TO_UNIT
    r = rank(u, thr[state])
    return u, r, dest[state, r], rs


@numba.njit(nogil=True, cache=True, inline="always")
def entry_cost(states, state, tot):
    """What entering ``state`` costs a contract of monthly total ``tot`` (0 for a state
    without a cost; a costly state's ``S_COST`` is its fixed yen + 1)."""
    if states[state, S_COST] == 0:
        return 0
    return states[state, S_COST] - 1 + tot * states[state, S_COST_NUM] // states[state, S_COST_DEN]


@numba.njit(nogil=True, cache=True)
def _walk(z, st, tables, book, rules, grade_of, position, jhf_rent, scenario, rows):
    """The episodes of one scenario into ``rows`` (``_RAW`` int64 columns: scenario,
    contract position, grade index, monthly total, rent at start, first missed month, exit
    state, exit month, months subrogated, then yen: subrogated, costs, recoveries, JHF payout,
    remittance). Returns how many, or -1 when ``rows`` is too small. Draws the stream ``st``
    as the kernel and the reference do."""
    T = rules.months
    dest, thr, m, states = rules.dest, tables.thr, tables.m, rules.states
    contract = book.contract
    rs = load_stream(st)
    n = position.shape[0]
    first = np.empty(n, dtype=np.int64)
    for g in range(book.group_start.shape[0] - 1):  # first missed rents, one uniform each, in group order
        k = book.group_grade[g]
        for i in range(book.group_start[g], book.group_start[g + 1]):
            bits, rs = draw(rs)
            first[i] = book.group_offset[g] + gap((bits * TO_UNIT) * tables.inv_a[k], tables.cdfs[k], tables.guides[k])
    count = 0
    for i in range(n):  # the collection months of those that miss one, contract after contract
        month = first[i]
        if month > T:
            continue
        k = grade_of[i]
        tot, cover, jhf = contract[4 * i], contract[4 * i + 1], contract[4 * i + 2]
        state, owed, start, months, sub, costs, recovered = 0, 0, month, 0, 0, 0, 0
        while month <= T:
            if states[state, S_REPAYS]:  # a plan's month repays whole totals
                repaid = min(owed, rules.repay_months * tot)
                owed -= repaid
                recovered += repaid
            elif owed < cover:
                owed += tot
                sub += tot
                months += 1
            u, r, nxt, rs = move(rs, thr, dest, state)
            month += 1
            if month > T or nxt == state:
                continue
            prev, state = state, nxt
            costs += entry_cost(states, state, tot)
            if state < dest.shape[0]:
                continue
            lo = thr[prev, r - 1] if r > 0 else 0.0
            x = (u - lo) / (thr[prev, r] - lo)  # the move's uniform rescaled: a fresh one
            pay = rem = 0
            if states[state, S_ROLE] == ROLE_PAYMENT_EXIT:
                recovered += owed
            else:  # a tenancy-ending exit
                rec = int(math.floor(owed * rules.recovery_rate * m + 1e-9))
                recovered += rec
                if jhf >= 0 and owed > 0 and x >= rules.refused_share:
                    pay = min(owed * ((jhf >> LIMIT_BITS) * rules.coverage_num) // (tot * rules.coverage_den),
                              jhf & LIMIT_MASK)
                    if rules.recovery_delay_months >= 1:
                        rem = rec * rules.share_num // rules.share_den
            if count >= rows.shape[0]:
                store_stream(st, rs)
                return -1
            row = rows[count]
            row[0], row[1], row[2], row[3], row[4], row[5] = scenario, position[i], k, tot, jhf_rent[i], start
            row[6], row[7], row[8], row[9], row[10], row[11] = state, month, months, sub, costs, recovered
            row[12], row[13] = pay, rem
            count += 1
            if states[state, S_ROLE] != ROLE_PAYMENT_EXIT:
                break  # the tenancy ended
            # performing again: the next missed rent from the rescaled uniform
            month += gap(x * tables.inv_a[k], tables.cdfs[k], tables.guides[k])
            state, owed, start, months, sub, costs, recovered = 0, 0, month, 0, 0, 0, 0
    store_stream(st, rs)
    return count


def claims_frame(raw: np.ndarray, grades: list) -> pd.DataFrame:
    """The walker's integer rows as :data:`CLAIM_COLUMNS`: grade and exit by name, and the
    episode's net loss, ``subrogated + costs - recoveries - JHF payout + remittance``."""
    out = pd.DataFrame(raw, columns=list(CLAIM_COLUMNS[:-1]))
    out["grade"] = pd.Categorical.from_codes(raw[:, 2], categories=list(map(str, grades)))
    out["exit"] = pd.Categorical.from_codes(raw[:, 6], categories=list(STATES))
    out["net_loss_yen"] = (out["subrogated_yen"] + out["costs_yen"] - out["recoveries_yen"] - out["jhf_payout_yen"]
                           + out["jhf_remittance_yen"])
    return out


def walk_claims(seed: int, scenarios: int, inputs, arrays, rules, grade_of, position, jhf_rent, grades) -> pd.DataFrame:
    """The claim rows of scenarios ``0..scenarios-1`` (:func:`_walk` on each one's stream)."""
    from .stream import scenario_rng, stream_state
    from .tables import scenario_tables

    frames = []
    capacity = 4 * len(position) + 16
    for s in range(scenarios):
        while True:
            rng = scenario_rng(seed, s)
            z = rng.standard_normal()
            rows = np.zeros((capacity, _RAW), dtype=np.int64)
            n = _walk(z, stream_state(rng), scenario_tables(z, inputs), arrays, rules, grade_of, position, jhf_rent,
                      s, rows)
            if n >= 0:
                break
            capacity *= 2
        frames.append(rows[:n])
    raw = np.concatenate(frames) if frames else np.zeros((0, _RAW), dtype=np.int64)
    return claims_frame(raw, grades)
