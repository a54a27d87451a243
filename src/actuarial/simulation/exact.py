"""Expected cash flows of the rent model without simulation: the Monte Carlo's oracle.

Defined as ``E[CF_t] = int sum_i sum_t0 P(first missed rent of i in t0 | z) E[CF_t | t0, z] phi(z) dz``.
Given ``z`` the collection path is a Markov chain on (state, months subrogated), so
``E[CF | t0, z]`` is a forward propagation of that chain; the integral over ``z`` is
Gauss-Legendre on ``[-8, 0]`` and ``[0, 8]`` (split at the kink of the good-exit multiplier).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..collection import (
    NO_COST,
    ROLE_PAYMENT_EXIT,
    ROLE_TENANCY_ENDING_EXIT,
    TRANSIENT_STATES,
    state_codes,
)
from ..normal import norm
from ..products.common import is_real, rate_fraction, require_frame
from .exact_mortgage import (  # noqa: F401  (the mortgage oracle, re-exported where the rent one is)
    expected_mortgage_cash_flows,
    expected_mortgage_cash_flows_by_loan,
)
from .rent import LINES, RentModel, factor_nodes, prepare_book, renewal_density

_K = len(TRANSIENT_STATES)


def owed_after_month(w: np.ndarray, subrogates: bool, repaid_to: np.ndarray) -> np.ndarray:
    """The distribution over months owed ``k`` after a month in a collection state, from ``w``
    before it: a month that subrogates adds one (the cover, the last ``k``, holds); a month of
    an installment plan moves ``k`` to ``repaid_to[k]``. Shared with
    :func:`actuarial.calibration.late_by_month`.

    >>> owed_after_month(np.array([0.5, 0.5, 0.0]), True, None).tolist()
    [0.0, 0.5, 0.5]
    """
    after = np.zeros_like(w)
    if subrogates:
        after[..., 1:] += w[..., :-1]
        after[..., -1] += w[..., -1]
    else:
        np.add.at(after.T, repaid_to, w.T)  # along the last axis: a batch of distributions too
    return after


def _chain_months(model: RentModel, z: float, cap: int, start: tuple[int, int] = (0, 0), subrogate: bool = True,
                  ruled_first: bool = True):
    """The collection chain given the factor, propagated forward on (state, months owed ``k``)
    from ``start`` (dunning with nothing owed, or a contract's state and months owed on the
    valuation date): yields ``(tau, s, w, moves)`` for each transient state ``s`` with mass in
    relative month ``tau = 0..T-1``, ``w`` its distribution over ``k`` before the month and
    ``moves`` its row of the stressed monthly matrix. A subrogating month adds one to ``k``
    (up to the cover ``cap``; nothing when not ``subrogate``: a receivable's run-off), a month
    of a plan repays ``min(k, installment_repayment_months)`` (:func:`owed_after_month`).
    Without ``ruled_first`` relative month 0 applies no month rule: a contract in force on
    the valuation date is in its state that month with its months owed already counted, and
    only moves (relative month 0 is the valuation month)."""
    p = model.chain.stressed(model.good_exit_multiplier(z)).matrix
    k = np.arange(cap + 1)
    repaid_to = k - np.minimum(k, model.installment_repayment_months)
    repays = state_codes().repays
    dist = np.zeros((_K, cap + 1))
    dist[start] = 1.0
    for tau in range(model.months):
        new = np.zeros_like(dist)
        for s in range(_K):
            w = dist[s]
            if not w.any():
                continue
            yield tau, s, w, p[s]
            ruled = (subrogate or repays[s]) and (tau > 0 or ruled_first)
            w_after = owed_after_month(w, not repays[s], repaid_to) if ruled else w
            for s2 in np.flatnonzero(p[s, :_K]):
                new[s2] += p[s, s2] * w_after
        dist = new


def _path_flows(model: RentModel, z: float, total: int, cap: int, insured: bool, jhf_rent: int,
                covered: int) -> np.ndarray:
    """Expected flows (subrogation, costs, recoveries, payout, remittance) by month after the
    first missed rent (relative month 0), for one contract, given the economic factor: the
    chain's distribution over (state, months owed ``k``) month by month
    (:func:`_chain_months`), with the amounts that depend on the arrears ``k x total`` as
    vectors over ``k``. Row 5: the probability of a cure (or a completed plan) that month.
    """
    T = model.months
    jhf = model.jhf
    share = rate_fraction(jhf.recovery_share)
    codes, entry_cost = state_codes(), model.entry_costs_yen(monthly_total_yen=total)
    delay = model.recovery_delay_months
    out = np.zeros((6, T + delay + 3))
    k = np.arange(cap + 1)
    # per k after this month's subrogation: arrears, recovery after exit, payout, remittance
    arrears_pay = np.minimum(k + 1, cap) * total          # states that subrogate this month
    repaid = np.minimum(k, model.installment_repayment_months)  # installment: repays, no new subrogation
    arrears_stay = (k - repaid) * total

    def exit_amounts(arrears):
        rec = np.array([model.recovery_after_exit(int(a), z) for a in arrears], dtype=float)
        if insured:  # on the covered part of the months owed: arrears / total months of ``covered``
            covered_owed = arrears // max(total, 1) * covered
            pay = jhf.payout(subrogated_rent=covered_owed, rent_at_start=np.full(len(arrears), jhf_rent))
            pay = np.where(arrears > 0, pay, 0).astype(float)
            rem = np.where(arrears > 0, rec.astype(np.int64) * share.numerator // share.denominator, 0).astype(float)
            pay, rem = (1.0 - model.jhf_refused_share) * pay, (1.0 - model.jhf_refused_share) * rem
        else:
            pay = rem = np.zeros(len(arrears))
        return rec, pay, rem

    amounts = {True: exit_amounts(arrears_pay), False: exit_amounts(arrears_stay)}
    for tau, s, w, moves in _chain_months(model, z, cap):
        pays = not codes.repays[s]
        if pays:
            out[0, tau] += (w[:cap] * total).sum()
            arrears = arrears_pay   # w is indexed by k before the month, the amounts by k after
        else:
            out[2, tau] += (w * repaid).sum() * total
            arrears = arrears_stay
        rec, pay, rem = amounts[pays]
        for s2 in np.flatnonzero(moves):
            prob = moves[s2]
            if s2 < _K:
                if entry_cost[s2] and s != s2:  # entered next month
                    out[1, tau + 1] += prob * w.sum() * entry_cost[s2]
                continue
            mass = prob * w
            if entry_cost[s2]:
                out[1, tau + 1] += mass.sum() * entry_cost[s2]
            if codes.role[s2] == ROLE_PAYMENT_EXIT:
                out[2, tau + 1] += mass @ arrears
                out[5, tau + 1] += mass.sum()
            elif codes.role[s2] == ROLE_TENANCY_ENDING_EXIT:
                out[2, tau + 1 + delay] += mass @ rec
                out[3, tau + 2] += mass @ pay
                if delay >= 1:
                    out[4, tau + 1 + delay] += mass @ rem
            else:
                raise ValueError(f"state {s2} has role code {codes.role[s2]}, which the exact oracle does not handle")
    return out


def _renewed(single: np.ndarray, h: float, q: float, T: int) -> np.ndarray:
    """Flows of a delinquency and of every later one after a cure, relative to the first.

    After a cure at relative month ``c`` the next missed rent falls ``j >= 1`` months later
    with probability ``q^(j-1) h``; so new episodes start at ``s`` with density
    ``r(s) = sum_c cure(c) q^(s-c-1) h`` and the flows solve the renewal equation
    ``R(t) = single(t) + sum_{s=1..t} r(s) R(t - s)``.
    """
    r = renewal_density(single[5, : T + 1], h, q)
    R = np.zeros((5, T + 1))
    for t in range(T + 1):
        R[:, t] = single[:5, t] + (R[:, t - np.arange(1, t + 1)] * r[1: t + 1]).sum(axis=1) if t else single[:5, 0]
    return R


def _chain_masses(model: RentModel, z: float, cap: int, start: tuple[int, int] = (0, 0),
                  subrogate: bool = True, ruled_first: bool = True) -> dict:
    """One forward propagation of the collection chain on (state, months owed ``k``) for
    contracts with ``cap`` months of cover, given the factor: the probability masses by
    relative month that every such contract's expected flows are linear in. :func:`_path_flows`
    propagates the same chain with one contract's amounts; :func:`expected_cash_flows` applies
    a whole group's summed amounts to these masses instead.

    Keys (arrays over relative month ``tau = 0..T-1`` unless said):

    - ``sub``: P(a subrogating month with ``k < cap``) (times the monthly total: subrogation);
    - ``repaid``: expected monthly totals a plan's month repays (times the total: recoveries);
    - ``cured``: expected months owed recovered at a cure or completed plan in ``tau + 1``;
    - ``entry``: by entry-cost code (:func:`~actuarial.collection.state_codes`), P(entering a
      state that costs it) in ``tau + 1``;
    - ``cure``: P(a cure or completed plan) in ``tau + 1``;
    - ``ending_pays``, ``ending_stays``: ``T x (cap + 1)``, the mass leaving for a
      tenancy-ending exit in ``tau + 1`` by ``k`` before the month, from a subrogating state
      and from a plan's month;
    - ``owed_pays``, ``owed_stays``: by ``k``, the monthly totals then owed at such an exit
      (``min(k + 1, cap)`` and ``k - repaid``; ``k`` and ``k - repaid`` without ``subrogate``);
    - ``plan_k``, ``cure_pays``, ``cure_stays``: ``T x (cap + 1)``, by ``k`` before the month,
      the mass in a plan's month, and the mass leaving for a payment exit from a subrogating
      state and from a plan's month (what a receivable's run-off reads);
    - ``ending_none``, ``cure_none`` and ``owed_none`` (``k``): the same for a month without
      a month rule (relative month 0 without ``ruled_first``).

    ``start``, ``subrogate`` and ``ruled_first`` as :func:`_chain_months`.
    """
    p = model.chain.stressed(model.good_exit_multiplier(z)).matrix
    key = np.ascontiguousarray(p, dtype=np.float64).tobytes()
    return start_masses(_propagation_kept(key, p.shape, model.months, model.installment_repayment_months, cap,
                                          (int(start[0]), int(start[1])), subrogate, ruled_first), 0)


@functools.lru_cache(maxsize=512)
def _propagation_kept(matrix: bytes, shape: tuple, months: int, repayment_months: int, cap: int, start: tuple,
                      subrogate: bool, ruled_first: bool) -> dict:
    """:func:`_propagate` of one start, kept for later calls with the same inputs (a pricing
    grid values several rents on one chain; a valuation, its performing and collecting
    contracts on the same chain). Keyed by the stressed matrix's bytes and every other input,
    so an equal key is an equal result; the arrays are read-only, so no caller can change
    what another reads."""
    p = np.frombuffer(matrix, dtype=np.float64).reshape(shape)
    out = _propagate(p, months, repayment_months, cap, [start], subrogate, ruled_first)
    for v in (*out.values(), *out["entry"].values()):
        if isinstance(v, np.ndarray):
            v.flags.writeable = False
    return out


def start_masses(batch: dict, i: int) -> dict:
    """Start ``i``'s masses from :func:`chain_masses_batch`, as :func:`_chain_masses` gives them."""
    out = {key: (v if key.startswith("owed_") else v[i]) for key, v in batch.items() if key != "entry"}
    out["entry"] = {code: v[i] for code, v in batch["entry"].items()}
    return out


def chain_masses_batch(model: RentModel, z: float, cap: int, starts: list, subrogate: bool = True,
                       ruled_first: bool = True) -> dict:
    """:func:`_chain_masses` for every ``(state, k)`` of ``starts`` in one propagation: each
    mass gains a leading axis, one row a start (the ``owed_*`` vectors do not). The chain is
    linear, so the starts propagate side by side, and each month moves every state at once:
    one matrix product over states, with each state's month rule and exits read from
    :func:`~actuarial.collection.state_codes` (:func:`_chain_months` walks the same chain one
    state at a time)."""
    p = model.chain.stressed(model.good_exit_multiplier(z)).matrix
    return _propagate(p, model.months, model.installment_repayment_months, cap, starts, subrogate, ruled_first)


def _propagate(p: np.ndarray, T: int, repayment_months: int, cap: int, starts: list, subrogate: bool,
               ruled_first: bool) -> dict:
    """:func:`chain_masses_batch` given the stressed monthly matrix ``p``, the horizon ``T``
    and the months an installment plan's month repays."""
    k = np.arange(cap + 1)
    repaid = np.minimum(k, repayment_months)
    repaid_to = k - repaid
    owed_pays, owed_stays = (np.minimum(k + 1, cap) if subrogate else k), k - repaid
    codes = state_codes()
    exits = np.arange(_K, p.shape[1])
    unhandled = [s2 for s2 in exits if codes.role[s2] not in (ROLE_PAYMENT_EXIT, ROLE_TENANCY_ENDING_EXIT)
                 and p[:_K, s2].any()]
    if unhandled:
        raise ValueError(f"state {unhandled[0]} has role code {codes.role[unhandled[0]]}, which the exact oracle "
                         f"does not handle")
    to_payment = p[:_K, exits[codes.role[exits] == ROLE_PAYMENT_EXIT]].sum(axis=1)  # by state: P(a payment exit)
    to_ending = p[:_K, exits[codes.role[exits] == ROLE_TENANCY_ENDING_EXIT]].sum(axis=1)
    moves = p[:_K, :_K]
    n = len(starts)
    out = {name: np.zeros((n, T)) for name in ("sub", "repaid", "cured", "cure")}
    # by entry-cost code, the chance of entering a state that costs it, by state left: a
    # transient state's cost is due when entered from another state, an exit's always
    entering = {}
    for code in np.unique(codes.entry_cost[codes.entry_cost != NO_COST]):
        into = np.where(codes.entry_cost == code, p[:_K], 0.0)
        into[np.arange(_K), np.arange(_K)] = 0.0
        entering[code] = into.sum(axis=1)
    out["entry"] = {code: np.zeros((n, T)) for code in entering}
    for name in ("ending_pays", "ending_stays", "ending_none", "plan_k", "cure_pays", "cure_stays", "cure_none"):
        out[name] = np.zeros((n, T, cap + 1))
    out["owed_pays"], out["owed_stays"], out["owed_none"] = owed_pays, owed_stays, k
    pays = ~codes.repays[:_K]
    ruled = subrogate | codes.repays[:_K]  # a state whose month changes the months owed
    kinds = (("pays", pays), ("stays", ~pays))
    dist = np.zeros((n, _K, cap + 1))
    for i, (s0, k0) in enumerate(starts):
        dist[i, s0, k0] = 1.0
    for tau in range(T):
        occupied = dist.sum(axis=2)  # (start, state)
        for code, chance in entering.items():
            out["entry"][code][:, tau] += occupied @ chance
        first_unruled = tau == 0 and not ruled_first
        for kind, states in ((("none", np.ones(_K, bool)),) if first_unruled else kinds):
            w = dist[:, states]
            paid_off = np.einsum("nsk,s->nk", w, to_payment[states])
            out["cured"][:, tau] += paid_off @ out[f"owed_{kind}"]
            out["cure"][:, tau] += paid_off.sum(axis=1)
            out[f"cure_{kind}"][:, tau] += paid_off
            out[f"ending_{kind}"][:, tau] += np.einsum("nsk,s->nk", w, to_ending[states])
            if kind == "pays" and subrogate:
                out["sub"][:, tau] += w[:, :, :cap].sum(axis=(1, 2))
            elif kind == "stays":
                in_plan = w.sum(axis=1)
                out["repaid"][:, tau] += in_plan @ repaid
                out["plan_k"][:, tau] += in_plan
        after = dist.copy()
        if not first_unruled:
            for subrogates, states in ((True, ruled & pays), (False, ruled & ~pays)):
                after[:, states] = owed_after_month(dist[:, states], subrogates, repaid_to)
        dist = np.einsum("nsk,st->ntk", after, moves)
    return out


def _exit_amounts(model: RentModel, z: float, owed_months: np.ndarray, totals: np.ndarray, insured: np.ndarray,
                  jhf_rents: np.ndarray, covered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For contracts ``i`` (arrays) leaving for a tenancy-ending exit with ``owed_months[k]``
    monthly totals owed: the recovery after exit (:meth:`RentModel.recovery_after_exit`), the
    JHF payout (:meth:`JHFTerms.payout` on the covered part, ``owed_months x covered``, if
    insured and anything is owed) and the remittance (the recovery's ``recovery_share``,
    truncated), yen, each ``len(totals) x len(owed_months)``; the last two in expectation
    over JHF's refusals, times ``1 - jhf_refused_share``."""
    share = rate_fraction(model.jhf.recovery_share)
    arrears = owed_months[None, :] * totals[:, None]
    rec = model.recovery_after_exit(arrears, z)
    claimed = insured[:, None] & (arrears > 0)
    pay = np.where(claimed, model.jhf.payout(subrogated_rent=owed_months[None, :] * covered[:, None],
                                             rent_at_start=jhf_rents[:, None]), 0)
    rem = np.where(claimed, rec * share.numerator // share.denominator, 0)
    paid = 1.0 - model.jhf_refused_share  # the claims JHF does not refuse
    return rec.astype(float), paid * pay, paid * rem


def _group_episode(model: RentModel, z: float, ms: dict, g: pd.DataFrame) -> np.ndarray:
    """The expected flows of one collection episode (subrogation, costs, recoveries, payout,
    remittance; row 5 the chance of a cure, per contract) by relative month, summed over the
    contracts of ``g`` (columns ``n``, ``total``, ``insured``, ``jhf_rent``, ``covered``),
    from the chain's masses ``ms`` (:func:`_chain_masses`): linear in them with each
    contract's monthly total, its rounded exit amounts and its entry costs."""
    T, delay = model.months, model.recovery_delay_months
    cost_terms = model.entry_cost_terms()
    n = g["n"].to_numpy(float)
    totals = g["total"].to_numpy(np.int64)
    insured = g["insured"].to_numpy(bool)
    jhf_rents = g["jhf_rent"].to_numpy(np.int64)
    covered = g["covered"].to_numpy(np.int64)
    single = np.zeros((6, T + delay + 3))
    yen = float(n @ totals)  # the group's monthly totals, summed
    single[0, :T] = yen * ms["sub"]
    single[1, 1:T + 1] = sum((n @ (cost_terms[code][0] + totals * cost_terms[code][1].numerator
                                  // cost_terms[code][1].denominator)) * mass
                             for code, mass in ms["entry"].items())
    single[2, :T] += yen * ms["repaid"]
    single[2, 1:T + 1] += yen * ms["cured"]
    single[5, 1:T + 1] = ms["cure"]  # per contract: the renewal's density
    for kind in ("pays", "stays", "none"):
        owed, ending = ms[f"owed_{kind}"], ms[f"ending_{kind}"]
        if not ending.any():
            continue
        rec, pay, rem = (n @ a for a in _exit_amounts(model, z, owed, totals, insured, jhf_rents, covered))
        single[2, 1 + delay:T + 1 + delay] += ending @ rec
        single[3, 2:T + 2] += ending @ pay
        if delay >= 1:
            single[4, 1 + delay:T + 1 + delay] += ending @ rem
    return single


def _renewal_function(r: np.ndarray) -> np.ndarray:
    """``G(0) = 1``, ``G(t) = sum_{s=1..t} r(s) G(t - s)``: the expected number of delinquency
    episodes starting ``t`` months after the first, given the renewal density ``r``
    (:func:`renewal_density`). The flows of all episodes are then ``G`` convolved with one
    episode's (the renewal equation of :func:`_renewed`).

    >>> _renewal_function(np.array([0.0, 0.5, 0.0])).tolist()
    [1.0, 0.5, 0.25]
    """
    G = np.zeros(len(r))
    G[0] = 1.0
    for t in range(1, len(r)):
        G[t] = r[1:t + 1] @ G[t - 1::-1]
    return G


def _causal(v: np.ndarray) -> np.ndarray:
    """The matrix ``M[j, u] = v[u - j]`` (0 for ``u < j``), so that ``x @ M`` is ``x`` convolved
    with ``v``, cut at ``len(v)``.

    >>> (np.array([1.0, 2.0, 0.0]) @ _causal(np.array([1.0, 10.0, 100.0]))).tolist()
    [1.0, 12.0, 120.0]
    """
    n = len(v)
    j, u = np.indices((n, n))
    return np.where(u >= j, v[np.clip(u - j, 0, n - 1)], 0.0)


def expected_cash_flows(portfolio: pd.DataFrame, model: RentModel, *, nodes: int = 24) -> pd.DataFrame:
    """Exact expected cash flow by month (rows ``0..T``) and line (columns :data:`LINES`), yen.

    Defined as in the module docstring. Given ``z``, a contract's flows are linear in the
    masses of one propagation of the chain (:func:`_chain_masses`, which depends only on the
    months of cover), with its monthly total, its rounded exit amounts and, for costs, one; the
    renewal of later delinquencies and the first missed rent's month are linear too. So the
    contracts of a (cover, grade, first month at risk) group share one propagation and one
    product with the renewal function (:func:`_renewal_function`, one per cover and grade) and
    the first missed rent's distribution, applied to their summed amounts: the cost grows
    with the number of groups, not of distinct contracts. The tests hold it equal to
    :func:`expected_cash_flows_by_contract`, the readable version one contract at a time.
    """
    book = prepare_book(portfolio, model)
    T = model.months
    zs, ws = factor_nodes(nodes)
    grade, offset = book.grade_and_offset()
    grades = np.array(list(model.delinquency_hazard), dtype=object)
    df = pd.DataFrame({"total": book.total, "cap": book.cap, "insured": book.insured, "jhf_rent": book.jhf_rent,
                       "covered": book.jhf_covered, "grade": grades[grade], "offset": offset})
    types = df.value_counts().reset_index(name="n")
    groups = list(types.groupby(["cap", "grade", "offset"], sort=True))
    flows = np.zeros((5, T + 1))
    t0 = np.arange(1, T + 1)
    for z, wz in zip(zs, ws, strict=True):
        masses, renewal = {}, {}
        for (cap, grade_name, off), g in groups:
            cap, off = int(cap), int(off)
            if cap not in masses:
                masses[cap] = _chain_masses(model, float(z), cap)
            ms = masses[cap]
            single = _group_episode(model, float(z), ms, g)
            h = model.hazard(model.delinquency_hazard[grade_name], float(z))
            q = (1 - h) * (1 - model.moveout_hazard)
            if (cap, grade_name) not in renewal:
                renewal[cap, grade_name] = _causal(_renewal_function(renewal_density(single[5, :T + 1], h, q)))
            first = np.zeros(T + 1)  # P(the first missed rent in month t)
            first[off + 1:] = q ** (t0[t0 > off] - off - 1) * h
            flows += wz * (single[:5, :T + 1] @ renewal[cap, grade_name] @ _causal(first))
    out = pd.DataFrame(0.0, index=pd.RangeIndex(T + 1, name="month"), columns=list(LINES))
    out["fees"] = book.fees
    out["jhf_premium"] = book.premium
    out[["subrogation", "costs", "recoveries", "jhf_payout", "jhf_remittance"]] = flows.T
    return out


def expected_cash_flows_by_contract(portfolio: pd.DataFrame, model: RentModel, *, nodes: int = 24) -> pd.DataFrame:
    """:func:`expected_cash_flows` the readable way: each distinct contract's own propagation
    (:func:`_path_flows`), renewal and convolution. Slow (a second or more per distinct
    contract); the tests hold the grouped version equal to it."""
    book = prepare_book(portfolio, model)
    T = model.months
    zs, ws = factor_nodes(nodes)
    grade, offset = book.grade_and_offset()
    df = pd.DataFrame({"total": book.total, "cap": book.cap, "insured": book.insured, "jhf_rent": book.jhf_rent,
                       "covered": book.jhf_covered,
                       "grade": np.array(list(model.delinquency_hazard), dtype=object)[grade], "offset": offset})
    types = df.value_counts().reset_index(name="n")
    flows = np.zeros((5, T + 1))
    t0 = np.arange(1, T + 1)
    for z, wz in zip(zs, ws, strict=True):
        for row in types.itertuples(index=False):
            h = model.hazard(model.delinquency_hazard[row.grade], float(z))
            q = (1 - h) * (1 - model.moveout_hazard)
            starts = t0[t0 > row.offset]
            p_t0 = q ** (starts - row.offset - 1) * h
            rel = _renewed(_path_flows(model, float(z), int(row.total), int(row.cap), bool(row.insured),
                                       int(row.jhf_rent), int(row.covered)), h, q, T)
            for t, pt in zip(starts, p_t0, strict=True):
                flows[:, t:] += (wz * row.n * pt) * rel[:, : T + 1 - t]
    out = pd.DataFrame(0.0, index=pd.RangeIndex(T + 1, name="month"), columns=list(LINES))
    out["fees"] = book.fees
    out["jhf_premium"] = book.premium
    out[["subrogation", "costs", "recoveries", "jhf_payout", "jhf_remittance"]] = flows.T
    return out


def delinquency_probability(model: RentModel, grade_hazard: float, z: float) -> float:
    """``P(a contract's first missed rent falls within the horizon | z)``.

    Defined as ``h(z) (1 - q^T) / (1 - q)`` with ``q = (1 - h(z))(1 - mu)``: the sum over
    ``t = 1..T`` of ``q^(t-1) h(z)``.
    """
    h = model.hazard(grade_hazard, z)
    q = (1 - h) * (1 - model.moveout_hazard)
    return h * (1 - q ** model.months) / (1 - q)


def finite_pool_distribution(model: RentModel, grade_hazard: float, n_contracts: int, *, nodes: int = 96) -> np.ndarray:
    """Exact distribution of the number of delinquent contracts in a homogeneous pool.

    Defined as ``P(D = k) = int C(N, k) p(z)^k (1 - p(z))^(N - k) phi(z) dz`` with ``p`` from
    :func:`delinquency_probability` (docs/model.md, "The oracles"); Gauss-Legendre on
    ``[-9, 9]``. Returns ``P(D = k)`` for ``k = 0..N``.
    """
    from scipy.stats import binom

    x, w = np.polynomial.legendre.leggauss(nodes)
    zs, ws = 9 * x, 9 * w * norm.pdf(9 * x)
    k = np.arange(n_contracts + 1)
    out = np.zeros(n_contracts + 1)
    for z, wz in zip(zs, ws, strict=True):
        out += wz * binom.pmf(k, n_contracts, delinquency_probability(model, grade_hazard, float(z)))
    return out / out.sum()


def vasicek_large_pool_quantile(pd_: float, rho: float, q: float) -> float:
    """Large-pool Vasicek loss-fraction quantile ``Phi((Phi^-1(PD) + sqrt(rho) Phi^-1(q)) / sqrt(1 - rho))``.

    >>> round(vasicek_large_pool_quantile(0.01, 0.15, 0.999), 4)
    0.1103
    """
    return float(norm.cdf((norm.ppf(pd_) + np.sqrt(rho) * norm.ppf(q)) / np.sqrt(1 - rho)))


def compare_with_exact(losses: pd.DataFrame, exact: pd.Series) -> pd.DataFrame:
    """Each line's Monte Carlo mean against its exact expectation: ``losses`` a simulation's
    per-scenario totals (``SimulationResult.losses``), ``exact`` :func:`expected_loss` of the
    same book and model. One row for each of ``exact``'s entries; columns ``monte_carlo``
    (the mean), ``standard_error`` (``sd / sqrt(S)``), ``exact`` and ``difference_in_se``,
    defined as ``(monte_carlo - exact) / standard_error`` (0 for a line that is the same in
    every scenario and equal to its expectation to 1e-9 relative, infinite if such a line
    differs from it).
    Beyond about 3 in absolute value, a difference points to a defect rather than chance.

    >>> losses = pd.DataFrame({"subrogation": [90.0, 110.0], "fees": [5.0, 5.0]})  # mean 100, se 10
    >>> compare_with_exact(losses, pd.Series({"subrogation": 95.0, "fees": 5.0}))["difference_in_se"].tolist()
    [0.5, 0.0]
    """
    if not isinstance(exact, pd.Series):
        raise ValueError(f"exact must be a pandas Series (expected_loss), got {type(exact).__name__}")
    require_frame(losses, tuple(exact.index), "losses", allow_empty=False, numeric=True)
    for key, value in exact.items():
        if not is_real(value):
            raise ValueError(f"exact: {key!r} must be a number, got {value!r}")
    x = losses[list(exact.index)].astype(float)
    mean = x.mean()
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else pd.Series(np.nan, index=x.columns)
    diff = mean - exact.astype(float)
    scale = np.maximum(np.maximum(mean.abs(), exact.astype(float).abs()), 1.0)
    constant = ~(se > 1e-9 * scale)  # the same in every scenario (up to the summation's rounding)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(constant, np.where(diff.abs() <= 1e-9 * scale, 0.0, np.inf), diff / se)
    return pd.DataFrame({"monte_carlo": mean, "standard_error": se, "exact": exact.astype(float),
                         "difference_in_se": z})


def expected_loss(portfolio: pd.DataFrame, model) -> pd.Series:
    """Exact expected totals of every line plus ``fees`` and ``net_loss``, as in
    :attr:`SimulationResult.losses` (rent or mortgage model), without simulation."""
    from .mortgage import MortgageModel, fee_income

    if isinstance(model, MortgageModel):
        s = expected_mortgage_cash_flows(portfolio, model).sum()
        s["fees"] = fee_income(s)
        s["net_loss"] = s["subrogation"] - s["recoveries"]
        return s
    s = expected_cash_flows(portfolio, model).sum()
    s["net_loss"] = (s["subrogation"] + s["costs"] - s["recoveries"] + s["jhf_premium"] - s["jhf_payout"]
                     + s["jhf_remittance"])
    return s
