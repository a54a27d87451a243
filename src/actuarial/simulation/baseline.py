"""The rent model as a user would first write it: numpy, stepping month by month.

Every contract of the book is carried through every month of every scenario. Same model
as :mod:`.rent`, different random draws; it exists to measure the engine's speed-up
(``make bench``) and is tested to have the same expected cash flows.
"""

from __future__ import annotations

import math

import numpy as np

from ..collection import ROLE_PAYMENT_EXIT, ROLE_TENANCY_ENDING_EXIT, TRANSIENT_STATES, state_codes
from ..normal import norm
from .rent import LINES, RentModel, prepare_book

_K = len(TRANSIENT_STATES)
_PERFORMING, _GONE = -1, -2


def simulate_month_stepping(portfolio, model: RentModel, n_scenarios: int, seed: int) -> np.ndarray:
    """Cash flows ``S x L x (T+1)`` in yen, month by month over the whole book."""
    book = prepare_book(portfolio, model)
    T, jhf = model.months, model.jhf
    n = len(book.total)
    grade_of, offset = book.grade_and_offset()
    cap_yen = np.inf if jhf.cap_yen is None else jhf.cap_yen
    codes = state_codes()
    entry_cost = model.entry_costs_yen(monthly_total_yen=book.total)  # contracts x states
    out = np.zeros((n_scenarios, len(LINES), T + 1 + model.recovery_delay_months + 2))
    li = {name: i for i, name in enumerate(LINES)}
    for s in range(n_scenarios):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1], spawn_key=(s,)))
        z = rng.standard_normal()
        h = norm.cdf((norm.ppf(book.grade_hazard) - math.sqrt(model.rho) * z) / math.sqrt(1 - model.rho))[grade_of]
        cum = np.cumsum(model.chain.stressed(model.good_exit_multiplier(z)).matrix, axis=1)
        cum[:, -1] = 1.0
        state = np.full(n, _PERFORMING)
        resume = offset.copy()  # at risk from the month after this one
        months_sub = np.zeros(n, dtype=np.int64)
        arrears = np.zeros(n, dtype=np.int64)
        f = out[s]
        for t in range(1, T + 1):
            perf = (state == _PERFORMING) & (t > resume)
            u = rng.random(n)
            state[perf & (u < h)] = 0
            state[perf & (u >= h) & (rng.random(n) < model.moveout_hazard)] = _GONE
            active = (state >= 0) & (state < _K)
            plan = active & codes.repays[np.maximum(state, 0)]
            pays = active & ~plan & (months_sub < book.cap)
            f[li["subrogation"], t] += book.total[pays].sum()
            arrears[pays] += book.total[pays]
            months_sub[pays] += 1
            repaid = np.where(plan, np.minimum(months_sub, model.installment_repayment_months), 0)
            f[li["recoveries"], t] += (repaid * book.total).sum()
            arrears -= repaid * book.total
            months_sub -= repaid
            idx = np.flatnonzero(active)
            nxt = (rng.random(len(idx))[:, None] >= cum[state[idx]]).sum(axis=1)
            moved = nxt != state[idx]
            idx, nxt = idx[moved], nxt[moved]
            state[idx] = nxt
            e = t + 1
            f[li["costs"], e] += entry_cost[idx, nxt].sum()  # moved: each state entered costs its entry cost
            good = codes.role[nxt] == ROLE_PAYMENT_EXIT
            f[li["recoveries"], e] += arrears[idx[good]].sum()
            ending = codes.role[nxt] == ROLE_TENANCY_ENDING_EXIT
            ended = idx[ending]
            rec = np.floor(arrears[ended] * model.recovery_rate * model.good_exit_multiplier(z) + 1e-9)
            f[li["recoveries"], e + model.recovery_delay_months] += rec.sum()
            refused = rng.random(len(ended)) < model.jhf_refused_share  # JHF's exclusions
            ins = book.insured[ended] & (arrears[ended] > 0) & ~refused
            covered = months_sub[ended] * book.jhf_covered[ended]  # the months owed, without parking
            pay = np.minimum(np.minimum(np.floor(jhf.coverage_ratio * covered + 1e-9),
                                        np.floor(jhf.coverage_ratio * jhf.cap_months * book.jhf_rent[ended] + 1e-9)),
                             cap_yen)
            f[li["jhf_payout"], e + 1] += pay[ins].sum()
            if model.recovery_delay_months >= 1:
                f[li["jhf_remittance"], e + model.recovery_delay_months] += np.floor(
                    jhf.recovery_share * rec[ins] + 1e-9).sum()
            state[idx[ending]] = _GONE
            cured = idx[good]  # performing again, and at risk of the next missed rent from next month
            state[cured], months_sub[cured], arrears[cured], resume[cured] = _PERFORMING, 0, 0, e
        f[li["fees"], : T + 1] = book.fees
        f[li["jhf_premium"], : T + 1] = book.premium
    return out[:, :, : T + 1]


def simulate_mortgage_month_stepping(portfolio, model, n_scenarios: int, seed: int) -> np.ndarray:
    """The mortgage model month by month over every loan: ``S x L x (T+1)`` yen. Each month
    every loan alive draws whether it defaults, prepays in full, or (surviving the month)
    prepays the share ``s`` of its balance in part; ``k`` counts its partial prepayments. A
    default is subrogated ``subrogation_lag_months`` later."""
    from ..products.mortgage_fee import refund
    from .mortgage import MORTGAGE_LINES, prepare_mortgage_book

    book = prepare_mortgage_book(portfolio, model)
    if len(book.status.performing) < len(book.principal):
        raise ValueError("the month-stepping baseline runs books whose loans all perform; this one has delinquent or "
                         "subrogated loans")
    T = model.months
    n = len(book.principal)
    d0 = 1 - (1 - book.annual_pd[book.grade]) ** (1 / 12)
    rule = {"transfer_fee": model.transfer_fee_yen, "schedule": model.deduction_schedule}
    share, q = model.partial_prepayment_share, model.partial_prepayment_rate
    lag = model.subrogation_lag_months
    out = np.zeros((n_scenarios, len(MORTGAGE_LINES), T + 1 + lag + model.recovery_delay_months))
    cohorts = book.inst_factor.shape[0]
    for s in range(n_scenarios):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2], spawn_key=(s,)))
        z = rng.standard_normal()
        with np.errstate(divide="ignore"):
            d = np.where(d0 > 0, norm.cdf((norm.ppf(d0) - math.sqrt(model.rho) * z) / math.sqrt(1 - model.rho)), 0.0)
        sale = model.sale_factor(z)
        alive = np.ones(n, dtype=bool)
        k = np.zeros(n, dtype=np.int64)
        f = out[s]
        f[0, 0] = book.lump_fee_month0
        f[5, 0] = book.administration_fee_month0
        for t in range(1, T + 1):
            alive &= t <= book.life
            idx = np.flatnonzero(alive)
            u, v, w = rng.random(len(idx)), rng.random(len(idx)), rng.random(len(idx))
            a = book.age[idx] + t
            default = u < d[idx]
            prepay = ~default & (v < model.prepayment_hazard(a))
            partial = ~default & ~prepay & (w < q)
            dd = idx[default]
            bal = np.floor(book.principal[dd] * book.shapes[book.product[dd], book.age[dd] + t - 1]
                           * (1 - share) ** k[dd] + 1e-6)
            f[3, t + lag] += bal.sum()  # subrogated when the loan has missed K payments
            f[4, t + lag + model.recovery_delay_months] += np.minimum(bal, np.floor(book.collateral[dd] * sale
                                                                                   + 1e-6)).sum()
            for chosen, removes in ((idx[prepay & book.lump[idx]], False), (idx[partial & book.lump[idx]], True)):
                m = book.age[chosen] + t + 1
                per_yen = book.fee_base[chosen] * book.unearned[book.product[chosen],
                                                                np.minimum(m, book.unearned.shape[1] - 1)]
                fee = np.floor(per_yen * (1 - share) ** k[chosen] * (share if removes else 1) + 1e-6).astype(np.int64)
                f[2, t] += refund(unearned_fee=fee, months_elapsed=m, **rule).sum()
            alive[idx[default | prepay]] = False
            weight = book.principal[alive] * (1 - share) ** k[alive]
            f[1, t] += np.bincount(book.cohort[alive], weights=weight, minlength=cohorts) @ book.inst_factor[:, t]
            k[idx[partial]] += 1
        f[2] = model.refunds_paid(f[2])  # by the month paid
    return out[:, :, : T + 1]
