"""Load and validate scenario files, ``params/*.yaml``, into typed objects.

YAML is read with the safe loader; dates stay text until validation, so an impossible
date (``2023-02-30``) is reported with its key like any other bad value; a key given
twice in one mapping is an error rather than silently taking the last. A file may start
with ``extends: other.yaml`` to take another file's values and override some of them.

Every problem is raised as one :class:`ParamsError` (a ``ValueError``) naming the file, the
key path and the bad value, before anything is computed::

    params/bad.yaml: jhf.coverage_ratio = 1.5: Input should be less than or equal to 1

Validation uses pydantic models with unknown keys forbidden and strict types (a quoted
number is not a number).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import typing
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from .collection import STATES, TRANSIENT_STATES, CollectionChain
from .products.common import MAX_SENSITIVITY, SUBROGATION_ITEMS, rate_fraction
from .products.jhf_insurance import JHFTerms
from .products.mortgage_fee import validate_schedule
from .products.rent_guarantee import PLAN_COSTS, FeePlan


class ParamsError(ValueError):
    """A params file is unreadable or invalid; the message names the file, key and value."""


Yen = Annotated[int, Field(ge=0, le=10**12, strict=True)]  # whole yen, up to a trillion
Probability = Annotated[float, Field(ge=0.0, le=1.0, strict=True)]
Months = Annotated[int, Field(ge=0, le=600, strict=True)]  # up to 50 years
#: An economic sensitivity (0 to :data:`~actuarial.products.common.MAX_SENSITIVITY`).
Sensitivity = Annotated[float, Field(ge=0.0, le=MAX_SENSITIVITY, strict=True)]
#: A cost as months of a contract's monthly total (0 to 120).
CostMonths = Annotated[float, Field(ge=0.0, le=120.0, allow_inf_nan=False)]
def _not_a_number(value):
    """A date written as a number (an Excel serial date, ``46387``) is refused, not read as
    seconds since 1970."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"{value!r} is a number, not a date; write YYYY-MM-DD (an Excel date number?)")
    return value


LooseDate = Annotated[dt.date, BeforeValidator(_not_a_number), Field(strict=False)]
#: A fee charged as a yearly rate on a loan's balance: at most 5% a year (a guarantee fee is a
#: fraction of a percent; 0.2 written for 0.2% is refused).
FeeRate = Annotated[float, Field(ge=0.0, le=0.05, strict=True)]
#: The default stage-3 states (kept in step with actuarial.valuation.settings, which tests check).
STAGE_3_STATES = ("final_notice", "suit", "judgment", "execution", "broken_promise", "final_notice_after_break")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


#: A scenario name: one word, as it names folders and files (:class:`ScenarioInfo`).
SCENARIO_NAME = re.compile(r"[^\W_][\w.-]*")
SCENARIO_NAME_RULE = ("one word of letters, digits, '_', '.' and '-', starting with a letter or digit (it names "
                      "the scenario's folder and files in a batch run)")


class ScenarioInfo(_Model):
    """``name`` names the scenario's folder and files in a batch run, so it is one word of
    letters (any script), digits, ``_``, ``.`` and ``-``, starting with a letter or digit:
    no path separator, space or leading dot."""

    name: str
    description: str = ""

    @field_validator("name")
    @classmethod
    def _one_word(cls, name: str) -> str:
        if not SCENARIO_NAME.fullmatch(name):
            raise ValueError(f"must be {SCENARIO_NAME_RULE}")
        return name


class JHFParams(_Model):
    """Overrides of :class:`~actuarial.products.jhf_insurance.JHFTerms`."""

    name: str = JHFTerms.name
    effective_from: LooseDate = JHFTerms.effective_from
    coverage_ratio: Probability = JHFTerms.coverage_ratio
    cap_months: Annotated[int, Field(ge=1, strict=True)] = JHFTerms.cap_months
    cap_yen: Yen | None = JHFTerms.cap_yen
    premium_rate: Probability = JHFTerms.premium_rate
    recovery_share: Probability = JHFTerms.recovery_share
    payment_lag_days: Annotated[int, Field(ge=0, le=365, strict=True)] = JHFTerms.payment_lag_days
    covered_items: list[Literal[SUBROGATION_ITEMS]] = list(JHFTerms.covered_items)  # type: ignore[valid-type]
    contract_amount_yen: Yen | None = None

    def terms(self) -> JHFTerms:
        return JHFTerms(**self.model_dump())


class FeePlanParams(_Model):
    """One rent guarantee fee plan; see :class:`~actuarial.products.rent_guarantee.FeePlan`."""

    initial_rate: Probability = 0.0
    initial_min_yen: Yen = 0
    initial_fixed_yen: Yen = 0
    renewal_yen: Yen = 0
    renewal_rate: Probability = 0.0
    renewal_interval_months: Annotated[int, Field(ge=1, strict=True)] = 12
    monthly_rate: Probability = 0.0
    monthly_fixed_yen: Yen = 0
    coverage_months: Months = 24
    covered_costs: dict[Literal[PLAN_COSTS], Yen | None] = {}  # type: ignore[valid-type]
    parking_in_total: bool = False

    def plan(self, name: str) -> FeePlan:
        return FeePlan(name=name, **self.model_dump())


class DeductionBand(_Model):
    last_month: Annotated[int, Field(ge=1, strict=True)] | None
    rate: Probability


class MortgageFeeParams(_Model):
    """Mortgage guarantee fee terms (Zenkoku Hosho fee disclosure, docs/domain.md §3.2)."""

    deduction_schedule: list[DeductionBand]
    transfer_fee_yen: Yen = 0
    administration_fee_yen: Yen = 0
    installment_annual_rate: FeeRate = 0.002
    refund_lag_months: Months = 2

    @field_validator("deduction_schedule")
    @classmethod
    def _schedule(cls, bands):
        validate_schedule([(b.last_month, b.rate) for b in bands])
        return bands

    def schedule(self) -> tuple[tuple[int | None, float], ...]:
        return tuple((b.last_month, b.rate) for b in self.deduction_schedule)


class CollectionParams(_Model):
    """The collection process (docs/domain.md §1.1) and its costs; see :mod:`actuarial.collection`."""

    transitions: dict[Literal[TRANSIENT_STATES], dict[Literal[STATES], Probability]]  # type: ignore[valid-type]
    suit_cost_yen: Yen = 0
    execution_cost_yen: Yen = 0
    removal_cost_yen: Yen = 0
    restoration_cost_yen: Yen = 0
    # what each cost adds for a larger flat: a multiple of the contract's monthly total
    suit_cost_months: CostMonths = 0.0
    execution_cost_months: CostMonths = 0.0
    removal_cost_months: CostMonths = 0.0
    restoration_cost_months: CostMonths = 0.0

    @field_validator("suit_cost_months", "execution_cost_months", "removal_cost_months", "restoration_cost_months")
    @classmethod
    def _six_decimals(cls, months):
        rate_fraction(months, "months")  # the engines take it as an exact fraction
        return months

    @field_validator("transitions")
    @classmethod
    def _chain(cls, transitions):
        CollectionChain.from_transitions(transitions)
        return transitions

    def chain(self) -> CollectionChain:
        return CollectionChain.from_transitions(self.transitions)


class RentModelParams(_Model):
    """The rent-guarantee portfolio model; see :class:`~actuarial.simulation.rent.RentModel`."""

    months: Annotated[int, Field(ge=1, le=600, strict=True)] = 60
    delinquency_hazard: dict[str, Annotated[float, Field(gt=0.0, lt=1.0, strict=True)]]
    moveout_hazard: Probability
    rho: Annotated[float, Field(ge=0.0, lt=1.0, strict=True)]
    good_exit_sensitivity: Sensitivity = 0.0
    recovery_rate: Probability
    recovery_delay_months: Months = 0
    installment_repayment_months: Months = 0
    jhf_refused_share: Probability = 0.0
    projection_start: LooseDate | None = None

    @field_validator("delinquency_hazard")
    @classmethod
    def _grades(cls, hazards):
        if not hazards:
            raise ValueError("needs at least one grade")
        return hazards


class MortgageModelParams(_Model):
    """The mortgage-guarantee portfolio model; see :class:`~actuarial.simulation.mortgage.MortgageModel`."""

    months: Annotated[int, Field(ge=1, le=600, strict=True)] = 420
    annual_default_rate: dict[str, Annotated[float, Field(ge=0.0, lt=1.0, strict=True)]]
    rho: Annotated[float, Field(ge=0.0, lt=1.0, strict=True)]
    psj_plateau_cpr: Annotated[float, Field(ge=0.0, lt=1.0, strict=True)]
    psj_ramp_months: Annotated[int, Field(ge=1, strict=True)]
    partial_prepayment_smm: Annotated[float, Field(ge=0.0, lt=1.0, strict=True)] = 0.0
    partial_prepayment_share: Annotated[float, Field(gt=0.0, lt=1.0, strict=True)] = 0.1
    recovery_delay_months: Months = 12
    forced_sale_discount: Probability
    house_price_sensitivity: Sensitivity = 0.0
    fee_annual_rate: FeeRate
    schedule_loan_rate: Annotated[float, Field(ge=0.0, lt=1.0, strict=True)]
    schedule_discount_rate: Annotated[float, Field(gt=-0.5, lt=1.0, strict=True)]
    subrogation_after_months_delinquent: Annotated[int, Field(ge=1, le=60, strict=True)] = 6
    delinquent_monthly_cure_rate: Annotated[float, Field(ge=0.0, lt=1.0, strict=True)] = 0.2

    @field_validator("annual_default_rate")
    @classmethod
    def _grades(cls, rates):
        if not rates:
            raise ValueError("needs at least one grade")
        return rates

    @model_validator(mode="after")
    def _partial_events_at_most_monthly(self):
        if not self.partial_prepayment_smm < self.partial_prepayment_share:
            raise ValueError(f"partial_prepayment_smm ({self.partial_prepayment_smm}) must be below "
                             f"partial_prepayment_share ({self.partial_prepayment_share}): their ratio is the "
                             "monthly chance of a partial prepayment")
        return self


class PortfolioParams(_Model):
    """The book the notebooks and the batch run: synthetic, or the user's CSV files."""

    seed: Annotated[int, Field(ge=0, strict=True)] = 0
    rent_contracts: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] = 2_000
    rent_insured_share: Probability = 0.3
    rent_book_csv: str | None = None
    mortgage_loans: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] = 500
    mortgage_lump_sum_share: Probability = 0.5
    mortgage_book_csv: str | None = None


class ValuationParams(_Model):
    """The quarter close; see :class:`~actuarial.valuation.ValuationSettings`. The books in
    force are CSV files relative to the scenario file, or, when not named, a book of
    ``synthetic_contracts`` seasoned by the model (:func:`~actuarial.valuation.synthetic_inforce_book`) and
    one of ``synthetic_loans`` mortgage loans
    (:func:`~actuarial.valuation.synthetic.synthetic_inforce_mortgage_book`)."""

    valuation_date: Annotated[LooseDate, Field(ge=dt.date(2000, 1, 1), le=dt.date(2099, 12, 31))]  # a typo'd year
    fiscal_year_end_month: Annotated[int, Field(ge=1, le=12, strict=True)] = 3
    ageing_edges_months: list[Annotated[int, Field(ge=1, le=600, strict=True)]] = [3, 12]
    stage_2_months_owed: Annotated[int, Field(ge=1, le=600, strict=True)] = 1
    stage_3_months_owed: Annotated[int, Field(ge=1, le=600, strict=True)] = 3
    stage_3_states: list[str] = list(STAGE_3_STATES)
    discount_annual_rate: Annotated[float, Field(ge=0.0, le=0.2, strict=True)] = 0.0
    fee_earning_months: Annotated[int, Field(ge=1, le=600, strict=True)] = 12
    rent_book_csv: str | None = None
    receivables_csv: str | None = None
    mortgage_book_csv: str | None = None
    synthetic_contracts: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] = 2_000
    synthetic_loans: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] = 2_000

    @model_validator(mode="after")
    def _settings(self):
        self.settings()  # the bucket edges increase, the stage states exist
        return self

    def settings(self):
        """The :class:`~actuarial.valuation.ValuationSettings` these params give."""
        from .valuation import ValuationSettings

        return ValuationSettings(self.valuation_date, self.fiscal_year_end_month, tuple(self.ageing_edges_months),
                                 self.stage_2_months_owed, self.stage_3_months_owed, tuple(self.stage_3_states),
                                 self.discount_annual_rate, self.fee_earning_months)


class ExperienceParams(_Model):
    """The experience study (:mod:`actuarial.experience`): the status history, relative to
    the scenario file, and the weight of the params' chain when the chain is fitted to it."""

    history_csv: str
    prior_weight: Annotated[float, Field(ge=0.0, le=1e9, allow_inf_nan=False)] = 100.0


class MovementParams(_Model):
    """The movement analysis (:mod:`actuarial.movement`): the params file of the quarter
    close to bridge from, relative to the scenario file."""

    opening_params: str


class Scenario(_Model):
    """A whole scenario file."""

    scenario: ScenarioInfo
    jhf: JHFParams = JHFParams()
    rent_plans: dict[str, FeePlanParams] = {}
    mortgage_fee: MortgageFeeParams | None = None
    collection: CollectionParams | None = None
    rent_model: RentModelParams | None = None
    mortgage_model: MortgageModelParams | None = None
    portfolio: PortfolioParams = PortfolioParams()
    valuation: ValuationParams | None = None
    experience: ExperienceParams | None = None
    movement: MovementParams | None = None

    @model_validator(mode="after")
    def _contract_amount_needs_a_calendar(self):
        if self.jhf.contract_amount_yen is not None and self.rent_model is not None \
                and self.rent_model.projection_start is None:
            raise ValueError("jhf.contract_amount_yen caps the insurance attached in each policy year (1 April - "
                             "31 March), so rent_model.projection_start must give the date of projection month 0")
        return self

    @model_validator(mode="after")
    def _rent_model_needs_collection(self):
        if self.rent_model is not None and self.collection is None:
            raise ValueError("rent_model needs a collection section")
        if self.mortgage_model is not None and self.mortgage_fee is None:
            raise ValueError("mortgage_model needs a mortgage_fee section")
        return self

    @model_validator(mode="after")
    def _plans_named(self):
        for name in self.rent_plans:
            if not name.strip():
                raise ValueError("rent_plans has an empty plan name")
        return self

    def jhf_terms(self) -> JHFTerms:
        return self.jhf.terms()

    def fee_plans(self) -> dict[str, FeePlan]:
        return {name: p.plan(name) for name, p in self.rent_plans.items()}


# -- loading -----------------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """Safe loader that keeps dates as text and refuses duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ParamsError(f"key {key!r} appears twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})")
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: str | Path) -> dict:
    """Read one YAML mapping with the safe loader; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParamsError(f"{path}: not UTF-8 text (a Japanese editor may have saved it as Shift-JIS); save it "
                          f"with the encoding UTF-8 (文字コード: UTF-8)") from None
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 -- _Loader is a SafeLoader
    except ParamsError as exc:
        raise ParamsError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: {_yaml_problem(text, exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        hint = (f"; a {Path(path).suffix} file is a book, which a params file names (rent_book_csv: ...), not a "
                f"params file" if Path(path).suffix.lower() in (".csv", ".xlsx", ".txt") else "")
        raise ParamsError(f"{path}: must hold a mapping of sections, got {type(data).__name__}{hint}")
    return data


def _yaml_problem(text: str, exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: where (line and column), what the parser says, and
    the usual cause with the line that shows it (a tab, a full-width colon or space, or a key
    indented unlike its neighbours)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"not valid YAML: {problem}"
    lines = text.splitlines()
    near = [i for i in (mark.line - 1, mark.line) if 0 <= i < len(lines)]
    causes = (("a tab indents the line: YAML indents with spaces",
               lambda line: "\t" in line[: len(line) - len(line.lstrip())]),
              ("a full-width colon '：' (write ':' and a space)", lambda line: "：" in line),
              ("a full-width space (write an ordinary space)", lambda line: "\u3000" in line))
    hint = next((f"; {why}, in line {i + 1}: {lines[i].split('#')[0].strip()[:50]!r}" for why, test in causes
                 for i in near if test(lines[i])), "")
    shown = [i for i in near if lines[i].split("#")[0].strip()]
    if not hint and shown:
        which = " and ".join(f"line {i + 1} ({lines[i].split('#')[0].strip()[:40]!r})" for i in shown)
        hint = f"; check the indentation of {which}: a key is indented as far as the others of its section"
    return f"not valid YAML: line {mark.line + 1}, column {mark.column + 1}: {problem}{hint}"


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """The raw mapping of a params file with its ``extends`` chain merged in."""
    path = Path(path).resolve()
    if path in _chain:
        raise ParamsError(f"{path}: extends itself through {' -> '.join(p.name for p in _chain)}")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ParamsError(f"{path}: extends = {parent!r}: must be a file name")
    parent_path = (path.parent / parent).resolve()
    if not parent_path.is_file():
        near = difflib.get_close_matches(parent, sorted(p.name for p in path.parent.glob("*.yaml")), n=1)
        raise ParamsError(f"{path}: extends = {parent!r}: no such file in {path.parent}"
                          + (f"; did you mean {near[0]!r}?" if near else ""))
    return _merge(_anchor_books(resolve(parent_path, _chain + (path,)), parent_path.parent), data)


#: The keys that name a book file, relative to the params file that gives them.
BOOK_KEYS = (("portfolio", "rent_book_csv"), ("portfolio", "mortgage_book_csv"), ("valuation", "rent_book_csv"),
             ("valuation", "receivables_csv"), ("valuation", "mortgage_book_csv"), ("experience", "history_csv"))


#: The keys that name a file relative to the params file: the books and the movement's opening.
FILE_KEYS = (*BOOK_KEYS, ("movement", "opening_params"))


def _anchor_books(data: dict, folder: Path) -> dict:
    """``data`` (a file's merged mapping) with its relative book paths (:data:`FILE_KEYS`)
    made absolute from ``folder``, the file's own: a file that extends another in another
    folder still finds the books the other names."""
    for section, key in FILE_KEYS:
        block = data.get(section)
        if isinstance(block, dict) and isinstance(block.get(key), str) and not Path(block[key]).is_absolute():
            data = {**data, section: {**block, key: str(folder / block[key])}}
    return data


def _format(path: Path, err: ValidationError) -> str:
    """One line for the first problem, unknown keys first (a misspelt key also makes the key
    it meant missing), each with the nearest known key; then how many more."""
    lines = []
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    for e in errors:
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith(("function-", "literal[")))
        value = e.get("input")
        shown = "{...}" if isinstance(value, dict) else repr(value)
        if e["type"] == "missing":
            shown = "(missing)"
        msg = re.sub(r"datetime\.date\((\d+), (\d+), (\d+)\)",
                     lambda m: f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}", e["msg"])
        if e["type"] == "extra_forbidden":
            msg = "unknown key" + _nearest_key(e["loc"])
        elif e["type"] in ("less_than", "less_than_equal") and str(e["loc"][-1]).endswith(("rate", "_ratio")):
            msg += " (a rate is a fraction: 0.002 for 0.2%)"
        lines.append(f"{path}: {loc or '(top level)'} = {shown}: {msg}")
    head = lines[0]
    more = f"\n  ({len(lines) - 1} more: " + "; ".join(lines[1:]) + ")" if len(lines) > 1 else ""
    return head + more


def _nearest_key(loc: tuple) -> str:
    """``; did you mean 'x'?`` for an unknown key at ``loc``, from the keys its section knows."""
    model = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if isinstance(model, type) else None
        if field is None:
            return ""
        inner = [a for a in typing.get_args(field.annotation) if isinstance(a, type)] or [field.annotation]
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return ""
    near = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f"; did you mean {near[0]!r}?" if near else ""


def load_params(path: str | Path) -> Scenario:
    """Load one scenario file into a validated :class:`Scenario`.

    >>> s = load_params(Path(__file__).parents[2] / "params" / "base.yaml")
    >>> s.jhf_terms().payout(subrogated_rent=1_400_000, rent_at_start=100_000)
    840000
    """
    path = Path(path)
    data = resolve(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ParamsError(_format(path, err)) from None
    except ValueError as err:  # a product constructor's own check
        raise ParamsError(f"{path}: {err}") from None


def load_all(directory: str | Path) -> dict[str, Scenario]:
    """Every ``*.yaml`` in a folder, by file stem, all validated before any is returned."""
    directory = Path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ParamsError(f"{directory}: no *.yaml params files")
    return {f.stem: load_params(f) for f in files}


__all__ = [
    "ParamsError",
    "Scenario",
    "load_all",
    "load_params",
    "read_yaml",
    "resolve",
]
