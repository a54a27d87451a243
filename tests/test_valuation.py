"""The quarter close: hand-worked allowances, stages, unearned fees; the figures' Monte Carlo
against their exact expectations; bad input named before anything runs."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from actuarial.collection import TRANSIENT_STATES
from actuarial.params import ParamsError, load_params
from actuarial.portfolio import read_book_csv, synthetic_mortgage_book, synthetic_rent_book
from actuarial.products.mortgage_fee import FeeCurve
from actuarial.simulation import MortgageModel, RentModel
from actuarial.simulation.exact_inforce import expected_inforce_flows
from actuarial.valuation import ValuationSettings, synthetic_inforce_book, value_book
from actuarial.valuation.fees import unearned_mortgage_fees, unearned_rent_fees
from actuarial.valuation.synthetic import synthetic_inforce_mortgage_book

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")
SETTINGS = ValuationSettings("2026-12-31")


@pytest.fixture(scope="module")
def model():
    return dataclasses.replace(RentModel.from_params(BASE), months=36)


def _receivables(**over):
    row = {"receivable_id": "R1", "balance_yen": 300_000, "months_since_exit": 2, "exit_kind": "settlement",
           "insured": False, "jhf_payout_received_yen": 0}
    row.update(over)
    return pd.DataFrame([row])


def _performing(n=20, seed=1):
    return synthetic_rent_book(n, seed=seed).assign(contract_id=[f"C{i}" for i in range(n)], start_month=-5)


def test_a_closed_receivable_recovers_the_after_exit_share_in_expectation(model):
    """Balance 300,000 yen, 2 months after the exit, a 6-month delay: one recovery in month 4
    of floor(300,000 x 0.3 x m(z)), m(z) = exp(beta min(z, 0)), so E = 90,000 x E[m(Z)] with
    E[m(Z)] = 1/2 + exp(beta^2 / 2) Phi(-beta) (less the truncation's part of a yen). Insured
    with the payout received, 70% of it is remitted to JHF. Older than the delay: nothing."""
    beta = model.good_exit_sensitivity
    mean_m = 0.5 + math.exp(beta ** 2 / 2) * norm.cdf(-beta)
    hand = 300_000 * 0.3 * mean_m
    book = _performing()
    cases = ((_receivables(), hand), (_receivables(insured=True, jhf_payout_received_yen=210_000), hand * 0.3),
             (_receivables(months_since_exit=6), 0.0), (_receivables(months_since_exit=30), 0.0))
    for receivables, expected in cases:
        v = value_book(book, model, SETTINGS, receivables=receivables, n_scenarios=400, seed=1)
        closed = v.allowance.loc["closed"]
        assert closed["expected_recovery_yen"] == pytest.approx(expected, abs=1.0)
        assert closed["allowance_yen"] == pytest.approx(300_000 - expected, abs=1.0)
        assert abs(closed["mc_allowance_yen"] - closed["allowance_yen"]) <= 4 * closed["mc_standard_error_yen"] + 1


def test_a_late_contract_on_a_small_chain_recovers_what_its_absorption_gives():
    """A contract in suit where each month it stays (0.7), is cured (0.2) or ends in a
    judgment (0.1), no economy effect, 24 months, 6-month recovery delay. Its receivable
    (3 months of 100,000 yen) is recovered in full at a cure, within the horizon with chance
    0.2 (1 - 0.7^24) / 0.3, and 30% of it after a judgment whose recovery falls within the
    horizon, chance 0.1 (1 - 0.7^18) / 0.3."""
    m = dataclasses.replace(RentModel.from_params(BASE), months=24, good_exit_sensitivity=0.0, recovery_delay_months=6)
    matrix = np.zeros_like(m.chain.matrix)
    from actuarial.collection import STATES
    for i in range(len(TRANSIENT_STATES)):
        matrix[i, STATES.index("cure")] = 1.0
    suit = STATES.index("suit")
    matrix[suit] = 0.0
    matrix[suit, suit], matrix[suit, STATES.index("cure")], matrix[suit, STATES.index("judgment_exit")] = 0.7, 0.2, 0.1
    m = dataclasses.replace(m, chain=dataclasses.replace(m.chain, matrix=matrix))
    book = synthetic_rent_book(1, seed=1).assign(rent_yen=100_000, management_fee_yen=0, common_fee_yen=0,
                                                  parking_fee_yen=0, plan="zenhoren_one_time", insured=False,
                                                  contract_id="C1", start_month=-10, status="suit",
                                                  months_subrogated=3, arrears_yen=300_000)
    cured = 0.2 * (1 - 0.7 ** 24) / 0.3
    ended = 0.1 * (1 - 0.7 ** 18) / 0.3
    hand = 300_000 * cured + math.floor(300_000 * 0.3) * ended
    v = value_book(book, m, SETTINGS, n_scenarios=2_000, seed=3)
    bucket = v.allowance.loc["up to 3 months"]
    assert bucket["receivable_yen"] == 300_000
    assert bucket["expected_recovery_yen"] == pytest.approx(hand, rel=1e-10)
    assert abs(bucket["mc_allowance_yen"] - (300_000 - hand)) <= 4 * bucket["mc_standard_error_yen"]
    assert v.contracts["stage"].tolist() == [3]  # suit is from the final notice on


@pytest.mark.parametrize("status, owed, stage", [
    ("performing", 0, 1), ("dunning", 0, 1), ("dunning", 1, 2), ("dunning", 2, 2), ("dunning", 3, 3),
    ("installment", 2, 2), ("installment", 5, 3), ("emergency_contact", 1, 2), ("final_notice", 0, 3),
    ("suit", 1, 3), ("broken_promise", 1, 3),
])
def test_stages_at_each_boundary(status, owed, stage):
    code = -1 if status == "performing" else TRANSIENT_STATES.index(status)
    assert SETTINGS.stage(np.array([code]), np.array([owed])).tolist() == [stage]


def test_stage_rules_are_params():
    s = ValuationSettings("2026-12-31", stage_2_months_owed=2, stage_3_months_owed=4, stage_3_states=("suit",))
    codes = np.array([TRANSIENT_STATES.index(x) for x in ("dunning", "dunning", "dunning", "final_notice", "suit")])
    assert s.stage(codes, np.array([1, 2, 4, 1, 0])).tolist() == [1, 2, 3, 1, 3]


@pytest.mark.parametrize("months_owed, bucket", [(0, 0), (1, 0), (3, 0), (4, 1), (12, 1), (13, 2), (40, 2)])
def test_ageing_buckets_close_on_their_edge(months_owed, bucket):
    assert SETTINGS.bucket(np.array([months_owed])).tolist() == [bucket]
    assert SETTINGS.bucket_labels() == ["up to 3 months", "3-12 months", "over 12 months", "closed"]


@pytest.mark.parametrize("plan, age, expected", [
    ("zenhoren_yearly", 0, 50_000 * 11 // 12),   # the initial fee (50% of 100,000), charged this month
    ("zenhoren_yearly", 5, 50_000 * 6 // 12),
    ("zenhoren_yearly", 11, 0),                  # the last month before the renewal
    ("zenhoren_yearly", 12, 10_000 * 11 // 12),  # the renewal fee, charged this month
    ("zenhoren_yearly", 13, 10_000 * 10 // 12),
    ("zenhoren_one_time", 3, 80_000 * 8 // 12),
    ("zenhoren_one_time", 13, 0),                # no renewal: nothing left after the first year
    ("monthly", 2, 10_000 * 9 // 12),            # the initial 10,000; the monthly fees are earned each month
])
def test_unearned_rent_fees_on_each_side_of_a_renewal(model, plan, age, expected):
    book = synthetic_rent_book(1, seed=1).assign(rent_yen=100_000, management_fee_yen=0, common_fee_yen=0,
                                                  parking_fee_yen=0, plan=plan, start_month=-age)
    assert unearned_rent_fees(book, model, SETTINGS, np.array([100_000])).tolist() == [expected]


def test_mortgage_unearned_fee_equals_the_fee_curve_loan_by_loan():
    mm = MortgageModel.from_params(BASE)
    book = synthetic_mortgage_book(60, seed=4)
    got = unearned_mortgage_fees(book, mm)
    for i, loan in book.iterrows():
        if loan["fee_type"] != "lump_sum":
            assert got[i] == 0
            continue
        curve = FeeCurve(principal_yen=int(loan["principal_yen"]), term_years=int(loan["term_months"]) // 12,
                         fee_annual_rate=mm.fee_annual_rate, loan_annual_rate=mm.schedule_loan_rate,
                         discount_annual_rate=mm.schedule_discount_rate)
        assert abs(got[i] - curve.unearned_yen(int(loan["age_months"]) + 1)) <= 1
    assert (got > 0).sum() > 10


@pytest.fixture(scope="module")
def seasoned(model):
    return synthetic_inforce_book(300, model, seed=11)


def test_the_seasoned_book_holds_contracts_in_collection_and_closed_receivables(seasoned):
    book, receivables = seasoned
    assert (book["status"] != "performing").sum() >= 10 and len(receivables) >= 3
    assert (book["start_month"] <= 0).all() and book["contract_id"].is_unique


def test_figures_monte_carlo_within_four_standard_errors_of_exact(model, seasoned):
    book, receivables = seasoned
    mm = MortgageModel.from_params(BASE)
    v = value_book(book, model, SETTINGS, receivables=receivables,
                   mortgage_book=synthetic_inforce_mortgage_book(1_500, mm, seed=2), mortgage_model=mm,
                   n_scenarios=3_000, seed=4)
    a = v.allowance[v.allowance["receivable_yen"] > 0]
    assert len(a) >= 2
    assert (abs(a["mc_allowance_yen"] - a["allowance_yen"]) <= 4 * a["mc_standard_error_yen"] + 1).all(), a
    p = v.provision
    for w in ("12_months", "lifetime"):
        assert (abs(p[f"mc_{w}_yen"] - p[f"ecl_{w}_yen"]) <= 4 * p[f"mc_{w}_standard_error_yen"]).all(), p
    assert len(p) == 6 and (p.loc["mortgage", "contracts"] > 0).all()
    for product in ("rent", "mortgage"):
        assert p.loc[(product, 1), "booked_yen"] == p.loc[(product, 1), "ecl_12_months_yen"]
        later = [(product, 2), (product, 3)]
        assert (p.loc[later, "booked_yen"] == p.loc[later, "ecl_lifetime_yen"]).all()
    h = v.higher_of
    assert (h["measured_yen"] == h[["ecl_yen", "unearned_fee_yen"]].max(axis=1)).all()
    figures = v.key_figures()
    assert figures["provision_booked_yen"] == pytest.approx(p["booked_yen"].sum())
    assert set(figures) >= {"allowance_yen", "receivables_yen", "unearned_fees_rent_yen", "higher_of_mortgage_yen",
                            "provision_mortgage_stage_3_lifetime_yen"}
    assert v.cash_flows.index[0] == "FY2027/03 Q4" and len(v.cash_flows) == 12  # 36 months from January 2027
    assert v.cash_flows_by_year.index.tolist() == ["FY2027/03", "FY2028/03", "FY2029/03", "FY2030/03"]
    assert v.cash_flows_by_year["expected_yen"].sum() == pytest.approx(v.cash_flows["expected_yen"].sum())
    for c in (v.cash_flows, v.cash_flows_by_year, v.mortgage_cash_flows.iloc[:12]):
        assert (abs(c["mc_mean_yen"] - c["expected_yen"]) <= 4 * c["mc_standard_error_yen"] + 1e-6).all(), c
        assert (c["q0.5_yen"] <= c["q50_yen"]).all() and (c["q50_yen"] <= c["q99.5_yen"]).all()


def test_an_all_performing_book_has_no_receivable_and_its_provision_is_todays_expected_loss(model):
    from actuarial.simulation.exact import expected_cash_flows

    book = _performing(40)
    v = value_book(book, model, SETTINGS, n_scenarios=200, seed=2)
    assert v.allowance["receivable_yen"].sum() == 0
    e = expected_cash_flows(book, model).iloc[1:13]
    net = (e["subrogation"] + e["costs"] - e["recoveries"] - e["jhf_payout"] + e["jhf_remittance"]).sum()
    assert v.provision.loc[("rent", 1), "ecl_12_months_yen"] == pytest.approx(net, rel=1e-12)
    assert (v.provision[["ecl_12_months_yen", "ecl_lifetime_yen"]] >= 0).all().all()
    assert v.provision.loc[[("rent", 2), ("rent", 3)], "contracts"].sum() == 0


def _bad(change):
    book = _performing(4)
    return {"book": book.assign(**change) if change else book}


@pytest.mark.parametrize("make, needle", [
    (lambda b, r: (b.assign(contract_id="C1"), r), r"contract_id' in row 1: 'C1' appears more than once"),
    (lambda b, r: (b.assign(start_month=[-3, 2, -1, 0]), r), r"start_month' in row 1: 2 is after the valuation date"),
    (lambda b, r: (b, r.assign(balance_yen=0)), r"receivables column 'balance_yen' in row 0: a receivable needs a "
                                                 r"balance above 0, got 0"),
    (lambda b, r: (b, r.assign(balance_yen=np.nan)), r"balance_yen.*row 0"),
    (lambda b, r: (b, r.assign(months_since_exit=-1)), r"months_since_exit' in row 0: negative months -1"),
    (lambda b, r: (b, r.assign(exit_kind="cure")), r"exit_kind' in row 0: 'cure' is not a tenancy-ending exit"),
    (lambda b, r: (b, r.assign(jhf_payout_received_yen=5)), r"a payout of 5 on a receivable that is not insured"),
    (lambda b, r: (b, pd.concat([r, r], ignore_index=True)), r"receivable_id' in row 1: 'R1' appears more than once"),
    (lambda b, r: (b, r.drop(columns="insured")), r"insured"),
    (lambda b, r: (b.assign(contract_id=[None, "C1", "C2", "C3"]), r), r"contract_id' in row 0: an empty cell"),
    (lambda b, r: (b.drop(columns="start_month"), r), r"rent book is missing column.*start_month"),
    (lambda b, r: (b.iloc[:0], r), r"rent book has no rows"),
])
def test_bad_books_are_named_before_anything_runs(model, make, needle):
    book, receivables = make(_performing(4), _receivables())
    with pytest.raises(ValueError, match=needle):
        value_book(book, model, SETTINGS, receivables=receivables, n_scenarios=2, seed=1)


@pytest.mark.parametrize("over, needle", [
    ({"valuation_date": "2026-13-01"}, r"valuation_date must be a date \(YYYY-MM-DD\), got '2026-13-01'"),
    ({"valuation_date": 20261231}, r"valuation_date must be a date \(YYYY-MM-DD\), got 20261231"),
    ({"ageing_edges_months": (12, 3)}, r"ageing_edges_months must increase, got \[12, 3\]"),
    ({"ageing_edges_months": (3, 3)}, r"ageing_edges_months must increase, got \[3, 3\]"),
    ({"stage_3_states": ("suit", "court")}, r"stage_3_states names 'court', which is not a collection state"),
    ({"stage_3_states": ("cure",)}, r"stage_3_states names 'cure', which is not a collection state"),
    ({"stage_3_months_owed": 0}, r"stage_3_months_owed must be >= 1"),
    ({"stage_2_months_owed": 4}, r"stage_3_months_owed \(3\) must not be below stage_2_months_owed \(4\)"),
    ({"fiscal_year_end_month": 13}, r"fiscal_year_end_month must be 1-12, got 13"),
    ({"discount_annual_rate": float("nan")}, r"discount_annual_rate must be a number in \[0, 0.2\], got nan"),
    ({"discount_annual_rate": -0.01}, r"discount_annual_rate must be a number in \[0, 0.2\], got -0.01"),
    ({"fee_earning_months": 0}, r"fee_earning_months must be >= 1"),
    ({"valuation_date": "2026-12-15"}, r"valuation_date must be the last day of a month .*got 2026-12-15"),
])
def test_bad_settings_name_the_field_and_value(over, needle):
    with pytest.raises(ValueError, match=needle):
        ValuationSettings(**({"valuation_date": "2026-12-31"} | over))


@pytest.mark.parametrize("old, new, needle", [
    ("  valuation_date: 2026-12-31 ", "  valuation_date: 2026-02-30 ", r"valuation\.valuation_date"),
    ("  ageing_edges_months: [3, 12] ", "  ageing_edges_months: [12, 3] ", r"ageing_edges_months must increase"),
    ("  stage_3_states: [final_notice,", "  stage_3_states: [court,", r"stage_3_states names 'court'"),
    ("  discount_annual_rate: 0.0 ", "  discount_annual_rate: .nan ", r"valuation\.discount_annual_rate"),
])
def test_bad_valuation_params_name_the_file_and_key(tmp_path, old, new, needle):
    text = (ROOT / "params" / "base.yaml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"bad\.yaml: .*" + needle):
        load_params(bad)


def test_the_shipped_books_read_and_value(model):
    book = read_book_csv(ROOT / "params" / "books" / "inforce_rent_book.csv", "rent")
    receivables = read_book_csv(ROOT / "params" / "books" / "closed_receivables.csv", "receivables")
    assert book.index[0] == 2 and receivables["insured"].dtype == bool
    v = value_book(book, model, SETTINGS, receivables=receivables, n_scenarios=20, seed=1)
    assert v.allowance["receivable_yen"].sum() == book["arrears_yen"].sum() + receivables["balance_yen"].sum()
    assert (v.provision[["ecl_12_months_yen", "ecl_lifetime_yen"]] > 0).all().all()
    assert (v.allowance["allowance_yen"] >= 0).all()


def test_a_bad_value_in_the_shipped_csv_names_the_spreadsheet_row(tmp_path, model):
    text = (ROOT / "params" / "books" / "inforce_rent_book.csv").read_text(encoding="utf-8").splitlines()
    cells = text[4].split(",")
    cells[3] = "-100"  # arrears_yen of the contract on spreadsheet row 5
    text[4] = ",".join(cells)
    path = tmp_path / "book.csv"
    path.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(ValueError, match=r"'arrears_yen' has a negative value -100 in row 5"):
        value_book(read_book_csv(path, "rent"), model, SETTINGS, n_scenarios=2, seed=1)


def test_exact_figures_need_no_simulation(model, seasoned):
    book, _ = seasoned
    flows, walked = expected_inforce_flows(book, model)
    assert walked.shape == (1, 8, model.months + 1) and walked[0, 5].sum() > 0


def test_check_names_a_bad_row_of_the_valuation_books(tmp_path):
    from actuarial.portfolio import check_books

    (tmp_path / "books").mkdir()
    for name in ("inforce_rent_book.csv", "closed_receivables.csv", "inforce_mortgage_book.csv", "status_history.csv"):
        (tmp_path / "books" / name).write_text((ROOT / "params" / "books" / name).read_text(encoding="utf-8"),
                                               encoding="utf-8")
    params = tmp_path / "base.yaml"
    params.write_text((ROOT / "params" / "base.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    import shutil

    shutil.copytree(ROOT / "params" / "quarters", tmp_path / "quarters")  # last quarter's close, with its books
    shutil.copytree(ROOT / "params" / "books" / "2026-09-30", tmp_path / "books" / "2026-09-30")
    scenario = load_params(params)
    assert any("valuation receivables" in line for line in check_books(scenario, params))
    lines = (tmp_path / "books" / "closed_receivables.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells[3] = "cure"  # exit_kind of spreadsheet row 3
    lines[2] = ",".join(cells)
    (tmp_path / "books" / "closed_receivables.csv").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValueError, match=r"closed_receivables\.csv: receivables column 'exit_kind' in row 3: 'cure' "
                                         r"is not a tenancy-ending exit"):
        check_books(scenario, params)
    (tmp_path / "books" / "closed_receivables.csv").write_text(
        (ROOT / "params" / "books" / "closed_receivables.csv").read_text(encoding="utf-8"), encoding="utf-8")
    loans = pd.read_csv(tmp_path / "books" / "inforce_mortgage_book.csv")
    loans.loc[1, "status"] = "foreclosed"  # spreadsheet row 3
    loans.to_csv(tmp_path / "books" / "inforce_mortgage_book.csv", index=False)
    with pytest.raises(ValueError, match=r"inforce_mortgage_book\.csv: mortgage book column 'status' has 'foreclosed' "
                                         r"in row 3, which is not a mortgage status"):
        check_books(scenario, params)


def test_the_seasoned_book_times_an_exit_as_the_engine_does():
    """Every missed rent ends the tenancy the month after (the chain's only move from dunning
    is a skip): a tenancy whose rent was missed two months before the valuation month ended
    in the valuation month itself, 0 months before the date."""
    from actuarial.collection import STATES

    m = dataclasses.replace(RentModel.from_params(BASE), delinquency_hazard={"A": 0.9, "B": 0.9, "C": 0.9})
    matrix = np.zeros_like(m.chain.matrix)
    matrix[:, STATES.index("skip")] = 1.0
    m = dataclasses.replace(m, chain=dataclasses.replace(m.chain, matrix=matrix))
    book, receivables = synthetic_inforce_book(400, m, seed=3)
    assert receivables["months_since_exit"].min() == 0
    assert set(book["status"]) <= {"performing", "dunning"}
    assert (book.loc[book["status"] == "dunning", "months_subrogated"] == 1).all()
