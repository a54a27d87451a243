"""Risk measures and their Monte Carlo error: hand-worked cases, exact binomial coverage,
a Monte Carlo oracle on losses of known distribution, and bad input."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from actuarial.risk import (
    metric_errors,
    tail_value_at_risk,
    tvar_standard_error,
    value_at_risk,
    var_interval,
)
from actuarial.simulation.rent import SimulationResult


def _result(loss, fees):
    frame = pd.DataFrame({"net_loss": np.asarray(loss, float), "fees": np.asarray(fees, float)})
    return SimulationResult(cash_flows=np.zeros((len(frame), 7, 2)), losses=frame, seed=0)


def test_var_and_tvar_by_hand():
    x = [30.0, 10.0, 50.0, 20.0, 40.0, 60.0, 80.0, 70.0, 100.0, 90.0]
    assert value_at_risk(x, 0.9) == 90.0  # the 9th smallest of 10
    assert value_at_risk(x, 0.91) == 100.0  # ceil(9.1) = 10th
    assert tail_value_at_risk(x, 0.9) == 95.0
    assert tail_value_at_risk(x, 0.75) == 90.0  # 8th smallest 80: mean of 80, 90, 100


def test_var_interval_by_hand():
    # the median of 20: P(B <= 5) = 0.0207, P(B <= 6) = 0.0577 (B binomial(20, 1/2)), so
    # r = 6; P(B <= 13) = 0.9423, P(B <= 14) = 0.9793, so s = 15
    shuffled = np.random.default_rng(3).permutation(np.arange(1.0, 21.0))
    assert var_interval(shuffled, 0.5) == (6.0, 15.0)
    # the 90% quantile of 10 (B binomial(10, 0.9)): P(B <= 6) = 0.0128, P(B <= 7) = 0.0702,
    # so r = 7; P(B <= 9) = 0.6513 < 0.975, so no order statistic bounds it from above
    assert var_interval(np.arange(1.0, 11.0), 0.9) == (7.0, math.inf)
    # the 10% quantile of 10 mirrors it: nothing bounds it from below
    assert var_interval(np.arange(1.0, 11.0), 0.1) == (-math.inf, 4.0)


@pytest.mark.parametrize("n, level, confidence", [(2_000, 0.99, 0.95), (10_000, 0.995, 0.95), (1_000, 0.9, 0.8),
                                                  (500, 0.5, 0.99)])
def test_var_interval_is_the_shortest_order_statistics_holding_the_confidence(n, level, confidence):
    """Exact: with losses 1..n the interval's ends are the order statistics' ranks r, s, and
    P(r <= B <= s - 1) >= confidence, while moving either end inwards falls short of
    (1 - confidence) / 2 on that side."""
    r, s = var_interval(np.arange(1.0, n + 1.0), level, confidence)
    r, s = int(r), int(s)
    tail = (1 - confidence) / 2
    assert binom.cdf(r - 1, n, level) <= tail < binom.cdf(r, n, level)
    assert binom.sf(s - 1, n, level) <= tail < binom.sf(s - 2, n, level)
    assert binom.cdf(s - 1, n, level) - binom.cdf(r - 1, n, level) >= confidence


def test_tvar_standard_error_by_hand():
    # losses 1..50 at 80%: VaR 40, tail 40..50 (11 losses, mean 45, variance 11):
    # (11 + 0.8 x 5^2) / (50 x 0.2) = 3.1
    assert tvar_standard_error(np.arange(1.0, 51.0), 0.8) == pytest.approx(math.sqrt(3.1), rel=1e-12)
    # 1..50 at 82%: VaR 41, 10 losses at or above it, the fewest measured
    tail = np.arange(41.0, 51.0)
    expected = math.sqrt((tail.var(ddof=1) + 0.82 * (tail.mean() - 41) ** 2) / (50 * 0.18))
    assert tvar_standard_error(np.arange(1.0, 51.0), 0.82) == pytest.approx(expected, rel=1e-12)
    assert tvar_standard_error(np.arange(1.0, 51.0), 0.83) == math.inf  # 9 at or above the VaR


def test_metric_errors_by_hand():
    t = metric_errors([90.0, 110.0, 100.0, 100.0], [50.0] * 4, levels=(0.5,), confidence=0.95)
    z = 1.959963984540054
    se_mean = math.sqrt(200 / 3) / 2  # sd of (90, 110, 100, 100) over sqrt(4)
    assert t.loc["expected_loss", "standard_error"] == pytest.approx(se_mean, rel=1e-12)
    assert t.loc["expected_loss", "lower"] == pytest.approx(100 - z * se_mean, rel=1e-12)
    # the sd: m4 = (10^4 + 10^4) / 4 = 5000, s^2 = 200 / 3, so sqrt((5000 - s^4) / 4) / (2 s)
    s2 = 200 / 3
    assert t.loc["sd", "standard_error"] == pytest.approx(math.sqrt((5000 - s2 ** 2) / 4) / (2 * math.sqrt(s2)))
    # loss ratio 100 / 50 = 2: L - 2F = (-10, 10, 0, 0), sd sqrt(200 / 3), over sqrt(4) and 50
    assert t.loc["loss_ratio", "estimate"] == 2.0
    assert t.loc["loss_ratio", "standard_error"] == pytest.approx(se_mean / 50, rel=1e-12)
    assert t.loc["expected_profit", "estimate"] == -50.0
    assert t.loc["expected_profit", "standard_error"] == pytest.approx(se_mean, rel=1e-12)
    assert t.loc["var_50.0%", "interval"] == "order statistics"
    assert list(t.columns) == ["estimate", "standard_error", "lower", "upper", "interval"]


def test_no_fees_leave_the_loss_ratio_undefined():
    t = metric_errors([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], levels=(0.5,))
    assert t.loc["loss_ratio", ["estimate", "standard_error", "lower", "upper"]].isna().all()


def test_monte_carlo_oracle_on_exponential_losses():
    """Losses Exp(1), 2,000 scenarios, 400 runs: the true values are known (mean 1, sd 1,
    VaR_q = -ln(1 - q), TVaR_q = VaR_q + 1). The standard errors match the spread of the
    estimates over the runs, and the intervals of the mean and the VaR hold the truth about
    as often as they say."""
    rng = np.random.default_rng(20261123)
    runs, n = 400, 2_000
    truth = {"expected_loss": 1.0, "sd": 1.0, "var_99.0%": -math.log(0.01), "tvar_99.0%": 1 - math.log(0.01),
             "loss_ratio": 0.5}
    tables = [metric_errors(rng.exponential(size=n), np.full(n, 2.0), levels=(0.99,)) for _ in range(runs)]
    estimates = pd.DataFrame({k: [t.loc[k, "estimate"] for t in tables] for k in truth})
    errors = pd.DataFrame({k: [t.loc[k, "standard_error"] for t in tables] for k in truth})
    held = pd.DataFrame({k: [t.loc[k, "lower"] <= v <= t.loc[k, "upper"] for t in tables] for k, v in truth.items()})
    for k in ("expected_loss", "sd", "tvar_99.0%", "loss_ratio"):
        assert errors[k].mean() / estimates[k].std(ddof=1) == pytest.approx(1.0, abs=0.12), k
    # 95% intervals over 400 runs: a binomial standard error of 1.1%
    assert 0.92 <= held["expected_loss"].mean() <= 0.98
    assert 0.92 <= held["var_99.0%"].mean()
    # the TVaR's normal interval is too narrow with 20 scenarios beyond the VaR (documented)
    assert 0.80 <= held["tvar_99.0%"].mean() <= 0.95


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=2, max_size=300),
       st.sampled_from([0.5, 0.9, 0.99, 0.995, 0.999]))
def test_estimates_are_the_metrics_and_lie_in_their_intervals(values, level):
    x = np.array(values)
    result = _result(x, np.full(len(x), 1e6))
    errors = result.metric_errors(levels=(level,))
    metrics = result.metrics(levels=(level,))
    assert list(errors.index) == list(metrics.index)
    np.testing.assert_array_equal(errors["estimate"].to_numpy(), metrics.to_numpy())
    assert (errors["standard_error"] >= 0).all()
    assert (errors["lower"] <= errors["estimate"]).all() and (errors["estimate"] <= errors["upper"]).all()
    lo, hi = var_interval(x, level)
    assert lo <= value_at_risk(x, level) <= hi


def test_simulated_run_reports_its_errors():
    from pathlib import Path

    from actuarial.params import load_params
    from actuarial.portfolio import synthetic_rent_book
    from actuarial.simulation import RentModel, simulate

    model = RentModel.from_params(load_params(Path(__file__).resolve().parents[1] / "params" / "base.yaml"))
    result = simulate(synthetic_rent_book(300, seed=4), model, 200, seed=9)
    errors = result.metric_errors()
    np.testing.assert_array_equal(errors["estimate"].to_numpy(), result.metrics().to_numpy())
    loss = result.losses["net_loss"]
    assert errors.loc["expected_loss", "standard_error"] == pytest.approx(loss.std(ddof=1) / math.sqrt(200))
    assert errors.loc["var_99.9%", "upper"] == math.inf  # 200 scenarios cannot bound the 99.9% VaR
    assert errors.loc["tvar_99.9%", ["standard_error", "upper"]].tolist() == [math.inf, math.inf]
    assert errors.loc["tvar_99.9%", "lower"] == -math.inf


@pytest.mark.parametrize("call, needle", [
    (lambda: value_at_risk([[1.0, 2.0]], 0.9), r"losses must be one-dimensional, got shape \(1, 2\)"),
    (lambda: value_at_risk(["a", "b"], 0.9), "losses must hold numbers, got dtype <U1"),
    (lambda: value_at_risk([True, False], 0.9), "losses must hold numbers, got dtype bool"),
    (lambda: value_at_risk([1.0, np.nan, 2.0], 0.9), "losses must be finite, got nan at position 1"),
    (lambda: value_at_risk([], 0.9), "losses needs at least 1 scenario, got 0"),
    (lambda: var_interval([1.0], 0.9), "losses needs at least 2 scenarios, got 1"),
    (lambda: value_at_risk([1.0, 2.0], 1.0), "level must be a number strictly between 0 and 1, got 1.0"),
    (lambda: value_at_risk([1.0, 2.0], "0.9"), "level must be .* got '0.9'"),
    (lambda: tail_value_at_risk([1.0, 2.0], True), "level must be .* got True"),
    (lambda: var_interval([1.0, 2.0], 0.9, confidence=95), "confidence must be .* got 95"),
    (lambda: metric_errors([1.0, 2.0], [1.0, 1.0, 1.0], levels=(0.9,)),
     "fees must have one value per scenario: 3 fees for 2"),
    (lambda: metric_errors([1.0, 2.0], [1.0, np.inf]), "fees must be finite, got inf at position 1"),
    (lambda: metric_errors([1.0, 2.0], [1.0, 1.0], levels=(0.9, 0.0)), "levels must be .* got 0.0"),
    (lambda: metric_errors([1.0, 2.0], [1.0, 1.0], confidence=0.0), "confidence must be .* got 0.0"),
    (lambda: metric_errors([1.0, 2.0], [1.0, 1.0], levels=0.99), "levels must be a sequence of levels, got 0.99"),
    (lambda: _result([1.0, 2.0], [1.0, 1.0]).metrics(levels=(1.5,)), "levels must be .* got 1.5"),
])
def test_bad_input_names_the_argument_and_value(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()


def test_the_normal_distribution_equals_scipy_stats_to_the_bit():
    """The package reads Phi, its inverse and the density from actuarial.normal (fast to
    import); they are scipy.stats.norm's values exactly, so no figure moves."""
    import numpy as np
    from scipy.stats import norm as stats_norm

    from actuarial.normal import norm

    x = np.linspace(-9, 9, 1001)
    p = np.linspace(0, 1, 1001)
    np.testing.assert_array_equal(norm.cdf(x), stats_norm.cdf(x))
    np.testing.assert_array_equal(norm.ppf(p), stats_norm.ppf(p))
    np.testing.assert_array_equal(norm.pdf(x), stats_norm.pdf(x))
    assert norm.ppf(0.0) == -np.inf and np.isnan(norm.ppf(1.5))
