"""Rent-guarantee portfolio simulation.

Per scenario ``s`` (its own ``numpy.random.Generator``, keyed by ``(seed, s)``, so results do
not depend on how scenarios are split over threads or chunks):

1. an economic factor ``z ~ N(0, 1)``; each grade's monthly delinquency hazard becomes
   ``h(z) = Phi((Phi^-1(h) - sqrt(rho) z) / sqrt(1 - rho))`` (Vasicek), and the collection
   chain's good exits are scaled by ``exp(beta min(z, 0))`` (bad economies cure less);
2. a contract's first missed rent falls in month ``t`` with probability
   ``q^(t-1) h(z)``, ``q = (1 - h(z))(1 - mu)``, ``mu`` the move-out hazard. Given ``z``
   contracts are independent, so the number of defaulters in a grade is
   ``Binomial(N_g, P_g)`` with ``P_g = h (1 - q^T) / (1 - q)`` and the defaulters are a
   uniform sample of the grade: only they are simulated;
3. each defaulter follows the collection chain month by month from ``dunning``. While in a
   transient state other than ``installment`` the guarantor subrogates the monthly total,
   up to the plan's coverage months. Entering ``suit`` costs the suit cost; entering
   ``forced_execution`` the execution, removal and restoration costs. ``cure`` and
   ``installment_paid`` recover all arrears in the month they happen, after which the tenant
   pays again and may miss a rent again (next missed rent or move-out after a geometric
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
monthly fees) are their expectation under the move-out hazard: they do not depend on the
scenario.

Limits, kept on purpose: cash flows after the horizon are not counted; an installment plan
recovers the arrears when it completes; the delinquency counts per scenario count the
contracts that became delinquent at all (first episodes).
"""

from __future__ import annotations

import dataclasses
import math
import sys

import numba
import numpy as np
import pandas as pd
from scipy.stats import norm
from tqdm import tqdm

from ..collection import STATES, TRANSIENT_STATES, CollectionChain
from ..products.common import check_count, check_rate, check_yen, rate_fraction, require_frame
from ..products.jhf_insurance import ELIGIBILITY_COLUMNS, JHFTerms
from ..products.rent_guarantee import FeePlan
from .distributed import check_run_arguments, run_scenarios

#: Cash-flow lines of the S x (T+1) output, all as positive amounts of yen.
LINES = ("fees", "subrogation", "costs", "recoveries", "jhf_premium", "jhf_payout", "jhf_remittance")
_SIGN = np.array([1, -1, -1, 1, -1, 1, -1])
PORTFOLIO_COLUMNS = ("rent_yen", "management_fee_yen", "common_fee_yen", "parking_fee_yen", "plan", "grade", "insured")

_S = {name: i for i, name in enumerate(STATES)}
_K = len(TRANSIENT_STATES)


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

    def recovery_after_exit(self, arrears_yen: int, z: float) -> int:
        """``floor(arrears x recovery_rate x exp(beta min(z, 0)))``, yen."""
        return int(math.floor(arrears_yen * self.recovery_rate * self.good_exit_multiplier(z) + 1e-9))


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

    def metrics(self, levels=(0.99, 0.995, 0.999)) -> pd.Series:
        """EL, SD, VaR and TVaR of the net loss at each level, loss ratio and expected profit."""
        loss = self.losses["net_loss"].to_numpy(dtype=float)
        out = {"expected_loss": loss.mean(), "sd": loss.std(ddof=1) if len(loss) > 1 else 0.0}
        srt = np.sort(loss)
        for q in levels:
            var = float(np.quantile(loss, q, method="inverted_cdf"))
            tail = srt[srt >= var]
            out[f"var_{q:.1%}"] = var
            out[f"tvar_{q:.1%}"] = float(tail.mean())
        fees = self.losses["fees"].to_numpy(dtype=float)
        out["loss_ratio"] = float(loss.mean() / fees.mean()) if fees.mean() > 0 else float("nan")
        out["expected_profit"] = float((fees - loss).mean())
        return pd.Series(out)


# -- portfolio checks ---------------------------------------------------------------------------
def validate_portfolio(portfolio: pd.DataFrame, model: RentModel) -> None:
    """Raise ``ValueError`` naming the column and the first bad row.

    When the book carries the JHF eligibility columns, every insured contract must pass
    :meth:`~actuarial.products.jhf_insurance.JHFTerms.eligibility`.
    """
    require_frame(portfolio, PORTFOLIO_COLUMNS, "portfolio", allow_empty=False)
    for c in PORTFOLIO_COLUMNS[:4]:
        col = portfolio[c]
        if not pd.api.types.is_integer_dtype(col):
            raise ValueError(f"portfolio column {c!r} must hold whole yen, got dtype {col.dtype}")
        bad = col.to_numpy() < 0
        if bad.any():
            row = portfolio.index[bad].tolist()[0]
            raise ValueError(f"portfolio column {c!r} has a negative amount {int(col[row])} in row {row!r}")
    for c, known in (("plan", model.plans), ("grade", model.delinquency_hazard)):
        bad = ~portfolio[c].isin(list(known))
        if bad.any():
            row = portfolio.index[bad.to_numpy()].tolist()[0]
            raise ValueError(f"portfolio column {c!r} has unknown value {str(portfolio[c][row])!r} in row {row!r}; "
                             f"known: {', '.join(map(str, known))}")
    if portfolio["insured"].dtype != bool:
        raise ValueError(f"portfolio column 'insured' must be True/False, got dtype {portfolio['insured'].dtype}")
    if all(c in portfolio.columns for c in ELIGIBILITY_COLUMNS):
        insured = portfolio[portfolio["insured"].to_numpy()]
        check = model.jhf.eligibility(insured)
        if not check["eligible"].all():
            row = check.index[~check["eligible"].to_numpy()].tolist()[0]
            raise ValueError(f"portfolio row {row!r} is insured but not eligible for JHF insurance "
                             f"(fails: {check.loc[row, 'failed']})")


@dataclasses.dataclass(frozen=True)
class _Book:
    """The portfolio as arrays the kernel reads."""

    total: np.ndarray         # monthly total (plan basis), int64
    jhf_rent: np.ndarray      # rent at start in the JHF sense, int64
    cap: np.ndarray           # coverage months, int64
    insured: np.ndarray       # bool
    group_order: np.ndarray   # contract indices sorted by (grade, first month at risk)
    group_start: np.ndarray   # offsets into group_order, one group per (grade, start)
    group_grade: np.ndarray   # grade index of each group
    group_offset: np.ndarray  # months before the first month at risk, max(start_month, 0)
    grade_hazard: np.ndarray
    fees: np.ndarray          # expected fee line, T + 1, float
    premium: np.ndarray       # JHF premiums by month, T + 1, float


def start_months(portfolio: pd.DataFrame, months: int) -> np.ndarray:
    """The optional ``start_month`` column (0 when absent), checked: whole numbers below ``months``."""
    if "start_month" not in portfolio.columns:
        return np.zeros(len(portfolio), dtype=np.int64)
    col = portfolio["start_month"]
    if not pd.api.types.is_integer_dtype(col):
        raise ValueError(f"portfolio column 'start_month' must hold whole months, got dtype {col.dtype}")
    bad = col.to_numpy() >= months
    if bad.any():
        row = portfolio.index[bad].tolist()[0]
        raise ValueError(f"portfolio column 'start_month' must be below the horizon ({months}), "
                         f"got {int(col[row])} in row {row!r}")
    return col.to_numpy(np.int64)


def expected_fee_line(plan: FeePlan, monthly_totals_yen, start_month: int, months: int,
                      moveout_hazard: float) -> np.ndarray:
    """Expected fees by projection month ``0..months`` of contracts starting in ``start_month``.

    Defined as ``fee(age) x (1 - mu)^(t - max(start, 0))`` summed over the contracts, for
    ``t >= max(start, 0)`` with ``age = t - start``; ``fee(age)`` is the plan's schedule
    (:meth:`~actuarial.products.rent_guarantee.FeePlan.fee_schedule`: the initial fee at age 0,
    renewals at multiples of the interval, the monthly fee every month). Negative starts are
    contracts already in force.

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
    fees = np.zeros(T + 1)
    for name, plan in model.plans.items():
        sel = plans == name
        if not sel.any():
            continue
        total[sel] = plan.monthly_total(rent_yen=rent[sel], management_fee_yen=mgmt[sel], common_fee_yen=common[sel],
                                        parking_fee_yen=parking[sel])
        cap[sel] = plan.coverage_months
        for s0 in np.unique(start[sel]):
            fees += expected_fee_line(plan, total[sel & (start == s0)], int(s0), T, model.moveout_hazard)
    insured = portfolio["insured"].to_numpy(bool)
    jhf_rent = rent + mgmt + common
    premium = np.zeros(T + 1)
    attach = insured & (start >= 0)
    np.add.at(premium, start[attach], model.jhf.premium(rent=rent[attach], management_fee=mgmt[attach],
                                                        common_fee=common[attach]).astype(float))
    grades = list(model.delinquency_hazard)
    gidx = portfolio["grade"].map({g: i for i, g in enumerate(grades)}).to_numpy(np.int64)
    offset = np.maximum(start, 0)
    order = np.lexsort((offset, gidx)).astype(np.int64)
    keys = np.stack([gidx[order], offset[order]], axis=1)
    new = np.concatenate([[True], np.any(keys[1:] != keys[:-1], axis=1)]) if len(order) else np.array([], bool)
    first = np.flatnonzero(new)
    return _Book(total, jhf_rent, cap, insured, order, np.append(first, len(order)).astype(np.int64),
                 gidx[order][first].astype(np.int64), offset[order][first].astype(np.int64),
                 np.array([model.delinquency_hazard[g] for g in grades], float), fees, premium)


# -- the kernel ------------------------------------------------------------------------------------
@numba.njit(nogil=True, cache=True)
def _scenario(rng, K, sqrt_rho, sqrt_1mrho, probit_h, mu, beta, T, base_p, good_mask,
              total, jhf_rent, cap, insured, order, start, group_grade, group_offset, cov_num, cov_den, jhf_months, jhf_yen,
              share_num, share_den, recovery_rate, delay, suit_cost, exec_cost, out, counts, mark):
    """One scenario: fill ``out`` (5 x T+1: subrogation, costs, recoveries, JHF payout,
    remittance) and ``counts`` (delinquent contracts by grade); returns z."""
    z = rng.standard_normal()
    m = math.exp(beta * min(z, 0.0))
    n_states = base_p.shape[0]
    cum = np.empty((K, n_states))
    for i in range(K):
        removed = 0.0
        for j in range(n_states):
            if good_mask[j] and j != i:
                removed += base_p[i, j] * (1.0 - m)
        acc = 0.0
        for j in range(n_states):
            if j == i:
                acc += base_p[i, i] + removed
            elif good_mask[j]:
                acc += base_p[i, j] * m
            else:
                acc += base_p[i, j]
            cum[i, j] = acc
        cum[i, n_states - 1] = 1.0
    for g in range(start.shape[0] - 1):
        n_g = start[g + 1] - start[g]
        if n_g == 0:
            continue
        s0 = group_offset[g]
        H = T - s0
        x = (probit_h[group_grade[g]] - sqrt_rho * z) / sqrt_1mrho
        h = 0.5 * math.erfc(-x / math.sqrt(2.0))
        q = (1.0 - h) * (1.0 - mu)
        qT = q ** H
        p_any = h * (1.0 - qT) / (1.0 - q) if q < 1.0 else 0.0
        k = rng.binomial(n_g, min(max(p_any, 0.0), 1.0))
        counts[group_grade[g]] += k
        # Floyd's sampling of k distinct positions in [0, n_g)
        chosen = np.empty(k, dtype=np.int64)
        c = 0
        for j in range(n_g - k, n_g):
            r = int(rng.integers(0, j + 1))
            if mark[start[g] + r]:
                r = j
            mark[start[g] + r] = True
            chosen[c] = r
            c += 1
        for c in range(k):
            mark[start[g] + chosen[c]] = False
        for c in range(k):
            i = order[start[g] + chosen[c]]
            u = rng.random()
            # truncated geometric: P(t) = q^(t-s0-1) h / P_any, t = s0+1..T
            t0 = s0 + 1 + (int(math.floor(math.log(1.0 - u * (1.0 - qT)) / math.log(q))) if q > 0.0 else 0)
            if t0 > T:
                t0 = T
            state = 0
            months_sub = 0
            arrears = 0
            tm = t0
            while tm <= T:
                if state != 5 and months_sub < cap[i]:  # 5 = installment
                    out[0, tm] += total[i]
                    arrears += total[i]
                    months_sub += 1
                u = rng.random()
                nxt = 0
                while nxt < n_states - 1 and u >= cum[state, nxt]:
                    nxt += 1
                tm += 1
                if nxt == state:
                    continue
                if tm > T:
                    break
                prev = state
                state = nxt
                if state == 3:  # suit
                    out[1, tm] += suit_cost
                if state < K:
                    continue
                if state == K + 4:  # forced_execution
                    out[1, tm] += exec_cost
                if state == K or state == K + 1:  # cure, installment_paid: performing again
                    out[2, tm] += arrears
                    # the transition's uniform, rescaled within the chosen interval, is a fresh
                    # uniform: it decides missed rent (w < a) or move-out first, then the gap
                    lo = cum[prev, nxt - 1] if nxt > 0 else 0.0
                    w = (u - lo) / (cum[prev, nxt] - lo)
                    a = h / (1.0 - q)
                    if w >= a:
                        break  # the tenant moves out before missing a rent again
                    gap = 1 + (int(math.floor(math.log(1.0 - w / a) / math.log(q))) if q > 0.0 else 0)
                    if tm + gap > T:
                        break  # no new missed rent within the horizon
                    tm += gap
                    state = 0
                    months_sub = 0
                    arrears = 0
                    continue
                rec = int(math.floor(arrears * recovery_rate * m + 1e-9))
                rec_month = tm + delay
                pay_month = tm + 1
                if insured[i] and arrears > 0:
                    p1 = arrears * cov_num // cov_den
                    p2 = jhf_rent[i] * jhf_months * cov_num // cov_den
                    pay = min(p1, p2)
                    if jhf_yen >= 0:
                        pay = min(pay, jhf_yen)
                    if pay_month <= T:
                        out[3, pay_month] += pay
                    if rec_month >= pay_month and rec_month <= T:
                        out[4, rec_month] += rec * share_num // share_den
                if rec_month <= T:
                    out[2, rec_month] += rec
                break
    return z


def _run_range(book: _Book, model: RentModel, seed: int, first: int, stop: int, step: int = 1, bar=None):
    """Run scenarios ``range(first, stop, step)``; returns (sub_lines, counts, z) for them.

    The unit of work for threads and for Dask workers: scenario ``s`` always draws from
    ``SeedSequence(seed, spawn_key=(s,))``, wherever it runs.
    """
    T, jhf = model.months, model.jhf
    cov = rate_fraction(jhf.coverage_ratio, "coverage_ratio")
    share = rate_fraction(jhf.recovery_share, "recovery_share")
    good = np.zeros(len(STATES), dtype=np.bool_)
    for name in ("cure", "installment", "installment_paid"):
        good[_S[name]] = True
    exec_cost = model.execution_cost_yen + model.removal_cost_yen + model.restoration_cost_yen
    probit_h = norm.ppf(book.grade_hazard)
    scenarios = range(first, stop, step)
    sub_lines = np.zeros((len(scenarios), 5, T + 1), dtype=np.int64)
    counts = np.zeros((len(scenarios), len(book.grade_hazard)), dtype=np.int64)
    z = np.empty(len(scenarios))
    mark = np.zeros(len(book.total), dtype=np.bool_)
    for j, s in enumerate(scenarios):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s,)))
        z[j] = _scenario(rng, _K, math.sqrt(model.rho), math.sqrt(1 - model.rho), probit_h,
                         model.moveout_hazard, float(model.good_exit_sensitivity), T, model.chain.matrix, good,
                         book.total, book.jhf_rent, book.cap, book.insured, book.group_order, book.group_start,
                         book.group_grade, book.group_offset,
                         cov.numerator, cov.denominator, jhf.cap_months, -1 if jhf.cap_yen is None else jhf.cap_yen,
                         share.numerator, share.denominator, float(model.recovery_rate),
                         model.recovery_delay_months, model.suit_cost_yen, exec_cost, sub_lines[j], counts[j], mark)
        if bar is not None:
            bar.update()
    return sub_lines, counts, z


def simulate(portfolio: pd.DataFrame, scenario: RentModel, n_scenarios: int, seed: int, *,
             threads: int = 1, progress: bool | None = None, backend: str = "local", client=None,
             scheduler: str | None = None, chunk_scenarios: int = 250) -> SimulationResult:
    """Simulate ``n_scenarios`` scenarios of a rent-guarantee book (``scenario`` a
    :class:`RentModel`) or a mortgage-guarantee book (a
    :class:`~actuarial.simulation.mortgage.MortgageModel`, see
    :func:`~actuarial.simulation.mortgage.simulate_mortgage`).

    Scenario ``s`` draws from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(s,)))``,
    so the result for a seed is the same for any ``threads``, any ``chunk_scenarios`` and
    either backend. ``progress`` shows a tqdm bar; by default only on a terminal and for runs
    of 10^8 contract-scenarios or more (a few seconds), so notebooks and tests stay quiet.

    ``backend="dask"`` runs chunks of ``chunk_scenarios`` scenarios on a Dask distributed
    cluster: pass an existing ``client`` or a ``scheduler`` address (``pip install .[dask]``).
    Memory is bounded by the outputs: the book once, plus ``S x 5 x (T+1)`` integers.
    """
    model = scenario
    from .mortgage import MortgageModel, simulate_mortgage

    if isinstance(model, MortgageModel):
        return simulate_mortgage(portfolio, model, n_scenarios, seed, threads=threads, progress=progress,
                                 backend=backend, client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios)
    if not isinstance(model, RentModel):
        raise ValueError(f"scenario must be a RentModel or a MortgageModel, got {type(model).__name__}")
    check_run_arguments(n_scenarios=n_scenarios, seed=seed, threads=threads, chunk_scenarios=chunk_scenarios,
                        backend=backend)
    book = _book(portfolio, model)
    T = model.months
    if progress is None:
        progress = sys.stderr.isatty() and len(book.total) * n_scenarios >= 10**8
    bar = tqdm(total=n_scenarios, unit="scenario", disable=not progress)
    sub_lines = np.zeros((n_scenarios, 5, T + 1), dtype=np.int64)
    counts = np.zeros((n_scenarios, len(book.grade_hazard)), dtype=np.int64)
    z = np.empty(n_scenarios)
    run_scenarios(_run_range, book, model, seed, n_scenarios, (sub_lines, counts, z), threads=threads,
                  backend=backend, client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios, bar=bar)
    bar.close()
    flows = np.zeros((n_scenarios, len(LINES), T + 1))
    flows[:, 0, :] = book.fees
    flows[:, 1:4, :] = sub_lines[:, 0:3, :]
    flows[:, 4, :] = book.premium
    flows[:, 5:7, :] = sub_lines[:, 3:5, :]
    totals = flows.sum(axis=2)
    losses = pd.DataFrame(totals, columns=list(LINES))
    losses.insert(0, "z", z)
    losses.insert(1, "delinquencies", counts.sum(axis=1))
    losses["net_loss"] = (losses["subrogation"] + losses["costs"] - losses["recoveries"] + losses["jhf_premium"]
                          - losses["jhf_payout"] + losses["jhf_remittance"])
    return SimulationResult(cash_flows=flows, losses=losses, seed=seed,
                            delinquencies_by_grade=pd.DataFrame(counts, columns=list(model.delinquency_hazard)))
