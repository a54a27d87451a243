"""Fitting the default parameters to public figures (DOMAIN.md), with residuals and provenance.

- :func:`fit_collection`: the collection chain's monthly exit probabilities to the MLIT
  funnel of 1,000 delinquencies (counts and timings), by least squares;
- :func:`fit_prepayment`: the PSJ plateau so that loans of the contracted term are repaid,
  on average, after the observed time;
- :func:`fit_hazards`: piecewise-constant monthly hazards by grade from contract histories,
  by maximum likelihood, with standard errors;
- :func:`provenance`: every number of a params file with its source, fitted or assumed.

The mortgage fee curve is fitted by :meth:`~actuarial.products.mortgage_fee.FeeCurve.calibrate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import brentq, least_squares

from .collection import MLIT_FUNNEL, STATES, CollectionChain


# -- collection -----------------------------------------------------------------------------------
def _rows(transitions: Mapping) -> list[tuple[str, list[str]]]:
    return [(state, list(row)) for state, row in transitions.items()]


def _to_transitions(x: np.ndarray, rows) -> dict:
    out, i = {}, 0
    for state, targets in rows:
        logits = np.append(x[i:i + len(targets)], 0.0)  # the last is "stay"
        p = np.exp(logits - logits.max())
        p /= p.sum()
        out[state] = {t: float(v) for t, v in zip(targets, p[:-1])}
        i += len(targets)
    return out


def _to_logits(transitions: Mapping, rows) -> np.ndarray:
    x = []
    for state, targets in rows:
        row = transitions[state]
        stay = max(1.0 - sum(row.values()), 1e-9)
        x += [np.log(max(row[t], 1e-12) / stay) for t in targets]
    return np.array(x)


def funnel_residuals(chain: CollectionChain, targets: Mapping = MLIT_FUNNEL) -> pd.DataFrame:
    """The chain's funnel against the targets, with relative errors of counts and months."""
    f = chain.funnel()
    out = pd.DataFrame({
        "model_per_1000": f["model_per_1000"], "target_per_1000": [targets[e][0] for e in f.index],
        "model_months": f["model_months"], "target_months": [targets[e][1] for e in f.index],
    }, index=f.index)
    out["count_relative_error"] = out["model_per_1000"] / out["target_per_1000"] - 1
    out["months_relative_error"] = out["model_months"] / out["target_months"] - 1
    return out


def fit_collection(prior: Mapping, targets: Mapping = MLIT_FUNNEL, *, prior_weight: float = 0.02,
                   round_to: int = 4) -> tuple[dict, pd.DataFrame]:
    """Fit the monthly exit probabilities of ``prior`` (same states and exits) to the funnel.

    Each transient state's exits are softmax logits against staying, so every row stays a
    distribution. Residuals: the relative errors of the five counts per 1,000 and the five
    months, plus ``prior_weight x (logit - prior logit)`` (there are more probabilities than
    figures; the pull keeps the unidentified ones near the prior). The fitted probabilities
    are rounded to ``round_to`` places, as they are written to params. Returns the fitted
    transitions and :func:`funnel_residuals` of the rounded chain.
    """
    if not isinstance(prior, Mapping) or not prior:
        raise ValueError(f"prior must map state -> {{next_state: probability}}, got {prior!r}")
    CollectionChain.from_transitions(prior)
    rows = _rows(prior)
    x0 = _to_logits(prior, rows)

    def residuals(x):
        chain = CollectionChain.from_transitions(_to_transitions(x, rows))
        r = funnel_residuals(chain, targets)
        return np.concatenate([r["count_relative_error"], r["months_relative_error"], prior_weight * (x - x0)])

    sol = least_squares(residuals, x0, method="trf", x_scale=1.0, max_nfev=400)
    fitted = {s: {t: round(p, round_to) for t, p in row.items()} for s, row in _to_transitions(sol.x, rows).items()}
    return fitted, funnel_residuals(CollectionChain.from_transitions(fitted), targets)


def simulated_funnel(chain: CollectionChain, n_paths: int, seed: int, months: int = 36) -> pd.DataFrame:
    """The funnel measured on ``n_paths`` simulated cases (Monte Carlo, for checking the fit)."""
    paths = chain.sample_paths(n_paths, months, np.random.default_rng(seed))
    idx = {s: i for i, s in enumerate(STATES)}
    rows = {"paid_in_full_within_a_month": (1000 * np.mean(paths[:, 1] == idx["cure"]), 1.0)}
    for event, state in (("settlement", "settlement"), ("suit_filed", "suit"), ("forced_execution", "forced_execution"),
                         ("judgment_exit", "judgment_exit")):
        hit = paths == idx[state]
        ever = hit.any(axis=1)
        first = hit.argmax(axis=1)[ever]
        rows[event] = (1000 * ever.mean(), float(first.mean()) if ever.any() else float("nan"))
    return pd.DataFrame({"simulated_per_1000": [rows[e][0] for e in MLIT_FUNNEL],
                         "simulated_months": [rows[e][1] for e in MLIT_FUNNEL]}, index=pd.Index(list(MLIT_FUNNEL), name="event"))


# -- prepayment ------------------------------------------------------------------------------------------
def expected_repayment_years(plateau_cpr: float, ramp_months: int, term_months: int) -> float:
    """Expected years until a loan is fully prepaid or matures, under the PSJ ramp alone.

    Defined as ``sum_{t=0}^{n-1} S(t) / 12`` with ``S(t) = prod_{a<=t} (1 - smm(a))`` and
    ``smm`` the monthly rate of an annual rate ramping linearly to the plateau.
    """
    ages = np.arange(1, term_months + 1)
    cpr = plateau_cpr * np.minimum(ages / ramp_months, 1.0)
    smm = 1 - (1 - cpr) ** (1 / 12)
    survival = np.concatenate([[1.0], np.cumprod(1 - smm)[:-1]])
    return float(survival.sum() / 12)


def fit_prepayment(*, contracted_years: float, actual_years: float, ramp_months: int = 60) -> float:
    """The PSJ plateau rate with which loans of ``contracted_years`` are repaid after
    ``actual_years`` on average (DOMAIN.md §3: 25.7 vs 14.4 years in FY2014, 26.7 vs 15.7 in FY2019)."""
    if not 0 < actual_years < contracted_years:
        raise ValueError(f"actual_years must be in (0, contracted_years), got {actual_years!r} and {contracted_years!r}")
    n = int(round(contracted_years * 12))
    if expected_repayment_years(0.999, ramp_months, n) > actual_years:
        raise ValueError(f"no plateau below 100% repays {contracted_years}-year loans within {actual_years} years")
    return float(brentq(lambda c: expected_repayment_years(c, ramp_months, n) - actual_years, 0.0, 0.999, xtol=1e-10))


# -- hazards from contract histories --------------------------------------------------------------------
HISTORY_COLUMNS = ("contract_id", "grade", "months_observed", "event")
EVENTS = ("delinquency", "moveout", "censored")


def fit_hazards(histories: pd.DataFrame, bands=(12, 24)) -> pd.DataFrame:
    """Monthly hazards of a first missed rent and of move-out, by grade and duration band.

    ``histories`` has one row per contract: ``grade``, ``months_observed`` (months from the
    start to the event or the end of observation, >= 1) and ``event`` (``delinquency``,
    ``moveout`` or ``censored``). In a discrete-time model with constant hazards in a band,
    the maximum-likelihood hazard is ``events / months at risk`` in the band, with standard
    error ``sqrt(h (1 - h) / months at risk)``. Bands end at the given months (last open).
    """
    if not isinstance(histories, pd.DataFrame):
        raise ValueError(f"histories must be a DataFrame, got {type(histories).__name__}")
    for c in HISTORY_COLUMNS:
        if c not in histories.columns:
            raise ValueError(f"histories is missing column {c!r} (needs {', '.join(HISTORY_COLUMNS)})")
    months = histories["months_observed"]
    if not pd.api.types.is_integer_dtype(months) or (months < 1).any():
        bad = histories.index[~months.apply(lambda v: isinstance(v, (int, np.integer)) and v >= 1)].tolist()[:1]
        raise ValueError(f"histories column 'months_observed' must be whole months >= 1; first bad row {bad}")
    unknown = ~histories["event"].isin(EVENTS)
    if unknown.any():
        row = histories.index[unknown.to_numpy()].tolist()[0]
        raise ValueError(f"histories column 'event' has unknown value {histories['event'][row]!r} in row {row!r}; "
                         f"known: {', '.join(EVENTS)}")
    edges = [0, *bands, np.inf]
    rows = []
    m = months.to_numpy()
    for grade, g in histories.groupby("grade", sort=True):
        gm, ge = g["months_observed"].to_numpy(), g["event"].to_numpy()
        for lo, hi in zip(edges[:-1], edges[1:]):
            exposure = np.clip(gm, lo, hi) - lo  # months at risk within the band
            in_band = (gm > lo) & (gm <= hi)
            for event in ("delinquency", "moveout"):
                n_events = int(np.sum(in_band & (ge == event)))
                at_risk = float(exposure.sum())
                h = n_events / at_risk if at_risk > 0 else float("nan")
                rows.append({"grade": grade, "band": f"{lo + 1}-{'' if hi == np.inf else int(hi)}", "event": event,
                             "events": n_events, "months_at_risk": at_risk, "hazard": h,
                             "standard_error": float(np.sqrt(h * (1 - h) / at_risk)) if at_risk > 0 else float("nan")})
    del m
    return pd.DataFrame(rows)


def simulate_histories(n_contracts: int, *, delinquency_hazard: Mapping, moveout_hazard: float, months: int,
                       seed: int) -> pd.DataFrame:
    """Contract histories from the engine's own assumptions (constant hazards, the missed
    rent checked before the move-out each month, observation ending at ``months``): the
    synthetic data :func:`fit_hazards` is tested on."""
    rng = np.random.default_rng(seed)
    grades = np.array(list(delinquency_hazard), dtype=object)
    grade = rng.choice(grades, n_contracts)
    h = np.array([delinquency_hazard[g] for g in grade])
    td = np.ceil(np.log1p(-rng.random(n_contracts)) / np.log1p(-h)).astype(np.int64)
    tm = np.ceil(np.log1p(-rng.random(n_contracts)) / np.log1p(-moveout_hazard)).astype(np.int64)
    t = np.minimum(np.minimum(td, tm), months)
    event = np.where((td <= tm) & (td <= months), "delinquency", np.where(tm <= months, "moveout", "censored"))
    return pd.DataFrame({"contract_id": np.arange(1, n_contracts + 1), "grade": grade, "months_observed": t,
                         "event": event})


# -- provenance -------------------------------------------------------------------------------------------
_SOURCE = re.compile(r"#\s*(.*)$")


def provenance(params_file: str | Path) -> pd.DataFrame:
    """Every number in a params file (and the files it extends) with its source comment.

    Columns: ``file``, ``parameter`` (key path), ``value``, ``source`` (the comment),
    ``kind``: ``fitted`` (the comment says fitted or calibrated), ``assumed`` (assumption)
    or ``sourced`` (a seed document or a DOMAIN.md figure).
    """
    path = Path(params_file)
    rows = []
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()

    def walk(node, keys):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, keys + [str(k.value)])
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, keys + [str(i)])
        elif isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float")):
            m = _SOURCE.search(lines[node.start_mark.line])
            source = m.group(1).strip() if m else ""
            low = source.lower()
            kind = "fitted" if ("fitted" in low or "calibrated" in low) else "assumed" if "assumption" in low else "sourced"
            rows.append({"file": path.name, "parameter": ".".join(keys), "value": node.value, "source": source,
                         "kind": kind})

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    walk(root, [])
    data = yaml.safe_load(text) or {}
    out = pd.DataFrame(rows, columns=["file", "parameter", "value", "source", "kind"])
    parent = data.get("extends")
    if parent:
        inherited = provenance(path.parent / parent)
        inherited = inherited[~inherited["parameter"].isin(out["parameter"])]
        out = pd.concat([inherited, out], ignore_index=True)
    return out
