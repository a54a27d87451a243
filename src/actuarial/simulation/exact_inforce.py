"""Exact expectations for a rent book in force on a valuation date: the oracle of
:func:`~actuarial.simulation.rent.inforce.simulate_inforce`.

Performing contracts are :func:`~actuarial.simulation.exact.expected_cash_flows`. A contract
in collection starts the chain at its state and months owed in relative month 0, the
valuation month, whose month rule is already in its arrears, so it only moves then
(``ruled_first=False``): its own episode's flows come from one propagation from there
(:func:`~actuarial.simulation.exact._chain_masses` with ``start``), and after a cure every
later episode is an ordinary one, so its flows are the ordinary episode's with its renewals
(``single @ G``, :func:`~actuarial.simulation.exact._renewal_function`) started at the density
of the next missed rent after that cure. The receivable's run-off is a propagation from the
same start without subrogation: ``k`` only falls, by a plan's repayments, and what is left
of the receivable is ``max(arrears - (k0 - k) x total, 0)``. Integrated over the factor with
the rent oracle's Gauss-Legendre nodes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..products.common import rate_fraction
from .exact import (
    _causal,
    _chain_masses,
    _group_episode,
    _renewal_function,
    chain_masses_batch,
    expected_cash_flows,
    start_masses,
)
from .rent import LINES, RentModel, factor_nodes, renewal_density
from .rent.inforce import WALK_LINES, InforceBook, prepare_inforce


def _runoff_flows(model: RentModel, z: float, ms: dict, g: pd.DataFrame, k0: int) -> np.ndarray:
    """The run-off of the receivables of the contracts of ``g`` (columns ``n``, ``total``,
    ``insured``, ``jhf_rent``, ``covered``, ``arrears``), all with ``k0`` months owed, from
    the masses ``ms`` of a propagation without subrogation: recoveries, JHF payout and
    remittance by relative month, summed."""
    T, delay, R = model.months, model.recovery_delay_months, model.installment_repayment_months
    n, total = g["n"].to_numpy(float), g["total"].to_numpy(np.int64)
    insured, jhf_rent = g["insured"].to_numpy(bool), g["jhf_rent"].to_numpy(np.int64)
    covered, arrears = g["covered"].to_numpy(np.int64), g["arrears"].to_numpy(np.int64)
    cap = ms["plan_k"].shape[1] - 1
    k = np.arange(cap + 1)
    left = np.maximum(arrears[:, None] - (k0 - k[None, :]) * total[:, None], 0)  # contracts x k
    repaid_to = k - np.minimum(k, R)
    left_after_plan = left[:, repaid_to]
    share = rate_fraction(model.jhf.recovery_share)
    paid = 1.0 - model.jhf_refused_share

    def exit_amounts(owed):
        rec = model.recovery_after_exit(owed, z)
        claimed = insured[:, None] & (owed > 0)
        on_cover = owed * covered[:, None] // np.maximum(total, 1)[:, None]  # whole months: exactly their cover
        pay = np.where(claimed, model.jhf.payout(subrogated_rent=on_cover, rent_at_start=jhf_rent[:, None]), 0)
        rem = np.where(claimed, rec * share.numerator // share.denominator, 0) if delay >= 1 else 0 * rec
        return n @ rec, paid * (n @ pay), paid * (n @ rem)

    out = np.zeros((3, T + delay + 3))
    out[0, :T] += ms["plan_k"] @ (n @ (left - left_after_plan))
    out[0, 1:T + 1] += (ms["cure_pays"] + ms["cure_none"]) @ (n @ left) + ms["cure_stays"] @ (n @ left_after_plan)
    for owed, ending in ((left, ms["ending_pays"] + ms["ending_none"]), (left_after_plan, ms["ending_stays"])):
        rec, pay, rem = exit_amounts(owed)
        out[0, 1 + delay:T + 1 + delay] += ending @ rec
        out[1, 2:T + 2] += ending @ pay
        out[2, 1 + delay:T + 1 + delay] += ending @ rem
    return out


def expected_inforce_flows(portfolio: pd.DataFrame, model: RentModel, *, group_of=None, n_groups: int = 1,
                           nodes: int = 24) -> tuple[pd.DataFrame, np.ndarray]:
    """Exact expectations of a book in force: ``(flows, walked)``, the book's expected cash
    flows by month and line (as :func:`~actuarial.simulation.exact.expected_cash_flows`) and
    each group's expected walk lines by month, ``G x 8 x (T + 1)``
    (:data:`~actuarial.simulation.rent.inforce.WALK_LINES`; the performing contracts are not
    in them). Contracts in collection that share (cover, grade, state, months owed, group)
    share one propagation for each factor node."""
    inforce = prepare_inforce(portfolio, model, group_of=group_of, n_groups=n_groups)
    return expected_prepared(inforce, portfolio, model, nodes=nodes)


def expected_prepared(inforce: InforceBook, portfolio: pd.DataFrame, model: RentModel, *,
                      nodes: int = 24) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`expected_inforce_flows` of a book already laid out (``inforce``,
    :func:`~actuarial.simulation.rent.inforce.prepare_inforce`) from ``portfolio``."""
    T, n_groups = model.months, inforce.n_groups
    book = portfolio.reset_index(drop=True)
    rows = inforce.collecting_rows
    performing = np.ones(len(book), bool)
    performing[rows] = False
    flows = (expected_cash_flows(book[performing], model, nodes=nodes) if performing.any()
             else pd.DataFrame(0.0, index=pd.RangeIndex(T + 1, name="month"), columns=list(LINES)))
    walked = np.zeros((n_groups, len(WALK_LINES), T + 1))
    if len(rows) == 0:
        return flows, walked
    full, pick = inforce.full, inforce.pick  # the whole book's layout: totals, covers, JHF attachment
    grade_of, _ = full.grade_and_offset()
    grades = list(model.delinquency_hazard)
    df = pd.DataFrame({"cap": full.cap[pick], "grade": np.array(grades, dtype=object)[grade_of[pick]],
                       "state": inforce.collecting.state, "k0": inforce.collecting.owed_months,
                       "out": inforce.collecting.group, "total": full.total[pick], "insured": full.insured[pick],
                       "jhf_rent": full.jhf_rent[pick], "covered": full.jhf_covered[pick],
                       "arrears": inforce.collecting.arrears})
    types = df.value_counts().reset_index(name="n")
    zs, ws = factor_nodes(nodes)
    for z, wz in zip(zs, ws, strict=True):
        z = float(z)
        standard, renewal, started = {}, {}, {}
        for (cap, grade, state, k0, out), g in types.groupby(["cap", "grade", "state", "k0", "out"], sort=True):
            cap, state, k0, out = int(cap), int(state), int(k0), int(out)
            if cap not in standard:
                standard[cap] = _chain_masses(model, z, cap)
            h = model.hazard(model.delinquency_hazard[grade], z)
            q = (1 - h) * (1 - model.moveout_hazard)
            if (cap, grade) not in renewal:
                cure = np.concatenate([[0.0], standard[cap]["cure"]])  # a cure in relative month tau + 1
                renewal[cap, grade] = _causal(_renewal_function(renewal_density(cure, h, q)))
            if cap not in started:  # every start of this cover in one propagation, with and without subrogation
                starts = sorted(set(zip(types.loc[types["cap"] == cap, "state"].astype(int),
                                        types.loc[types["cap"] == cap, "k0"].astype(int), strict=True)))
                started[cap] = ({start: i for i, start in enumerate(starts)},
                                *(chain_masses_batch(model, z, cap, starts, subrogate, ruled_first=False)
                                  for subrogate in (True, False)))
            row, with_sub, without = started[cap]
            i = row[state, k0]
            own = _group_episode(model, z, start_masses(with_sub, i), g)
            later = _group_episode(model, z, standard[cap], g)[:5, :T + 1] @ renewal[cap, grade]
            episodes = own[:5, :T + 1] + later @ _causal(renewal_density(own[5, :T + 1], h, q))
            walked[out, :5] += wz * episodes  # relative month 0 is the valuation month
            runoff = _runoff_flows(model, z, start_masses(without, i), g, k0)
            walked[out, 5:] += wz * runoff[:, :T + 1]
    flows = flows.copy()
    flows["fees"], flows["jhf_premium"] = full.fees, full.premium  # contracts in collection keep paying fees
    for i, name in enumerate(WALK_LINES[:5]):
        flows[name] += walked[:, i].sum(axis=0)
    return flows, walked

