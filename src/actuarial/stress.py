"""Sensitivity of a book's risk metrics to its assumptions (the tornado chart's numbers)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .products.common import is_real
from .risk import metric_levels, metrics
from .simulation import RentModel, simulate

#: Assumptions a tornado varies: name -> how to apply a relative change ``f`` to the model.
RENT_SENSITIVITIES = {
    "delinquency hazard": lambda m, f: dataclasses.replace(
        m, delinquency_hazard={g: min(h * (1 + f), 0.99) for g, h in m.delinquency_hazard.items()}),
    "move-out hazard": lambda m, f: dataclasses.replace(m, moveout_hazard=min(m.moveout_hazard * (1 + f), 1.0)),
    "correlation rho": lambda m, f: dataclasses.replace(m, rho=min(m.rho * (1 + f), 0.99)),
    "recovery rate": lambda m, f: dataclasses.replace(m, recovery_rate=min(m.recovery_rate * (1 + f), 1.0)),
    "cure sensitivity to the economy": lambda m, f: dataclasses.replace(
        m, good_exit_sensitivity=m.good_exit_sensitivity * (1 + f)),
    "collection costs": lambda m, f: _scaled_costs(m, 1 + f),
}

#: The model's collection costs: each a fixed amount in yen and a multiple of the monthly total.
_COSTS = ("suit", "execution", "removal", "restoration")


def _scaled_costs(model: RentModel, factor: float) -> RentModel:
    """Every collection cost, fixed and per month of the total, times ``factor`` (the fixed
    parts rounded to the yen, the multiples to six decimals)."""
    return dataclasses.replace(model, **{f"{c}_cost_yen": round(getattr(model, f"{c}_cost_yen") * factor)
                                         for c in _COSTS},
                               **{f"{c}_cost_months": round(getattr(model, f"{c}_cost_months") * factor, 6)
                                  for c in _COSTS})


def tornado(book: pd.DataFrame, model: RentModel, *, change: float = 0.2, metric: str = "var_99.5%",
            n_scenarios: int, seed: int, sensitivities=None, resamples: int = 200) -> pd.DataFrame:
    """``metric`` with each assumption moved down and up by ``change`` (relative), the others
    at base, all runs on the same seed (common random numbers). Rows sorted by swing.
    ``metric`` is any :func:`~actuarial.risk.metrics` name, a VaR or TVaR at any level
    (``var_99.7%``) included.

    Columns: ``low``, ``high`` (the metric), ``base``, ``swing = |high - low|``, its Monte
    Carlo ``swing_standard_error`` (``resamples`` paired bootstrap draws of the scenarios, the
    same scenarios for the low and the high run, from ``SeedSequence(seed, spawn_key=(99,))``)
    and ``significant``: the swing is more than 2 standard errors, so the assumption's
    effect shows above the noise at this scenario count.
    """
    if not is_real(change) or not 0 < change < 1:
        raise ValueError(f"change must be a number in (0, 1), got {change!r}")
    levels = metric_levels(metric)  # any VaR or TVaR level, checked before anything runs
    sens = RENT_SENSITIVITIES if sensitivities is None else sensitivities
    base = float(simulate(book, model, n_scenarios, seed).metrics(levels)[metric])
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(99,)))
    draws = rng.integers(0, n_scenarios, size=(resamples, n_scenarios))
    rows = []
    for name, apply in sens.items():
        (low_loss, low_fee), (high_loss, high_fee) = (
            (r["net_loss"].to_numpy(float), r["fees"].to_numpy(float))
            for r in (simulate(book, apply(model, f), n_scenarios, seed).losses for f in (-change, change)))
        low, high = (float(metrics(x, f, levels)[metric]) for x, f in ((low_loss, low_fee), (high_loss, high_fee)))
        diffs = [float(metrics(high_loss[i], high_fee[i], levels)[metric])
                 - float(metrics(low_loss[i], low_fee[i], levels)[metric]) for i in draws]
        se = float(np.std(diffs, ddof=1)) if resamples > 1 else float("nan")
        rows.append({"assumption": name, "low": low, "high": high, "base": base, "swing": abs(high - low),
                     "swing_standard_error": se, "significant": bool(abs(high - low) > 2 * se)})
    return pd.DataFrame(rows).sort_values("swing", ascending=False).reset_index(drop=True)
