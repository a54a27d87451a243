"""Key figures and summary tables that notebooks write and the batch collects (I/O at the edge)."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pandas as pd

from .params import SCENARIO_NAME, SCENARIO_NAME_RULE
from .simulation import SimulationResult

#: The metrics the comparison table shows, in order.
KEY_METRICS = ("expected_loss", "sd", "var_99.5%", "tvar_99.5%", "var_99.9%", "loss_ratio", "expected_profit")


def result_figures(result: SimulationResult, prefix: str = "") -> dict:
    """The key metrics of a simulation as a flat dict of floats (``prefix`` names the view),
    with the scenario count they come from (``n_scenarios``: the index shows a tail figure
    only from enough scenarios)."""
    m = result.metrics()
    return {f"{prefix}{k}": float(m[k]) for k in KEY_METRICS} | {f"{prefix}n_scenarios": float(result.n_scenarios)}


def metrics_table(results: dict[str, SimulationResult]) -> pd.DataFrame:
    """Metrics of several results side by side, one column per name (each run's scenario
    count in ``attrs["n_scenarios"]``, for :func:`metrics_html`)."""
    table = pd.DataFrame({name: r.metrics() for name, r in results.items()})
    table.attrs["n_scenarios"] = {name: r.n_scenarios for name, r in results.items()}
    return table


def write_key_figures(output_dir: str | Path, name: str, scenario: str, figures: dict,
                      tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write ``<output_dir>/<name>.json`` (notebook ``name``, ``scenario``, ``figures``; a
    non-finite figure as ``null``) and each table as ``<name>_<table>.csv``; returns the
    JSON path. A notebook that reports several scenarios writes them with
    :func:`write_scenario_figures` instead."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = _write_figures(out / f"{name}.json", name, scenario, figures)
    _write_tables(out, name, tables)
    return path


def write_scenario_figures(output_dir: str | Path, name: str, figures: dict[str, dict],
                           tables: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """The key figures of notebook ``name`` for several scenarios (``figures`` maps each
    scenario to its figures): one ``<output_dir>/<name>_<scenario>.json`` each, as
    :func:`write_key_figures` writes them, so that no scenario's file replaces another's,
    and each table once as ``<name>_<table>.csv``; returns the JSON paths.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> [p.name for p in write_scenario_figures(d, "05_stress", {"base": {"el": 1.0}, "recession": {"el": 2.0}})]
    ['05_stress_base.json', '05_stress_recession.json']
    >>> collect_key_figures(d)[["scenario", "figure", "value"]].values.tolist()
    [['base', 'el', 1.0], ['recession', 'el', 2.0]]
    """
    for scenario in figures:
        if not (isinstance(scenario, str) and SCENARIO_NAME.fullmatch(scenario)):
            raise ValueError(f"scenario names must be {SCENARIO_NAME_RULE}, got {scenario!r}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [_write_figures(out / f"{name}_{scenario}.json", name, scenario, f) for scenario, f in figures.items()]
    _write_tables(out, name, tables)
    return paths


def _write_figures(path: Path, name: str, scenario: str, figures: dict) -> Path:
    """Write one key-figures JSON through a temporary file, so that a file that exists is whole."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}
    text = json.dumps({"figures": clean, "notebook": name, "scenario": scenario}, indent=2) + "\n"  # figures in order
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _write_tables(out: Path, name: str, tables: dict[str, pd.DataFrame] | None) -> None:
    for tname, df in (tables or {}).items():
        if df is not None:  # a table the run has not got (a book it was not given)
            df.to_csv(out / f"{name}_{tname}.csv")


def collect_key_figures(run_dir: str | Path) -> pd.DataFrame:
    """Every key-figures JSON under ``run_dir`` (a JSON object with ``figures``; other JSON
    files, such as ``run.json``, are passed over) as one long table: scenario, notebook,
    figure, value. A JSON file that cannot be read raises ``ValueError`` naming it, rather
    than leaving its figures out of the summary."""
    if not Path(run_dir).is_dir():
        raise ValueError(f"run_dir {str(run_dir)!r} is not a folder")
    rows = []
    for f in sorted(Path(run_dir).rglob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{f}: not a readable JSON file ({exc})") from None
        if not isinstance(data, dict) or "figures" not in data:
            continue
        for k, v in data["figures"].items():
            rows.append({"scenario": data["scenario"], "notebook": data["notebook"], "figure": k, "value": v})
    return pd.DataFrame(rows, columns=["scenario", "notebook", "figure", "value"])


def comparison_table(figures: pd.DataFrame) -> pd.DataFrame:
    """Scenarios as rows, ``notebook:figure`` as columns (``notebook`` its first two
    characters, the notebook's number). A cell given twice raises ``ValueError``."""
    if figures.empty:
        return pd.DataFrame()
    wide = figures.assign(column=figures["notebook"].str.slice(0, 2) + ":" + figures["figure"])
    twice = wide.duplicated(["scenario", "column"], keep=False)
    if twice.any():  # one cell, two values: showing either would hide the other
        scenario, column = wide.loc[twice.idxmax(), ["scenario", "column"]]
        same = wide[(wide["scenario"] == scenario) & (wide["column"] == column)]
        raise ValueError(f"key figure {column!r} of scenario {scenario!r} is given {len(same)} times, by "
                         f"{', '.join(same['notebook'])}")
    table = wide.pivot_table(index="scenario", columns="column", values="value", aggfunc="first").sort_index()
    columns = sorted(dict.fromkeys(wide["column"]), key=lambda c: c.split(":", 1)[0])  # stable: by notebook, then
    return table[columns]  # in the order each notebook wrote its figures


def metrics_html(table, *, key: str, caption: str = "", note: str = ""):
    """:func:`metrics_table` (or one run's :meth:`~actuarial.simulation.SimulationResult.metrics`,
    a Series) as HTML for a notebook: a metric a row under a label with its unit, a run a
    column, yen with thousands separators, the loss ratio as a percentage to 0.1%; a VaR or
    TVaR from too few scenarios (``attrs["n_scenarios"]``,
    :func:`~actuarial.risk.too_few_scenarios`) as the words that say so, with a note why."""
    if isinstance(table, pd.Series):
        one = table.to_frame(name="value")
        one.attrs["n_scenarios"] = {"value": table.attrs.get("n_scenarios")}
        table = one
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame (metrics_table) or Series, got {type(table).__name__}")
    counts = table.attrs.get("n_scenarios", {})
    shown = pd.DataFrame({run: [_metric_text(k, v, counts.get(run)) for k, v in table[run].items()]
                          for run in table.columns}, index=[_metric_label(k) for k in table.index])
    return _styled(shown, {}, key, caption, _joined(note, _thin_note(table.index, counts.values())))


def metric_errors_html(errors: pd.DataFrame, n_scenarios: int, *, key: str, caption: str = "", note: str = ""):
    """:func:`~actuarial.risk.metric_errors` (money rows) as HTML: each metric's estimate, its
    Monte Carlo standard error and 95% interval, yen with separators; a VaR or TVaR from too
    few scenarios says so in place of its figures ("—" beside it)."""
    from .risk import too_few_scenarios

    columns = ["estimate (yen)", "standard error (yen)", "95% interval from (yen)", "to (yen)", "interval"]
    rows = {}
    for name, row in errors.iterrows():
        thin = too_few_scenarios(name, n_scenarios)
        rows[_metric_label(name)] = ([thin, "—", "—", "—", "—"] if thin else
                                     [_yen_text(row[c]) for c in ("estimate", "standard_error", "lower", "upper")]
                                     + [row["interval"]])
    shown = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    return _styled(shown, {}, key, caption, _joined(note, _thin_note(errors.index, [n_scenarios])))


def _metric_label(name: str) -> str:
    from .workbook import figure_label

    label = figure_label(name)
    return label[:1].upper() + label[1:]


def _yen_text(value) -> str:
    return "—" if pd.isna(value) else f"{value:,.0f}"


def _joined(*notes) -> str:
    return "; ".join(n for n in notes if n)


def _metric_text(name: str, value: float, n_scenarios) -> str:
    from .risk import too_few_scenarios

    thin = too_few_scenarios(name, n_scenarios) if n_scenarios is not None else None
    if thin:
        return thin
    if pd.isna(value):
        return "—"
    return f"{value:.1%}" if name == "loss_ratio" else f"{value:,.0f}"


def _thin_note(names, counts) -> str:
    from .risk import too_few_scenarios

    if any(too_few_scenarios(k, n) for k in names for n in counts if n is not None):
        return ("a VaR or TVaR at level p needs about 10 / (1 - p) scenarios, so that ten lie beyond it; from fewer "
                "it is mostly noise and is not shown (the key-figure files keep the number)")
    return ""


def html_table(df: pd.DataFrame, *, yen=(), pct=(), counts=(), caption: str = "", note: str = "", key: str = "t",
               tails=(), n_scenarios: int | None = None, level: float = 0.995, decimals: dict | None = None):
    """A table as a finance team reads it, for a notebook to display: HTML (a pandas Styler,
    its element ids fixed by ``key`` so that the output is the same every run), yen with
    thousands separators, ``pct`` columns as percentages to 0.1%, ``counts`` and any other
    whole-number column with separators, ``decimals`` columns to their places, other numbers
    to 2 places, anything missing as "—",
    a ``caption`` above and a ``note`` below. Column labels should carry their unit, "(yen)".
    ``tails``: columns that are a quantile at ``level`` (or its mirror) of ``n_scenarios``
    scenarios; from fewer than
    :func:`~actuarial.risk.scenarios_needed` they show "—" and the note says why."""
    from .risk import scenarios_needed

    if tails and n_scenarios is not None and n_scenarios < scenarios_needed(level):
        df = df.copy()
        for c in tails:
            if c in df.columns:
                df[c] = float("nan")
        why = (f"— in {', '.join(c for c in tails if c in df.columns)}: not enough scenarios for a {level:.1%} "
               f"quantile ({n_scenarios:,d}; needs {scenarios_needed(level):,d})")
        note = f"{note}; {why}" if note else why

    formats = {c: "{:,.0f}" if pd.api.types.is_integer_dtype(df[c]) else "{:,.2f}" for c in df.columns
               if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])}
    formats.update({c: f"{{:,.{n}f}}" for c, n in (decimals or {}).items()})
    formats.update({**{c: "{:,.0f}" for c in yen}, **{c: "{:.1%}" for c in pct}, **{c: "{:,.0f}" for c in counts}})
    return _styled(df, formats, key, caption, note)


def readable(label):
    """A machine label (``expected_net_loss_yen``, ``emergency_contact``) as a person reads it
    (``expected net loss (yen)``, ``emergency contact``); any other label as it is.

    >>> [readable(x) for x in ("median_loss_yen", "difference_in_se", "refund_ratio_pct", "Rent (yen)", 3)]
    ['median loss (yen)', 'difference in standard errors', 'refund ratio (%)', 'Rent (yen)', 3]
    """
    from .workbook import spelled

    if not (isinstance(label, str) and "_" in label and re.fullmatch(r"[a-z0-9_.%]+", label)):
        return label
    unit = " (yen)" if label.endswith("_yen") else " (%)" if label.endswith("_pct") else ""
    return spelled(label.removesuffix("_yen").removesuffix("_pct")) + unit


def _styled(df: pd.DataFrame, formats: dict, key: str, caption: str, note: str):
    """``df`` as the notebooks show every table: a Styler with its element ids fixed by
    ``key``, machine labels of rows and columns made readable (:func:`readable`), numbers
    right-aligned, "—" for a missing value, a caption above, a note below."""
    from IPython.display import HTML

    if any(n is not None for n in df.index.names):
        df = df.rename_axis(index=[readable(n) for n in df.index.names])
    if any(n is not None for n in df.columns.names):
        df = df.rename_axis(columns=[readable(n) for n in df.columns.names])
    styler = (df.style.format({c: f for c, f in formats.items() if c in df.columns}, na_rep="—")
              .format_index(readable, axis=1)
              .set_uuid(key)
              .set_table_styles([{"selector": "td", "props": "text-align: right; padding: 2px 10px;"},
                                 {"selector": "th", "props": "text-align: left; padding: 2px 10px;"},
                                 {"selector": "caption", "props": "caption-side: top; text-align: left; "
                                                                  "font-weight: bold;"}]))
    if pd.api.types.is_integer_dtype(df.index):
        styler = styler.format_index("{:,}")  # rents, months: whole numbers with separators
    else:
        styler = styler.format_index(readable, axis=0)
    if caption:
        styler = styler.set_caption(caption)
    body = styler.to_html()
    if note:
        body += f"<p style='font-size: 90%'>{html.escape(note, quote=False)}</p>"
    return HTML(body)
