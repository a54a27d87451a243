"""Mortgage loans in force that are not performing: delinquent loans that cure or are
subrogated, subrogated loans awaiting the collateral sale, the fee each lump-sum loan paid.
Hand-worked expectations, the exact oracle against its readable twin and the Monte Carlo,
and every bad status named before anything runs."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from actuarial.params import load_params
from actuarial.portfolio import synthetic_mortgage_book, synthetic_rent_book
from actuarial.products.mortgage_fee import FeeCurve, balance_shape
from actuarial.simulation import MortgageModel, RentModel
from actuarial.simulation.exact_mortgage import expected_mortgage_cash_flows_by_loan, expected_mortgage_groups
from actuarial.simulation.mortgage import simulate_mortgage
from actuarial.simulation.mortgage_book import validate_mortgage_book
from actuarial.simulation.mortgage_inforce import simulate_mortgage_groups
from actuarial.valuation import ValuationSettings, value_book
from actuarial.valuation.fees import unearned_mortgage_fees
from actuarial.valuation.mortgage import MORTGAGE_BUCKET, mortgage_stages
from actuarial.valuation.synthetic import synthetic_inforce_mortgage_book

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")
MODEL = MortgageModel.from_params(BASE)


def _loan(**over) -> pd.DataFrame:
    row = {"principal_yen": 30_000_000, "annual_interest_rate": 0.012, "term_months": 360, "age_months": 40,
           "collateral_value_yen": 36_000_000, "grade": "A", "fee_type": "installment", "status": "performing",
           "months_delinquent": 0, "receivable_yen": 0, "months_since_subrogation": 0}
    row.update(over)
    return pd.DataFrame([row])


def _quiet(**over) -> MortgageModel:
    """No defaults, prepayments or house-price sensitivity: what a delinquent loan does is
    all that moves."""
    quiet = {"annual_default_rate": {"A": 0.0}, "psj_plateau_cpr": 0.0, "partial_prepayment_smm": 0.0,
             "house_price_sensitivity": 0.0, "months": 60}
    return dataclasses.replace(MODEL, **{**quiet, **over})


def _mixed_book(n=80, seed=5) -> pd.DataFrame:
    book = synthetic_mortgage_book(n, seed, new_share=0.0)
    book["status"], book["months_delinquent"] = "performing", 0
    book["receivable_yen"], book["months_since_subrogation"] = 0, 0
    late = book.index[:24]
    book.loc[late, "status"] = "delinquent"
    book.loc[late, "months_delinquent"] = np.minimum(np.arange(24) % 8 + 1, book.loc[late, "age_months"])
    gone = book.index[24:40]
    book.loc[gone, "status"] = "subrogated"
    book.loc[gone, "receivable_yen"] = (book.loc[gone, "principal_yen"] * 0.8).astype(np.int64)
    book.loc[gone, "months_since_subrogation"] = np.arange(16)  # some sales overdue (delay 12)
    return book


def test_a_book_whose_loans_all_perform_runs_as_one_without_statuses():
    book = synthetic_mortgage_book(300, seed=2, new_share=0.3)
    plain = simulate_mortgage(book, MODEL, 12, seed=8)
    marked = simulate_mortgage(book.assign(status="performing", months_delinquent=0), MODEL, 12, seed=8)
    assert np.array_equal(plain.cash_flows, marked.cash_flows)


def test_a_delinquent_loan_is_subrogated_unless_it_cures_by_hand():
    """m = 2 payments missed, K = 6, c = 0.2: cured in month j <= 4 with chance 0.8^(j-1) 0.2,
    else subrogated in month 4 (chance 0.8^4 = 0.4096) for the balance after 38 payments; the
    collateral sells 12 months later for min(balance, 70% of 36m). A cured installment loan
    pays its fee from the month after the cure."""
    model = _quiet()
    book = _loan(status="delinquent", months_delinquent=2)
    flows = expected_mortgage_groups(book, model)[0]
    shape = balance_shape(0.012, 360)
    owed = math.floor(30_000_000 * shape[38] + 1e-6)
    assert flows["subrogation"][4] == pytest.approx(0.4096 * owed, rel=1e-12)
    assert flows["subrogation"].drop(4).abs().sum() == 0
    assert flows["recoveries"][16] == pytest.approx(0.4096 * min(owed, 25_200_000), rel=1e-12)
    cured = np.array([1 - 0.8 ** min(t - 1, 4) for t in range(1, 61)])  # cured before month t
    fee = 30_000_000 * shape[40 + np.arange(1, 61) - 1] * model.installment_annual_rate / 12
    assert np.allclose(flows["fee_installment"].to_numpy()[1:], cured * fee, rtol=1e-12, atol=1e-9)


def test_a_loan_past_the_bank_s_limit_is_subrogated_next_month_unless_it_cures():
    flows = expected_mortgage_groups(_loan(status="delinquent", months_delinquent=9), _quiet())[0]
    owed = math.floor(30_000_000 * balance_shape(0.012, 360)[31] + 1e-6)
    assert flows["subrogation"][1] == pytest.approx(0.8 * owed, rel=1e-12)
    never = expected_mortgage_groups(_loan(status="delinquent", months_delinquent=3),
                                     _quiet(delinquent_monthly_cure_rate=0.0))[0]
    assert never["subrogation"][3] == math.floor(30_000_000 * balance_shape(0.012, 360)[37] + 1e-6)


def test_a_subrogated_loan_recovers_from_the_collateral_sale_by_hand():
    """Sale factor 0.7 exp(-k max(-z, 0)); a receivable above every sale recovers floor(36m x
    that), whose expectation is 36m x 0.7 x (1/2 + exp(k^2/2) Phi(-k)), to within a yen."""
    k = 0.1
    model = _quiet(house_price_sensitivity=k)
    book = _loan(status="subrogated", receivable_yen=29_000_000, months_since_subrogation=5)
    flows = expected_mortgage_groups(book, model)[0]
    paper = 36_000_000 * 0.7 * (0.5 + math.exp(k * k / 2) * norm.cdf(-k))
    assert flows["recoveries"][7] == pytest.approx(paper, abs=1.0)
    assert flows.drop(index=7)["recoveries"].sum() == 0 and flows["subrogation"].sum() == 0
    small = expected_mortgage_groups(book.assign(receivable_yen=5_000_000), model)[0]
    assert small["recoveries"][7] == pytest.approx(5_000_000, rel=1e-12)  # every sale covers it
    overdue = expected_mortgage_groups(book.assign(months_since_subrogation=30), model)[0]
    assert overdue["recoveries"][1] == pytest.approx(paper, abs=1.0)


def test_the_oracle_equals_its_readable_twin_on_a_book_in_every_status():
    model = dataclasses.replace(MODEL, months=120)
    book = _mixed_book(40)
    fast = expected_mortgage_groups(book, model)[0]
    slow = expected_mortgage_cash_flows_by_loan(book, model)
    assert np.allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-9, atol=1e-6)


def test_monte_carlo_within_four_standard_errors_of_exact_by_group():
    model = dataclasses.replace(MODEL, months=120, annual_default_rate={"A": 0.05, "B": 0.1, "C": 0.2})
    book = _mixed_book()
    group = np.select([book["status"] == "delinquent", book["status"] == "subrogated"],
                      [1 + (book["months_delinquent"] >= 3), 3], 0)
    exact, exact_groups = expected_mortgage_groups(book, model, group)
    flows, grouped, z = simulate_mortgage_groups(book, model, 3_000, 7, group)
    total = flows.sum(axis=2)
    se = total.std(axis=0, ddof=1) / math.sqrt(len(total))
    assert (np.abs(total.mean(axis=0) - exact.sum().to_numpy()) <= 4 * se + 1e-6).all()
    by_group = grouped.sum(axis=3).astype(float)
    se = by_group.std(axis=0, ddof=1) / math.sqrt(len(by_group))
    assert (np.abs(by_group.mean(axis=0) - exact_groups.sum(axis=2)) <= 4 * se + 1e-6).all()
    assert (exact_groups.sum(axis=2) > 0).sum() == 7  # every group's lines but group 3's subrogation
    assert np.array_equal(grouped.sum(axis=1), flows[:, 3:5].astype(np.int64))


def test_the_performing_loans_draw_as_if_the_others_were_not_there():
    book = _mixed_book()
    alone = book[book["status"] == "performing"]
    group = (book["status"] != "performing").to_numpy().astype(int)
    with_others = simulate_mortgage_groups(book, MODEL, 10, 3, group)[1][:, 0]
    without = simulate_mortgage_groups(alone, MODEL, 10, 3)[1][:, 0]
    assert np.array_equal(with_others, without)


def test_the_fee_paid_scales_the_unearned_fee_and_the_refunds():
    book = synthetic_mortgage_book(40, seed=6).query("fee_type == 'lump_sum'").reset_index(drop=True)
    curve = unearned_mortgage_fees(book, MODEL)
    fee = np.array([FeeCurve(principal_yen=int(r.principal_yen), term_years=int(r.term_months) // 12,
                             fee_annual_rate=MODEL.fee_annual_rate, loan_annual_rate=MODEL.schedule_loan_rate,
                             discount_annual_rate=MODEL.schedule_discount_rate).unearned(0)
                    for r in book.itertuples()])
    same = unearned_mortgage_fees(book.assign(fee_paid_yen=np.floor(fee + 1e-6).astype(np.int64)), MODEL)
    assert np.abs(same - curve).max() <= 1
    double = unearned_mortgage_fees(book.assign(fee_paid_yen=2 * np.floor(fee + 1e-6).astype(np.int64)), MODEL)
    assert np.abs(double - 2 * curve).max() <= 2
    model = dataclasses.replace(MODEL, months=60)
    one = expected_mortgage_groups(book.assign(age_months=24), model)[0]["refunds"].sum()
    two = expected_mortgage_groups(book.assign(age_months=24, fee_paid_yen=2 * np.floor(fee + 1e-6).astype(np.int64)),
                                   model)[0]["refunds"].sum()
    assert two == pytest.approx(2 * one, rel=1e-4)


def test_stages_at_each_boundary_and_the_valuation_s_mortgage_rows():
    book = pd.concat([_loan(), _loan(status="delinquent", months_delinquent=1),
                      _loan(status="delinquent", months_delinquent=2), _loan(status="delinquent", months_delinquent=3),
                      _loan(status="subrogated", receivable_yen=20_000_000, months_since_subrogation=2),
                      _loan(fee_type="lump_sum")], ignore_index=True)
    stage, group, _ = mortgage_stages(book, MODEL, ValuationSettings("2026-12-31"))
    assert stage.tolist() == [1, 2, 2, 3, 0, 1] and group.tolist() == [0, 1, 1, 2, 3, 0]
    later = ValuationSettings("2026-12-31", stage_2_months_owed=2, stage_3_months_owed=2)
    assert mortgage_stages(book, MODEL, later)[0].tolist() == [1, 1, 3, 3, 0, 1]
    rent = synthetic_rent_book(10, seed=1).assign(contract_id=[f"C{i}" for i in range(10)], start_month=-3)
    v = value_book(rent, RentModel.from_params(BASE), ValuationSettings("2026-12-31"), mortgage_book=book,
                   mortgage_model=MODEL, n_scenarios=50, seed=1)
    row = v.allowance.loc[MORTGAGE_BUCKET]
    assert row["receivables"] == 1 and row["receivable_yen"] == 20_000_000
    assert v.provision.loc[("mortgage", 2), "contracts"] == 2 and v.provision.loc[("mortgage", 3), "contracts"] == 1
    assert v.mortgage_loans["unearned_fee_yen"].iloc[4] == 0  # a subrogated loan's guarantee has ended
    assert v.unearned.loc["mortgage", "unearned_fee_yen"] == v.mortgage_loans["unearned_fee_yen"].sum() > 0
    assert v.higher_of.loc["mortgage", "ecl_yen"] == pytest.approx(v.provision.loc["mortgage", "booked_yen"].sum())


def test_the_synthetic_book_in_force_holds_every_status():
    book = synthetic_inforce_mortgage_book(3_000, MODEL, seed=11)
    counts = book["status"].value_counts()
    assert counts["delinquent"] >= 5 and counts["subrogated"] >= 5
    assert (book.loc[book["fee_type"] == "lump_sum", "fee_paid_yen"] > 0).all()
    late = book[book["status"] == "delinquent"]
    assert late["months_delinquent"].between(1, MODEL.subrogation_after_months_delinquent - 1).all()
    expected_mortgage_groups(book.head(200), MODEL)  # valid for the engines


@pytest.mark.parametrize("change, needle", [
    ({"status": "late"}, r"'status' has 'late' in row 0, which is not a mortgage status"),
    ({"status": "delinquent"}, r"'months_delinquent' in row 0: a delinquent loan has missed at least 1 payment"),
    ({"status": "delinquent", "months_delinquent": 41}, r"'months_delinquent' in row 0: 41 payments missed"),
    ({"months_delinquent": 2}, r"'months_delinquent' in row 0: 2 on a loan that is not delinquent"),
    ({"status": "subrogated"}, r"'receivable_yen' in row 0: a subrogated loan needs its receivable above 0"),
    ({"status": "subrogated", "receivable_yen": 31_000_000}, r"'receivable_yen' in row 0: 31000000 is above"),
    ({"receivable_yen": 5}, r"'receivable_yen' in row 0: 5 on a loan that is not subrogated"),
    ({"status": "subrogated", "receivable_yen": 9, "months_since_subrogation": -1},
     r"'months_since_subrogation' in row 0: a negative number of months -1"),
    ({"months_since_subrogation": 3}, r"'months_since_subrogation' in row 0: 3 on a loan that is not subrogated"),
    ({"status": "delinquent", "months_delinquent": 1, "age_months": 0}, r"'months_delinquent' in row 0: 1 payments"),
    ({"months_delinquent": 1.5}, r"'months_delinquent' must hold whole months"),
    ({"fee_type": "lump_sum", "fee_paid_yen": 0}, r"'fee_paid_yen' must be above 0 for a lump-sum loan"),
    ({"fee_paid_yen": 1_000}, r"'fee_paid_yen' must be 0 for an installment loan"),
    ({"fee_type": "lump_sum", "fee_paid_yen": 40_000_000}, r"'fee_paid_yen' must not exceed"),
])
def test_bad_statuses_are_named(change, needle):
    with pytest.raises(ValueError, match=needle):
        expected_mortgage_groups(_loan(**change), MODEL)


def test_status_columns_need_the_status():
    with pytest.raises(ValueError, match=r"column 'months_delinquent' needs the column 'status'"):
        simulate_mortgage(_loan().drop(columns="status"), MODEL, 2, seed=1)


def test_a_status_without_its_column_and_claims_on_a_book_in_force_are_named():
    with pytest.raises(ValueError, match=r"row 0 is delinquent, which needs the column 'months_delinquent'"):
        expected_mortgage_groups(_loan(status="delinquent").drop(columns="months_delinquent"), MODEL)
    with pytest.raises(ValueError, match=r"row 0 is subrogated, which needs the column 'receivable_yen'"):
        expected_mortgage_groups(_loan(status="subrogated").drop(columns="receivable_yen"), MODEL)
    with pytest.raises(ValueError, match=r"claims lists the defaults of loans performing on the valuation date; "
                                         r"this book has 1 delinquent or subrogated loans"):
        simulate_mortgage(_loan(status="delinquent", months_delinquent=2), MODEL, 2, seed=1, claims=1)


def test_the_month_stepping_baseline_refuses_a_book_in_force():
    from actuarial.simulation.baseline import simulate_mortgage_month_stepping

    with pytest.raises(ValueError, match=r"baseline runs books whose loans all perform"):
        simulate_mortgage_month_stepping(_loan(status="subrogated", receivable_yen=9, months_since_subrogation=1),
                                         MODEL, 2, seed=1)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -0.1, 1e300, 5.01])
def test_the_engines_refuse_a_sensitivity_outside_its_plausible_range(value):
    rent = RentModel.from_params(BASE)
    with pytest.raises(ValueError, match=r"good_exit_sensitivity must be a number in \[0, 5\], got"):
        dataclasses.replace(rent, good_exit_sensitivity=value)
    with pytest.raises(ValueError, match=r"house_price_sensitivity must be a number in \[0, 5\], got"):
        dataclasses.replace(MODEL, house_price_sensitivity=value)
    assert dataclasses.replace(MODEL, house_price_sensitivity=5.0).house_price_sensitivity == 5.0


@pytest.mark.parametrize("change, needle", [
    ({"principal_yen": 0}, r"column 'principal_yen' must be above 0 .*, got 0 in row"),
    ({"annual_interest_rate": "1.4%"}, r"'annual_interest_rate' must hold numbers \(0\.014 for 1\.4%\), got '1\.4%'"),
])
def test_a_loan_a_bank_could_not_have_is_named(change, needle):
    book = synthetic_mortgage_book(5, seed=2).assign(age_months=60, status="performing", months_delinquent=0,
                                                     receivable_yen=0, months_since_subrogation=0)
    for column, value in change.items():
        book[column] = book[column].astype(object) if isinstance(value, str) and column != "status" else book[column]
        book.loc[book.index[1], column] = value
    with pytest.raises(ValueError, match=needle):
        validate_mortgage_book(book, MODEL, "mortgage book")


def test_a_loan_id_given_twice_or_empty_is_named():
    book = synthetic_mortgage_book(4, seed=2).assign(loan_id=["L1", "L2", "L1", "L4"])
    with pytest.raises(ValueError, match=r"column 'loan_id' names a loan twice, got 'L1' in row"):
        validate_mortgage_book(book, MODEL, "mortgage book")
    with pytest.raises(ValueError, match=r"column 'loan_id' needs an id in every row"):
        validate_mortgage_book(book.assign(loan_id=["L1", None, "L3", "L4"]), MODEL, "mortgage book")
