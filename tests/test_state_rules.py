"""Each collection state's role and cash-flow rule are named once (actuarial.collection.STATE_RULES):
the invariants the engines rely on, and every engine refusing a role it does not handle."""

from pathlib import Path

import numpy as np
import pytest

from actuarial import calibration, collection
from actuarial.collection import (
    ABSORBING_STATES,
    ECONOMY_SCALED_MOVES,
    EXECUTION_STATES,
    FIRST_STATE,
    PAYMENT_EXITS,
    PLAN_STATES,
    STATE_RULES,
    STATES,
    SUIT_STATES,
    TENANCY_ENDING_EXITS,
    TRANSIENT,
    TRANSIENT_STATES,
    CollectionChain,
    StateRule,
    check_state_rules,
    state_codes,
)
from actuarial.params import load_params
from actuarial.portfolio import synthetic_rent_book
from actuarial.simulation import RentModel, simulate
from actuarial.simulation.baseline import simulate_month_stepping
from actuarial.simulation.exact import expected_cash_flows
from actuarial.simulation.reference import simulate_reference
from actuarial.simulation.rent import collection_survival

ROOT = Path(__file__).resolve().parents[1]


def test_the_first_state_is_dunning_and_transient():
    assert FIRST_STATE == STATES[0] == "dunning"
    assert STATE_RULES[FIRST_STATE].role == TRANSIENT


def test_transient_states_come_before_the_exits():
    k = len(TRANSIENT_STATES)
    assert STATES[:k] == TRANSIENT_STATES and STATES[k:] == ABSORBING_STATES


def test_payment_and_tenancy_ending_exits_partition_the_exits():
    assert set(PAYMENT_EXITS) | set(TENANCY_ENDING_EXITS) == set(ABSORBING_STATES)
    assert not set(PAYMENT_EXITS) & set(TENANCY_ENDING_EXITS)
    assert PAYMENT_EXITS == ("cure", "installment_paid")
    assert TENANCY_ENDING_EXITS == ("settlement", "judgment_exit", "forced_execution", "skip")


def test_the_named_sets_of_the_cash_flow_rules():
    assert PLAN_STATES == ("installment",) and set(PLAN_STATES) <= set(TRANSIENT_STATES)
    assert SUIT_STATES == ("suit",) and EXECUTION_STATES == ("forced_execution",)
    assert ECONOMY_SCALED_MOVES == ("installment", "cure", "installment_paid")


def test_state_codes_are_the_rules_as_arrays():
    c = state_codes()
    assert len(c.role) == len(c.repays) == len(c.entry_cost) == len(c.economy_scaled) == len(STATES)
    assert [STATES[j] for j in np.flatnonzero(c.role == collection.ROLE_TENANCY_ENDING_EXIT)] == \
        list(TENANCY_ENDING_EXITS)
    assert [STATES[j] for j in np.flatnonzero(c.repays)] == list(PLAN_STATES)
    assert [STATES[j] for j in np.flatnonzero(c.entry_cost == collection.COST_EXECUTION)] == ["forced_execution"]
    assert [STATES[j] for j in np.flatnonzero(c.economy_scaled)] == list(ECONOMY_SCALED_MOVES)


def test_entry_costs_by_state():
    chain = CollectionChain.from_transitions({"dunning": {"cure": 1.0}})
    m = RentModel(chain=chain, plans={}, delinquency_hazard={"A": 0.1}, suit_cost_yen=300_000,
                  execution_cost_yen=500_000, removal_cost_yen=200_000, restoration_cost_yen=100_000)
    costs = dict(zip(STATES, m.entry_costs_yen().tolist(), strict=True))
    assert costs["suit"] == 300_000 and costs["forced_execution"] == 800_000
    assert sum(costs.values()) == 1_100_000


@pytest.mark.parametrize("name, rule, message", [
    ("skip", StateRule("transfer_exit"), "'skip' has role 'transfer_exit'"),
    ("suit", StateRule(TRANSIENT, None), "'suit': a transient state needs a month rule"),
    ("cure", StateRule(collection.PAYMENT_EXIT, collection.SUBROGATES), "'cure': a transient state needs a month"),
    ("suit", StateRule(TRANSIENT, "waits"), "'suit': a transient state needs a month rule"),
    ("suit", StateRule(TRANSIENT, collection.SUBROGATES, entry_cost="lawyer"), "'suit' has entry cost 'lawyer'"),
])
def test_bad_rules_are_refused_naming_the_state(name, rule, message):
    rules = {**STATE_RULES, name: rule}
    with pytest.raises(ValueError, match=message):
        check_state_rules(rules)


def test_the_order_invariants_are_checked():
    exits_first = {"cure": STATE_RULES["cure"], **STATE_RULES}
    with pytest.raises(ValueError, match="first collection state"):
        check_state_rules(exits_first)
    late = {**{k: v for k, v in STATE_RULES.items() if k != "execution"}, "execution": STATE_RULES["execution"]}
    with pytest.raises(ValueError, match="transient collection states must come before the exits"):
        check_state_rules(late)
    check_state_rules()  # the shipped rules hold


@pytest.fixture
def unknown_role(monkeypatch):
    """The shipped rules with one exit of a role no engine handles."""
    monkeypatch.setitem(collection.STATE_RULES, "skip", StateRule("transfer_exit"))


@pytest.fixture(scope="module")
def small():
    model = RentModel.from_params(load_params(ROOT / "params" / "base.yaml"))
    return synthetic_rent_book(30, seed=3), model


@pytest.mark.parametrize("engine", ["kernel", "reference", "exact", "baseline", "survival", "calibration"])
def test_every_engine_refuses_an_exit_of_an_unknown_role(unknown_role, small, engine):
    book, model = small
    run = {
        "kernel": lambda: simulate(book, model, 2, seed=1, threads=1),
        "reference": lambda: simulate_reference(book, model, 1, seed=1),
        "exact": lambda: expected_cash_flows(book, model, nodes=2),
        "baseline": lambda: simulate_month_stepping(book, model, 1, seed=1),
        "survival": lambda: collection_survival(model, 0.0123456, nodes=3),  # uncached arguments
        "calibration": lambda: calibration.late_by_month(model),
    }[engine]
    with pytest.raises(ValueError, match="'skip' has role 'transfer_exit'"):
        run()


def test_the_model_notes_state_table_matches_the_rules():
    """docs/model.md's table of what each state does is the rules, state by state."""
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8").splitlines()
    start = text.index("| state | role | a month there | cost on entry | economy scales moves into it |")
    rows = {}
    for line in text[start + 2:]:
        if not line.startswith("|"):
            break
        state, role, month, cost, scaled = (c.strip() for c in line.strip("|").split("|"))
        rows[state] = (role, month, cost, scaled)
    assert set(rows) == set(STATES)
    for state, (role, month, cost, scaled) in rows.items():
        rule = STATE_RULES[state]
        assert role.replace("-", " ") == rule.role.replace("_", " "), state
        assert month.startswith({"subrogates": "subrogates", "repays": "repays", None: "(exit)"}[rule.month]), state
        assert bool(cost) == (rule.entry_cost is not None), state
        assert (scaled == "yes") == rule.economy_scaled, state
