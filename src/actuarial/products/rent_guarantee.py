"""Rent guarantee (家賃債務保証) fee plans and what a subrogation consists of (docs/domain.md §1).

A tenant signs a guarantee contract (保証委託契約) instead of naming a joint guarantor.
The guarantor earns fees (an initial fee, renewals, or a monthly fee); when rent goes
unpaid it pays the landlord in the tenant's place (subrogation, 代位弁済) up to the plan's
coverage limit, then collects from the tenant.

"Monthly total" is rent + management fee (管理費) + common-area fee (共益費); parking is
outside it unless the plan says otherwise. Fees are truncated to the yen (assumption: the
market pages quote whole-yen minimums and percentages only).

>>> plan = FeePlan(name="yearly", initial_rate=0.5, initial_min_yen=20_000, renewal_yen=10_000,
...                renewal_interval_months=12, coverage_months=24)
>>> plan.initial_fee(monthly_total_yen=70_000), plan.renewal_fee(monthly_total_yen=70_000)
(35000, 10000)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from .common import COST_ITEMS, check_count, check_rate, check_yen, mul_floor, rate_fraction

#: Costs a plan may pay besides rent (parking is rent-like and handled by ``parking_in_total``).
PLAN_COSTS = tuple(c for c in COST_ITEMS if c != "parking_fee")


@dataclasses.dataclass(frozen=True)
class Subrogation:
    """A subrogation split by item, in yen.

    ``items_yen`` is what the guarantor pays, by item (rent, management_fee, common_fee,
    parking_fee and each cost); ``landlord_borne_yen`` is what stays unpaid by the
    guarantor because the plan does not cover it or its limit is reached.
    """

    months_unpaid: int
    months_subrogated: int
    items_yen: dict
    landlord_borne_yen: dict

    @property
    def total_yen(self) -> int:
        """Everything the guarantor paid."""
        return sum(self.items_yen.values())

    @property
    def rent_yen(self) -> int:
        """Rent including management and common-area fees (the JHF-covered part)."""
        return sum(self.items_yen[k] for k in ("rent", "management_fee", "common_fee"))


@dataclasses.dataclass(frozen=True)
class FeePlan:
    """A rent guarantee fee plan.

    Fees on a monthly total ``T`` (yen):

    - initial: ``max(floor(initial_rate x T), initial_min_yen) + initial_fixed_yen``;
    - renewal, every ``renewal_interval_months``: ``renewal_yen + floor(renewal_rate x T)``;
    - monthly: ``monthly_fixed_yen + floor(monthly_rate x T)``.

    The guarantor subrogates up to ``coverage_months`` months of the monthly total, and the
    costs listed in ``covered_costs`` (item -> cap in yen, ``None`` for no cap).
    """

    name: str
    initial_rate: float = 0.0
    initial_min_yen: int = 0
    initial_fixed_yen: int = 0
    renewal_yen: int = 0
    renewal_rate: float = 0.0
    renewal_interval_months: int = 12
    monthly_rate: float = 0.0
    monthly_fixed_yen: int = 0
    coverage_months: int = 24
    covered_costs: Mapping = dataclasses.field(default_factory=dict)
    parking_in_total: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        for f in ("initial_rate", "renewal_rate", "monthly_rate"):
            check_rate(f, getattr(self, f))
        for f in ("initial_min_yen", "initial_fixed_yen", "renewal_yen", "monthly_fixed_yen"):
            check_yen(f, getattr(self, f))
        check_count("renewal_interval_months", self.renewal_interval_months, minimum=1)
        check_count("coverage_months", self.coverage_months)
        if not isinstance(self.covered_costs, Mapping):
            raise ValueError(f"covered_costs must map cost -> cap in yen (or None), got {self.covered_costs!r}")
        for item, cap in self.covered_costs.items():
            if item not in PLAN_COSTS:
                raise ValueError(f"covered_costs has unknown cost {item!r}; known: {', '.join(PLAN_COSTS)}")
            if cap is not None:
                check_yen(f"covered_costs[{item!r}]", cap)
        if not isinstance(self.parking_in_total, bool):
            raise ValueError(f"parking_in_total must be True/False, got {self.parking_in_total!r}")
        object.__setattr__(self, "covered_costs", dict(self.covered_costs))

    @property
    def renews(self) -> bool:
        return self.renewal_yen > 0 or self.renewal_rate > 0

    def total_items(self, *, rent_yen, management_fee_yen=0, common_fee_yen=0, parking_fee_yen=0) -> dict:
        """What the monthly total consists of, item -> yen: rent, management and common-area
        fees, and parking when ``parking_in_total``. A month subrogated pays each of them, and
        JHF covers those in its ``covered_items`` (:meth:`JHFTerms.covered_amount
        <actuarial.products.jhf_insurance.JHFTerms.covered_amount>`).

        >>> FeePlan(name="p", parking_in_total=True).total_items(rent_yen=70_000, parking_fee_yen=10_000)
        {'rent': 70000, 'management_fee': 0, 'common_fee': 0, 'parking_fee': 10000}
        """
        items = {"rent": check_yen("rent_yen", rent_yen),
                 "management_fee": check_yen("management_fee_yen", management_fee_yen),
                 "common_fee": check_yen("common_fee_yen", common_fee_yen)}
        parking = check_yen("parking_fee_yen", parking_fee_yen)
        if self.parking_in_total:
            items["parking_fee"] = parking
        return items

    def monthly_total(self, *, rent_yen, management_fee_yen=0, common_fee_yen=0, parking_fee_yen=0):
        """Monthly total the fees and the coverage are based on, in yen: the sum of
        :meth:`total_items`."""
        items = self.total_items(rent_yen=rent_yen, management_fee_yen=management_fee_yen,
                                 common_fee_yen=common_fee_yen, parking_fee_yen=parking_fee_yen)
        return sum(items.values())

    def initial_fee(self, *, monthly_total_yen):
        """Initial guarantee fee (初回保証料), in yen."""
        t = check_yen("monthly_total_yen", monthly_total_yen)
        pct = mul_floor(t, rate_fraction(self.initial_rate, "initial_rate"))
        return np.maximum(pct, self.initial_min_yen) + self.initial_fixed_yen if isinstance(t, np.ndarray) \
            else max(pct, self.initial_min_yen) + self.initial_fixed_yen

    def renewal_fee(self, *, monthly_total_yen):
        """Fee charged at each renewal (更新保証料), in yen; 0 for a one-time plan."""
        t = check_yen("monthly_total_yen", monthly_total_yen)
        return self.renewal_yen + mul_floor(t, rate_fraction(self.renewal_rate, "renewal_rate"))

    def monthly_fee(self, *, monthly_total_yen):
        """Fee charged every month (月額保証料), in yen; 0 for a yearly or one-time plan."""
        t = check_yen("monthly_total_yen", monthly_total_yen)
        return self.monthly_fixed_yen + mul_floor(t, rate_fraction(self.monthly_rate, "monthly_rate"))

    def fee_schedule(self, *, monthly_total_yen, months_in_force) -> np.ndarray:
        """Fee income by month of the contract, ``int64`` yen, length ``months_in_force``.

        Month 0 carries the initial fee and the first monthly fee; a renewal falls at each
        multiple of ``renewal_interval_months`` while the contract is in force.

        >>> FeePlan(name="y", initial_rate=0.5, initial_min_yen=20_000, renewal_yen=10_000
        ...         ).fee_schedule(monthly_total_yen=60_000, months_in_force=25)[[0, 1, 12, 24]].tolist()
        [30000, 0, 10000, 10000]
        """
        t = check_yen("monthly_total_yen", monthly_total_yen)
        if isinstance(t, np.ndarray):
            raise ValueError("monthly_total_yen must be one amount for fee_schedule")
        n = check_count("months_in_force", months_in_force, minimum=1)
        fees = np.full(n, self.monthly_fee(monthly_total_yen=t), dtype=np.int64)
        fees[0] += self.initial_fee(monthly_total_yen=t)
        if self.renews:
            fees[self.renewal_interval_months::self.renewal_interval_months] += self.renewal_fee(monthly_total_yen=t)
        return fees

    def coverage_limit_yen(self, *, monthly_total_yen):
        """Most rent the guarantor subrogates: ``coverage_months x monthly total``."""
        return self.coverage_months * check_yen("monthly_total_yen", monthly_total_yen)

    def subrogate(self, *, months_unpaid, rent_yen, management_fee_yen=0, common_fee_yen=0, parking_fee_yen=0,
                  costs_yen: Mapping | None = None) -> Subrogation:
        """Split what the guarantor pays for a delinquency outcome into items.

        Defined as: each rent item x ``min(months_unpaid, coverage_months)`` (parking too
        when ``parking_in_total``), plus each cost up to the plan's cap for it; the rest is
        left with the landlord.

        >>> plan = FeePlan(name="p", coverage_months=6, covered_costs={"suit_costs": 300_000})
        >>> s = plan.subrogate(months_unpaid=8, rent_yen=80_000, management_fee_yen=5_000,
        ...                    costs_yen={"suit_costs": 450_000, "restoration": 120_000})
        >>> s.items_yen["rent"], s.items_yen["suit_costs"], s.landlord_borne_yen["restoration"], s.total_yen
        (480000, 300000, 120000, 810000)
        """
        m = check_count("months_unpaid", months_unpaid)
        covered_months = min(m, self.coverage_months)
        monthly = {
            "rent": check_yen("rent_yen", rent_yen),
            "management_fee": check_yen("management_fee_yen", management_fee_yen),
            "common_fee": check_yen("common_fee_yen", common_fee_yen),
            "parking_fee": check_yen("parking_fee_yen", parking_fee_yen),
        }
        costs = dict(costs_yen or {})
        for item in costs:
            if item not in PLAN_COSTS:
                raise ValueError(f"costs_yen has unknown cost {item!r}; known: {', '.join(PLAN_COSTS)}")
        paid, borne = {}, {}
        for item, amount in monthly.items():
            pays = item != "parking_fee" or self.parking_in_total
            paid[item] = amount * covered_months if pays else 0
            borne[item] = amount * m - paid[item]
        for item in PLAN_COSTS:
            amount = check_yen(f"costs_yen[{item!r}]", costs.get(item, 0))
            if item in self.covered_costs:
                cap = self.covered_costs[item]
                paid[item] = amount if cap is None else min(amount, cap)
            else:
                paid[item] = 0
            borne[item] = amount - paid[item]
        return Subrogation(months_unpaid=m, months_subrogated=covered_months, items_yen=paid, landlord_borne_yen=borne)
