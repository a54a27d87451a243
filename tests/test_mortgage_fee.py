"""Mortgage guarantee fee and refund (Zenkoku Hosho fee disclosure): golden table, boundaries, calibration, changes."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actuarial.products.mortgage_fee import (
    PUBLISHED_EXAMPLE,
    FeeCurve,
    deduction_rate,
    installment_fees,
    level_payment_balances,
    lump_sum_from_table,
    months_elapsed,
    refund,
    refund_ratio_pct,
)

# The Zenkoku Hosho table (docs/domain.md §3.3), typed in here from the source document (not taken from the package).
PUBLISHED = [  # months elapsed, unearned fee, refund, ratio %
    (12, 537_673, 510_789, 88.2), (24, 494_965, 445_468, 76.9), (36, 454_660, 386_461, 66.8),
    (48, 416_654, 312_490, 54.0), (60, 380_849, 285_636, 49.3), (120, 231_775, 173_831, 30.0),
    (180, 125_749, 94_311, 16.3),
]
FEE_PAID = 578_910


@pytest.fixture(scope="module")
def curve():
    return FeeCurve.calibrate(principal=30_000_000, term_years=30, fee_paid=FEE_PAID,
                              table={m: u for m, u, _, _ in PUBLISHED})


@pytest.mark.parametrize("months, unearned, expected_refund, expected_ratio", PUBLISHED)
def test_seed_refund_and_ratio_columns_exactly(months, unearned, expected_refund, expected_ratio):
    r = refund(unearned_fee=unearned, months_elapsed=months, transfer_fee=0)
    assert r == expected_refund
    assert refund_ratio_pct(r, FEE_PAID) == expected_ratio


def test_package_copy_of_the_seed_table_matches_the_document():
    assert PUBLISHED_EXAMPLE.values.tolist() == [list(row) for row in PUBLISHED]


@pytest.mark.parametrize("months, rate", [(0, 0.05), (1, 0.05), (12, 0.05), (13, 0.10), (24, 0.10), (25, 0.15),
                                          (36, 0.15), (37, 0.25), (420, 0.25)])
def test_deduction_band_boundaries(months, rate):
    assert deduction_rate(months) == rate


def test_refund_at_band_boundaries():
    assert refund(unearned_fee=100_000, months_elapsed=12) == 95_000
    assert refund(unearned_fee=100_000, months_elapsed=13) == 90_000
    assert refund(unearned_fee=100_000, months_elapsed=24) == 90_000
    assert refund(unearned_fee=100_000, months_elapsed=25) == 85_000
    assert refund(unearned_fee=100_000, months_elapsed=36) == 85_000
    assert refund(unearned_fee=100_000, months_elapsed=37) == 75_000


def test_transfer_fee_threshold():
    # 1,000 x 0.75 = 750 kept
    assert refund(unearned_fee=1_000, months_elapsed=40, transfer_fee=749) == 1
    assert refund(unearned_fee=1_000, months_elapsed=40, transfer_fee=750) == 0
    assert refund(unearned_fee=1_000, months_elapsed=40, transfer_fee=751) == 0
    assert refund(unearned_fee=537_673, months_elapsed=12, transfer_fee=660) == 510_129


def test_custom_schedule_overrides_the_seed():
    sched = [(24, 0.0), (None, 0.5)]
    assert refund(unearned_fee=10_001, months_elapsed=24, schedule=sched) == 10_001
    assert refund(unearned_fee=10_001, months_elapsed=25, schedule=sched) == 5_000


def test_ratio_rounds_half_up():
    assert refund_ratio_pct(1_005, 10_000) == 10.1  # 10.05 -> 10.1 (half-up, not banker's)
    assert refund_ratio_pct(1_004, 10_000) == 10.0


def test_months_elapsed_counts_the_loan_month_as_one():
    assert months_elapsed(dt.date(2025, 4, 1), dt.date(2025, 4, 30)) == 1
    assert months_elapsed("2025-04-15", "2026-03-31") == 12
    assert months_elapsed("2025-04-15", "2026-04-01") == 13
    assert months_elapsed("2025-04-15", "2028-03-31") == 36
    assert months_elapsed("2025-04-15", "2028-04-01") == 37


@given(unearned=st.integers(0, 10_000_000), months=st.integers(0, 600), transfer=st.integers(0, 2_000))
def test_refund_at_most_unearned(unearned, months, transfer):
    assert 0 <= refund(unearned_fee=unearned, months_elapsed=months, transfer_fee=transfer) <= unearned


@given(unearned=st.integers(0, 10_000_000), a=st.integers(0, 600), b=st.integers(0, 600))
def test_refund_of_a_fixed_fee_non_increasing_in_months(unearned, a, b):
    lo, hi = sorted((a, b))
    assert refund(unearned_fee=unearned, months_elapsed=hi) <= refund(unearned_fee=unearned, months_elapsed=lo)


@given(st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(0, 480), st.integers(0, 1_000)),
                min_size=1, max_size=40))
def test_scalar_and_array_refunds_agree(rows):
    u, m, t = (np.array(c) for c in zip(*rows, strict=True))
    arr = refund(unearned_fee=u, months_elapsed=m, transfer_fee=t)
    assert arr.tolist() == [refund(unearned_fee=int(a), months_elapsed=int(b), transfer_fee=int(c)) for a, b, c in rows]
    assert deduction_rate(m).tolist() == [deduction_rate(int(x)) for x in m]


# -- calibration --------------------------------------------------------------------------------
def test_calibrated_curve_reproduces_every_published_unearned_fee(curve):
    for months, unearned, _, _ in PUBLISHED:
        assert curve.unearned(months) == pytest.approx(unearned, rel=1e-3)
    assert np.abs(curve.fit["relative_error"]).max() < 1e-3
    assert curve.lump_sum() == FEE_PAID


def test_calibrated_refunds_within_a_tenth_of_a_percent(curve):
    for months, _, published_refund, _ in PUBLISHED:
        assert curve.refund(months) == pytest.approx(published_refund, rel=1e-3)


def test_curve_refund_non_increasing_in_months(curve):
    m = np.arange(0, 361)
    assert np.all(np.diff(curve.refund(m)) <= 0)
    assert np.all(np.diff(curve.unearned(m)) <= 0)
    assert curve.unearned(361) == 0


def test_curve_by_hand_no_interest_no_discount():
    # 2 years, 12,000,000 straight-line: year amounts 1% x 12,000,000 and 1% x 6,000,000
    c = FeeCurve(principal_yen=12_000_000, term_years=2, fee_annual_rate=0.01, loan_annual_rate=0.0,
                 discount_annual_rate=0.0)
    assert c.lump_sum() == 180_000
    assert c.unearned(1) == pytest.approx(180_000)
    assert c.unearned(7) == pytest.approx(180_000 - 60_000)   # half of year 1 earned
    assert c.unearned(13) == pytest.approx(60_000)
    assert c.unearned(19) == pytest.approx(30_000)
    assert c.unearned(25) == 0.0  # the end of the 24-month term, the loan month being month 1
    with pytest.raises(ValueError, match=r"months_elapsed must be at most 25 \(the 24-month term, the loan month "
                                         r"counted as month 1\), got 26"):
        c.unearned(26)
    d = FeeCurve(principal_yen=12_000_000, term_years=2, fee_annual_rate=0.01, loan_annual_rate=0.0,
                 discount_annual_rate=0.2)
    assert d.lump_sum() == 170_000  # 120,000 + 60,000 / 1.2


def test_calibrating_a_second_table_works_the_same(curve):
    # a table generated from known parameters is recovered
    truth = FeeCurve(principal_yen=20_000_000, term_years=25, fee_annual_rate=0.002, loan_annual_rate=0.03,
                     discount_annual_rate=0.02)
    table = {m: int(round(truth.unearned(m))) for m in (12, 36, 60, 120, 200)}
    fitted = FeeCurve.calibrate(20_000_000, 25, truth.lump_sum(), table)
    assert fitted.loan_annual_rate == pytest.approx(0.03, abs=2e-3)
    assert fitted.discount_annual_rate == pytest.approx(0.02, abs=2e-3)


# -- loan changes -------------------------------------------------------------------------------
def test_partial_prepayment_removes_the_balance_share_of_unearned(curve):
    b = curve.balances()[59]  # 60 months elapsed = 59 actual months
    ch = curve.partial_prepayment(months_elapsed=60, prepaid_yen=5_000_000)
    assert ch.unearned_removed_yen == pytest.approx(curve.unearned(60) * 5_000_000 / b, abs=1)
    assert ch.refund_yen == refund(unearned_fee=ch.unearned_removed_yen, months_elapsed=60)
    everything = curve.partial_prepayment(months_elapsed=60, prepaid_yen=int(b))
    assert everything.unearned_removed_yen == pytest.approx(curve.unearned(60), abs=1)


def test_shortening_removes_fee_and_extension_adds_fee(curve):
    short = curve.term_shortening(months_elapsed=60, new_term_years=20)
    both = curve.partial_prepayment_shortening(months_elapsed=60, prepaid_yen=5_000_000)
    plain = curve.partial_prepayment(months_elapsed=60, prepaid_yen=5_000_000)
    longer = curve.term_extension(months_elapsed=60, new_term_years=35)
    assert 0 < short.unearned_removed_yen < short.unearned_before_yen
    assert both.unearned_removed_yen > plain.unearned_removed_yen  # shorter path removes more
    assert longer.additional_fee_yen > 0 and longer.refund_yen == 0 and longer.unearned_removed_yen == 0
    assert short.additional_fee_yen == 0


# Hand-worked loan changes: 10,000,000 yen over 2 years at 0% (the balance falls 5,000,000 a
# year), fee 1% of the balance at the start of each year (year 1: 100,000, year 2: 50,000).
# At months_elapsed 13 (12 months run, the loan month being month 1) year 2 is unearned: 50,000.
FLAT = {"principal_yen": 10_000_000, "term_years": 2, "fee_annual_rate": 0.01, "loan_annual_rate": 0.0}


@pytest.mark.parametrize("new_term_years, after_yen", [
    (3, 75_000),    # 5,000,000 over 24 months: year 3 starts at 2,500,000 -> 25,000
    (4, 100_000),   # over 36 months: years 3 and 4 at 3,333,333 and 1,666,667 -> 33,333 + 16,667
])
def test_term_extension_charges_the_years_it_adds(new_term_years, after_yen):
    curve = FeeCurve(**FLAT, discount_annual_rate=0.0)
    ch = curve.term_extension(months_elapsed=13, new_term_years=new_term_years)
    assert (ch.unearned_before_yen, ch.unearned_after_yen) == (50_000, after_yen)
    assert ch.additional_fee_yen == after_yen - 50_000 and ch.refund_yen == 0


def test_term_extension_mid_year_and_discounted():
    # months_elapsed 7 (t = 6): 7,500,000 re-amortised over 30 months. Year 1's remaining half
    # 50,000; year 2 at 6,000,000 -> 60,000; year 3 at 3,000,000 -> 30,000. Before: 50,000 + 50,000.
    ch = FeeCurve(**FLAT, discount_annual_rate=0.0).term_extension(months_elapsed=7, new_term_years=3)
    assert (ch.unearned_before_yen, ch.unearned_after_yen, ch.additional_fee_yen) == (100_000, 140_000, 40_000)
    # discounted at 10% a year: year k's amount times 1.1^-(k-1). Before 50,000 / 1.1 = 45,454.5;
    # after 45,454.5 + 33,333.3 / 1.21 + 16,666.7 / 1.331 = 85,524.7; the fee added truncates to 40,070
    ch = FeeCurve(**FLAT, discount_annual_rate=0.1).term_extension(months_elapsed=13, new_term_years=4)
    assert (ch.unearned_before_yen, ch.unearned_after_yen, ch.additional_fee_yen) == (45_454, 85_524, 40_070)


def test_partial_prepayment_hand_worked_and_the_transfer_fee():
    # 1,000,000 of the 5,000,000 at month 13: year 2's 50,000 scales to 40,000, so 10,000 is
    # removed; the deduction at month 13 is 10%: refund 9,000; a transfer fee above what is left
    # after the deduction leaves nothing.
    curve = FeeCurve(**FLAT, discount_annual_rate=0.0)
    ch = curve.partial_prepayment(months_elapsed=13, prepaid_yen=1_000_000)
    assert (ch.unearned_removed_yen, ch.refund_yen) == (10_000, 9_000)
    assert curve.partial_prepayment(months_elapsed=13, prepaid_yen=1_000_000, transfer_fee=8_000).refund_yen == 1_000
    assert curve.partial_prepayment(months_elapsed=13, prepaid_yen=1_000_000, transfer_fee=9_001).refund_yen == 0


def test_shortening_hand_worked():
    # at months_elapsed 7 (7,500,000 left), the 2-year term shortened to 1 year: the balance is
    # paid off by month 12, so year 2 (50,000) is removed and year 1's remaining half stays.
    ch = FeeCurve(**FLAT, discount_annual_rate=0.0).term_shortening(months_elapsed=7, new_term_years=1)
    assert (ch.unearned_before_yen, ch.unearned_after_yen, ch.unearned_removed_yen) == (100_000, 50_000, 50_000)
    assert ch.refund_yen == 47_500  # 5% deduction in the first 12 months


@settings(max_examples=40, deadline=None)
@given(months=st.integers(min_value=1, max_value=60), extra_years=st.integers(min_value=1, max_value=10))
def test_a_longer_extension_never_costs_less(months, extra_years):
    curve = FeeCurve(principal_yen=30_000_000, term_years=10, fee_annual_rate=0.0015, loan_annual_rate=0.02,
                     discount_annual_rate=0.01)
    shorter = curve.term_extension(months_elapsed=months, new_term_years=10 + extra_years)
    longer = curve.term_extension(months_elapsed=months, new_term_years=11 + extra_years)
    assert 0 < shorter.additional_fee_yen <= longer.additional_fee_yen


# -- installment and table lump sums ---------------------------------------------------------------
def test_installment_fee_is_balance_times_rate_over_twelve():
    fees = installment_fees(principal_yen=30_000_000, annual_interest_rate=0.015, term_years=30, fee_annual_rate=0.002)
    bal = level_payment_balances(principal_yen=30_000_000, annual_interest_rate=0.015, term_months=360)
    assert len(fees) == 360
    assert fees[0] == pytest.approx(5_000.0)
    assert fees[120] == pytest.approx(bal[120] * 0.002 / 12)
    assert bal[-1] == pytest.approx(0, abs=1e-6)
    assert np.all(np.diff(fees) < 0)


def test_level_payment_balance_by_hand():
    # 1,000,000 over 2 months at 12%/yr: payment = 507,512.44; balance after 1 month = 502,487.56
    b = level_payment_balances(principal_yen=1_000_000, annual_interest_rate=0.12, term_months=2)
    assert b[1] == pytest.approx(502_487.56, abs=0.01)


def test_lump_sum_from_table_interpolates_but_never_extrapolates():
    table = {20: 15_000, 30: 19_000, 35: 20_614}
    assert lump_sum_from_table(principal_yen=30_000_000, term_years=30, table=table) == 570_000
    assert lump_sum_from_table(principal_yen=10_000_000, term_years=25, table=table) == 170_000
    with pytest.raises(ValueError, match="term_years=40"):
        lump_sum_from_table(principal_yen=10_000_000, term_years=40, table=table)
    with pytest.raises(ValueError, match="term_years=10"):
        lump_sum_from_table(principal_yen=10_000_000, term_years=10, table=table)


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, needle", [
    ({"unearned_fee": -1, "months_elapsed": 12}, "unearned_fee"),
    ({"unearned_fee": 1.5, "months_elapsed": 12}, "unearned_fee"),
    ({"unearned_fee": 100, "months_elapsed": -1}, "months_elapsed"),
    ({"unearned_fee": 100, "months_elapsed": 12.5}, "months_elapsed"),
    ({"unearned_fee": 100, "months_elapsed": 12, "transfer_fee": -660}, "transfer_fee"),
    ({"unearned_fee": 100, "months_elapsed": 12, "schedule": [(12, 0.05)]}, "schedule"),
    ({"unearned_fee": 100, "months_elapsed": 12, "schedule": [(24, 0.1), (12, 0.2), (None, 0.3)]}, "increase"),
    ({"unearned_fee": 100, "months_elapsed": 12, "schedule": [(12, 1.5), (None, 0.3)]}, "rate"),
])
def test_refund_bad_input(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        refund(**kwargs)


def test_curve_bad_input(curve):
    with pytest.raises(ValueError, match="fee_paid"):
        FeeCurve.calibrate(30_000_000, 30, -1, {12: 5})
    with pytest.raises(ValueError, match="at least 2 points"):
        FeeCurve.calibrate(30_000_000, 30, 1000, {12: 900})
    with pytest.raises(ValueError, match="beyond the term"):
        FeeCurve.calibrate(30_000_000, 1, 1000, {12: 900, 24: 500})
    with pytest.raises(ValueError, match="months_elapsed"):
        curve.unearned(400)
    with pytest.raises(ValueError, match="prepaid_yen"):
        curve.partial_prepayment(months_elapsed=60, prepaid_yen=40_000_000)
    with pytest.raises(ValueError, match="new_term_years"):
        curve.term_extension(months_elapsed=60, new_term_years=25)
    with pytest.raises(ValueError, match="loan_annual_rate"):
        FeeCurve(principal_yen=1, term_years=1, fee_annual_rate=0.1, loan_annual_rate="x", discount_annual_rate=0)
    with pytest.raises(ValueError, match="event_date"):
        months_elapsed("2025-04-01", "2025-03-01")


def test_a_table_the_curve_cannot_fit_is_refused_with_its_worst_point():
    from actuarial.products.mortgage_fee import (
        PUBLISHED_EXAMPLE,
        PUBLISHED_FEE_PAID_YEN,
        PUBLISHED_PRINCIPAL_YEN,
        PUBLISHED_TERM_YEARS,
    )

    table = dict(zip(PUBLISHED_EXAMPLE["months_elapsed"], PUBLISHED_EXAMPLE["unearned_fee_yen"], strict=True))
    args = (PUBLISHED_PRINCIPAL_YEN, PUBLISHED_TERM_YEARS)
    with pytest.raises(ValueError, match=r"rises from 454,660 yen at month 36 to 500,000 yen at month 48"):
        FeeCurve.calibrate(*args, PUBLISHED_FEE_PAID_YEN, {**table, 48: 500_000})
    with pytest.raises(ValueError, match=r"gives months_elapsed 24 twice"):
        FeeCurve.calibrate(*args, PUBLISHED_FEE_PAID_YEN, pd.DataFrame({"months_elapsed": [12, 24, 24],
                                                                   "unearned_fee_yen": [537_673, 494_965, 494_000]}))
    with pytest.raises(ValueError, match=r"at month 12 \(537,673 yen\) exceeds the fee paid \(300,000 yen\)"):
        FeeCurve.calibrate(*args, 300_000, table)
    # a flat tail no level-payment curve follows, and a fee paid far above what the table implies
    flat = {12: 537_673, 24: 400_000, 36: 390_000, 48: 380_000, 60: 370_000, 120: 360_000, 180: 350_000}
    with pytest.raises(ValueError, match=r"cannot fit this table: its best fit is off by -\d+\.\d% at month 180 "
                                         r"\(fitted [\d,]+ yen, published 350,000 yen\), more than 2%"):
        FeeCurve.calibrate(*args, PUBLISHED_FEE_PAID_YEN, flat)
    with pytest.raises(ValueError, match=r"off by \+\d+\.\d% at month 12 .* published 537,673 yen"):
        FeeCurve.calibrate(*args, 5_000_000, table)
    fitted = FeeCurve.calibrate(*args, PUBLISHED_FEE_PAID_YEN, table)  # the published table itself fits
    assert fitted.fit["relative_error"].abs().max() < 1e-4
