"""Every figure the notebooks show has a title, labelled axes, and units on its value axis."""

import dataclasses

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from actuarial import calibration, plots, pricing, tables
from actuarial.params import load_params
from actuarial.portfolio import synthetic_mortgage_book, synthetic_rent_book
from actuarial.products.jhf_insurance import JHFTerms
from actuarial.products.mortgage_fee import (
    PUBLISHED_EXAMPLE,
    PUBLISHED_FEE_PAID_YEN,
    PUBLISHED_PRINCIPAL_YEN,
    PUBLISHED_TERM_YEARS,
    FeeCurve,
)
from actuarial.simulation import MortgageModel, RentModel, simulate

BASE = load_params("params/base.yaml")
RENT = dataclasses.replace(RentModel.from_params(BASE), months=24)
MORTGAGE = dataclasses.replace(MortgageModel.from_params(BASE), months=60)
UNITS = ("yen", "month", "per 1,000", "hazard", "%", "share", "probability")


def _rent_result():
    return simulate(synthetic_rent_book(200, seed=1, insured_share=0.3), RENT, 20, seed=1)


FIGURES = {
    "jhf_payout_by_months": lambda: plots.jhf_payout_by_months(
        tables.jhf_payout_grid(JHFTerms(), rents_yen=[80_000, 150_000], months_unpaid=range(1, 16)), title="t"),
    "refund_curve": lambda: plots.refund_curve(
        FeeCurve.calibrate(PUBLISHED_PRINCIPAL_YEN, PUBLISHED_TERM_YEARS, PUBLISHED_FEE_PAID_YEN, PUBLISHED_EXAMPLE),
        PUBLISHED_EXAMPLE, title="t"),
    "funnel_comparison": lambda: plots.funnel_comparison(BASE.collection.chain().funnel(), title="t"),
    "loss_distributions": lambda: plots.loss_distributions({"a": _rent_result().losses["net_loss"]}, title="t"),
    "monthly_cash_flows": lambda: plots.monthly_cash_flows(_rent_result(), title="t"),
    "jhf_value_heatmap": lambda: plots.jhf_value_heatmap(
        pricing.jhf_value_grid(RENT, rents_yen=[60_000, 100_000], default_rates=[0.05, 0.1],
                               plan_name="zenhoren_yearly"), title="t"),
    "yearly_lines": lambda: plots.yearly_lines(
        simulate(synthetic_mortgage_book(50, seed=1), MORTGAGE, 5, seed=1), ["fee_lump_sum", "refunds"], title="t",
        ylabel="million yen"),
    "tornado_chart": lambda: plots.tornado_chart(
        pd.DataFrame({"assumption": ["x", "y"], "low": [1e6, 2e6], "high": [3e6, 2.5e6], "base": [2e6, 2e6],
                      "swing": [2e6, 5e5]}), title="t", metric_label="VaR 99.5% of the net loss"),
    "scenario_comparison": lambda: plots.scenario_comparison(
        pd.DataFrame({"EL": [1e6, 2e6]}, index=["base", "recession"]), ["EL"], title="t", ylabel="million yen"),
    "allowance_ratios": lambda: plots.allowance_ratios(
        pd.DataFrame({"allowance_ratio": [0.1, 0.6, 0.95], "receivable_yen": [5e6, 1e6, 2e7]},
                     index=["up to 3 months", "3-12 months", "closed"]), title="t"),
    "quarterly_cash_flows": lambda: plots.quarterly_cash_flows(
        pd.DataFrame({"expected_yen": [-1e6, 2e6], "q0.5_yen": [-5e6, -1e6], "q99.5_yen": [1e6, 4e6]},
                     index=["FY2027/03 Q4", "FY2028/03 Q1"]), title="t"),
    "hazard_fit": lambda: plots.hazard_fit(calibration.against_generating(
        calibration.fit_hazards(pd.read_csv("params/calibration/synthetic_history.csv"), bands=(12, 24)),
        RENT.delinquency_hazard, RENT.moveout_hazard), title="t"),
    "waterfall": lambda: plots.waterfall(
        pd.Series([5e6, 1e6, -2e6, 3e5, 4.3e6], index=["opening", "unwind", "experience", "assumptions: x", "closing"]),
        title="t", ylabel="provision (yen)"),
    "vintage_curves": lambda: plots.vintage_curves(
        pd.DataFrame({"2025Q1": [0.1, 0.2], "2025Q2": [0.12, None]}, index=[1, 2]), title="t",
        expected=pd.Series([0.11, 0.21], index=[1, 2])),
}


def test_every_plot_function_is_checked():
    public = {n for n in dir(plots) if not n.startswith("_") and callable(getattr(plots, n))
              and getattr(getattr(plots, n), "__module__", "") == plots.__name__}
    assert public == set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_a_figure_has_a_title_labelled_axes_and_units(name):
    fig = FIGURES[name]()
    try:
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert axes
        for bar in set(fig.axes) - set(axes):  # a colour scale names what it shows and its unit
            assert any(u in bar.get_ylabel().lower() for u in UNITS), f"{name}: colour scale {bar.get_ylabel()!r}"
        for ax in axes:
            assert ax.get_title(), f"{name}: an axes without a title"
            assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: an unlabelled axis"
            labels = (ax.get_xlabel() + " " + ax.get_ylabel()).lower()
            assert any(u in labels for u in UNITS), f"{name}: no unit in {labels!r}"
    finally:
        plt.close(fig)


def test_the_cash_flow_range_is_drawn_only_from_enough_scenarios():
    """A 0.5%-99.5% range from 500 scenarios would be a guess: the chart says so instead."""
    cash = pd.DataFrame({"expected_yen": [-1e6, 2e6], "q0.5_yen": [-5e6, -1e6], "q99.5_yen": [1e6, 4e6]},
                        index=["FY2027/03 Q4", "FY2028/03 Q1"])
    thin = plots.quarterly_cash_flows(cash, title="t", n_scenarios=500)
    legend = [t.get_text() for t in thin.axes[0].get_legend().get_texts()]
    assert sorted(legend) == ["0.5%-99.5% range not drawn:\n500 scenarios, a 99.5%\nquantile needs 2,000", "expected"]
    assert not thin.axes[0].collections  # no range lines
    plenty = plots.quarterly_cash_flows(cash, title="t", n_scenarios=2_000)
    assert len(plenty.axes[0].collections) == 1
    assert sorted(t.get_text() for t in plenty.axes[0].get_legend().get_texts()) == ["0.5%-99.5% of scenarios",
                                                                                      "expected"]
    plt.close("all")


def test_a_waterfall_stacks_each_step_on_the_running_total_and_labels_it():
    fig = plots.waterfall(pd.Series([5e6, 1e6, -2e6, 3e5, 4.3e6],
                                    index=["opening", "unwind", "experience", "assumptions: x", "closing"]),
                          title="t", ylabel="provision (yen)")
    ax = fig.axes[0]
    assert [(p.get_y(), p.get_height()) for p in ax.patches] == [(0, 5e6), (5e6, 1e6), (6e6, -2e6), (4e6, 3e5),
                                                                 (0, 4.3e6)]
    assert [t.get_text() for t in ax.texts] == ["5.0M", "+1.0M", "-2.0M", "+0.3M", "4.3M"]
    assert ax.get_ylim()[1] > 6e6  # room above the tallest bar for its label
    plt.close(fig)
