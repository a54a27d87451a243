"""What a batch run hands a finance team: the key figures under labels a person reads, with
their units (:func:`figure_label`, :func:`figure_kind`), grouped by notebook in the index
(:func:`comparison_html`), and ``summary.xlsx`` with number formats, widths, a frozen header
and a first sheet that says what each sheet holds (:func:`write_workbook`). The machine keys
stay in the CSV and JSON files."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

#: Each notebook's number and the title its figures are grouped under.
NOTEBOOK_TITLES = {"01": "Product terms", "02": "Rent portfolio", "03": "Pricing", "04": "Mortgage portfolio",
                   "05": "Stress and capital", "06": "Batch summary", "07": "Calibration", "08": "Quarter close",
                   "09": "Movement", "10": "Experience study"}
_WORDS = {"var": "VaR", "tvar": "TVaR", "jhf": "JHF", "sd": "standard deviation", "ae": "A/E", "mc": "simulated",
          "q995": "99.5% quantile", "ecl": "ECL", "pv": "present value", "se": "standard errors", "abs": "absolute",
          "z": "z"}
#: Figures whose name alone would mislead, with what they are.
_LABELS = {"delinquent_share": "contracts with a missed rent within the horizon (%)",
           "n_scenarios": "scenarios simulated", "with_jhf_n_scenarios": "scenarios simulated",
           "without_jhf_n_scenarios": "scenarios simulated (without JHF)",
           "jhf_cells_where_insuring_pays": "JHF value grid: cells where insuring pays"}
_YEN_NAMES = ("expected_loss", "sd", "expected_profit", "exact_expected_loss")
_COUNTS = ("steps", "history_rows", "parameters_assumed", "parameters_fitted", "parameters_sourced",
           "jhf_cells_where_insuring_pays")


def spelled(snake: str) -> str:
    """A snake_case name's words, with the abbreviations spelled out (:data:`_WORDS`).

    >>> spelled("with_jhf_var_99.5%")
    'with JHF VaR 99.5%'
    """
    return " ".join(_WORDS.get(w, w) for w in snake.split("_"))


def figure_kind(name: str) -> str:
    """How a key figure is shown: ``yen`` (whole yen with separators), ``percent`` (a ratio,
    share or rate), ``count`` (a whole number) or ``number`` (anything else, to 2 places).

    >>> [figure_kind(n) for n in ("allowance_yen", "with_jhf_var_99.5%", "loss_ratio", "steps", "ae_cure_from_dunning")]
    ['yen', 'yen', 'percent', 'count', 'number']
    """
    tail = name.split(":")[-1]
    if tail.endswith("_yen") or tail.startswith("swing_") or any(
            tail == n or tail.endswith("_" + n) for n in _YEN_NAMES) or "var_" in tail:
        return "yen"
    if tail in _COUNTS or tail.endswith("n_scenarios"):
        return "count"
    if tail.startswith("ae_") or "multiplier" in tail or "in_se" in tail or "abs_z" in tail:
        return "number"
    if any(w in tail for w in ("ratio", "share", "relative_error", "_rate", "rate_")):
        return "percent"
    return "number"


def figure_label(name: str) -> str:
    """A key figure's machine name as a person reads it, with its unit.

    >>> figure_label("with_jhf_tvar_99.5%")
    'with JHF TVaR 99.5% (yen)'
    >>> figure_label("provision_rent_stage_1_booked_yen")
    'provision rent stage 1 booked (yen)'
    >>> figure_label("loss_ratio")
    'loss ratio (%)'
    """
    tail = name.split(":")[-1]
    if tail in _LABELS:
        return _LABELS[tail]
    unit = {"yen": " (yen)", "percent": " (%)", "count": "", "number": ""}[figure_kind(tail)]
    return spelled(tail.removesuffix("_yen")) + unit


def _notebook_of(column: str) -> str:
    number = column.split(":")[0]
    return f"{number} {NOTEBOOK_TITLES.get(number, '')}".strip()


def _shown(value, kind: str) -> str:
    if pd.isna(value):
        return "—"
    if kind == "yen" or kind == "count":
        return f"{value:,.0f}"
    if kind == "percent":
        return f"{value:.3%}" if 0 < abs(value) < 0.01 else f"{value:.1%}"  # a fee rate of 0.161% keeps its digits
    return f"{value:,.2f}"


#: Notes on a notebook's figures that the index shows under its title.
NOTEBOOK_NOTES = {"05": "every scenario's assumptions on the first scenario file's book, so that they differ by the "
                        "assumptions alone (a scenario's own book is under 02); the swings are the first scenario's",
                  "09": "the bridge from last quarter's close, for the scenario files that name one"}
def _thin(comparison: pd.DataFrame, column: str) -> pd.Series:
    """By scenario: whether the tail figure ``column`` comes from too few scenarios, read
    from the ``n_scenarios`` its notebook wrote beside it (a figure without one is shown)."""
    from .risk import TAIL_NAME, scenarios_needed, tail_level

    level = tail_level(column.split(":")[-1])
    if level is None:
        return pd.Series(False, index=comparison.index)
    number, name = column.split(":", 1)
    view = TAIL_NAME.split(name)[0]  # with_jhf: the run the figure is of
    view = view + "_" if view and not view.endswith("_") else view
    for count in (f"{number}:{view}n_scenarios", f"{number}:n_scenarios"):
        if count in comparison.columns:
            return comparison[count] < scenarios_needed(level)
    return pd.Series(False, index=comparison.index)


def comparison_html(comparison: pd.DataFrame, scenario_order) -> str:
    """The comparison (scenarios x ``notebook:figure``) as an HTML table a person reads: a
    column a scenario in ``scenario_order``, a row a figure under its notebook's title (and
    its note, :data:`NOTEBOOK_NOTES`), units in the labels, a missing figure as "—", and a
    VaR, TVaR or quantile from too few scenarios as "—" with a note."""
    if comparison.empty:
        return "<p>No key figures.</p>"
    order = [s for s in scenario_order if s in comparison.index]
    order += [s for s in comparison.index if s not in order]
    table = comparison.loc[order]
    head = "".join(f"<th>{html.escape(s)}</th>" for s in order)
    rows, group, thin_any = [], None, False
    for column in table.columns:
        if _notebook_of(column) != group:
            group = _notebook_of(column)
            note = NOTEBOOK_NOTES.get(column.split(":")[0])
            note = f"<br><span class='note'>{html.escape(note)}</span>" if note else ""
            rows.append(f"<tr class='group'><th colspan='{len(order) + 1}'>{html.escape(group)}{note}</th></tr>")
        kind = figure_kind(column)
        thin = _thin(table, column)
        thin_any |= bool(thin.any())
        cells = "".join(f"<td>{'—' if t else _shown(v, kind)}</td>" for v, t in zip(table[column], thin, strict=True))
        rows.append(f"<tr><th class='label' title='{html.escape(column)}'>{html.escape(figure_label(column))}</th>"
                    f"{cells}</tr>")
    notes = "<p>— : the figure does not apply to that scenario (its notebook did not run for it, or reports it for "
    notes += "one scenario only).</p>"
    if thin_any:
        notes += ("<p>— in a VaR, TVaR or quantile row: not enough scenarios for that level (about 10 / (1 − p) are "
                  "needed); the CSV and JSON files keep the number.</p>")
    return f"<table class='figures'><tr><th>figure</th>{head}</tr>{''.join(rows)}</table>{notes}"


def labelled(comparison: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The comparison (scenarios x ``notebook:figure``) with its columns as (notebook title,
    readable label) pairs, for :func:`~actuarial.reporting.html_table`, and the columns of
    each kind (:func:`figure_kind`).

    >>> shown, kinds = labelled(pd.DataFrame({"02:loss_ratio": [0.5]}, index=["base"]))
    >>> shown.columns.tolist(), kinds["percent"]
    ([('02 Rent portfolio', 'loss ratio (%)')], [('02 Rent portfolio', 'loss ratio (%)')])
    """
    columns = [(_notebook_of(c), figure_label(c)) for c in comparison.columns]
    kinds = {kind: [label for c, label in zip(comparison.columns, columns, strict=True) if figure_kind(c) == kind]
             for kind in NUMBER_FORMATS}
    shown = comparison.copy()
    shown.columns = pd.MultiIndex.from_tuples(columns)
    return shown, kinds


#: The spreadsheet number format of each kind of figure.
NUMBER_FORMATS = {"yen": "#,##0", "count": "#,##0", "percent": "0.0%", "number": "0.00"}
#: What each fixed sheet of ``summary.xlsx`` holds.
SHEETS = {"comparison": "every key figure (columns, notebook:figure) by scenario (rows)",
          "key_figures": "the same, one row a scenario, notebook and figure",
          "status": "each notebook run: ok or failed, and where"}


def write_workbook(path: Path, comparison: pd.DataFrame, figures: pd.DataFrame, status: pd.DataFrame,
                   metrics: list[tuple[str, str, pd.DataFrame]]) -> None:
    """``summary.xlsx``: a ``contents`` sheet first, then the comparison, the key figures,
    the status and each metrics table (``(sheet, what it holds, table)``), with number formats
    (``#,##0`` for yen, ``0.0%`` for ratios), widths to fit and the header row frozen."""
    from openpyxl.utils import get_column_letter

    contents = pd.DataFrame([*SHEETS.items(), *[(sheet, what) for sheet, what, _ in metrics]],
                            columns=["sheet", "what it holds"])
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        contents.to_excel(xl, sheet_name="contents", index=False)
        comparison.to_excel(xl, sheet_name="comparison")
        figures.to_excel(xl, sheet_name="key_figures", index=False)
        status.to_excel(xl, sheet_name="status", index=False)
        for sheet, _, table in metrics:
            table.to_excel(xl, sheet_name=sheet)
        book = xl.book
        metric_sheets = {m[0] for m in metrics}
        for ws in book.worksheets:
            ws.freeze_panes = "B2" if ws.title == "comparison" or ws.title in metric_sheets else "A2"
            for i, col in enumerate(ws.iter_cols(min_row=1, max_row=ws.max_row), start=1):
                head = str(col[0].value or "")
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col[:200])
                ws.column_dimensions[get_column_letter(i)].width = min(max(width, len(head)) + 2, 60)
                if ws.title == "comparison" and i > 1:
                    fmt = NUMBER_FORMATS[figure_kind(head)]
                    for c in col[1:]:
                        c.number_format = fmt
            if ws.title == "key_figures":
                for row in ws.iter_rows(min_row=2):
                    figure, value = row[2].value, row[3]
                    value.number_format = NUMBER_FORMATS[figure_kind(str(figure))]
            if ws.title in metric_sheets:
                for row in ws.iter_rows(min_row=2):
                    kind = figure_kind(str(row[0].value))
                    for c in row[1:]:
                        c.number_format = NUMBER_FORMATS[kind]
