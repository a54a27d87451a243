"""The quarter close: :func:`value_book` values the books in force on a valuation date and
gives finance its figures (:class:`Valuation`).

1. **Allowance on receivables** (貸倒引当金 on 求償債権), by ageing bucket: the receivable
   balance, its expected recovery (discounted at ``discount_annual_rate``), the allowance
   (balance less expected recovery) and its ratio, with the Monte Carlo mean, standard error
   and 99.5% quantile of the amount not recovered. A contract in collection's receivable
   recovers along its own path, oldest months first, with no further subrogation (its
   run-off, :mod:`actuarial.simulation.rent.inforce`); a closed one by the after-exit
   recovery (:mod:`.receivables`); a subrogated mortgage loan's by the sale of its
   collateral (:mod:`.mortgage`), in a row of its own.
2. **Provision for guarantee losses** (債務保証損失引当金), by stage: the expected future
   subrogation and costs less recoveries, JHF payouts and remittances on the contracts in
   force, over the next 12 months and to the horizon; for a contract in collection, less
   what its receivable's run-off recovers (that recovery is the allowance's); by product and
   stage, the mortgage loans staged by months delinquent (:mod:`.mortgage`). The booked
   figure is stage 1 at 12 months and stages 2 and 3 over their lifetime.
3. **Unearned fees** (前受収益 / 未経過保証料), rent and mortgage (:mod:`.fees`).
4. **The higher-of test** (IFRS 9 4.2.1(c)): for each product, the larger of the expected
   credit loss booked and the unearned fee.
5. **Cash flows by fiscal quarter and by fiscal year** of the rent book with the closed
   receivables, expected and with the Monte Carlo's quantiles; the mortgage book's by
   quarter apart (its scenarios are its own model's economies, not the rent book's).

Every figure is the exact expectation (:mod:`actuarial.simulation.exact_inforce`, the
mortgage oracle), beside the Monte Carlo mean and its standard error where a distribution
is shown.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

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
from .fees import unearned_rent_fees
from .mortgage import mortgage_stages, value_mortgage
from .receivables import check_inforce_book, receivable_recoveries, validate_receivables
from .settings import ValuationSettings
from .summary import scenario_summary

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
    cash_flows_by_year: pd.DataFrame
    contracts: pd.DataFrame
    n_scenarios: int
    seed: int
    z: np.ndarray  # each scenario's economic factor (the rent book's)
    mortgage_cash_flows: pd.DataFrame | None = None
    mortgage_loans: pd.DataFrame | None = None
    mortgage_cash_flows_by_year: pd.DataFrame | None = None
    credit_loss_by_scenario: dict | None = None  # product -> each scenario's lifetime credit loss

    def credit_loss(self) -> pd.DataFrame:
        """Each product's lifetime credit loss on the books in force and their receivables:
        the provision over the lifetime of every stage plus the allowance; exact, and the
        Monte Carlo mean, standard error and 99.5% quantile (the 1-in-200 figure) of each
        scenario's lifetime net loss plus its receivables' amount not recovered."""
        rows = []
        for product, losses in (self.credit_loss_by_scenario or {}).items():
            p = self.provision.xs(product, level="product")
            a = self.allowance.loc[self.allowance.index.str.startswith("mortgage") == (product == "mortgage")]
            rows.append((product, float(p["ecl_lifetime_yen"].sum() + a["allowance_yen"].sum()),
                         *scenario_summary(np.asarray(losses, dtype=float))))
        return pd.DataFrame(rows, columns=["product", "expected_yen", "mc_mean_yen", "mc_standard_error_yen",
                                           "q995_yen"]).set_index("product")

    def key_figures(self) -> dict:
        """The flat dict the batch collects: the totals finance books, by product and stage,
        and the lifetime credit loss (:meth:`credit_loss`)."""
        a, p = self.allowance, self.provision
        out = {"receivables_yen": float(a["receivable_yen"].sum()),
               "allowance_yen": float(a["allowance_yen"].sum()),
               "allowance_ratio": float(a["allowance_yen"].sum() / max(a["receivable_yen"].sum(), 1)),
               "provision_booked_yen": float(p["booked_yen"].sum())}
        for (product, stage), row in p.iterrows():
            out[f"provision_{product}_stage_{stage}_12_months_yen"] = float(row["ecl_12_months_yen"])
            out[f"provision_{product}_stage_{stage}_lifetime_yen"] = float(row["ecl_lifetime_yen"])
            out[f"provision_{product}_stage_{stage}_booked_yen"] = float(row["booked_yen"])
        for product, row in self.higher_of.iterrows():
            out[f"unearned_fees_{product}_yen"] = float(row["unearned_fee_yen"])
            out[f"higher_of_{product}_yen"] = float(row["measured_yen"])
        mortgage = a.index.str.startswith("mortgage")
        for product, rows in (("rent", ~mortgage), ("mortgage", mortgage)):
            if product in self.higher_of.index:
                out[f"allowance_{product}_yen"] = float(a.loc[rows, "allowance_yen"].sum())
                out[f"allowance_ratio_{product}"] = float(a.loc[rows, "allowance_yen"].sum()
                                                          / max(a.loc[rows, "receivable_yen"].sum(), 1))
                out[f"allowance_{product}_mc_mean_yen"] = float(a.loc[rows, "mc_allowance_yen"].sum())
        for product, row in self.credit_loss().iterrows():
            out[f"credit_loss_{product}_expected_yen"] = float(row["expected_yen"])
            out[f"credit_loss_{product}_mc_mean_yen"] = float(row["mc_mean_yen"])
            out[f"credit_loss_{product}_q995_yen"] = float(row["q995_yen"])
        out["n_scenarios"] = float(self.n_scenarios)  # what the simulated figures come from
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
        mortgage_stages(mortgage_book, mortgage_model, settings)  # checks the mortgage book before anything runs
    windows = _windows(model, settings)
    inforce = regroup(inforce, group, n_groups, windows)
    flows, grouped, z = simulate_prepared(inforce, model, n_scenarios, seed, threads=threads)
    exact_flows, walked = expected_prepared(inforce, rent_book, model)
    exact = walked @ windows.T  # groups x lines x windows
    perf = exact_flows[["subrogation", "costs", "recoveries", "jhf_payout", "jhf_remittance"]].to_numpy().T
    exact[0, :5] = perf @ windows.T - walked[:, :5].sum(axis=0) @ windows.T  # the performing contracts
    receivable = _closed_receivables(receivables, model, settings, z)
    mortgage = None if mortgage_book is None else value_mortgage(mortgage_book, mortgage_model, settings,
                                                                  n_scenarios=n_scenarios, seed=seed, threads=threads)
    allowance, unrecovered = _allowance_table(settings, bucket, state, arrears, group, grouped, exact, receivable,
                                              [] if mortgage is None else [mortgage.allowance_row])
    provision, lifetime = _provision_table(stage, state, group, grouped, exact, settings)
    credit_loss = {"rent": lifetime + unrecovered}
    if mortgage is not None:
        credit_loss["mortgage"] = mortgage.credit_loss_by_scenario
    if mortgage is not None:
        provision = pd.concat([provision, mortgage.provision])
    provision = provision.set_index(["product", "stage"])
    unearned = pd.DataFrame({"contracts": [len(rent_book)],
                             "unearned_fee_yen": [int(unearned_rent_fees(rent_book, model, settings, total).sum())],
                             "refunds_next_12_months_yen": [0.0]},  # rent-guarantee fees are not refunded
                            index=pd.Index(["rent"], name="product"))
    if mortgage is not None:
        unearned.loc["mortgage"] = [len(mortgage_book), mortgage.unearned_fee_yen, mortgage.refunds_next_12_months_yen]
    ecl = provision.groupby(level="product", sort=False)["booked_yen"].sum()
    higher = pd.DataFrame({"ecl_yen": ecl, "unearned_fee_yen": unearned["unearned_fee_yen"].astype(float)})
    higher["measured_yen"] = higher[["ecl_yen", "unearned_fee_yen"]].max(axis=1)
    higher["binding"] = np.where(higher["ecl_yen"] >= higher["unearned_fee_yen"], "expected credit loss",
                                 "unearned fee")
    higher.index.name = "product"
    sim_net, exact_net = _rent_net(model, flows, exact_flows, receivable)
    cash, by_year = (_by_period(settings, model.months, sim_net, exact_net, years) for years in (False, True))
    mortgage_cash, mortgage_years = (None, None) if mortgage is None else (
        _by_period(settings, mortgage_model.months, mortgage.simulated_net, mortgage.expected_net, years)
        for years in (False, True))
    contracts = pd.DataFrame({"contract_id": rent_book["contract_id"].to_numpy(), "stage": stage,
                              "months_owed": owed, "bucket": np.array(settings.bucket_labels())[bucket],
                              "receivable_yen": arrears})
    contracts.loc[state < 0, "bucket"] = ""
    return Valuation(settings, allowance, provision, unearned, higher, cash, by_year, contracts, n_scenarios, seed, z,
                     mortgage_cash, None if mortgage is None else mortgage.loans, mortgage_years, credit_loss)


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
    for lo in range(0, len(z), 256):  # scenarios a block at a time: 256 x receivables
        rec, rem, month = receivable_recoveries(receivables, model, z[lo: lo + 256])
        out["by_month"][lo: lo + 256] = (rec - rem) @ (month[:, None] == np.arange(T + 1)[None, :])
    out["by_scenario"] = out["by_month"] @ disc
    return out


def _allowance_table(settings, bucket, state, arrears, group, grouped, exact, closed, extra_rows) -> tuple:
    """The allowance table and, by scenario, the rent receivables' amount not recovered."""
    labels = settings.bucket_labels()
    n_open = len(labels) - 1
    rows, losses = [], []
    disc = WINDOWS.index("lifetime_discounted")
    for b in range(n_open):
        members = (state >= 0) & (bucket == b)
        balance = float(arrears[members].sum())
        gs = sorted({1 + s * n_open + b for s in range(3)})
        expected = float(_runoff(exact[gs][:, :, disc], 1).sum())
        unrecovered = balance - _runoff(grouped[:, gs][..., disc], 2).sum(axis=1)
        losses.append(unrecovered)
        rows.append((labels[b], int(members.sum()), balance, expected, *scenario_summary(unrecovered)))
    unrecovered = closed["balance"] - closed["by_scenario"]
    losses.append(unrecovered)
    rows.append((labels[-1], closed["count"], closed["balance"], closed["exact"], *scenario_summary(unrecovered)))
    t = pd.DataFrame(rows, columns=["bucket", "receivables", "receivable_yen", "expected_recovery_yen",
                                    "mc_allowance_yen", "mc_standard_error_yen", "unrecovered_q995_yen"])
    if extra_rows:
        t = pd.concat([t, pd.DataFrame(extra_rows)], ignore_index=True)
    t["allowance_yen"] = t["receivable_yen"] - t["expected_recovery_yen"]
    t["allowance_ratio"] = np.where(t["receivable_yen"] > 0, t["allowance_yen"] / t["receivable_yen"].clip(lower=1),
                                    0.0)
    return t.set_index("bucket")[["receivables", "receivable_yen", "expected_recovery_yen", "allowance_yen",
                                  "allowance_ratio", "mc_allowance_yen", "mc_standard_error_yen",
                                  "unrecovered_q995_yen"]], np.sum(losses, axis=0)


def _provision_table(stage, state, group, grouped, exact, settings) -> tuple:
    """The rent rows of the provision table and, by scenario, the lifetime net loss of every
    stage together."""
    n_open = len(settings.ageing_edges_months) + 1
    rows, lifetime = [], 0.0
    w12, wl = WINDOWS.index("12_months"), WINDOWS.index("lifetime")
    for s in (1, 2, 3):
        gs = [1 + (s - 1) * n_open + b for b in range(n_open)] + ([0] if s == 1 else [])
        e12, el = (float(_net(exact[gs], 1, w, w).sum()) for w in (w12, wl))
        m12, ml = (_net(grouped[:, gs], 2, w, w).sum(axis=1) for w in (w12, wl))
        booked = e12 if s == 1 else el
        lifetime = lifetime + ml
        rows.append(("rent", s, int((stage == s).sum()), e12, el, *scenario_summary(m12)[:2], *scenario_summary(ml)[:2],
                     "12 months" if s == 1 else "lifetime", booked))
    return pd.DataFrame(rows, columns=["product", "stage", "contracts", "ecl_12_months_yen", "ecl_lifetime_yen",
                                       "mc_12_months_yen", "mc_12_months_standard_error_yen", "mc_lifetime_yen",
                                       "mc_lifetime_standard_error_yen", "booked_basis", "booked_yen"]), lifetime


def _rent_net(model: RentModel, flows: np.ndarray, exact_flows: pd.DataFrame, closed: dict) -> tuple:
    """The rent book's and the closed receivables' net cash flow by scenario and month, and
    expected: fees, recoveries and JHF payouts in; subrogation, costs, premiums and
    remittances out."""
    sign = np.array([{"fees": 1, "subrogation": -1, "costs": -1, "recoveries": 1, "jhf_premium": -1,
                      "jhf_payout": 1, "jhf_remittance": -1}[name] for name in LINES])
    sim = (flows * sign[None, :, None]).sum(axis=1) + closed["by_month"]
    return sim, exact_flows.to_numpy() @ sign + closed["exact_by_month"]


def _by_period(settings: ValuationSettings, T: int, sim: np.ndarray, ex: np.ndarray, years: bool) -> pd.DataFrame:
    """Net cash flow (``sim`` by scenario and month 0..T, ``ex`` expected by month) summed by
    fiscal quarter, or by fiscal year: expected, simulated mean and standard error, and the
    Monte Carlo's :data:`QUANTILES`."""
    months = np.arange(1, T + 1)
    period = settings.fiscal_year(months) if years else settings.fiscal_quarter(months)
    frame = pd.DataFrame(sim[:, 1:].T, index=period).groupby(level=0, sort=False).sum()
    out = pd.DataFrame({"expected_yen": pd.Series(ex[1:], index=period).groupby(level=0, sort=False).sum(),
                        "mc_mean_yen": frame.mean(axis=1),
                        "mc_standard_error_yen": frame.std(axis=1, ddof=1) / np.sqrt(max(frame.shape[1], 1))})
    for q in QUANTILES:
        out[f"q{q * 100:g}_yen"] = frame.quantile(q, axis=1)
    ends = pd.Series(settings.month_end(months), index=period).groupby(level=0, sort=False)
    out.insert(0, "months", [f"{a:%Y-%m} to {b:%Y-%m}" for a, b in zip(ends.min(), ends.max(), strict=True)])
    out.index.name = "fiscal_year" if years else "fiscal_quarter"
    return out
