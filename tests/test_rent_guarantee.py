"""Rent guarantee fee plans and subrogation split (Zenhoren collection article, docs/domain.md §1.1-§1.2)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actuarial.products.jhf_insurance import JHFTerms
from actuarial.products.rent_guarantee import FeePlan

YEARLY = FeePlan(name="zenhoren_yearly", initial_rate=0.5, initial_min_yen=20_000, renewal_yen=10_000,
                 renewal_interval_months=12, coverage_months=24,
                 covered_costs={"suit_costs": None, "restoration": 200_000})
ONE_TIME = FeePlan(name="one_time", initial_rate=0.8, initial_min_yen=20_000)
MONTHLY = FeePlan(name="monthly", initial_fixed_yen=10_000, monthly_rate=0.02)


def test_initial_fee_percentage_with_minimum():
    assert YEARLY.initial_fee(monthly_total_yen=70_000) == 35_000
    assert YEARLY.initial_fee(monthly_total_yen=40_000) == 20_000  # 50% = 20,000 exactly at the minimum
    assert YEARLY.initial_fee(monthly_total_yen=30_000) == 20_000
    assert ONE_TIME.initial_fee(monthly_total_yen=70_001) == 56_000  # 56,000.8 truncated


def test_monthly_total_excludes_parking_unless_plan_includes_it():
    assert YEARLY.monthly_total(rent_yen=60_000, management_fee_yen=4_000, common_fee_yen=2_000,
                                parking_fee_yen=10_000) == 66_000
    with_parking = FeePlan(name="p", parking_in_total=True)
    assert with_parking.monthly_total(rent_yen=60_000, parking_fee_yen=10_000) == 70_000


def test_fee_schedules():
    y = YEARLY.fee_schedule(monthly_total_yen=80_000, months_in_force=37)
    assert y[0] == 40_000 and y[12] == y[24] == y[36] == 10_000
    assert y.sum() == 70_000
    assert ONE_TIME.fee_schedule(monthly_total_yen=80_000, months_in_force=60).sum() == 64_000
    m = MONTHLY.fee_schedule(monthly_total_yen=80_000, months_in_force=12)
    assert m[0] == 11_600 and m[1] == 1_600 and m.sum() == 10_000 + 12 * 1_600
    biennial = FeePlan(name="b", initial_rate=0.5, renewal_rate=0.3, renewal_interval_months=24)
    assert biennial.fee_schedule(monthly_total_yen=100_000,
                                 months_in_force=49)[[12, 24, 48]].tolist() == [0, 30_000, 30_000]


def test_fees_vectorised_agree_with_scalars():
    totals = np.array([10_000, 40_000, 65_432, 123_457])
    for plan in (YEARLY, ONE_TIME, MONTHLY):
        for f in (plan.initial_fee, plan.renewal_fee, plan.monthly_fee):
            assert f(monthly_total_yen=totals).tolist() == [f(monthly_total_yen=int(t)) for t in totals]


def test_subrogation_within_coverage_limit():
    s = YEARLY.subrogate(months_unpaid=30, rent_yen=70_000, management_fee_yen=5_000, parking_fee_yen=8_000,
                         costs_yen={"suit_costs": 450_000, "restoration": 350_000, "removal": 200_000})
    assert s.months_subrogated == 24
    assert s.items_yen["rent"] == 24 * 70_000
    assert s.items_yen["management_fee"] == 24 * 5_000
    assert s.items_yen["parking_fee"] == 0 and s.landlord_borne_yen["parking_fee"] == 30 * 8_000
    assert s.landlord_borne_yen["rent"] == 6 * 70_000
    assert s.items_yen["suit_costs"] == 450_000
    assert s.items_yen["restoration"] == 200_000 and s.landlord_borne_yen["restoration"] == 150_000
    assert s.items_yen["removal"] == 0 and s.landlord_borne_yen["removal"] == 200_000
    assert s.rent_yen == 24 * 75_000
    assert s.total_yen == 24 * 75_000 + 450_000 + 200_000


def test_subrogation_feeds_the_jhf_payout_with_only_covered_items():
    s = YEARLY.subrogate(months_unpaid=5, rent_yen=60_000, costs_yen={"suit_costs": 400_000})
    assert JHFTerms().payout(subrogated_rent=s, rent_at_start=60_000) == 210_000  # 0.7 x 300,000; suit costs out


def test_zero_months_unpaid_subrogates_nothing_for_rent():
    s = YEARLY.subrogate(months_unpaid=0, rent_yen=60_000)
    assert s.total_yen == 0


@given(months=st.integers(0, 60), rent=st.integers(0, 300_000), limit=st.integers(0, 36))
def test_subrogated_rent_never_exceeds_the_limit(months, rent, limit):
    plan = FeePlan(name="p", coverage_months=limit)
    s = plan.subrogate(months_unpaid=months, rent_yen=rent)
    assert s.rent_yen <= plan.coverage_limit_yen(monthly_total_yen=rent)
    assert s.rent_yen + s.landlord_borne_yen["rent"] == months * rent


@pytest.mark.parametrize("kwargs, needle", [
    ({"name": ""}, "name"),
    ({"name": "p", "initial_rate": 1.5}, "initial_rate"),
    ({"name": "p", "initial_min_yen": -1}, "initial_min_yen"),
    ({"name": "p", "renewal_interval_months": 0}, "renewal_interval_months"),
    ({"name": "p", "covered_costs": {"lawyer": None}}, "lawyer"),
    ({"name": "p", "covered_costs": {"suit_costs": -5}}, "suit_costs"),
    ({"name": "p", "parking_in_total": "yes"}, "parking_in_total"),
])
def test_plan_bad_input(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        FeePlan(**kwargs)


def test_subrogation_bad_input():
    with pytest.raises(ValueError, match="months_unpaid"):
        YEARLY.subrogate(months_unpaid=-1, rent_yen=1)
    with pytest.raises(ValueError, match="rent_yen"):
        YEARLY.subrogate(months_unpaid=1, rent_yen=-1)
    with pytest.raises(ValueError, match="unknown cost 'fine'"):
        YEARLY.subrogate(months_unpaid=1, rent_yen=1, costs_yen={"fine": 3})
    with pytest.raises(ValueError, match="monthly_total_yen"):
        YEARLY.initial_fee(monthly_total_yen="70000")
