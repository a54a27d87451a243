"""The rent book in force on a valuation date: contracts in collection start from their
state; the walker equals its plain-Python twin; Monte Carlo within 4 standard errors of the
exact oracle; an all-performing book gives today's results; bad status columns."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from actuarial.collection import TRANSIENT_STATES
from actuarial.params import load_params
from actuarial.portfolio import synthetic_rent_book
from actuarial.simulation import RentModel, simulate
from actuarial.simulation.exact_inforce import expected_inforce_flows
from actuarial.simulation.reference import simulate_inforce_reference
from actuarial.simulation.rent.book import prepare_book
from actuarial.simulation.rent.inforce import WALK_LINES, simulate_inforce

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")
W = {name: i for i, name in enumerate(WALK_LINES)}


@pytest.fixture(scope="module")
def model():
    return dataclasses.replace(RentModel.from_params(BASE), months=36, jhf_refused_share=0.1)


def _totals(book, model):
    b = prepare_book(book, model)
    total, cap = np.empty_like(b.total), np.empty_like(b.cap)
    total[b.position], cap[b.position] = b.total, b.cap
    return total, cap


def _in_collection(book, model, seed=1, share=0.5):
    """``book`` with every transient state among its contracts in collection, months owed
    1-5 (their arrears those months' totals)."""
    rng = np.random.default_rng(seed)
    total, _ = _totals(book, model)
    n = len(book)
    sel = rng.random(n) < share
    states = np.array(TRANSIENT_STATES, dtype=object)[np.arange(n) % len(TRANSIENT_STATES)]
    k = np.where(sel, rng.integers(1, 6, n), 0)
    return book.assign(status=np.where(sel, states, "performing"), months_subrogated=k, arrears_yen=k * total,
                       start_month=-rng.integers(5, 30, n))


@pytest.fixture(scope="module")
def book(model):
    return _in_collection(synthetic_rent_book(60, seed=3), model)


@pytest.fixture(scope="module")
def groups(book):
    return np.where(book["status"] == "performing", 0, 1 + np.arange(len(book)) % 3)


def test_the_book_has_a_contract_in_every_state(book):
    assert set(book.loc[book["status"] != "performing", "status"]) == set(TRANSIENT_STATES)


def test_walker_equals_its_plain_python_twin_to_the_yen(model, book, groups):
    months = np.eye(model.months + 1)
    flows, grouped, _ = simulate_inforce(book, model, 30, seed=4, group_of=groups, n_groups=4, windows=months)
    ref_flows, walked = simulate_inforce_reference(book, model, 30, seed=4, group_of=groups, n_groups=4)
    assert np.array_equal(grouped[:, 1:], walked[:, 1:])
    assert np.array_equal(grouped[:, 0, 5:], walked[:, 0, 5:])
    assert walked[:, 1:, W["runoff_recoveries"]].sum() > 0 and walked[:, 1:, W["subrogation"]].sum() > 0
    np.testing.assert_allclose(flows, ref_flows, rtol=1e-12, atol=1e-6)


def test_monte_carlo_within_four_standard_errors_of_exact(model, book, groups):
    _, walked = expected_inforce_flows(book, model, group_of=groups, n_groups=4)
    _, grouped, _ = simulate_inforce(book, model, 6_000, seed=5, group_of=groups, n_groups=4)
    x = grouped[:, 1:, :, 0]
    mean, se = x.mean(axis=0), x.std(axis=0, ddof=1) / np.sqrt(len(x))
    exact = walked[1:].sum(axis=2)
    assert (exact[:, [W["subrogation"], W["runoff_recoveries"]]] > 0).all()
    assert np.all(np.abs(mean - exact) <= 4 * se + 1e-6 * np.abs(exact)), (mean - exact) / np.maximum(se, 1e-9)


def test_an_all_performing_book_gives_todays_results(model):
    book = synthetic_rent_book(80, seed=6)
    today = simulate(book, model, 40, seed=7)
    for b in (book, book.assign(status="performing", arrears_yen=0, months_subrogated=0)):
        flows, grouped, z = simulate_inforce(b, model, 40, seed=7)
        assert np.array_equal(flows, today.cash_flows) and np.array_equal(z, today.losses["z"].to_numpy())
        assert grouped[:, 0, 5:].sum() == 0
    ef, walked = expected_inforce_flows(book.assign(status="performing", arrears_yen=0, months_subrogated=0), model)
    from actuarial.simulation.exact import expected_cash_flows
    np.testing.assert_allclose(ef.to_numpy(), expected_cash_flows(book, model).to_numpy(), rtol=1e-12)
    assert walked.sum() == 0


def test_threads_do_not_change_the_result(model, book, groups):
    one = simulate_inforce(book, model, 40, seed=8, group_of=groups, n_groups=4, threads=1)
    two = simulate_inforce(book, model, 40, seed=8, group_of=groups, n_groups=4, threads=2)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)


def test_a_receivable_in_a_plan_is_repaid_oldest_months_first():
    """One contract in an installment plan that never leaves it (the plan's only move is to
    stay): 3 months owed, 1 month repaid a month from the month after the valuation month,
    the receivable's run-off the same three months."""
    model = dataclasses.replace(RentModel.from_params(BASE), months=6, installment_repayment_months=1)
    matrix = model.chain.matrix.copy()
    plan = TRANSIENT_STATES.index("installment")
    matrix[plan] = 0.0
    matrix[plan, plan] = 1.0
    model = dataclasses.replace(model, chain=dataclasses.replace(model.chain, matrix=matrix))
    book = synthetic_rent_book(1, seed=2).assign(insured=False)
    total, _ = _totals(book, model)
    t = int(total[0])
    b = book.assign(status="installment", months_subrogated=3, arrears_yen=3 * t, start_month=-8)
    _, grouped, _ = simulate_inforce(b, model, 3, seed=1, windows=np.eye(7))
    np.testing.assert_array_equal(grouped[:, 0, W["runoff_recoveries"], :6], np.tile([0, t, t, t, 0, 0], (3, 1)))
    np.testing.assert_array_equal(grouped[:, 0, W["recoveries"], :6], np.tile([0, t, t, t, 0, 0], (3, 1)))
    assert grouped[:, 0, W["subrogation"]].sum() == 0
    _, walked = expected_inforce_flows(b, model)
    np.testing.assert_allclose(walked[0, W["runoff_recoveries"], :6], [0, t, t, t, 0, 0])


@pytest.mark.parametrize("change, needle", [
    ({"status": "collections"}, r"column 'status' has 'collections' in row 0, which is not a state"),
    ({"status": "cure"}, r"column 'status' has 'cure' in row 0, which is not a state"),
    ({"arrears_yen": -5}, r"column 'arrears_yen' has a negative value -5 in row 0"),
    ({"months_subrogated": 1.5}, r"'months_subrogated'.*row 0"),
    ({"months_subrogated": 30}, r"column 'months_subrogated' in row 0: 30 months subrogated exceed the plan's "
                                r"cover of 24 months"),
    ({"status": "performing"}, r"column 'arrears_yen' in row 0: a performing contract owes nothing"),
    ({"arrears_yen": 0}, r"2 months subrogated but no arrears"),
    ({"months_subrogated": 0}, r"arrears of \d+ yen with no month subrogated"),
    ({"arrears_yen": 10**9}, r"arrears of 1000000000 yen are not the 2 months subrogated times the monthly total"),
    ({"start_month": 0}, r"column 'months_subrogated' in row 0: 2 months subrogated on a contract that started 0 "
                         r"months before the valuation date"),
])
def test_bad_status_names_the_column_row_and_value(model, change, needle):
    book = synthetic_rent_book(3, seed=1)
    total, _ = _totals(book, model)
    good = book.assign(status="suit", months_subrogated=2, arrears_yen=2 * total, start_month=-4)
    bad = good.copy()
    for column, value in change.items():
        bad[column] = bad[column].astype(object if isinstance(value, str) else type(value))
        bad.loc[0, column] = value
    with pytest.raises(ValueError, match=needle):
        simulate_inforce(bad, model, 2, seed=1)
    simulate_inforce(good, model, 2, seed=1)  # the same book without the change runs


def test_status_columns_go_together(model):
    book = synthetic_rent_book(3, seed=1).assign(status="performing")
    with pytest.raises(ValueError, match="the status columns go together; status without arrears_yen, "
                                         "months_subrogated"):
        simulate_inforce(book, model, 2, seed=1)


def test_a_contract_in_collection_keeps_paying_its_fees(model):
    book = synthetic_rent_book(1, seed=1).assign(plan="zenhoren_yearly", start_month=-10, insured=False)
    total, _ = _totals(book, model)
    performing = book.assign(status="performing", months_subrogated=0, arrears_yen=0)
    collecting = book.assign(status="dunning", months_subrogated=1, arrears_yen=total)
    fees = [simulate_inforce(b, model, 5, seed=1)[0][:, 0] for b in (performing, collecting)]
    assert np.array_equal(fees[0], fees[1]) and fees[0].sum() > 0
    exact = [expected_inforce_flows(b, model)[0]["fees"].to_numpy() for b in (performing, collecting)]
    np.testing.assert_allclose(exact[0], exact[1], rtol=1e-12)
    np.testing.assert_allclose(simulate_inforce_reference(collecting, model, 2, seed=1)[0][:, 0], fees[1][:2])


@pytest.mark.parametrize("kwargs, needle", [
    ({"group_of": [0, 1, 2], "n_groups": 2}, r"group_of must give each of the 3 contracts a group in 0\.\.1"),
    ({"group_of": [0, 0], "n_groups": 1}, r"group_of must give each of the 3 contracts a group in 0\.\.0"),
    ({"group_of": [0, -1, 0], "n_groups": 1}, r"group_of must give each of the 3 contracts a group in 0\.\.0"),
    ({"windows": np.ones((2, 5))}, r"windows must be W x 37 weights by month, got shape \(2, 5\)"),
    ({"windows": np.ones(37)}, r"windows must be W x 37 weights by month, got shape \(37,\)"),
])
def test_bad_groups_and_windows_are_named(model, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        simulate_inforce(synthetic_rent_book(3, seed=1), model, 2, seed=1, **kwargs)
