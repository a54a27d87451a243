"""A mortgage book as the engines read it: its columns and checks
(:func:`validate_mortgage_book`) and its layout (:func:`prepare_mortgage_book`,
:class:`MortgageBook`): balances and unearned fees per yen by product, cohorts and their
installment-fee factors, the fee basis and the loans' statuses on the valuation date."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..products.common import first_row, plain, rate_fraction, require_frame, require_whole
from ..products.mortgage_fee import FeeCurve, balance_shape

if TYPE_CHECKING:
    from .mortgage import MortgageModel

MORTGAGE_COLUMNS = ("principal_yen", "annual_interest_rate", "term_months", "age_months", "collateral_value_yen",
                    "grade", "fee_type")
FEE_TYPES = ("lump_sum", "installment")


def validate_mortgage_book(portfolio: pd.DataFrame, model: MortgageModel, what: str = "portfolio"):
    """Raise ``ValueError`` naming the column and the first bad row. ``fee_paid_yen``, when
    given, is the lump-sum fee each loan paid: above 0 and at most the principal for a
    lump-sum loan, 0 for an installment loan. Returns the loans' statuses
    (:func:`~.mortgage_inforce.loan_status`, which checks the status columns)."""
    from .mortgage_inforce import loan_status

    require_frame(portfolio, MORTGAGE_COLUMNS, what, allow_empty=False)

    def first_bad(mask, column, problem):
        if mask.any():
            row, i = first_row(portfolio, mask)
            value = plain(portfolio[column].iloc[i])
            raise ValueError(f"{what} column {column!r} {problem}, got {value!r} in row {row!r}")

    for c in ("principal_yen", "term_months", "age_months", "collateral_value_yen"):
        require_whole(portfolio, c, what)
        first_bad(portfolio[c].to_numpy() < 0, c, "must not be negative")
    first_bad(portfolio["term_months"].to_numpy() % 12 != 0, "term_months", "must be whole years (a multiple of 12)")
    first_bad(portfolio["term_months"].to_numpy() == 0, "term_months", "must be positive")
    first_bad(portfolio["principal_yen"].to_numpy() == 0, "principal_yen", "must be above 0 (a loan lends something)")
    first_bad(portfolio["age_months"].to_numpy() >= portfolio["term_months"].to_numpy(), "age_months",
              "must be below term_months")
    rate = portfolio["annual_interest_rate"]
    if not pd.api.types.is_float_dtype(rate):
        numeric = pd.to_numeric(rate, errors="coerce")
        first_bad(numeric.isna().to_numpy(), "annual_interest_rate", "must hold numbers (0.014 for 1.4%)")
        raise ValueError(f"{what} column 'annual_interest_rate' must hold numbers, got dtype {rate.dtype}")
    first_bad(rate.isna().to_numpy(), "annual_interest_rate", "must hold a number in every row (0.014 for 1.4%)")
    first_bad(~((rate >= 0) & (rate < 1)).to_numpy(), "annual_interest_rate", "must be in [0, 1)")
    first_bad(~portfolio["grade"].isin(list(model.annual_default_rate)).to_numpy(), "grade",
              f"must be one of {', '.join(map(str, model.annual_default_rate))}")
    first_bad(~portfolio["fee_type"].isin(FEE_TYPES).to_numpy(), "fee_type", "must be 'lump_sum' or 'installment'")
    if "fee_paid_yen" in portfolio.columns:
        require_whole(portfolio, "fee_paid_yen", what)
        paid, lump = portfolio["fee_paid_yen"].to_numpy(), (portfolio["fee_type"] == "lump_sum").to_numpy()
        first_bad(lump & (paid <= 0), "fee_paid_yen", "must be above 0 for a lump-sum loan (the fee it paid)")
        first_bad(lump & (paid > portfolio["principal_yen"].to_numpy()), "fee_paid_yen",
                  "must not exceed the loan's principal_yen")
        first_bad(~lump & (paid != 0), "fee_paid_yen", "must be 0 for an installment loan (it pays its fee monthly)")
    if "loan_id" in portfolio.columns:  # optional; when given, each loan's own
        ids = portfolio["loan_id"]
        first_bad(ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy(), "loan_id",
                  "needs an id in every row")
        first_bad(ids.duplicated().to_numpy(), "loan_id", "names a loan twice")
    return loan_status(portfolio, model, what)


@dataclasses.dataclass(frozen=True)
class MortgageBook:
    principal: np.ndarray
    age: np.ndarray
    life: np.ndarray          # months left to maturity
    collateral: np.ndarray
    grade: np.ndarray
    lump: np.ndarray          # bool
    product: np.ndarray       # index into shapes
    cohort: np.ndarray        # index into the cohort tables
    shapes: np.ndarray        # P x (max term + 1): balance per yen borrowed by age
    unearned: np.ndarray      # P x (max term + 2): unearned fee per yen by months elapsed (the disclosure's count)
    G: np.ndarray             # cumulative prepayment hazard by age, length max term + 1
    annual_pd: np.ndarray
    lump_fee_month0: float
    administration_fee_month0: float  # the administration fees of the loans made in month 0
    inst_factor: np.ndarray   # C x (T + 1): installment fee per yen of principal still owed in full, by month
    keep_num: np.ndarray
    keep_den: np.ndarray
    edges: np.ndarray
    fee_base: np.ndarray      # the principal the curve figures the lump-sum fee on: its own, or fee paid / fee per yen
    status: object            # the loans' statuses on the valuation date (:class:`.mortgage_inforce.LoanStatus`)


def prepare_mortgage_book(portfolio: pd.DataFrame, model: MortgageModel, what: str = "portfolio") -> MortgageBook:
    """The book checked (:func:`validate_mortgage_book`) and laid out as the engine and the
    exact oracle read it: balances and unearned fees per yen by product, loans' cohorts and
    the cohorts' installment-fee factors by month (per yen of a loan's principal times
    ``(1 - s)^k`` after ``k`` partial prepayments)."""
    status = validate_mortgage_book(portfolio, model, what)
    T = model.months
    principal = portfolio["principal_yen"].to_numpy(np.int64)
    term = portfolio["term_months"].to_numpy(np.int64)
    age = portfolio["age_months"].to_numpy(np.int64)
    rate = portfolio["annual_interest_rate"].to_numpy(float)
    lump = (portfolio["fee_type"] == "lump_sum").to_numpy()
    max_term = int(term.max())
    products, product = np.unique(np.stack([rate, term.astype(float)], axis=1), axis=0, return_inverse=True)
    product = product.ravel().astype(np.int64)
    shapes = np.zeros((len(products), max_term + 1))
    unearned = np.zeros((len(products), max_term + 2))
    lump_per_yen = np.zeros(len(products))
    for p, (r, n) in enumerate(products):
        n = int(n)
        shapes[p, : n + 1] = balance_shape(float(r), n)
        curve = FeeCurve(principal_yen=1_000_000, term_years=n // 12, fee_annual_rate=model.fee_annual_rate,
                         loan_annual_rate=model.schedule_loan_rate, discount_annual_rate=model.schedule_discount_rate)
        unearned[p, : n + 2] = curve.unearned(np.arange(n + 2)) / 1_000_000
        lump_per_yen[p] = unearned[p, 0]
    ages = np.arange(max_term + 1)
    G = np.concatenate([[0.0], np.cumsum(-np.log1p(-model.prepayment_hazard(ages[1:])))])
    cohorts, cohort = np.unique(np.stack([product, age, lump.astype(np.int64)], axis=1), axis=0, return_inverse=True)
    cohort = cohort.ravel().astype(np.int64)
    t = np.arange(T + 1)
    inst = np.zeros((len(cohorts), T + 1))
    for c, (p, a, is_lump) in enumerate(cohorts):
        n = int(products[p][1])
        idx = np.clip(a + t - 1, 0, n)
        alive_sched = (t >= 1) & (a + t <= n)
        if not is_lump:
            inst[c] = np.where(alive_sched, shapes[p, idx] * model.installment_annual_rate / 12, 0.0)
    keeps = [1 - rate_fraction(r, "deduction rate") for _, r in model.deduction_schedule]
    admin_fee = float(model.administration_fee_yen * np.count_nonzero(age == 0))  # loans made in month 0
    fee_base = principal.astype(float)
    if "fee_paid_yen" in portfolio.columns:  # the fee paid, as the principal the curve would charge it on
        paid = portfolio["fee_paid_yen"].to_numpy(np.int64)
        per_yen = lump_per_yen[product]
        fee_base = np.where(lump & (per_yen > 0), paid / np.where(per_yen > 0, per_yen, 1.0), fee_base)
    lump_fee = float(np.floor(fee_base * lump_per_yen[product] + 1e-6)[lump & (age == 0)].sum())
    return MortgageBook(principal, age, term - age, portfolio["collateral_value_yen"].to_numpy(np.int64),
                        pd.Index(list(model.annual_default_rate)).get_indexer(portfolio["grade"]).astype(np.int64),
                        lump, product, cohort, shapes, unearned, G,
                        np.array(list(model.annual_default_rate.values()), dtype=float), lump_fee, admin_fee,
                        inst,
                        np.array([k.numerator for k in keeps], dtype=np.int64),
                        np.array([k.denominator for k in keeps], dtype=np.int64),
                        np.array([b for b, _ in model.deduction_schedule[:-1]], dtype=np.int64), fee_base, status)
