"""Rent-guarantee portfolio simulation.

Per scenario ``s`` (its own ``numpy.random.Generator``, keyed by ``(seed, s)``, so results do
not depend on how scenarios are split over threads or chunks):

1. an economic factor ``z ~ N(0, 1)``; each grade's monthly delinquency hazard becomes
   ``h(z) = Phi((Phi^-1(h) - sqrt(rho) z) / sqrt(1 - rho))`` (Vasicek), and the collection
   chain's good exits are scaled by ``exp(beta min(z, 0))`` (bad economies cure less);
2. a contract's first missed rent falls in month ``t`` with probability
   ``q^(t-1) h(z)``, ``q = (1 - h(z))(1 - mu)``, ``mu`` the move-out hazard: one uniform
   per contract decides whether it falls within the horizon and when (:func:`gap_tables`);
   only the contracts that miss a rent go further;
3. each of them follows the collection chain month by month from ``dunning``. While in a
   transient state other than ``installment`` the guarantor subrogates the monthly total
   while the arrears are below the plan's coverage months. Each month of an installment
   plan (分割) repays ``installment_repayment_months`` monthly totals of the arrears (fewer if
   less is owed; 0: none until the plan completes), which frees that much cover; a plan
   that breaks leaves the rest owed. Entering ``suit`` costs the suit cost; entering
   ``forced_execution`` the execution, removal and restoration costs. ``cure`` and
   ``installment_paid`` recover all the arrears still owed in the month they happen, after
   which the tenant pays again and may miss a rent again (next missed rent or move-out after a geometric
   number of months, a missed rent with probability ``h / (1 - q)``; both decided by the
   cure transition's own uniform, rescaled, so a quick cure costs one draw); a tenancy-ending exit
   recovers ``floor(recovery_rate x exp(beta min(z, 0)) x arrears)`` ``recovery_delay_months``
   later (bad economies recover less, by the same factor as the cures);
4. an insured contract whose tenancy ends after subrogation has the JHF insured event: the
   payout (the product calculator's formula on the subrogated rent) comes one month after
   the exit (the 30-day lag), and ``recovery_share`` of any recovery from then on is
   remitted.

A contract's optional ``start_month`` (0 when absent) places it in the projection: negative
for contracts already in force, positive for new business. It is at risk of a first missed
rent from month ``max(start_month, 0) + 1``; its JHF premium is paid in its start month when
that falls in the projection. Fees (initial fee at the start, renewals at anniversaries,
monthly fees) are their expectation: under the move-out hazard, and stopped once collection
has ended the tenancy (:func:`collection_survival`, exact over the economy). Only their
mean enters the metrics (loss ratio, expected profit), so they do not vary by scenario.

Limits, kept on purpose: cash flows after the horizon are not counted; a plan repays whole
monthly totals; the delinquency counts per scenario count the
contracts that became delinquent at all (first episodes).

Speed (``make bench``): the uniforms come from the scenario's bit generator (numpy's SFC64,
:func:`scenario_rng`), which the kernel steps itself from the generator's state
(:func:`stream_state`, :func:`_draw`; the same words as numpy's, tested), two 32-bit
uniforms a 64-bit word: first one per contract for its first missed rent, then one per
month in collection, contract after contract. The kernel reads the commonest draws (a first
missed rent, a month in dunning, a move from another state) from small tables indexed by a
uniform's top bits, built once per scenario from the outcomes' exact change points
(:func:`_outcome_table`); a bucket with one change is resolved by one integer comparison,
and only the rare bucket with more is worked out in floating point. The first missed rents
and the months in dunning that pay or stay run without branches on the outcome; in a good
economy (staying in dunning rarer than ``_CURED_LOOP_STAYS``), a month paid the next month
with nothing owed is one entry of a cured line, subrogated that month and recovered the next.
:mod:`.reference` walks the same streams without any of this, and tests require the two to
agree to the yen.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numba
import numpy as np
import pandas as pd
from llvmlite import ir
from numba.extending import intrinsic
from scipy.stats import norm

from ..collection import (
    GOOD_EXITS,
    STATES,
    TENANCY_ENDING_EXITS,
    TRANSIENT_STATES,
    CollectionChain,
)
from ..products.common import (
    check_count,
    check_rate,
    check_yen,
    first_row,
    rate_fraction,
    require_frame,
    require_whole,
)
from ..products.jhf_insurance import ELIGIBILITY_COLUMNS, JHFTerms
from ..products.rent_guarantee import FeePlan
from ..risk import DEFAULT_LEVELS, metric_errors, metrics
from .distributed import check_run_arguments, progress_bar, run_scenarios

#: Cash-flow lines of the S x (T+1) output, all as positive amounts of yen.
LINES = ("fees", "subrogation", "costs", "recoveries", "jhf_premium", "jhf_payout", "jhf_remittance")
_SIGN = np.array([1, -1, -1, 1, -1, 1, -1])
PORTFOLIO_COLUMNS = ("rent_yen", "management_fee_yen", "common_fee_yen", "parking_fee_yen", "plan", "grade", "insured")

_S = {name: i for i, name in enumerate(STATES)}
_K = len(TRANSIENT_STATES)
_SUIT = _S["suit"]
_INSTALLMENT = _S["installment"]
_CURE = _S["cure"]
_INSTALLMENT_PAID = _S["installment_paid"]
_FORCED_EXECUTION = _S["forced_execution"]


@dataclasses.dataclass(frozen=True)
class RentModel:
    """Parameters of the rent-guarantee model (see the module docstring)."""

    chain: CollectionChain
    plans: dict
    delinquency_hazard: dict  # grade -> monthly hazard of a first missed rent
    moveout_hazard: float = 0.01
    rho: float = 0.1
    good_exit_sensitivity: float = 0.2
    recovery_rate: float = 0.2
    recovery_delay_months: int = 6
    installment_repayment_months: int = 0  # months' totals of arrears a plan repays each month
    suit_cost_yen: int = 0
    execution_cost_yen: int = 0
    removal_cost_yen: int = 0
    restoration_cost_yen: int = 0
    jhf: JHFTerms = JHFTerms()
    months: int = 60

    def __post_init__(self):
        for name in ("moveout_hazard", "rho", "recovery_rate"):
            check_rate(name, getattr(self, name))
        if not self.rho < 1:
            raise ValueError(f"rho must be below 1, got {self.rho!r}")
        if not self.delinquency_hazard:
            raise ValueError("delinquency_hazard needs at least one grade")
        for g, h in self.delinquency_hazard.items():
            if check_rate(f"delinquency_hazard[{g!r}]", h) in (0.0, 1.0):
                raise ValueError(f"delinquency_hazard[{g!r}] must be strictly between 0 and 1, got {h!r}")
        check_count("months", self.months, minimum=1)
        check_count("recovery_delay_months", self.recovery_delay_months)
        check_count("installment_repayment_months", self.installment_repayment_months)
        for name in ("suit_cost_yen", "execution_cost_yen", "removal_cost_yen", "restoration_cost_yen"):
            check_yen(name, getattr(self, name))
        if isinstance(self.good_exit_sensitivity, bool) or not isinstance(self.good_exit_sensitivity, (int, float)) \
                or self.good_exit_sensitivity < 0:
            raise ValueError(f"good_exit_sensitivity must be >= 0, got {self.good_exit_sensitivity!r}")
        for name, plan in self.plans.items():
            if not isinstance(plan, FeePlan):
                raise ValueError(f"plans[{name!r}] must be a FeePlan, got {type(plan).__name__}")

    @classmethod
    def from_params(cls, scenario) -> RentModel:
        """Build the model from a validated :class:`~actuarial.params.Scenario`."""
        if scenario.rent_model is None:
            raise ValueError(f"scenario {scenario.scenario.name!r} has no rent_model section")
        c = scenario.collection
        return cls(chain=c.chain(), plans=scenario.fee_plans(), jhf=scenario.jhf_terms(),
                   suit_cost_yen=c.suit_cost_yen, execution_cost_yen=c.execution_cost_yen,
                   removal_cost_yen=c.removal_cost_yen, restoration_cost_yen=c.restoration_cost_yen,
                   **scenario.rent_model.model_dump())

    # -- scenario-dependent pieces (shared with the exact oracle) --------------------------------
    def hazard(self, grade_hazard: float, z: float) -> float:
        """Vasicek conditional monthly hazard ``Phi((Phi^-1(h) - sqrt(rho) z) / sqrt(1 - rho))``."""
        return float(norm.cdf((norm.ppf(grade_hazard) - math.sqrt(self.rho) * z) / math.sqrt(1 - self.rho)))

    def good_exit_multiplier(self, z: float) -> float:
        """``exp(beta min(z, 0))``: 1 in good economies, lower in bad ones."""
        return math.exp(self.good_exit_sensitivity * min(z, 0.0))

    def recovery_after_exit(self, arrears_yen, z: float):
        """``floor(arrears x recovery_rate x exp(beta min(z, 0)))``, yen: an ``int`` for a
        scalar, an ``int64`` array for an array (the exact oracle's)."""
        rec = np.floor(np.asarray(arrears_yen) * self.recovery_rate * self.good_exit_multiplier(z) + 1e-9)
        return int(rec) if rec.ndim == 0 else rec.astype(np.int64)


@dataclasses.dataclass
class SimulationResult:
    """What :func:`simulate` returns.

    ``cash_flows`` is ``S x L x (T+1)`` yen by scenario, line (``lines``, :data:`LINES` for
    the rent book) and month;
    ``losses`` one row per scenario: the factor ``z``, the number of contracts that became
    delinquent, each line's total and ``net_loss``; ``delinquencies_by_grade`` the counts by
    grade; ``insurer_payouts`` the JHF payouts per scenario.
    """

    cash_flows: np.ndarray
    losses: pd.DataFrame
    seed: int
    delinquencies_by_grade: pd.DataFrame | None = None
    lines: tuple = LINES
    signs: np.ndarray = dataclasses.field(default_factory=lambda: _SIGN.copy())

    @property
    def insurer_payouts(self) -> np.ndarray:
        return self.losses["jhf_payout"].to_numpy()

    def net_cash_flow(self) -> np.ndarray:
        """``S x (T+1)``: the lines with their signs (money in +, out -); for the rent book
        fees - subrogation - costs + recoveries - premium + payout - remittance."""
        return np.einsum("slt,l->st", self.cash_flows, self.signs)

    def metrics(self, levels=DEFAULT_LEVELS) -> pd.Series:
        """EL, SD, VaR and TVaR of the net loss at each level, loss ratio and expected profit
        (:func:`actuarial.risk.metrics`)."""
        return metrics(self.losses["net_loss"].to_numpy(dtype=float), self.losses["fees"].to_numpy(dtype=float), levels)

    def metric_errors(self, levels=DEFAULT_LEVELS, confidence: float = 0.95) -> pd.DataFrame:
        """:meth:`metrics` with the Monte Carlo standard error and ``confidence`` interval of
        each (:func:`actuarial.risk.metric_errors`): how far the run's figures may be from
        those of unlimited scenarios. Needs at least 2 scenarios."""
        return metric_errors(self.losses["net_loss"].to_numpy(), self.losses["fees"].to_numpy(), levels, confidence)


# -- portfolio checks ---------------------------------------------------------------------------
def validate_portfolio(portfolio: pd.DataFrame, model: RentModel) -> None:
    """Raise ``ValueError`` naming the column and the first bad row.

    When the book carries the JHF eligibility columns, every insured contract must pass
    :meth:`~actuarial.products.jhf_insurance.JHFTerms.eligibility`.
    """
    require_frame(portfolio, PORTFOLIO_COLUMNS, "portfolio", allow_empty=False)
    for c in PORTFOLIO_COLUMNS[:4]:
        require_whole(portfolio, c, unit="whole yen")
        col = portfolio[c]
        bad = col.to_numpy() < 0
        if bad.any():
            row, i = first_row(portfolio, bad)
            raise ValueError(f"portfolio column {c!r} has a negative amount {int(col.iloc[i])} in row {row!r}")
    for c, known in (("plan", model.plans), ("grade", model.delinquency_hazard)):
        bad = ~portfolio[c].isin(list(known))
        if bad.any():
            row, i = first_row(portfolio, bad)
            raise ValueError(f"portfolio column {c!r} has unknown value {str(portfolio[c].iloc[i])!r} in row {row!r}; "
                             f"known: {', '.join(map(str, known))}")
    if portfolio["insured"].dtype != bool:
        raise ValueError(f"portfolio column 'insured' must be True/False, got dtype {portfolio['insured'].dtype}")
    if all(c in portfolio.columns for c in ELIGIBILITY_COLUMNS):
        insured = portfolio[portfolio["insured"].to_numpy()]
        check = model.jhf.eligibility(insured)
        if not check["eligible"].all():
            row, i = first_row(check, ~check["eligible"].to_numpy())
            raise ValueError(f"portfolio row {row!r} is insured but not eligible for JHF insurance "
                             f"(fails: {check['failed'].iloc[i]})")


@dataclasses.dataclass(frozen=True)
class _Book:
    """The portfolio as arrays the kernel reads, contracts sorted by (grade, first month at
    risk), stable, so each group is a contiguous run read in order."""

    total: np.ndarray         # monthly total (plan basis), int64
    jhf_rent: np.ndarray      # rent at start in the JHF sense, int64
    cap: np.ndarray           # coverage months, int64
    insured: np.ndarray       # bool
    group_start: np.ndarray   # offsets of the groups, one group per (grade, first month at risk)
    group_grade: np.ndarray   # grade index of each group
    group_offset: np.ndarray  # months before the first month at risk, max(start_month, 0)
    grade_hazard: np.ndarray
    fees: np.ndarray          # expected fee line, T + 1, float
    premium: np.ndarray       # JHF premiums by month, T + 1, float

    def grade_and_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """Each position's grade index and first-month offset (the arrays are in group order)."""
        sizes = np.diff(self.group_start)
        return np.repeat(self.group_grade, sizes), np.repeat(self.group_offset, sizes)


def start_months(portfolio: pd.DataFrame, months: int) -> np.ndarray:
    """The optional ``start_month`` column (0 when absent), checked: whole numbers below ``months``."""
    if "start_month" not in portfolio.columns:
        return np.zeros(len(portfolio), dtype=np.int64)
    require_whole(portfolio, "start_month", unit="whole months")
    col = portfolio["start_month"]
    bad = col.to_numpy() >= months
    if bad.any():
        row, i = first_row(portfolio, bad)
        raise ValueError(f"portfolio column 'start_month' must be below the horizon ({months}), "
                         f"got {int(col.iloc[i])} in row {row!r}")
    return col.to_numpy(np.int64)


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
    good = [_S["cure"], _S["installment_paid"]]
    ending = [_S[name] for name in TENANCY_ENDING_EXITS]
    density = np.zeros(T + 1)
    for z, wz in zip(*factor_nodes(nodes)):
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
            raise ValueError(f"alive must hold at least {months + 1 - first} months (months at risk 0..{months - first}), "
                             f"got shape {alive.shape}")
        line[first:] *= alive[: months + 1 - first]
    return line


def fee_survival(model: RentModel, grades=None) -> dict:
    """:func:`collection_survival` of each grade (``grades``, all of the model's by default),
    the factor that stops the expected fees of tenancies ended by collection."""
    grades = list(model.delinquency_hazard if grades is None else grades)
    unknown = [g for g in grades if g not in model.delinquency_hazard]
    if unknown:
        raise ValueError(f"grade {unknown[0]!r} is not one of the model's: {', '.join(map(str, model.delinquency_hazard))}")
    return {g: collection_survival(model, model.delinquency_hazard[g]) for g in grades}


def plan_fee_line(plan: FeePlan, monthly_totals_yen, start_months_, grades, model: RentModel, alive: dict) -> np.ndarray:
    """Expected fees by month ``0..T`` of contracts on ``plan``: :func:`expected_fee_line` of
    each (grade, start month) group, with that grade's ``alive`` curve
    (:func:`fee_survival`). The arrays give each contract's monthly total, start and grade."""
    totals, start, grade = np.asarray(monthly_totals_yen), np.asarray(start_months_), np.asarray(grades, dtype=object)
    missing = sorted(set(grade.tolist()) - set(alive))
    if missing:
        raise ValueError(f"alive has no survival curve for grade {missing[0]!r}; give fee_survival(model)")
    line = np.zeros(model.months + 1)
    for g, s0 in sorted(set(zip(grade.tolist(), start.tolist()))):
        line += expected_fee_line(plan, totals[(start == s0) & (grade == g)], int(s0), model.months,
                                  model.moveout_hazard, alive[g])
    return line


def _book(portfolio: pd.DataFrame, model: RentModel) -> _Book:
    validate_portfolio(portfolio, model)
    T = model.months
    start = start_months(portfolio, T)
    rent = portfolio["rent_yen"].to_numpy(np.int64)
    mgmt = portfolio["management_fee_yen"].to_numpy(np.int64)
    common = portfolio["common_fee_yen"].to_numpy(np.int64)
    parking = portfolio["parking_fee_yen"].to_numpy(np.int64)
    plans = portfolio["plan"].to_numpy()
    total = np.empty(len(portfolio), dtype=np.int64)
    cap = np.empty(len(portfolio), dtype=np.int64)
    grades = list(model.delinquency_hazard)
    gidx = pd.Index(grades).get_indexer(portfolio["grade"]).astype(np.int64)  # all known: validated
    grade = portfolio["grade"].to_numpy()
    alive = fee_survival(model, sorted(set(grade)))
    fees = np.zeros(T + 1)
    for name, plan in model.plans.items():
        sel = plans == name
        if not sel.any():
            continue
        total[sel] = plan.monthly_total(rent_yen=rent[sel], management_fee_yen=mgmt[sel], common_fee_yen=common[sel],
                                        parking_fee_yen=parking[sel])
        cap[sel] = plan.coverage_months
        fees += plan_fee_line(plan, total[sel], start[sel], grade[sel], model, alive)
    insured = portfolio["insured"].to_numpy(bool)
    jhf_rent = rent + mgmt + common
    premium = np.zeros(T + 1)
    attach = insured & (start >= 0)
    np.add.at(premium, start[attach], model.jhf.premium(rent=rent[attach], management_fee=mgmt[attach],
                                                        common_fee=common[attach]).astype(float))
    offset = np.maximum(start, 0)
    order = np.lexsort((offset, gidx)).astype(np.int64)  # stable: book order within a group
    keys = np.stack([gidx[order], offset[order]], axis=1)
    new = np.concatenate([[True], np.any(keys[1:] != keys[:-1], axis=1)]) if len(order) else np.array([], bool)
    first = np.flatnonzero(new)
    return _Book(total[order], jhf_rent[order], cap[order], insured[order],
                 np.append(first, len(order)).astype(np.int64),
                 gidx[order][first].astype(np.int64), offset[order][first].astype(np.int64),
                 np.array([model.delinquency_hazard[g] for g in grades], float), fees, premium)


def contract_records(total_yen: np.ndarray, cover_months: np.ndarray, insured: np.ndarray, jhf_rent_yen: np.ndarray,
                     jhf: JHFTerms) -> np.ndarray:
    """One ``int64`` record of 4 per contract, what the collection kernel reads of it: the
    monthly total in yen, the arrears covered in yen (the months covered times the total),
    the JHF payout limit that does not depend on the claim (the smaller of
    ``floor(coverage_ratio x cap_months x rent at start)`` and the yen cap, from
    :meth:`JHFTerms.payout_limits`; -1 when not insured), and the monthly total again if at
    least one month is covered, else 0 (what a month paid the next month adds to the
    kernel's cured line). Side by side, and 32 bytes so that no record straddles a cache
    line, they come into the cache together: a separate array for each was a cache miss at
    each exit (5% of the kernel's time at the base params).

    >>> contract_records(np.array([80_000]), np.array([24]), np.array([True]), np.array([75_000]), JHFTerms())
    array([[  80000, 1920000,  630000,   80000]])
    """
    columns = {"total_yen": total_yen, "cover_months": cover_months, "insured": insured, "jhf_rent_yen": jhf_rent_yen}
    lengths = {name: np.shape(v) for name, v in columns.items()}
    if len(set(lengths.values())) != 1 or len(lengths["total_yen"]) != 1:
        raise ValueError(f"contract_records needs four 1-d arrays of one length, got shapes {lengths}")
    limits = jhf.payout_limits(subrogated_rent=0, rent_at_start=np.asarray(jhf_rent_yen, dtype=np.int64))
    limit = np.asarray(limits["months"], dtype=np.int64)
    if "yen" in limits:
        limit = np.minimum(limit, limits["yen"])
    records = np.zeros((len(total_yen), 4), dtype=np.int64)
    records[:, 0] = total_yen
    records[:, 1] = np.asarray(total_yen, dtype=np.int64) * np.asarray(cover_months, dtype=np.int64)
    records[:, 2] = np.where(np.asarray(insured, dtype=bool), limit, -1)
    records[:, 3] = np.where(records[:, 1] > 0, records[:, 0], 0)
    return records


def transition_order(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each transient state, the states it can move to (itself included), most likely
    first: ``(order, n)``, ``order[i, :n[i]]`` state indices by descending base probability,
    ties by index. A month's uniform ``u`` picks the first of them whose cumulative
    probability exceeds ``u`` (the kernel reads most of those picks from tables)."""
    order = np.full((_K, matrix.shape[1]), -1, dtype=np.int64)
    n = np.zeros(_K, dtype=np.int64)
    for i in range(_K):
        reachable = [j for j in range(matrix.shape[1]) if matrix[i, j] > 0 or j == i]
        reachable.sort(key=lambda j: (-matrix[i, j], j))
        order[i, :len(reachable)] = reachable
        n[i] = len(reachable)
    return order, n


def chain_arrays(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(good, order, n)``: which states are good exits (scaled by the economy), and
    :func:`transition_order`."""
    good = np.zeros(len(STATES), dtype=np.bool_)
    for name in GOOD_EXITS:
        good[_S[name]] = True
    return (good, *transition_order(matrix))


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


# -- the kernel ------------------------------------------------------------------------------------
#: Uniforms are 32-bit, ``bits / 2^32``; their top ``_TOP_BITS`` bits index the outcome tables.
_TOP_BITS = 12
_TO_UNIT = 2.0 ** -32
#: Buckets of the guide table that starts each geometric-gap search (a power of two).
_GUIDE = 1024
#: An outcome-table entry whose bucket of uniforms holds more than one outcome.
_MIXED = -1
#: The kernel's own lines (not :data:`LINES`: no fees or premiums, which do not depend on the
#: scenario), month-major in one flat array: ``out[month * _OUT_LINES + line]``.
_OUT_LINES = 5
_SUBROGATED, _COSTS, _RECOVERED, _PAYOUT, _REMITTANCE = range(_OUT_LINES)
#: The kernel runs the cured-line loop (:func:`_collections`) in scenarios whose chance of
#: staying in dunning is below this: there it is 10-15% faster, but each stay leaves it at the
#: cost of a mispredicted branch, and by 5% stays the branch-free loop is as fast.
_CURED_LOOP_STAYS = 0.02


@numba.njit(nogil=True, cache=True)
def conditional_hazard(probit_h, z, sqrt_rho, sqrt_1mrho):
    """The Vasicek hazard given the factor, ``Phi((probit_h - sqrt(rho) z) / sqrt(1 - rho))``,
    as the kernel computes it (``Phi(x) = erfc(-x / sqrt 2) / 2``); the reference calls it too."""
    x = (probit_h - sqrt_rho * z) / sqrt_1mrho
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@numba.njit(nogil=True, cache=True)
def gap_tables(h: float, mu: float, months: int):
    """The draw tables of a grade in one scenario, shared by the kernel and the reference.

    Returns ``(inv_a, cdf, guide)``. With ``q = (1 - h)(1 - mu)`` a performing tenant misses
    a rent ``g`` months on with probability ``q^(g-1) h`` (``g >= 1``); ``a = h / (1 - q)``
    is the chance a missed rent comes before a move-out, and ``inv_a = 1 / a``. Given that it
    does, the gap is geometric: ``cdf[k] = 1 - q^(k+1)``, ``P(gap <= k+1)``, ``k < months``.
    A uniform ``u`` becomes ``x = u inv_a`` and the gap ``1 + searchsorted(cdf, x,
    side="right")`` (:func:`gap`): ``months + 1`` is no missed rent within the horizon
    (``x >= 1``: the tenant moves out first). ``guide[b]`` is that search's answer at
    ``x = b / _GUIDE``, a start that leaves about one comparison (Chen and Asau's indexed search).
    """
    q = (1.0 - h) * (1.0 - mu)
    inv_a = (1.0 - q) / h if h > 0.0 else math.inf
    cdf = np.empty(months)
    for k in range(months):
        cdf[k] = 1.0 - q ** (k + 1)
    guide = np.empty(_GUIDE, dtype=np.int32)
    k = 0
    for b in range(_GUIDE):
        while k < months - 1 and cdf[k] <= b / _GUIDE:
            k += 1
        guide[b] = k
    return inv_a, cdf, guide


@numba.njit(nogil=True, cache=True)
def gap(x, cdf, guide):
    """``1 + searchsorted(cdf, x, side="right")``: months to the next missed rent, ``len(cdf)
    + 1`` when there is none within ``len(cdf)`` months (NaN counts as none)."""
    n = cdf.shape[0]
    if not x < cdf[n - 1]:
        return n + 1
    k = guide[int(x * _GUIDE)]
    while x >= cdf[k]:
        k += 1
    return k + 1


def scenario_rng(seed: int, scenario: int) -> np.random.Generator:
    """The random stream of scenario ``scenario``: numpy's SFC64 bit generator seeded with
    ``SeedSequence(seed, spawn_key=(scenario,))``. SFC64 rather than numpy's default PCG64
    because the rent kernel steps the generator itself (:func:`_draw`), and SFC64's step is
    a few additions, shifts and a rotation; both pass the standard statistical batteries."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(scenario,))))


def stream_state(rng: np.random.Generator) -> np.ndarray:
    """Where the uniforms of a scenario start: the state of its SFC64 bit generator (after
    the factor ``z``), as the kernel's ``uint64[6]`` ``(a, b, c, counter, high half, has
    high half)``, with no half word pending."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "SFC64":
        raise ValueError(f"the rent kernel draws from an SFC64 stream, got {state['bit_generator']}")
    return np.concatenate([state["state"]["state"], np.zeros(2, np.uint64)]).astype(np.uint64)


@numba.njit(nogil=True, cache=True, inline="always")
def _sfc64(a, b, c, w):
    """One step of SFC64 (Doty-Humphrey's small fast chaotic generator) exactly as numpy's
    ``SFC64`` takes it: ``(word, a, b, c, w)`` with ``word = a + b + w`` (mod 2^64), then
    ``a = b ^ (b >> 11)``, ``b = c + (c << 3)``, ``c = rotl(c, 24) + word``, ``w = w + 1``."""
    word = a + b + w
    return (word, b ^ (b >> np.uint64(11)), c + (c << np.uint64(3)),
            ((c << np.uint64(24)) | (c >> np.uint64(40))) + word, w + np.uint64(1))


@numba.njit(nogil=True, cache=True, inline="always")
def _draw(rs):
    """The next 32-bit uniform (as an integer, the uniform is ``bits / 2^32``) of the stream
    ``rs`` (:func:`stream_state` as a tuple) and the stream after it: each 64-bit word gives
    two, its low half then its high half, the order of :class:`~.reference.Uniforms`."""
    a, b, c, w, half, has = rs
    if has:
        return np.int64(half), (a, b, c, w, half, False)
    word, a, b, c, w = _sfc64(a, b, c, w)
    return np.int64(word & np.uint64(0xFFFFFFFF)), (a, b, c, w, word >> np.uint64(32), True)


@numba.njit(nogil=True, cache=True, inline="always")
def _load_stream(st):
    return st[0], st[1], st[2], st[3], st[4], st[5] != 0


@numba.njit(nogil=True, cache=True, inline="always")
def _store_stream(st, rs):
    st[0], st[1], st[2], st[3], st[4] = rs[0], rs[1], rs[2], rs[3], rs[4]
    st[5] = np.uint64(1) if rs[5] else np.uint64(0)


@numba.njit(nogil=True, cache=True)
def stream_words(st, n):
    """The next ``n`` 64-bit words of the stream ``st`` (advancing it): what numpy's
    ``random_raw(n)`` gives from the same state, which a test checks."""
    rs = _load_stream(st)
    a, b, c, w = rs[0], rs[1], rs[2], rs[3]
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], a, b, c, w = _sfc64(a, b, c, w)
    _store_stream(st, (a, b, c, w, rs[4], rs[5]))
    return out


@numba.njit(nogil=True, cache=True, inline="always")
def _table_gap(x, first_table):
    """``gap(x inv_a)`` for ``x`` in ``[0, 1]`` (a uniform rescaled within its move's
    interval) as the first-missed-rent table (:func:`_outcome_table`) gives it: the gap
    where ``x``'s bucket holds one, ``_MIXED`` where the kernel must call :func:`gap`.

    Inlined helpers that take arrays hold no branch and no call: numba counts references
    to an inlined function's array arguments, and where a call follows a branch it keeps
    those atomic increments and decrements on every pass (6% of a scenario when the gap's
    fallback was inside this helper)."""
    # x >= 0, so converting to int64 truncates as to uint64, in one instruction instead of two
    return np.int64(first_table[np.uint64(min(np.int64(x * (1 << _TOP_BITS)), (1 << _TOP_BITS) - 1))])


@numba.njit(nogil=True, cache=True, inline="always")
def _rank(u, thr_row):
    """The rank of the move a uniform ``u`` draws: the first whose cumulative probability
    ``thr_row[r]`` exceeds it."""
    r = 0
    while u >= thr_row[r]:
        r += 1
    return r


@numba.njit(nogil=True, cache=True)
def dunning_outcome(u, thr0, dest0, paid0, inv_a, cdf, guide):
    """A month in dunning drawn ``u``: the move of rank ``r`` (the first whose cumulative
    probability ``thr0[r]`` exceeds ``u``). If it pays the arrears (``paid0[r]``), the gap to
    the next missed rent, from the same uniform rescaled within the move's interval,
    ``gap(((u - lo) / (hi - lo)) inv_a)``; 0 if it stays in dunning (``dest0[r] == 0``);
    otherwise ``-(r + 2)``."""
    r = _rank(u, thr0)
    if not paid0[r]:
        return 0 if dest0[r] == 0 else -(r + 2)
    lo = thr0[r - 1] if r > 0 else 0.0
    return gap(((u - lo) / (thr0[r] - lo)) * inv_a, cdf, guide)


@numba.njit(nogil=True, cache=True, inline="always")
def _scaled(bits, lo, hi, inv_a):
    """``((u - lo) / (hi - lo)) inv_a`` for ``u = bits 2^-32``: the argument of :func:`gap` in
    :func:`dunning_outcome`, the same operations in the same order."""
    return ((bits * _TO_UNIT - lo) / (hi - lo)) * inv_a


@numba.njit(nogil=True, cache=True)
def _crossing(target, first, last, lo, hi, inv_a):
    """The smallest ``bits`` in ``[first, last]`` with ``_scaled(bits) >= target``, given that
    ``last`` has it: estimated from the inverse of :func:`_scaled`, then found exactly by a
    bisection that starts in a few uniforms around the estimate when they bracket it."""
    c = math.ceil((lo + target / inv_a * (hi - lo)) * 2.0 ** 32) if inv_a > 0.0 else float(last)
    c = np.int64(min(max(c, float(first)), float(last)))
    a = max(first, c - 4)
    b = min(last, c + 4)
    if not (_scaled(b, lo, hi, inv_a) >= target and (a == first or _scaled(a - 1, lo, hi, inv_a) < target)):
        a, b = first, last
    while a < b:  # the answer is in [a, b]
        mid = (a + b) >> 1
        if _scaled(mid, lo, hi, inv_a) >= target:
            b = mid
        else:
            a = mid + 1
    return a


@numba.njit(nogil=True, cache=True)
def _outcome_table(thr_row, dest_row, paid_row, n_moves, inv_a, cdf, table, split):
    """Fill ``table`` and ``split`` for the draws of :func:`dunning_outcome` ``(bits 2^-32,
    thr_row, dest_row, paid_row, inv_a, cdf, ...)``: a month in dunning, or (one paying move,
    ``thr_row = [1]``) a gap to the next missed rent, as in :func:`_scan` and
    :func:`_table_gap`.

    The outcome is a step function of ``bits``: each move holds the uniforms from ``ceil(thr
    2^32)`` of the move before to its own, and within a paying move the gap grows with the
    uniform, changing where :func:`_scaled` first reaches ``cdf[g - 1]``
    (:func:`_crossing`, exact). With every change point ``c`` known (``bits`` up to ``2^32``,
    ``u = 1``, included), bucket ``b`` (uniforms ``[b, b + 1] 2^(32 - _TOP_BITS)``, both
    ends) is:

    - uniform when no change falls in it after its first uniform: ``table[b]`` is the outcome;
    - ``_MIXED`` otherwise. With one change, ``split[b] = (c, below, above)``
      (:func:`_split_outcome`); with more, ``split[b] = (0, _MIXED, _MIXED)`` and the kernel
      works the draw out exactly.
    """
    n = cdf.shape[0]
    full = np.int64(1) << 32
    points = np.empty(n_moves * (n + 2), dtype=np.int64)
    values = np.empty(n_moves * (n + 2), dtype=np.int64)
    count = 0
    first = np.int64(0)
    for r in range(n_moves):
        last = full if r == n_moves - 1 else np.int64(math.ceil(thr_row[r] * 2.0 ** 32)) - 1
        if last < first:
            continue  # a move of zero probability
        if paid_row[r]:
            lo = thr_row[r - 1] if r > 0 else 0.0
            hi = thr_row[r]
            x = _scaled(first, lo, hi, inv_a)
            g = 1
            while g <= n and x >= cdf[g - 1]:
                g += 1
            c = first
            while True:
                if count == 0 or values[count - 1] != g:
                    points[count], values[count] = c, g
                    count += 1
                if g > n or not _scaled(last, lo, hi, inv_a) >= cdf[g - 1]:
                    break
                c = _crossing(cdf[g - 1], c + 1, last, lo, hi, inv_a)
                x = _scaled(c, lo, hi, inv_a)
                while g <= n and x >= cdf[g - 1]:
                    g += 1
        else:
            v = 0 if dest_row[r] == 0 else -(r + 2)
            if count == 0 or values[count - 1] != v:
                points[count], values[count] = first, v
                count += 1
        first = last + 1
    width = np.int64(1) << (32 - _TOP_BITS)
    n_buckets = 1 << _TOP_BITS
    for p in range(count):  # the buckets that start in segment p: [points[p], points[p + 1])
        stop = (points[p + 1] + width - 1) // width if p + 1 < count else n_buckets
        for b in range((points[p] + width - 1) // width, min(stop, n_buckets)):
            table[b] = values[p]
    for p in range(1, count):  # change point c falls after the first uniform of one bucket only
        c = points[p]
        b = (c + width - 1) // width - 1
        if table[b] != _MIXED:  # the first (no outcome is _MIXED)
            table[b] = _MIXED
            split[b, 0], split[b, 1], split[b, 2] = c, values[p - 1], values[p]
        else:  # a second change in the bucket
            split[b, 0], split[b, 1], split[b, 2] = 0, _MIXED, _MIXED


@numba.njit(nogil=True, cache=True, inline="always")
def _split_outcome(split, bits):
    """The outcome of ``bits`` in its bucket ``b = bits >> (32 - _TOP_BITS)`` when that holds
    one change (:func:`_outcome_table`), read in place and without a branch on which side:
    ``below`` under ``c``, ``above`` from ``c`` on; ``_MIXED`` when the bucket holds more
    than one change."""
    b = np.uint64(bits >> (32 - _TOP_BITS))
    above = np.int64(bits >= split[b, 0])
    return split[b, 1] + above * (split[b, 2] - split[b, 1])


@numba.njit(nogil=True, cache=True)
def _next_tables(thr, dest, n_dest):
    """``table[i, b]``: the state that every uniform with top bits ``b`` moves transient state
    ``i`` to (the move of the first rank whose cumulative probability ``thr[i]`` exceeds the
    uniform, that is ``bits`` from ``ceil(thr[i, r - 1] 2^32)`` up to ``ceil(thr[i, r] 2^32)``),
    or ``_MIXED``. Filled move by move over the buckets that lie wholly inside the move."""
    width = np.int64(1) << (32 - _TOP_BITS)
    table = np.full((thr.shape[0], 1 << _TOP_BITS), _MIXED, dtype=np.int8)
    for i in range(thr.shape[0]):
        first = np.int64(0)
        for r in range(n_dest[i]):
            end = (np.int64(1) << 32) if r == n_dest[i] - 1 else np.int64(math.ceil(thr[i, r] * 2.0 ** 32))
            for b in range((first + width - 1) // width, end // width):
                table[i, b] = dest[i, r]
            first = max(first, end)
    return table


@numba.njit(nogil=True, cache=True)
def stressed_thresholds(base_p, good_mask, m, dest, n_dest):
    """Cumulative probabilities of each transient state's moves in its draw order
    (:func:`transition_order`), of the chain stressed as :meth:`CollectionChain.stressed`
    (the same sums in the same order: the good exits times ``m``, the difference to
    staying). The last is set to 1."""
    K = dest.shape[0]
    thr = np.empty(dest.shape)
    for i in range(K):
        old = 0.0
        new = 0.0
        for j in range(base_p.shape[1]):
            if good_mask[j]:
                old += base_p[i, j]
                new += base_p[i, j] * m
        acc = 0.0
        for r in range(n_dest[i]):
            j = dest[i, r]
            p = base_p[i, j]
            if good_mask[j]:
                p = p * m
            if j == i:
                p = p + (old - new)
            acc += p
            thr[i, r] = acc
        thr[i, n_dest[i] - 1] = 1.0
    return thr


@numba.njit(nogil=True, cache=True)
def _scenario_tables(z, sqrt_rho, sqrt_1mrho, probit_h, mu, beta, T, base_p, good_mask, dest, n_dest):
    """What a scenario's factor ``z`` fixes, for :func:`_scan` and :func:`_collections`: the
    good-exit multiplier ``m``, the stressed move thresholds and their tables, and each
    grade's gap tables."""
    K = dest.shape[0]
    m = math.exp(beta * min(z, 0.0))
    thr = stressed_thresholds(base_p, good_mask, m, dest, n_dest)
    paid0 = np.zeros(dest.shape[1], dtype=np.bool_)  # dunning's moves that pay the arrears
    for r in range(n_dest[0]):
        paid0[r] = dest[0, r] == _CURE or dest[0, r] == _INSTALLMENT_PAID
    n_grades = probit_h.shape[0]
    inv_a = np.empty(n_grades)
    cdfs = np.empty((n_grades, T))
    guides = np.empty((n_grades, _GUIDE), dtype=np.int32)
    first_tables = np.empty((n_grades, 1 << _TOP_BITS), dtype=np.int16)
    dunning_tables = np.empty((n_grades, 1 << _TOP_BITS), dtype=np.int16)
    first_splits = np.empty((n_grades, 1 << _TOP_BITS, 3), dtype=np.int64)
    dunning_splits = np.empty((n_grades, 1 << _TOP_BITS, 3), dtype=np.int64)
    one_move = (np.ones(1), np.full(1, _CURE), np.ones(1, dtype=np.bool_))  # a gap: one paying move
    for k in range(n_grades):
        inv_a[k], cdfs[k], guides[k] = gap_tables(conditional_hazard(probit_h[k], z, sqrt_rho, sqrt_1mrho), mu, T)
        _outcome_table(*one_move, 1, inv_a[k], cdfs[k], first_tables[k], first_splits[k])
        _outcome_table(thr[0], dest[0], paid0, n_dest[0], inv_a[k], cdfs[k], dunning_tables[k], dunning_splits[k])
    # each move's interval of uniforms, [edges[i, r], edges[i, r + 1]) for the move to
    # dest[i, r]; rank_of[i, j] is that r for the move from i to j
    edges = np.zeros((K, thr.shape[1] + 1))
    edges[:, 1:] = thr
    rank_of = np.zeros((K, base_p.shape[1]), dtype=np.int64)
    for i in range(K):
        for r in range(n_dest[i]):
            rank_of[i, dest[i, r]] = r
    return (m, thr, _next_tables(thr, dest, n_dest), paid0, inv_a, cdfs, guides, first_tables, dunning_tables, edges,
            rank_of, first_splits, dunning_splits)


@numba.njit(nogil=True, cache=True, inline="always")
def _grade_tables(tables, g):
    """What :func:`_scan` and :func:`_collections` read for grade ``g`` from
    :func:`_scenario_tables`: ``(first_table, first_split, dunning_table, dunning_split,
    inv_a, cdf, guide)``."""
    return tables[7][g], tables[11][g], tables[8][g], tables[12][g], tables[4][g], tables[5][g], tables[6][g]


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
def _scan(st, tables, T, start, group_grade, group_offset, listed, counts):
    """A scenario's first missed rents: uniform ``k`` of the stream ``st`` (:func:`_draw`) decides
    the ``k``-th contract's, in group order. The contracts that miss a rent within the horizon
    are listed in order, as pairs ``listed[2k] = `` that month, ``listed[2k + 1] = `` the
    index of their record, 4 times their position (the kernel then needs no multiplication);
    ``counts`` gets them by grade, so the list runs grade by grade in those numbers. Returns
    how many there are.

    Written without a branch on the outcome (each contract is written to the next slot, which
    only advances when it misses a rent): a third of contracts do not, at random, and a
    mispredicted branch costs more than the writes. Two contracts to a 64-bit word of the
    generator, its low half then its high half as :func:`_draw` gives them; the branch on a
    pending high half goes the same way on every pass but a group's first (0.17 -> 0.11 ms
    a scenario, against :func:`_draw`'s branch on every draw).
    """
    shift = np.uint64(32 - _TOP_BITS)
    k = np.uint64(0)
    sa, sb, sc, sw, half, has = _load_stream(st)
    for g in range(start.shape[0] - 1):
        grade = group_grade[g]
        s0 = group_offset[g]
        first_table, first_split, _, _, ia, cdf, guide = _grade_tables(tables, grade)
        i = start[g]
        stop = start[g + 1]
        k0 = k
        # The two halves' steps below are the same lines on purpose: as an inlined helper
        # (a branch and a call, like _table_gap's fallback) numba counts references to its
        # arrays on every contract, and the scan ran 2.2 times the instructions (session 10).
        while i < stop:
            if has:  # the high half of the last word: every pass but a group's first
                bits = np.int64(half)
                has = False
                tm = np.int64(first_table[np.uint64(bits) >> shift])
                if tm == _MIXED:
                    tm = _split_outcome(first_split, bits)
                    if tm == _MIXED:
                        tm = gap((bits * _TO_UNIT) * ia, cdf, guide)
                k = _list_contract(tm + s0, i, k, T, listed)
                i += 1
                if i == stop:
                    break
            word, sa, sb, sc, sw = _sfc64(sa, sb, sc, sw)
            bits = np.int64(word & np.uint64(0xFFFFFFFF))
            half = word >> np.uint64(32)
            has = True
            tm = np.int64(first_table[np.uint64(bits) >> shift])
            if tm == _MIXED:
                tm = _split_outcome(first_split, bits)
                if tm == _MIXED:
                    tm = gap((bits * _TO_UNIT) * ia, cdf, guide)
            k = _list_contract(tm + s0, i, k, T, listed)
            i += 1
        counts[grade] += np.int64(k - k0)
    _store_stream(st, (sa, sb, sc, sw, half, has))
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
    out[np.uint64(tm * _OUT_LINES + _SUBROGATED)] += sub
    owed += sub
    paid = o > 0
    out[np.uint64((tm + 1) * _OUT_LINES + _RECOVERED)] += owed if paid else 0
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
    """The generator's next 64-bit word (:func:`_sfc64`): its low half as a uniform's bits
    and that uniform's ``table`` entry, its high half, and the generator after it."""
    word, sa, sb, sc, sw = _sfc64(sa, sb, sc, sw)
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
def _collections(st, counts, listed, tables, T, dest, contract, cov_num, cov_den, share_num,
                 share_den, recovery_rate, delay, suit_cost, exec_cost,
                 repay, out):
    """The collection months of the contracts listed by :func:`_scan` (``counts`` of them by
    grade), drawing uniforms in order from the stream ``st`` (:func:`_draw`); adds to ``out``
    (flat, month-major: ``out[month * _OUT_LINES + line]`` for the lines subrogation, costs,
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
    another state follows the chain month by month (:func:`_next_tables`) until the tenant
    pays (a fresh episode in dunning at the next missed rent) or the path ends. Uniforms
    whose table bucket is ``_MIXED`` are worked out exactly (by the bucket's split when it
    has one), so the tables change the speed, never a result.

    In a scenario where staying in dunning is rarer than ``_CURED_LOOP_STAYS`` (a good
    economy), almost every month in dunning is paid the next month with nothing owed before
    it; such a month adds the contract's total to one cured line (:func:`_cured_month`),
    subrogated that month and recovered the next, and the loop that does only this is 10-15%
    faster. It leaves to the steps above, at the cost of a mispredicted branch, the months
    that stay (then the rest of that episode) and the moves to other states. Which loop runs
    never changes a result.
    """
    m, thr, nexts, paid0, edges, rank_of = tables[0], tables[1], tables[2].reshape(-1), tables[3], tables[9], tables[10]
    K = dest.shape[0]
    stay = rank_of[0, 0]
    cured_loop = edges[0, stay + 1] - edges[0, stay] < _CURED_LOOP_STAYS
    cured = np.zeros(T + 2, dtype=np.int64)
    thr0 = thr[0]
    dest0 = dest[0]
    shift = 32 - _TOP_BITS
    rs = _load_stream(st)
    k = 0
    end = 0
    for g in range(counts.shape[0]):
        end += 2 * counts[g]
        # one grade's run: its tables are fixed, so the next table entry never waits on the
        # contract's grade
        first_table, _, dunning_table, dunning_split, ia, cdf, guide = _grade_tables(tables, g)
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
                        bits, rs = _draw(rs)
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
            if o == _MIXED:
                o = _split_outcome(dunning_split, bits)
                if o == _MIXED:
                    o = dunning_outcome(bits * _TO_UNIT, thr0, dest0, paid0, ia, cdf, guide)
            if o >= 0:
                tm, owed = _pay_or_stay(o, tm, owed, tot, cover, out)
            else:  # the month in dunning, then another state from next month, month by month
                if owed < cover:
                    out[np.uint64(tm * _OUT_LINES + _SUBROGATED)] += tot
                    owed += tot
                repay_yen = repay * tot
                state = dest0[np.uint64(-o - 2)]
                prev = 0
                tm += 1
                while tm <= T and state < K:
                    # a month in a state of the process, written without a branch on whether it is
                    # subrogated (not in a plan, and still covered)
                    sub = np.int64(state != _INSTALLMENT) * np.int64(owed < cover) * tot
                    rep = np.int64(state == _INSTALLMENT) * min(owed, repay_yen)  # a plan's month repays
                    out[np.uint64(tm * _OUT_LINES + _SUBROGATED)] += sub
                    out[np.uint64(tm * _OUT_LINES + _RECOVERED)] += rep
                    owed += sub - rep  # the arrears owed are always whole monthly totals
                    if state == _SUIT and prev != _SUIT:  # entered this month
                        out[np.uint64(tm * _OUT_LINES + _COSTS)] += suit_cost
                    bits, rs = _draw(rs)
                    nxt = nexts[(np.uint64(state) << np.uint64(_TOP_BITS)) | np.uint64(bits >> shift)]
                    if nxt == _MIXED:
                        nxt = dest[state, _rank(bits * _TO_UNIT, thr[state])]
                    prev = state
                    state = nxt
                    tm += 1
                if tm <= T:  # the path left the process this month
                    if state == _FORCED_EXECUTION:
                        out[np.uint64(tm * _OUT_LINES + _COSTS)] += exec_cost
                    if state == _CURE or state == _INSTALLMENT_PAID:  # performing again
                        out[np.uint64(tm * _OUT_LINES + _RECOVERED)] += owed
                        # the month's uniform, rescaled within the chosen move's interval, is a
                        # fresh uniform: it decides a missed rent before a move-out, and when
                        r = rank_of[np.uint64(prev), np.uint64(state)]
                        lo = edges[np.uint64(prev), np.uint64(r)]
                        x = (bits * _TO_UNIT - lo) / (edges[np.uint64(prev), np.uint64(r + 1)] - lo)
                        months_to_next = _table_gap(x, first_table)
                        if months_to_next == _MIXED:
                            months_to_next = gap(x * ia, cdf, guide)
                        tm += months_to_next
                        owed = 0
                    else:
                        arrears = owed
                        rec = int(math.floor(arrears * recovery_rate * m + 1e-9))
                        rec_month = tm + delay
                        pay_month = tm + 1
                        if contract[i + np.uint64(2)] >= 0 and arrears > 0:  # insured
                            pay = min(arrears * cov_num // cov_den, contract[i + np.uint64(2)])
                            if pay_month <= T:
                                out[np.uint64(pay_month * _OUT_LINES + _PAYOUT)] += pay
                            if rec_month >= pay_month and rec_month <= T:
                                out[np.uint64(rec_month * _OUT_LINES + _REMITTANCE)] += rec * share_num // share_den
                        if rec_month <= T:
                            out[np.uint64(rec_month * _OUT_LINES + _RECOVERED)] += rec
                        tm = T + 1  # the tenancy ended
            if tm > T:  # the next contract
                k += 2
                if k >= end:
                    break
                tm = listed[np.uint64(k)]
                owed = 0
    for t in range(T + 1):  # the cured line: subrogated in its month, recovered the next
        out[t * _OUT_LINES + _SUBROGATED] += cured[t]
        out[(t + 1) * _OUT_LINES + _RECOVERED] += cured[t]
    _store_stream(st, rs)


@numba.njit(nogil=True, cache=True)
def _scenario(z, st, chain, start, group_grade, group_offset, listed, counts, out, flows, fees, premium, T, dest,
              contract, cov_num, cov_den, share_num, share_den, recovery_rate, delay, suit_cost, exec_cost, repay):
    """One scenario after its factor ``z``, in one call (no arrays boxed for Python between
    the steps): its tables (``chain`` the arguments of :func:`_scenario_tables` after ``z``),
    the scan and the collection months into ``out`` (zeroed first, the kernel's workspace),
    then its cash flows into ``flows``, lines :data:`LINES` by month: the ``fees`` and JHF
    ``premium`` lines, which do not depend on the scenario, and the kernel's five."""
    tables = _scenario_tables(z, *chain)
    _scan(st, tables, T, start, group_grade, group_offset, listed, counts)
    out[:] = 0
    _collections(st, counts, listed, tables, T, dest, contract, cov_num, cov_den, share_num, share_den,
                 recovery_rate, delay, suit_cost, exec_cost, repay, out)
    for t in range(T + 1):
        flows[0, t] = fees[t]
        flows[1, t] = out[t * _OUT_LINES + _SUBROGATED]
        flows[2, t] = out[t * _OUT_LINES + _COSTS]
        flows[3, t] = out[t * _OUT_LINES + _RECOVERED]
        flows[4, t] = premium[t]
        flows[5, t] = out[t * _OUT_LINES + _PAYOUT]
        flows[6, t] = out[t * _OUT_LINES + _REMITTANCE]


def _run_into(book: _Book, model: RentModel, seed: int, jobs, outputs: tuple, bar=None) -> None:
    """For each ``(row, s)`` of ``jobs``, run scenario ``s`` into row ``row`` of ``outputs``
    ``(flows, counts, z)``: the cash flows by line (:data:`LINES`) and month, ``S x 7 x (T +
    1)``, the contracts that miss a rent by grade and the factor
    (:func:`~.distributed.run_scenarios`).

    Scenario ``s`` always draws from :func:`scenario_rng` ``(seed, s)``, wherever it runs:
    first its factor ``z`` (standard normal), then uniforms: the bit generator's next 64-bit
    words, each giving two (:func:`_draw`, which steps the generator inside the kernel from
    :func:`stream_state`). One per contract for its first missed rent (:func:`_scan`), then
    the collection months of the contracts that miss one, contract by contract
    (:func:`_collections`).
    """
    flows, counts, z = outputs
    T, jhf = model.months, model.jhf
    cov = rate_fraction(jhf.coverage_ratio, "coverage_ratio")
    share = rate_fraction(jhf.recovery_share, "recovery_share")
    good, dest, n_dest = chain_arrays(model.chain.matrix)
    exec_cost = model.execution_cost_yen + model.removal_cost_yen + model.restoration_cost_yen
    probit_h = norm.ppf(book.grade_hazard)
    contract = contract_records(book.total, book.cap, book.insured, book.jhf_rent, jhf).reshape(-1)
    fixed = (T, dest, contract, cov.numerator, cov.denominator, share.numerator, share.denominator,
             float(model.recovery_rate), model.recovery_delay_months, model.suit_cost_yen, exec_cost,
             model.installment_repayment_months)
    n = len(book.total)
    # (first month, position) of each contract that misses a rent, and one more pair: the kernel
    # loads the next contract's month one step ahead
    listed = np.zeros(2 * (n + 1), dtype=np.int64)
    out = np.empty((T + 2) * _OUT_LINES, dtype=np.int64)  # column T + 1: after the horizon, dropped
    chain = (math.sqrt(model.rho), math.sqrt(1 - model.rho), probit_h, model.moveout_hazard,
             float(model.good_exit_sensitivity), T, model.chain.matrix, good, dest, n_dest)
    for row, s in jobs:
        rng = scenario_rng(seed, s)
        z[row] = rng.standard_normal()
        _scenario(z[row], stream_state(rng), chain, book.group_start, book.group_grade, book.group_offset, listed,
                  counts[row], out, flows[row], book.fees, book.premium, *fixed)
        if bar is not None:
            bar.update()


def simulate(portfolio: pd.DataFrame, scenario: RentModel, n_scenarios: int, seed: int, *,
             threads: int | None = None, progress: bool | None = None, backend: str = "local", client=None,
             scheduler: str | None = None, chunk_scenarios: int = 250) -> SimulationResult:
    """Simulate ``n_scenarios`` scenarios of a rent-guarantee book (``scenario`` a
    :class:`RentModel`) or a mortgage-guarantee book (a
    :class:`~actuarial.simulation.mortgage.MortgageModel`, see
    :func:`~actuarial.simulation.mortgage.simulate_mortgage`).

    Scenario ``s`` draws from :func:`scenario_rng` (numpy's SFC64 seeded with
    ``SeedSequence(seed, spawn_key=(s,))``),
    so the result for a seed is the same for any ``threads``, any ``chunk_scenarios`` and
    either backend. ``threads`` local threads run the scenarios; by default every core, or
    the ``ACTUARIAL_THREADS`` environment variable (:func:`~.distributed.default_threads`).
    ``progress`` shows a tqdm bar; by default for runs of 10^8
    contract-scenarios or more (about a second and more) on a terminal or in JupyterLab, and
    never in tests or batch reports (:func:`~.distributed.progress_bar`).

    ``backend="dask"`` runs chunks of ``chunk_scenarios`` scenarios on a Dask distributed
    cluster: pass an existing ``client`` or a ``scheduler`` address (``pip install .[dask]``).
    Memory is bounded by the outputs: the book once, plus the ``S x 7 x (T+1)`` cash flows.
    """
    model = scenario
    from .mortgage import MortgageModel, simulate_mortgage

    if isinstance(model, MortgageModel):
        return simulate_mortgage(portfolio, model, n_scenarios, seed, threads=threads, progress=progress,
                                 backend=backend, client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios)
    if not isinstance(model, RentModel):
        raise ValueError(f"scenario must be a RentModel or a MortgageModel, got {type(model).__name__}")
    threads = check_run_arguments(n_scenarios=n_scenarios, seed=seed, threads=threads,
                                  chunk_scenarios=chunk_scenarios, backend=backend)
    book = _book(portfolio, model)
    T = model.months
    bar = progress_bar(progress, n_scenarios, len(book.total) * n_scenarios, 10**8)
    # each scenario writes its own rows, in its thread (the threads also take the arrays' first
    # touch, 0.1 s at 10,000 scenarios when it came after them)
    flows = np.zeros((n_scenarios, len(LINES), T + 1))
    counts = np.zeros((n_scenarios, len(book.grade_hazard)), dtype=np.int64)
    z = np.empty(n_scenarios)
    run_scenarios(_run_into, book, model, seed, n_scenarios, (flows, counts, z), threads=threads,
                  backend=backend, client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios, bar=bar)
    bar.close()
    totals = flows.sum(axis=2)
    losses = pd.DataFrame(totals, columns=list(LINES))
    losses.insert(0, "z", z)
    losses.insert(1, "delinquencies", counts.sum(axis=1))
    losses["net_loss"] = (losses["subrogation"] + losses["costs"] - losses["recoveries"] + losses["jhf_premium"]
                          - losses["jhf_payout"] + losses["jhf_remittance"])
    return SimulationResult(cash_flows=flows, losses=losses, seed=seed,
                            delinquencies_by_grade=pd.DataFrame(counts, columns=list(model.delinquency_hazard)))
