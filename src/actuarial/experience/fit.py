"""Fitting the collection chain to a status history, blended with the current params by
credibility, and written as a params file a user can adopt.

**Maximum likelihood.** A row of the chain is multinomial: from state ``s``, with ``n_s``
steps observed and ``n_s'`` of them to ``s'``, ``p_hat = n_s' / n_s`` with standard error
``sqrt(p_hat (1 - p_hat) / n_s)``.

**Credibility.** A Dirichlet prior on each row, centred on the current params' row ``pi``
(staying included) with weight ``w`` (in steps: the prior counts as ``w`` months
observed), gives the posterior mean ``(n_s' + w pi_s') / (n_s + w)`` and standard
deviation ``sqrt(p (1 - p) / (n_s + w + 1))``. ``w = 0`` is the maximum-likelihood fit
(the prior where a state was never observed); a small book leans on the calibrated chain.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import pandas as pd
import yaml

from ..collection import STATES, TRANSIENT_STATES
from ..products.common import is_real


def check_prior_weight(weight) -> float:
    """The prior weight: a finite number of months, 0 or more (``ValueError`` otherwise)."""
    if not is_real(weight) or not math.isfinite(float(weight)) or float(weight) < 0:
        raise ValueError(f"prior weight must be a finite number of months >= 0, got {weight!r}")
    return float(weight)


def fit_chain(steps: pd.DataFrame, chain, prior_weight: float) -> pd.DataFrame:
    """Each move of each collection state: steps observed from the state ``n``, the count,
    the maximum-likelihood estimate and its standard error, the prior (``chain``'s), and the
    credibility-weighted posterior with its standard deviation (module docstring)."""
    w = check_prior_weight(prior_weight)
    rows = []
    collecting = steps[steps["from"].isin(TRANSIENT_STATES)]
    counts = collecting.groupby(["from", "move"], observed=True).size()
    for i, s in enumerate(TRANSIENT_STATES):
        n = int(counts.loc[s].sum()) if s in counts.index.get_level_values(0) else 0
        prior = {("stay" if j == i else STATES[j]): p for j, p in enumerate(chain.matrix[i]) if p > 0}
        seen = dict(counts.loc[s]) if n else {}
        for move in sorted(set(prior) | set(seen), key=lambda m: (m != "stay", m)):
            k = int(seen.get(move, 0))
            mle = k / n if n else float("nan")
            post = (k + w * prior.get(move, 0.0)) / (n + w) if n + w > 0 else prior.get(move, 0.0)
            rows.append((s, move, n, k, mle, math.sqrt(mle * (1 - mle) / n) if n else float("nan"),
                         prior.get(move, 0.0), post, math.sqrt(post * (1 - post) / (n + w + 1))))
    return pd.DataFrame(rows, columns=["from", "move", "steps", "count", "mle", "mle_se", "prior", "fitted",
                                       "fitted_sd"]).set_index(["from", "move"])


def fitted_transitions(fit: pd.DataFrame) -> dict:
    """The fitted chain as the params' ``collection.transitions`` mapping (staying left out:
    it is what is left), each probability rounded to 6 places, the row's sum kept at most 1."""
    out = {}
    for s in TRANSIENT_STATES:
        row = fit.loc[s, "fitted"]
        moves = {m: round(float(p), 6) for m, p in row.items() if m != "stay" and p > 0}
        excess = sum(moves.values()) - 1.0
        if excess > 0:  # rounding up can tip a row over 1; take it from the largest move
            top = max(moves, key=moves.get)
            moves[top] = round(moves[top] - excess, 6)
        out[s] = moves
    return out


def write_fitted_params(fit: pd.DataFrame, prior_path, out_path, *, source: str, detail: str = "") -> Path:
    """Write a params file that extends ``prior_path`` with the fitted chain, each number
    with its source (``source``: what it was fitted to, on each line; ``detail``: more of it,
    once in the header), and check that it loads. Written to a temporary file and renamed,
    so a failed write leaves nothing behind."""
    from ..params import load_params

    prior_path, out_path = Path(prior_path).resolve(), Path(out_path)
    prior = load_params(prior_path)
    transitions = fitted_transitions(fit)
    try:
        extends = os.path.relpath(prior_path, out_path.resolve().parent)
    except ValueError:  # another drive
        extends = str(prior_path)
    lines = [f"# The collection chain fitted to a status history on {dt.date.today().isoformat()}, blended with",
             f"# {prior_path.name} by credibility (actuarial fit-chain); every other number is {prior_path.name}'s.",
             *([f"# {detail}"] if detail else []),
             yaml.safe_dump({"extends": extends}, allow_unicode=True, width=1000).strip(),
             yaml.safe_dump({"scenario": {"name": f"{prior.scenario.name}_fitted",
                                          "description": f"{prior.scenario.description} Collection chain fitted "
                                                         f"to experience."}},
                            default_flow_style=None, allow_unicode=True, width=1000).strip(),
             "collection:",
             "  transitions:"]
    for s, moves in transitions.items():
        lines.append(f"    {s}:")
        for m, p in moves.items():
            steps = int(fit.loc[(s, m), "steps"]) if (s, m) in fit.index else 0
            if steps:
                lines.append(f"      {m}: {p:.6f}  # source: {source}, {steps:,d} steps from {s}")
            else:
                lines.append(f"      {m}: {p:.6f}  # assumption: kept from {prior_path.name}; the history has no "
                             f"month in {s}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            load_params(tmp)  # what is written must load
        except ValueError as exc:
            raise ValueError(f"{out_path}: the fitted params would not load: {exc}") from None
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def recovered(fit: pd.DataFrame, truth, sigmas: float = 3.0) -> pd.Series:
    """For each move observed, whether the maximum-likelihood estimate lies within
    ``sigmas`` standard errors of the chain ``truth``'s probability."""
    ok = {}
    for (s, m), row in fit.iterrows():
        if row["steps"] == 0 or not row["mle_se"] > 0:
            continue
        i = TRANSIENT_STATES.index(s)
        true = truth.matrix[i, i] if m == "stay" else truth.matrix[i, STATES.index(m)]
        ok[(s, m)] = abs(row["mle"] - true) <= sigmas * row["mle_se"]
    return pd.Series(ok, dtype=bool)

