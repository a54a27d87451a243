"""The collection chain: hand-worked cases, Markov oracles against Monte Carlo, bad input."""

from pathlib import Path

import numpy as np
import pytest

from actuarial.collection import ABSORBING_STATES, STATES, TRANSIENT_STATES, CollectionChain
from actuarial.params import ParamsError, load_params

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml").collection.chain()


def test_geometric_chain_by_hand():
    # dunning: cure 0.2, skip 0.05, stay 0.75 -> P(cure) = 0.2 / 0.25, mean months = 1 / 0.25
    c = CollectionChain.from_transitions({"dunning": {"cure": 0.2, "skip": 0.05}})
    b = c.absorption_probabilities().loc["dunning"]
    assert b["cure"] == pytest.approx(0.8) and b["skip"] == pytest.approx(0.2)
    assert c.expected_months_to_exit()["dunning"] == pytest.approx(4.0)
    assert c.mean_exit_month()["cure"] == pytest.approx(4.0)
    occ = c.occupancy(2)
    assert occ.loc[1, "dunning"] == pytest.approx(0.75) and occ.loc[2, "cure"] == pytest.approx(0.2 + 0.75 * 0.2)


def test_two_step_chain_by_hand():
    # dunning -> suit (0.5) or cure (0.5); suit -> forced_execution (1.0)
    c = CollectionChain.from_transitions({"dunning": {"cure": 0.5, "suit": 0.5}, "suit": {"forced_execution": 1.0}})
    assert c.absorption_probabilities().loc["dunning", "forced_execution"] == pytest.approx(0.5)
    assert c.mean_exit_month()["forced_execution"] == pytest.approx(2.0)
    assert c.exit_month_distribution(3).loc[2, "forced_execution"] == pytest.approx(0.5)


def test_rows_are_distributions():
    assert np.allclose(BASE.matrix.sum(axis=1), 1.0)
    assert np.allclose(BASE.absorption_probabilities().sum(axis=1), 1.0)
    assert BASE.occupancy(600).iloc[-1][list(TRANSIENT_STATES)].sum() < 1e-9


def test_monte_carlo_exit_shares_within_four_standard_errors():
    n = 200_000
    paths = BASE.sample_paths(n, 120, np.random.default_rng(20261123))
    final = np.bincount(paths[:, -1], minlength=len(STATES)) / n
    exact = BASE.occupancy(120).iloc[-1].to_numpy()
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / n)
    assert np.all(np.abs(final - exact) <= 4 * se + 1e-12)


@pytest.mark.parametrize("month", [1, 2, 3, 6, 12])
def test_monte_carlo_occupancy_matches_markov_formula(month):
    n = 100_000
    paths = BASE.sample_paths(n, month, np.random.default_rng(month))
    share = np.bincount(paths[:, month], minlength=len(STATES)) / n
    exact = BASE.occupancy(month).loc[month].to_numpy()
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / n)
    assert np.all(np.abs(share - exact) <= 4 * se + 1e-12)


def test_monte_carlo_mean_exit_month():
    n = 100_000
    paths = BASE.sample_paths(n, 240, np.random.default_rng(7))
    exit_month = (paths < len(TRANSIENT_STATES)).sum(axis=1)  # months spent in transient states
    exact = BASE.expected_months_to_exit()["dunning"]
    assert abs(exit_month.mean() - exact) <= 4 * exit_month.std() / np.sqrt(n)


def test_stress_lowers_cures_and_keeps_rows_distributions():
    worse = BASE.stressed(0.8)
    assert np.allclose(worse.matrix.sum(axis=1), 1.0)
    b0, b1 = BASE.absorption_probabilities().loc["dunning"], worse.absorption_probabilities().loc["dunning"]
    assert b1["cure"] < b0["cure"] and b1["forced_execution"] > b0["forced_execution"]
    assert np.allclose(BASE.stressed(1.0).matrix, BASE.matrix)
    with pytest.raises(ValueError, match="good_exit_multiplier=2.0"):
        BASE.stressed(2.0)


def test_a_broken_promise_is_remembered_for_the_rest_of_the_case():
    # Zenhoren collection article: a tenant who broke a promise loses trust; later plans and cures get harder
    p = BASE.matrix
    i = {s: STATES.index(s) for s in STATES}
    before, after = i["final_notice"], i["final_notice_after_break"]
    assert p[after, i["cure"]] < p[before, i["cure"]]
    assert p[after, i["installment"]] < p[before, i["installment"]]
    assert p[i["broken_promise"], i["installment"]] == 0.0
    # no path from a broken promise leads back to a state before it
    reach = np.zeros(len(STATES), dtype=bool)
    frontier = [i["broken_promise"]]
    while frontier:
        s = frontier.pop()
        for t in np.flatnonzero(p[s] > 0):
            if not reach[t]:
                reach[t] = True
                frontier.append(t)
    assert not reach[[i["dunning"], i["emergency_contact"], i["final_notice"]]].any()
    assert reach[[i["final_notice_after_break"], i["installment"], i["suit"], i["cure"]]].all()
    # so a final notice after a break ends well less often than one before
    b = BASE.absorption_probabilities()
    good = ["cure", "installment_paid"]
    assert b.loc["final_notice_after_break", good].sum() < b.loc["final_notice", good].sum()


@pytest.mark.parametrize("transitions, needle", [
    ({"limbo": {"cure": 0.1}}, "unknown state 'limbo'"),
    ({"dunning": {"heaven": 0.1}}, "unknown next state 'heaven'"),
    ({"dunning": {"cure": 0.7, "skip": 0.5}}, "sum to 1.2"),
    ({"dunning": {"cure": -0.1}}, r"transitions\['dunning'\]\['cure'\]"),
    ({"dunning": {"dunning": 0.1, "cure": 0.1}}, "lists itself"),
    ({"dunning": {"suit": 0.5, "cure": 0.1}, "suit": {"judgment": 0.1}}, "no way out"),
    ({"dunning": 0.5}, r"transitions\['dunning'\]"),
])
def test_bad_transitions(transitions, needle):
    with pytest.raises(ValueError, match=needle):
        CollectionChain.from_transitions(transitions)


def test_bad_collection_params_name_the_file_and_key(tmp_path):
    text = (ROOT / "params" / "base.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("      judgment: 0.2487 ", "      judgmnet: 0.2487 "), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"bad\.yaml: collection\.transitions\.suit\.judgmnet"):
        load_params(bad)
    bad.write_text(text.replace("cure: 0.9485 ", "cure: 0.99 "), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"bad\.yaml: collection\.transitions.*dunning.*sum to"):
        load_params(bad)
    assert ABSORBING_STATES[0] == "cure"


def test_bad_arguments_to_the_exact_and_sampling_functions():
    with pytest.raises(ValueError, match="months must be a whole number >= 0, got -1"):
        BASE.occupancy(-1)
    with pytest.raises(ValueError, match="months"):
        BASE.occupancy(2.5)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        BASE.sample_paths(10, 5, 42)
    with pytest.raises(ValueError, match="good_exit_multiplier must be >= 0"):
        BASE.stressed(-0.5)
    with pytest.raises(ValueError, match="transitions must map"):
        CollectionChain.from_transitions([("dunning", {"cure": 1.0})])
