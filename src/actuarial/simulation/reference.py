"""A slow, readable version of :func:`actuarial.simulation.rent.simulate_rent` (lifelib style).

It draws from the same per-scenario streams in the same order as the fast kernel, but
walks each contract month by month in plain Python and takes every amount from the product
calculators (:class:`~actuarial.products.jhf_insurance.JHFTerms`,
:class:`~actuarial.products.rent_guarantee.FeePlan`). It shares with the kernel only the
small helpers that fix a scenario's numbers (:func:`~.rent.conditional_hazard`,
:func:`~.rent.gap_tables`, :func:`~.rent.transition_order`, and the expected fees'
:func:`~.rent.fee_survival`), none of the kernel's lookup
tables or shortcuts. Tests require the two to agree exactly on small books. Use it to read
the model, not to run it.

The stream of scenario ``s``: ``rng = scenario_rng(seed, s)`` (numpy's SFC64 seeded with
``SeedSequence(seed, spawn_key=(s,))``); first the factor ``z = rng.standard_normal()``, then
uniforms, two from each of the bit generator's 64-bit words (low half, then high half, each
``bits / 2^32``). The contracts
are taken by grade (in the model's order), then by first month at risk, then in book
order: first each uses one uniform for its first missed rent; then, one contract after
another, those that miss a rent within the horizon use one for each month they spend in the
collection process.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..collection import (
    FIRST_STATE,
    PAYMENT_EXIT,
    REPAYS,
    STATE_RULES,
    STATES,
    TENANCY_ENDING_EXIT,
    TRANSIENT,
    TRANSIENT_STATES,
    check_state_rules,
)
from ..normal import norm
from .rent import (
    LINES,
    RentModel,
    conditional_hazard,
    fee_survival,
    gap_tables,
    jhf_attachment,
    scenario_rng,
    start_months,
    transition_order,
    validate_portfolio,
)


class Uniforms:
    """The uniforms of one scenario's stream after its factor: each 64-bit word of the bit
    generator gives two, its low 32 bits then its high 32 bits, as ``bits / 2^32``."""

    def __init__(self, rng: np.random.Generator):
        self.bit_generator = rng.bit_generator
        self.high_half: int | None = None

    def next(self) -> float:
        if self.high_half is not None:
            bits, self.high_half = self.high_half, None
        else:
            word = int(self.bit_generator.random_raw())
            bits, self.high_half = word & 0xFFFFFFFF, word >> 32
        return bits / 2.0 ** 32


def stressed_cumulative(model: RentModel, m: float) -> tuple[list[list[int]], list[list[float]]]:
    """For each transient state, its possible moves in draw order (most likely first) and
    their cumulative probabilities in the chain stressed by ``m``
    (:meth:`~actuarial.collection.CollectionChain.stressed`); the last is set to 1."""
    order, n = transition_order(model.chain.matrix)
    p = model.chain.stressed(m).matrix
    moves, cumulative = [], []
    for i in range(len(TRANSIENT_STATES)):
        row, acc = [], 0.0
        for j in order[i, :n[i]].tolist():
            acc += float(p[i, j])
            row.append(acc)
        row[-1] = 1.0
        moves.append(order[i, :n[i]].tolist())
        cumulative.append(row)
    return moves, cumulative


def simulate_reference(portfolio: pd.DataFrame, model: RentModel, n_scenarios: int, seed: int, *,
                       claims: list | None = None) -> np.ndarray:
    """Cash flows ``S x L x (T+1)`` in yen, as :attr:`SimulationResult.cash_flows`.

    ``claims``, a list, gets one tuple a collection episode that ended within the horizon, in
    the order of :data:`~actuarial.simulation.rent.claims.CLAIM_COLUMNS` without the net loss
    (grade and exit by name), as ``simulate(..., claims=)`` gives them."""
    validate_portfolio(portfolio, model)
    check_state_rules()
    T = model.months
    out = np.zeros((n_scenarios, len(LINES), T + 1))
    line = {name: i for i, name in enumerate(LINES)}
    contracts = portfolio.reset_index(drop=True)
    start = start_months(contracts, T)
    insured, _ = jhf_attachment(contracts, model, start)  # within the insurance contract amount
    contracts = contracts.assign(insured=insured)
    offset = np.maximum(start, 0)
    alive = fee_survival(model)
    for s in range(n_scenarios):
        flows = out[s]
        _fees_and_premiums(contracts, model, start, alive, flows, line)  # they do not depend on the scenario
        rng = scenario_rng(seed, s)
        z = rng.standard_normal()
        uniforms = Uniforms(rng)
        m = model.good_exit_multiplier(z)
        moves, cumulative = stressed_cumulative(model, m)
        # the kernel's order: by grade, then by first month at risk, then book order
        tables = {}
        order = []
        for grade in model.delinquency_hazard:
            h = conditional_hazard(float(norm.ppf(model.delinquency_hazard[grade])), z,
                                   math.sqrt(model.rho), math.sqrt(1 - model.rho))
            tables[grade] = gap_tables(h, model.moveout_hazard, T)[:2]
            for s0 in sorted(set(offset.tolist())):
                order += np.flatnonzero((contracts["grade"].to_numpy() == grade) & (offset == s0)).tolist()
        # first every contract's first missed rent, one uniform each ...
        first_month = [offset[i] + _gap(uniforms.next(), *tables[contracts["grade"][i]]) for i in order]
        # ... then the collection months of those that miss one within the horizon, one by one
        for i, month in zip(order, first_month, strict=True):
            if month <= T:
                episodes = _one_contract(contracts.iloc[i], model, moves, cumulative, uniforms,
                                         *tables[contracts["grade"][i]], m, z, month, flows, line)
                if claims is not None:
                    claims += [(s, i, contracts["grade"][i], *e) for e in episodes]
    return out


def _fees_and_premiums(contracts: pd.DataFrame, model: RentModel, start: np.ndarray, alive: dict,
                       flows: np.ndarray, line: dict) -> None:
    """Each contract's expected fees (its plan's schedule from its start, times the chance it
    is still in force) and the JHF premium of an insured one starting within the horizon."""
    T, offset = model.months, np.maximum(start, 0)
    for i, c in enumerate(contracts.itertuples()):
        plan = model.plans[c.plan]
        total = plan.monthly_total(rent_yen=c.rent_yen, management_fee_yen=c.management_fee_yen,
                                   common_fee_yen=c.common_fee_yen, parking_fee_yen=c.parking_fee_yen)
        sched = plan.fee_schedule(monthly_total_yen=total, months_in_force=T + 1 - start[i])
        for t in range(offset[i], T + 1):
            flows[line["fees"], t] += sched[t - start[i]] * (1 - model.moveout_hazard) ** (t - offset[i]) \
                * alive[c.grade][t - offset[i]]
        if c.insured and start[i] >= 0:
            flows[line["jhf_premium"], start[i]] += model.jhf.premium(
                rent=c.rent_yen, management_fee=c.management_fee_yen, common_fee=c.common_fee_yen)


def _gap(u: float, inv_a: float, cdf: np.ndarray) -> int:
    """Months to the next missed rent from the uniform ``u``: ``1 + searchsorted(cdf, u inv_a)``;
    more than the months left means none within the horizon (or a move-out first)."""
    return 1 + int(np.searchsorted(cdf, u * inv_a, side="right"))


def _one_contract(c, model: RentModel, moves, cumulative, uniforms: Uniforms, inv_a: float, cdf: np.ndarray, m: float,
                  z: float, month: int, flows: np.ndarray, line: dict, state: str = FIRST_STATE,
                  months_owed: int = 0, runoff: _Runoff | None = None, ruled: bool = True) -> None:
    """Follow one contract from its first missed rent, in ``month``, to its exit or the
    horizon, through any later missed rents after a cure. Returns its episodes that ended
    within the horizon: (monthly total, rent at start, first missed month, exit, exit month,
    months subrogated, then yen: subrogated, costs, recoveries, JHF payout, remittance),
    the amounts the episode's own whenever they are paid.

    A contract already in collection on the valuation date starts in ``state`` with
    ``months_owed`` months subrogated and owed, and ``runoff`` (:class:`_Runoff`) follows
    its receivable until the first exit; its first month (the valuation month, not
    ``ruled``) only draws its move, its month rule being already in its arrears."""
    T = model.months
    plan = model.plans[c["plan"]]
    items = plan.total_items(rent_yen=int(c["rent_yen"]), management_fee_yen=int(c["management_fee_yen"]),
                             common_fee_yen=int(c["common_fee_yen"]), parking_fee_yen=int(c["parking_fee_yen"]))
    total = sum(items.values())
    rent_at_start = int(c["rent_yen"] + c["management_fee_yen"] + c["common_fee_yen"])
    entry_cost = model.entry_costs_yen(monthly_total_yen=total)  # by state, for this flat
    months_subrogated, arrears = months_owed, months_owed * total
    episodes, episode = [], _Episode(month)
    while month <= T:
        if ruled:
            months_subrogated = _month_rule(model, plan, state, total, month, months_subrogated, flows, line, episode,
                                            runoff)
            arrears = months_subrogated * total
        ruled = True
        u = uniforms.next()
        i = STATES.index(state)
        r = next(k for k, cum in enumerate(cumulative[i]) if u < cum)
        nxt = STATES[moves[i][r]]
        month += 1
        if month > T:
            return episodes
        if nxt == state:
            continue
        state, rule = nxt, STATE_RULES[nxt]
        if rule.entry_cost is not None:  # entered this month
            flows[line["costs"], month] += entry_cost[STATES.index(state)]
            episode.costs += int(entry_cost[STATES.index(state)])
        if rule.role == TRANSIENT:
            continue
        if rule.role == PAYMENT_EXIT:
            flows[line["recoveries"], month] += arrears
            episode.recovered += arrears
            if runoff is not None:
                runoff.add(0, month, runoff.left())
                runoff = None
            episodes.append(episode.row(total, rent_at_start, state, month))
            # performing again: the month's uniform, rescaled within the move's interval, is a
            # fresh uniform that decides a missed rent (before a move-out) and when
            lo = cumulative[i][r - 1] if r > 0 else 0.0
            month += _gap((u - lo) / (cumulative[i][r] - lo), inv_a, cdf)
            state, months_subrogated, arrears = FIRST_STATE, 0, 0
            episode = _Episode(month)
            continue
        if rule.role != TENANCY_ENDING_EXIT:
            raise ValueError(f"collection state {state!r} has role {rule.role!r}, which the reference does not handle")
        recovered = model.recovery_after_exit(arrears, z)
        recovery_month, payout_month = month + model.recovery_delay_months, month + 1
        # JHF refuses the claim (its exclusions, 保険免責) when the exit's uniform, rescaled
        # within the move's interval, falls below the refused share
        lo = cumulative[i][r - 1] if r > 0 else 0.0
        refused = (u - lo) / (cumulative[i][r] - lo) < model.jhf_refused_share
        episode.recovered += recovered
        episode.payout, episode.remittance = _jhf_claim(c, model, items, arrears, recovered, rent_at_start, refused)
        if payout_month <= T:
            flows[line["jhf_payout"], payout_month] += episode.payout
        if recovery_month <= T:
            flows[line["jhf_remittance"], recovery_month] += episode.remittance
            flows[line["recoveries"], recovery_month] += recovered
        if runoff is not None:  # the receivable's part, from what is left of it
            left = runoff.left()
            left_recovered = model.recovery_after_exit(left, z)
            payout, remittance = _jhf_claim(c, model, items, left, left_recovered, rent_at_start, refused)
            runoff.add(0, recovery_month, left_recovered)
            runoff.add(1, payout_month, payout)
            runoff.add(2, recovery_month, remittance)
        episodes.append(episode.row(total, rent_at_start, state, month))
        return episodes
    return episodes


def _month_rule(model: RentModel, plan, state: str, total: int, month: int, months_subrogated: int,
                flows: np.ndarray, line: dict, episode: _Episode, runoff: _Runoff | None) -> int:
    """A month in ``state``: it subrogates the monthly total while the plan's cover lasts,
    or, in a plan, repays whole monthly totals (freeing cover; the receivable's run-off
    repays its oldest months). Returns the months subrogated and owed after it."""
    if STATE_RULES[state].month == REPAYS:
        repaid = min(months_subrogated, model.installment_repayment_months)
        flows[line["recoveries"], month] += repaid * total
        episode.recovered += repaid * total
        if runoff is not None:
            runoff.repay(month, model.installment_repayment_months)
        return months_subrogated - repaid
    if months_subrogated < plan.coverage_months:
        flows[line["subrogation"], month] += total
        episode.months += 1
        episode.subrogated += total
        return months_subrogated + 1
    return months_subrogated


def _jhf_claim(c, model: RentModel, items: dict, owed_yen: int, recovered: int, rent_at_start: int,
               refused: bool) -> tuple[int, int]:
    """The JHF payout on a tenancy-ending exit with ``owed_yen`` owed (on its covered part,
    ``floor(owed x covered / total)``: rent, management and common-area fees, no parking) and
    the remittance on the recovery after it; nothing when not insured, nothing owed or
    refused."""
    jhf = model.jhf
    if not (c["insured"] and jhf.insured_event(subrogated_yen=owed_yen, contract_ended=True) and not refused):
        return 0, 0
    covered = owed_yen * jhf.covered_amount(items) // sum(items.values())  # whole months: exactly their cover
    payout = jhf.payout(subrogated_rent=covered, rent_at_start=rent_at_start)
    remittance = jhf.remittance(recovered_after_payout=recovered) if model.recovery_delay_months >= 1 else 0
    return payout, remittance


class _Runoff:
    """The receivable of a contract in collection on the valuation date (``arrears`` yen,
    ``months_owed`` months subrogated): a plan's month repays its oldest months first, and
    what is left is ``max(arrears - months repaid x total, 0)``. ``flows`` gets its
    recoveries, JHF payout and remittance by month."""

    def __init__(self, arrears: int, months_owed: int, total: int, flows: np.ndarray):
        self.arrears, self.months_left, self.months_owed, self.total = arrears, months_owed, months_owed, total
        self.flows = flows

    def left(self) -> int:
        return max(self.arrears - (self.months_owed - self.months_left) * self.total, 0)

    def repay(self, month: int, repay_months: int) -> None:
        before = self.left()
        self.months_left -= min(self.months_left, repay_months)
        self.add(0, month, before - self.left())

    def add(self, line: int, month: int, yen: int) -> None:
        if month < self.flows.shape[1]:
            self.flows[line, month] += yen


class _Episode:
    """What one collection episode has cost and brought so far, for its claim row."""

    def __init__(self, first_missed_month: int):
        self.first_missed_month = first_missed_month
        self.months = self.subrogated = self.costs = self.recovered = self.payout = self.remittance = 0

    def row(self, total: int, rent_at_start: int, exit_state: str, exit_month: int) -> tuple:
        return (total, rent_at_start, self.first_missed_month, exit_state, exit_month, self.months, self.subrogated,
                self.costs, self.recovered, self.payout, self.remittance)


def simulate_inforce_reference(portfolio: pd.DataFrame, model: RentModel, n_scenarios: int, seed: int, *,
                               group_of=None, n_groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A book in force on the valuation date the readable way, as
    :func:`~actuarial.simulation.rent.inforce.simulate_inforce` runs it: ``(flows, walked)``,
    the book's cash flows ``S x L x (T+1)`` and each group's walk lines by month ``S x G x 8 x
    (T+1)`` (:data:`~actuarial.simulation.rent.inforce.WALK_LINES`; group 0 without the
    performing contracts). The performing contracts as :func:`simulate_reference`; each
    contract in collection, in book order, from its state with its months owed, on the
    scenario's second stream (:func:`~actuarial.simulation.rent.inforce.inforce_rng`)."""
    from .rent.inforce import PERFORMING, WALK_LINES, inforce_rng, prepare_inforce

    prepare_inforce(portfolio, model, group_of=group_of, n_groups=n_groups)  # the same checks
    T = model.months
    book = portfolio.reset_index(drop=True)
    collecting = (book["status"] != PERFORMING).to_numpy() if "status" in book.columns else np.zeros(len(book), bool)
    group_of = np.zeros(len(book), dtype=np.int64) if group_of is None else np.asarray(group_of)
    flows = np.zeros((n_scenarios, len(LINES), T + 1))
    if (~collecting).any():
        flows += simulate_reference(book[~collecting], model, n_scenarios, seed)
    walked = np.zeros((n_scenarios, n_groups, len(WALK_LINES), T + 1))
    start = start_months(book, T)
    insured, _ = jhf_attachment(book, model, start)
    book = book.assign(insured=insured)
    line = {name: i for i, name in enumerate(WALK_LINES)}
    fees = np.zeros((len(LINES), T + 1))  # a contract in collection keeps paying its fees, as any contract
    _fees_and_premiums(book[collecting], model, start[collecting], fee_survival(model), fees,
                       {name: i for i, name in enumerate(LINES)})
    flows += fees
    for s in range(n_scenarios):
        z = scenario_rng(seed, s).standard_normal()
        uniforms = Uniforms(inforce_rng(seed, s))
        m = model.good_exit_multiplier(z)
        moves, cumulative = stressed_cumulative(model, m)
        for i in np.flatnonzero(collecting):
            c = book.iloc[i]
            h = conditional_hazard(float(norm.ppf(model.delinquency_hazard[c["grade"]])), z,
                                   math.sqrt(model.rho), math.sqrt(1 - model.rho))
            inv_a, cdf = gap_tables(h, model.moveout_hazard, T)[:2]
            own = walked[s, group_of[i]]
            total = model.plans[c["plan"]].monthly_total(
                rent_yen=c["rent_yen"], management_fee_yen=c["management_fee_yen"], common_fee_yen=c["common_fee_yen"],
                parking_fee_yen=c["parking_fee_yen"])
            runoff = _Runoff(int(c["arrears_yen"]), int(c["months_subrogated"]), int(total), own[5:])
            _one_contract(c, model, moves, cumulative, uniforms, inv_a, cdf, m, z, 0, own, line, c["status"],
                          int(c["months_subrogated"]), runoff, ruled=False)
        flows[s, [LINES.index(n) for n in WALK_LINES[:5]]] += walked[s, :, :5].sum(axis=0)
    return flows, walked
