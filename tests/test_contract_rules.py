"""Contract rules as the source documents state them, in every engine: hand-worked cases from
the documents' wording, the kernel equal to the plain-Python reference, and the Monte Carlo
within 4 standard errors of the exact oracle on books that exercise each rule."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actuarial.collection import CollectionChain
from actuarial.params import load_params
from actuarial.products.rent_guarantee import FeePlan
from actuarial.simulation import LINES, RentModel, simulate
from actuarial.simulation.baseline import simulate_month_stepping
from actuarial.simulation.exact import expected_cash_flows
from actuarial.simulation.reference import simulate_reference

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")
WITH_PARKING = FeePlan(name="with_parking", initial_rate=0.5, renewal_yen=10_000, coverage_months=24,
                       parking_in_total=True)

# Three months in collection and then a skip: dunning, emergency contact, final notice, each
# subrogating one monthly total; the tenancy ends in month 4 and JHF pays in month 5.
THREE_MONTHS = CollectionChain.from_transitions({"dunning": {"emergency_contact": 1.0},
                                                  "emergency_contact": {"final_notice": 1.0},
                                                  "final_notice": {"skip": 1.0}})


def _scenario_file(tmp_path, overrides: str):
    """A scenario file extending the base params with ``overrides`` (YAML lines)."""
    f = tmp_path / "s.yaml"
    f.write_text(f"extends: {ROOT / 'params' / 'base.yaml'}\nscenario: {{name: s}}\n{overrides}\n", encoding="utf-8")
    return f


def _kernel_equals_reference(book, model, n_scenarios, seed):
    """The kernel's cash flows, asserted equal to the reference's to the yen (fees, which are
    floating-point expectations, aside)."""
    fast = simulate(book, model, n_scenarios, seed=seed).cash_flows
    slow = simulate_reference(book, model, n_scenarios, seed=seed)
    money = [LINES.index(x) for x in LINES if x != "fees"]
    assert np.array_equal(fast[:, money, :], slow[:, money, :])
    return fast


def _within_four_standard_errors(result, exact, lines=LINES):
    """Each of ``lines``: the simulated mean total within 4 standard errors of ``exact``."""
    totals = result.cash_flows.sum(axis=2)
    mean, se = totals.mean(axis=0), totals.std(axis=0, ddof=1) / np.sqrt(len(totals))
    for line in lines:
        j = LINES.index(line)
        assert abs(mean[j] - exact[line]) <= 4 * se[j] + 1e-6 * max(1.0, abs(exact[line])), line


def _certain_book(n, rent, parking, plan="with_parking"):
    return pd.DataFrame({"rent_yen": rent, "management_fee_yen": 0, "common_fee_yen": 0, "parking_fee_yen": parking,
                         "plan": plan, "grade": "A", "insured": True}, index=range(n))


def _certain_model(cap_yen):
    # a first missed rent in month 1 for (nearly) every contract: hazard 1 - 1e-9, no move-outs
    jhf = dataclasses.replace(BASE.jhf_terms(), cap_yen=cap_yen)
    return RentModel(chain=THREE_MONTHS, plans={"with_parking": WITH_PARKING}, delinquency_hazard={"A": 1 - 1e-9},
                     moveout_hazard=0.0, rho=0.0, recovery_rate=0.0, jhf=jhf, months=6)


@pytest.mark.parametrize("cap_yen, payout", [
    (1_000_000, 210_000),  # no cap binds: 70% of the 300,000 rent subrogated, not of 360,000 with parking
    (230_000, 210_000),    # binds only if parking were counted (252,000)
    (200_000, 200_000),    # binds either way
])
def test_jhf_pays_on_the_rent_subrogated_not_on_parking(cap_yen, payout):
    """JHF guide III-1: the insurance covers unpaid rent including management and common-area
    fees; parking is not rent. A plan whose monthly total holds 20,000 yen of parking
    subrogates 120,000 a month, three months: 360,000; the payout is figured on the 300,000
    of rent (the 8.4-month limit, 840,000, does not bind)."""
    book, model = _certain_book(4, 100_000, 20_000), _certain_model(cap_yen)
    for engine in (lambda: simulate(book, model, 3, seed=5).cash_flows,
                   lambda: simulate_reference(book, model, 3, seed=5),
                   lambda: simulate_month_stepping(book, model, 3, seed=5)):
        flows = engine()
        assert np.array_equal(flows[:, LINES.index("subrogation"), 1:4], np.full((3, 3), 4 * 120_000))
        assert np.array_equal(flows[:, LINES.index("jhf_payout"), 5], np.full(3, 4 * payout))
    exact = expected_cash_flows(book, model)
    assert exact.loc[5, "jhf_payout"] == pytest.approx(4 * payout, rel=1e-6)


def test_without_parking_in_the_total_nothing_changes():
    book = _certain_book(2, 100_000, 20_000, plan="without")
    model = dataclasses.replace(_certain_model(1_000_000), plans={"without": dataclasses.replace(
        WITH_PARKING, name="without", parking_in_total=False)})
    flows = simulate(book, model, 2, seed=5).cash_flows
    assert flows[:, LINES.index("subrogation"), 1:4].sum() == 2 * 3 * 2 * 100_000
    assert np.array_equal(flows[:, LINES.index("jhf_payout"), 5], np.full(2, 2 * 210_000))


@pytest.fixture(scope="module")
def parking_model():
    plans = {**BASE.fee_plans(), "with_parking": WITH_PARKING}
    return RentModel(chain=BASE.collection.chain(), plans=plans, delinquency_hazard={"A": 0.02, "B": 0.05},
                     moveout_hazard=0.015, rho=0.1, good_exit_sensitivity=0.3, recovery_rate=0.3,
                     recovery_delay_months=3, suit_cost_yen=500_000, execution_cost_yen=507_000,
                     restoration_cost_yen=100_000, jhf=dataclasses.replace(BASE.jhf_terms(), cap_yen=150_000),
                     months=30, installment_repayment_months=1)


@pytest.fixture(scope="module")
def parking_book():
    return pd.DataFrame({
        "rent_yen": [60_000, 100_000, 150_000, 80_000] * 2, "management_fee_yen": [3_000, 5_000, 0, 2_000] * 2,
        "common_fee_yen": [0, 2_000, 0, 1_000] * 2, "parking_fee_yen": [10_000, 30_000, 0, 25_000] * 2,
        "plan": ["with_parking", "with_parking", "zenhoren_yearly", "with_parking"] * 2,
        "grade": ["A", "B", "B", "A", "B", "A", "A", "B"], "insured": [True, True, True, False] * 2})


def test_parking_book_kernel_equals_the_reference(parking_model, parking_book):
    fast = _kernel_equals_reference(parking_book, parking_model, 400, seed=3)
    assert fast[:, LINES.index("jhf_payout"), :].sum() > 0


def test_parking_book_monte_carlo_within_four_standard_errors_of_exact(parking_model, parking_book):
    result = simulate(parking_book, parking_model, 20_000, seed=17)
    exact = expected_cash_flows(parking_book, parking_model).sum()
    _within_four_standard_errors(result, exact)
    # the cap (150,000) binds for some claims and not for others
    assert 0 < exact["jhf_payout"] < 0.7 * exact["subrogation"]


def test_parking_book_grouped_oracle_equals_the_contract_by_contract_one(parking_model, parking_book):
    from actuarial.simulation.exact import expected_cash_flows_by_contract

    grouped = expected_cash_flows(parking_book, parking_model, nodes=6)
    readable = expected_cash_flows_by_contract(parking_book, parking_model, nodes=6)
    assert np.allclose(grouped.to_numpy(), readable.to_numpy(), rtol=1e-9, atol=1e-6)


# -- JHF's exclusions (保険免責: false statements, unpaid premium, breach of the terms) -------------
def test_a_refused_claim_pays_nothing_and_owes_no_remittance():
    # the skip in month 4 recovers floor(0.5 x 300,000) = 150,000 in month 5 (delay 1), after
    # the payout's month: 70% of it, 105,000, is remitted unless the claim was refused
    book = _certain_book(4, 100_000, 0)
    model = dataclasses.replace(_certain_model(1_000_000), recovery_rate=0.5, recovery_delay_months=1,
                                good_exit_sensitivity=0.0)  # the recovery the same in every economy
    for share, payout, remitted in ((0.0, 210_000, 105_000), (1.0, 0, 0)):
        m = dataclasses.replace(model, jhf_refused_share=share)
        for flows in (simulate(book, m, 3, seed=5).cash_flows, simulate_reference(book, m, 3, seed=5)):
            assert np.array_equal(flows[:, LINES.index("jhf_payout"), 5], np.full(3, 4 * payout))
            assert np.array_equal(flows[:, LINES.index("jhf_remittance"), 5], np.full(3, 4 * remitted))
            assert np.array_equal(flows[:, LINES.index("recoveries"), 5], np.full(3, 4 * 150_000))
        exact = expected_cash_flows(book, m).sum()
        assert exact["jhf_payout"] == pytest.approx(4 * payout, rel=1e-6)
        assert exact["jhf_remittance"] == pytest.approx(4 * remitted, rel=1e-6)


@pytest.fixture(scope="module")
def refusing_model(parking_model):
    return dataclasses.replace(parking_model, jhf_refused_share=0.3, recovery_delay_months=2)


def test_refusals_kernel_equals_the_reference(refusing_model, parking_book):
    fast = _kernel_equals_reference(parking_book, refusing_model, 400, seed=4)
    everything = simulate(parking_book, dataclasses.replace(refusing_model, jhf_refused_share=0.0), 400, seed=4)
    paid = fast[:, LINES.index("jhf_payout"), :].sum()
    assert 0 < paid < everything.cash_flows[:, LINES.index("jhf_payout"), :].sum()  # some refused, not all


def test_refusals_monte_carlo_within_four_standard_errors_of_exact(refusing_model, parking_book):
    result = simulate(parking_book, refusing_model, 20_000, seed=23)
    exact = expected_cash_flows(parking_book, refusing_model).sum()
    _within_four_standard_errors(result, exact)
    full = expected_cash_flows(parking_book, dataclasses.replace(refusing_model, jhf_refused_share=0.0)).sum()
    assert exact["jhf_payout"] == pytest.approx(0.7 * full["jhf_payout"], rel=1e-12)
    assert exact["jhf_remittance"] == pytest.approx(0.7 * full["jhf_remittance"], rel=1e-12)


@pytest.mark.parametrize("value", [-0.1, 1.5, "0.1", float("nan"), True])
def test_refused_share_must_be_a_share(value):
    with pytest.raises(ValueError, match="jhf_refused_share"):
        dataclasses.replace(_certain_model(1_000_000), jhf_refused_share=value)


@pytest.mark.parametrize("value", ["-0.1", "1.5", "'x'", ".nan"])
def test_refused_share_in_params_is_checked_naming_the_key(tmp_path, value):
    from actuarial.params import ParamsError

    f = _scenario_file(tmp_path, f"rent_model: {{jhf_refused_share: {value}}}")
    with pytest.raises(ParamsError, match="rent_model.jhf_refused_share"):
        load_params(f)


def test_a_book_whose_payout_arithmetic_would_overflow_is_refused():
    jhf = dataclasses.replace(BASE.jhf_terms(), coverage_ratio=0.712345, cap_yen=None)  # 142,469 / 200,000
    model = dataclasses.replace(_certain_model(None), jhf=jhf)
    book = _certain_book(1, 8_000_000, 0)
    with pytest.raises(ValueError, match="overflow 64-bit yen arithmetic"):
        simulate(book, model, 1, seed=1)


# -- costs that scale with the flat -----------------------------------------------------------------
EXECUTED = CollectionChain.from_transitions({"dunning": {"forced_execution": 1.0}})
SUED = CollectionChain.from_transitions({"dunning": {"suit": 1.0}, "suit": {"settlement": 1.0}})


@pytest.mark.parametrize("chain, total, cost", [
    # forced execution entered in month 2: 65,000 + 150,000 + floor((0 + 3.5 + 1.0) x total)
    (EXECUTED, 30_000, 65_000 + 150_000 + 135_000),
    (EXECUTED, 150_000, 65_000 + 150_000 + 675_000),
    (EXECUTED, 33_333, 65_000 + 150_000 + 149_998),  # floor(4.5 x 33,333) = floor(149,998.5)
    # the suit entered in month 2: 500,000 + floor(0.5 x total)
    (SUED, 30_001, 500_000 + 15_000),
])
def test_costs_are_a_fixed_amount_plus_a_multiple_of_the_monthly_total(chain, total, cost):
    model = dataclasses.replace(_certain_model(1_000_000), chain=chain, suit_cost_yen=500_000, suit_cost_months=0.5,
                                execution_cost_yen=65_000, removal_cost_yen=150_000, removal_cost_months=3.5,
                                restoration_cost_months=1.0)
    book = _certain_book(3, total, 0, plan="with_parking")
    for flows in (simulate(book, model, 2, seed=1).cash_flows, simulate_reference(book, model, 2, seed=1),
                  simulate_month_stepping(book, model, 2, seed=1)):
        assert np.array_equal(flows[:, LINES.index("costs"), 2], np.full(2, 3 * cost))
        assert flows[:, LINES.index("costs"), :].sum() == 2 * 3 * cost
    assert expected_cash_flows(book, model).loc[2, "costs"] == pytest.approx(3 * cost, rel=1e-6)


@pytest.fixture(scope="module")
def scaled_model(parking_model):
    return dataclasses.replace(parking_model, suit_cost_months=0.5, execution_cost_yen=65_000,
                               removal_cost_yen=150_000, removal_cost_months=3.5, restoration_cost_yen=0,
                               restoration_cost_months=1.0)


def test_scaled_costs_kernel_equals_the_reference(scaled_model, parking_book):
    fast = _kernel_equals_reference(parking_book, scaled_model, 400, seed=6)
    assert fast[:, LINES.index("costs"), :].sum() > 0


def test_scaled_costs_monte_carlo_within_four_standard_errors_of_exact(scaled_model, parking_book):
    from actuarial.simulation.exact import expected_cash_flows_by_contract

    result = simulate(parking_book, scaled_model, 20_000, seed=29)
    exact = expected_cash_flows(parking_book, scaled_model).sum()
    _within_four_standard_errors(result, exact, lines=("costs",))
    assert exact["costs"] > 0
    grouped = expected_cash_flows(parking_book, scaled_model, nodes=6)
    readable = expected_cash_flows_by_contract(parking_book, scaled_model, nodes=6)
    assert np.allclose(grouped.to_numpy(), readable.to_numpy(), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("value", [-1.0, 121.0, float("nan"), "2", True])
def test_cost_months_must_be_a_number_of_months(value):
    with pytest.raises(ValueError, match="removal_cost_months"):
        dataclasses.replace(_certain_model(1_000_000), removal_cost_months=value)


@pytest.mark.parametrize("value", ["-1.0", "121.0", ".nan", "'x'"])
def test_cost_months_in_params_are_checked_naming_the_key(tmp_path, value):
    from actuarial.params import ParamsError

    f = _scenario_file(tmp_path, f"collection: {{restoration_cost_months: {value}}}")
    with pytest.raises(ParamsError, match="collection.restoration_cost_months"):
        load_params(f)


# -- the insurance contract amount (保険契約額, JHF guide V-4) -----------------------------------------
def _amount_model(amount, start="2026-01-01"):
    import datetime as dt

    jhf = dataclasses.replace(BASE.jhf_terms(), contract_amount_yen=amount)
    return dataclasses.replace(_certain_model(1_000_000), jhf=jhf, months=8,
                               projection_start=dt.date.fromisoformat(start) if start else None)


def test_the_contract_amount_leaves_new_guarantees_uninsured_once_a_policy_year_is_full():
    """Rent 100,000: each guarantee's claim-free limit is 840,000. With 2,000,000 a policy year
    and the projection starting 1 January 2026: one guarantee in force since October 2025
    (month -3, FY2025) uses 840,000; of the two new ones in January (month 0) one fits
    (1,680,000) and one does not; the March one does not either; from April (month 3,
    FY2026) the year starts afresh and two of the three fit."""
    book = _certain_book(7, 100_000, 0).assign(start_month=[-3, 0, 0, 2, 3, 3, 3])
    model = _amount_model(2_000_000)
    result = simulate(book, model, 2, seed=3)
    table = result.jhf_attachment
    assert table.loc[2025].tolist() == [4, 2, 1_680_000, 2, 1_680_000]
    assert table.loc[2026].tolist() == [3, 2, 1_680_000, 1, 840_000]
    # the premium (25% of 100,000) only for the new guarantees attached: month 0 one, month 3 two
    premium = result.cash_flows[0, LINES.index("jhf_premium")]
    assert premium[0] == 25_000 and premium[2] == 0 and premium[3] == 50_000
    slow = simulate_reference(book, model, 2, seed=3)
    assert np.array_equal(result.cash_flows[:, 1:], slow[:, 1:])
    # no contract amount: everyone insured, no table
    free = simulate(book, _amount_model(None), 2, seed=3)
    assert free.jhf_attachment is None and free.cash_flows[0, LINES.index("jhf_premium")].sum() == 6 * 25_000


def test_the_contract_amount_needs_a_projection_start():
    with pytest.raises(ValueError, match="rent_model.projection_start"):
        simulate(_certain_book(2, 100_000, 0), _amount_model(2_000_000, start=None), 1, seed=1)
    with pytest.raises(ValueError, match="projection_start must be a date"):
        dataclasses.replace(_amount_model(None), projection_start="2026-01-01")


# -- claim-level output ---------------------------------------------------------------------------
def _reference_claims(book, model, n, seed):
    from actuarial.simulation.rent.claims import CLAIM_COLUMNS

    rows = []
    simulate_reference(book, model, n, seed, claims=rows)
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS[:-1]))


@pytest.mark.parametrize("which", ["scaled", "refusing"])
def test_claim_rows_equal_the_references(which, scaled_model, refusing_model, parking_book):
    model = {"scaled": scaled_model, "refusing": refusing_model}[which]
    book = parking_book.assign(start_month=[0, -5, 3, 0, -2, 0, 1, 0])
    result = simulate(book, model, 30, seed=8, claims=12)
    slow = _reference_claims(book, model, 12, seed=8)
    fast = result.claims
    assert len(fast) == len(slow) > 50
    for column in slow.columns:
        assert fast[column].astype(str).tolist() == slow[column].astype(str).tolist(), column
    assert set(fast["scenario"]) <= set(range(12))
    assert (fast["net_loss_yen"] == fast["subrogated_yen"] + fast["costs_yen"] - fast["recoveries_yen"]
            - fast["jhf_payout_yen"] + fast["jhf_remittance_yen"]).all()
    # the option never changes the cash flows
    assert np.array_equal(result.cash_flows, simulate(book, model, 30, seed=8).cash_flows)


def test_claim_rows_of_a_certain_three_month_claim():
    book = _certain_book(4, 100_000, 20_000)
    result = simulate(book, _certain_model(1_000_000), 2, seed=5, claims=2)
    c = result.claims
    assert len(c) == 8 and (c["exit"] == "skip").all() and (c["exit_month"] == 4).all()
    assert (c["first_missed_month"] == 1).all() and (c["months_subrogated"] == 3).all()
    assert (c["subrogated_yen"] == 360_000).all() and (c["jhf_payout_yen"] == 210_000).all()
    assert sorted(c["contract"].tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert c["monthly_total_yen"].eq(120_000).all() and c["rent_at_start_yen"].eq(100_000).all()


@pytest.mark.parametrize("value", [-1, 3, 1.5, True, "2"])
def test_claims_must_be_a_count_of_scenarios(value):
    with pytest.raises(ValueError, match="claims must be a whole number"):
        simulate(_certain_book(1, 100_000, 0), _certain_model(1_000_000), 2, seed=1, claims=value)


def test_mortgage_default_rows_reconcile_with_the_cash_flows():
    from actuarial.portfolio import synthetic_mortgage_book
    from actuarial.simulation import MORTGAGE_LINES, MortgageModel

    model = dataclasses.replace(MortgageModel.from_params(BASE), months=120,
                                annual_default_rate={"A": 0.02, "B": 0.05, "C": 0.1})
    book = synthetic_mortgage_book(300, seed=2)
    result = simulate(book, model, 40, seed=6, claims=25)
    rows = result.claims
    assert len(rows) > 100 and rows["scenario"].max() < 25
    for s in range(25):
        mine = rows[rows["scenario"] == s]
        paid = mine[mine["subrogation_month"] <= model.months]  # a default's subrogation comes 5 months later
        assert paid["subrogated_yen"].sum() == result.cash_flows[s, MORTGAGE_LINES.index("subrogation")].sum()
        within = mine[mine["recovery_month"] <= model.months]
        assert within["recovered_yen"].sum() == result.cash_flows[s, MORTGAGE_LINES.index("recoveries")].sum()
        assert mine["loan"].is_unique
    assert (rows["net_loss_yen"] == rows["subrogated_yen"] - rows["recovered_yen"]).all()
    assert np.array_equal(result.cash_flows, simulate(book, model, 40, seed=6).cash_flows)


def test_loss_per_claim_by_rent_band_and_bad_input():
    from actuarial.tables import loss_per_claim

    rows = pd.DataFrame({"exit": ["skip", "forced_execution", "cure", "settlement"],
                         "monthly_total_yen": [40_000, 45_000, 60_000, 120_000],
                         "net_loss_yen": [300_000, 700_000, 0, 900_000]})
    t = loss_per_claim(rows, edges_yen=(0, 50_000, 100_000))
    assert t["claims"].tolist() == [2, 0, 1]
    assert t.loc["0-49,999", ["median_loss_yen", "mean_loss_yen", "max_loss_yen"]].tolist() == [500_000, 500_000,
                                                                                                 700_000]
    with pytest.raises(ValueError, match="edges_yen must be whole yen"):
        loss_per_claim(rows, edges_yen=(0, 50_000, 50_000))
    with pytest.raises(ValueError, match="net_loss_yen"):
        loss_per_claim(rows.drop(columns="net_loss_yen"))


def test_a_contract_amount_without_a_projection_start_is_refused_by_the_params(tmp_path):
    from actuarial.params import ParamsError

    f = _scenario_file(tmp_path, "jhf: {contract_amount_yen: 50000000}")
    with pytest.raises(ParamsError, match="rent_model.projection_start"):
        load_params(f)


def test_cost_months_with_more_than_six_decimals_are_refused_up_front(tmp_path):
    from actuarial.params import ParamsError

    with pytest.raises(ValueError, match="restoration_cost_months"):
        dataclasses.replace(_certain_model(1_000_000), restoration_cost_months=0.3333333)
    f = _scenario_file(tmp_path, "collection: {removal_cost_months: 0.3333333}")
    with pytest.raises(ParamsError, match="collection.removal_cost_months"):
        load_params(f)


def test_attachment_bad_input_names_the_column():
    from actuarial.products.jhf_insurance import JHFTerms

    t = JHFTerms(contract_amount_yen=1_000_000)
    with pytest.raises(ValueError, match="'committed' must be True/False"):
        t.attach_within_contract_amount(pd.DataFrame({"attach_date": ["2024-05-01"], "rent_at_start": [1],
                                                      "committed": ["no"]}))
    with pytest.raises(ValueError, match="column 'attach_date'"):
        t.attach_within_contract_amount(pd.DataFrame({"attach_date": ["2024-02-30"], "rent_at_start": [1]}))


def test_mortgage_refund_lag_given_as_a_whole_float_is_kept_whole():
    from actuarial.simulation import MortgageModel

    m = dataclasses.replace(MortgageModel.from_params(BASE), refund_lag_months=2.0)
    assert m.refund_lag_months == 2 and isinstance(m.refund_lag_months, int)
    assert m.refunds_paid(np.array([1.0, 2.0, 3.0])).tolist() == [0.0, 0.0, 1.0]
