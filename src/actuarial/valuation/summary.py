"""The Monte Carlo summary every simulated figure of the quarter close shows."""

from __future__ import annotations

import numpy as np


def scenario_summary(x: np.ndarray) -> tuple[float, float, float]:
    """Mean, standard error and 99.5% quantile of per-scenario values (the standard error
    is not a number for a single scenario).

    >>> scenario_summary(np.array([1.0, 3.0]))
    (2.0, 1.0, 2.99)
    """
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")
    return float(x.mean()), se, float(np.quantile(x, 0.995))
