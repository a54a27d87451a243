"""The run registry: every batch run writes a manifest of what produced it, and can be listed,
shown and rerun from it.

A run's ``manifest.json`` (written once, into the run folder before it is renamed from its
``.partial`` name, then made read-only) records:

- the code: the git commit and whether the working tree had changes, and the sha256 of every
  notebook the run executed;
- the environment: the Python version and the versions of the packages that compute
  (:data:`COMPUTING_PACKAGES`);
- each params file, with every file of its ``extends`` chain by sha256, and its resolved
  values;
- each book file the params name (rent and mortgage books, the books in force, the closed
  receivables, the status history), by sha256 and row count, and the calibration inputs the
  notebooks read (``params/calibration/``) by sha256;
- what was run: the notebooks, the notebook parameters given (``--scenarios``), the
  valuation dates and seeds the params give, the command line, and the timings.

``actuarial runs`` lists the runs; ``actuarial show RUN`` prints a manifest; ``actuarial
rerun RUN`` checks that every file still has its recorded sha256 (else it says which has
changed or is missing, and does not run), runs the same batch into a new run and compares
the two runs' key figures: identical in the same environment; where a figure differs it
says which, and what differs between the two manifests (code, packages).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd

#: The packages whose version can change a figure.
COMPUTING_PACKAGES = ("numpy", "numba", "scipy", "pandas", "llvmlite", "pydantic", "papermill", "nbformat")
#: A run's manifest file.
MANIFEST = "manifest.json"
ROOT = Path(__file__).resolve().parents[2]


class RunError(ValueError):
    """A run cannot be found, shown or rerun; the message says why."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def code_version() -> dict:
    """The git commit of the package's checkout and whether its tracked files have changes
    (None for both outside a git checkout)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "dirty": None if status is None else bool(status)}


def environment() -> dict:
    """The Python version, every :data:`COMPUTING_PACKAGES` version installed, every
    package installed (``installed``) and the sha256 of the lock file ``make`` installs
    from (``requirements.lock``; None outside a checkout)."""
    versions = {}
    for name in COMPUTING_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    installed = {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions()
                 if d.metadata["Name"]}
    lock = ROOT / "requirements.lock"
    return {"python": platform.python_version(), "packages": versions, "installed": dict(sorted(installed.items())),
            "lock_sha256": sha256(lock) if lock.exists() else None}


def params_chain(path: Path) -> list[Path]:
    """The params file and the files its ``extends`` chain reads, child first."""
    from .params import read_yaml

    out, path = [], Path(path).resolve()
    while path not in out:
        out.append(path)
        parent = read_yaml(path).get("extends")
        if not isinstance(parent, str):
            break
        path = (path.parent / parent).resolve()
    return out


def _book_files(scenario) -> list[tuple[str, Path]]:
    from .params import BOOK_KEYS

    found = []
    for section, key in BOOK_KEYS:
        block = getattr(scenario, section, None)
        value = getattr(block, key, None) if block is not None else None
        if value:
            found.append((f"{section}.{key}", Path(value)))
    return found


def _rows(path: Path) -> int:
    with open(path, "rb") as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)


def params_record(params_files) -> tuple[list[dict], list[dict]]:
    """Each params file's record (its chain's files by sha256, its resolved values, its
    valuation date and portfolio seed) and each book file's (sha256, rows)."""
    from .params import load_params

    params, books, seen = [], [], set()
    for f in params_files:
        scenario = load_params(f)
        params.append({
            "path": str(Path(f).resolve()), "scenario": scenario.scenario.name,
            "files": [{"path": str(p), "sha256": sha256(p)} for p in params_chain(Path(f))],
            "valuation_date": None if scenario.valuation is None else scenario.valuation.valuation_date.isoformat(),
            "portfolio_seed": scenario.portfolio.seed,
            "values": scenario.model_dump(mode="json"),
        })
        for key, path in _book_files(scenario):
            path = path if path.is_absolute() else (Path(f).resolve().parent / path)
            if path.exists() and str(path) not in seen:
                seen.add(str(path))
                books.append({"key": key, "path": str(path.resolve()), "sha256": sha256(path), "rows": _rows(path)})
    return params, books


def notebook_inputs() -> list[Path]:
    """The files the notebooks read by default beside the params and books: the calibration
    inputs under ``params/calibration/``."""
    folder = ROOT / "params" / "calibration"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def write_manifest(run_dir: Path, run_id: str, *, params_files, notebooks, overrides: dict, started: str,
                   seconds: float, results: list[dict], argv=None) -> Path:
    """Write the run's manifest (module docstring), read-only; a run folder's manifest is
    never written twice."""
    path = Path(run_dir) / MANIFEST
    if path.exists():
        raise RunError(f"{path}: a run's manifest is written once")
    params, books = params_record(params_files)
    from .batch import NOTEBOOK_DIR

    manifest = {
        "run_id": run_id, "kind": "batch", "started": started,
        "finished": dt.datetime.now().isoformat(timespec="seconds"), "seconds": round(seconds, 1),
        "ok": all(r["status"] == "ok" for r in results),
        "command": list(sys.argv if argv is None else argv), "cwd": os.getcwd(),
        "code": code_version(), "environment": environment(),
        "notebooks": [{"stem": stem, "sha256": sha256(NOTEBOOK_DIR / f"{stem}.ipynb")} for stem in notebooks],
        "notebook_parameters": overrides,
        "params": params, "books": books,
        "notebook_inputs": [{"path": str(p), "sha256": sha256(p)} for p in notebook_inputs()],
        "tasks": [{k: r[k] for k in ("scenario", "stem", "status")} for r in results],
    }
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return path


def read_manifest(reports_dir, run_id: str) -> dict:
    path = Path(reports_dir) / run_id / MANIFEST
    if not path.exists():
        known = ", ".join(r.name for r in _finished(Path(reports_dir))[-5:]) or "none"
        raise RunError(f"no run {run_id!r} with a manifest in {reports_dir} (the latest: {known})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not a readable manifest ({exc})") from None
    check_manifest(manifest, path)
    return manifest


#: What every manifest holds, and of which type.
MANIFEST_KEYS = {"run_id": str, "kind": str, "started": str, "finished": str, "seconds": (int, float), "ok": bool,
                 "command": list, "code": dict, "environment": dict, "notebooks": list,
                 "notebook_parameters": dict, "params": list, "books": list}


def check_manifest(manifest, path) -> None:
    """A manifest is a mapping with every key of :data:`MANIFEST_KEYS` of its type, and each
    params entry has its path, scenario, files and values; else :class:`RunError` names the
    first thing missing."""
    if not isinstance(manifest, dict):
        raise RunError(f"{path}: not a manifest of a run: it holds a {type(manifest).__name__}, not a mapping")
    for key, kind in MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            got = "missing" if key not in manifest else f"a {type(manifest[key]).__name__}"
            raise RunError(f"{path}: not a manifest of a run: {key!r} is {got}")
    nested = (("params", ("path", "scenario", "files", "values")), ("books", ("key", "path", "sha256", "rows")),
              ("notebooks", ("stem", "sha256")))
    for key, needed in nested:
        for i, entry in enumerate(manifest[key]):
            if not isinstance(entry, dict) or not all(k in entry for k in needed):
                raise RunError(f"{path}: not a manifest of a run: {key} entry {i} lacks one of {', '.join(needed)}")
            files = entry["files"] if key == "params" else []
            if not all(isinstance(f, dict) and {"path", "sha256"} <= set(f) for f in files):
                raise RunError(f"{path}: not a manifest of a run: params entry {i} has a file without path or sha256")


def _finished(reports: Path) -> list[Path]:
    if not reports.is_dir():
        return []
    return sorted(p for p in reports.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "run.json").exists())


def list_runs(reports_dir) -> pd.DataFrame:
    """Every run folder: id, when it started, the valuation dates, the scenario count given,
    and its status (``ok``, ``failed``, ``no manifest`` for a run from before manifests, or
    ``abandoned`` for a ``.abandoned`` folder (a run interrupted or whose scheduler was lost),
    ``running or abandoned`` for a ``.partial`` folder: a run under way, or one stopped
    before it finished)."""
    reports = Path(reports_dir)
    rows = []
    for p in _finished(reports):
        m = p / MANIFEST
        if m.exists():
            try:
                man = json.loads(m.read_text(encoding="utf-8"))
                check_manifest(man, m)
            except (UnicodeDecodeError, json.JSONDecodeError, RunError):
                rows.append((p.name, "", "-", "-", "unreadable manifest"))
                continue
            dates = sorted({x.get("valuation_date") for x in man["params"] if x.get("valuation_date")})
            rows.append((p.name, man["started"], ", ".join(dates) or "-",
                         man["notebook_parameters"].get("n_scenarios", "notebook default"),
                         "ok" if man["ok"] else "failed"))
        else:
            run = json.loads((p / "run.json").read_text(encoding="utf-8"))
            rows.append((p.name, run.get("started", ""), "-", "-", "no manifest"))
    if reports.is_dir():
        for p in sorted(reports.glob(".*.partial")):
            rows.append((p.name[1:-len(".partial")], "", "-", "-", "running or abandoned (" + p.name + ")"))
        for p in sorted(reports.glob(".*.abandoned")):
            rows.append((p.name[1:-len(".abandoned")], "", "-", "-", "abandoned: stopped before it finished ("
                         + p.name + ")"))
    return pd.DataFrame(rows, columns=["run", "started", "valuation_date", "scenarios", "status"])


def changed_files(manifest: dict) -> list[str]:
    """What stops a rerun: each recorded file that is missing or whose sha256 has changed."""
    problems = []
    files = [f for p in manifest["params"] for f in p["files"]] + manifest["books"]
    from .batch import NOTEBOOK_DIR

    files += [{"path": str(NOTEBOOK_DIR / f"{n['stem']}.ipynb"), "sha256": n["sha256"]} for n in manifest["notebooks"]]
    files += manifest.get("notebook_inputs", [])
    for f in files:
        path = Path(f["path"])
        if not path.exists():
            problems.append(f"{path}: missing")
        elif sha256(path) != f["sha256"]:
            problems.append(f"{path}: changed since the run (sha256 {f['sha256'][:12]}... now {sha256(path)[:12]}...)")
    return problems


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two manifests' code and environment."""
    out = []
    if old["code"] != new["code"]:
        out.append(f"code: {old['code']} -> {new['code']}")
    if old["environment"]["python"] != new["environment"]["python"]:
        out.append(f"python {old['environment']['python']} -> {new['environment']['python']}")
    for name, version in old["environment"]["packages"].items():
        now = new["environment"]["packages"].get(name)
        if now != version:
            out.append(f"{name} {version} -> {now}")
    return out


def compare_figures(old_dir: Path, new_dir: Path) -> pd.DataFrame:
    """Each key figure of two runs that differs (notebook, scenario, figure, both values);
    empty when every figure is identical (a missing figure counts as differing)."""
    key = ["notebook", "scenario", "figure"]
    tables = []
    for run in (old_dir, new_dir):
        path = Path(run) / "summary" / "key_figures.csv"
        if not path.exists():
            raise RunError(f"{path}: missing; the run's key figures cannot be compared")
        tables.append(pd.read_csv(path))
    a, b = tables
    both = a.merge(b, on=key, how="outer", suffixes=("_before", "_rerun"), indicator=True)
    before, after = both["value_before"], both["value_rerun"]
    same = ((before == after) | (before.isna() & after.isna())) & both["_merge"].eq("both")
    return both.loc[~same, key + ["value_before", "value_rerun"]].reset_index(drop=True)


def rerun(reports_dir, run_id: str, *, jobs: int = 1, progress: bool = True) -> tuple[Path, pd.DataFrame, list[str]]:
    """Rerun a run from its manifest into a new run (module docstring); returns the new run's
    folder, the key figures that differ and what differs between the two manifests. Raises
    :class:`RunError` naming every changed or missing file, before anything runs."""
    from .batch import run_batch

    reports = Path(reports_dir)
    old = read_manifest(reports, run_id)
    problems = changed_files(old)
    if problems:
        raise RunError(f"cannot rerun {run_id}: its inputs are not as they were:\n  " + "\n  ".join(problems))
    new_dir, _ = run_batch([p["path"] for p in old["params"]], [n["stem"] for n in old["notebooks"]], jobs=jobs,
                           reports_dir=reports, overrides=old["notebook_parameters"], progress=progress)
    new = read_manifest(reports, new_dir.name)
    return new_dir, compare_figures(reports / run_id, new_dir), differences(old, new)


def describe(manifest: dict) -> str:
    """A manifest as a person reads it (``--json`` for the whole of it)."""
    m = manifest
    code = m["code"]
    lines = [f"run {m['run_id']} ({m['kind']}): {'ok' if m['ok'] else 'FAILED'}; started {m['started']}, "
             f"finished {m['finished']} ({m['seconds']:,.0f} s)",
             f"command: {' '.join(m['command'])}",
             f"code: commit {code['git_commit'] or 'unknown'}"
             + (" with uncommitted changes" if code["dirty"] else "" if code["dirty"] is False else ""),
             f"python {m['environment']['python']}; "
             + ", ".join(f"{k} {v}" for k, v in m["environment"]["packages"].items() if v),
             "notebooks: " + ", ".join(n["stem"] for n in m["notebooks"]),
             "notebook parameters: " + (", ".join(f"{k}={v}" for k, v in m["notebook_parameters"].items())
                                        or "their defaults"),
             "params:"]
    for p in m["params"]:
        lines.append(f"  {p['scenario']}: {p['path']} (valuation date {p.get('valuation_date') or '-'}, "
                     f"portfolio seed {p.get('portfolio_seed', '-')})")
        lines += [f"    {f['path']}  sha256 {f['sha256']}" for f in p["files"]]
    lines.append("books:" if m["books"] else "books: none (synthetic books)")
    lines += [f"  {b['key']}: {b['path']}, {b['rows']:,d} rows, sha256 {b['sha256']}" for b in m["books"]]
    return "\n".join(lines)
