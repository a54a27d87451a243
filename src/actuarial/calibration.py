"""Fitting the default parameters to public figures (docs/domain.md), with residuals and provenance.

- :func:`fit_collection`: the collection chain's monthly exit probabilities to the MLIT
  funnel of 1,000 delinquencies (counts and timings), by least squares;
- :func:`fit_prepayment`: the PSJ plateau so that loans of the contracted term are repaid,
  on average, after the observed time;
- :func:`fit_hazards`: piecewise-constant monthly hazards by grade from contract histories,
  by maximum likelihood, with standard errors;
- :func:`provenance`: every number of a params file with its source, fitted or assumed;
- :func:`pnl_ratios`: a check, not a fit: the simulated loss per yen of fees beside a
  listed guarantor's accounts.

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

from .collection import (
    MLIT_EVENT_STATES,
    MLIT_FUNNEL,
    PAYMENT_EXITS,
    ROLE_TENANCY_ENDING_EXIT,
    STATES,
    TRANSIENT_STATES,
    CollectionChain,
    state_codes,
)
from .products.common import first_row, require_frame
from .simulation.exact import owed_after_month
from .simulation.rent import renewal_density


# -- collection -----------------------------------------------------------------------------------
def _rows(transitions: Mapping) -> list[tuple[str, list[str]]]:
    return [(state, list(row)) for state, row in transitions.items()]


def _to_transitions(x: np.ndarray, rows) -> dict:
    out, i = {}, 0
    for state, targets in rows:
        logits = np.append(x[i:i + len(targets)], 0.0)  # the last is "stay"
        p = np.exp(logits - logits.max())
        p /= p.sum()
        out[state] = {t: float(v) for t, v in zip(targets, p[:-1], strict=True)}
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
    (paid, paid_state), *events = MLIT_EVENT_STATES.items()
    rows = {paid: (1000 * np.mean(paths[:, 1] == idx[paid_state]), 1.0)}
    for event, state in events:
        hit = paths == idx[state]
        ever = hit.any(axis=1)
        first = hit.argmax(axis=1)[ever]
        rows[event] = (1000 * ever.mean(), float(first.mean()) if ever.any() else float("nan"))
    return pd.DataFrame({"simulated_per_1000": [rows[e][0] for e in MLIT_FUNNEL],
                         "simulated_months": [rows[e][1] for e in MLIT_FUNNEL]},
                        index=pd.Index(list(MLIT_FUNNEL), name="event"))


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
    ``actual_years`` on average (docs/domain.md §3.4: 25.7 vs 14.4 years in FY2014, 26.7 vs 15.7 in FY2019)."""
    if not 0 < actual_years < contracted_years:
        raise ValueError(f"actual_years must be in (0, contracted_years), "
                         f"got {actual_years!r} and {contracted_years!r}")
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
    ``moveout`` or ``censored``). The model is the engine's (and :func:`simulate_histories`'):
    each month at risk the first missed rent comes first, with probability ``h``, and only
    a month without one can end in a move-out, with probability ``mu``. With hazards constant
    in a band, the maximum-likelihood estimates are

    - ``h = D / M``, ``D`` the first missed rents in the band and ``M`` its months at risk;
    - ``mu = O / (M - D)``, ``O`` the move-outs: the months in which a move-out could be
      seen. ``O / M`` would estimate ``(1 - h) mu``, 26% low for a grade with ``h`` = 26%.

    Each with standard error ``sqrt(p (1 - p) / n)``, ``n`` its months (``months_at_risk``:
    ``M`` for the missed rent, ``M - D`` for the move-out). Bands end at the given months
    (the last open).
    """
    require_frame(histories, HISTORY_COLUMNS, "histories")
    months = histories["months_observed"]
    if not pd.api.types.is_integer_dtype(months) or (months < 1).any():
        bad = histories.index[~months.apply(lambda v: isinstance(v, (int, np.integer)) and v >= 1)].tolist()[:1]
        raise ValueError(f"histories column 'months_observed' must be whole months >= 1; first bad row {bad}")
    unknown = ~histories["event"].isin(EVENTS)
    if unknown.any():
        row, i = first_row(histories, unknown)
        raise ValueError(f"histories column 'event' has unknown value {histories['event'].iloc[i]!r} in row {row!r}; "
                         f"known: {', '.join(EVENTS)}")
    edges = [0, *bands, np.inf]
    rows = []
    for grade, g in histories.groupby("grade", sort=True):
        gm, ge = g["months_observed"].to_numpy(), g["event"].to_numpy()
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            exposure = np.clip(gm, lo, hi) - lo  # months at risk within the band
            in_band = (gm > lo) & (gm <= hi)
            missed = int(np.sum(in_band & (ge == "delinquency")))
            for event in ("delinquency", "moveout"):
                n_events = int(np.sum(in_band & (ge == event)))
                # a move-out can only be seen in a month without a first missed rent
                at_risk = float(exposure.sum()) - (missed if event == "moveout" else 0)
                h = n_events / at_risk if at_risk > 0 else float("nan")
                rows.append({"grade": grade, "band": f"{lo + 1}-{'' if hi == np.inf else int(hi)}", "event": event,
                             "events": n_events, "months_at_risk": at_risk, "hazard": h,
                             "standard_error": float(np.sqrt(h * (1 - h) / at_risk)) if at_risk > 0 else float("nan")})
    return pd.DataFrame(rows)


def against_generating(fit: pd.DataFrame, delinquency_hazard: Mapping, moveout_hazard: float) -> pd.DataFrame:
    """:func:`fit_hazards` with the values that generated the histories, when they are known
    (synthetic data): columns ``generating`` and ``z``, the fitted hazard's distance from it
    in standard errors under the generating value, ``(hazard - g) / sqrt(g (1 - g) / months
    at risk)``; defined even for a band without events (where the fit's own standard error
    is 0), NaN for a band nobody reached."""
    unknown = sorted(set(fit["grade"]) - set(delinquency_hazard))
    if unknown:
        raise ValueError(f"delinquency_hazard has no value for grade {unknown[0]!r} of the fit; "
                         f"it has {', '.join(map(repr, delinquency_hazard))}")
    out = fit.copy()
    out["generating"] = [moveout_hazard if e == "moveout" else delinquency_hazard[g]
                         for g, e in zip(fit["grade"], fit["event"], strict=True)]
    g = out["generating"].to_numpy(dtype=float)
    at_risk = out["months_at_risk"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = np.where(at_risk > 0, (out["hazard"].to_numpy() - g) / np.sqrt(g * (1 - g) / at_risk), np.nan)
    return out


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
    ``kind``: ``assumed`` (the comment starts with "assumption"), ``fitted`` (a source that
    was fitted or calibrated to a public figure) or ``sourced`` (a public document or a
    docs/domain.md figure taken as it is).
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
            if low.startswith("assumption"):
                kind = "assumed"
            elif low.startswith("source:") and ("fitted" in low or "calibrated" in low):
                kind = "fitted"
            else:
                kind = "sourced" if low.startswith("source:") else "assumed"
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


# -- delinquency level and concentration -------------------------------------------------------------------
#: Public figures for the level of arrears (docs/domain.md §1.3).
JPM_ARREARS = {"one_month": 0.008, "two_plus_months": 0.003}   # managers' end-of-month arrears, FY2022
LICC_LONG_ARREARS_LOSS_SHARE = 0.67                              # share of loss from the 0.73% in long arrears
LONG_ARREARS_MONTHS = 4                                          # "4+ months of arrears" (docs/domain.md §1.3)
#: Casa (listed rent guarantor), 9 months to October 2021, yen (docs/domain.md §1.3).
CASA_PNL_YEN = {"sales": 7_837_000_000, "bad_debt_provision": 1_743_000_000,
                "litigation_and_disposal_costs": 694_000_000}


#: How a delinquency's months late are counted at a month-end (:func:`arrears_prevalence`).
ARREARS_MEASURES = ("in_process", "months_owed")


def late_by_month(model, measure: str = "months_owed") -> tuple[np.ndarray, np.ndarray]:
    """``(one, two_plus)``: for one delinquency (dunning in relative month 0), the chance it
    counts as 1 month late, and as 2+ months late, at the end of relative month ``d``
    (``d = 0..T``), in the median economy. Either way a case counts only while the chain is
    still in the collection process the month after (a cure in month ``d + 1`` is taken as
    paid before the month-end, as JPM's managers would see it).

    - ``months_owed`` (JPM's reading, the one the hazards are fitted on): by the months of
      arrears owed after month ``d`` (one more for each month subrogated, up to the plan's
      cover of 24; a month of an installment plan repays ``installment_repayment_months``,
      as the engine has it), so a plan that has repaid down to one month is 1 month late
      and one that has repaid everything is not late.
    - ``in_process``: 1 month late at the end of month 0, 2+ months late at every later
      month-end while in the process: months since the missed rent, whatever a plan repaid
      (an earlier reading of the fit's; it counts plan months as arrears).
    """
    if measure not in ARREARS_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(ARREARS_MEASURES)}, got {measure!r}")
    T, K, cap = model.months, len(TRANSIENT_STATES), 24
    repays = state_codes().repays
    moves = model.chain.matrix[:K, :K]
    k = np.arange(cap + 1)
    repaid_to = k - np.minimum(k, model.installment_repayment_months)
    dist = np.zeros((K, cap + 1))  # (state in month d, months owed before month d)
    dist[0, 0] = 1.0
    one, two = np.zeros(T + 1), np.zeros(T + 1)
    for d in range(T + 1):
        owed = np.array([owed_after_month(dist[state], not repays[state], repaid_to) for state in range(K)])
        dist = moves.T @ owed  # next month's state, by the months owed after month d
        still = dist.sum(axis=0)
        if measure == "in_process":
            one[d], two[d] = (still.sum(), 0.0) if d == 0 else (0.0, still.sum())
        else:
            one[d], two[d] = still[1], still[2:].sum()
    return one, two


def book_average_hazard(model, grade_shares: Mapping) -> float:
    """The monthly hazard of a first missed rent averaged over the grades,
    ``sum_g share_g h_g`` (to set beside Casa's share of billings unpaid on the due date).

    >>> from actuarial.collection import CollectionChain
    >>> from actuarial.simulation import RentModel
    >>> chain = CollectionChain.from_transitions({"dunning": {"cure": 1.0}})
    >>> m = RentModel(chain=chain, plans={}, delinquency_hazard={"A": 0.05, "B": 0.2})
    >>> round(book_average_hazard(m, {"A": 0.75, "B": 0.25}), 4)
    0.0875
    """
    if set(grade_shares) != set(model.delinquency_hazard):
        raise ValueError("grade_shares must name the model's grades")
    return float(sum(share * model.delinquency_hazard[g] for g, share in grade_shares.items()))


def arrears_prevalence(model, grade_shares: Mapping, *, measure: str = "months_owed") -> dict:
    """The book's average share of contracts 1 month and 2+ months in arrears at a month-end
    over the horizon, exactly, in the median economy (z = 0), as the engine models it.

    Delinquencies start in month ``t0`` with density ``S(t0) = P_first(t0) + sum_s S(s) r(t0 - s)``
    (first ones ``q^(t0-1) h``; later ones after a cure, ``r`` as in the engine's renewal);
    one that started in ``t0`` counts at the end of month ``t`` as :func:`late_by_month`
    ``(measure)`` at ``d = t - t0``. Averaged over ``t = 1..T`` and over the grades. The
    hazards are fitted (:func:`fit_hazard_scale`) on ``months_owed``, the arrears actually
    owed (which depend on the assumed plan repayments); ``in_process`` is kept as a
    comparison.
    """
    if set(grade_shares) != set(model.delinquency_hazard):
        raise ValueError("grade_shares must name the model's grades")
    T = model.months
    late_one, late_two = late_by_month(model, measure)
    occ = model.chain.occupancy(T + 1)
    cured = np.diff(occ[list(PAYMENT_EXITS)].sum(axis=1).to_numpy(), prepend=0.0)
    one = two = 0.0
    for g, share in grade_shares.items():
        h = model.hazard(model.delinquency_hazard[g], 0.0)
        q = (1 - h) * (1 - model.moveout_hazard)
        r = renewal_density(cured[: T + 1], h, q)
        start = np.zeros(T + 1)
        for k in range(1, T + 1):
            start[k] = q ** (k - 1) * h + float((start[1:k] * r[k - np.arange(1, k)]).sum())
        # month-end t counts the delinquencies started in t0 = 1..t at d = t - t0 (start[0] = 0)
        one += share * float(np.convolve(start, late_one)[1:T + 1].mean())
        two += share * float(np.convolve(start, late_two)[1:T + 1].mean())
    return {"one_month": one, "two_plus_months": two}


def fit_hazard_scale(model, grade_shares: Mapping, target_two_plus: float = JPM_ARREARS["two_plus_months"], *,
                     measure: str = "months_owed") -> dict:
    """Scale the grades' monthly hazards (keeping their ratios) so the book's average share
    of contracts 2+ months in arrears (:func:`arrears_prevalence` by ``measure``) equals the
    JPM figure."""
    import dataclasses

    def with_scale(c):
        return dataclasses.replace(model, delinquency_hazard={g: h * c for g, h in model.delinquency_hazard.items()})

    top = 0.99 / max(model.delinquency_hazard.values())
    c = brentq(lambda c: arrears_prevalence(with_scale(c), grade_shares, measure=measure)["two_plus_months"]
               - target_two_plus, 1e-6, top, xtol=1e-12)
    return dict(with_scale(c).delinquency_hazard)


def long_arrears_loss_share(model, n_paths: int, seed: int, months_long: int = LONG_ARREARS_MONTHS) -> float:
    """Share of the collection loss (arrears not recovered, plus the suit and forced-execution
    costs, for a flat let at 100,000 yen) that comes from cases reaching ``months_long`` months
    of arrears, by simulation at z = 0."""
    paths = model.chain.sample_paths(n_paths, min(model.months, 120), np.random.default_rng(seed))
    k = len(TRANSIENT_STATES)
    codes = state_codes()
    in_process = paths[:, :-1] < k
    subrogating = in_process & ~codes.repays[paths[:, :-1]]
    months = np.minimum(subrogating.sum(axis=1), 24)
    final = paths[:, -1]
    ending = codes.role[final] == ROLE_TENANCY_ENDING_EXIT
    entry_cost = model.entry_costs_yen(monthly_total_yen=100_000)  # the flat of the nominal 100,000 rent below
    entered = paths[:, 1:] != paths[:, :-1]  # each state entered costs its entry cost, as in the engines
    cost = np.where(entered, entry_cost[paths[:, 1:]], 0).sum(axis=1)
    loss = np.where(ending, months * (1 - model.recovery_rate), 0.0) * 100_000 + cost
    total = loss.sum()
    return float(loss[months >= months_long].sum() / total) if total > 0 else float("nan")


def pnl_ratios(losses: pd.DataFrame) -> pd.DataFrame:
    """The collection loss per yen of fee income, from a rent simulation's per-scenario
    totals (``SimulationResult.losses``), beside the same ratios of a listed guarantor's
    accounts (:data:`CASA_PNL_YEN`): a check on the level of the whole model, hazards,
    chain, recoveries, costs and fees together, which no single fit targets.

    Defined as, with means over the scenarios:

    - ``credit loss / fees`` = mean(subrogation - recoveries) / mean(fees); Casa: bad-debt
      provision (貸倒引当金繰入額) / sales;
    - ``collection costs / fees`` = mean(costs) / mean(fees); Casa: litigation and disposal
      costs / sales;
    - ``together``: their sum.

    The JHF lines are left out (Casa's figures are before any such insurance).
    ``standard_error`` is the Monte Carlo error of the model's ratio (the fees are the
    same in every scenario). Columns ``model``, ``standard_error``, ``casa``.

    >>> losses = pd.DataFrame({"fees": [100.0, 100.0], "subrogation": [500.0, 700.0],
    ...                        "recoveries": [480.0, 640.0], "costs": [10.0, 30.0]})
    >>> pnl_ratios(losses)["model"].round(4).tolist()
    [0.4, 0.2, 0.6]
    """
    columns = ("fees", "subrogation", "recoveries", "costs")
    require_frame(losses, columns, "losses", allow_empty=False, numeric=True)
    fees = float(losses["fees"].mean())
    if not fees > 0:
        raise ValueError(f"losses: column 'fees' must have a positive mean, got {fees!r}")
    credit = losses["subrogation"] - losses["recoveries"]
    parts = {"credit loss / fees": credit, "collection costs / fees": losses["costs"],
             "together": credit + losses["costs"]}
    n = len(losses)
    sales = CASA_PNL_YEN["sales"]
    casa = {"credit loss / fees": CASA_PNL_YEN["bad_debt_provision"] / sales,
            "collection costs / fees": CASA_PNL_YEN["litigation_and_disposal_costs"] / sales}
    casa["together"] = casa["credit loss / fees"] + casa["collection costs / fees"]
    return pd.DataFrame({
        "model": {k: float(v.mean()) / fees for k, v in parts.items()},
        "standard_error": {k: (float(v.std(ddof=1)) / np.sqrt(n) / fees if n > 1 else float("nan"))
                           for k, v in parts.items()},
        "casa": casa,
    })
