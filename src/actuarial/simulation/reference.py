"""A slow, readable version of :func:`actuarial.simulation.rent.simulate` (lifelib style).

It draws from the same per-scenario streams in the same order as the fast kernel, but
walks each contract in plain Python and takes every amount from the product calculators
(:class:`~actuarial.products.jhf_insurance.JHFTerms`, :class:`~actuarial.products.rent_guarantee.FeePlan`).
Tests require the two to agree exactly on small books. Use it to read the model, not to run it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..collection import STATES, TENANCY_ENDING_EXITS, TRANSIENT_STATES
from .rent import LINES, RentModel, start_months, validate_portfolio


def simulate_reference(portfolio: pd.DataFrame, model: RentModel, n_scenarios: int, seed: int) -> np.ndarray:
    """Cash flows ``S x L x (T+1)`` in yen, as :attr:`SimulationResult.cash_flows`."""
    validate_portfolio(portfolio, model)
    T, jhf = model.months, model.jhf
    out = np.zeros((n_scenarios, len(LINES), T + 1))
    line = {name: i for i, name in enumerate(LINES)}
    contracts = portfolio.reset_index(drop=True)
    start = start_months(contracts, T)
    for s in range(n_scenarios):
        flows = out[s]
        # fees and premiums do not depend on the scenario
        for i, c in enumerate(contracts.itertuples()):
            plan = model.plans[c.plan]
            total = plan.monthly_total(rent_yen=c.rent_yen, management_fee_yen=c.management_fee_yen,
                                       common_fee_yen=c.common_fee_yen, parking_fee_yen=c.parking_fee_yen)
            sched = plan.fee_schedule(monthly_total_yen=total, months_in_force=T + 1 - start[i])
            for t in range(max(start[i], 0), T + 1):
                flows[line["fees"], t] += sched[t - start[i]] * (1 - model.moveout_hazard) ** (t - max(start[i], 0))
            if c.insured and start[i] >= 0:
                flows[line["jhf_premium"], start[i]] += jhf.premium(rent=c.rent_yen, management_fee=c.management_fee_yen,
                                                                    common_fee=c.common_fee_yen)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s,)))
        z = rng.standard_normal()
        chain = model.chain.stressed(model.good_exit_multiplier(z))
        offset = np.maximum(start, 0)
        groups = [(g, s0) for g in model.delinquency_hazard for s0 in sorted(set(offset.tolist()))]
        for grade, s0 in groups:  # the kernel's order: by grade, then by first month at risk
            members = np.flatnonzero((contracts["grade"].to_numpy() == grade) & (offset == s0))
            if len(members) == 0:
                continue
            h = model.hazard(model.delinquency_hazard[grade], z)
            q = (1 - h) * (1 - model.moveout_hazard)
            p_any = h * (1 - q ** (T - s0)) / (1 - q)
            k = rng.binomial(len(members), min(max(p_any, 0.0), 1.0))
            chosen: list[int] = []
            for j in range(len(members) - k, len(members)):  # Floyd's algorithm
                r = int(rng.integers(0, j + 1))
                chosen.append(j if r in chosen else r)
            for position in chosen:
                _one_contract(contracts.iloc[members[position]], model, chain, rng, h, q, z, s0, flows, line)
    return out


def _one_contract(c, model: RentModel, chain, rng, h: float, q: float, z: float, s0: int, flows: np.ndarray,
                  line: dict) -> None:
    """Follow one delinquent contract from its first missed rent to its exit or the horizon,
    through any later delinquencies after a cure."""
    T, jhf = model.months, model.jhf
    plan = model.plans[c["plan"]]
    total = plan.monthly_total(rent_yen=int(c["rent_yen"]), management_fee_yen=int(c["management_fee_yen"]),
                               common_fee_yen=int(c["common_fee_yen"]), parking_fee_yen=int(c["parking_fee_yen"]))
    rent_at_start = int(c["rent_yen"] + c["management_fee_yen"] + c["common_fee_yen"])
    u = rng.random()
    month = min(s0 + 1 + math.floor(math.log(1 - u * (1 - q ** (T - s0))) / math.log(q)), T)
    state, months_subrogated, arrears = "dunning", 0, 0
    while month <= T:
        if state != "installment" and months_subrogated < plan.coverage_months:
            flows[line["subrogation"], month] += total
            arrears += total
            months_subrogated += 1
        cumulative = np.cumsum(chain.matrix[STATES.index(state)])
        cumulative[-1] = 1.0
        u = rng.random()
        j = int(np.searchsorted(cumulative, u, side="right"))
        nxt = STATES[j]
        month += 1
        if nxt == state:
            continue
        if month > T:
            break
        state = nxt
        if state == "suit":
            flows[line["costs"], month] += model.suit_cost_yen
        if state in TRANSIENT_STATES:
            continue
        if state == "forced_execution":
            flows[line["costs"], month] += model.execution_cost_yen + model.removal_cost_yen + model.restoration_cost_yen
        if state in ("cure", "installment_paid"):
            flows[line["recoveries"], month] += arrears
            # performing again: the transition's uniform, rescaled within the cure's interval,
            # decides a missed rent (before a move-out) and the geometric gap to it
            lo = cumulative[j - 1] if j > 0 else 0.0
            w = (u - lo) / (cumulative[j] - lo)
            a = h / (1 - q)
            if w >= a:
                return  # moves out first
            gap = 1 + math.floor(math.log(1 - w / a) / math.log(q))
            if month + gap > T:
                return
            month += gap
            state, months_subrogated, arrears = "dunning", 0, 0
            continue
        assert state in TENANCY_ENDING_EXITS
        recovered = model.recovery_after_exit(arrears, z)
        recovery_month, payout_month = month + model.recovery_delay_months, month + 1
        if c["insured"] and jhf.insured_event(subrogated_yen=arrears, contract_ended=True):
            if payout_month <= T:
                flows[line["jhf_payout"], payout_month] += jhf.payout(subrogated_rent=arrears, rent_at_start=rent_at_start)
            if payout_month <= recovery_month <= T:
                flows[line["jhf_remittance"], recovery_month] += jhf.remittance(recovered_after_payout=recovered)
        if recovery_month <= T:
            flows[line["recoveries"], recovery_month] += recovered
        return
