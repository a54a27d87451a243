"""The quarterly batch: every notebook x scenario through papermill, one run folder per run.

``actuarial batch [PARAMS.yaml ...] [--notebooks ...] [--jobs N] [--scheduler ADDRESS]``

- Every params file is validated first; an unknown key (a typo) stops the run before any
  notebook starts, and so does a notebook parameter the notebook does not have.
- Per-scenario notebooks run for each scenario that has what they need (02 and 03 a
  ``rent_model``, 04 a ``mortgage_model``); 05 runs once over the scenarios with a rent
  model; 06 runs last and summarises the run.
- Notebooks run in parallel processes (``--jobs``), or as tasks on a Dask cluster
  (``--scheduler``: the workers must see the same files). A failing notebook does not stop
  the others; the index marks it failed with the cell and the error, and the command exits 1.
- A run writes into ``reports/.<run-id>.partial/`` and is renamed to ``reports/<run-id>/``
  when complete, so a half-written run is never mistaken for a finished one and no earlier
  run is ever overwritten. Inside: each notebook executed and as HTML without code, the key
  figures as CSV/JSON, ``summary.xlsx``, ``run.json``, ``index.html`` and the manifest of
  what produced the run (:mod:`actuarial.runs`: code, packages, params and books by sha256).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from .batch_inputs import copy_shared, discover, share
from .params import ParamsError, load_params
from .runs import write_manifest
from .workbook import comparison_html, write_workbook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
PARAMS_DIR = ROOT / "params"
#: Kernel options for batch runs: the kernel app logs nothing below CRITICAL (see :func:`run_notebook`).
KERNEL_QUIET = ["--IPKernelApp.log_level=CRITICAL"]
#: Seconds a notebook's kernel may take to start. papermill's default, 60 s, can be short on
#: a busy machine (a batch on every core, beside a test run). One fresh-clone `make test` saw
#: a notebook that computes nothing fail, cause not recorded; a slow kernel start is the
#: likeliest, and seven reruns passed. The tests now print a failed notebook's error.
KERNEL_START_TIMEOUT_S = 600

#: notebook stem -> (how often it runs, the scenario sections it needs)
NOTEBOOKS = {
    "01_product_terms": ("scenario", ()),
    "02_rent_portfolio": ("scenario", ("rent_model",)),
    "03_pricing": ("scenario", ("rent_model",)),
    "04_mortgage_portfolio": ("scenario", ("mortgage_model",)),
    "05_stress_and_capital": ("run", ("rent_model",)),
    "07_calibration": ("scenario", ("collection",)),
    "08_quarter_close": ("scenario", ("rent_model", "valuation")),
    "09_movement": ("scenario", ("rent_model", "valuation", "movement")),
    "10_experience": ("scenario", ("rent_model", "experience")),
    "06_batch_summary": ("summary", ()),
}
#: folders of a run that are not a scenario's
RUN_FOLDERS = {"(all)": "all_scenarios", "(run)": "summary"}


class BatchError(ValueError):
    """The batch cannot start: bad params, an unknown notebook, or a bad notebook parameter."""


class RunAbandoned(RuntimeError):
    """A run stopped before it finished (interrupted, or its scheduler lost); its folder is
    renamed ``.<run-id>.abandoned``."""


def _reports_folder(reports_dir) -> Path:
    """The reports folder, made if missing and checked writable; :class:`BatchError` names
    the problem (a file in its place, no permission) before anything runs."""
    reports = Path(reports_dir).resolve()
    if reports.exists() and not reports.is_dir():
        raise BatchError(f"--reports {reports} is a file, not a folder; name a folder for the runs")
    try:
        reports.mkdir(parents=True, exist_ok=True)
        probe = reports / f".write-test-{os.getpid()}"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise BatchError(f"cannot write runs into {reports}: {exc.strerror or exc}") from None
    return reports


def _reach(scheduler: str, timeout_s: float = 10.0) -> None:
    """Connect to the Dask scheduler once, before anything runs; :class:`BatchError` if it
    does not answer within ``timeout_s``."""
    from distributed import Client

    try:
        with Client(scheduler, timeout=f"{timeout_s}s"):
            pass
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {scheduler} within {timeout_s:g} s "
                         f"({type(exc).__name__}); is it running, and is the address right?") from None


@contextlib.contextmanager
def _environment(name: str, value: str):
    """``os.environ[name] = value`` for the duration, then as it was."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


#: Added to each report's HTML: JupyterLab's style wraps long output lines anywhere, even
#: inside a number, so a wide table became unreadable; in a report they scroll instead.
REPORT_CSS = """<style>
.jp-OutputArea-output pre { white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere; }
</style>
"""


def run_notebook(notebook: str | Path, output_dir: str | Path, parameters: dict | None = None) -> Path:
    """Execute ``notebook`` under papermill into ``output_dir`` and export HTML without code.

    Returns the executed notebook's path. Raises papermill's ``PapermillExecutionError``
    when a cell fails (the partly executed notebook and its HTML are still written).
    """
    import papermill as pm

    from .simulation.distributed import PROGRESS_ENV, THREADS_ENV

    notebook, output_dir = Path(notebook), Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    out_nb = output_dir / notebook.name
    try:
        # The kernel app's own log is silenced: ipykernel 7 warns about unencrypted local TCP
        # for every kernel, and jupyter_client interrupts every kernel it shuts down, which
        # ipykernel logs as an error when the signal lands in a message handler. A notebook's
        # own errors and warnings still reach its outputs, and a failing cell fails the task.
        # The kernel inherits the environment: no simulation progress bar in a report, and one
        # thread a simulation (notebooks run side by side, one a core) unless the user set it.
        with _environment(PROGRESS_ENV, "0"), _environment(THREADS_ENV, os.environ.get(THREADS_ENV, "1")):
            pm.execute_notebook(str(notebook), str(out_nb), parameters=parameters or {}, kernel_name="python3",
                                cwd=str(notebook.parent), progress_bar=False, extra_arguments=KERNEL_QUIET,
                                start_timeout=KERNEL_START_TIMEOUT_S)
    finally:
        if out_nb.exists():
            _export_html(out_nb)
    return out_nb


def _export_html(executed: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(str(executed), as_version=4))
    title = f"{executed.parent.name} — {executed.stem.replace('_', ' ')}"  # the scenario, then the notebook
    body = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", body, count=1, flags=re.S)
    body = re.sub(r"(<body[^>]*>)", r"\1<p style='margin: 8px 16px'><a href='../index.html'>&larr; the run's index</a>"
                  f" · {html.escape(title)}</p>", body, count=1)
    executed.with_suffix(".html").write_text(body.replace("</head>", REPORT_CSS + "</head>", 1), encoding="utf-8")


def execute_task(task: dict) -> dict:
    """Run one notebook task; never raises: returns the task with ``status`` and any error."""
    from papermill.exceptions import PapermillExecutionError

    result = dict(task, status="ok", error=None, error_cell=None)
    try:
        run_notebook(task["notebook"], task["output_dir"], task["parameters"])
    except PapermillExecutionError as exc:
        result.update(status="failed", error=f"{exc.ename}: {exc.evalue}", error_cell=exc.exec_count)
    except Exception as exc:  # noqa: BLE001 - a kernel that dies must not stop the batch
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    return result


def _notebook_parameters(stem: str) -> set[str]:
    import papermill as pm

    return set(pm.inspect_notebook(str(NOTEBOOK_DIR / f"{stem}.ipynb")))


def check_scenario_books(scenario, params_file, strict: bool) -> None:
    """The CSV books a scenario names, read and checked as ``actuarial check`` does
    (:func:`~actuarial.portfolio.check_books`); a column no engine reads is printed as a
    warning, or refused when ``strict``. Raises :class:`BatchError` naming the file."""
    import sys
    import warnings

    from .portfolio import check_books

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            check_books(scenario, params_file, strict=strict)
        except (ValueError, OSError) as exc:
            raise BatchError(str(exc)) from None
    for w in caught:
        print(f"actuarial batch: warning: {w.message}", file=sys.stderr)


def _scenarios(params_files, strict: bool) -> dict:
    """Each params file, loaded and its books checked, by resolved path; raises
    :class:`BatchError` for a file given twice or a scenario name used twice."""
    scenarios = {}
    for f in params_files:
        try:
            s = load_params(f)
        except ParamsError as exc:
            raise BatchError(str(exc)) from None
        if Path(f).resolve() in scenarios:
            raise BatchError(f"{f}: given twice; name each params file once")
        check_scenario_books(s, f, strict)
        other = next((g for g, v in scenarios.items() if v.scenario.name == s.scenario.name), None)
        if other is not None:
            raise BatchError(f"{f}: scenario name {s.scenario.name!r} is used by another params file ({other})")
        if s.scenario.name in RUN_FOLDERS.values():
            raise BatchError(f"{f}: scenario name {s.scenario.name!r} is the name of a run's own folder "
                             f"({', '.join(RUN_FOLDERS.values())}); choose another")
        scenarios[Path(f).resolve()] = s
    return scenarios


def plan(params_files, notebooks, overrides: dict, run_dir: Path, *, strict: bool = False) -> list[dict]:
    """Validate everything (params, and every CSV book they name) and list the tasks; raises
    :class:`BatchError` before anything runs."""
    scenarios = _scenarios(params_files, strict)
    unknown = [n for n in notebooks if n not in NOTEBOOKS]
    if unknown:
        raise BatchError(f"unknown notebook {unknown[0]!r}; known: {', '.join(NOTEBOOKS)}")
    accepted_by = {stem: _notebook_parameters(stem) for stem in notebooks}
    for name, value in overrides.items():
        if not any(name in accepted for accepted in accepted_by.values()):
            raise BatchError(f"no notebook of {', '.join(notebooks)} has a parameter {name!r} (given {value!r})")
    tasks = []
    for stem in notebooks:
        how, needs = NOTEBOOKS[stem]
        extra = {k: v for k, v in overrides.items() if k in accepted_by[stem]}
        if how == "scenario":
            for path, s in scenarios.items():
                if all(getattr(s, n) is not None for n in needs):
                    out = run_dir / s.scenario.name
                    tasks.append({"notebook": str(NOTEBOOK_DIR / f"{stem}.ipynb"), "stem": stem,
                                  "scenario": s.scenario.name, "output_dir": str(out),
                                  "parameters": {"params_file": str(path), "output_dir": str(out), **extra}})
        elif how == "run":
            files = [str(p) for p, s in scenarios.items() if all(getattr(s, n) is not None for n in needs)]
            if files:
                out = run_dir / RUN_FOLDERS["(all)"]
                tasks.append({"notebook": str(NOTEBOOK_DIR / f"{stem}.ipynb"), "stem": stem, "scenario": "(all)",
                              "output_dir": str(out),
                              "parameters": {"params_files": files, "output_dir": str(out), **extra}})
        else:
            out = run_dir / RUN_FOLDERS["(run)"]
            tasks.append({"notebook": str(NOTEBOOK_DIR / f"{stem}.ipynb"), "stem": stem, "scenario": "(run)",
                          "output_dir": str(out), "parameters": {"run_dir": str(run_dir)}})
    if not tasks:
        raise BatchError("nothing to run: no notebook applies to these params files")
    return share(tasks, scenarios)


def _new_run_id(reports: Path) -> str:
    base = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id, k = base, 1
    while (reports / run_id).exists() or (reports / f".{run_id}.partial").exists():
        k += 1
        run_id = f"{base}-{k}"
    return run_id


def run_batch(params_files=None, notebooks=None, *, jobs: int = 1, scheduler: str | None = None,
              reports_dir: str | Path = "reports", overrides: dict | None = None,
              progress: bool = True, strict: bool = False) -> tuple[Path, bool]:
    """Run the batch; returns the finished run folder and whether every notebook succeeded.
    ``strict``: a book column no engine reads stops the run (else it is a warning)."""
    from tqdm import tqdm

    params_files = [Path(p) for p in (params_files or discover(PARAMS_DIR))]
    notebooks = list(notebooks or NOTEBOOKS)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise BatchError(f"jobs must be a whole number >= 1, got {jobs!r}")
    reports = _reports_folder(reports_dir)
    run_id = _new_run_id(reports)
    partial = reports / f".{run_id}.partial"
    tasks = plan(params_files, notebooks, overrides or {}, partial, strict=strict)  # raises before anything is written
    if scheduler:
        _reach(scheduler)
    if progress:
        for old in sorted(reports.glob(".*.abandoned")):
            print(f"note: {old} is a run that stopped before it finished", file=sys.stderr)
    partial.mkdir()
    started = dt.datetime.now().isoformat(timespec="seconds")
    clock = time.perf_counter()
    first = [t for t in tasks if NOTEBOOKS[t["stem"]][0] != "summary"]
    last = [t for t in tasks if NOTEBOOKS[t["stem"]][0] == "summary"]
    results = []
    try:
        with tqdm(total=len(tasks), unit="notebook", desc=f"batch {run_id}", disable=not progress) as bar:
            for group in (first, last):
                results += _run_group([t for t in group if "shared_with" not in t], jobs, scheduler, bar)
                done = {(r["stem"], r["scenario"]): r for r in results}
                for t in group:
                    if "shared_with" in t:
                        results.append(copy_shared(t, done[(t["stem"], t["shared_with"])]))
                        bar.update()
        rank = {(t["stem"], t["scenario"]): i for i, t in enumerate(tasks)}
        results.sort(key=lambda r: rank[(r["stem"], r["scenario"])])
        _write_outputs(partial, run_id, started, params_files, results)
        write_manifest(partial, run_id, params_files=params_files, notebooks=notebooks, overrides=overrides or {},
                       started=started, seconds=time.perf_counter() - clock, results=results)
    except BaseException as exc:  # the folder says the run was abandoned, whatever stopped it
        abandoned = reports / f".{run_id}.abandoned"
        partial.rename(abandoned)
        if not isinstance(exc, (KeyboardInterrupt, OSError, TimeoutError)):
            raise  # a defect: its own traceback, the folder already named abandoned
        why = type(exc).__name__ + (f": {exc}" if str(exc) else "")
        raise RunAbandoned(f"the run stopped before it finished ({why}); what it wrote is in {abandoned}") from exc
    final = reports / run_id
    partial.rename(final)
    (reports / "latest.txt").write_text(run_id + "\n", encoding="utf-8")
    return final, all(r["status"] == "ok" for r in results)


def _finished_one(bar, result: dict) -> dict:
    """Show a finished notebook on the progress bar (its notebook and scenario) and, when it
    failed, print at once what failed and where."""
    bar.set_postfix_str(f"{result['stem']} / {result['scenario']}: {result['status']}", refresh=False)
    bar.update()
    if result["status"] != "ok":
        cell = f"cell {result['error_cell']}: " if result.get("error_cell") is not None else ""
        bar.write(f"FAILED {result['stem']} for {result['scenario']}: {cell}{result['error']}", file=sys.stderr)
    return result


#: About how long each notebook takes, in seconds on two cores: the batch starts the longest
#: first, so that one long notebook does not run alone at the end (a scheduling hint only).
TYPICAL_SECONDS = {"09_movement": 50, "08_quarter_close": 12, "05_stress_and_capital": 10, "02_rent_portfolio": 9,
                   "03_pricing": 8, "07_calibration": 8, "04_mortgage_portfolio": 5}


def _run_group(tasks, jobs, scheduler, bar) -> list[dict]:
    if not tasks:
        return []
    out = []
    tasks_by_length = sorted(tasks, key=lambda t: -TYPICAL_SECONDS.get(t["stem"], 3))  # stable: params order kept
    if scheduler:
        from distributed import Client, as_completed

        with Client(scheduler) as client:
            for fut in as_completed([client.submit(execute_task, t, pure=False) for t in tasks_by_length]):
                out.append(_finished_one(bar, fut.result()))
    elif jobs == 1 or len(tasks) == 1:
        for t in tasks:
            bar.set_postfix_str(f"running {t['stem']} / {t['scenario']}")
            out.append(_finished_one(bar, execute_task(t)))
    else:
        from concurrent.futures import as_completed as finished

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for fut in finished([pool.submit(execute_task, t) for t in tasks_by_length]):
                out.append(_finished_one(bar, fut.result()))
    order = {(t["stem"], t["scenario"]): i for i, t in enumerate(tasks)}
    return sorted(out, key=lambda r: order[(r["stem"], r["scenario"])])


def _write_outputs(run_dir: Path, run_id: str, started: str, params_files, results) -> None:
    from .reporting import collect_key_figures, comparison_table

    summary = run_dir / RUN_FOLDERS["(run)"]
    summary.mkdir(exist_ok=True)
    figures = collect_key_figures(run_dir)
    comparison = comparison_table(figures)
    figures.to_csv(summary / "key_figures.csv", index=False)
    comparison.to_csv(summary / "comparison.csv")
    status = pd.DataFrame([{k: r[k] for k in ("scenario", "stem", "status", "error_cell", "error")} for r in results])
    metrics = [(sheet, f"metrics of {csv.stem.removesuffix('_metrics')} for {csv.parent.name} "
                       f"({csv.relative_to(run_dir).as_posix()})", pd.read_csv(csv, index_col=0))
               for sheet, csv in metrics_sheets(run_dir)]
    write_workbook(run_dir / "summary.xlsx", comparison, figures, status, metrics)
    run = {"run_id": run_id, "started": started, "finished": dt.datetime.now().isoformat(timespec="seconds"),
           "params_files": [str(p) for p in params_files], "ok": all(r["status"] == "ok" for r in results),
           "notebooks": [{**{k: r[k] for k in ("scenario", "stem", "status", "error_cell", "error")},
                          **({"shared_with": r["shared_with"]} if r.get("shared_with") else {})} for r in results]}
    (run_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    order = []
    for f in params_files:
        try:
            order.append(load_params(f).scenario.name)
        except (ParamsError, OSError):
            pass
    (run_dir / "index.html").write_text(_index_html(run_dir, run, comparison, order), encoding="utf-8")


def metrics_sheets(run_dir: Path) -> list[tuple[str, Path]]:
    """Each ``*_metrics.csv`` of a run with the ``summary.xlsx`` sheet it goes to: its
    folder (the scenario) and its notebook's number, ``base 02``; cut to 31 characters with
    ``~2``, ``~3``, ... where a name is taken. Excel allows 31 characters and compares sheet
    names without case, and pandas writes a second table under a name already used into the
    same sheet, over the first."""
    taken, out = {"contents", "comparison", "key_figures", "status"}, []
    for csv in sorted(run_dir.rglob("*_metrics.csv")):
        base = f"{csv.parent.name} {csv.stem[:2]}"
        if len(base) > 31:
            base = f"{csv.parent.name[:28]} {csv.stem[:2]}"
        sheet, k = base, 1
        while sheet.casefold() in taken:
            k += 1
            sheet = f"{base[:31 - len(str(k)) - 1]}~{k}"
        taken.add(sheet.casefold())
        out.append((sheet, csv))
    return out


def _index_html(run_dir: Path, run: dict, comparison: pd.DataFrame, order=()) -> str:
    from .workbook import NOTEBOOK_TITLES

    rows = []
    rank = {name: i for i, name in enumerate(order)}
    for r in sorted(run["notebooks"], key=lambda r: (rank.get(r["scenario"], len(rank)), r["stem"])):
        shared = r.get("shared_with")
        folder = RUN_FOLDERS.get(r["scenario"], r["scenario"]) if not shared else shared
        link = f"{folder}/{r['stem']}"
        ok = r["status"] == "ok"
        cell = "" if ok else f"cell {r['error_cell']}: " if r["error_cell"] is not None else ""
        rows.append(
            f"<tr class='{r['status']}'><td>{html.escape(r['scenario'])}</td>"
            f"<td>{html.escape(r['stem'][:2] + ' ' + NOTEBOOK_TITLES.get(r['stem'][:2], r['stem']))}</td>"
            f"<td>{r['status'].upper()}{f' (same inputs as {html.escape(shared)}: its result)' if shared else ''}</td>"
            f"<td><a href='{link}.html'>report</a> · "
            f"<a href='{link}.ipynb'>notebook</a></td>"
            f"<td>{html.escape(cell + (r['error'] or ''))}</td></tr>")
    table = comparison_html(comparison, order)
    failed = sum(r["status"] != "ok" for r in run["notebooks"])
    state = "all notebooks succeeded" if not failed else f"{failed} notebook(s) FAILED"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Batch run {run['run_id']}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:90%}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} tr.failed{{background:#fdd}} \
tr.group th{{text-align:left;background:#eef}} th.label{{text-align:left;font-weight:normal;min-width:22em}} \
tr.ok td:nth-child(3){{color:#070}}</style>
</head><body><h1>Batch run {run['run_id']}</h1>
<p>Started {run['started']}, finished {run['finished']}: {state}. <a href="summary.xlsx">summary.xlsx</a> ·
<a href="summary/key_figures.csv">key_figures.csv</a> · <a href="run.json">run.json</a></p>
<h2>Notebooks</h2><table><tr><th>scenario</th><th>notebook</th><th>status</th><th>outputs</th><th>error</th></tr>
{''.join(rows)}</table><h2>Comparison of scenarios</h2>\
<p>Key figures by notebook (rows; hover a label for its key in key_figures.csv) and scenario (columns, in \
the order the run was given them).</p>{table}</body></html>
"""


def main(argv: list[str]) -> int:
    """``actuarial batch`` command line; returns the exit code."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="actuarial batch", description="Run notebooks x scenarios into reports/<run-id>/.")
    p.add_argument("params", nargs="*", help="params files (default: every *.yaml in params/, base.yaml first)")
    p.add_argument("--notebooks", nargs="+", default=None,
                   help=f"notebooks to run (default all: {', '.join(NOTEBOOKS)})")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--scheduler", default=None, help="run on the Dask cluster at this address instead")
    p.add_argument("--scenarios", type=int, default=None, help="number of Monte Carlo scenarios for every notebook")
    p.add_argument("--reports", default=str(ROOT / "reports"), help="where run folders go (default: reports/)")
    p.add_argument("--strict", action="store_true", help="refuse a book with a column no engine reads (by default "
                                                         "a warning)")
    args = p.parse_args(argv)
    overrides = {} if args.scenarios is None else {"n_scenarios": args.scenarios}
    if args.scenarios is not None and args.scenarios < 2:
        print(f"actuarial batch: --scenarios must be at least 2 (a standard error and a tail need two; a 99.5% "
              f"VaR is shown from 2,000), got {args.scenarios}", file=sys.stderr)
        return 2
    try:
        run_dir, ok = run_batch(args.params or None, args.notebooks, jobs=args.jobs, scheduler=args.scheduler,
                                reports_dir=args.reports, overrides=overrides, strict=args.strict)
    except BatchError as exc:
        print(f"actuarial batch: {exc}", file=sys.stderr)
        return 2
    except RunAbandoned as exc:
        print(f"actuarial batch: {exc}", file=sys.stderr)
        return 130 if isinstance(exc.__cause__, KeyboardInterrupt) else 2
    except KeyboardInterrupt:
        print("actuarial batch: interrupted before the run started; nothing was written", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"actuarial batch: {exc.filename or args.reports}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{'finished' if ok else 'finished with failures'}: {run_dir / 'index.html'}")
    return 0 if ok else 1


def finished_runs(reports_dir: str | Path) -> list[Path]:
    """Finished run folders, oldest first: a folder counts only once renamed from its
    ``.partial`` name and holding ``run.json``."""
    reports = Path(reports_dir)
    return sorted(p for p in reports.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "run.json").exists())
