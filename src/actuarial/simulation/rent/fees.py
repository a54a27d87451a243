"""The expected-fee and survival mathematics the engines, the exact oracle, pricing and
calibration share (plain numpy, no numba): the factor quadrature (:func:`factor_nodes`), the
renewal of delinquencies after a cure (:func:`renewal_density`), the chance that collection
has not ended a tenancy (:func:`collection_survival`), and the expected fee lines."""

from __future__ import annotations

import functools

import numpy as np

from ...collection import ROLE_PAYMENT_EXIT, ROLE_TENANCY_ENDING_EXIT, TRANSIENT_STATES, CollectionChain, state_codes
from ...normal import norm
from ...products.common import check_count, check_rate
from ...products.rent_guarantee import FeePlan
from .model import RentModel


def factor_nodes(nodes: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """``(z, weight)`` for ``int f(z) phi(z) dz ~ sum weight f(z)``: Gauss-Legendre with
    ``nodes`` points on each of ``[-8, 0]`` and ``[0, 8]``, split at the kink of the good-exit
    multiplier."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    zs = np.concatenate([-4 + 4 * x, 4 + 4 * x])
    return zs, np.concatenate([4 * w, 4 * w]) * norm.pdf(zs)


def renewal_density(cure: np.ndarray, h: float, q: float) -> np.ndarray:
    """Density of a new missed rent ``s`` months after the first one, through a cure.

    Defined as ``r(s) = sum_{c < s} cure(c) q^(s-c-1) h`` for ``s = 0..len(cure)-1``, with
    ``cure(c)`` the probability of a cure (or a completed plan) ``c`` months after a missed
    rent: after it the tenant misses the next rent ``j >= 1`` months on with probability
    ``q^(j-1) h``. Shared with :func:`collection_survival`, the exact oracle
    (:mod:`.exact`) and :func:`actuarial.calibration.arrears_prevalence`.

    >>> renewal_density(np.array([0.0, 1.0, 0.0]), h=0.5, q=0.5).tolist()
    [0.0, 0.0, 0.5]
    """
    r = np.zeros(len(cure))
    for s in range(1, len(cure)):
        c = np.arange(0, s)
        r[s] = float((cure[c] * q ** (s - c - 1) * h).sum())
    return r


def collection_survival(model: RentModel, grade_hazard: float, *, nodes: int = 24) -> np.ndarray:
    """``alive[d]``, ``d = 0..T``: the probability that a contract of monthly delinquency
    hazard ``grade_hazard`` has not lost its tenancy to collection (settlement, judgment
    exit, forced execution or skip) before month ``first + d``, ``first`` its first month
    at risk; over the economy, as the kernel draws it.

    Defined as ``alive[d] = 1 - sum_{d' < d} G(d')``, ``G(d) = int sum_{j >= 1} q^(j-1) h(z)
    E_z(d - j) phi(z) dz``: the first missed rent falls ``j`` months after ``first``
    (``q = (1 - h(z))(1 - mu)``), and ``E_z(t) = sum_s st(s) e(t - s)`` is the density of a
    tenancy-ending exit ``t`` months after it through every later delinquency: ``e`` of one
    delinquency from dunning in the chain stressed by ``m(z)``, ``st = delta_0 + r * st`` the
    density of the later ones (``r``: :func:`renewal_density` of the cures). Integrated by
    :func:`factor_nodes`.

    >>> chain = CollectionChain.from_transitions({"dunning": {"skip": 1.0}})
    >>> m = RentModel(chain=chain, plans={}, delinquency_hazard={"A": 0.1}, moveout_hazard=0.0, rho=0.0, months=4)
    >>> [round(float(a), 6) for a in collection_survival(m, 0.1)]  # a skip the month after each first missed rent
    [1.0, 1.0, 1.0, 0.9, 0.81]
    """
    if check_rate("grade_hazard", grade_hazard) in (0.0, 1.0):
        raise ValueError(f"grade_hazard must be strictly between 0 and 1, got {grade_hazard!r}")
    check_count("nodes", nodes, minimum=1)
    matrix = model.chain.matrix
    return _collection_survival(matrix.tobytes(), matrix.shape, float(grade_hazard), float(model.moveout_hazard),
                                float(model.rho), float(model.good_exit_sensitivity), model.months, nodes).copy()


@functools.lru_cache(maxsize=256)
def _collection_survival(matrix_bytes, shape, grade_hazard, mu, rho, beta, T, nodes) -> np.ndarray:
    """:func:`collection_survival` from hashable arguments, cached: every ``simulate`` of a
    model and the pricing searches ask for the same few curves."""
    model = RentModel(chain=CollectionChain(np.frombuffer(matrix_bytes).reshape(shape)), plans={},
                      delinquency_hazard={"_": grade_hazard}, moveout_hazard=mu, rho=rho, good_exit_sensitivity=beta,
                      months=T)
    K = len(TRANSIENT_STATES)
    codes = state_codes()
    good = np.flatnonzero(codes.role == ROLE_PAYMENT_EXIT)
    ending = np.flatnonzero(codes.role == ROLE_TENANCY_ENDING_EXIT)
    density = np.zeros(T + 1)
    for z, wz in zip(*factor_nodes(nodes), strict=True):
        p = model.chain.stressed(model.good_exit_multiplier(float(z))).matrix
        moves, to_good, to_end = p[:K, :K], p[:K, good].sum(axis=1), p[:K, ending].sum(axis=1)
        dist = np.zeros(K)
        dist[0] = 1.0
        cure, end = np.zeros(T + 1), np.zeros(T + 1)
        for tau in range(T):
            cure[tau + 1], end[tau + 1] = dist @ to_good, dist @ to_end
            dist = dist @ moves
        h = model.hazard(grade_hazard, float(z))
        q = (1 - h) * (1 - model.moveout_hazard)
        r = renewal_density(cure, h, q)
        starts = np.zeros(T + 1)
        starts[0] = 1.0
        for s in range(1, T + 1):
            starts[s] = starts[:s][::-1] @ r[1:s + 1]
        first_miss = np.concatenate([[0.0], q ** np.arange(T) * h])
        density += wz * np.convolve(first_miss, np.convolve(starts, end)[:T + 1])[:T + 1]
    alive = np.ones(T + 1)
    alive[1:] -= np.cumsum(density)[:-1]
    return alive


def expected_fee_line(plan: FeePlan, monthly_totals_yen, start_month: int, months: int,
                      moveout_hazard: float, alive=None) -> np.ndarray:
    """Expected fees by projection month ``0..months`` of contracts starting in ``start_month``.

    Defined as ``fee(age) x (1 - mu)^(t - first) x alive[t - first]`` summed over the
    contracts, for ``t >= first = max(start, 0)`` with ``age = t - start``; ``fee(age)`` is
    the plan's schedule (:meth:`~actuarial.products.rent_guarantee.FeePlan.fee_schedule`: the
    initial fee at age 0, renewals at multiples of the interval, the monthly fee every
    month); ``alive`` (:func:`collection_survival`, all ones when omitted) stops the fees of
    a tenancy that collection ended. Negative starts are contracts already in force.

    >>> from actuarial.products.rent_guarantee import FeePlan
    >>> p = FeePlan(name="y", initial_rate=0.5, renewal_yen=10_000)
    >>> expected_fee_line(p, [60_000], -11, 2, 0.0).tolist()
    [0.0, 10000.0, 0.0]
    """
    totals = np.atleast_1d(np.asarray(monthly_totals_yen, dtype=np.int64))
    first = max(start_month, 0)
    t = np.arange(first, months + 1)
    age = t - start_month
    per_month = float(plan.monthly_fee(monthly_total_yen=totals).sum()) + np.where(
        age == 0, float(plan.initial_fee(monthly_total_yen=totals).sum()), 0.0)
    if plan.renews:
        renewal = float(plan.renewal_fee(monthly_total_yen=totals).sum())
        per_month = per_month + np.where((age > 0) & (age % plan.renewal_interval_months == 0), renewal, 0.0)
    line = np.zeros(months + 1)
    line[first:] = per_month * (1 - moveout_hazard) ** (t - first)
    if alive is not None:
        alive = np.asarray(alive, dtype=float)
        if alive.ndim != 1 or len(alive) < months + 1 - first:
            raise ValueError(f"alive must hold at least {months + 1 - first} months "
                             f"(months at risk 0..{months - first}), "
                             f"got shape {alive.shape}")
        line[first:] *= alive[: months + 1 - first]
    return line


def fee_survival(model: RentModel, grades=None) -> dict:
    """:func:`collection_survival` of each grade (``grades``, all of the model's by default),
    the factor that stops the expected fees of tenancies ended by collection."""
    grades = list(model.delinquency_hazard if grades is None else grades)
    unknown = [g for g in grades if g not in model.delinquency_hazard]
    if unknown:
        raise ValueError(f"grade {unknown[0]!r} is not one of the model's: "
                         f"{', '.join(map(str, model.delinquency_hazard))}")
    return {g: collection_survival(model, model.delinquency_hazard[g]) for g in grades}


def plan_fee_line(plan: FeePlan, monthly_totals_yen, start_months_, grades, model: RentModel,
                  alive: dict) -> np.ndarray:
    """Expected fees by month ``0..T`` of contracts on ``plan``: :func:`expected_fee_line` of
    each (grade, start month) group, with that grade's ``alive`` curve
    (:func:`fee_survival`). The arrays give each contract's monthly total, start and grade."""
    totals, start, grade = np.asarray(monthly_totals_yen), np.asarray(start_months_), np.asarray(grades, dtype=object)
    missing = sorted(set(grade.tolist()) - set(alive))
    if missing:
        raise ValueError(f"alive has no survival curve for grade {missing[0]!r}; give fee_survival(model)")
    line = np.zeros(model.months + 1)
    for g, s0 in sorted(set(zip(grade.tolist(), start.tolist(), strict=True))):
        line += expected_fee_line(plan, totals[(start == s0) & (grade == g)], int(s0), model.months,
                                  model.moveout_hazard, alive[g])
    return line
