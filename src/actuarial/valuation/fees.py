"""Unearned fees on the valuation date (前受収益 / 未経過保証料).

Rent: a guarantee fee (the initial fee, then each renewal fee) is earned straight-line over
``fee_earning_months`` from the month it is charged, that month included (the valuation
date is a month end). A contract ``a`` months old (``start_month = -a``) was last charged
in contract month ``c``, the latest multiple of the renewal interval not after ``a`` (0 for
a plan that does not renew), so ``e = a - c`` months have passed since. Defined as
``unearned = floor(fee x max(E - e - 1, 0) / E)`` with ``E = fee_earning_months``, truncated
to the yen. Monthly fees are earned in their month and leave nothing unearned.

Mortgage: a lump-sum loan's unearned fee is the calibrated fee curve's
(:meth:`~actuarial.products.mortgage_fee.FeeCurve.unearned`) at the months elapsed the
engine counts, ``age + 1`` (the loan month is month 1), truncated. When the book gives the
fee each loan paid (``fee_paid_yen``), the curve is scaled to it: the unearned fee is
``floor(fee_paid x U(age + 1) / U(0))``, ``U`` the curve's unearned fee (its ``U(0)`` the
fee it would have charged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..simulation.mortgage import MortgageModel, prepare_mortgage_book
from ..simulation.rent import RentModel
from .settings import ValuationSettings


def unearned_rent_fees(book: pd.DataFrame, model: RentModel, settings: ValuationSettings,
                       monthly_total_yen: np.ndarray) -> np.ndarray:
    """Each contract's unearned guarantee fee in yen (module docstring)."""
    age = -book["start_month"].to_numpy(np.int64) if "start_month" in book.columns else np.zeros(len(book), np.int64)
    E = settings.fee_earning_months
    out = np.zeros(len(book), dtype=np.int64)
    plans = book["plan"].to_numpy()
    for name, plan in model.plans.items():
        sel = np.flatnonzero(plans == name)
        if not len(sel):
            continue
        a, total = age[sel], monthly_total_yen[sel]
        charged = (a // plan.renewal_interval_months) * plan.renewal_interval_months if plan.renews else 0 * a
        fee = np.where(charged == 0, plan.initial_fee(monthly_total_yen=total),
                       plan.renewal_fee(monthly_total_yen=total)).astype(np.int64)
        left = np.maximum(E - (a - charged) - 1, 0)
        out[sel] = fee * left // E
    return out


def unearned_mortgage_fees(book: pd.DataFrame, model: MortgageModel) -> np.ndarray:
    """Each loan's unearned lump-sum fee in yen (0 for installment loans; module docstring)."""
    b = prepare_mortgage_book(book, model)
    m = np.minimum(b.age + 1, b.unearned.shape[1] - 1)
    per_yen = b.unearned[b.product, m]
    return np.where(b.lump, np.floor(b.fee_base * per_yen + 1e-6), 0).astype(np.int64)
