"""Calibration: every fit against its public target, hazards recovered from histories, provenance."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import chi2

from actuarial import calibration as cal
from actuarial.collection import MLIT_FUNNEL, CollectionChain
from actuarial.params import load_params
from actuarial.portfolio import synthetic_rent_book
from actuarial.simulation import RentModel

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")
PRIOR = yaml.safe_load((ROOT / "params" / "calibration" / "collection_prior.yaml").read_text(encoding="utf-8"))


def test_base_funnel_simulated_within_ten_percent_of_every_survey_figure():
    sim = cal.simulated_funnel(BASE.collection.chain(), 600_000, seed=2026)
    for event, (per_1000, months) in MLIT_FUNNEL.items():
        assert abs(sim.loc[event, "simulated_per_1000"] / per_1000 - 1) <= 0.10, event
        assert abs(sim.loc[event, "simulated_months"] / months - 1) <= 0.10, event


def test_fitting_the_prior_reproduces_the_shipped_base_chain():
    fitted, residuals = cal.fit_collection(PRIOR)
    assert residuals[["count_relative_error", "months_relative_error"]].abs().max().max() < 0.01
    assert fitted == BASE.collection.transitions  # params/base.yaml holds exactly this fit


def test_fit_collection_on_a_hand_made_target():
    # a chain that produces known figures is recovered from them
    truth = CollectionChain.from_transitions(BASE.collection.transitions).stressed(0.9)
    targets = {e: (v, m) for e, v, m in zip(truth.funnel().index, truth.funnel()["model_per_1000"],
                                              truth.funnel()["model_months"], strict=True)}
    _, residuals = cal.fit_collection(PRIOR, targets)
    assert residuals[["count_relative_error", "months_relative_error"]].abs().max().max() < 0.02


def test_prepayment_fit_reproduces_the_repayment_times():
    for contracted, actual in ((25.7, 14.4), (26.7, 15.7)):
        c = cal.fit_prepayment(contracted_years=contracted, actual_years=actual)
        assert cal.expected_repayment_years(c, 60, round(contracted * 12)) == pytest.approx(actual, abs=1e-6)
    assert cal.fit_prepayment(contracted_years=26.7, actual_years=15.7) == pytest.approx(
        BASE.mortgage_model.psj_plateau_cpr, abs=5e-5)
    assert cal.expected_repayment_years(0.0, 60, 120) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="actual_years"):
        cal.fit_prepayment(contracted_years=20, actual_years=25)


def test_hazard_level_meets_the_jpm_arrears_and_the_base_params_hold_it():
    model = RentModel.from_params(BASE)
    shares = {"A": 0.5, "B": 0.35, "C": 0.15}
    prevalence = cal.arrears_prevalence(model, shares)
    assert prevalence["two_plus_months"] == pytest.approx(cal.JPM_ARREARS["two_plus_months"], rel=0.01)
    fitted = cal.fit_hazard_scale(model, shares)
    for g, h in fitted.items():
        assert h == pytest.approx(BASE.rent_model.delinquency_hazard[g], rel=2e-3)
    book = synthetic_rent_book(20_000, seed=1)
    assert book["grade"].value_counts(normalize=True).to_dict() == pytest.approx(shares, abs=0.02)


@pytest.mark.parametrize("repayment_months", [0, 1])
def test_months_late_by_months_owed_match_simulated_cases(repayment_months):
    """The (state, months owed) propagation against cases simulated month by month, each
    counted at a month-end while it is still in the process the month after."""
    from actuarial.collection import STATES, TRANSIENT_STATES

    model = dataclasses.replace(RentModel.from_params(BASE), months=24, installment_repayment_months=repayment_months)
    one, two = cal.late_by_month(model, "months_owed")
    paths = model.chain.sample_paths(200_000, model.months + 1, np.random.default_rng(7))
    K, inst = len(TRANSIENT_STATES), STATES.index("installment")
    owed = np.zeros(len(paths), dtype=np.int64)
    for d in range(model.months + 1):
        state = paths[:, d]
        owed = np.where(state == inst, owed - np.minimum(owed, repayment_months), np.minimum(owed + 1, 24))
        still = paths[:, d + 1] < K
        for late, counted in ((one, still & (owed == 1)), (two, still & (owed >= 2))):
            p = counted.mean()
            assert abs(late[d] - p) <= 4 * np.sqrt(max(p, 1e-6) * (1 - p) / len(paths)) + 1e-12, (d, late[d], p)
    assert two.sum() > 0.01 and one[1:].sum() > 0.001  # plans make some cases 1 month late after month 0


def test_the_two_arrears_measures_agree_without_installment_plans():
    chain = CollectionChain.from_transitions({"dunning": {"cure": 0.9, "emergency_contact": 0.05},
                                              "emergency_contact": {"cure": 0.4, "skip": 0.1}})
    model = RentModel(chain=chain, plans={}, delinquency_hazard={"A": 0.05, "B": 0.1}, months=36)
    shares = {"A": 0.6, "B": 0.4}
    by_process = cal.arrears_prevalence(model, shares)
    by_owed = cal.arrears_prevalence(model, shares, measure="months_owed")
    assert by_owed == pytest.approx(by_process, rel=1e-12)
    assert by_process["two_plus_months"] > 0


def test_by_months_owed_plans_leave_fewer_contracts_two_months_late():
    model = RentModel.from_params(BASE)
    shares = {"A": 0.5, "B": 0.35, "C": 0.15}
    by_owed = cal.arrears_prevalence(model, shares, measure="months_owed")
    assert by_owed["two_plus_months"] < cal.arrears_prevalence(model, shares, measure="in_process")["two_plus_months"]
    fitted = cal.fit_hazard_scale(model, shares, measure="months_owed")
    refit = dataclasses.replace(model, delinquency_hazard=fitted)
    assert cal.arrears_prevalence(refit, shares, measure="months_owed")["two_plus_months"] == \
        pytest.approx(cal.JPM_ARREARS["two_plus_months"], rel=1e-6)
    with pytest.raises(ValueError, match="measure must be one of in_process, months_owed, got 'owed'"):
        cal.arrears_prevalence(model, shares, measure="owed")
    assert cal.book_average_hazard(model, shares) == pytest.approx(0.5 * 0.0646 + 0.35 * 0.1290 + 0.15 * 0.2582)
    with pytest.raises(ValueError, match="grade_shares must name the model's grades"):
        cal.book_average_hazard(model, {"A": 1.0})


def test_shipped_synthetic_history_is_the_documented_draw_from_the_base_hazards():
    shipped = pd.read_csv(ROOT / "params" / "calibration" / "synthetic_history.csv")
    rm = BASE.rent_model
    drawn = cal.simulate_histories(3000, delinquency_hazard=rm.delinquency_hazard, moveout_hazard=rm.moveout_hazard,
                                   months=60, seed=2026)
    pd.testing.assert_frame_equal(shipped, drawn)


def test_hazards_recovered_from_the_shipped_synthetic_history_within_sampling_error():
    history = pd.read_csv(ROOT / "params" / "calibration" / "synthetic_history.csv")
    fit = cal.against_generating(cal.fit_hazards(history, bands=(12, 24)), BASE.rent_model.delinquency_hazard,
                                 BASE.rent_model.moveout_hazard)
    assert fit.loc[(fit["grade"] == "C") & (fit["event"] == "moveout"), "generating"].tolist() == [0.015] * 3
    z = fit["z"]
    with pytest.raises(ValueError, match="no value for grade 'C'"):
        cal.against_generating(fit, {"A": 0.03, "B": 0.07}, 0.015)
    assert len(z) == 18
    # grade C (26% a month) leaves nobody at risk after 24 months: those two bands hold no information
    assert z.isna().tolist() == [False] * 16 + [True] * 2
    z = z.dropna()
    assert z.abs().max() <= 3.5  # 16 estimates: one beyond 3.5 SE has odds of about 1 in 130
    assert (z ** 2).sum() <= chi2.ppf(0.999, len(z))  # jointly: chi-square with one degree each
    assert fit["events"].sum() == (history["event"] != "censored").sum()


def test_distance_from_the_generating_hazard_by_hand():
    h = pd.DataFrame({"contract_id": [1, 2], "grade": "A", "months_observed": [5, 4], "event": ["censored", "moveout"]})
    fit = cal.against_generating(cal.fit_hazards(h, bands=(12,)), {"A": 0.1}, 0.25).set_index(["band", "event"])
    # band 1-12: 9 months at risk, no delinquency: (0 - 0.1) / sqrt(0.1 x 0.9 / 9) = -1; one move-out:
    # (1/9 - 0.25) / sqrt(0.25 x 0.75 / 9); band 13-: nobody at risk
    assert fit.loc[("1-12", "delinquency"), "z"] == pytest.approx(-1.0)
    assert fit.loc[("1-12", "moveout"), "z"] == pytest.approx((1 / 9 - 0.25) / np.sqrt(0.25 * 0.75 / 9))
    assert np.isnan(fit.loc[("13-", "delinquency"), "z"])


def test_hazard_mle_by_hand():
    h = pd.DataFrame({"contract_id": [1, 2, 3], "grade": "A", "months_observed": [5, 10, 20],
                      "event": ["delinquency", "censored", "moveout"]})
    fit = cal.fit_hazards(h, bands=(12,)).set_index(["band", "event"])
    # band 1-12: at risk 5 + 10 + 12 = 27 months, one delinquency; band 13-: 8 months, one move-out
    assert fit.loc[("1-12", "delinquency"), "hazard"] == pytest.approx(1 / 27)
    assert fit.loc[("13-", "moveout"), "hazard"] == pytest.approx(1 / 8)
    assert fit.loc[("1-12", "moveout"), "events"] == 0
    # a move-out can only be seen in a month without a first missed rent: band 1-12's month 5
    # of contract 1 ended in one, so the move-out rests on 26 months
    assert fit.loc[("1-12", "moveout"), "months_at_risk"] == 26 and fit.loc[("13-", "moveout"), "months_at_risk"] == 8
    h2 = pd.DataFrame({"contract_id": [1, 2, 3, 4], "grade": "A", "months_observed": [2, 3, 3, 1],
                       "event": ["delinquency", "moveout", "delinquency", "censored"]})
    fit2 = cal.fit_hazards(h2, bands=()).set_index(["band", "event"])
    # 9 months at risk, 2 first missed rents: h = 2/9; move-outs seen in 9 - 2 = 7 months: 1/7
    assert fit2.loc[("1-", "delinquency"), "hazard"] == pytest.approx(2 / 9)
    assert fit2.loc[("1-", "moveout"), "hazard"] == pytest.approx(1 / 7)
    assert fit2.loc[("1-", "moveout"), "standard_error"] == pytest.approx(np.sqrt(1 / 7 * 6 / 7 / 7))


def test_hazards_recovered_without_bias_from_a_large_history():
    # 300,000 contracts: a standard error of about 0.0003 on the move-out hazard; estimating
    # it as move-outs over all months at risk would be (1 - h) mu, 0.0111 for grade C, 13 of
    # them below the 0.015 that generated the history
    rates = {"A": 0.0646, "B": 0.129, "C": 0.2582}
    history = cal.simulate_histories(300_000, delinquency_hazard=rates, moveout_hazard=0.015, months=60, seed=7)
    fit = cal.against_generating(cal.fit_hazards(history, bands=(12, 24)), rates, 0.015)
    first_year = fit[fit["band"] == "1-12"]
    assert first_year["z"].abs().max() < 4, first_year
    z = fit["z"].dropna()
    assert (z ** 2).sum() <= chi2.ppf(0.999, len(z))


@pytest.mark.parametrize("change, needle", [
    (lambda h: h.drop(columns="event"), "missing column 'event'"),
    (lambda h: h.assign(event="default"), "unknown value 'default' in row 0"),
    (lambda h: h.assign(months_observed=0), "'months_observed' must be whole months >= 1"),
])
def test_bad_histories(change, needle):
    h = pd.DataFrame({"contract_id": [1], "grade": ["A"], "months_observed": [3], "event": ["censored"]})
    with pytest.raises(ValueError, match=needle):
        cal.fit_hazards(change(h))


def test_long_arrears_carry_most_of_the_loss():
    share = cal.long_arrears_loss_share(RentModel.from_params(BASE), 200_000, seed=3)
    assert 0.5 < share <= 1.0  # LICC: 67%; the model is reported next to it in notebook 07


def test_pnl_ratios_by_hand():
    losses = pd.DataFrame({"fees": [200.0] * 3, "subrogation": [110.0, 130.0, 150.0],
                           "recoveries": [100.0, 100.0, 100.0], "costs": [4.0, 4.0, 10.0]})
    r = cal.pnl_ratios(losses)
    # credit loss 10, 30, 50: mean 30, sd 20; costs 4, 4, 10: mean 6, sd sqrt(12)
    assert r.loc["credit loss / fees", "model"] == pytest.approx(30 / 200)
    assert r.loc["credit loss / fees", "standard_error"] == pytest.approx(20 / np.sqrt(3) / 200)
    assert r.loc["collection costs / fees", "model"] == pytest.approx(6 / 200)
    assert r.loc["collection costs / fees", "standard_error"] == pytest.approx(np.sqrt(12) / np.sqrt(3) / 200)
    assert r.loc["together", "model"] == pytest.approx(36 / 200)
    # Casa, 9 months to October 2021: 1.743bn and 0.694bn of 7.837bn sales
    assert r["casa"].tolist() == pytest.approx([1743 / 7837, 694 / 7837, 2437 / 7837], rel=1e-12)


def test_pnl_ratios_agree_with_the_simulated_cash_flows():
    from actuarial.simulation import simulate
    from actuarial.simulation.rent import LINES

    result = simulate(synthetic_rent_book(2_000, seed=5), RentModel.from_params(BASE), 40, seed=9)
    flows = result.cash_flows.sum(axis=2)  # scenario x line
    fees, sub, costs, rec = (flows[:, LINES.index(c)] for c in ("fees", "subrogation", "costs", "recoveries"))
    r = cal.pnl_ratios(result.losses)
    assert r.loc["credit loss / fees", "model"] == pytest.approx((sub - rec).mean() / fees.mean(), rel=1e-12)
    assert r.loc["collection costs / fees", "model"] == pytest.approx(costs.mean() / fees.mean(), rel=1e-12)
    assert r.loc["credit loss / fees", "standard_error"] > 0


@pytest.mark.parametrize("losses, needle", [
    (pd.DataFrame({"fees": [1.0], "subrogation": [1.0], "recoveries": [1.0]}), "losses is missing column 'costs'"),
    (pd.DataFrame({"fees": [0.0], "subrogation": [1.0], "recoveries": [1.0], "costs": [1.0]}),
     "column 'fees' must have a positive mean, got 0.0"),
    (pd.DataFrame(columns=["fees", "subrogation", "recoveries", "costs"]), "losses has no rows"),
    ([1, 2], "losses must be a pandas DataFrame, got list"),
    (pd.DataFrame({"fees": [1.0], "subrogation": ["1"], "recoveries": [1.0], "costs": [1.0]}),
     "losses: column 'subrogation' must hold numbers"),
])
def test_pnl_ratios_bad_input(losses, needle):
    with pytest.raises(ValueError, match=needle):
        cal.pnl_ratios(losses)


def test_provenance_lists_every_number_with_its_kind():
    p = cal.provenance(ROOT / "params" / "recession.yaml")
    assert set(p["kind"]) == {"fitted", "assumed", "sourced"}
    row = p.set_index("parameter").loc["rent_model.delinquency_hazard.C"]
    assert (row["file"], row["value"], row["kind"]) == ("recession.yaml", "0.3872", "assumed")
    inherited = p.set_index("parameter").loc["jhf.coverage_ratio"]
    assert inherited["file"] == "base.yaml" and inherited["kind"] == "sourced"
    fitted = p.set_index("parameter").loc["collection.transitions.dunning.cure"]
    assert fitted["kind"] == "fitted"
    assert not p["parameter"].duplicated().any()
    assert np.all(p["source"].str.len() > 0)
