"""The run registry: a batch run's manifest, the list of runs, a rerun that reproduces the
key figures to the last digit, and a rerun refused when an input has changed."""

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from actuarial import cli, runs
from actuarial.batch import run_batch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A scenario file of its own (extending base.yaml) run once through notebook 01."""
    folder = tmp_path_factory.mktemp("registry")
    params = folder / "q4.yaml"
    params.write_text(f"extends: {ROOT / 'params' / 'base.yaml'}\nscenario: {{name: q4}}\n", encoding="utf-8")
    run_dir, ok = run_batch([params], ["01_product_terms"], reports_dir=folder / "reports", progress=False)
    assert ok
    return folder, params, run_dir


def test_a_run_writes_a_read_only_manifest_of_what_produced_it(registry):
    folder, params, run_dir = registry
    path = run_dir / runs.MANIFEST
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    m = json.loads(path.read_text(encoding="utf-8"))
    assert m["run_id"] == run_dir.name and m["ok"] and m["kind"] == "batch"
    assert len(m["code"]["git_commit"]) == 40 and isinstance(m["code"]["dirty"], bool)
    assert set(runs.COMPUTING_PACKAGES) == set(m["environment"]["packages"])
    assert m["environment"]["packages"]["numpy"] == __import__("numpy").__version__
    chain = [f["path"] for f in m["params"][0]["files"]]
    assert chain == [str(params.resolve()), str(ROOT / "params" / "base.yaml")]
    assert m["params"][0]["files"][0]["sha256"] == runs.sha256(params)
    assert m["params"][0]["valuation_date"] == "2026-12-31"
    assert m["params"][0]["values"]["rent_model"]["months"] == 60  # resolved through the extends chain
    assert {f["path"] for f in m["notebook_inputs"]} >= {str(ROOT / "params" / "calibration" / "collection_prior.yaml")}
    books = {b["key"]: b for b in m["books"]}
    assert books["valuation.receivables_csv"]["rows"] == 35
    assert m["notebooks"] == [{"stem": "01_product_terms",
                               "sha256": runs.sha256(ROOT / "notebooks" / "01_product_terms.ipynb")}]
    with pytest.raises(runs.RunError, match="written once"):
        runs.write_manifest(run_dir, run_dir.name, params_files=[params], notebooks=[], overrides={}, started="",
                            seconds=0.0, results=[])


def test_runs_lists_each_run_and_names_an_abandoned_one(registry, capsys):
    folder, _, run_dir = registry
    (folder / "reports" / ".20990101-000000.partial").mkdir(exist_ok=True)
    table = runs.list_runs(folder / "reports")
    row = table.set_index("run").loc[run_dir.name]
    assert row["status"] == "ok" and row["valuation_date"] == "2026-12-31"
    assert table["status"].str.startswith("running or abandoned").sum() == 1
    assert cli.main(["runs", "--reports", str(folder / "reports")]) == 0
    assert run_dir.name in capsys.readouterr().out
    assert cli.main(["show", run_dir.name, "--reports", str(folder / "reports")]) == 0
    shown = capsys.readouterr().out
    assert "01_product_terms" in shown and runs.sha256(ROOT / "params" / "base.yaml") in shown


def test_a_rerun_gives_every_key_figure_again_to_the_digit(registry, capsys):
    folder, _, run_dir = registry
    assert cli.main(["rerun", run_dir.name, "--reports", str(folder / "reports")]) == 0
    out = capsys.readouterr().out
    assert "every key figure identical" in out
    new = out.split()[1].rstrip(":")
    assert new != run_dir.name and (folder / "reports" / new / runs.MANIFEST).exists()


def test_compare_figures_names_each_figure_that_differs(tmp_path):
    for name, values in (("a", [1.0, 2.0, None]), ("b", [1.0, 2.5, None])):
        (tmp_path / name / "summary").mkdir(parents=True)
        pd.DataFrame({"scenario": ["s"] * 3, "notebook": ["02"] * 3, "figure": ["x", "y", "z"],
                      "value": values}).to_csv(tmp_path / name / "summary" / "key_figures.csv", index=False)
    differ = runs.compare_figures(tmp_path / "a", tmp_path / "b")
    assert differ["figure"].tolist() == ["y"] and differ["value_rerun"].tolist() == [2.5]


def test_a_rerun_is_refused_when_an_input_has_changed(registry, capsys):
    folder, params, run_dir = registry
    text = params.read_text(encoding="utf-8")
    params.write_text(text + "# edited\n", encoding="utf-8")
    try:
        assert cli.main(["rerun", run_dir.name, "--reports", str(folder / "reports")]) == 2
        err = capsys.readouterr().err
        assert f"{params.resolve()}: changed since the run" in err and "cannot rerun" in err
    finally:
        params.write_text(text, encoding="utf-8")
    assert cli.main(["show", "no-such-run", "--reports", str(folder / "reports")]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_a_missing_book_is_named(registry, tmp_path):
    folder, params, run_dir = registry
    m = json.loads((run_dir / runs.MANIFEST).read_text(encoding="utf-8"))
    m["books"][0]["path"] = str(tmp_path / "gone.csv")
    assert runs.changed_files(m) == [f"{tmp_path / 'gone.csv'}: missing"]


def test_a_rerun_with_a_bad_job_count_is_named(registry, capsys):
    folder, _, run_dir = registry
    assert cli.main(["rerun", run_dir.name, "--reports", str(folder / "reports"), "--jobs", "0"]) == 2
    assert "jobs must be a whole number >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("text, needle", [("{}", "'run_id' is missing"), ("[]", "it holds a list, not a mapping"),
                                          ('{"run_id": 3}', "'run_id' is a int")])
def test_a_manifest_without_its_keys_is_named_not_a_traceback(tmp_path, capsys, text, needle):
    run = tmp_path / "reports" / "20261231-090000"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}", encoding="utf-8")
    (run / "manifest.json").write_text(text, encoding="utf-8")
    for argv in (["show", run.name], ["rerun", run.name]):
        assert cli.main([*argv, "--reports", str(tmp_path / "reports")]) == 2
        err = capsys.readouterr().err
        assert f"not a manifest of a run: {needle}" in err and "Traceback" not in err
    assert cli.main(["runs", "--reports", str(tmp_path / "reports")]) == 0
    assert "unreadable manifest" in capsys.readouterr().out
