"""The standard normal distribution, from ``scipy.special``: ``norm.cdf`` (Phi), ``norm.ppf``
(its inverse) and ``norm.pdf``, the same functions ``scipy.stats.norm`` evaluates, without
importing ``scipy.stats`` (half a second at every notebook's start).

>>> round(float(norm.ppf(norm.cdf(1.5))), 12)
1.5
>>> round(float(norm.pdf(0.0)), 6)
0.398942
"""

from __future__ import annotations

import types

import numpy as np
from scipy.special import ndtr, ndtri

_SQRT_2PI = np.sqrt(2 * np.pi)


def _pdf(x):
    """Defined as ``exp(-x^2 / 2) / sqrt(2 pi)``."""
    return np.exp(-np.asarray(x, dtype=float) ** 2 / 2.0) / _SQRT_2PI


norm = types.SimpleNamespace(cdf=ndtr, ppf=ndtri, pdf=_pdf)
