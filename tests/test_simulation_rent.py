"""Rent engine v1: Monte Carlo against the exact expected cash flows, reproducibility, bad input."""

import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actuarial.collection import ROLE_PAYMENT_EXIT, TRANSIENT_STATES, CollectionChain, state_codes
from actuarial.params import load_params
from actuarial.portfolio import synthetic_rent_book
from actuarial.products.jhf_insurance import ELIGIBILITY_COLUMNS
from actuarial.simulation import LINES, RentModel, distributed, rent, simulate
from actuarial.simulation.exact import expected_cash_flows
from actuarial.simulation.rent import kernel as rent_kernel
from actuarial.simulation.rent import tables as rent_tables
from actuarial.simulation.rent.book import LIMIT_BITS, LIMIT_MASK

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")


@pytest.fixture(scope="module")
def model():
    return RentModel(chain=BASE.collection.chain(), plans=BASE.fee_plans(), delinquency_hazard={"A": 0.01, "B": 0.03},
                     moveout_hazard=0.015, rho=0.1, good_exit_sensitivity=0.3, recovery_rate=0.3,
                     recovery_delay_months=3, suit_cost_yen=500_000, execution_cost_yen=507_000,
                     restoration_cost_yen=100_000, jhf=BASE.jhf_terms(), months=24, installment_repayment_months=1)


@pytest.fixture(scope="module")
def book():
    return pd.DataFrame({
        "rent_yen": [60_000, 100_000, 150_000] * 2, "management_fee_yen": [3_000, 5_000, 0] * 2,
        "common_fee_yen": 0, "parking_fee_yen": 0,
        "plan": ["zenhoren_yearly", "monthly", "zenhoren_yearly"] * 2,
        "grade": ["A", "A", "B", "B", "B", "A"], "insured": [True, False, True, True, False, False]})


@pytest.fixture(scope="module")
def result(model, book):
    return simulate(book, model, 20_000, seed=11)


def test_monte_carlo_means_within_four_standard_errors_of_exact(model, book, result):
    exact = expected_cash_flows(book, model).sum()
    totals = result.cash_flows.sum(axis=2)
    mean, se = totals.mean(axis=0), totals.std(axis=0, ddof=1) / np.sqrt(len(totals))
    for j, line in enumerate(LINES):
        assert abs(mean[j] - exact[line]) <= 4 * se[j] + 1e-6 * max(1.0, abs(exact[line])), line
    assert exact["subrogation"] > 0 and exact["jhf_payout"] > 0 and exact["costs"] > 0


def test_compare_with_exact_on_the_simulated_book(model, book, result):
    from actuarial.simulation.exact import compare_with_exact, expected_loss

    exact = expected_loss(book, model)
    check = compare_with_exact(result.losses, exact)
    assert list(check.index) == list(exact.index) and "net_loss" in check.index
    net = result.losses["net_loss"]
    assert check.loc["net_loss", "monte_carlo"] == pytest.approx(net.mean())
    assert check.loc["net_loss", "standard_error"] == pytest.approx(net.std(ddof=1) / np.sqrt(len(net)))
    assert check.loc["net_loss", "exact"] == exact["net_loss"]
    assert check["difference_in_se"].abs().max() < 4  # 20,000 scenarios of the model the oracle computes
    assert check.loc["fees", "difference_in_se"] == 0.0  # the same in every scenario, and its expectation


def test_compare_with_exact_by_hand_and_bad_input():
    from actuarial.simulation.exact import compare_with_exact

    losses = pd.DataFrame({"costs": [1.0, 2.0, 3.0], "fees": [4.0] * 3, "z": [0.1, 0.2, 0.3]})
    c = compare_with_exact(losses, pd.Series({"costs": 1.0, "fees": 4.5}))
    assert c.loc["costs"].tolist() == pytest.approx([2.0, 1 / np.sqrt(3), 1.0, np.sqrt(3)])
    assert c.loc["fees", "difference_in_se"] == np.inf  # constant, yet not its expectation
    with pytest.raises(ValueError, match="losses is missing column 'recoveries'"):
        compare_with_exact(losses, pd.Series({"costs": 1.0, "recoveries": 0.0}))
    with pytest.raises(ValueError, match="exact must be a pandas Series .* got dict"):
        compare_with_exact(losses, {"costs": 1.0})
    with pytest.raises(ValueError, match="losses: column 'costs' must hold numbers, got dtype"):
        compare_with_exact(losses.assign(costs=["a", "b", "c"]), pd.Series({"costs": 1.0}))
    with pytest.raises(ValueError, match="exact: 'fees' must be a number, got 'x'"):
        compare_with_exact(losses, pd.Series({"costs": 1.0, "fees": "x"}))
    with pytest.raises(ValueError, match="losses has no rows"):
        compare_with_exact(losses.iloc[:0], pd.Series({"costs": 1.0}))


@pytest.mark.parametrize("delay", [3, 0])
def test_grouped_exact_flows_equal_the_contract_by_contract_version(model, delay):
    """The grouped oracle against the readable one on a book with two covers, insured and
    uninsured contracts of several totals in one group, staggered first months, and a
    recovery with and without delay."""
    from actuarial.simulation.exact import expected_cash_flows_by_contract

    short = dataclasses.replace(model.plans["monthly"], name="short", coverage_months=3)
    m = dataclasses.replace(model, plans={**model.plans, "short": short}, recovery_delay_months=delay)
    book = pd.DataFrame({
        "rent_yen": [60_000, 61_000, 100_000, 150_000, 60_000, 95_000, 95_000, 240_000],
        "management_fee_yen": [3_000, 0, 5_000, 0, 3_000, 0, 0, 10_000], "common_fee_yen": 0,
        "parking_fee_yen": [0, 0, 0, 8_000, 0, 0, 0, 0],
        "plan": ["zenhoren_yearly", "zenhoren_yearly", "short", "monthly", "short", "short", "short",
                 "zenhoren_one_time"],
        "grade": ["A", "A", "B", "B", "A", "B", "B", "A"],
        "insured": [True, False, True, False, True, False, True, True],
        "start_month": [0, 0, -5, 3, 0, 0, 0, -30]})
    fast = expected_cash_flows(book, m)
    slow = expected_cash_flows_by_contract(book, m)
    assert fast.columns.equals(slow.columns) and fast.index.equals(slow.index)
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-12, atol=1e-6)
    assert fast["jhf_payout"].sum() > 0 and (fast["jhf_remittance"].sum() > 0) == (delay > 0)


def test_a_kept_propagation_is_read_only_and_equals_a_fresh_one(model):
    """The oracle keeps one start's chain propagation for later calls; what it hands out is
    read-only, equal to a propagation computed afresh, and keyed by the chain itself: a
    stressed chain gets its own."""
    from actuarial.simulation.exact import _chain_masses, chain_masses_batch, start_masses

    kept = _chain_masses(model, -1.0, 8)
    fresh = start_masses(chain_masses_batch(model, -1.0, 8, [(0, 0)]), 0)
    for key in ("sub", "repaid", "cured", "cure", "ending_pays", "plan_k"):
        np.testing.assert_array_equal(kept[key], fresh[key])
        with pytest.raises(ValueError, match="read-only"):
            kept[key][0] = 1.0
    assert np.shares_memory(_chain_masses(model, -1.0, 8)["sub"], kept["sub"])  # the kept one, not recomputed
    worse = dataclasses.replace(model, chain=model.chain.stressed(0.5))
    assert _chain_masses(worse, -1.0, 8)["sub"].sum() > kept["sub"].sum()


def test_expected_monthly_cash_flow_within_four_standard_errors(model, book, result):
    exact = expected_cash_flows(book, model)
    sub = result.cash_flows[:, LINES.index("subrogation"), :]
    mean, se = sub.mean(axis=0), sub.std(axis=0, ddof=1) / np.sqrt(len(sub))
    assert np.all(np.abs(mean - exact["subrogation"].to_numpy()) <= 4 * se + 1e-9)


def test_same_seed_same_result_whatever_the_threads(model, book, result):
    again = simulate(book, model, 20_000, seed=11, threads=2)
    assert np.array_equal(result.cash_flows, again.cash_flows)
    first = simulate(book, model, 50, seed=11)
    assert np.array_equal(first.cash_flows, result.cash_flows[:50])  # scenario s is keyed by (seed, s)
    assert not np.array_equal(simulate(book, model, 50, seed=12).cash_flows, first.cash_flows)
    # more threads than scenarios: the spare threads find the shared counter run out
    few = simulate(book, model, 2, seed=11, threads=3)
    assert np.array_equal(few.cash_flows, result.cash_flows[:2]) and few.losses.equals(result.losses[:2])


def test_premium_and_caps_match_the_product_calculator(model, book, result):
    jhf = BASE.jhf_terms()
    ins = book[book["insured"]]
    premium = jhf.premium(rent=ins["rent_yen"].to_numpy(), management_fee=ins["management_fee_yen"].to_numpy()).sum()
    assert (result.losses["jhf_premium"] == premium).all()
    caps = jhf.payout(subrogated_rent=np.full(len(ins), 10**9),
                      rent_at_start=(ins["rent_yen"] + ins["management_fee_yen"]).to_numpy())
    assert result.losses["jhf_payout"].max() <= caps.sum()
    sub = result.cash_flows[:, LINES.index("subrogation"), :].sum(axis=1)
    totals = book["rent_yen"] + book["management_fee_yen"]
    assert sub.max() <= (totals * 24).sum()  # every plan covers at most 24 months


def test_metrics_are_ordered(result):
    m = result.metrics()
    assert m["var_99.0%"] <= m["var_99.5%"] <= m["var_99.9%"]
    assert m["var_99.0%"] <= m["tvar_99.0%"]
    assert m["expected_loss"] == pytest.approx(result.losses["net_loss"].mean())
    assert m["expected_profit"] == pytest.approx((result.losses["fees"] - result.losses["net_loss"]).mean())


@pytest.mark.parametrize("change, needle", [
    (lambda b: b.drop(columns="grade"), "missing column 'grade'"),
    (lambda b: b.assign(rent_yen=[60_000, -1, 0, 0, 0, 0]), "'rent_yen' has a negative amount -1 in row 1"),
    (lambda b: b.assign(plan=["zenhoren_yearly"] * 5 + ["gold"]), "'plan' has unknown value 'gold' in row 5"),
    (lambda b: b.assign(grade=["A", "Z", "A", "A", "A", "A"]), "'grade' has unknown value 'Z' in row 1"),
    (lambda b: b.assign(rent_yen=b["rent_yen"] + 0.5), "'rent_yen' must hold whole yen"),
    (lambda b: b.assign(insured=1), "'insured' must be True/False"),
])
def test_bad_portfolio_names_column_and_row(model, book, change, needle):
    with pytest.raises(ValueError, match=needle):
        simulate(change(book), model, 10, seed=1)


def test_bad_arguments(model, book):
    with pytest.raises(ValueError, match="n_scenarios"):
        simulate(book, model, 0, seed=1)
    with pytest.raises(ValueError, match="seed"):
        simulate(book, model, 10, seed=-1)
    with pytest.raises(ValueError, match="rho"):
        RentModel(chain=BASE.collection.chain(), plans={}, delinquency_hazard={"A": 0.01}, rho=1.0)
    with pytest.raises(ValueError, match=r"delinquency_hazard\['A'\]"):
        RentModel(chain=BASE.collection.chain(), plans={}, delinquency_hazard={"A": 0.0})


# -- portfolio-level oracles ---------------------------------------------------------------------
def _homogeneous(n, insured=False):
    return pd.DataFrame({"rent_yen": np.full(n, 80_000), "management_fee_yen": 0, "common_fee_yen": 0,
                         "parking_fee_yen": 0, "plan": "zenhoren_yearly", "grade": "A", "insured": insured})


def test_delinquency_counts_follow_the_finite_pool_vasicek_integral(model):
    from actuarial.simulation.exact import finite_pool_distribution

    pool = dataclasses.replace(model, rho=0.15, delinquency_hazard={"A": 0.004})
    n, s = 300, 20_000
    counts = simulate(_homogeneous(n), pool, s, seed=5).losses["delinquencies"].to_numpy()
    pmf = finite_pool_distribution(pool, 0.004, n)
    cdf = np.cumsum(pmf)
    k = np.arange(n + 1)
    mean, sd = (k * pmf).sum(), np.sqrt((k**2 * pmf).sum() - (k * pmf).sum() ** 2)
    assert abs(counts.mean() - mean) <= 4 * sd / np.sqrt(s)
    for q in (0.99, 0.999):
        x = int(np.quantile(counts, q, method="inverted_cdf"))
        tol = 4 * np.sqrt(q * (1 - q) / s)
        assert cdf[x] >= q - tol and (x == 0 or cdf[x - 1] <= q + tol), (q, x, cdf[x])


def test_with_no_correlation_the_book_variance_is_the_sum_of_contract_variances(model, book):
    indep = dataclasses.replace(model, rho=0.0, good_exit_sensitivity=0.0)
    s = 40_000
    whole = simulate(book, indep, s, seed=21).losses["net_loss"].to_numpy()
    parts = [simulate(book.iloc[[i]], indep, s, seed=100 + i).losses["net_loss"].to_numpy() for i in range(len(book))]

    def var_and_se(x):
        c = x - x.mean()
        v = (c**2).mean()
        return v, np.sqrt(max((c**4).mean() - v**2, 0.0) / len(x))

    v_whole, se_whole = var_and_se(whole)
    v_parts = [var_and_se(p) for p in parts]
    v_sum, se_sum = sum(v for v, _ in v_parts), np.sqrt(sum(se**2 for _, se in v_parts))
    assert abs(v_whole - v_sum) <= 4 * np.hypot(se_whole, se_sum)
    # and correlation matters: with rho the variance is larger than the independent sum
    corr = simulate(book, dataclasses.replace(model, rho=0.3), s, seed=21).losses["net_loss"].to_numpy()
    assert corr.var() > v_sum + 4 * np.hypot(var_and_se(corr)[1], se_sum)


# -- params and synthetic books -------------------------------------------------------------------
def test_model_from_params_and_a_synthetic_book():
    from actuarial.portfolio import synthetic_rent_book

    m = RentModel.from_params(BASE)
    assert m.months == 60 and m.delinquency_hazard == {"A": 0.0646, "B": 0.1290, "C": 0.2582}
    assert (m.execution_cost_yen, m.removal_cost_yen, m.removal_cost_months) == (65_000, 150_000, 3.5)
    assert m.jhf == BASE.jhf_terms()
    b = synthetic_rent_book(2_000, seed=3)
    assert b.equals(synthetic_rent_book(2_000, seed=3))
    r = simulate(b, m, 20, seed=1)
    assert r.cash_flows.shape == (20, len(LINES), 61)
    assert (r.losses["delinquencies"] > 0).all()


def test_insured_contract_must_be_eligible(model):
    from actuarial.portfolio import synthetic_rent_book

    b = synthetic_rent_book(200, seed=4)
    row = b.index[b["insured"]][0]
    b.loc[row, "monthly_income_yen"] = 1
    with pytest.raises(ValueError, match=rf"row {row} is insured but not eligible .*fails: income"):
        simulate(b, RentModel.from_params(BASE), 5, seed=1)


def test_synthetic_book_bad_arguments():
    from actuarial.portfolio import synthetic_rent_book

    with pytest.raises(ValueError, match="n_contracts"):
        synthetic_rent_book(0, seed=1)
    with pytest.raises(ValueError, match="insured_share=0.9 needs"):
        synthetic_rent_book(100, seed=1, insured_share=0.9)
    with pytest.raises(ValueError, match="grade_shares"):
        synthetic_rent_book(100, seed=1, grade_shares=(0.5, 0.5))


def test_rent_model_params_errors_name_the_key(tmp_path):
    from actuarial.params import ParamsError

    text = (ROOT / "params" / "base.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  rho: 0.08 ", "  rho: 1.5 "), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"bad\.yaml: rent_model\.rho = 1\.5"):
        load_params(bad)
    bad.write_text(text.replace("    B: 0.1290 ", "    B: 0.0 "), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"rent_model\.delinquency_hazard\.B = 0\.0"):
        load_params(bad)
    for value in ("-1", "0.5"):
        bad.write_text(text.replace("installment_repayment_months: 1 ", f"installment_repayment_months: {value} "),
                       encoding="utf-8")
        with pytest.raises(ParamsError, match=rf"bad\.yaml: rent_model\.installment_repayment_months = {value}"):
            load_params(bad)
    with pytest.raises(ValueError, match="installment_repayment_months"):
        dataclasses.replace(RentModel.from_params(BASE), installment_repayment_months=-1)
    no_collection = text[: text.index("collection:  #")] + text[text.index("rent_model:  #"):]
    bad.write_text(no_collection, encoding="utf-8")
    with pytest.raises(ParamsError, match="rent_model needs a collection section"):
        load_params(bad)
    with pytest.raises(ValueError, match="has no rent_model section"):
        RentModel.from_params(
            load_params(ROOT / "params" / "jhf_2025_support.yaml").model_copy(update={"rent_model": None}))


# -- the slow reference ----------------------------------------------------------------------------
def test_fast_path_equals_the_plain_python_reference(model, book):
    from actuarial.simulation.reference import simulate_reference

    fast = simulate(book, model, 300, seed=8).cash_flows
    slow = simulate_reference(book, model, 300, seed=8)
    money = [LINES.index(x) for x in LINES if x != "fees"]
    assert np.array_equal(fast[:, money, :], slow[:, money, :])
    assert np.allclose(fast[:, LINES.index("fees"), :], slow[:, LINES.index("fees"), :], rtol=1e-12)
    assert fast[:, LINES.index("jhf_payout"), :].sum() > 0 and fast[:, LINES.index("costs"), :].sum() > 0


def test_fast_path_equals_the_reference_on_a_synthetic_book():
    from actuarial.portfolio import synthetic_rent_book
    from actuarial.simulation.reference import simulate_reference

    m = dataclasses.replace(RentModel.from_params(BASE), months=36)
    b = synthetic_rent_book(60, seed=9)
    assert np.array_equal(simulate(b, m, 40, seed=2).cash_flows[:, 1:], simulate_reference(b, m, 40, seed=2)[:, 1:])


def test_cured_line_loop_equals_the_reference(book):
    """Where a stay in dunning is rarer than ``_CURED_LOOP_STAYS`` in every scenario (no
    economic effect on the chain), the kernel's cured-line loop runs throughout: with stays
    that leave it and come back, moves to other states, a plan with no month of cover (it adds
    nothing to the cured line) and one with a single month."""
    from actuarial.collection import CollectionChain
    from actuarial.products.rent_guarantee import FeePlan
    from actuarial.simulation.reference import simulate_reference

    chain = CollectionChain.from_transitions({
        "dunning": {"cure": 0.9, "emergency_contact": 0.08, "installment": 0.01},
        "emergency_contact": {"cure": 0.5, "suit": 0.2, "installment": 0.1},
        "suit": {"judgment": 0.5, "settlement": 0.3},
        "judgment": {"execution": 0.6, "judgment_exit": 0.2},
        "execution": {"forced_execution": 0.7},
        "installment": {"installment_paid": 0.3, "broken_promise": 0.2},
        "broken_promise": {"cure": 0.2, "skip": 0.1},
    })
    assert 1.0 - 0.99 < rent_kernel.CURED_LOOP_STAYS
    plans = {"zenhoren_yearly": FeePlan(name="none", initial_rate=0.5, coverage_months=0),
             "monthly": FeePlan(name="one", initial_rate=0.5, coverage_months=1)}
    m = RentModel(chain=chain, plans=plans, delinquency_hazard={"A": 0.3, "B": 0.5}, moveout_hazard=0.02, rho=0.2,
                  good_exit_sensitivity=0.0, recovery_rate=0.4, recovery_delay_months=2, suit_cost_yen=300_000,
                  execution_cost_yen=400_000, jhf=BASE.jhf_terms(), months=30, installment_repayment_months=1)
    fast = simulate(book, m, 150, seed=6).cash_flows
    slow = simulate_reference(book, m, 150, seed=6)
    assert np.array_equal(fast[:, 1:], slow[:, 1:])
    sub = fast[:, LINES.index("subrogation")]
    assert sub.sum() > 0 and fast[:, LINES.index("costs")].sum() > 0


def test_numpy_month_stepping_baseline_is_the_same_model(model, book):
    from actuarial.simulation.baseline import simulate_month_stepping

    flows = simulate_month_stepping(book, model, 4_000, seed=3).sum(axis=2)
    exact = expected_cash_flows(book, model).sum()
    mean, se = flows.mean(axis=0), flows.std(axis=0, ddof=1) / np.sqrt(len(flows))
    for j, line in enumerate(LINES):
        assert abs(mean[j] - exact[line]) <= 4 * se[j] + 1e-6 * max(1.0, abs(exact[line])), line


def test_progress_bar_only_when_asked(model, book, capsys):
    quiet = simulate(book, model, 5, seed=1)
    assert capsys.readouterr().err == ""
    shown = simulate(book, model, 5, seed=1, progress=True)
    assert "5/5" in capsys.readouterr().err
    assert np.array_equal(quiet.cash_flows, shown.cash_flows)


class _Kernel:
    """What IPython's ``get_ipython()`` returns inside a Jupyter kernel: a shell with a kernel."""
    kernel = object()


@pytest.mark.parametrize("tty, in_kernel, env, work, shown", [
    (False, False, None, 10**8, False),  # tests, scripts piped to a file
    (True, False, None, 10**8, True),  # a terminal
    (False, True, None, 10**8, True),  # JupyterLab
    (False, True, None, 10**8 - 1, False),  # too short to need one
    (False, True, "0", 10**8, False),  # a papermill batch (actuarial batch sets it)
    (True, False, "0", 10**8, False),
])
def test_default_progress_bar_is_for_someone_watching_a_long_run(monkeypatch, tty, in_kernel, env, work, shown):
    import sys
    import types

    from actuarial.simulation import distributed

    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    fake = types.SimpleNamespace(get_ipython=lambda: _Kernel() if in_kernel else None)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    if env is None:
        monkeypatch.delenv(distributed.PROGRESS_ENV, raising=False)
    else:
        monkeypatch.setenv(distributed.PROGRESS_ENV, env)
    bar = distributed.progress_bar(None, 3, work, 10**8)
    assert bar.disable is (not shown)
    bar.close()
    assert distributed.progress_bar(True, 3, 0, 10**8).disable is False  # asked for: always
    assert distributed.progress_bar(False, 3, 10**9, 10**8).disable is True


def test_progress_must_be_true_false_or_none(model, book):
    with pytest.raises(ValueError, match="progress must be True, False or None, got 'yes'"):
        simulate(book, model, 5, seed=1, progress="yes")


# -- start months: books already in force and new business ------------------------------------------
@pytest.fixture(scope="module")
def staggered(book):
    return book.assign(start_month=[-30, 0, 5, 20, -3, 11])


def test_staggered_starts_meet_the_exact_oracle(model, staggered):
    r = simulate(staggered, model, 20_000, seed=13)
    exact = expected_cash_flows(staggered, model)
    totals = r.cash_flows.sum(axis=2)
    mean, se = totals.mean(axis=0), totals.std(axis=0, ddof=1) / np.sqrt(len(totals))
    for j, line in enumerate(LINES):
        assert abs(mean[j] - exact[line].sum()) <= 4 * se[j] + 1e-6 * max(1.0, abs(exact[line].sum())), line
    sub = r.cash_flows[:, LINES.index("subrogation"), :]
    assert np.all(np.abs(sub.mean(axis=0) - exact["subrogation"])
                  <= 4 * sub.std(axis=0, ddof=1) / np.sqrt(len(sub)) + 1e-9)


def test_staggered_starts_equal_the_reference(model, staggered):
    from actuarial.simulation.reference import simulate_reference

    fast = simulate(staggered, model, 200, seed=14).cash_flows
    slow = simulate_reference(staggered, model, 200, seed=14)
    assert np.array_equal(fast[:, 1:], slow[:, 1:])
    assert np.allclose(fast[:, 0], slow[:, 0], rtol=1e-12)


def test_no_delinquency_before_a_contract_starts(model, staggered):
    late = staggered.iloc[[3]]  # starts in month 20 of 24
    r = simulate(late, dataclasses.replace(model, delinquency_hazard={"A": 0.5, "B": 0.5}), 500, seed=1)
    assert r.cash_flows[:, LINES.index("subrogation"), :21].sum() == 0
    assert r.cash_flows[:, LINES.index("subrogation"), 21:].sum() > 0


def test_premium_in_the_start_month_and_fees_by_age(model):
    jhf = BASE.jhf_terms()
    b = pd.DataFrame({"rent_yen": [60_000, 60_000], "management_fee_yen": 0, "common_fee_yen": 0, "parking_fee_yen": 0,
                      "plan": "zenhoren_yearly", "grade": "A", "insured": True, "start_month": [-3, 5]})
    m = dataclasses.replace(model, moveout_hazard=0.0)
    r = simulate(b, m, 1, seed=1)
    premium = r.cash_flows[0, LINES.index("jhf_premium")]
    assert premium[5] == jhf.premium(rent=60_000) and premium.sum() == jhf.premium(rent=60_000)  # seasoned: paid before
    fees = r.cash_flows[0, LINES.index("fees")]
    # seasoned (age 3 at month 0, first at risk 0): renewal 10,000 at age 12 = month 9 and age
    # 24 = month 21; new (month 5): initial 30,000 at month 5, renewal at month 17 (12 months
    # at risk); each times the chance collection has not ended the tenancy by then
    alive = rent.collection_survival(m, m.delinquency_hazard["A"])
    expected = np.zeros(25)
    expected[[9, 21]] += 10_000 * alive[[9, 21]]
    expected[17] += 10_000 * alive[12]
    expected[5] += 30_000
    assert fees == pytest.approx(expected, rel=1e-12)
    assert 0.97 < alive[21] < alive[9] < alive[2] == 1.0  # a tenancy ends no sooner than 2 months at risk


def test_fees_stop_with_the_tenancies_collection_ends():
    """The survival that stops the expected fees is the kernel's: with a JHF cap of 1 yen
    every tenancy-ending exit pays exactly 1 yen the next month, so the payouts count the
    exits; their Monte Carlo mean matches ``1 - alive`` within 4 standard errors."""
    m = RentModel(chain=BASE.collection.chain(), plans=BASE.fee_plans(), delinquency_hazard={"A": 0.04, "C": 0.15},
                  moveout_hazard=0.01, rho=0.15, good_exit_sensitivity=0.3, jhf=dataclasses.replace(BASE.jhf_terms(),
                  cap_yen=1), months=30, installment_repayment_months=0)
    b = synthetic_rent_book(2_000, seed=4).drop(columns=list(ELIGIBILITY_COLUMNS)).assign(insured=True)
    b["grade"] = np.where(np.arange(len(b)) % 2 == 0, "A", "C")
    counts = simulate(b, m, 400, seed=6).cash_flows[:, LINES.index("jhf_payout")]
    alive = {g: rent.collection_survival(m, h) for g, h in m.delinquency_hazard.items()}
    n = b["grade"].value_counts()
    # exits in months 0..T-1 are paid in months 1..T
    expected = sum(n[g] * (alive[g][:-1] - alive[g][1:]) for g in alive)
    for got, exp in ((counts.sum(axis=1), expected.sum()), (counts[:, 1:13].sum(axis=1), expected[:12].sum())):
        assert abs(got.mean() - exp) <= 4 * got.std(ddof=1) / np.sqrt(len(got)), (got.mean(), exp)
    assert expected.sum() > 30  # enough exits for the check to have power (about 54)


def test_fee_survival_bad_arguments(model):
    with pytest.raises(ValueError, match=r"grade_hazard must be a number in \[0, 1\], got -0.1"):
        rent.collection_survival(model, -0.1)
    with pytest.raises(ValueError, match="grade_hazard must be strictly between 0 and 1, got 1.0"):
        rent.collection_survival(model, 1.0)
    with pytest.raises(ValueError, match="nodes must be"):
        rent.collection_survival(model, 0.1, nodes=0)
    with pytest.raises(ValueError, match="grade 'D' is not one of the model's: A, B"):
        rent.fee_survival(model, ["A", "D"])
    plan = BASE.fee_plans()["monthly"]
    with pytest.raises(ValueError, match=r"alive must hold at least 25 months .* got shape \(10,\)"):
        rent.expected_fee_line(plan, [60_000], 0, 24, 0.01, np.ones(10))
    with pytest.raises(ValueError, match="alive has no survival curve for grade 'B'"):
        rent.plan_fee_line(plan, [60_000, 70_000], [0, 0], ["A", "B"], model, rent.fee_survival(model, ["A"]))


def test_without_tenancy_ending_exits_fees_never_stop():
    chain = CollectionChain.from_transitions({"dunning": {"cure": 0.7, "emergency_contact": 0.2},
                                              "emergency_contact": {"cure": 0.5, "installment": 0.2},
                                              "installment": {"installment_paid": 0.5}})
    m = RentModel(chain=chain, plans=BASE.fee_plans(), delinquency_hazard={"A": 0.3}, months=24)
    assert np.array_equal(rent.collection_survival(m, 0.3), np.ones(25))


def test_bad_start_month(model, book):
    with pytest.raises(ValueError, match=r"'start_month' must be below the horizon \(24\), got 24 in row 2"):
        simulate(book.assign(start_month=[0, 0, 24, 0, 0, 0]), model, 2, seed=1)
    with pytest.raises(ValueError, match="'start_month' must hold whole months"):
        simulate(book.assign(start_month=0.5), model, 2, seed=1)


def test_expected_loss_summary_matches_the_simulated_mean(model, book, result):
    from actuarial.simulation.exact import expected_loss

    e = expected_loss(book, model)
    x = result.losses["net_loss"]
    assert abs(x.mean() - e["net_loss"]) <= 4 * x.std() / np.sqrt(len(x))
    assert result.metrics()["loss_ratio"] == pytest.approx(x.mean() / result.losses["fees"].mean())


# -- the kernel's shortcuts change the speed, never a result ------------------------------------------
def _edges_and_random(data):

    width = 1 << (32 - rent_tables.TOP_BITS)
    edges = ([b * width for b in range(1 << rent_tables.TOP_BITS)]
             + [b * width - 1 for b in range(1, (1 << rent_tables.TOP_BITS) + 1)])
    return np.array(edges + data, dtype=np.int64)


def _tables(chain_matrix, h, mu, m, months):
    from actuarial.simulation import rent

    inv_a, cdf, guide = rent.gap_tables(h, mu, months)
    good, dest, n_dest = rent.chain_arrays(chain_matrix)
    thr = rent.stressed_thresholds(chain_matrix, good, m, dest, n_dest)
    paid0 = state_codes().role[dest[0]] == ROLE_PAYMENT_EXIT
    n = 1 << rent_tables.TOP_BITS
    first, dunning = np.empty(n, np.int16), np.empty(n, np.int16)
    first_split, dunning_split = np.empty((n, 3), np.int64), np.empty((n, 3), np.int64)
    rent_tables.outcome_table(np.ones(1), np.zeros(1, dtype=np.int64), np.ones(1, bool), 1, inv_a, cdf,
                              first, first_split)
    rent_tables.outcome_table(thr[0], dest[0], paid0, n_dest[0], inv_a, cdf, dunning, dunning_split)
    return inv_a, cdf, guide, thr, dest, n_dest, paid0, first, first_split, dunning, dunning_split


#: Dunning with two paying moves and a move narrower than a table bucket between them.
_TWO_PAYING = CollectionChain.from_transitions({
    "dunning": {"cure": 0.6, "skip": 0.0001, "installment_paid": 0.3},
    "emergency_contact": {"cure": 0.5}})


@settings(max_examples=25, deadline=None)
@given(h=st.floats(1e-5, 0.95), mu=st.floats(0.0, 0.2), m=st.floats(0.05, 1.0), months=st.integers(1, 120),
       two_paying=st.booleans(), more=st.lists(st.integers(0, 2**32 - 1), max_size=200))
def test_lookup_tables_agree_with_the_exact_draw(h, mu, m, months, two_paying, more):
    """Every table entry that is not _MIXED equals the exact outcome for every uniform in its
    bucket, and so does every split of a _MIXED bucket that holds two outcomes (checked at
    both edges of every bucket, on both sides of every split and at random uniforms)."""
    from actuarial.simulation import rent

    matrix = (_TWO_PAYING if two_paying else BASE.collection.chain()).matrix
    inv_a, cdf, guide, thr, dest, n_dest, paid0, first, first_split, dunning, dunning_split = \
        _tables(matrix, h, mu, m, months)
    nexts = rent_tables.next_tables(thr, dest, n_dest)
    # the split points of the _MIXED buckets (the other rows of a split table are never written)
    splits = np.concatenate([first_split[first == rent_tables.MIXED, 0],
                             dunning_split[dunning == rent_tables.MIXED, 0]])
    cuts = np.array([int(c) + d for c in splits for d in (-1, 0)], dtype=np.int64)
    bits = np.concatenate([_edges_and_random(more), np.clip(cuts, 0, 2**32 - 1)])
    u = bits * 2.0 ** -32
    b = bits >> (32 - rent_tables.TOP_BITS)
    for table, split, exact in (
            (first, first_split, 1 + np.searchsorted(cdf, u * inv_a, side="right")),
            (dunning, dunning_split,
             np.array([rent.dunning_outcome(x, thr[0], dest[0], paid0, inv_a, cdf, guide) for x in u]))):
        sure = table[b] != rent_tables.MIXED
        assert np.array_equal(table[b][sure], exact[sure])
        outcome = np.array([rent_tables.split_outcome(split, bt) for bt in bits[~sure]])
        two = outcome != rent_tables.MIXED
        assert np.array_equal(outcome[two], exact[~sure][two])
    assert np.array_equal([rent.gap(x, cdf, guide) for x in u * inv_a],
                          1 + np.searchsorted(cdf, u * inv_a, side="right"))
    for i in range(len(TRANSIENT_STATES)):
        exact_next = np.array([dest[i, next(r for r in range(n_dest[i]) if x < thr[i, r])] for x in u])
        sure = nexts[i][b] != rent_tables.MIXED
        assert np.array_equal(nexts[i][b][sure], exact_next[sure])
    assert np.mean(first == rent_tables.MIXED) < 0.1  # the tables answer most draws


@pytest.mark.parametrize("grade", ["A", "B", "C"])
def test_most_mixed_buckets_split_at_the_base_hazards(grade):
    """The splits are for speed: at the base params almost every bucket that holds more than
    one outcome holds two (one gap boundary or one move boundary)."""

    model = RentModel.from_params(BASE)
    *_, first, first_split, dunning, dunning_split = _tables(
        model.chain.matrix, model.delinquency_hazard[grade], model.moveout_hazard, 1.0, model.months)
    for table, split in ((first, first_split), (dunning, dunning_split)):
        mixed = table == rent_tables.MIXED
        assert 10 <= mixed.sum() <= 100
        assert np.mean(split[mixed, 1] == rent_tables.MIXED) <= 0.2


@settings(max_examples=25, deadline=None)
@given(h=st.floats(1e-5, 0.95), mu=st.floats(0.0, 0.2), months=st.integers(1, 120),
       more=st.lists(st.floats(0.0, 1.0), max_size=200))
def test_rescaled_gaps_read_from_the_first_table_are_exact(h, mu, months, more):
    """A cure's uniform rescaled within its move is any float in [0, 1], not a multiple of
    2^-32: the first-missed-rent table answers it only where its bucket, both edges and 1
    included, holds one gap."""

    inv_a, cdf, guide, *_, first, _, _, _ = _tables(BASE.collection.chain().matrix, h, mu, 1.0, months)
    n = 1 << rent_tables.TOP_BITS
    edges = np.arange(n + 1) / n
    x = np.concatenate([edges, np.nextafter(edges, 0.0), np.nextafter(edges, 1.0), more, [1.0]])
    x = np.clip(x, 0.0, 1.0)
    table = np.array([rent_tables.table_gap(v, first) for v in x])
    read = table != rent_tables.MIXED
    assert np.array_equal(table[read], 1 + np.searchsorted(cdf, x[read] * inv_a, side="right"))
    assert np.mean(read) > 0.5  # the kernel calls gap() only for the rest


def test_fast_path_equals_the_reference_on_odd_chains_and_short_cover(book):
    """Dunning's likeliest move is not a cure, dunning can end in any exit, one month's cover."""
    from actuarial.collection import CollectionChain
    from actuarial.products.rent_guarantee import FeePlan
    from actuarial.simulation.reference import simulate_reference

    chain = CollectionChain.from_transitions({
        "dunning": {"emergency_contact": 0.4, "cure": 0.25, "installment_paid": 0.05, "settlement": 0.05, "skip": 0.05},
        "emergency_contact": {"cure": 0.3, "suit": 0.3, "installment": 0.2},
        "suit": {"judgment": 0.5, "cure": 0.1},
        "judgment": {"execution": 0.6, "judgment_exit": 0.2},
        "execution": {"forced_execution": 0.7},
        "installment": {"installment_paid": 0.3, "broken_promise": 0.2},
        "broken_promise": {"cure": 0.2, "dunning": 0.3, "skip": 0.1},
    })
    short = FeePlan(name="short", initial_rate=0.5, coverage_months=1)
    m = RentModel(chain=chain, plans={"zenhoren_yearly": short, "monthly": BASE.fee_plans()["monthly"]},
                  delinquency_hazard={"A": 0.2, "B": 0.6}, moveout_hazard=0.02, rho=0.2, good_exit_sensitivity=0.8,
                  recovery_rate=0.4, recovery_delay_months=2, suit_cost_yen=300_000, execution_cost_yen=400_000,
                  jhf=BASE.jhf_terms(), months=30, installment_repayment_months=2)
    fast = simulate(book, m, 150, seed=5).cash_flows
    slow = simulate_reference(book, m, 150, seed=5)
    assert np.array_equal(fast[:, 1:], slow[:, 1:])
    for line in ("costs", "jhf_payout", "jhf_remittance"):
        assert fast[:, LINES.index(line)].sum() > 0, line


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63), scenario=st.integers(0, 10**6))
def test_the_kernel_steps_numpys_sfc64_stream(seed, scenario):
    """The kernel's generator continues the scenario's numpy SFC64 stream word for word, and
    its uniforms (low half of each word first) are the reference's."""
    from actuarial.simulation import rent
    from actuarial.simulation.reference import Uniforms

    rng = rent.scenario_rng(seed, scenario)
    rng.standard_normal()
    state = rent.stream_state(rng)
    words = rent.stream_words(state, 500)
    assert np.array_equal(words, rng.bit_generator.random_raw(500))
    assert np.array_equal(rent.stream_words(state, 3), rng.bit_generator.random_raw(3))  # both moved on alike
    again = rent.scenario_rng(seed, scenario)
    again.standard_normal()
    u = Uniforms(again)
    halves = np.stack([words & np.uint64(0xFFFFFFFF), words >> np.uint64(32)], axis=1).ravel()
    assert [u.next() for _ in range(20)] == (halves[:20] / 2.0 ** 32).tolist()


def test_the_kernel_needs_an_sfc64_stream():
    from actuarial.simulation import rent

    with pytest.raises(ValueError, match="SFC64 stream, got PCG64"):
        rent.stream_state(np.random.default_rng(1))


@pytest.mark.parametrize("repayment_months", [0, 1, 2])
def test_a_plan_repays_monthly_and_a_broken_one_leaves_the_rest_owed(repayment_months):
    """By hand, on a chain without chance: dunning -> installment -> broken_promise -> skip.

    Month t0 (the missed rent) subrogates 100,000 yen; month t0+1 is the plan's: it repays
    min(1, r) months; month t0+2 (broken promise) subrogates again; the tenant skips in month
    t0+3 owing (2 - min(1, r)) months, and JHF pays 70% of that the month after."""
    from actuarial.collection import CollectionChain
    from actuarial.products.rent_guarantee import FeePlan

    chain = CollectionChain.from_transitions({"dunning": {"installment": 1.0}, "installment": {"broken_promise": 1.0},
                                              "broken_promise": {"skip": 1.0}})
    plan = FeePlan(name="p", initial_rate=0.0, coverage_months=24)
    m = RentModel(chain=chain, plans={"p": plan}, delinquency_hazard={"A": 0.5}, moveout_hazard=0.0, rho=0.0,
                  good_exit_sensitivity=0.0, recovery_rate=0.0, jhf=BASE.jhf_terms(), months=24,
                  installment_repayment_months=repayment_months)
    one = pd.DataFrame({"rent_yen": [100_000], "management_fee_yen": [0], "common_fee_yen": [0], "parking_fee_yen": [0],
                        "plan": ["p"], "grade": ["A"], "insured": [True]})
    flows = simulate(one, m, 40, seed=3).cash_flows
    repaid = min(1, repayment_months)
    checked = 0
    for f in flows:
        sub = f[LINES.index("subrogation")]
        t0 = int(np.flatnonzero(sub)[0]) if sub.any() else None
        if t0 is None or t0 + 4 > m.months:
            continue
        assert sub[t0] == sub[t0 + 2] == 100_000 and sub.sum() == 200_000
        rec = f[LINES.index("recoveries")]
        assert rec[t0 + 1] == 100_000 * repaid and rec.sum() == 100_000 * repaid
        assert f[LINES.index("jhf_payout"), t0 + 4] == 70_000 * (2 - repaid)
        checked += 1
    assert checked >= 20


def test_contract_records_hold_the_claim_free_jhf_limit():
    """Hand-worked: 0.7 x 12 x rent at start, floored, then the yen cap; -1 when not insured;
    the cover in yen is the months covered times the monthly total."""
    from actuarial.products.jhf_insurance import JHFTerms

    total = np.array([80_000, 160_000, 90_000, 10_001, 50_000])
    cover = np.array([24, 12, 24, 1, 0])
    insured = np.array([True, True, False, True, False])
    jhf_rent = np.array([75_000, 150_000, 85_000, 10_001, 50_000])
    got = rent.contract_records(total, cover, insured, jhf_rent, JHFTerms())
    assert got.dtype == np.int64 and got.shape == (5, 4)
    np.testing.assert_array_equal(got[:, 0], total)
    np.testing.assert_array_equal(got[:, 1], [1_920_000, 1_920_000, 2_160_000, 10_001, 0])  # cover in yen
    # the JHF field: -1 when not insured, else the limit in the low bits and the covered amount above
    limit = np.where(got[:, 2] >= 0, got[:, 2] & LIMIT_MASK, -1)
    covered = np.where(got[:, 2] >= 0, got[:, 2] >> LIMIT_BITS, -1)
    # 630,000; 1,260,000 capped at 1,000,000; uninsured; floor(0.7 x 12 x 10,001) = floor(84,008.4)
    np.testing.assert_array_equal(limit, [630_000, 1_000_000, -1, 84_008, -1])
    np.testing.assert_array_equal(covered, [80_000, 160_000, -1, 10_001, -1])  # the total when not given
    # what a month paid the next month adds to the cured line: the total if a month is covered
    np.testing.assert_array_equal(got[:, 3], [80_000, 160_000, 90_000, 10_001, 0])
    no_yen_cap = rent.contract_records(total, cover, insured, jhf_rent, JHFTerms(cap_yen=None))
    np.testing.assert_array_equal(no_yen_cap[:, 2] & LIMIT_MASK, [630_000, 1_260_000, LIMIT_MASK, 84_008, LIMIT_MASK])
    parking = rent.contract_records(total, cover, insured, jhf_rent, JHFTerms(), jhf_covered_yen=jhf_rent)
    np.testing.assert_array_equal(parking[:, 2] >> LIMIT_BITS, [75_000, 150_000, -1, 10_001, -1])


def test_contract_records_refuse_bad_input():
    from actuarial.products.jhf_insurance import JHFTerms

    one = np.array([80_000])
    with pytest.raises(ValueError, match=r"cover_months.*\(2,\)"):
        rent.contract_records(one, np.array([24, 24]), np.array([True]), one, JHFTerms())
    with pytest.raises(ValueError, match="1-d"):
        rent.contract_records(np.int64(80_000), np.int64(24), np.bool_(True), np.int64(80_000), JHFTerms())
    with pytest.raises(ValueError, match="rent_at_start"):
        rent.contract_records(one, np.array([24]), np.array([True]), np.array([-1]), JHFTerms())
    with pytest.raises(ValueError, match="jhf_covered_yen of insured contract 0 is 8,388,608 yen"):
        rent.contract_records(one, np.array([24]), np.array([True]), one, JHFTerms(), np.array([2**23]))


def test_threads_default_to_every_core_or_the_environment_and_never_change_a_result(model, book, monkeypatch):
    monkeypatch.delenv(distributed.THREADS_ENV, raising=False)
    assert distributed.default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(distributed.THREADS_ENV, " 3 ")
    assert distributed.default_threads() == 3
    one = simulate(book, model, 7, seed=4, threads=1)
    np.testing.assert_array_equal(simulate(book, model, 7, seed=4).cash_flows, one.cash_flows)  # 3 threads
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(distributed.THREADS_ENV, bad)
        with pytest.raises(ValueError, match=f"environment variable ACTUARIAL_THREADS must be a whole number >= 1, "
                                             f"got '{re.escape(bad)}'"):
            simulate(book, model, 2, seed=1)
    assert simulate(book, model, 2, seed=1, threads=1).cash_flows.shape[0] == 2  # an explicit count needs no variable
