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
               label="unearned fee, seed 004 table")
    ax.scatter(published["months_elapsed"], published["refund_yen"], color="C1", marker="s", zorder=3,
               label="refund, seed 004 table")
    ax.set_title(title)
    ax.set_xlabel("months elapsed since the loan was made")
    ax.set_ylabel("yen")
    ax.yaxis.set_major_formatter(_YEN)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
