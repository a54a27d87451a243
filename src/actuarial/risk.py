"""Risk measures of a simulated loss distribution, and their Monte Carlo error.

A run of ``S`` scenarios estimates each metric of :func:`metrics` (what
:meth:`SimulationResult.metrics <actuarial.simulation.rent.SimulationResult.metrics>`
reports); :func:`metric_errors` says how far each estimate may be from the value an
unlimited number of scenarios would give. The scenarios are independent draws (one stream
each), so the usual large-sample results apply:

- means (expected loss, expected profit): ``sd / sqrt(S)``;
- the standard deviation: the delta method, ``sqrt((m4 - s^4) / S) / (2 s)``;
- the loss ratio, a ratio of means: the delta method, ``sd(L - R F) / (sqrt(S) mean(F))``;
- a VaR: the distribution-free interval between two order statistics (binomial counts of
  the scenarios below the true quantile), which assumes nothing of the loss's shape;
- a TVaR: Manistre and Hancock's variance of the CTE estimator (North American Actuarial
  Journal 9(2), 2005), ``(V_tail + q (TVaR - VaR)^2) / (S (1 - q))``, ``V_tail`` the variance
  of the losses at or above the VaR; it is the variance of the estimator's influence function
  ``(x - VaR)+ / (1 - q)``.

The standard errors are sound, but with few scenarios beyond the VaR a TVaR's estimate is
skewed (low when its standard error is low), so its normal interval holds the true value less
often than it says. On exponential losses with 2,000 scenarios (one set of 300 runs, one of
400), the 95% interval of the 99% TVaR (20 scenarios beyond the VaR) held the true value in
89-91% of runs and that of the 99.5% TVaR (10 beyond) in 83-89%, while the standard errors
matched the spread of the estimates to within 3%. The tests hold the 99% figures. Tail
figures want scenarios: about ``100 / (1 - q)`` for a TVaR at ``q``.

A level far in the tail of a short run cannot be bounded: with ``S = 1,000`` scenarios the
99.9% VaR is the largest loss or the one below it, and no order statistic lies above it
with 97.5% confidence; nor do its one or two losses beyond measure a TVaR's spread (fewer than
``MIN_TAIL_SCENARIOS``). The bounds are then ``inf`` (or ``-inf``), never an extrapolation.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .normal import norm

#: The VaR and TVaR levels of :func:`metrics` by default.
DEFAULT_LEVELS = (0.99, 0.995, 0.999)
#: The fewest losses at or above the VaR from which :func:`tvar_standard_error` estimates
#: the tail's spread; with fewer it is ``inf`` (its interval then ``-inf`` to ``inf``).
MIN_TAIL_SCENARIOS = 10


def _losses(losses, name: str = "losses", minimum: int = 2) -> np.ndarray:
    """``losses`` as a 1-d float array of at least ``minimum`` finite numbers, or
    ``ValueError`` naming ``name`` and the first bad value."""
    x = np.asarray(losses)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"{name} must hold numbers, got dtype {x.dtype}")
    x = x.astype(float)
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise ValueError(f"{name} must be finite, got {float(x[bad[0]])!r} at position {bad[0]}")
    if len(x) < minimum:
        raise ValueError(f"{name} needs at least {minimum} scenario{'s' * (minimum > 1)}, got {len(x)}")
    return x


def _probability(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def value_at_risk(losses, level: float) -> float:
    """The ``level`` quantile of the simulated losses.

    Defined as the smallest loss ``x`` with at least ``level`` of the scenarios at or below
    it: the order statistic ``L_(ceil(S level))`` (numpy's ``inverted_cdf``).

    >>> value_at_risk([5.0, 1.0, 3.0, 2.0, 4.0], 0.6)
    3.0
    """
    x = _losses(losses, minimum=1)
    return float(np.quantile(x, _probability(level, "level"), method="inverted_cdf"))


def tail_value_at_risk(losses, level: float) -> float:
    """The mean of the simulated losses at or above :func:`value_at_risk`.

    >>> tail_value_at_risk([5.0, 1.0, 3.0, 2.0, 4.0], 0.6)
    4.0
    """
    x = _losses(losses, minimum=1)
    var = value_at_risk(x, level)
    return float(x[x >= var].mean())


def var_interval(losses, level: float, confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free ``confidence`` interval for the true ``level`` quantile.

    Defined as ``(L_(r), L_(s))`` (order statistics, 1-based): ``B``, the number of
    scenarios below the true quantile, is binomial ``(S, level)``; ``r`` is the largest
    count with ``P(B < r) <= (1 - confidence) / 2`` and ``s`` the smallest with ``P(B >= s)
    <= (1 - confidence) / 2``, so the interval holds the quantile with probability at least
    ``confidence`` whatever the loss distribution (for a continuous one). Where ``r < 1``
    or ``s > S`` the scenarios cannot bound that side: ``-inf`` or ``inf``.

    With 20 scenarios the 95% interval for the median is the 6th to the 15th smallest, the
    textbook one:

    >>> var_interval(np.arange(1.0, 21.0), 0.5)
    (6.0, 15.0)
    """
    x = np.sort(_losses(losses))
    q = _probability(level, "level")
    tail = (1.0 - _probability(confidence, "confidence")) / 2.0
    n = len(x)
    from scipy.stats import binom  # here: scipy.stats is slow to import

    r = int(binom.ppf(tail, n, q))
    s = int(binom.ppf(1.0 - tail, n, q)) + 1
    lower = float(x[r - 1]) if r >= 1 else -math.inf
    upper = float(x[s - 1]) if s <= n else math.inf
    return lower, upper


def tvar_standard_error(losses, level: float) -> float:
    """The standard error of :func:`tail_value_at_risk` (Manistre and Hancock, 2005).

    Defined as ``sqrt((V_tail + level (TVaR - VaR)^2) / (S (1 - level)))``, ``V_tail`` the
    sample variance of the losses at or above the VaR (the formula is for continuous losses).
    ``inf`` when fewer than ``MIN_TAIL_SCENARIOS`` losses lie there: the run cannot measure
    the tail's spread. For the losses 1 to 50 at 80%: VaR 40, the tail 40 to 50 (mean 45,
    variance 11), so ``sqrt((11 + 0.8 x 5^2) / (50 x 0.2)) = sqrt(3.1)``:

    >>> round(tvar_standard_error(np.arange(1.0, 51.0), 0.8), 6)
    1.760682
    """
    x = _losses(losses)
    q = _probability(level, "level")
    var = value_at_risk(x, q)
    tail = x[x >= var]
    if len(tail) < MIN_TAIL_SCENARIOS:
        return math.inf
    return math.sqrt((tail.var(ddof=1) + q * (tail.mean() - var) ** 2) / (len(x) * (1.0 - q)))


def _run(losses, fees, levels, minimum: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """A run's per-scenario losses and fees (checked, one fee per loss) and its levels."""
    loss = _losses(losses, minimum=minimum)
    fee = _losses(fees, "fees", minimum=minimum)
    if len(fee) != len(loss):
        raise ValueError(f"fees must have one value per scenario: {len(fee)} fees for {len(loss)} losses")
    if isinstance(levels, (str, bytes)) or not np.iterable(levels):
        raise ValueError(f"levels must be a sequence of levels, got {levels!r}")
    return loss, fee, tuple(_probability(q, "levels") for q in levels)


def metrics(losses, fees, levels=DEFAULT_LEVELS) -> pd.Series:
    """A run's metrics from the net loss and fee income of each scenario, in yen.

    Defined as, with means over the scenarios: ``expected_loss`` the mean loss, ``sd`` its
    sample standard deviation (0 for one scenario), ``var_q`` and ``tvar_q``
    (:func:`value_at_risk`, :func:`tail_value_at_risk`) at each level, ``loss_ratio`` the
    mean loss over the mean fees (NaN without fees) and ``expected_profit`` the mean of fees
    less loss.

    >>> metrics([90.0, 110.0, 100.0, 100.0], [50.0] * 4, levels=(0.5,)).round(2).tolist()
    [100.0, 8.16, 100.0, 103.33, 2.0, -50.0]
    """
    loss, fee, levels = _run(losses, fees, levels, minimum=1)
    out = {"expected_loss": loss.mean(), "sd": loss.std(ddof=1) if len(loss) > 1 else 0.0}
    for q in levels:
        out[f"var_{q:.1%}"] = value_at_risk(loss, q)
        out[f"tvar_{q:.1%}"] = tail_value_at_risk(loss, q)
    out["loss_ratio"] = float(loss.mean() / fee.mean()) if fee.mean() > 0 else float("nan")
    out["expected_profit"] = float((fee - loss).mean())
    series = pd.Series(out)
    series.attrs["n_scenarios"] = len(loss)  # what a report needs to say a tail figure is too thin
    return series


def scenarios_needed(level: float) -> int:
    """The scenarios a VaR or TVaR at ``level`` needs before a report shows it: about ten
    beyond the quantile, ``ceil(10 / (1 - level))``.

    >>> scenarios_needed(0.995), scenarios_needed(0.99), scenarios_needed(0.999)
    (2000, 1000, 10000)
    """
    return math.ceil(round(10.0 / (1.0 - level), 6))  # rounded first: 0.999 is not exact in binary


#: A tail figure's name: a VaR or TVaR at ``q``% (``with_jhf_var_99.5%``) or a quantile
#: (``credit_loss_rent_q995_yen``).
TAIL_NAME = re.compile(r"(?:^|_)(?:t?var_(\d+(?:\.\d+)?)%|q(\d+))(?:_|$)")


def tail_level(name: str) -> float | None:
    """The level of a tail figure (:data:`TAIL_NAME`) from its name, else None.

    >>> [tail_level(n) for n in ("with_jhf_tvar_99.9%", "credit_loss_rent_q995_yen", "expected_loss")]
    [0.999, 0.995, None]
    """
    m = TAIL_NAME.search(name) if isinstance(name, str) else None
    if m is None:
        return None
    return round(float(m[1]) / 100, 6) if m[1] else float(f"0.{m[2]}")


def too_few_scenarios(name: str, n_scenarios: int) -> str | None:
    """For a tail figure (:func:`tail_level`: a VaR or TVaR as :func:`metrics` names it, or a
    quantile), from fewer scenarios than :func:`scenarios_needed`: the text a report shows
    instead of the number; else None.

    >>> too_few_scenarios("var_99.5%", 1000), too_few_scenarios("var_99.5%", 2000), too_few_scenarios("sd", 5)
    ('not enough scenarios (1,000; needs 2,000)', None, None)
    """
    level = tail_level(name)
    if level is None or n_scenarios >= scenarios_needed(level):
        return None
    return f"not enough scenarios ({n_scenarios:,d}; needs {scenarios_needed(level):,d})"


#: The metrics of :func:`metrics` that have no level.
_LEVEL_FREE = ("expected_loss", "sd", "loss_ratio", "expected_profit")


def metric_levels(name: str) -> tuple[float, ...]:
    """The levels :func:`metrics` needs to give the metric ``name``: none for
    ``expected_loss``, ``sd``, ``loss_ratio`` and ``expected_profit``; ``(q,)`` for a VaR or
    TVaR at level ``q`` written as :func:`metrics` names it, ``var_99.7%`` or ``tvar_95.0%``.
    Anything else raises ``ValueError`` naming it.

    >>> metric_levels("var_99.7%"), metric_levels("loss_ratio")
    ((0.997,), ())
    """
    if name in _LEVEL_FREE:
        return ()
    found = re.fullmatch(r"(t?var)_(\d{1,2}\.\d)%", name) if isinstance(name, str) else None
    q = float(found.group(2)) / 100 if found else 0.0
    if not found or not 0 < q < 1 or f"{found.group(1)}_{q:.1%}" != name:
        raise ValueError(f"metric must be {', '.join(_LEVEL_FREE)}, or var_q / tvar_q with the level as a "
                         f"percentage to 0.1% (var_99.5%), got {name!r}")
    return (q,)


def metric_errors(losses, fees, levels=DEFAULT_LEVELS, confidence: float = 0.95) -> pd.DataFrame:
    """Each metric of a run with its Monte Carlo standard error and ``confidence`` interval.

    ``losses`` and ``fees`` are the net loss and the fee income of each scenario, in yen.
    Rows are the metrics, named as :func:`metrics` names them; columns ``estimate`` (its
    number), ``standard_error``, ``lower``, ``upper`` and ``interval`` (how it is
    built). Normal intervals are ``estimate -/+ z standard_error``, ``z`` the normal
    quantile at ``(1 + confidence) / 2``. A VaR's interval is :func:`var_interval`'s and its
    standard error the one that interval implies, ``(upper - lower) / (2 z)``.

    >>> t = metric_errors([90.0, 110.0, 100.0, 100.0], [50.0] * 4, levels=(0.5,))
    >>> t.loc["expected_loss", ["estimate", "standard_error"]].round(4).tolist()
    [100.0, 4.0825]
    """
    loss, fee, levels = _run(losses, fees, levels, minimum=2)
    est = metrics(loss, fee, levels)
    z = float(norm.ppf(0.5 + _probability(confidence, "confidence") / 2.0))
    n = len(loss)
    rows = {}

    def normal(name, se):
        rows[name] = (est[name], se, est[name] - z * se, est[name] + z * se, "normal")

    sd = est["sd"]
    normal("expected_loss", sd / math.sqrt(n))
    m4 = np.mean((loss - loss.mean()) ** 4)
    normal("sd", math.sqrt(max(m4 - sd ** 4, 0.0) / n) / (2.0 * sd) if sd > 0 else 0.0)
    for q in levels:
        lo, hi = var_interval(loss, q, confidence)
        rows[f"var_{q:.1%}"] = (est[f"var_{q:.1%}"], (hi - lo) / (2.0 * z), lo, hi, "order statistics")
        normal(f"tvar_{q:.1%}", tvar_standard_error(loss, q))
    ratio = est["loss_ratio"]  # NaN without fees, and so its error
    normal("loss_ratio", (loss - ratio * fee).std(ddof=1) / math.sqrt(n) / fee.mean() if fee.mean() > 0 else math.nan)
    normal("expected_profit", (fee - loss).std(ddof=1) / math.sqrt(n))
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["estimate", "standard_error", "lower", "upper", "interval"])
