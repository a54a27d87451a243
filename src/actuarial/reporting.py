"""Key figures and summary tables that notebooks write and the batch collects (I/O at the edge)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .simulation import SimulationResult

#: The metrics the comparison table shows, in order.
KEY_METRICS = ("expected_loss", "sd", "var_99.5%", "tvar_99.5%", "var_99.9%", "loss_ratio", "expected_profit")


def result_figures(result: SimulationResult, prefix: str = "") -> dict:
    """The key metrics of a simulation as a flat dict of floats (``prefix`` names the view)."""
    m = result.metrics()
    return {f"{prefix}{k}": float(m[k]) for k in KEY_METRICS}


def metrics_table(results: dict[str, SimulationResult]) -> pd.DataFrame:
    """Metrics of several results side by side, one column per name."""
    return pd.DataFrame({name: r.metrics() for name, r in results.items()})


def format_table(df: pd.DataFrame, *, yen_columns=(), pct_columns=(), decimals: dict | None = None) -> str:
    """Text of a table with explicit number formats (stable for nbval): yen with thousands
    separators, percentages to 0.01%, anything else as ``decimals`` says (default 4 places)."""
    decimals = decimals or {}
    fmt = {}
    for c in df.columns:
        if c in yen_columns:
            fmt[c] = "{:,.0f}".format
        elif c in pct_columns:
            fmt[c] = "{:.2%}".format
        elif pd.api.types.is_float_dtype(df[c]):
            fmt[c] = ("{:,.%df}" % decimals.get(c, 4)).format
    return df.to_string(formatters=fmt)


def write_key_figures(output_dir: str | Path, name: str, scenario: str, figures: dict,
                      tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write ``<output_dir>/<name>.json`` (scenario, figures) and each table as
    ``<name>_<table>.csv``; returns the JSON path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}
    path = out / f"{name}.json"
    path.write_text(json.dumps({"notebook": name, "scenario": scenario, "figures": clean}, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")
    for tname, df in (tables or {}).items():
        df.to_csv(out / f"{name}_{tname}.csv")
    return path


def collect_key_figures(run_dir: str | Path) -> pd.DataFrame:
    """Every key-figures JSON under ``run_dir`` as one long table: scenario, notebook, figure, value."""
    rows = []
    for f in sorted(Path(run_dir).rglob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(data, dict) or "figures" not in data:
            continue
        for k, v in data["figures"].items():
            rows.append({"scenario": data["scenario"], "notebook": data["notebook"], "figure": k, "value": v})
    return pd.DataFrame(rows, columns=["scenario", "notebook", "figure", "value"])


def comparison_table(figures: pd.DataFrame) -> pd.DataFrame:
    """Scenarios as rows, ``notebook:figure`` as columns."""
    if figures.empty:
        return pd.DataFrame()
    wide = figures.assign(column=figures["notebook"].str.slice(0, 2) + ":" + figures["figure"])
    return wide.pivot_table(index="scenario", columns="column", values="value", aggfunc="first").sort_index()


def format_metrics(metrics: pd.Series) -> str:
    """One metric a line: yen with separators, the loss ratio as a percentage."""
    lines = []
    for k, v in metrics.items():
        lines.append(f"{k:>16}: {v:>18.2%}" if k == "loss_ratio" else f"{k:>16}: {v:>18,.0f}")
    return "\n".join(lines)
