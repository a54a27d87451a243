"""Key figures: written whole, one file a scenario, collected into the batch's comparison."""

import json
import math

import pandas as pd
import pytest

from actuarial import reporting


def test_each_scenario_keeps_its_own_file_and_the_table_is_written_once(tmp_path):
    table = pd.DataFrame({"base": [1.0, 2.0], "recession": [3.0, 4.0]}, index=["expected_loss", "sd"])
    paths = reporting.write_scenario_figures(
        tmp_path, "05_stress_and_capital",
        {"base": {"expected_loss": 1.0, "sd": 2.0}, "recession": {"expected_loss": 3.0, "sd": 4.0}}, {"metrics": table})
    assert [p.name for p in paths] == ["05_stress_and_capital_base.json", "05_stress_and_capital_recession.json"]
    assert json.loads(paths[1].read_text()) == {"notebook": "05_stress_and_capital", "scenario": "recession",
                                                "figures": {"expected_loss": 3.0, "sd": 4.0}}
    written = pd.read_csv(tmp_path / "05_stress_and_capital_metrics.csv", index_col=0)
    pd.testing.assert_frame_equal(written, table)
    comparison = reporting.comparison_table(reporting.collect_key_figures(tmp_path))
    assert comparison.to_dict("index") == {"base": {"05:expected_loss": 1.0, "05:sd": 2.0},
                                           "recession": {"05:expected_loss": 3.0, "05:sd": 4.0}}
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no temporary file left behind
        "05_stress_and_capital_base.json", "05_stress_and_capital_metrics.csv", "05_stress_and_capital_recession.json"]


def test_non_finite_figures_are_written_as_null(tmp_path):
    path = reporting.write_key_figures(tmp_path, "02_rent_portfolio", "base",
                                       {"tvar_99.9%": math.inf, "nan": math.nan, "el": 5.5, "count": 3})
    assert json.loads(path.read_text())["figures"] == {"tvar_99.9%": None, "nan": None, "el": 5.5, "count": 3}
    figures = reporting.collect_key_figures(tmp_path).set_index("figure")["value"]
    assert figures["el"] == 5.5 and figures["count"] == 3 and figures[["tvar_99.9%", "nan"]].isna().all()


def test_collecting_passes_over_other_json_and_names_an_unreadable_file(tmp_path):
    reporting.write_key_figures(tmp_path / "base", "01_product_terms", "base", {"premium": 25_000})
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "x", "notebooks": []}))
    (tmp_path / "list.json").write_text("[1, 2]")
    figures = reporting.collect_key_figures(tmp_path)
    assert figures.to_dict("records") == [{"scenario": "base", "notebook": "01_product_terms", "figure": "premium",
                                           "value": 25_000}]
    (tmp_path / "base" / "02_rent_portfolio.json").write_text('{"notebook": "02_rent_portfolio", "figu')
    with pytest.raises(ValueError, match=r"base/02_rent_portfolio\.json: not a readable JSON file"):
        reporting.collect_key_figures(tmp_path)


def test_an_empty_run_has_an_empty_comparison(tmp_path):
    figures = reporting.collect_key_figures(tmp_path)
    assert list(figures.columns) == ["scenario", "notebook", "figure", "value"] and figures.empty
    assert reporting.comparison_table(figures).empty


def _cells(shown) -> list[list[str]]:
    """The text of each body row of a shown table: its label, then its cells."""
    import re

    rows = re.findall(r"<tr>(.*?)</tr>", shown.data, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)]
            for r in rows[1:]]


def test_tables_and_metrics_are_formatted_explicitly():
    df = pd.DataFrame({"loss (yen)": [1234567.4, -89.6], "ratio": [0.62599, float("nan")], "z": [1.23456789, 2.0]},
                      index=["a", "b"])
    shown = reporting.html_table(df, yen=["loss (yen)"], pct=["ratio"], decimals={"z": 3}, key="k1", note="why")
    assert _cells(shown) == [["a", "1,234,567", "62.6%", "1.235"], ["b", "-90", "—", "2.000"]]
    assert "T_k1" in shown.data and shown.data.endswith("<p style='font-size: 90%'>why</p>")
    one = reporting.metrics_html(pd.Series({"expected_loss": 90_974_006.7, "loss_ratio": 0.626}), key="k2")
    assert _cells(one) == [["Expected loss (yen)", "90,974,007"], ["Loss ratio (%)", "62.6%"]]


def test_a_figure_given_twice_for_one_scenario_is_refused(tmp_path):
    reporting.write_key_figures(tmp_path, "05_stress_and_capital", "base", {"expected_loss": 1.0})
    reporting.write_key_figures(tmp_path, "05_tornado", "base", {"expected_loss": 2.0, "swing_rho": 3.0})
    with pytest.raises(ValueError, match=r"key figure '05:expected_loss' of scenario 'base' is given 2 times, by "
                                         r"05_stress_and_capital, 05_tornado"):
        reporting.comparison_table(reporting.collect_key_figures(tmp_path))


@pytest.mark.parametrize("name", ["../base", "a/b", "", "_x", 3])
def test_a_scenario_name_that_is_not_one_word_writes_nothing(tmp_path, name):
    with pytest.raises(ValueError, match=rf"scenario names must be one word .* got {name!r}"):
        reporting.write_scenario_figures(tmp_path / "out", "05_stress", {"base": {"el": 1.0}, name: {"el": 2.0}},
                                         {"metrics": pd.DataFrame({"base": [1.0]})})
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []


def test_collecting_a_folder_that_is_not_there_and_formatting_a_non_table_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"run_dir '.*no_run' is not a folder"):
        reporting.collect_key_figures(tmp_path / "no_run")
    with pytest.raises(ValueError, match="table must be a pandas DataFrame .*or Series, got list"):
        reporting.metrics_html([1.0], key="k")


def test_a_tail_figure_from_too_few_scenarios_is_shown_as_words_not_a_number():
    import numpy as np

    from actuarial.risk import metric_errors, metrics

    rng = np.random.default_rng(1)
    losses, fees = rng.gamma(2.0, 1e6, 1_500), np.full(1_500, 2e6)
    m = metrics(losses, fees)
    m.attrs["n_scenarios"] = 1_500
    rows = {r[0]: r[1:] for r in _cells(reporting.metrics_html(m, key="m"))}
    assert rows["VaR 99.0% (yen)"] == [f"{m['var_99.0%']:,.0f}"]
    assert rows["VaR 99.5% (yen)"] == ["not enough scenarios (1,500; needs 2,000)"]
    assert rows["TVaR 99.9% (yen)"] == ["not enough scenarios (1,500; needs 10,000)"]
    assert rows["Expected loss (yen)"] == [f"{m['expected_loss']:,.0f}"]  # the level-free figures stay numbers
    table = pd.DataFrame({"a": m, "b": metrics(losses[:900], fees[:900])})
    table.attrs["n_scenarios"] = {"a": 1_500, "b": 900}
    shown = reporting.metrics_html(table, key="t")
    rows = {r[0]: r[1:] for r in _cells(shown)}
    assert rows["VaR 99.0% (yen)"] == [f"{m['var_99.0%']:,.0f}", "not enough scenarios (900; needs 1,000)"]
    assert "10 / (1 - p) scenarios" in shown.data
    errors = metric_errors(losses, fees).drop(index="loss_ratio")
    shown = reporting.metric_errors_html(errors, 1_500, key="e")
    rows = {r[0]: r[1:] for r in _cells(shown)}
    assert rows["VaR 99.5% (yen)"] == ["not enough scenarios (1,500; needs 2,000)", "—", "—", "—", "—"]
    assert rows["Standard deviation (yen)"][:2] == [f"{errors.loc['sd', 'estimate']:,.0f}",
                                                    f"{errors.loc['sd', 'standard_error']:,.0f}"]
    assert "10 / (1 - p) scenarios" in shown.data
    plenty = reporting.metrics_html(table[["a"]].rename(columns={"a": "x"}), key="p")
    assert "not enough" not in plenty.data  # no count recorded for run x: every figure is shown


def test_the_batch_refuses_a_single_scenario(tmp_path, capsys):
    from actuarial import batch

    code = batch.main([str(reporting_root() / "params" / "base.yaml"), "--scenarios", "1", "--reports",
                       str(tmp_path)])
    assert code == 2 and "--scenarios must be at least 2" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def reporting_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def test_the_comparison_keeps_each_notebooks_order_of_figures(tmp_path):
    """The index lists notebooks by number, and each notebook's figures in the order it wrote
    them (a bridge from opening to closing), not alphabetically."""
    reporting.write_key_figures(tmp_path / "all", "05_stress_and_capital", "base", {"var_99.5%": 3.0})
    reporting.write_key_figures(tmp_path / "base", "09_movement", "base",
                                {"allowance_opening_yen": 1.0, "allowance_unwind_yen": 2.0,
                                 "allowance_closing_yen": 3.0})
    reporting.write_key_figures(tmp_path / "base", "02_rent_portfolio", "base", {"sd": 1.0, "expected_loss": 2.0})
    table = reporting.comparison_table(reporting.collect_key_figures(tmp_path))
    assert list(table.columns) == ["02:sd", "02:expected_loss", "05:var_99.5%", "09:allowance_opening_yen",
                                   "09:allowance_unwind_yen", "09:allowance_closing_yen"]
