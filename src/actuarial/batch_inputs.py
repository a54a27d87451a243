"""What each notebook of a batch reads from a scenario file (:data:`READS`), so that the batch
runs a notebook once per distinct set of its inputs (:func:`share`) and gives the other
scenarios that result (:func:`copy_shared`), and the scenario files a batch finds
(:func:`discover`)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

#: The params sections each per-scenario notebook reads (``portfolio.rent`` and
#: ``portfolio.mortgage``: that book's keys of the portfolio section; the whole ``portfolio``
#: where its seed makes synthetic books in force; ``params_text``: the files' own text, which
#: the calibration notebook's provenance table shows).
_RENT = ("jhf", "rent_plans", "collection", "rent_model")
READS = {
    "01_product_terms": ("jhf", "mortgage_fee"),
    "02_rent_portfolio": (*_RENT, "portfolio.rent"),
    "03_pricing": (*_RENT, "portfolio.rent"),
    "04_mortgage_portfolio": ("mortgage_model", "mortgage_fee", "portfolio.mortgage"),
    "07_calibration": (*_RENT, "mortgage_model", "params_text"),
    "08_quarter_close": (*_RENT, "mortgage_model", "mortgage_fee", "valuation", "portfolio"),
    "09_movement": (*_RENT, "mortgage_model", "mortgage_fee", "valuation", "portfolio", "movement"),
    "10_experience": (*_RENT, "experience"),
}
_PORTFOLIO = {"portfolio.rent": ("seed", "rent_contracts", "rent_insured_share", "rent_book_csv"),
              "portfolio.mortgage": ("seed", "mortgage_loans", "mortgage_lump_sum_share", "mortgage_book_csv")}


def input_key(stem: str, scenario, path: Path, parameters: dict) -> str | None:
    """A digest of everything notebook ``stem`` reads for this scenario (its sections'
    resolved values, the folder its relative book paths start from, the notebook
    parameters); None for a notebook that is not listed (it always runs)."""
    if stem not in READS:
        return None
    from .runs import params_chain

    values = scenario.model_dump(mode="json")
    picked = {}
    for section in READS[stem]:
        if section in _PORTFOLIO:
            picked[section] = {k: values["portfolio"][k] for k in _PORTFOLIO[section]}
        elif section == "params_text":
            picked[section] = [p.read_text(encoding="utf-8") for p in params_chain(path)]
        else:
            picked[section] = values.get(section)
    picked["folder"] = str(Path(path).resolve().parent)
    picked["parameters"] = {k: v for k, v in parameters.items() if k not in ("params_file", "output_dir")}
    return hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode()).hexdigest()


def share(tasks: list[dict], scenarios: dict) -> list[dict]:
    """The tasks with each repeated one marked ``shared_with`` the first scenario (in the
    params' order) whose notebook reads the same inputs; a marked task is not run."""
    by_name = {s.scenario.name: (path, s) for path, s in scenarios.items()}
    first = {}
    out = []
    for t in tasks:
        if t["scenario"] in by_name:
            path, s = by_name[t["scenario"]]
            key = input_key(t["stem"], s, path, t["parameters"])
            if key is not None:
                if (t["stem"], key) in first:
                    t = dict(t, shared_with=first[(t["stem"], key)])
                else:
                    first[(t["stem"], key)] = t["scenario"]
        out.append(t)
    return out


def copy_shared(task: dict, source: dict) -> dict:
    """The result of a shared task: the source's status, and its key figures and tables
    copied into the task's folder, each figures file naming the task's scenario."""
    out_dir, src_dir = Path(task["output_dir"]), Path(source["output_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = task["stem"]
    for f in sorted(src_dir.glob(f"{stem}*")):
        if f.suffix == ".json":
            data = json.loads(f.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "figures" in data:
                data["scenario"] = task["scenario"]
            (out_dir / f.name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        elif f.suffix == ".csv":
            shutil.copyfile(f, out_dir / f.name)
    return dict(task, status=source["status"], error=source["error"], error_cell=source["error_cell"])


def discover(params_dir: Path) -> list[Path]:
    """The scenario files of a params folder: ``base.yaml`` first, then every other
    ``*.yaml`` in name order (sub-folders, such as last quarter's files, are not scenarios)."""
    files = sorted(Path(params_dir).glob("*.yaml"))
    return sorted(files, key=lambda p: (p.name != "base.yaml", p.name))
