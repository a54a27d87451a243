"""What one side of a movement analysis is: a quarter close's assumptions, books, valuation
date and Monte Carlo settings, from a params file (:func:`quarter_from_params`) or from a
batch run's record (:func:`quarter_from_run`), with the figures the run booked."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd

from ..params import ParamsError, Scenario, load_params

#: The notebook whose key figures a run books for the quarter close, and the table of the
#: inputs it valued on (params file, valuation date, scenarios, seed).
CLOSE_NOTEBOOK = "08_quarter_close"
INPUTS_TABLE = f"{CLOSE_NOTEBOOK}_inputs.csv"
#: A params file's quarter close is valued on the quarter-close notebook's defaults.
DEFAULT_SCENARIOS, DEFAULT_SEED = 500, 20261231


class MovementError(ValueError):
    """A movement cannot be built; the message names what and why."""


@dataclasses.dataclass(frozen=True)
class Quarter:
    """One side of a movement: ``scenario`` (the validated params), ``folder`` the params
    file's folder (book paths are relative to it), ``label`` what it was read from, the
    Monte Carlo ``n_scenarios`` and ``seed``, and for a run the ``recorded`` figures and its
    manifest's ``code`` and ``environment``."""

    scenario: Scenario
    folder: Path
    label: str
    n_scenarios: int
    seed: int
    recorded: dict | None = None
    code: dict | None = None
    environment: dict | None = None

    @property
    def valuation_date(self):
        return self.scenario.valuation.valuation_date


def _check_movable(scenario: Scenario, label: str) -> None:
    v = scenario.valuation
    if v is None or scenario.rent_model is None:
        raise MovementError(f"{label}: a movement needs a quarter close: a rent_model and a valuation section")
    missing = [k for k in ("rent_book_csv", "receivables_csv") if not getattr(v, k)]
    if scenario.mortgage_model is not None and not v.mortgage_book_csv:
        missing.append("mortgage_book_csv")
    if missing:
        raise MovementError(f"{label}: valuation.{missing[0]} is not given; a movement matches contracts by id "
                            f"between two quarters' books, so both quarters' books must be CSV files, not synthetic")


def quarter_from_params(path, *, n_scenarios: int, seed: int) -> Quarter:
    """A quarter close from a params file, valued on ``n_scenarios`` scenarios from ``seed``."""
    path = Path(path)
    try:
        scenario = load_params(path)
    except (ParamsError, OSError) as exc:
        raise MovementError(str(exc)) from None
    _check_movable(scenario, str(path))
    return Quarter(scenario, path.resolve().parent, str(path), n_scenarios, seed)


def quarter_from_run(reports_dir, run_id: str, scenario_name: str) -> Quarter:
    """A quarter close from a batch run: the scenario's params as the run resolved them, its
    books (refused if missing or changed since the run), the scenarios and seed its quarter
    close used, and the figures it booked."""
    from ..runs import read_manifest, sha256

    manifest = read_manifest(reports_dir, run_id)
    entries = [p for p in manifest["params"] if p["scenario"] == scenario_name]
    if not entries:
        raise MovementError(f"run {run_id} has no scenario {scenario_name!r} (it has "
                            f"{', '.join(p['scenario'] for p in manifest['params'])}); name one with --scenario")
    entry = entries[0]
    run_dir = Path(reports_dir) / run_id / scenario_name
    figures_path, inputs_path = run_dir / f"{CLOSE_NOTEBOOK}.json", run_dir / INPUTS_TABLE
    if not figures_path.exists() or not inputs_path.exists():
        raise MovementError(f"run {run_id} has no quarter close of {scenario_name!r} with its inputs recorded "
                            f"({figures_path.name} and {inputs_path.name}); run {CLOSE_NOTEBOOK} for it")
    label = f"run {run_id} ({scenario_name})"
    try:
        scenario = Scenario.model_validate(entry["values"])
    except ValueError as exc:
        raise MovementError(f"{label}: its recorded params no longer validate: {exc}") from None
    _check_movable(scenario, label)
    folder = Path(entry["path"]).parent
    recorded_books = {b["path"]: b["sha256"] for b in manifest["books"]}
    for key in ("rent_book_csv", "receivables_csv", "mortgage_book_csv"):
        name = getattr(scenario.valuation, key)
        if not name:
            continue
        path = (folder / name).resolve()
        if not path.exists():
            raise MovementError(f"{label}: its book {path} is missing")
        if str(path) not in recorded_books:
            raise MovementError(f"{label}: its book {path} is not in the run's manifest, so it cannot be checked "
                                f"against what the run read")
        if sha256(path) != recorded_books[str(path)]:
            raise MovementError(f"{label}: its book {path} has changed since the run (sha256 "
                                f"{recorded_books[str(path)][:12]}... now {sha256(path)[:12]}...)")
    inputs = pd.read_csv(inputs_path, dtype={"valuation_date": str}).iloc[0]
    if str(inputs["valuation_date"]) != scenario.valuation.valuation_date.isoformat():  # 08 was given another date
        values = scenario.model_dump(mode="json")
        values["valuation"]["valuation_date"] = str(inputs["valuation_date"])
        try:
            scenario = Scenario.model_validate(values)
        except ValueError as exc:
            raise MovementError(f"{label}: its recorded valuation date {inputs['valuation_date']!r}: {exc}") from None
    figures = json.loads(figures_path.read_text(encoding="utf-8"))["figures"]
    recorded = {k: v for k, v in figures.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    return Quarter(scenario, folder, label, int(inputs["n_scenarios"]), int(inputs["seed"]), recorded,
                   manifest["code"], manifest["environment"])


def load_books(quarter: Quarter) -> dict:
    """The quarter's books: ``rent``, ``receivables`` and (with a mortgage model) ``mortgage``,
    read and checked (:func:`~actuarial.portfolio.read_book_csv`); a mortgage book needs a
    ``loan_id`` column (the engine's check holds it unique and never empty)."""
    from ..portfolio import read_book_csv
    from ..valuation import check_inforce_book

    v = quarter.scenario.valuation
    books = {"rent": read_book_csv(quarter.folder / v.rent_book_csv, "rent"),
             "receivables": read_book_csv(quarter.folder / v.receivables_csv, "receivables")}
    check_inforce_book(books["rent"], what=str(quarter.folder / v.rent_book_csv))  # an id for every contract
    if quarter.scenario.mortgage_model is not None:
        path = quarter.folder / v.mortgage_book_csv
        book = read_book_csv(path, "mortgage")
        if "loan_id" not in book.columns:
            raise MovementError(f"{path}: no column 'loan_id'; a movement matches loans by id between quarters")
        books["mortgage"] = book
    return books


def opening_params_path(scenario: Scenario, params_path) -> Path:
    """The params file a scenario's ``movement.opening_params`` names, relative to the
    scenario's own file."""
    if scenario.movement is None:
        raise MovementError(f"{params_path}: no movement section naming the quarter to bridge from")
    path = Path(scenario.movement.opening_params)
    return path if path.is_absolute() else Path(params_path).resolve().parent / path
