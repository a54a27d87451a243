"""Experience against the assumptions: exposure and transitions, actual against expected,
roll rates between arrears buckets and vintage curves of the first missed rent.

**Expected.** A step from a status is expected to make each move with the model's monthly
probability (:func:`move_probabilities`): from performing, ``missed_rent`` with the grade's
``delinquency_hazard`` (its long-run mean over economies) and ``moved_out`` with ``(1 -
hazard) x moveout_hazard`` (the kernel draws the missed rent first); from a collection
state, the chain's row as the params write it (an ordinary economy: the good-exit
multiplier is 1 for ``z >= 0``). Summed over the steps of a group, these are its expected
counts ``E``; ``A`` the actual ones.

**Intervals.** ``A/E`` with a 95% interval from the exact Poisson interval of ``A``
(Garwood: ``chi2(0.025; 2A) / 2`` to ``chi2(0.975; 2A + 2) / 2``) divided by ``E``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..collection import STATES, TRANSIENT_STATES
from .history import ENDINGS, PERFORMING

#: The moves a performing step can make.
PERFORMING_MOVES = ("stay", "missed_rent", "moved_out")
#: Arrears buckets of the roll-rate matrix, months owed: each edge closes its bucket.
ROLL_EDGES = (0, 1, 2, 3, 6, 12)


def move_probabilities(model) -> pd.DataFrame:
    """The model's monthly probability of each move (module docstring): rows ``(from,
    grade)`` (a collection state's row for every grade alike), columns the moves."""
    rows = {}
    for g, h in model.delinquency_hazard.items():
        rows[(PERFORMING, g)] = {"stay": (1 - h) * (1 - model.moveout_hazard), "missed_rent": h,
                                 "moved_out": (1 - h) * model.moveout_hazard}
        for i, s in enumerate(TRANSIENT_STATES):
            row = {("stay" if j == i else STATES[j]): p for j, p in enumerate(model.chain.matrix[i]) if p > 0}
            rows[(s, g)] = row
    out = pd.DataFrame.from_dict(rows, orient="index").fillna(0.0)
    out.index.names = ["from", "grade"]
    return out


def _check_grades(steps: pd.DataFrame, model) -> None:
    unknown = sorted(set(map(str, steps["grade"].unique())) - set(map(str, model.delinquency_hazard)))
    if unknown == ["all"]:
        raise ValueError(f"the history has no 'grade' column: the params' expectations are by grade "
                         f"({', '.join(map(str, model.delinquency_hazard))}), so each contract needs one")
    if unknown:
        raise ValueError(f"history column 'grade' has {unknown[0]!r}, which the params do not rate; known: "
                         f"{', '.join(map(str, model.delinquency_hazard))}")


def exposure(steps: pd.DataFrame, by=("from",)) -> pd.DataFrame:
    """Months at risk (steps observed from a status) and the count of each move, by
    ``by`` (columns of :func:`~.history.transitions`)."""
    counts = steps.groupby([*by, "move"], observed=True).size().unstack("move", fill_value=0)
    counts.insert(0, "months_at_risk", counts.sum(axis=1))
    return counts


def _interval(actual: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=float)
    from scipy.stats import chi2  # here: scipy.stats is slow to import

    low = np.where(a > 0, chi2.ppf(0.025, 2 * a) / 2, 0.0)
    high = chi2.ppf(0.975, 2 * a + 2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return low / expected, high / expected


def actual_vs_expected(steps: pd.DataFrame, model, by=()) -> pd.DataFrame:
    """Actual and expected counts of each move from each status, by ``by`` (``("grade",)``,
    ``("vintage",)``, ...), with A/E and its 95% interval (module docstring). A move the
    model gives no chance and that never happened is left out."""
    by = list(by)
    _check_grades(steps, model)
    probs = move_probabilities(model)
    keys = list(dict.fromkeys([*by, "from", "grade"]))
    n = steps.groupby(keys, observed=True).size().rename("n").reset_index()
    p = probs.reindex(pd.MultiIndex.from_frame(n[["from", "grade"]])).fillna(0.0).to_numpy()
    expected = pd.DataFrame(p * n["n"].to_numpy()[:, None], columns=probs.columns)
    expected[by + ["from"]] = n[by + ["from"]].to_numpy()
    expected = expected.groupby(by + ["from"]).sum().stack().rename("expected")
    expected.index.names = [*by, "from", "move"]
    actual = steps.groupby([*by, "from", "move"], observed=True).size().rename("actual")
    out = pd.concat([actual, expected], axis=1).fillna(0.0)
    out = out[(out["expected"] > 0) | (out["actual"] > 0)]
    risk = steps.groupby([*by, "from"], observed=True).size().rename("months_at_risk")
    out = out.join(risk, on=[*by, "from"])
    out["actual"] = out["actual"].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ae"] = out["actual"] / out["expected"]
    out["ae_low"], out["ae_high"] = _interval(out["actual"].to_numpy(), out["expected"].to_numpy())
    return out[["months_at_risk", "actual", "expected", "ae", "ae_low", "ae_high"]].sort_index()


def _bucket_labels(edges=ROLL_EDGES) -> list[str]:
    labels = []
    lo = 0
    for e in edges:
        labels.append(f"{e}" if e == lo else f"{lo}-{e}")
        lo = e + 1
    return labels + [f"over {edges[-1]}"]


def roll_rates(steps: pd.DataFrame, edges=ROLL_EDGES) -> pd.DataFrame:
    """The share of contracts in each arrears bucket (months owed; each edge closes its
    bucket) that are in each bucket a month later, or have ended (a tenancy-ending exit or a
    move-out): rows sum to 1. ``months_at_risk`` counts the steps of each row."""
    labels = _bucket_labels(edges)
    edges = np.asarray(edges)
    now = np.searchsorted(edges, steps["months_owed"].to_numpy(), side="left")
    later = np.searchsorted(edges, steps["next_months_owed"].to_numpy(), side="left")
    ended = steps["to"].isin(list(ENDINGS)).to_numpy()
    later = np.where(ended, len(labels), later)
    table = np.bincount(now * (len(labels) + 1) + later, minlength=len(labels) * (len(labels) + 1)) \
        .reshape(len(labels), len(labels) + 1)
    risk = table.sum(axis=1)
    rates = pd.DataFrame(table / np.maximum(risk, 1)[:, None], index=pd.Index(labels, name="months_owed"),
                         columns=[*labels, "ended"])
    rates.insert(0, "months_at_risk", risk)
    return rates


def vintage_curves(steps: pd.DataFrame, max_age: int | None = None) -> pd.DataFrame:
    """Cumulative share of each vintage (origination quarter) that has missed a first rent by
    each age (months since origination), by the product-limit estimate: ``1 - prod(1 -
    d_a / n_a)``, ``n_a`` the vintage's contracts performing at age ``a - 1`` with a step
    observed to age ``a`` that had not missed a rent before it in the history, ``d_a`` those
    whose step is a missed rent. Only contracts the history follows from their origination
    (their first row is their first month, performing), so each curve starts at age 1."""
    contract = steps["contract"].to_numpy()
    first = np.r_[True, contract[1:] != contract[:-1]]  # steps come in contract order
    start = np.maximum.accumulate(np.where(first, np.arange(len(contract)), 0))
    perf = (steps["from"] == PERFORMING).to_numpy()
    miss = (steps["move"] == "missed_rent").to_numpy()
    from_start = ((steps["age"].to_numpy() == 0) & perf)[start]
    misses = np.cumsum(miss)
    before = misses - miss - np.where(start > 0, misses[start - 1], 0)  # misses earlier in the contract
    keep = from_start & perf & (before == 0)
    table = pd.DataFrame({"vintage": steps["vintage"].to_numpy()[keep], "age": steps["age"].to_numpy()[keep] + 1,
                          "miss": miss[keep]}).groupby(["vintage", "age"], observed=True)["miss"].agg(["size", "sum"])
    hazard = table["sum"] / table["size"]
    curve = 1 - (1 - hazard).groupby(level="vintage", observed=True).cumprod()
    wide = curve.unstack("vintage")
    if max_age is not None:
        wide = wide.loc[wide.index <= max_age]
    wide.index.name = "age_months"
    wide.columns = wide.columns.astype(str)
    return wide


def expected_first_miss(steps: pd.DataFrame, model, ages) -> pd.Series:
    """The params' cumulative share with a first missed rent by age, for the grade mix of the
    contracts the history follows from origination: ``1 - sum_g w_g (1 - h_g)^a``, ``w_g``
    the grade's share, ``h_g`` its hazard (move-outs are independent of the grade, so the
    product-limit curve of :func:`vintage_curves` estimates the same)."""
    _check_grades(steps, model)
    first = steps[(steps["age"] == 0) & (steps["from"] == PERFORMING)]
    weights = first["grade"].value_counts(normalize=True)
    ages = np.asarray(ages)
    survive = sum(w * (1 - model.delinquency_hazard[str(g)]) ** ages for g, w in weights.items() if w > 0)
    return pd.Series(1 - survive, index=pd.Index(ages, name="age_months"))
