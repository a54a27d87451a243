"""JHF rent-debt-guarantee insurance (JHF guide, 2023-04-01): golden values, boundaries, properties, bad input."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actuarial.products.jhf_insurance import ELIGIBILITY_CONDITIONS, JHFTerms

T = JHFTerms()
yen = st.integers(min_value=0, max_value=5_000_000)
rents = st.integers(min_value=0, max_value=500_000)


# -- golden values from the JHF guide 家賃債務保証保険のご案内 (2023-04-01) -----------------
def test_seed_worked_example():
    assert T.payout_limits(subrogated_rent=1_400_000, rent_at_start=100_000) == {
        "coverage": 980_000, "months": 840_000, "yen": 1_000_000}
    assert T.payout(subrogated_rent=1_400_000, rent_at_start=100_000) == 840_000


def test_seed_premium_is_a_quarter_of_rent_with_fees_not_parking():
    assert T.premium(rent=100_000, management_fee=0, common_fee=0, parking_fee=0) == 25_000
    assert T.premium(rent=70_000, management_fee=5_000, common_fee=3_000, parking_fee=12_000) == 19_500


def test_premium_truncates_to_the_yen():
    assert T.premium(rent=50_001) == 12_500  # 12,500.25
    assert T.premium(rent=50_003) == 12_500  # 12,500.75


# -- each cap binding -------------------------------------------------------------------------
def test_coverage_limit_binds_for_short_arrears():
    assert T.payout(subrogated_rent=300_000, rent_at_start=100_000) == 210_000
    assert T.binding_limit(subrogated_rent=300_000, rent_at_start=100_000) == "coverage"


def test_month_cap_binds_from_twelve_months():
    assert T.payout(subrogated_rent=12 * 100_000, rent_at_start=100_000) == 840_000
    assert T.payout(subrogated_rent=13 * 100_000, rent_at_start=100_000) == 840_000
    assert T.payout(subrogated_rent=11 * 100_000, rent_at_start=100_000) == 770_000
    assert T.binding_limit(subrogated_rent=13 * 100_000, rent_at_start=100_000) == "months"


def test_yen_cap_binds_for_high_rent():
    # 8.4 months of 150,000 = 1,260,000 > 1,000,000
    assert T.payout(subrogated_rent=24 * 150_000, rent_at_start=150_000) == 1_000_000
    assert T.binding_limit(subrogated_rent=24 * 150_000, rent_at_start=150_000) == "yen"
    # exactly at the yen cap through the coverage limit: 0.7 x 1,428,572 = 1,000,000.4
    assert T.payout(subrogated_rent=1_428_572, rent_at_start=200_000) == 1_000_000


def test_month_cap_uses_rent_at_start_not_later_rent():
    assert T.payout(subrogated_rent=20 * 120_000, rent_at_start=100_000) == 840_000


def test_breakdown_counts_only_covered_items():
    breakdown = {"rent": 900_000, "management_fee": 45_000, "common_fee": 15_000, "parking_fee": 120_000,
                 "restoration": 300_000, "suit_costs": 500_000, "renewal_fee": 10_000, "removal": 250_000,
                 "early_termination_penalty": 100_000}
    assert T.covered_amount(breakdown) == 960_000
    assert T.payout(subrogated_rent=breakdown, rent_at_start=80_000) == 672_000  # 8.4 x 80,000
    assert T.payout(subrogated_rent={"rent": 300_000, "suit_costs": 900_000}, rent_at_start=100_000) == 210_000


def test_variant_terms_are_parameters():
    support = JHFTerms(coverage_ratio=0.9, cap_months=18, premium_rate=0.35, cap_yen=None,
                       covered_items=("rent", "management_fee", "common_fee", "restoration"))
    assert support.payout(subrogated_rent={"rent": 2_000_000, "restoration": 200_000},
                          rent_at_start=100_000) == 1_620_000
    assert support.payout(subrogated_rent={"rent": 500_000, "restoration": 200_000}, rent_at_start=100_000) == 630_000
    assert support.premium(rent=100_000) == 35_000
    assert "yen" not in support.payout_limits(subrogated_rent=1, rent_at_start=1)


# -- properties ---------------------------------------------------------------------------------
@given(sub=yen, rent=rents)
def test_payout_between_zero_and_each_cap(sub, rent):
    p = T.payout(subrogated_rent=sub, rent_at_start=rent)
    assert 0 <= p <= 0.7 * sub + 1e-9
    assert p <= 0.7 * 12 * rent + 1e-9
    assert p <= 1_000_000


@given(sub=yen, extra=yen, rent=rents)
def test_payout_non_decreasing_in_subrogated_rent(sub, extra, rent):
    assert (T.payout(subrogated_rent=sub + extra, rent_at_start=rent)
            >= T.payout(subrogated_rent=sub, rent_at_start=rent))


@given(a=rents, b=rents, k=st.integers(min_value=0, max_value=20))
def test_premium_linear_in_rent(a, b, k):
    assert T.premium(rent=4 * k * a) == k * a
    combined = T.premium(rent=a + b)
    assert combined - T.premium(rent=a) - T.premium(rent=b) in (0, 1)


@given(st.lists(st.tuples(yen, rents), min_size=1, max_size=30))
def test_scalar_and_array_payouts_agree(pairs):
    sub = np.array([p[0] for p in pairs])
    rent = np.array([p[1] for p in pairs])
    arr = T.payout(subrogated_rent=sub, rent_at_start=rent)
    assert arr.dtype == np.int64
    assert arr.tolist() == [T.payout(subrogated_rent=int(s), rent_at_start=int(r)) for s, r in pairs]
    prem = T.premium(rent=rent, management_fee=sub % 10_000)
    assert prem.tolist() == [T.premium(rent=int(r), management_fee=int(s) % 10_000) for s, r in pairs]
    rem = T.remittance(recovered_after_payout=sub)
    assert rem.tolist() == [T.remittance(recovered_after_payout=int(s)) for s in sub]


# -- insured event, dates, remittance -----------------------------------------------------------
def test_insured_event_needs_subrogation_and_end_or_name_change():
    assert T.insured_event(subrogated_yen=1, contract_ended=True) is True
    assert T.insured_event(subrogated_yen=1, contract_ended=False, name_changed=True) is True
    assert T.insured_event(subrogated_yen=1, contract_ended=False) is False
    assert T.insured_event(subrogated_yen=0, contract_ended=True, name_changed=True) is False
    arr = T.insured_event(subrogated_yen=np.array([0, 5, 5]), contract_ended=np.array([True, True, False]))
    assert arr.tolist() == [False, True, False]


def test_payment_within_thirty_days_of_claim():
    assert T.payment_date("2024-02-15") == dt.date(2024, 3, 16)  # leap year
    assert JHFTerms(payment_lag_days=10).payment_date(dt.datetime(2024, 1, 1, 9)) == dt.date(2024, 1, 11)


def test_remittance_is_seventy_percent_truncated():
    assert T.remittance(recovered_after_payout=200_000) == 140_000
    assert T.remittance(recovered_after_payout=1) == 0
    assert T.remittance(recovered_after_payout=0) == 0


def test_policy_year_runs_april_to_march():
    assert T.policy_year(dt.date(2023, 4, 1)) == 2023
    assert T.policy_year(dt.date(2024, 3, 31)) == 2023
    assert T.policy_year("2024-04-01") == 2024
    assert T.policy_year(dt.datetime(2025, 1, 5, 12)) == 2024
    years = T.policy_year(pd.Series(["2023-03-31", "2023-04-01", "2024-12-31"]))
    assert years.tolist() == [2022, 2023, 2024]


def test_contract_amount_caps_the_insurance_attached_in_each_policy_year():
    """JHF guide V-4: the usable amount is capped by the insurance contract amount. Each
    guarantee uses its claim-free limit (rent 100,000: 840,000; rent 150,000: 1,000,000, the
    yen cap; rent 50,000: 420,000). FY2024, 2,000,000: April 840,000 then June 1,000,000 (total
    1,840,000); September 840,000 does not fit; the March one, 100,000 rent at 840,000, does
    not either; a 15,000-rent one (126,000 of the 160,000 left) still fits; FY2025 starts afresh
    on 1 April."""
    t = JHFTerms(contract_amount_yen=2_000_000)
    g = pd.DataFrame({
        "attach_date": ["2024-06-01", "2024-04-10", "2024-09-01", "2025-03-31", "2025-03-31", "2025-04-01"],
        "rent_at_start": [150_000, 100_000, 100_000, 100_000, 15_000, 100_000],
    })
    out = t.attach_within_contract_amount(g)
    assert out["limit_yen"].tolist() == [1_000_000, 840_000, 840_000, 840_000, 126_000, 840_000]
    assert out["attached"].tolist() == [True, True, False, False, True, True]
    assert out["policy_year"].tolist() == [2024, 2024, 2024, 2024, 2024, 2025]
    assert T.attach_within_contract_amount(g)["attached"].all()  # no amount set: all attached
    # guarantees insured already use the year's amount first, whatever their date
    committed = g.assign(committed=[False, False, False, False, False, False])
    committed.loc[2, "committed"] = True
    again = t.attach_within_contract_amount(committed)
    assert again["attached"].tolist() == [False, True, True, False, True, True]  # 840,000 + 840,000, then no room


# -- eligibility ----------------------------------------------------------------------------------
def _applicant(**over):
    row = {"support_categories": "elderly", "registered_dwelling": True, "monthly_income_yen": 200_000,
           "rent_at_start_yen": 100_000, "other_guarantor": False, "antisocial": False,
           "identity_verified": True, "consent_to_jhf": True}
    row.update(over)
    return row


def test_eligible_applicant_and_income_exactly_twice_rent():
    out = T.eligibility(pd.DataFrame([_applicant(), _applicant(monthly_income_yen=199_999)]))
    assert out["eligible"].tolist() == [True, False]
    assert out["failed"].tolist() == ["", "income"]


@pytest.mark.parametrize("override, failed", [
    ({"support_categories": ""}, "support_category"),
    ({"registered_dwelling": False}, "registered_dwelling"),
    ({"monthly_income_yen": 150_000}, "income"),
    ({"other_guarantor": True}, "no_other_guarantor"),
    ({"antisocial": True}, "not_antisocial"),
    ({"identity_verified": False}, "identity_verified"),
    ({"consent_to_jhf": False}, "consent"),
])
def test_each_condition_fails_alone(override, failed):
    out = T.eligibility(pd.DataFrame([_applicant(**override)]))
    assert not out["eligible"].iloc[0]
    assert out["failed"].iloc[0] == failed
    assert out[failed].iloc[0] == False  # noqa: E712
    assert out[[c for c in ELIGIBILITY_CONDITIONS if c != failed]].all(axis=1).iloc[0]


def test_all_eight_categories_and_the_dwelling_range():
    cats = ["elderly", "child_rearing", "poverty", "low_income", "disabled", "disaster_victim",
            "foreign_national", "other_designated"]
    out = T.eligibility(pd.DataFrame([_applicant(support_categories=c) for c in cats]))
    assert out["eligible"].all()
    df = pd.DataFrame([
        _applicant(support_categories=["elderly", "low_income"], dwelling_accepts="low_income"),
        _applicant(support_categories="foreign_national", dwelling_accepts="elderly|disabled"),
        _applicant(support_categories="disabled", dwelling_accepts=None),
    ])
    assert T.eligibility(df)["eligible"].tolist() == [True, False, True]


def test_several_failures_are_all_named():
    out = T.eligibility(pd.DataFrame([_applicant(antisocial=True, consent_to_jhf=False, registered_dwelling=False)]))
    assert out["failed"].iloc[0] == "registered_dwelling,not_antisocial,consent"


def test_eligibility_keeps_the_index():
    df = pd.DataFrame([_applicant(), _applicant(antisocial=True)], index=["A-1", "B-2"])
    assert T.eligibility(df).loc["B-2", "failed"] == "not_antisocial"


# -- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, needle", [
    ({"rent": -1}, "rent"),
    ({"rent": "100000"}, "rent"),
    ({"rent": 1000.5}, "rent"),
    ({"rent": True}, "rent"),
    ({"rent": 1000, "management_fee": -5}, "management_fee"),
    ({"rent": 1000, "parking_fee": None}, "parking_fee"),
    ({"rent": np.array([100, -1])}, "position 1"),
])
def test_premium_bad_input_names_the_argument(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        T.premium(**kwargs)


def test_payout_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="rent_at_start"):
        T.payout(subrogated_rent=100, rent_at_start=-100)
    with pytest.raises(ValueError, match="subrogated_rent.*-1"):
        T.payout(subrogated_rent=-1, rent_at_start=100)
    with pytest.raises(ValueError, match="unknown item 'lawyer'"):
        T.payout(subrogated_rent={"rent": 100, "lawyer": 5}, rent_at_start=100)
    with pytest.raises(ValueError, match=r"subrogated_rent\['restoration'\]"):
        T.payout(subrogated_rent={"rent": 100, "restoration": -5}, rent_at_start=100)


@pytest.mark.parametrize("kwargs, needle", [
    ({"coverage_ratio": 1.2}, "coverage_ratio"),
    ({"premium_rate": -0.1}, "premium_rate"),
    ({"cap_months": 0}, "cap_months"),
    ({"cap_yen": -1}, "cap_yen"),
    ({"covered_items": ("rent", "lawyer")}, "lawyer"),
    ({"payment_lag_days": 1.5}, "payment_lag_days"),
    ({"effective_from": "2023-04-01"}, "effective_from"),
])
def test_terms_bad_input(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        JHFTerms(**kwargs)


def test_dates_and_claims_bad_input():
    with pytest.raises(ValueError, match="date.*2023-02-30"):
        T.policy_year("2023-02-30")
    with pytest.raises(ValueError, match="claim_date"):
        T.payment_date(20240101)
    with pytest.raises(ValueError, match="missing column 'rent_at_start'"):
        T.attach_within_contract_amount(pd.DataFrame({"attach_date": ["2024-04-01"]}))
    with pytest.raises(ValueError, match="rent_at_start"):
        T.attach_within_contract_amount(pd.DataFrame({"attach_date": ["2024-04-01"], "rent_at_start": [-5]}))
    with pytest.raises(ValueError, match="date"):
        T.attach_within_contract_amount(pd.DataFrame({"attach_date": ["2024-02-30"], "rent_at_start": [5]}))
    with pytest.raises(ValueError, match="recovered_after_payout"):
        T.remittance(recovered_after_payout=-3)


def test_eligibility_bad_input_names_column_and_row():
    with pytest.raises(ValueError, match="missing column 'consent_to_jhf'"):
        T.eligibility(pd.DataFrame([_applicant()]).drop(columns="consent_to_jhf"))
    with pytest.raises(ValueError, match="unknown support category 'student' in row 1"):
        T.eligibility(pd.DataFrame([_applicant(), _applicant(support_categories="student")]))
    with pytest.raises(ValueError, match="'antisocial' must be True/False, got 'no' in row 0"):
        T.eligibility(pd.DataFrame([_applicant(antisocial="no"), _applicant()]))
    with pytest.raises(ValueError, match="monthly_income_yen"):
        T.eligibility(pd.DataFrame([_applicant(monthly_income_yen=-1)]))
    with pytest.raises(ValueError, match="DataFrame"):
        T.eligibility([_applicant()])
