"""The quarter close: :func:`value_book` values the books in force on a valuation date and
gives finance its figures (:class:`Valuation`).

1. **Allowance on receivables** (貸倒引当金 on 求償債権), by ageing bucket: the receivable
   balance, its expected recovery (discounted at ``discount_annual_rate``), the allowance
   (balance less expected recovery) and its ratio, with the Monte Carlo mean, standard error
   and 99.5% quantile of the amount not recovered. A contract in collection's receivable
   recovers along its own path, oldest months first, with no further subrogation (its
   run-off, :mod:`actuarial.simulation.rent.inforce`); a closed one by the after-exit
   recovery (:mod:`.receivables`).
2. **Provision for guarantee losses** (債務保証損失引当金), by stage: the expected future
   subrogation and costs less recoveries, JHF payouts and remittances on the contracts in
   force, over the next 12 months and to the horizon; for a contract in collection, less
   what its receivable's run-off recovers (that recovery is the allowance's). The booked figure is
   stage 1 at 12 months and stages 2 and 3 over their lifetime.
3. **Unearned fees** (前受収益 / 未経過保証料), rent and mortgage (:mod:`.fees`).
4. **The higher-of test** (IFRS 9 4.2.1(c)): for each product, the larger of the expected
   credit loss booked and the unearned fee.
5. **Cash flows by fiscal quarter** of the rent book and the closed receivables (not the
   mortgage book), expected and with the Monte Carlo's quantiles.

Every figure is the exact expectation (:mod:`actuarial.simulation.exact_inforce`, the
mortgage oracle), beside the Monte Carlo mean and its standard error where a distribution
is shown.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..simulation.exact import expected_mortgage_cash_flows
from ..simulation.exact_inforce import expected_prepared
from ..simulation.mortgage import MortgageModel
from ..simulation.rent import LINES, RentModel, factor_nodes
from ..simulation.rent.inforce import (
    WALK_LINES,
    InforceBook,
    prepare_inforce,
    regroup,
    simulate_prepared,
    state_of,
)
from .fees import unearned_mortgage_fees, unearned_rent_fees
from .receivables import check_inforce_book, receivable_recoveries, validate_receivables
from .settings import ValuationSettings

_W = {name: i for i, name in enumerate(WALK_LINES)}
#: The windows each group's flows are summed over: months 1-12, months 1-T, and months 1-T
#: discounted.
WINDOWS = ("12_months", "lifetime", "lifetime_discounted")
#: The Monte Carlo quantiles of the quarterly cash flows.
QUANTILES = (0.005, 0.5, 0.995)


@dataclasses.dataclass(frozen=True)
class Valuation:
    """A quarter close's figures (see the module docstring); tables in yen."""

    settings: ValuationSettings
    allowance: pd.DataFrame
    provision: pd.DataFrame
    unearned: pd.DataFrame
    higher_of: pd.DataFrame
    cash_flows: pd.DataFrame
    contracts: pd.DataFrame
    n_scenarios: int
    seed: int
    z: np.ndarray  # each scenario's economic factor

    def key_figures(self) -> dict:
        """The flat dict the batch collects: the totals finance books."""
        a, p = self.allowance, self.provision
        out = {"receivables_yen": float(a["receivable_yen"].sum()),
               "allowance_yen": float(a["allowance_yen"].sum()),
               "allowance_ratio": float(a["allowance_yen"].sum() / max(a["receivable_yen"].sum(), 1)),
               "provision_booked_yen": float(p["booked_yen"].sum())}
        for stage, row in p.iterrows():
            out[f"provision_stage_{stage}_12_months_yen"] = float(row["ecl_12_months_yen"])
            out[f"provision_stage_{stage}_lifetime_yen"] = float(row["ecl_lifetime_yen"])
        for product, row in self.higher_of.iterrows():
            out[f"unearned_fees_{product}_yen"] = float(row["unearned_fee_yen"])
            out[f"higher_of_{product}_yen"] = float(row["measured_yen"])
        return out


def _stages_and_buckets(book: pd.DataFrame, inforce: InforceBook, settings: ValuationSettings):
    """Each contract's monthly total, state code, months owed, stage and ageing bucket,
    receivable, and its output group: 0 performing, else ``1 + (stage - 1) x B + bucket``
    with ``B`` the open buckets; and the number of groups. ``inforce`` is the book laid out
    (:func:`~actuarial.simulation.rent.inforce.prepare_inforce`), which checked it."""
    full = inforce.full
    total = np.empty_like(full.total)
    total[full.position] = full.total
    state = state_of(book)
    owed = book["months_subrogated"].to_numpy(np.int64) if "months_subrogated" in book.columns else 0 * total
    arrears = owed * total  # checked: the arrears are the months owed times the total
    stage = settings.stage(state, owed)
    bucket = settings.bucket(owed)
    n_open = len(settings.ageing_edges_months) + 1
    group = np.where(state >= 0, 1 + (stage - 1) * n_open + bucket, 0)
    return total, state, owed, stage, bucket, arrears, group, 1 + 3 * n_open


def _windows(model: RentModel, settings: ValuationSettings) -> np.ndarray:
    T = model.months
    t = np.arange(T + 1)
    return np.stack([(t >= 1) & (t <= 12), t >= 1, (t >= 1) * settings.discount(t)]).astype(float)


def _net(x: np.ndarray, axis_lines: int, losses: int, gains: int) -> np.ndarray:
    """Future net loss from the walk lines (``x``, windows on the last axis): subrogation and
    costs in window ``losses``, less recoveries and payouts net of remittances in window
    ``gains``, except what the receivable's run-off recovers (the allowance holds it)."""
    take = lambda name, w: np.take(x[..., w], _W[name], axis=axis_lines)  # noqa: E731
    return (take("subrogation", losses) + take("costs", losses) - take("recoveries", gains)
            - take("jhf_payout", gains) + take("jhf_remittance", gains) + _runoff(x[..., gains], axis_lines))


def _runoff(x: np.ndarray, axis_lines: int) -> np.ndarray:
    take = lambda name: np.take(x, _W[name], axis=axis_lines)  # noqa: E731
    return take("runoff_recoveries") + take("runoff_jhf_payout") - take("runoff_jhf_remittance")


def value_book(rent_book: pd.DataFrame, model: RentModel, settings: ValuationSettings, *,
               receivables: pd.DataFrame | None = None, mortgage_book: pd.DataFrame | None = None,
               mortgage_model: MortgageModel | None = None, n_scenarios: int = 1_000, seed: int = 0,
               threads: int | None = None) -> Valuation:
    """Value the books in force on ``settings.valuation_date`` (module docstring).

    ``rent_book`` has the engine's columns, ``contract_id``, ``start_month`` (0 or less:
    months since the contract started, negative) and optionally the status columns
    (:data:`~actuarial.simulation.rent.inforce.STATUS_COLUMNS`); ``receivables`` the closed
    receivables (:data:`~.receivables.RECEIVABLE_COLUMNS`); ``mortgage_book`` the mortgage
    loans in force with their model. Everything is checked before anything runs."""
    if not isinstance(settings, ValuationSettings):
        raise ValueError(f"settings must be ValuationSettings, got {type(settings).__name__}")
    check_inforce_book(rent_book)
    if receivables is not None:
        validate_receivables(receivables)
    if (mortgage_book is None) != (mortgage_model is None):
        raise ValueError("mortgage_book and mortgage_model go together")
    inforce = prepare_inforce(rent_book, model, what="rent book")
    total, state, owed, stage, bucket, arrears, group, n_groups = _stages_and_buckets(rent_book, inforce, settings)
    if mortgage_book is not None:
        mortgage_unearned = unearned_mortgage_fees(mortgage_book, mortgage_model)  # checks the mortgage book
    windows = _windows(model, settings)
    inforce = regroup(inforce, group, n_groups, windows)
    flows, grouped, z = simulate_prepared(inforce, model, n_scenarios, seed, threads=threads)
    exact_flows, walked = expected_prepared(inforce, rent_book, model)
    exact = walked @ windows.T  # groups x lines x windows
    perf = exact_flows[["subrogation", "costs", "recoveries", "jhf_payout", "jhf_remittance"]].to_numpy().T
    exact[0, :5] = perf @ windows.T - walked[:, :5].sum(axis=0) @ windows.T  # the performing contracts
    receivable = _closed_receivables(receivables, model, settings, z)
    allowance = _allowance_table(settings, bucket, state, arrears, group, grouped, exact, receivable)
    provision = _provision_table(stage, state, group, grouped, exact, settings)
    unearned = pd.DataFrame({"contracts": [len(rent_book)],
                             "unearned_fee_yen": [int(unearned_rent_fees(rent_book, model, settings, total).sum())],
                             "refunds_next_12_months_yen": [0.0]},  # rent-guarantee fees are not refunded
                            index=pd.Index(["rent"], name="product"))
    ecl = {"rent": float(provision["booked_yen"].sum())}
    cash = _quarterly(settings, model, flows, exact_flows, receivable)
    if mortgage_book is not None:
        mflows = expected_mortgage_cash_flows(mortgage_book, mortgage_model)
        t = np.arange(len(mflows))
        # every loan performing: stage 1, the loss on the defaults of the next 12 months (their
        # collateral is sold recovery_delay_months later)
        sold_by = 12 + mortgage_model.recovery_delay_months
        ecl["mortgage"] = float(mflows["subrogation"].to_numpy()[(t >= 1) & (t <= 12)].sum()
                                - mflows["recoveries"].to_numpy()[(t >= 1) & (t <= sold_by)].sum())
        refunds = float(mflows["refunds"].to_numpy()[(t >= 1) & (t <= 12)].sum())
        unearned.loc["mortgage"] = [len(mortgage_book), int(mortgage_unearned.sum()), refunds]
    higher = pd.DataFrame({"ecl_yen": pd.Series(ecl), "unearned_fee_yen": unearned["unearned_fee_yen"].astype(float)})
    higher["measured_yen"] = higher[["ecl_yen", "unearned_fee_yen"]].max(axis=1)
    higher["binding"] = np.where(higher["ecl_yen"] >= higher["unearned_fee_yen"], "expected credit loss",
                                 "unearned fee")
    higher.index.name = "product"
    contracts = pd.DataFrame({"contract_id": rent_book["contract_id"].to_numpy(), "stage": stage,
                              "months_owed": owed, "bucket": np.array(settings.bucket_labels())[bucket],
                              "receivable_yen": arrears})
    contracts.loc[state < 0, "bucket"] = ""
    return Valuation(settings, allowance, provision, unearned, higher, cash, contracts, n_scenarios, seed, z)


def _closed_receivables(receivables, model: RentModel, settings: ValuationSettings, z: np.ndarray) -> dict:
    """The closed receivables' balance, exact expected recovery net of remittance
    (discounted), each scenario's (discounted) and their expected and simulated flows by
    month."""
    T = model.months
    out = {"balance": 0.0, "exact": 0.0, "by_scenario": np.zeros(len(z)), "exact_by_month": np.zeros(T + 1),
           "by_month": np.zeros((len(z), T + 1)), "count": 0}
    if receivables is None or receivables.empty:
        return out
    out["balance"], out["count"] = float(receivables["balance_yen"].sum()), len(receivables)
    disc = settings.discount(np.arange(T + 1))
    for zi, wz in zip(*factor_nodes(24), strict=True):
        rec, rem, month = receivable_recoveries(receivables, model, float(zi))
        np.add.at(out["exact_by_month"], month, wz * (rec - rem))
    out["exact"] = float(out["exact_by_month"] @ disc)
    for s, zs in enumerate(z):
        rec, rem, month = receivable_recoveries(receivables, model, float(zs))
        np.add.at(out["by_month"][s], month, rec - rem)
    out["by_scenario"] = out["by_month"] @ disc
    return out


def _summary(x: np.ndarray) -> tuple[float, float, float]:
    """Mean, standard error and 99.5% quantile of per-scenario values."""
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")
    return float(x.mean()), se, float(np.quantile(x, 0.995))


def _allowance_table(settings, bucket, state, arrears, group, grouped, exact, closed) -> pd.DataFrame:
    labels = settings.bucket_labels()
    n_open = len(labels) - 1
    rows = []
    disc = WINDOWS.index("lifetime_discounted")
    for b in range(n_open):
        members = (state >= 0) & (bucket == b)
        balance = float(arrears[members].sum())
        gs = sorted({1 + s * n_open + b for s in range(3)})
        expected = float(_runoff(exact[gs][:, :, disc], 1).sum())
        unrecovered = balance - _runoff(grouped[:, gs][..., disc], 2).sum(axis=1)
        rows.append((labels[b], int(members.sum()), balance, expected, *_summary(unrecovered)))
    unrecovered = closed["balance"] - closed["by_scenario"]
    rows.append((labels[-1], closed["count"], closed["balance"], closed["exact"], *_summary(unrecovered)))
    t = pd.DataFrame(rows, columns=["bucket", "receivables", "receivable_yen", "expected_recovery_yen",
                                    "mc_allowance_yen", "mc_standard_error_yen", "unrecovered_q995_yen"])
    t["allowance_yen"] = t["receivable_yen"] - t["expected_recovery_yen"]
    t["allowance_ratio"] = np.where(t["receivable_yen"] > 0, t["allowance_yen"] / t["receivable_yen"].clip(lower=1),
                                    0.0)
    return t.set_index("bucket")[["receivables", "receivable_yen", "expected_recovery_yen", "allowance_yen",
                                  "allowance_ratio", "mc_allowance_yen", "mc_standard_error_yen",
                                  "unrecovered_q995_yen"]]


def _provision_table(stage, state, group, grouped, exact, settings) -> pd.DataFrame:
    n_open = len(settings.ageing_edges_months) + 1
    rows = []
    w12, wl = WINDOWS.index("12_months"), WINDOWS.index("lifetime")
    for s in (1, 2, 3):
        gs = [1 + (s - 1) * n_open + b for b in range(n_open)] + ([0] if s == 1 else [])
        e12, el = (float(_net(exact[gs], 1, w, w).sum()) for w in (w12, wl))
        m12, ml = (_net(grouped[:, gs], 2, w, w).sum(axis=1) for w in (w12, wl))
        booked = e12 if s == 1 else el
        rows.append((s, int((stage == s).sum()), e12, el, *_summary(m12)[:2], *_summary(ml)[:2],
                     "12 months" if s == 1 else "lifetime", booked))
    return pd.DataFrame(rows, columns=["stage", "contracts", "ecl_12_months_yen", "ecl_lifetime_yen",
                                       "mc_12_months_yen", "mc_12_months_standard_error_yen", "mc_lifetime_yen",
                                       "mc_lifetime_standard_error_yen", "booked_basis", "booked_yen"]
                        ).set_index("stage")


def _quarterly(settings: ValuationSettings, model: RentModel, flows: np.ndarray, exact_flows: pd.DataFrame,
               closed: dict) -> pd.DataFrame:
    """The rent book's and the closed receivables' net cash flow by fiscal quarter: fees,
    recoveries and JHF payouts in; subrogation, costs, premiums and remittances out."""
    sign = np.array([{"fees": 1, "subrogation": -1, "costs": -1, "recoveries": 1, "jhf_premium": -1,
                      "jhf_payout": 1, "jhf_remittance": -1}[name] for name in LINES])
    T = model.months
    months = np.arange(1, T + 1)
    quarter = settings.fiscal_quarter(months)
    sim = (flows[:, :, 1:] * sign[None, :, None]).sum(axis=1) + closed["by_month"][:, 1:]
    ex = exact_flows.to_numpy()[1:] @ sign + closed["exact_by_month"][1:]
    frame = pd.DataFrame(sim.T, index=quarter).groupby(level=0, sort=False).sum()
    out = pd.DataFrame({"expected_yen": pd.Series(ex, index=quarter).groupby(level=0, sort=False).sum(),
                        "mc_mean_yen": frame.mean(axis=1),
                        "mc_standard_error_yen": frame.std(axis=1, ddof=1) / np.sqrt(max(frame.shape[1], 1))})
    for q in QUANTILES:
        out[f"q{q * 100:g}_yen"] = frame.quantile(q, axis=1)
    ends = pd.Series(settings.month_end(months), index=quarter).groupby(level=0, sort=False)
    out.insert(0, "months", [f"{a:%Y-%m} to {b:%Y-%m}" for a, b in zip(ends.min(), ends.max(), strict=True)])
    out.index.name = "fiscal_quarter"
    return out
