"""The rent-guarantee model's parameters (:class:`RentModel`) and its cash-flow lines (:data:`LINES`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from fractions import Fraction

import numpy as np

from ...collection import COST_EXECUTION, COST_SUIT, NO_COST, CollectionChain, state_codes
from ...normal import norm
from ...products.common import MAX_SENSITIVITY, check_count, check_rate, check_yen, is_real, rate_fraction
from ...products.jhf_insurance import JHFTerms
from ...products.rent_guarantee import FeePlan
from ..result import RENT_LINES, RENT_SIGNS

#: Cash-flow lines of the S x (T+1) output, all as positive amounts of yen, and their signs.
LINES, SIGNS = RENT_LINES, RENT_SIGNS


@dataclasses.dataclass(frozen=True)
class RentModel:
    """Parameters of the rent-guarantee model (:mod:`actuarial.simulation.rent`, docs/model.md)."""

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
    # each cost also scales with the flat: a multiple of the contract's monthly total (months)
    suit_cost_months: float = 0.0
    execution_cost_months: float = 0.0
    removal_cost_months: float = 0.0
    restoration_cost_months: float = 0.0
    jhf: JHFTerms = JHFTerms()
    months: int = 60
    jhf_refused_share: float = 0.0  # share of insured events JHF refuses (保険免責)
    projection_start: dt.date | None = None  # the date of projection month 0 (policy years)

    def __post_init__(self):
        for name in ("moveout_hazard", "rho", "recovery_rate", "jhf_refused_share"):
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
        for name in ("suit_cost_months", "execution_cost_months", "removal_cost_months", "restoration_cost_months"):
            value = getattr(self, name)
            if not is_real(value) or not 0 <= value <= 120:
                raise ValueError(f"{name} must be a number of months in [0, 120], got {value!r}")
            rate_fraction(value, name)  # taken as an exact fraction: at most six decimals
        if isinstance(self.good_exit_sensitivity, bool) or not isinstance(self.good_exit_sensitivity, (int, float)) \
                or not math.isfinite(self.good_exit_sensitivity) \
                or not 0 <= self.good_exit_sensitivity <= MAX_SENSITIVITY:
            raise ValueError(f"good_exit_sensitivity must be a number in [0, {MAX_SENSITIVITY:g}], got "
                             f"{self.good_exit_sensitivity!r}")
        if self.projection_start is not None and not isinstance(self.projection_start, dt.date):
            raise ValueError(f"projection_start must be a date, got {self.projection_start!r}")
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
                   suit_cost_months=c.suit_cost_months, execution_cost_months=c.execution_cost_months,
                   removal_cost_months=c.removal_cost_months, restoration_cost_months=c.restoration_cost_months,
                   **scenario.rent_model.model_dump())

    # -- scenario-dependent pieces (shared with the exact oracle) --------------------------------
    def hazard(self, grade_hazard: float, z: float) -> float:
        """Vasicek conditional monthly hazard ``Phi((Phi^-1(h) - sqrt(rho) z) / sqrt(1 - rho))``."""
        return float(norm.cdf((norm.ppf(grade_hazard) - math.sqrt(self.rho) * z) / math.sqrt(1 - self.rho)))

    def good_exit_multiplier(self, z: float) -> float:
        """``exp(beta min(z, 0))``: 1 in good economies, lower in bad ones."""
        return math.exp(self.good_exit_sensitivity * min(z, 0.0))

    def recovery_after_exit(self, arrears_yen, z):
        """``floor(arrears x recovery_rate x exp(beta min(z, 0)))``, yen: an ``int`` for a
        scalar, an ``int64`` array for an array (the exact oracle's); for an array of factors
        ``z``, scenarios x arrears."""
        multiplier = self.good_exit_multiplier(z) if np.ndim(z) == 0 else \
            np.array([self.good_exit_multiplier(float(x)) for x in np.ravel(z)])[:, None]
        rec = np.floor(np.asarray(arrears_yen) * self.recovery_rate * multiplier + 1e-9)
        return int(rec) if rec.ndim == 0 else rec.astype(np.int64)

    def entry_cost_terms(self) -> dict:
        """Each entry-cost code of :func:`~actuarial.collection.state_codes` as ``(fixed yen,
        multiple of the monthly total)``, the multiple an exact fraction: ``NO_COST`` nothing,
        ``COST_SUIT`` the suit cost, ``COST_EXECUTION`` the execution, removal and restoration
        costs together (the restoration and removal of a larger flat cost more:
        docs/domain.md §1.4)."""
        months = sum(rate_fraction(getattr(self, f"{name}_cost_months"), f"{name}_cost_months")
                     for name in ("execution", "removal", "restoration"))
        return {NO_COST: (0, Fraction(0)),
                COST_SUIT: (self.suit_cost_yen, rate_fraction(self.suit_cost_months, "suit_cost_months")),
                COST_EXECUTION: (self.execution_cost_yen + self.removal_cost_yen + self.restoration_cost_yen, months)}

    def entry_costs_yen(self, monthly_total_yen=0) -> np.ndarray:
        """The cost in yen charged in the month each state of :data:`~actuarial.collection.STATES`
        is entered, by its rule's ``entry_cost``, for a contract of monthly total
        ``monthly_total_yen``: ``fixed + floor(multiple x monthly total)`` (the multiple's part
        truncated to the yen), :meth:`entry_cost_terms`; 0 for the states without a cost. An
        array of totals gives one row a contract.

        >>> from actuarial.collection import STATES
        >>> chain = CollectionChain.from_transitions({"dunning": {"cure": 1.0}})
        >>> m = RentModel(chain=chain, plans={}, delinquency_hazard={"A": 0.1}, suit_cost_yen=5,
        ...               execution_cost_yen=1, removal_cost_yen=2, restoration_cost_yen=3, restoration_cost_months=1.5)
        >>> {s: int(c) for s, c in zip(STATES, m.entry_costs_yen(monthly_total_yen=71), strict=True) if c}
        {'suit': 5, 'forced_execution': 112}
        """
        fixed, num, den = self.entry_cost_arrays()
        total = np.asarray(monthly_total_yen, dtype=np.int64)[..., None]
        return fixed + total * num // den

    def entry_cost_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`entry_cost_terms` by state: ``(fixed, num, den)``, int64 arrays over
        :data:`~actuarial.collection.STATES` (what the kernel reads)."""
        terms = self.entry_cost_terms()
        codes = [int(c) for c in state_codes().entry_cost]
        return (np.array([terms[c][0] for c in codes], dtype=np.int64),
                np.array([terms[c][1].numerator for c in codes], dtype=np.int64),
                np.array([terms[c][1].denominator for c in codes], dtype=np.int64))
