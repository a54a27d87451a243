"""The movement analysis (analysis of change): a bridge, figure by figure, from the opening
quarter close to the closing one (:func:`movement`).

Each step is the difference between two valuations of the quarter close
(:func:`~actuarial.valuation.value_book`), each figure rounded half up to the yen first, so
the steps add up to the yen from the opening figure to the closing one, for the exact
figures and the Monte Carlo ones alike. The valuations, in order:

0. the opening books on the opening assumptions, at the opening date;
1. **unwind**: the opening books rolled forward to the closing date by the opening model
   (:mod:`~actuarial.valuation.rollforward`: one draw of the quarter's months), valued on
   the opening assumptions at the closing date: what the opening book was expected to
   become, with no new business;
2. **experience**: the closing books' contracts that the opening rent book had (matched by
   ``contract_id``; mortgage loans by ``loan_id``) and every closed receivable of the
   closing file, on the opening assumptions: what happened instead;
3. **new business**: the whole closing books, on the opening assumptions;
4. **assumption changes**: the closing params applied one section at a time, in
   :data:`ASSUMPTION_ORDER`, each a step of its own (sections that do not differ are left
   out), then the closing quarter's scenario count and seed if they differ;
5. **model changes**: for runs, what the code that produced each run's recorded figures
   gives beyond this code's recomputation of them: (recorded closing - recomputed closing)
   + (recomputed opening - recorded opening); nothing for params files, which this code
   values on both sides;
6. the closing figure: recorded (a run) or the last valuation (params files).

Every valuation before the scenario-count step uses the opening quarter's scenario count
and seed: common random numbers, so the economies of every scenario are the same in each.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..params import Scenario
from ..simulation.mortgage import MortgageModel
from ..simulation.rent import RentModel
from ..valuation import value_book
from ..valuation.rollforward import roll_forward_mortgage, roll_forward_rent
from .inputs import MovementError, Quarter, load_books

#: The params sections a quarter close reads, in the order the assumption changes are applied,
#: with the label each step carries.
ASSUMPTION_ORDER = (
    ("rent_model", "rent model: hazards, economy, recovery"),
    ("collection", "collection chain and its costs"),
    ("rent_plans", "rent-guarantee fee plans"),
    ("jhf", "JHF insurance terms"),
    ("mortgage_model", "mortgage model"),
    ("mortgage_fee", "mortgage fee schedule"),
    ("valuation", "valuation settings: stages, buckets, discount, fee earning"),
)
#: The valuation keys that are not assumptions: the date and the books are the other steps'.
NOT_ASSUMPTIONS = ("valuation_date", "rent_book_csv", "receivables_csv", "mortgage_book_csv", "synthetic_contracts",
                   "synthetic_loans")
SCENARIOS_STEP = "Monte Carlo scenarios and seed"


def bridge_figures(figures: dict) -> dict:
    """The figures a movement bridges, from a quarter close's key figures
    (:meth:`~actuarial.valuation.Valuation.key_figures`), in a fixed order: receivables,
    allowance (total, by product, simulated mean), booked provision (total, by product and
    stage), unearned fees, the higher-of, and the lifetime credit loss (exact, simulated mean,
    99.5% quantile)."""
    order = ("receivables_yen", "allowance_yen", "allowance_rent", "allowance_mortgage", "provision_booked_yen",
             "provision_rent_stage", "provision_mortgage_stage", "unearned_fees", "higher_of", "credit_loss")
    picked = {}
    for prefix in order:
        for name, value in figures.items():
            if name.startswith(prefix) and name not in picked and not name.endswith(("_12_months_yen",
                                                                                       "_lifetime_yen")):
                picked[name] = value
    return picked


def bridge_label(name: str) -> str:
    """A bridged figure's name as a person reads it (the movement's own words: the bridge
    names its figures by product and stage, where :func:`~actuarial.workbook.figure_label`
    spells out any key figure word by word).

    >>> bridge_label("provision_rent_stage_2_booked_yen")
    'provision booked, rent, stage 2'
    >>> bridge_label("credit_loss_mortgage_q995_yen")
    'lifetime credit loss, mortgage, 99.5% quantile'
    """
    words = {"receivables_yen": "receivables (rent and mortgage)", "allowance_yen": "allowance (rent and mortgage)",
             "provision_booked_yen": "provision booked (rent and mortgage)"}
    if name in words:
        return words[name]
    n = name.removesuffix("_yen")
    for head, text in (("allowance_", "allowance"), ("provision_", "provision booked"),
                       ("unearned_fees_", "unearned fees"), ("higher_of_", "higher-of measure"),
                       ("credit_loss_", "lifetime credit loss")):
        if n.startswith(head):
            rest = n[len(head):].removesuffix("_booked").split("_")
            tail = {"mc": "simulated mean", "q995": "99.5% quantile", "expected": "exact"}
            parts = [rest[0]] + (["stage " + rest[2]] if rest[1:2] == ["stage"] else
                                 [tail.get(rest[1], " ".join(rest[1:]))] if len(rest) > 1 else [])
            return ", ".join([text, *parts])
    return n.replace("_", " ")


def readable_bridge(bridge: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The bridge with readable figure labels (:func:`bridge_label`) and short step names:
    the assumption steps numbered ``assumptions 1``, ``2``..., with the legend of what each
    is."""
    names, legend = {}, []
    for col in bridge.columns:
        if col.startswith("assumptions: "):
            names[col] = f"assumptions {len(legend) + 1}"
            legend.append(f"assumptions {len(legend) + 1}: {col[len('assumptions: '):]}")
    table = bridge.rename(columns=names)
    table.index = [bridge_label(n) for n in table.index]
    return table, legend


def to_yen(x: float) -> int:
    """A figure rounded half up to the yen (the movement's one rounding)."""
    return int(math.floor(float(x) + 0.5))


@dataclasses.dataclass(frozen=True)
class Movement:
    """A movement's bridge (figures x steps, integer yen, the steps summing from ``opening``
    to ``closing``), what each valuation was, and the quarter's activity."""

    bridge: pd.DataFrame
    valuations: pd.DataFrame
    activity: pd.DataFrame
    months: int
    notes: list


#: The longest movement: ten years (the roll-forward's limit).
MAX_MOVEMENT_MONTHS = 120


def months_between(opening: Quarter, closing: Quarter) -> int:
    """The months from the opening quarter's date to the closing one's: 1 to
    :data:`MAX_MOVEMENT_MONTHS`, or :class:`MovementError` naming both quarters and dates."""
    a, b = opening.valuation_date, closing.valuation_date
    months = (b.year - a.year) * 12 + b.month - a.month
    if months < 1:
        raise MovementError(f"the opening quarter ({opening.label}, valued {a:%Y-%m-%d}) must come at least a month "
                            f"before the closing one ({closing.label}, valued {b:%Y-%m-%d}); give the earlier one "
                            f"first")
    if months > MAX_MOVEMENT_MONTHS:
        raise MovementError(f"the closing quarter ({closing.label}, valued {b:%Y-%m-%d}) is {months} months after "
                            f"the opening one ({opening.label}, valued {a:%Y-%m-%d}); a movement bridges at most "
                            f"{MAX_MOVEMENT_MONTHS} months (is a date mistyped?)")
    return months


def _distinct_books(opening: Quarter, closing: Quarter) -> None:
    """The two quarters name different book files (the same files would bridge a quarter to
    itself: every change an experience exactly undoing the unwind)."""
    for key in ("rent_book_csv", "receivables_csv", "mortgage_book_csv"):
        a, b = (getattr(q.scenario.valuation, key) for q in (opening, closing))
        if a and b and (opening.folder / a).resolve() == (closing.folder / b).resolve():
            raise MovementError(f"both quarters name the same {key} ({(closing.folder / b).resolve()}); the closing "
                                f"quarter needs its own books, made at its own date")


def _check_books(label: str, scenario: Scenario, books: dict) -> None:
    """The books of one valuation, checked by the engines against its params (a plan or a
    grade the params do not have, a receivable out of bounds); :class:`MovementError` naming
    the step."""
    from ..simulation.mortgage_book import validate_mortgage_book
    from ..simulation.rent.inforce import prepare_inforce
    from ..valuation import check_inforce_book, validate_receivables

    try:
        check_inforce_book(books["rent"])
        prepare_inforce(books["rent"], RentModel.from_params(scenario), what="rent book")
        validate_receivables(books["receivables"])
        if "mortgage" in books:
            validate_mortgage_book(books["mortgage"], MortgageModel.from_params(scenario), "mortgage book")
    except ValueError as exc:
        raise MovementError(f"the {label} step cannot be valued: its books do not fit its params: {exc}") from None


def _hybrid(opening: Scenario, closing: Scenario, sections, valuation_date) -> Scenario:
    """The opening params with ``sections`` taken from the closing ones, valued at
    ``valuation_date``."""
    data = opening.model_dump(mode="json")
    later = closing.model_dump(mode="json")
    for section in sections:
        if section == "valuation":
            data["valuation"] = {**later["valuation"], **{k: data["valuation"][k] for k in NOT_ASSUMPTIONS}}
        else:
            data[section] = later[section]
    data["valuation"]["valuation_date"] = valuation_date.isoformat()
    try:
        return Scenario.model_validate(data)
    except ValueError as exc:
        raise MovementError(f"the opening params with the closing {', '.join(sections) or 'date'} do not hold "
                            f"together, so that step cannot be valued alone: {exc}") from None


def _value(scenario: Scenario, books: dict, n_scenarios: int, seed: int) -> dict:
    model = RentModel.from_params(scenario)
    mortgage = books.get("mortgage")
    mortgage_model = None if mortgage is None else MortgageModel.from_params(scenario)
    v = value_book(books["rent"], model, scenario.valuation.settings(), receivables=books["receivables"],
                   mortgage_book=mortgage, mortgage_model=mortgage_model, n_scenarios=n_scenarios, seed=seed)
    return {k: to_yen(x) for k, x in bridge_figures(v.key_figures()).items()}


def _changed_sections(opening: Scenario, closing: Scenario) -> list[str]:
    a, b = opening.model_dump(mode="json"), closing.model_dump(mode="json")
    out = []
    for section, _ in ASSUMPTION_ORDER:
        x, y = a.get(section), b.get(section)
        if section == "valuation":
            x, y = ({k: v for k, v in d.items() if k not in NOT_ASSUMPTIONS} for d in (x, y))
        if x != y:
            out.append(section)
    return out


#: The bridged figures the batch's key figures carry, with the steps each is summarised by.
SUMMARY_FIGURES = ("allowance_yen", "provision_booked_yen", "unearned_fees_rent_yen", "unearned_fees_mortgage_yen",
                   "credit_loss_rent_expected_yen", "credit_loss_rent_q995_yen", "credit_loss_mortgage_expected_yen",
                   "credit_loss_mortgage_q995_yen")
SUMMARY_STEPS = ("opening", "unwind", "experience", "new business", "assumptions", "model changes", "closing")


def summary_figures(bridge: pd.DataFrame) -> dict:
    """The key figures of a movement: for each of :data:`SUMMARY_FIGURES` the bridge has,
    ``<figure>_<step>_yen`` for each of :data:`SUMMARY_STEPS` in order, the assumption steps
    summed into one (so that the figures still add up from opening to closing).

    >>> bridge = pd.DataFrame({"opening": [10], "unwind": [-1], "experience": [2], "new business": [3],
    ...                        "assumptions: a": [1], "assumptions: b": [-2], "model changes": [0], "closing": [13]},
    ...                       index=["allowance_yen"])
    >>> summary_figures(bridge)
    {'allowance_opening_yen': 10, 'allowance_unwind_yen': -1, 'allowance_experience_yen': 2, \
'allowance_new_business_yen': 3, 'allowance_assumptions_yen': -1, 'allowance_model_changes_yen': 0, \
'allowance_closing_yen': 13}
    """
    assumptions = [c for c in bridge.columns if c.startswith("assumptions")]
    out = {}
    for name in SUMMARY_FIGURES:
        if name in bridge.index:
            row = bridge.loc[name]
            for step in SUMMARY_STEPS:
                value = row[assumptions].sum() if step == "assumptions" else row[step]
                out[f"{name.removesuffix('_yen')}_{step.replace(' ', '_')}_yen"] = int(value)
    return out


def _flat(value, prefix: str) -> dict:
    if isinstance(value, dict):
        return {k: v for key, inner in value.items() for k, v in _flat(inner, f"{prefix}.{key}").items()}
    return {prefix: value}


def changed_values(opening: Scenario, closing: Scenario) -> pd.DataFrame:
    """Every assumption that differs between the quarters, by the step that applies it
    (:data:`ASSUMPTION_ORDER`): the params key, its opening value and its closing value
    (a list or a value one side lacks shown as written, "—" when absent)."""
    a, b = opening.model_dump(mode="json"), closing.model_dump(mode="json")
    rows = []
    for section, label in ASSUMPTION_ORDER:
        x, y = _flat(a.get(section) or {}, section), _flat(b.get(section) or {}, section)
        for key in sorted(set(x) | set(y), key=lambda k: (k not in x, k)):
            if key.split(".")[-1] in NOT_ASSUMPTIONS or x.get(key, "—") == y.get(key, "—"):
                continue
            rows.append({"step": f"assumptions: {label}", "key": key, "opening": str(x.get(key, "—")),
                         "closing": str(y.get(key, "—"))})
    return pd.DataFrame(rows, columns=["step", "key", "opening", "closing"])


def movement(opening: Quarter, closing: Quarter, *, progress=None) -> Movement:
    """The bridge from ``opening`` to ``closing`` (module docstring). Everything is checked
    (dates in order, books readable with ids, the same products on both sides) before the
    first valuation."""
    months = months_between(opening, closing)
    if (opening.scenario.mortgage_model is None) != (closing.scenario.mortgage_model is None):
        raise MovementError("one quarter has a mortgage book and the other has not; a movement bridges the same "
                            "products on both sides")
    _distinct_books(opening, closing)
    before, after = load_books(opening), load_books(closing)
    o, c = opening.scenario, closing.scenario
    at_close = closing.valuation_date
    changed = _changed_sections(o, c)
    start = _hybrid(o, c, [], at_close)  # the opening assumptions at the closing date
    steps = [_hybrid(o, c, changed[: i + 1], at_close) for i in range(len(changed))]  # checked before anything runs
    say = progress or (lambda _: None)
    model = RentModel.from_params(o)
    rolled_rent, rolled_receivables = roll_forward_rent(before["rent"], before["receivables"], model, months,
                                                        opening.seed)
    rolled = {"rent": rolled_rent, "receivables": rolled_receivables}
    kept = {"rent": after["rent"][after["rent"]["contract_id"].isin(before["rent"]["contract_id"])],
            "receivables": after["receivables"]}
    if "mortgage" in before:
        rolled["mortgage"] = roll_forward_mortgage(before["mortgage"], MortgageModel.from_params(o), months,
                                                   opening.seed)
        kept["mortgage"] = after["mortgage"][after["mortgage"]["loan_id"].isin(before["mortgage"]["loan_id"])]
    n, seed = opening.n_scenarios, opening.seed
    plan = [("opening", o, before, n, seed), ("unwind", start, rolled, n, seed),
            ("experience", start, kept, n, seed), ("new business", start, after, n, seed)]
    for section, scenario in zip(changed, steps, strict=True):
        plan.append((f"assumptions: {dict(ASSUMPTION_ORDER)[section]}", scenario, after, n, seed))
    if (closing.n_scenarios, closing.seed) != (n, seed):
        plan.append((f"assumptions: {SCENARIOS_STEP}", c, after, closing.n_scenarios, closing.seed))
    for label, scenario, books, _, _ in plan:  # every book against the params that value it, before any valuation
        _check_books(label, scenario, books)
    values, rows = [], []
    for label, scenario, books, n_s, s in plan:
        say(f"valuing: {label}")
        values.append(_value(scenario, books, n_s, s))
        rows.append((label, scenario.valuation.valuation_date, len(books["rent"]), len(books["receivables"]),
                     len(books["mortgage"]) if "mortgage" in books else 0, n_s, s))
    return _assemble(opening, closing, plan, values, rows, months, before, rolled, kept, after)


def _assemble(opening, closing, plan, values, rows, months, before, rolled, kept, after) -> Movement:
    names = list(values[0])
    notes = []
    for v in values[1:]:
        names += [k for k in v if k not in names]
    recorded_open, recorded_close = opening.recorded or {}, closing.recorded or {}
    bridge = {}
    for name in names:
        series = [v.get(name, 0) for v in values]
        open_fig = to_yen(recorded_open[name]) if name in recorded_open else series[0]
        close_fig = to_yen(recorded_close[name]) if name in recorded_close else series[-1]
        col = {"opening": open_fig}
        for (label, *_), a, b in zip(plan[1:], series, series[1:], strict=False):
            col[label] = b - a
        col["model changes"] = (close_fig - series[-1]) + (series[0] - open_fig)
        col["closing"] = close_fig
        bridge[name] = col
    if opening.code is not None and closing.code is not None and opening.code != closing.code:
        notes.append(f"the two runs were made by different code ({opening.code} and {closing.code}): the model "
                     f"changes step holds what each recorded beyond this code's figures")
    for q, rec in ((opening, recorded_open), (closing, recorded_close)):
        if q.recorded is not None:
            lacking = [k for k in names if k not in rec]
            if lacking:
                notes.append(f"{q.label} did not record {len(lacking)} of these figures ({', '.join(lacking[:3])}"
                             f"{', ...' if len(lacking) > 3 else ''}): for them its figure is this code's")
    table = pd.DataFrame(bridge).T
    table.index.name = "figure"
    steps = table.drop(columns=["opening", "closing"]).sum(axis=1)
    if not (table["opening"] + steps == table["closing"]).all():  # integers: exact by construction
        raise AssertionError("the movement's steps do not add up")
    valuations = pd.DataFrame(rows, columns=["valuation", "valuation_date", "rent_contracts", "closed_receivables",
                                             "mortgage_loans", "scenarios", "seed"]).set_index("valuation")
    return Movement(table, valuations, activity(before, rolled, kept, after), months, notes)


def _rent_counts(start: pd.DataFrame, end: pd.DataFrame) -> dict:
    ids = start.set_index("contract_id")["status"]
    later = end.set_index("contract_id")["status"].reindex(ids.index)
    was, now = ids != "performing", later.notna() & (later != "performing")
    return {"contracts in force": int(later.notna().sum()),
            "contracts ended": int(later.isna().sum()),
            "new in collection (were performing)": int((~was & now).sum()),
            "cured (were in collection)": int((was & later.eq("performing")).sum()),
            "in collection": int(now.sum())}


def _mortgage_counts(start: pd.DataFrame, end: pd.DataFrame) -> dict:
    ids = start.set_index("loan_id")["status"]
    later = end.set_index("loan_id")["status"].reindex(ids.index)
    return {"loans in force": int(later.notna().sum()), "loans ended (prepaid, matured, sold)": int(later.isna().sum()),
            "newly delinquent": int((ids.eq("performing") & later.eq("delinquent")).sum()),
            "newly subrogated": int((~ids.eq("subrogated") & later.eq("subrogated")).sum()),
            "cured": int((ids.eq("delinquent") & later.eq("performing")).sum())}


def activity(before: dict, rolled: dict, kept: dict, after: dict) -> pd.DataFrame:
    """The quarter's movements of the opening book's contracts, as the roll-forward drew them
    (expected) and as the closing book has them (actual), with the new business; and for a
    count, the gap in units of its Poisson noise, ``(actual - expected) / sqrt(expected)``
    (beyond about 3, more than chance; none for the balance in yen or a count expected 0)."""
    rows = {}
    actual = _rent_counts(before["rent"], kept["rent"])
    for name, e in _rent_counts(before["rent"], rolled["rent"]).items():
        rows[f"rent: {name}"] = (e, actual[name])
    rows["rent: new contracts"] = (0, len(after["rent"]) - len(kept["rent"]))
    balance = lambda r: int(r["balance_yen"].sum())  # noqa: E731
    rows["closed receivables (count)"] = (len(rolled["receivables"]), len(kept["receivables"]))
    rows["closed receivables (yen)"] = (balance(rolled["receivables"]), balance(kept["receivables"]))
    if "mortgage" in before:
        actual = _mortgage_counts(before["mortgage"], kept["mortgage"])
        for name, e in _mortgage_counts(before["mortgage"], rolled["mortgage"]).items():
            rows[f"mortgage: {name}"] = (e, actual[name])
        rows["mortgage: new loans"] = (0, len(after["mortgage"]) - len(kept["mortgage"]))
    out = pd.DataFrame(rows, index=["expected (roll-forward)", "actual"]).T
    out["actual less expected"] = out["actual"] - out["expected (roll-forward)"]
    out.index.name = "movement"
    out = out.astype(np.int64)
    expected = out["expected (roll-forward)"].to_numpy(float)
    gap = out["actual less expected"] / np.sqrt(np.where(expected > 0, expected, np.nan))
    out["gap (square roots of expected)"] = gap.where(~out.index.str.endswith("(yen)")).round(1)
    return out
