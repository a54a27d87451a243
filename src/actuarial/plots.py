"""Matplotlib figures the notebooks show. Each returns its Figure; nothing is saved here."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from .products.mortgage_fee import FeeCurve

_YEN = FuncFormatter(lambda x, _: f"{x:,.0f}")


def jhf_payout_by_months(grid: pd.DataFrame, *, title: str):
    """Payout against months unpaid, one line per rent, markers where the binding limit changes."""
    fig, ax = plt.subplots(figsize=(8, 5))
    styles = {"coverage": "o", "months": "s", "yen": "^"}
    for rent, g in grid.groupby("rent_yen"):
        line, = ax.plot(g["months_unpaid"], g["payout_yen"], label=f"rent {rent:,d} yen/month")
        for name, marker in styles.items():
            sel = g[g["binding"] == name]
            ax.scatter(sel["months_unpaid"], sel["payout_yen"], marker=marker, color=line.get_color(), s=18, zorder=3)
    for name, marker in styles.items():
        ax.scatter([], [], marker=marker, color="grey", label=f"binding limit: {name}")
    ax.set_title(title)
    ax.set_xlabel("months of rent unpaid and subrogated")
    ax.set_ylabel("JHF payout (yen)")
    ax.yaxis.set_major_formatter(_YEN)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def refund_curve(curve: FeeCurve, published: pd.DataFrame, *, title: str, schedule=None):
    """Fitted unearned fee and refund against months elapsed, with the published points."""
    kwargs = {} if schedule is None else {"schedule": schedule}
    months = np.arange(1, curve.term_months + 1)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(months, curve.unearned(months), label="unearned fee, fitted curve")
    ax.plot(months, curve.refund(months, **kwargs), label="refund after deduction, fitted curve", linestyle="--")
    ax.scatter(published["months_elapsed"], published["unearned_fee_yen"], color="C0", zorder=3,
               label="unearned fee, Zenkoku Hosho table")
    ax.scatter(published["months_elapsed"], published["refund_yen"], color="C1", marker="s", zorder=3,
               label="refund, Zenkoku Hosho table")
    ax.set_title(title)
    ax.set_xlabel("months elapsed since the loan was made")
    ax.set_ylabel("yen")
    ax.yaxis.set_major_formatter(_YEN)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _finish(fig, ax, title, xlabel, ylabel, legend=True):
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def funnel_comparison(funnel: pd.DataFrame, *, title: str):
    """Model against survey, cases per 1,000 delinquencies (log scale) and months."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    x = np.arange(len(funnel))
    labels = [s.replace("_", " ") for s in funnel.index]
    a1.bar(x - 0.2, funnel["model_per_1000"], 0.4, label="model")
    a1.bar(x + 0.2, funnel["mlit_per_1000"], 0.4, label="MLIT survey")
    a1.set_yscale("log")
    a1.set_xticks(x, labels, rotation=25, ha="right", fontsize=8)
    _finish(fig, a1, "Cases per 1,000 delinquencies", "event", "cases per 1,000 (log scale)")
    a2.bar(x - 0.2, funnel["model_months"], 0.4, label="model")
    a2.bar(x + 0.2, funnel["mlit_months"], 0.4, label="MLIT survey")
    a2.set_xticks(x, labels, rotation=25, ha="right", fontsize=8)
    _finish(fig, a2, "When it happens", "event", "months after the missed rent")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def loss_distributions(losses: dict, *, title: str, level: float = 0.995):
    """Histogram of the net loss per scenario for each named result, with its VaR line."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, (name, x) in enumerate(losses.items()):
        x = np.asarray(x, dtype=float) / 1e6
        ax.hist(x, bins=60, alpha=0.45, color=f"C{i}", label=name)
        ax.axvline(np.quantile(x, level, method="inverted_cdf"), color=f"C{i}", linestyle="--",
                   label=f"{name}: VaR {level:.1%}")
    fig = _finish(fig, ax, title, "net loss over the horizon (million yen)", "scenarios", legend=len(losses) <= 2)
    if len(losses) > 2:  # beside the plot, not over the data
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
    return fig


def monthly_cash_flows(result, *, title: str):
    """Expected cash flow by month for each line (mean over scenarios), in million yen, from
    month 1 (month 0 carries the initial fees and premiums and would flatten the rest)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    mean = result.cash_flows.mean(axis=0) / 1e6
    for j, line in enumerate(result.lines):
        if np.any(mean[j, 1:]):
            ax.plot(np.arange(1, mean.shape[1]), mean[j, 1:] * result.signs[j], label=line.replace("_", " "))
    ax.axhline(0, color="black", linewidth=0.8)
    return _finish(fig, ax, title, "month of the projection", "expected cash flow (million yen; out < 0)")


def jhf_value_heatmap(grid: pd.DataFrame, *, title: str):
    """Net value of JHF insurance (payout - remittance - premium) by rent and default rate, yen."""
    pivot = grid.pivot(index="default_rate", columns="rent_yen", values="net_value_yen")
    fig, ax = plt.subplots(figsize=(8, 5))
    lim = float(np.nanmax(np.abs(pivot.to_numpy())))
    im = ax.imshow(pivot.to_numpy(), cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto", origin="lower")
    ax.set_xticks(range(len(pivot.columns)), [f"{c:,d}" for c in pivot.columns], fontsize=8)
    ax.set_yticks(range(len(pivot.index)), [f"{h:.1%}" for h in pivot.index], fontsize=8)
    for (i, j), v in np.ndenumerate(pivot.to_numpy()):
        ax.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="net value to the guarantor (yen per contract)", format=_YEN)
    return _finish(fig, ax, title, "monthly rent at the start (yen)",
                   "probability the tenancy ends in default (horizon)", legend=False)


def yearly_lines(result, lines, *, title: str, ylabel: str):
    """Mean of the chosen lines summed by projection year, million yen."""
    mean = result.cash_flows.mean(axis=0)
    months = mean.shape[1]
    years = np.arange(months) // 12
    fig, ax = plt.subplots(figsize=(8, 5))
    width = 0.8 / len(lines)
    for i, line in enumerate(lines):
        by_year = np.bincount(years, weights=mean[result.lines.index(line)]) / 1e6
        ax.bar(np.arange(len(by_year)) + i * width, by_year, width, label=line.replace("_", " "))
    return _finish(fig, ax, title, "projection year", ylabel)


def tornado_chart(table: pd.DataFrame, *, title: str, metric_label: str):
    """Horizontal bars from the base value to the low and high results, largest swing on top."""
    fig, ax = plt.subplots(figsize=(8, 5))
    t = table.iloc[::-1]
    base = float(t["base"].iloc[0]) / 1e6
    y = np.arange(len(t))
    ax.barh(y, t["low"] / 1e6 - base, left=base, color="C0", label="assumption -")
    ax.barh(y, t["high"] / 1e6 - base, left=base, color="C3", alpha=0.7, label="assumption +")
    ax.axvline(base, color="black", linewidth=0.8)
    labels = list(t["assumption"])
    if "significant" in t.columns:  # a swing within 2 standard errors is noise at this scenario count
        labels = [a if sig else f"{a} (within 2 SE)" for a, sig in zip(labels, t["significant"], strict=True)]
        for yi, sig in zip(y, t["significant"], strict=True):
            if not sig:
                ax.axhspan(yi - 0.45, yi + 0.45, color="grey", alpha=0.15, linewidth=0)
    ax.set_yticks(y, labels, fontsize=8)
    return _finish(fig, ax, title, f"{metric_label} (million yen)", "assumption")


def scenario_comparison(table: pd.DataFrame, columns, *, title: str, ylabel: str):
    """Grouped bars of the chosen columns by scenario (values in million yen)."""
    fig, ax = plt.subplots(figsize=(9, 5))
    x = np.arange(len(table))
    width = 0.8 / max(len(columns), 1)
    for i, c in enumerate(columns):
        ax.bar(x + i * width, table[c].to_numpy(dtype=float) / 1e6, width, label=c)
    ax.set_xticks(x + width * (len(columns) - 1) / 2, table.index, rotation=20, ha="right", fontsize=8)
    return _finish(fig, ax, title, "scenario", ylabel)


def hazard_fit(fit: pd.DataFrame, *, title: str):
    """Fitted monthly hazards with two standard errors, against the generating values
    (:func:`~actuarial.calibration.against_generating`)."""
    fig, ax = plt.subplots(figsize=(9, 5))
    labels = [f"{g}, months {b}, {e.replace('moveout', 'move-out')}" for g, b, e in zip(fit["grade"], fit["band"],
                                                                                       fit["event"], strict=True)]
    x = np.arange(len(fit))
    ax.errorbar(x, fit["hazard"], yerr=2 * fit["standard_error"], fmt="o", capsize=3, label="fitted, +/- 2 SE")
    ax.scatter(x, fit["generating"], marker="x", color="C3", zorder=3, label="value that generated the history")
    ax.set_xticks(x, labels, fontsize=7, rotation=45, ha="right")
    ax.set_yscale("log")
    return _finish(fig, ax, title, "grade, months since the start, event", "monthly hazard (log scale)")


def allowance_ratios(allowance: pd.DataFrame, *, title: str):
    """The allowance ratio of each ageing bucket (``allowance_yen / receivable_yen``), bars
    labelled with the receivable balance in million yen."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(len(allowance))
    ax.bar(x, allowance["allowance_ratio"].to_numpy(dtype=float) * 100, color="tab:red", alpha=0.8)
    for i, (ratio, balance) in enumerate(zip(allowance["allowance_ratio"], allowance["receivable_yen"], strict=True)):
        ax.annotate(f"receivable {balance / 1e6:,.1f}m yen", (i, ratio * 100), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, allowance.index)
    ax.set_ylim(0, 110)
    return _finish(fig, ax, title, "ageing bucket (months owed, from the oldest unpaid month)",
                   "allowance, % of the receivable", legend=False)


def quarterly_cash_flows(cash: pd.DataFrame, *, title: str, quarters: int = 12, n_scenarios: int | None = None):
    """The expected net cash flow of each fiscal quarter (bars, million yen) with the
    Monte Carlo's 0.5%-99.5% range, for the first ``quarters`` quarters. From fewer
    ``n_scenarios`` than a 99.5% quantile needs (:func:`~actuarial.risk.scenarios_needed`)
    the range is not drawn, and the chart says why."""
    from .risk import scenarios_needed

    shown = cash.iloc[:quarters]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = np.arange(len(shown))
    ax.bar(x, shown["expected_yen"] / 1e6, color="tab:blue", alpha=0.8, label="expected")
    needed = scenarios_needed(0.995)
    if n_scenarios is None or n_scenarios >= needed:
        ax.vlines(x, shown["q0.5_yen"] / 1e6, shown["q99.5_yen"] / 1e6, color="black",
                  label="0.5%-99.5% of scenarios")
    else:  # said in the legend, beside the plot, where it covers no bar
        ax.plot([], [], " ", label=f"0.5%-99.5% range not drawn:\n{n_scenarios:,d} scenarios, a 99.5%\nquantile "
                                   f"needs {needed:,d}")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, shown.index, rotation=30, ha="right", fontsize=8)
    fig = _finish(fig, ax, title, "fiscal quarter", "net cash flow, million yen", legend=False)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def vintage_curves(curves: pd.DataFrame, *, title: str, expected: pd.Series | None = None):
    """Cumulative share of each vintage with a first missed rent by months since origination
    (one line a vintage, percent), and the model's expectation as a dashed line."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for vintage in curves.columns:
        line = curves[vintage].dropna()
        ax.plot(line.index, line.to_numpy() * 100, marker=".", linewidth=1, label=str(vintage))
    if expected is not None:
        ax.plot(expected.index, expected.to_numpy() * 100, "k--", linewidth=1.5, label="the params' expectation")
    ax.set_ylim(0, 100)
    fig = _finish(fig, ax, title, "months since origination", "with a first missed rent, % of the vintage",
                  legend=False)
    ax.legend(fontsize=7, ncol=2, loc="lower right", title="origination quarter", title_fontsize=7)
    return fig


def waterfall(steps: pd.Series, *, title: str, ylabel: str):
    """A bridge as a waterfall: the first and last entries (opening, closing) as full bars,
    each step between as a bar from the running total, rises and falls coloured apart, and
    each bar's amount in million yen above it."""
    fig, ax = plt.subplots(figsize=(9, 5))
    labels = list(steps.index)
    values = steps.to_numpy(dtype=float)
    last = len(values) - 1
    # each bar's bottom: 0 for the opening and closing, the running total before a step
    bottoms = np.concatenate([[0.0], values[0] + np.cumsum(values[1:-1]) - values[1:-1], [0.0]])
    for i, (v, b) in enumerate(zip(values, bottoms, strict=True)):
        ax.bar(i, v, bottom=b, color="#4c72b0" if i in (0, last) else "#c44e52" if v > 0 else "#55a868")
        ax.annotate(f"{v / 1e6:,.1f}M" if i in (0, last) else f"{v / 1e6:+,.1f}M", (i, max(b, b + v)),
                    textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    ax.set_xticks(range(len(labels)), [label.replace(": ", ":\n") for label in labels], rotation=30, ha="right",
                  fontsize=8)
    ends = np.concatenate([bottoms, bottoms + values])
    bottom, top = min(0.0, ends.min()), max(0.0, ends.max())
    ax.set_ylim(bottom - 0.05 * (top - bottom), top + 0.12 * (top - bottom))  # room for the labels
    from matplotlib.patches import Patch

    _finish(fig, ax, title, "step", ylabel, legend=False)
    ax.legend(handles=[Patch(color="#4c72b0", label="opening, closing"), Patch(color="#c44e52", label="increase"),
                       Patch(color="#55a868", label="decrease")], fontsize=8)
    ax.yaxis.set_major_formatter(_YEN)
    return fig
