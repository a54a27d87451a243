"""Mortgage-guarantee portfolio simulation.

Each loan amortises on a level-payment schedule. Per scenario ``s`` (its own stream, keyed by
``(seed, s)``):

1. an economic factor ``z ~ N(0, 1)``; each grade's monthly default hazard ``d`` (from an
   annual PD, ``d = 1 - (1 - PD)^(1/12)``) becomes ``Phi((Phi^-1(d) - sqrt(rho) z) /
   sqrt(1 - rho))`` (Vasicek; Basel's residential ``rho = 0.15``), and house prices fall by
   the factor ``exp(-house_price_sensitivity x max(-z, 0))``;
2. for each loan the month of default (geometric in ``d``) and the month of full prepayment
   (PSJ ramp: the annual prepayment rate rises linearly from 0 at loan age 0 to
   ``psj_plateau_cpr`` at ``psj_ramp_months`` and stays there) are sampled directly by
   inverse CDF, not by stepping months; the earlier one happens, a default first when both
   fall in the same month. No event happens after maturity or the horizon (a default's
   subrogation and sale may fall after maturity; after the horizon they are not counted);
3. a default in month ``t`` is the first missed payment of a loan that will not pay again:
   the bank calls the loan (期限の利益喪失) once ``subrogation_after_months_delinquent``
   (``K``) payments are missed, and the guarantor pays it the balance outstanding at the
   start of month ``t`` in month ``t + K - 1`` (subrogation, 代位弁済; the lag is
   :attr:`MortgageModel.subrogation_lag_months`), then recovers ``min(balance, collateral x
   price factor x (1 - forced_sale_discount))`` ``recovery_delay_months`` after that. What
   falls after the horizon is not counted;
4. a full prepayment in month ``t`` of a lump-sum loan refunds the unearned fee by the
   deduction schedule (docs/domain.md §3.2), truncated, less the transfer fee
   (:func:`~actuarial.products.mortgage_fee.refund`);
   the unearned fee comes from the guarantor's fee curve, scaled to the loan.

Partial prepayment (一部繰上返済, the term kept) comes as random events: in each month a loan
survives, with probability ``q = partial_prepayment_smm / partial_prepayment_share``, it
prepays the share ``s = partial_prepayment_share`` of its balance. After ``k`` events every
later balance and unearned fee is ``(1 - s)^k`` of the scheduled one, so the expected balance
is the schedule times ``(1 - smm)^(t - 1)``, the expected curtailment. Each event refunds the
unearned fee it removes, ``floor(fee x (1 - s)^k x s)`` (as
:meth:`~actuarial.products.mortgage_fee.FeeCurve.partial_prepayment` computes it), by the
same rule as a full prepayment: the deduction, truncated, less the transfer fee, nothing when
that is below it. The events' months are drawn as geometric gaps after the default and
prepayment draws. Fees: a lump-sum loan made at the start
(``age_months == 0``) pays its fee in month 0; an installment loan pays ``balance x
installment_annual_rate / 12`` in each month it is alive before its event.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from ..normal import norm
from ..products.common import (
    MAX_SENSITIVITY,
    check_count,
    check_rate,
    check_yen,
    is_real,
)
from ..products.mortgage_fee import (
    PUBLISHED_DEDUCTION_SCHEDULE,
    validate_schedule,
)
from .distributed import check_run_arguments, progress_bar, run_scenarios
from .mortgage_book import (  # noqa: F401 - the book's names, where they were first defined
    FEE_TYPES,
    MORTGAGE_COLUMNS,
    MortgageBook,
    prepare_mortgage_book,
    validate_mortgage_book,
)
from .result import SimulationResult

MORTGAGE_LINES = ("fee_lump_sum", "fee_installment", "refunds", "subrogation", "recoveries", "administration_fee")
SIGNS = np.array([1, 1, -1, -1, 1, 1])


@dataclasses.dataclass(frozen=True)
class MortgageModel:
    """Parameters of the mortgage-guarantee model (see the module docstring).

    ``fee_annual_rate``, ``schedule_loan_rate`` and ``schedule_discount_rate`` are the
    guarantor's fee-curve basis (:class:`~actuarial.products.mortgage_fee.FeeCurve`); the
    defaults are the curve calibrated to the Zenkoku Hosho refund table (docs/domain.md §3.3).
    """

    annual_default_rate: dict
    rho: float = 0.15
    psj_plateau_cpr: float = 0.06
    psj_ramp_months: int = 60
    partial_prepayment_smm: float = 0.0
    partial_prepayment_share: float = 0.1
    recovery_delay_months: int = 12
    forced_sale_discount: float = 0.3
    house_price_sensitivity: float = 0.1
    fee_annual_rate: float = 0.00149985
    schedule_loan_rate: float = 0.0798494
    schedule_discount_rate: float = 0.0499544
    installment_annual_rate: float = 0.002
    deduction_schedule: tuple = PUBLISHED_DEDUCTION_SCHEDULE
    transfer_fee_yen: int = 0
    months: int = 420
    refund_lag_months: int = 2  # a refund is paid this many months after its event (概ね2ヵ月程度)
    administration_fee_yen: int = 0  # 事務手数料: income when a loan is made, never refunded
    subrogation_after_months_delinquent: int = 6  # a loan in arrears this many months is subrogated
    delinquent_monthly_cure_rate: float = 0.2     # the monthly chance that a loan in arrears pays them all

    def __post_init__(self):
        if not self.annual_default_rate:
            raise ValueError("annual_default_rate needs at least one grade")
        for g, pd_ in self.annual_default_rate.items():
            if check_rate(f"annual_default_rate[{g!r}]", pd_) >= 1.0:
                raise ValueError(f"annual_default_rate[{g!r}] must be below 1, got {pd_!r}")
        for name in ("rho", "psj_plateau_cpr", "partial_prepayment_smm", "forced_sale_discount", "fee_annual_rate",
                     "installment_annual_rate"):
            check_rate(name, getattr(self, name))
        if not self.rho < 1 or not self.psj_plateau_cpr < 1 or not self.partial_prepayment_smm < 1:
            raise ValueError("rho, psj_plateau_cpr and partial_prepayment_smm must be below 1")
        share = check_rate("partial_prepayment_share", self.partial_prepayment_share)
        if not 0 < share < 1:
            raise ValueError(f"partial_prepayment_share must be above 0 and below 1, got {share!r}")
        if not self.partial_prepayment_smm < share:
            raise ValueError(f"partial_prepayment_smm ({self.partial_prepayment_smm!r}) must be below "
                             f"partial_prepayment_share ({share!r}): their ratio is the monthly chance of an event")
        check_count("psj_ramp_months", self.psj_ramp_months, minimum=1)
        check_count("recovery_delay_months", self.recovery_delay_months)
        check_count("subrogation_after_months_delinquent", self.subrogation_after_months_delinquent, minimum=1)
        if check_rate("delinquent_monthly_cure_rate", self.delinquent_monthly_cure_rate) >= 1.0:
            raise ValueError(f"delinquent_monthly_cure_rate must be below 1, got {self.delinquent_monthly_cure_rate!r}")
        check_count("months", self.months, minimum=1)
        check_yen("transfer_fee_yen", self.transfer_fee_yen)
        check_yen("administration_fee_yen", self.administration_fee_yen)
        object.__setattr__(self, "refund_lag_months", int(check_count("refund_lag_months", self.refund_lag_months)))
        if not is_real(self.house_price_sensitivity) or not math.isfinite(self.house_price_sensitivity) \
                or not 0 <= self.house_price_sensitivity <= MAX_SENSITIVITY:
            raise ValueError(f"house_price_sensitivity must be a number in [0, {MAX_SENSITIVITY:g}], got "
                             f"{self.house_price_sensitivity!r}")
        object.__setattr__(self, "deduction_schedule", validate_schedule(self.deduction_schedule))

    @classmethod
    def from_params(cls, scenario) -> MortgageModel:
        """Build the model from a validated :class:`~actuarial.params.Scenario`."""
        if scenario.mortgage_model is None or scenario.mortgage_fee is None:
            raise ValueError(f"scenario {scenario.scenario.name!r} needs mortgage_model and mortgage_fee sections")
        fee = scenario.mortgage_fee
        return cls(deduction_schedule=fee.schedule(), transfer_fee_yen=fee.transfer_fee_yen,
                   installment_annual_rate=fee.installment_annual_rate, refund_lag_months=fee.refund_lag_months,
                   administration_fee_yen=fee.administration_fee_yen, **scenario.mortgage_model.model_dump())

    @property
    def subrogation_lag_months(self) -> int:
        """Months from a default (the first missed payment of a loan that will not pay again)
        to its subrogation, defined as ``subrogation_after_months_delinquent - 1``: the
        guarantor pays when the loan has missed that many payments."""
        return self.subrogation_after_months_delinquent - 1

    @property
    def partial_prepayment_rate(self) -> float:
        """The monthly chance that a loan alive through the month prepays in part, defined as
        ``partial_prepayment_smm / partial_prepayment_share``."""
        return self.partial_prepayment_smm / self.partial_prepayment_share

    # -- pieces shared with the exact oracle --------------------------------------------------
    def monthly_default_hazard(self, annual_pd: float, z: float) -> float:
        """``Phi((Phi^-1(d) - sqrt(rho) z) / sqrt(1 - rho))`` with ``d = 1 - (1 - PD)^(1/12)``."""
        d = 1 - (1 - annual_pd) ** (1 / 12)
        if d <= 0:
            return 0.0
        return float(norm.cdf((norm.ppf(d) - math.sqrt(self.rho) * z) / math.sqrt(1 - self.rho)))

    def prepayment_hazard(self, ages: np.ndarray) -> np.ndarray:
        """Monthly full-prepayment probability at each loan age (PSJ ramp)."""
        cpr = self.psj_plateau_cpr * np.minimum(np.asarray(ages, dtype=float) / self.psj_ramp_months, 1.0)
        return 1 - (1 - cpr) ** (1 / 12)

    def refunds_paid(self, by_event_month: np.ndarray) -> np.ndarray:
        """Refunds by the month they are paid, from refunds by the month of their event
        (prepayment): ``refund_lag_months`` later (the disclosure's 概ね2ヵ月程度); what
        falls after the horizon is not counted.

        >>> MortgageModel(annual_default_rate={"A": 0.01}, refund_lag_months=2).refunds_paid(
        ...     np.array([0.0, 5.0, 7.0, 9.0])).tolist()
        [0.0, 0.0, 0.0, 5.0]
        """
        line = np.asarray(by_event_month)
        out = np.zeros_like(line)
        if self.refund_lag_months < line.shape[-1]:
            out[..., self.refund_lag_months:] = line[..., : line.shape[-1] - self.refund_lag_months]
        return out

    def sale_factor(self, z: float) -> float:
        """Collateral value realised in a forced sale: ``exp(-k max(-z, 0)) x (1 - discount)``."""
        return math.exp(-self.house_price_sensitivity * max(-z, 0.0)) * (1 - self.forced_sale_discount)


def fee_income(lines) -> object:
    """The fee income net of refunds from the lines (a mapping, DataFrame or Series by
    :data:`MORTGAGE_LINES` name): lump-sum and installment fees, plus administration fees,
    less refunds."""
    return lines["fee_lump_sum"] + lines["fee_installment"] + lines["administration_fee"] - lines["refunds"]


@numba.njit(nogil=True, cache=True)
def _conditional_hazards(probit_d, z, sqrt_rho, sqrt_1mrho):
    """Each grade's monthly default hazard given the factor, ``Phi((probit_d - sqrt(rho) z) /
    sqrt(1 - rho))`` (0 where ``probit_d`` is ``-inf``: no defaults)."""
    d = np.zeros(probit_d.shape[0])
    for g in range(probit_d.shape[0]):
        if probit_d[g] != -np.inf:
            x = (probit_d[g] - sqrt_rho * z) / sqrt_1mrho
            d[g] = 0.5 * math.erfc(-x / math.sqrt(2.0))
    return d


@numba.njit(nogil=True, cache=True, inline="always")
def _default_month(u, hazard, months_left):
    """The month of default from the uniform ``u`` by inverse CDF of the geometric law of
    monthly ``hazard``, ``max(ceil(log(1 - u) / log(1 - hazard)), 1)``; ``months_left + 1``
    (none) when the hazard is 0."""
    if hazard <= 0.0:
        return months_left + 1
    return max(int(math.ceil(math.log(1.0 - u) / math.log(1.0 - hazard))), 1)


class MortgageEconomy(NamedTuple):
    """A run's constants: the Vasicek terms, each grade's ``probit_d = Phi^-1(monthly PD)``
    (``-inf`` for none), the house-price sensitivity and the share a forced sale keeps, the
    horizon, the monthly chance of a partial prepayment and the share of the balance it
    prepays, the recovery delay, the transfer fee and the months from a default (the first
    missed payment) to its subrogation."""

    sqrt_rho: float
    sqrt_1mrho: float
    probit_d: np.ndarray
    house_price_sensitivity: float
    sale_keep: float
    months: int
    partial_prepayment_rate: float
    partial_prepayment_share: float
    recovery_delay_months: int
    transfer_fee_yen: int
    subrogation_lag_months: int


class LoanArrays(NamedTuple):
    """Each loan's principal, age, months left, collateral, grade, lump-sum flag, product,
    cohort, fee basis and output group (:class:`MortgageBook`), and the positions of the
    loans performing on the valuation date, which the scenario kernel runs, with their first
    month (1)."""

    principal: np.ndarray
    age: np.ndarray
    life: np.ndarray
    collateral: np.ndarray
    grade: np.ndarray
    lump: np.ndarray
    product: np.ndarray
    cohort: np.ndarray
    fee_base: np.ndarray
    group: np.ndarray
    performing: np.ndarray
    start: np.ndarray


class CurveArrays(NamedTuple):
    """The products' balance shapes and unearned fees per yen, the cumulative prepayment
    hazard ``G``, and the deduction schedule as exact fractions with its month edges."""

    shapes: np.ndarray
    unearned: np.ndarray
    G: np.ndarray
    keep_num: np.ndarray
    keep_den: np.ndarray
    edges: np.ndarray


@numba.njit(nogil=True, cache=True, inline="always")
def _refund_yen(fee, months_elapsed, curves, transfer):
    """The refund of an unearned ``fee`` (yen) removed ``months_elapsed`` into the loan: the
    deduction band's kept share as an exact fraction, truncated, less the transfer fee, or
    nothing when that is below it (:func:`~actuarial.products.mortgage_fee.refund`)."""
    b = 0
    while b < curves.edges.shape[0] and months_elapsed > curves.edges[b]:
        b += 1
    kept = fee * curves.keep_num[b] // curves.keep_den[b]
    return kept - transfer if kept >= transfer else 0


@numba.njit(nogil=True, cache=True, inline="always")
def _partial_prepayments(rng, i, first, last, log_stay, economy, loans, curves, out, alive_diff):
    """Loan ``i``'s partial prepayments in months ``first + 1..last`` (the months it is alive
    through), drawn as geometric gaps, ``log_stay`` the log of the chance of none in a month:
    each refunds the unearned fee it removes (lump-sum loans) and lowers the loan's weight in
    its cohort's alive array from the next month. Returns how many there were."""
    share = economy.partial_prepayment_share
    log_keep = math.log(1.0 - share)
    principal, age, product, cohort = loans.principal[i], loans.age[i], loans.product[i], loans.cohort[i]
    k, t = 0, first
    while True:
        t += max(int(math.ceil(math.log(1.0 - rng.random()) / log_stay)), 1)  # the gap to the next event
        if t > last:
            return k
        prepaid = math.exp(log_keep * k) * share  # per yen of principal
        alive_diff[cohort, t + 1] -= principal * prepaid
        if loans.lump[i]:
            m = age + t + 1
            per_yen = curves.unearned[product, min(m, curves.unearned.shape[1] - 1)]
            removed = int(math.floor(loans.fee_base[i] * per_yen * prepaid + 1e-6))
            out[2, t] += _refund_yen(removed, m, curves, economy.transfer_fee_yen)
        k += 1


@numba.njit(nogil=True, cache=True)
def given_factor(z, economy):
    """Given the scenario's factor ``z``: each grade's monthly default hazard and the share of
    collateral value a forced sale realises, ``exp(-k max(-z, 0)) x (1 - discount)``."""
    d = _conditional_hazards(economy.probit_d, z, economy.sqrt_rho, economy.sqrt_1mrho)
    return d, math.exp(-economy.house_price_sensitivity * max(-z, 0.0)) * economy.sale_keep


@numba.njit(nogil=True, cache=True)
def loan_paths(rng, ids, starts, d, sale, economy, loans, curves, out, alive_diff, defaults, n_defaults, grouped):
    """Loans ``ids``, each performing from month ``starts[j]`` (1 for a loan performing on
    the valuation date) to its event, given the grades' monthly default hazards ``d`` and the
    sale factor ``sale``. Each loan draws from ``rng``, in this order: its default month
    (geometric in its hazard, by inverse CDF), its full-prepayment month (PSJ ramp, by
    inverse CDF of the cumulative hazard ``G``), then, when the partial-prepayment chance is
    above 0, the gaps between its partial prepayments. Writes refunds, subrogation and
    recoveries into ``out``, principal alive into the cohorts' ``alive_diff``, and each
    default's subrogation and recovery into ``grouped[loan's group]`` and, while there is
    room, a row of ``defaults`` (loan, month, balance subrogated, collateral recovered);
    returns the defaults counted, ``n_defaults`` and those. The loop holds the whole rule:
    a loan's path as a function of its own cost twice the time (numba passes the run's
    arrays to it loan by loan)."""
    T, delay, lag = economy.months, economy.recovery_delay_months, economy.subrogation_lag_months
    principal, age, life, collateral = loans.principal, loans.age, loans.life, loans.collateral
    lump, product, cohort, fee_base, group = loans.lump, loans.product, loans.cohort, loans.fee_base, loans.group
    grade = loans.grade
    shapes, unearned, G = curves.shapes, curves.unearned, curves.G
    log_stay = math.log(1.0 - economy.partial_prepayment_rate) if economy.partial_prepayment_rate > 0.0 else 0.0
    log_keep = math.log(1.0 - economy.partial_prepayment_share)
    n_ages = G.shape[0]
    for j in range(ids.shape[0]):
        i, start = ids[j], starts[j]
        L = min(T, life[i])
        u1 = rng.random()
        u2 = rng.random()
        td = start - 1 + _default_month(u1, d[grade[i]], L - start + 1)
        target = G[age[i] + start - 1] - math.log(1.0 - u2)
        lo, hi = age[i] + start - 1, n_ages  # first a with G[a] >= target
        while lo < hi:
            mid = (lo + hi) // 2
            if G[mid] >= target:
                hi = mid
            else:
                lo = mid + 1
        tp = lo - age[i] if lo < n_ages else L + 1
        if td <= tp and td <= L:
            event, kind = td, 1
        elif tp < td and tp <= L:
            event, kind = tp, 2
        else:
            event, kind = L + 1, 0
        alive_diff[cohort[i], start] += principal[i]
        k = 0
        if economy.partial_prepayment_rate > 0.0:
            k = _partial_prepayments(rng, i, start - 1, event - 1, log_stay, economy, loans, curves, out, alive_diff)
        scale = math.exp(log_keep * k)
        if event <= T:
            alive_diff[cohort[i], event] -= principal[i] * scale
        if kind == 1:  # payments stop; the guarantor pays the balance then owed ``lag`` months later
            bal = int(math.floor(principal[i] * shapes[product[i], age[i] + event - 1] * scale + 1e-6))
            if event + lag <= T:
                out[3, event + lag] += bal
                grouped[group[i], 0, event + lag] += bal
            rec = min(bal, int(math.floor(collateral[i] * sale + 1e-6)))
            if event + lag + delay <= T:
                out[4, event + lag + delay] += rec
                grouped[group[i], 1, event + lag + delay] += rec
            if n_defaults < defaults.shape[0]:
                defaults[n_defaults, 0], defaults[n_defaults, 1] = i, event
                defaults[n_defaults, 2], defaults[n_defaults, 3] = bal, rec
            n_defaults += 1
        elif kind == 2 and lump[i]:
            m = age[i] + event + 1
            fee = int(math.floor(fee_base[i] * unearned[product[i], min(m, unearned.shape[1] - 1)] * scale + 1e-6))
            out[2, event] += _refund_yen(fee, m, curves, economy.transfer_fee_yen)
    return n_defaults


@numba.njit(nogil=True, cache=True)
def _mortgage_scenario(rng, economy, loans, curves, out, alive_diff, defaults, grouped):
    """One scenario drawn from ``rng``: its factor ``z``, then the loans performing on the
    valuation date (``loans.performing``, in that order) from month 1 by :func:`loan_paths`;
    fills ``out`` rows 2..4 (refunds, subrogation, recoveries), the cohorts' alive-principal
    difference arrays and ``grouped`` (see :func:`loan_paths`). Returns ``(z, n)``, ``n``
    the defaults (as many rows of ``defaults`` as it has room for; a run without claims
    passes an empty one). ``economy``, ``loans`` and ``curves`` are the run's
    :class:`MortgageEconomy`, :class:`LoanArrays` and :class:`CurveArrays`."""
    z = rng.standard_normal()
    d, sale = given_factor(z, economy)
    n = loan_paths(rng, loans.performing, loans.start, d, sale, economy, loans, curves, out, alive_diff, defaults, 0,
                   grouped)
    return z, n


#: No room for default rows: a run without claims.
_NO_ROWS = np.zeros((0, 4), dtype=np.int64)
#: The columns of a mortgage run's :attr:`~actuarial.simulation.SimulationResult.claims`.
DEFAULT_CLAIM_COLUMNS = ("scenario", "loan", "grade", "default_month", "subrogation_month", "subrogated_yen",
                         "recovered_yen", "recovery_month", "net_loss_yen")


def _kernel_inputs(book: MortgageBook, model: MortgageModel) -> tuple:
    """The kernel's named bundles for a run: ``(economy, loans, curves)``."""
    probit_d = norm.ppf(1 - (1 - book.annual_pd) ** (1 / 12))
    economy = MortgageEconomy(math.sqrt(model.rho), math.sqrt(1 - model.rho), probit_d,
                              float(model.house_price_sensitivity), 1 - model.forced_sale_discount, model.months,
                              model.partial_prepayment_rate, model.partial_prepayment_share,
                              model.recovery_delay_months, model.transfer_fee_yen, model.subrogation_lag_months)
    loans = LoanArrays(book.principal, book.age, book.life, book.collateral, book.grade, book.lump, book.product,
                       book.cohort, book.fee_base, book.status.group, book.status.performing,
                       np.ones(len(book.status.performing), dtype=np.int64))
    curves = CurveArrays(book.shapes, book.unearned, book.G, book.keep_num, book.keep_den, book.edges)
    return economy, loans, curves


def default_claims(book: MortgageBook, model: MortgageModel, seed: int, scenarios: int) -> pd.DataFrame:
    """One row per default within the horizon in scenarios ``0..scenarios-1``
    (:data:`DEFAULT_CLAIM_COLUMNS`): the loan's row position, grade, default month (its first
    missed payment), subrogation month, the balance subrogated, the collateral recovered
    (whenever they come: ``subrogation_month`` and ``recovery_month`` may fall after the
    horizon) and the loss, balance less recovery. The kernel writes them as it
    draws the scenario, from the same stream as the run."""
    economy, loans, curves = _kernel_inputs(book, model)
    T, frames = model.months, []
    for s in range(scenarios):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s,)))
        rows = np.zeros((len(book.principal), 4), dtype=np.int64)  # a loan defaults once at most
        _, n = _mortgage_scenario(rng, economy, loans, curves, np.zeros((5, T + 1), dtype=np.int64),
                                  np.zeros((book.inst_factor.shape[0], T + 2)), rows,
                                  np.zeros((book.status.n_groups, 2, T + 1), dtype=np.int64))
        frames.append(np.column_stack([np.full(n, s), rows[:n]]))
    raw = np.concatenate(frames) if frames else np.zeros((0, 5), dtype=np.int64)
    grades = list(map(str, model.annual_default_rate))
    return pd.DataFrame({
        "scenario": raw[:, 0], "loan": raw[:, 1],
        "grade": pd.Categorical.from_codes(book.grade[raw[:, 1]], categories=grades),
        "default_month": raw[:, 2], "subrogation_month": raw[:, 2] + model.subrogation_lag_months,
        "subrogated_yen": raw[:, 3], "recovered_yen": raw[:, 4],
        "recovery_month": raw[:, 2] + model.subrogation_lag_months + model.recovery_delay_months,
        "net_loss_yen": raw[:, 3] - raw[:, 4],
    }, columns=list(DEFAULT_CLAIM_COLUMNS))


def run_into(book: MortgageBook, model: MortgageModel, seed: int, jobs, outputs: tuple, bar=None) -> None:
    """For each ``(row, s)`` of ``jobs``, run scenario ``s`` into row ``row`` of ``outputs``
    ``(flows, z)`` or ``(flows, z, grouped)`` (:func:`~.distributed.run_scenarios`): the
    performing loans by the kernel, then the others on the scenario's second stream
    (:func:`~.mortgage_inforce.walk_loans`). ``grouped`` takes each group's subrogation and
    recoveries by month, group 0 the performing loans' (``book.status.group``)."""
    from .mortgage_inforce import walk_loans

    out, z = outputs[:2]
    T = model.months
    economy, loans, curves = _kernel_inputs(book, model)
    n_cohorts = book.inst_factor.shape[0]
    status = book.status
    walk = len(status.delinquent) + len(status.subrogated) > 0
    for j, s in jobs:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s,)))
        ints = np.zeros((5, T + 1), dtype=np.int64)
        alive_diff = np.zeros((n_cohorts, T + 2))
        grouped = np.zeros((status.n_groups, 2, T + 1), dtype=np.int64)
        z[j], _ = _mortgage_scenario(rng, economy, loans, curves, ints, alive_diff, _NO_ROWS, grouped)
        if walk:
            d, sale = given_factor(z[j], economy)
            walk_loans(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s, 1))), d, sale, economy,
                       loans, curves, status, model.subrogation_after_months_delinquent,
                       model.delinquent_monthly_cure_rate, ints, alive_diff, grouped)
        if len(outputs) > 2:
            outputs[2][j] = grouped
        alive = np.cumsum(alive_diff, axis=1)[:, : T + 1]
        out[j, 3:5] = ints[3:5]
        out[j, 0, 0] = book.lump_fee_month0
        out[j, 5, 0] = book.administration_fee_month0
        out[j, 1] = (alive * book.inst_factor).sum(axis=0)
        out[j, 2] = model.refunds_paid(ints[2])
        if bar is not None:
            bar.update()


def simulate_mortgage(portfolio: pd.DataFrame, model: MortgageModel, n_scenarios: int, seed: int, *,
                      threads: int | None = None, progress: bool | None = None, backend: str = "local", client=None,
                      scheduler: str | None = None, chunk_scenarios: int = 50, claims: int = 0) -> SimulationResult:
    """Simulate a mortgage-guarantee book; same contract as :func:`~actuarial.simulation.simulate`.

    Lines are :data:`MORTGAGE_LINES`; ``losses['net_loss']`` is subrogation - recoveries and
    ``losses['fees']`` the fee income net of refunds. ``claims=K``: the defaults of the first
    ``K`` scenarios, one row each (:func:`default_claims`).
    """
    threads = check_run_arguments(n_scenarios=n_scenarios, seed=seed, threads=threads,
                                  chunk_scenarios=chunk_scenarios, backend=backend, claims=claims)
    book = prepare_mortgage_book(portfolio, model)
    if claims and len(book.status.performing) < len(book.principal):
        raise ValueError(f"claims lists the defaults of loans performing on the valuation date; this book has "
                         f"{len(book.principal) - len(book.status.performing):,d} delinquent or subrogated loans "
                         f"(simulate_mortgage_groups gives their subrogation and recoveries)")
    T = model.months
    bar = progress_bar(progress, n_scenarios, len(book.principal) * n_scenarios, 10**7)
    flows = np.zeros((n_scenarios, len(MORTGAGE_LINES), T + 1))
    z = np.empty(n_scenarios)
    run_scenarios(run_into, book, model, seed, n_scenarios, (flows, z), threads=threads, backend=backend,
                  client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios, bar=bar)
    bar.close()
    totals = flows.sum(axis=2)
    losses = pd.DataFrame(totals, columns=list(MORTGAGE_LINES))
    losses.insert(0, "z", z)
    losses["fees"] = fee_income(losses)
    losses["net_loss"] = losses["subrogation"] - losses["recoveries"]
    return SimulationResult(cash_flows=flows, losses=losses, seed=seed, lines=MORTGAGE_LINES, signs=SIGNS.copy(),
                            claims=default_claims(book, model, seed, int(claims)) if claims else None)
