"""The batch: end to end on small scenarios, failures recorded, bad input refused early."""

import json
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest

from actuarial import batch

ROOT = Path(__file__).resolve().parents[1]
SMALL = f"""extends: {ROOT / 'params' / 'base.yaml'}
scenario: {{name: small, description: a tiny book for the batch test}}
rent_model: {{months: 24}}          # assumption: short horizon for speed
mortgage_model: {{months: 60}}      # assumption: short horizon for speed
portfolio: {{rent_contracts: 200, mortgage_loans: 40}}  # assumption: tiny books for speed
"""
BROKEN = SMALL.replace("name: small,", "name: broken,").replace(
    "mortgage_loans: 40}", "mortgage_loans: 40, rent_book_csv: no_such_book.csv}")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    (tmp / "small.yaml").write_text(SMALL, encoding="utf-8")
    (tmp / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:  # the batch refuses a missing book before it starts (tested below);
        # let it through here, as if the book had gone after the check, to see a notebook fail in a run
        mp.setattr(batch, "check_scenario_books", lambda *args: None)
        code = _run_small(tmp)
    return code, tmp / "reports"


def _run_small(tmp):
    return batch.main([str(tmp / "small.yaml"), str(tmp / "broken.yaml"), "--notebooks", "01_product_terms",
                       "02_rent_portfolio", "04_mortgage_portfolio", "05_stress_and_capital", "06_batch_summary",
                       "--jobs", "2",
                       "--scenarios", "20", "--reports", str(tmp / "reports")])


def test_a_missing_or_misspelt_book_is_refused_before_anything_starts(tmp_path, capsys):
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    code = batch.main([str(tmp_path / "broken.yaml"), "--notebooks", "01_product_terms", "--reports",
                       str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2 and "no_such_book.csv" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
    book = pd.read_csv(ROOT / "params" / "books" / "inforce_rent_book.csv").rename(columns={"grade": "grdae"})
    book.drop(columns="grdae").assign(grade="A", strat_month=0).to_csv(tmp_path / "book.csv", index=False)
    (tmp_path / "typo.yaml").write_text(SMALL.replace("name: small,", "name: typo,").replace(
        "mortgage_loans: 40}", "mortgage_loans: 40, rent_book_csv: book.csv}"), encoding="utf-8")
    scenario = batch.load_params(tmp_path / "typo.yaml")
    batch.check_scenario_books(scenario, tmp_path / "typo.yaml", strict=False)
    err = capsys.readouterr().err
    assert "warning: " in err and "'strat_month' is not read by the rent engine; did you mean 'start_month'?" in err
    with pytest.raises(batch.BatchError, match=r"book\.csv: column 'strat_month' is not read .*\(refused"):
        batch.check_scenario_books(scenario, tmp_path / "typo.yaml", strict=True)


def test_batch_runs_end_to_end_and_writes_every_output(run):
    code, reports = run
    (run_dir,) = batch.finished_runs(reports)
    assert not [p for p in reports.iterdir() if p.name.endswith(".partial")]
    assert (reports / "latest.txt").read_text().strip() == run_dir.name
    notebooks = json.loads((run_dir / "run.json").read_text())["notebooks"]
    status = {(n["scenario"], n["stem"]): n["status"] for n in notebooks}
    errors = {(n["scenario"], n["stem"]): n["error"] for n in notebooks if n["status"] != "ok"}
    assert status[("small", "01_product_terms")] == status[("small", "02_rent_portfolio")] == "ok", errors
    assert status[("small", "04_mortgage_portfolio")] == status[("(run)", "06_batch_summary")] == "ok", errors
    for stem in ("01_product_terms", "02_rent_portfolio", "04_mortgage_portfolio"):
        page = (run_dir / "small" / f"{stem}.html").read_text(encoding="utf-8")
        assert "data:image/png;base64" in page and "import matplotlib" not in page  # figures, no code
        assert batch.REPORT_CSS in page  # wide tables scroll instead of wrapping inside numbers
        assert json.loads((run_dir / "small" / f"{stem}.json").read_text())["scenario"] == "small"
    executed = nbformat.read(str(run_dir / "small" / "02_rent_portfolio.ipynb"), as_version=4)
    assert any("n_scenarios = 20" in c.source for c in executed.cells)  # the override reached the notebook
    book = openpyxl.load_workbook(run_dir / "summary.xlsx")
    assert {"comparison", "key_figures", "status"} <= set(book.sheetnames)
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "02:with_jhf_expected_loss" in index and "small" in index and "summary.xlsx" in index


def test_a_notebook_of_several_scenarios_keeps_each_scenarios_figures(run):
    # 05 reports every scenario of the run from one notebook: each keeps its own key-figures
    # file (one file for all had kept only the last scenario's figures)
    _, reports = run
    (run_dir,) = batch.finished_runs(reports)
    folder = run_dir / "all_scenarios"
    for name in ("small", "broken"):
        data = json.loads((folder / f"05_stress_and_capital_{name}.json").read_text())
        assert data["scenario"] == name and data["notebook"] == "05_stress_and_capital"
    metrics = pd.read_csv(folder / "05_stress_and_capital_metrics.csv", index_col=0)
    assert list(metrics.columns) == ["small", "broken"]
    comparison = pd.read_csv(run_dir / "summary" / "comparison.csv", index_col=0)
    assert comparison.loc[["small", "broken"], "05:expected_loss"].notna().all()
    assert comparison.loc["small", "05:expected_loss"] == metrics.loc["expected_loss", "small"]


def test_a_broken_parameter_is_a_failed_entry_not_a_crash(run):
    code, reports = run
    assert code == 1
    (run_dir,) = batch.finished_runs(reports)
    entries = {(n["scenario"], n["stem"]): n for n in json.loads((run_dir / "run.json").read_text())["notebooks"]}
    failed = entries[("broken", "02_rent_portfolio")]
    assert failed["status"] == "failed" and failed["error_cell"] is not None
    assert "no_such_book.csv" in failed["error"]
    other = entries[("broken", "01_product_terms")]
    assert other["status"] == "ok", other["error"]  # the others still ran
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "FAILED" in index and "no_such_book.csv" in index


def test_unknown_key_is_refused_before_anything_runs(tmp_path, capsys):
    (tmp_path / "typo.yaml").write_text(SMALL.replace("rent_model: {months: 24}", "rent_modle: {months: 24}"),
                                        encoding="utf-8")
    code = batch.main([str(tmp_path / "typo.yaml"), "--reports", str(tmp_path / "reports")])
    assert code == 2
    assert "typo.yaml: rent_modle = {...}: unknown key" in capsys.readouterr().err
    assert not any((tmp_path / "reports").iterdir())


def test_bad_notebook_names_and_parameters_are_refused_early(tmp_path):
    (tmp_path / "small.yaml").write_text(SMALL, encoding="utf-8")
    with pytest.raises(batch.BatchError, match="unknown notebook '07_nothing'"):
        batch.run_batch([tmp_path / "small.yaml"], ["07_nothing"], reports_dir=tmp_path / "r", progress=False)
    with pytest.raises(batch.BatchError, match="no notebook of 01_product_terms has a parameter 'n_scenarios'"):
        batch.run_batch([tmp_path / "small.yaml"], ["01_product_terms"], reports_dir=tmp_path / "r",
                        overrides={"n_scenarios": 5}, progress=False)
    (tmp_path / "summary.yaml").write_text(SMALL.replace("name: small,", "name: summary,"), encoding="utf-8")
    with pytest.raises(batch.BatchError, match=r"summary\.yaml: scenario name 'summary' is the name of a run's own"):
        batch.run_batch([tmp_path / "summary.yaml"], ["01_product_terms"], reports_dir=tmp_path / "r", progress=False)
    with pytest.raises(batch.BatchError, match="jobs must be"):
        batch.run_batch([tmp_path / "small.yaml"], jobs=0, reports_dir=tmp_path / "r", progress=False)
    assert not any((tmp_path / "r").iterdir())


def test_runs_never_overwrite_and_partial_runs_do_not_count(tmp_path, monkeypatch):
    class Fixed(batch.dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 11, 23, 9, 0, 0)

    monkeypatch.setattr(batch.dt, "datetime", Fixed)
    (tmp_path / "20261123-090000").mkdir()
    (tmp_path / ".20261123-090000-2.partial").mkdir()
    assert batch._new_run_id(tmp_path) == "20261123-090000-3"
    (tmp_path / "20261123-090000" / "run.json").write_text("{}")
    assert [p.name for p in batch.finished_runs(tmp_path)] == ["20261123-090000"]


def test_notebooks_run_by_the_batch_show_no_progress_bar_and_run_one_thread_each(tmp_path, monkeypatch):
    """The kernel inherits ``ACTUARIAL_PROGRESS=0`` and ``ACTUARIAL_THREADS=1`` (unless the
    user set it) while papermill runs it, and the variables are as they were afterwards."""
    import os

    import papermill

    from actuarial.simulation.distributed import PROGRESS_ENV, THREADS_ENV

    seen = []
    monkeypatch.setattr(papermill, "execute_notebook",
                        lambda *a, **k: seen.append((os.environ.get(PROGRESS_ENV), os.environ.get(THREADS_ENV))))
    monkeypatch.setenv(PROGRESS_ENV, "1")
    monkeypatch.delenv(THREADS_ENV, raising=False)
    batch.run_notebook(tmp_path / "x.ipynb", tmp_path / "out")
    assert seen == [("0", "1")] and os.environ[PROGRESS_ENV] == "1" and THREADS_ENV not in os.environ
    monkeypatch.setenv(THREADS_ENV, "3")
    batch.run_notebook(tmp_path / "x.ipynb", tmp_path / "out")
    assert seen[1] == ("0", "3") and os.environ[THREADS_ENV] == "3"
    monkeypatch.delenv(PROGRESS_ENV)
    batch.run_notebook(tmp_path / "x.ipynb", tmp_path / "out")
    assert seen[2] == ("0", "3") and PROGRESS_ENV not in os.environ


def test_metrics_tables_whose_names_share_a_prefix_keep_their_own_sheets(tmp_path):
    # Excel sheet names are cut to 31 characters and compared without case; a second table
    # under a name already used had been written over the first, into one sheet
    tables = {}
    for k, folder in enumerate(["jhf_2025_support", "jhf_2025_support_restoration", "Base", "base"]):
        (tmp_path / folder).mkdir()
        tables[folder] = pd.DataFrame({folder: [float(k), k + 0.5]}, index=["expected_loss", "sd"])
        tables[folder].to_csv(tmp_path / folder / "02_rent_portfolio_metrics.csv")
        (tmp_path / folder / "02_rent_portfolio.json").write_text(json.dumps(
            {"notebook": "02_rent_portfolio", "scenario": folder, "figures": {"el": float(k)}}))
    assert [(sheet, csv.parent.name) for sheet, csv in batch.metrics_sheets(tmp_path)] == [
        ("Base 02", "Base"), ("base 02~2", "base"), ("jhf_2025_support 02", "jhf_2025_support"),
        ("jhf_2025_support_restoration 02", "jhf_2025_support_restoration")]
    results = [{"scenario": f, "stem": "02_rent_portfolio", "status": "ok", "error_cell": None, "error": None}
               for f in tables]
    batch._write_outputs(tmp_path, "run", "2026-11-23T09:00:00", [], results)
    sheets = pd.read_excel(tmp_path / "summary.xlsx", sheet_name=None, index_col=0)
    contents = pd.read_excel(tmp_path / "summary.xlsx", sheet_name="contents")
    assert list(sheets)[0] == "contents" and len(contents) == 3 + 4
    for sheet, what in zip(contents["sheet"][3:], contents["what it holds"][3:], strict=True):
        folder = what.split("(")[1].split("/")[0]
        pd.testing.assert_frame_equal(sheets[sheet], tables[folder], check_names=False)


def test_a_reports_folder_that_cannot_hold_runs_is_named_before_anything_runs(tmp_path, capsys):
    small = tmp_path / "small.yaml"
    small.write_text(SMALL, encoding="utf-8")
    a_file = tmp_path / "reports.txt"
    a_file.write_text("", encoding="utf-8")
    for reports, needle in ((a_file, "is a file, not a folder"), (Path("/sys/actuarial-reports"), "cannot write runs "
                                                                                                  "into /sys/")):
        code = batch.main([str(small), "--notebooks", "01_product_terms", "--reports", str(reports)])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_scheduler_is_named_before_anything_runs():
    with pytest.raises(batch.BatchError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9 within 2 s"):
        batch._reach("tcp://127.0.0.1:9", timeout_s=2)


def test_an_interrupted_run_is_named_abandoned_and_exits_130(tmp_path, capsys, monkeypatch):
    from actuarial import runs

    small = tmp_path / "small.yaml"
    small.write_text(SMALL, encoding="utf-8")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_run_group", interrupted)
    code = batch.main([str(small), "--notebooks", "01_product_terms", "--reports", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 130 and "stopped before it finished (KeyboardInterrupt)" in err and "Traceback" not in err
    (left,) = (tmp_path / "reports").iterdir()
    assert left.name.endswith(".abandoned") and left.name.startswith(".")
    listed = runs.list_runs(tmp_path / "reports")
    assert listed["status"].str.startswith("abandoned: stopped before it finished").tolist() == [True]


def test_the_summary_workbook_and_index_are_what_a_finance_team_reads(tmp_path):
    for scenario, k in (("recession", 2.0), ("base", 1.0)):
        (tmp_path / scenario).mkdir()
        (tmp_path / scenario / "02_rent_portfolio.json").write_text(json.dumps(
            {"notebook": "02_rent_portfolio", "scenario": scenario,
             "figures": {"with_jhf_var_99.5%": 4.1e8 * k, "with_jhf_loss_ratio": 0.6 * k}}))
        pd.DataFrame({scenario: [9e7 * k]}, index=["expected_loss"]).to_csv(
            tmp_path / scenario / "02_rent_portfolio_metrics.csv")
    (tmp_path / "base" / "08_quarter_close.json").write_text(json.dumps(
        {"notebook": "08_quarter_close", "scenario": "base", "figures": {"allowance_yen": 27257512.2}}))
    params = []
    for name in ("base", "recession"):  # the order the run was given them
        params.append(tmp_path / f"{name}.yaml")
        params[-1].write_text(SMALL.replace("name: small,", f"name: {name},"), encoding="utf-8")
    results = [{"scenario": s, "stem": "02_rent_portfolio", "status": "ok", "error_cell": None, "error": None}
               for s in ("recession", "base")]
    batch._write_outputs(tmp_path, "run", "2026-12-31T09:00:00", params, results)
    book = openpyxl.load_workbook(tmp_path / "summary.xlsx")
    assert book.sheetnames == ["contents", "comparison", "key_figures", "status", "base 02", "recession 02"]
    sheet = book["comparison"]
    header = {c.value: c.column_letter for c in sheet[1]}
    assert sheet[f"{header['02:with_jhf_var_99.5%']}2"].number_format == "#,##0"
    assert sheet[f"{header['02:with_jhf_loss_ratio']}2"].number_format == "0.0%"
    assert sheet.freeze_panes == "B2" and sheet.column_dimensions[header["02:with_jhf_var_99.5%"]].width >= 20
    assert book["base 02"]["B2"].number_format == "#,##0" and book["base 02"]["B2"].value == 9e7
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<th>base</th><th>recession</th>" in index  # the params' order, not the alphabet's
    assert "02 Rent portfolio" in index and "08 Quarter close" in index
    assert "with JHF VaR 99.5% (yen)" in index and "410,000,000" in index and "60.0%" in index
    assert "—" in index  # recession has no quarter close
    assert index.index(">base<") < index.index(">recession<")


def test_a_notebook_runs_once_for_each_distinct_set_of_the_inputs_it_reads(tmp_path):
    from actuarial.batch_inputs import discover

    files = discover(ROOT / "params")
    assert files[0].name == "base.yaml" and "jhf_2025_other.yaml" in [f.name for f in files]
    assert all(f.parent == ROOT / "params" for f in files)  # last quarter's file in quarters/ is not a scenario
    picked = [ROOT / "params" / f"{n}.yaml" for n in ("base", "jhf_insured", "recession", "high_recovery")]
    tasks = batch.plan(picked, ["01_product_terms", "02_rent_portfolio", "04_mortgage_portfolio"], {}, tmp_path)
    shared = {(t["stem"], t["scenario"]): t.get("shared_with") for t in tasks}
    # the insured share is the rent book's: the mortgage notebook and the product terms are base's
    assert shared[("04_mortgage_portfolio", "jhf_insured")] == "base"
    assert shared[("01_product_terms", "jhf_insured")] == "base"
    assert shared[("02_rent_portfolio", "jhf_insured")] is None
    # a recovery assumption is the rent model's: the mortgage book is base's; the recession's is its own
    assert shared[("04_mortgage_portfolio", "high_recovery")] == "base"
    assert shared[("04_mortgage_portfolio", "recession")] is None
    assert shared[("02_rent_portfolio", "high_recovery")] is None


def test_a_shared_result_gives_each_scenario_its_own_figures(tmp_path):
    from actuarial.batch_inputs import copy_shared

    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "04_mortgage_portfolio.json").write_text(json.dumps(
        {"notebook": "04_mortgage_portfolio", "scenario": "base", "figures": {"expected_loss": 5.0}}))
    (tmp_path / "base" / "04_mortgage_portfolio_metrics.csv").write_text("x,base\nexpected_loss,5.0\n")
    source = {"output_dir": str(tmp_path / "base"), "status": "ok", "error": None, "error_cell": None}
    task = {"stem": "04_mortgage_portfolio", "scenario": "other", "output_dir": str(tmp_path / "other"),
            "shared_with": "base"}
    result = copy_shared(task, source)
    assert result["status"] == "ok" and result["shared_with"] == "base"
    data = json.loads((tmp_path / "other" / "04_mortgage_portfolio.json").read_text())
    assert data == {"notebook": "04_mortgage_portfolio", "scenario": "other", "figures": {"expected_loss": 5.0}}
    assert (tmp_path / "other" / "04_mortgage_portfolio_metrics.csv").exists()


def test_the_progress_names_each_notebook_and_a_failure_at_once(capsys):
    from tqdm import tqdm

    with tqdm(total=2, file=__import__("io").StringIO()) as bar:
        batch._finished_one(bar, {"stem": "02_rent_portfolio", "scenario": "base", "status": "ok", "error": None,
                                  "error_cell": None})
        batch._finished_one(bar, {"stem": "08_quarter_close", "scenario": "recession", "status": "failed",
                                  "error": "ValueError: bad book", "error_cell": 3})
        assert bar.n == 2
    err = capsys.readouterr().err
    assert "FAILED 08_quarter_close for recession: cell 3: ValueError: bad book" in err
    assert "02_rent_portfolio" not in err  # a notebook that succeeded is only on the bar
