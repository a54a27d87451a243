"""Pricing: break-even guarantee fees and the value of JHF insurance to the guarantor.

Both build on the engines: expected losses come from :func:`~actuarial.simulation.simulate`
(with their standard errors) or from the exact oracle, expected fee income from the fee
plans directly (it does not depend on the scenario).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .products.common import check_rate, check_yen, is_real
from .simulation import RentModel, simulate
from .simulation.exact import expected_cash_flows
from .simulation.rent import fee_survival, plan_fee_line, start_months

#: Fee components a break-even search can solve for, with the search's upper bound.
COMPONENTS = {"initial_rate": 1.0, "renewal_yen": 10_000_000, "monthly_rate": 1.0}


def expected_fee_income(book: pd.DataFrame, model: RentModel, plan_name: str, *, alive: dict | None = None,
                        **override) -> float:
    """Expected fee income over the horizon of the book's contracts on ``plan_name``, yen.

    ``override`` replaces plan fields (``initial_rate=0.6``). Defined as the sum over
    contracts of :func:`~actuarial.simulation.rent.plan_fee_line`, the engine's fee line,
    with the fees of tenancies ended by collection stopped by ``alive`` (grade -> survival,
    :func:`~actuarial.simulation.rent.fee_survival`; computed when not given).
    """
    if plan_name not in model.plans:
        raise ValueError(f"plan_name {plan_name!r} is not one of {', '.join(model.plans)}")
    plan = dataclasses.replace(model.plans[plan_name], **override)
    sel = (book["plan"] == plan_name).to_numpy()
    start = start_months(book, model.months)[sel]
    sub = book[sel]
    grade = sub["grade"].to_numpy()
    if alive is None:
        alive = fee_survival(model, sorted(set(grade)))
    totals = plan.monthly_total(rent_yen=sub["rent_yen"].to_numpy(),
                                management_fee_yen=sub["management_fee_yen"].to_numpy(),
                                common_fee_yen=sub["common_fee_yen"].to_numpy(),
                                parking_fee_yen=sub["parking_fee_yen"].to_numpy())
    return float(plan_fee_line(plan, totals, start, grade, model, alive).sum())


def break_even_fees(book: pd.DataFrame, model: RentModel, *, n_scenarios: int, seed: int,
                    target_loss_ratio: float | None = None, target_return_on_capital: float | None = None,
                    capital_level: float = 0.995) -> pd.DataFrame:
    """For each plan in the book and each fee component, the value that meets the target.

    Target (give exactly one):

    - ``target_loss_ratio``: expected fees ``F`` with ``EL / F = target``;
    - ``target_return_on_capital``: ``F = EL + r x (VaR_q - EL)``, capital being the loss at
      ``capital_level`` above the expected loss.

    ``EL`` is the plan's simulated expected net loss (JHF premium and payouts included) with
    its standard error. Two answers per plan:

    - ``fee_multiplier``: the factor on all of the plan's current fees that meets the target;
    - ``break_even``: for each component, the stand-alone value that meets the target when it
      is the only fee charged (the other components and the fixed and minimum fees set to
      0); NaN when it cannot within its search bound.
    """
    if (target_loss_ratio is None) == (target_return_on_capital is None):
        raise ValueError("give exactly one of target_loss_ratio and target_return_on_capital")
    if target_loss_ratio is not None and not (is_real(target_loss_ratio) and 0 < target_loss_ratio <= 10):
        raise ValueError(f"target_loss_ratio must be a number in (0, 10], got {target_loss_ratio!r}")
    if target_return_on_capital is not None and not (is_real(target_return_on_capital)
                                                     and 0 <= target_return_on_capital <= 10):
        raise ValueError(f"target_return_on_capital must be a number in [0, 10], got {target_return_on_capital!r}")
    check_rate("capital_level", capital_level)
    rows = []
    for plan_name in sorted(book["plan"].unique()):
        sub = book[book["plan"] == plan_name]
        losses = simulate(sub, model, n_scenarios, seed).losses["net_loss"].to_numpy()
        el, se = losses.mean(), losses.std(ddof=1) / np.sqrt(len(losses))
        if target_loss_ratio is not None:
            required = el / target_loss_ratio
        else:
            var = float(np.quantile(losses, capital_level, method="inverted_cdf"))
            required = el + target_return_on_capital * max(var - el, 0.0)
        plan = model.plans[plan_name]
        alive = fee_survival(model, sorted(set(sub["grade"])))
        current_fees = expected_fee_income(sub, model, plan_name, alive=alive)
        alone = {c: 0 if c.endswith("_yen") else 0.0 for c in COMPONENTS}
        alone.update(initial_min_yen=0, initial_fixed_yen=0, monthly_fixed_yen=0)
        for component, upper in COMPONENTS.items():
            current = getattr(plan, component)

            def gap(v, component=component, sub=sub, plan_name=plan_name, alive=alive, alone=alone, required=required):
                value = int(round(v)) if component.endswith("_yen") else round(v, 6)
                return expected_fee_income(sub, model, plan_name, alive=alive, **{**alone, component: value}) - required

            if gap(upper) < 0:
                solved = float("nan")
            else:
                solved = brentq(gap, 0.0, upper, xtol=1e-6 if component.endswith("rate") else 0.5)
                solved = round(solved) if component.endswith("_yen") else round(solved, 6)
            rows.append({"plan": plan_name, "contracts": len(sub), "expected_net_loss_yen": el,
                         "standard_error_yen": se,
                         "required_fees_yen": required, "current_fees_yen": current_fees,
                         "fee_multiplier": required / current_fees if current_fees > 0 else float("nan"),
                         "component": component, "current": current, "break_even": solved})
    return pd.DataFrame(rows)


def insured_event_probability(model: RentModel, *, delinquency_hazard: float, cure_multiplier: float,
                              nodes: int = 12) -> float:
    """Probability that a contract's tenancy ends in default (subrogation, then a tenancy-
    ending exit: the JHF insured event) within the horizon, exactly.

    Defined as ``int P_any(h(z)) x B_end(chain with good exits x cure_multiplier x m(z)) phi(z) dz``
    where ``P_any`` is the chance of a first missed rent within the horizon and ``B_end`` the
    absorption probability into settlement, judgment exit, forced execution or skip.
    """
    from .collection import FIRST_STATE, TENANCY_ENDING_EXITS
    from .simulation.exact import delinquency_probability

    x, w = np.polynomial.legendre.leggauss(nodes)
    total = 0.0
    for half in (-1, 1):
        zs = half * 4 + 4 * x
        for z, wz in zip(zs, 4 * w * np.exp(-zs**2 / 2) / np.sqrt(2 * np.pi), strict=True):
            chain = model.chain.stressed(cure_multiplier * model.good_exit_multiplier(float(z)))
            b_end = chain.absorption_probabilities().loc[FIRST_STATE, list(TENANCY_ENDING_EXITS)].sum()
            total += wz * delinquency_probability(model, delinquency_hazard, float(z)) * b_end
    return float(total)


def jhf_value_grid(model: RentModel, *, rents_yen, default_rates, plan_name: str, delinquency_hazard: float = 0.02,
                   nodes: int = 12) -> pd.DataFrame:
    """Value of JHF insurance to the guarantor for one insured contract, exactly, by monthly
    rent and by default rate: the probability that the tenancy ends in default within the
    horizon (the insured event).

    Each default rate is reached by scaling the collection chain's cures (``cure_multiplier``,
    solved exactly) at the given monthly ``delinquency_hazard``; rates it cannot reach give
    NaN rows. Columns: premium, expected payout, expected remittance and
    ``net_value = payout - remittance - premium`` (yen over the horizon, undiscounted).
    """
    if plan_name not in model.plans:
        raise ValueError(f"plan_name {plan_name!r} is not one of {', '.join(model.plans)}")
    rents_yen = [int(r) for r in check_yen("rents_yen", list(rents_yen))]
    default_rates = [check_rate("default_rates", r) for r in default_rates]
    if not (0 < check_rate("delinquency_hazard", delinquency_hazard) < 1):
        raise ValueError(f"delinquency_hazard must be in (0, 1), got {delinquency_hazard!r}")
    base = dataclasses.replace(model, delinquency_hazard={"X": float(delinquency_hazard)})
    lo_rate = insured_event_probability(base, delinquency_hazard=delinquency_hazard, cure_multiplier=1.0, nodes=nodes)
    hi_rate = insured_event_probability(base, delinquency_hazard=delinquency_hazard, cure_multiplier=0.0, nodes=nodes)
    rows = []
    for rate in default_rates:
        if not lo_rate <= rate <= hi_rate:
            f = float("nan")
        else:
            f = brentq(lambda c, rate=rate: insured_event_probability(base, delinquency_hazard=delinquency_hazard,
                                                                      cure_multiplier=c, nodes=nodes) - rate,
                       0.0, 1.0, xtol=1e-10)
        for rent in rents_yen:
            row = {"rent_yen": int(rent), "default_rate": float(rate), "cure_multiplier": f}
            if np.isnan(f):
                row.update(premium_yen=np.nan, expected_payout_yen=np.nan, expected_remittance_yen=np.nan,
                           net_value_yen=np.nan)
            else:
                m = dataclasses.replace(base, chain=base.chain.stressed(f))
                book = pd.DataFrame({"rent_yen": [int(rent)], "management_fee_yen": [0], "common_fee_yen": [0],
                                     "parking_fee_yen": [0], "plan": [plan_name], "grade": ["X"], "insured": [True]})
                e = expected_cash_flows(book, m, nodes=nodes).sum()
                row.update(premium_yen=e["jhf_premium"], expected_payout_yen=e["jhf_payout"],
                           expected_remittance_yen=e["jhf_remittance"],
                           net_value_yen=e["jhf_payout"] - e["jhf_remittance"] - e["jhf_premium"])
            rows.append(row)
    return pd.DataFrame(rows)


def lump_sum_installment_equivalence(model, *, principal_yen: int, annual_interest_rate: float, term_months: int,
                                     discount_annual_rate: float) -> dict:
    """Compare paying the guarantee fee as a lump sum or by installments, for one new loan.

    Expected cash flows come from the exact mortgage oracle (default, prepayment and refunds
    included); both are discounted at ``discount_annual_rate``. Returns the present values and
    the installment rate that would make the two equal:
    ``equivalent_installment_rate = installment_annual_rate x PV(lump - refunds) / PV(installments)``.
    """
    from .simulation.exact import expected_mortgage_cash_flows

    if not -0.5 < discount_annual_rate < 1:
        raise ValueError(f"discount_annual_rate must be in (-0.5, 1), got {discount_annual_rate!r}")
    loan = {"principal_yen": int(principal_yen), "annual_interest_rate": float(annual_interest_rate),
            "term_months": int(term_months), "age_months": 0, "collateral_value_yen": int(principal_yen), "grade": None}
    # to the term, and the refund lag after it: a prepayment in the last months is refunded after the term
    m = dataclasses.replace(model, months=int(term_months) + model.refund_lag_months)
    grade = next(iter(model.annual_default_rate))
    out = {}
    for fee_type in ("lump_sum", "installment"):
        book = pd.DataFrame([{**loan, "grade": grade, "fee_type": fee_type}])
        e = expected_mortgage_cash_flows(book, m, nodes=8)
        v = (1 + discount_annual_rate) ** (-e.index.to_numpy() / 12)
        out[fee_type] = ((e["fee_lump_sum"] + e["fee_installment"] - e["refunds"]) * v).sum()
        if fee_type == "lump_sum":
            out["lump_sum_fee_yen"] = float(e["fee_lump_sum"].iloc[0])
            out["expected_refunds_pv_yen"] = float((e["refunds"] * v).sum())
    return {
        "lump_sum_fee_yen": out["lump_sum_fee_yen"],
        "lump_sum_net_of_refunds_pv_yen": float(out["lump_sum"]),
        "expected_refunds_pv_yen": out["expected_refunds_pv_yen"],
        "installment_pv_yen": float(out["installment"]),
        "installment_annual_rate": model.installment_annual_rate,
        "equivalent_installment_rate": (model.installment_annual_rate * float(out["lump_sum"])
                                        / float(out["installment"])),
    }
