"""Mortgage guarantee fee (保証料) and its refund on prepayment (Zenkoku Hosho).

Source: the Zenkoku Hosho fee disclosure to mortgage borrowers, summarised in docs/domain.md §3.

Two ways to pay the fee:

- installment (分割支払方式): each month, the month's loan balance x annual fee rate / 12,
  folded into the interest rate; never refunded, never topped up;
- lump sum (一括支払方式): yearly amounts (each year's guaranteed balance x rate, higher
  early), discounted for the period and paid at the start. On prepayment the elapsed fee
  (経過保証料) is kept and the unearned fee (未経過保証料) is refunded less a cancellation
  deduction (保証解約料) and the bank transfer fee. An administration fee (事務手数料) is
  never refunded.

Roundings: the refund after the deduction is truncated to the yen, as the published table
shows (416,654 x 0.75 = 312,490.5 -> 312,490); the refund ratio is rounded half-up to
0.1% (the table's note ※3: 小数第二位を四捨五入). The guarantor's unearned-fee schedule is not
published; :class:`FeeCurve` reproduces it by calibration.

>>> refund(unearned_fee=537_673, months_elapsed=12, transfer_fee=0)
510789
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from .common import check_count, check_rate, check_yen, is_array, rate_fraction, to_date

#: Cancellation deduction, Zenkoku Hosho fee disclosure (2025-04-01): (last month of the band, rate);
#: ``None`` closes the last band. Months elapsed count the loan month as month 1.
PUBLISHED_DEDUCTION_SCHEDULE: tuple[tuple[int | None, float], ...] = ((12, 0.05), (24, 0.10), (36, 0.15), (None, 0.25))

#: The published worked example: 30,000,000 yen over 30 years, lump-sum fee 578,910 yen,
#: full prepayment; months elapsed -> (unearned fee, refund before transfer fee, ratio %).
PUBLISHED_EXAMPLE = pd.DataFrame(
    {
        "months_elapsed": [12, 24, 36, 48, 60, 120, 180],
        "unearned_fee_yen": [537_673, 494_965, 454_660, 416_654, 380_849, 231_775, 125_749],
        "refund_yen": [510_789, 445_468, 386_461, 312_490, 285_636, 173_831, 94_311],
        "refund_ratio_pct": [88.2, 76.9, 66.8, 54.0, 49.3, 30.0, 16.3],
    }
)
PUBLISHED_PRINCIPAL_YEN = 30_000_000
PUBLISHED_TERM_YEARS = 30
PUBLISHED_FEE_PAID_YEN = 578_910


# -- cancellation deduction and refund --------------------------------------------------------
def validate_schedule(schedule) -> tuple[tuple[int | None, float], ...]:
    """Check a deduction schedule: bands with increasing last months, the last open (None).

    >>> validate_schedule([(12, 0.05), (None, 0.2)])
    ((12, 0.05), (None, 0.2))
    """
    try:
        bands = tuple((None if m is None else check_count("schedule month", m, minimum=1),
                       check_rate("schedule rate", r))
                      for m, r in schedule)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"schedule must be (last_month, rate) pairs ending with (None, rate): {exc}") from None
    if not bands or bands[-1][0] is not None or any(m is None for m, _ in bands[:-1]):
        raise ValueError(f"schedule must end with one open band (None, rate), got {schedule!r}")
    months = [m for m, _ in bands[:-1]]
    if any(b <= a for a, b in itertools.pairwise(months)):
        raise ValueError(f"schedule months must increase, got {months}")
    return bands


def deduction_rate(months_elapsed, schedule=PUBLISHED_DEDUCTION_SCHEDULE):
    """Cancellation deduction rate (保証解約料) for months elapsed since the loan was made.

    Published schedule: 5% up to month 12, 10% for 13-24, 15% for 25-36, 25% from 37.

    >>> [deduction_rate(m) for m in (12, 13, 24, 25, 36, 37)]
    [0.05, 0.1, 0.1, 0.15, 0.15, 0.25]
    """
    m = check_count("months_elapsed", months_elapsed)
    idx, bands = _band_index(m, schedule)
    out = np.array([r for _, r in bands])[idx]
    return out if isinstance(m, np.ndarray) else float(out)


def _band_index(months, schedule):
    """Index of each month's band in a validated schedule, and the schedule."""
    bands = validate_schedule(schedule)
    edges = np.array([b for b, _ in bands[:-1]], dtype=np.int64)
    return np.searchsorted(edges, months, side="left"), bands


def refund(*, unearned_fee, months_elapsed, transfer_fee=0, schedule=PUBLISHED_DEDUCTION_SCHEDULE):
    """Refund (返戻保証料) of an unearned lump-sum fee, in yen.

    Defined as ``kept = floor(unearned_fee x (1 - deduction_rate(months_elapsed)))``; the
    refund is ``kept - transfer_fee``, or nothing when ``kept`` is below the transfer fee
    (Zenkoku Hosho: 保証解約料を控除した残額が振込手数料に満たない場合は、保証料の返戻はございません).
    Scalars give an ``int``, arrays an ``int64`` array.

    >>> refund(unearned_fee=416_654, months_elapsed=48)
    312490
    >>> refund(unearned_fee=1_000, months_elapsed=48, transfer_fee=800)
    0
    """
    fee = check_yen("unearned_fee", unearned_fee)
    m = check_count("months_elapsed", months_elapsed)
    transfer = check_yen("transfer_fee", transfer_fee)
    idx, bands = _band_index(m, schedule)
    keeps = [1 - rate_fraction(r, "schedule rate") for _, r in bands]
    if is_array(fee, m, transfer):
        fee_a, idx_a, transfer_a = np.broadcast_arrays(np.asarray(fee, dtype=np.int64), idx,
                                                       np.asarray(transfer, dtype=np.int64))
        num = np.array([k.numerator for k in keeps], dtype=np.int64)[idx_a]
        den = np.array([k.denominator for k in keeps], dtype=np.int64)[idx_a]
        kept = fee_a * num // den
        return np.where(kept < transfer_a, 0, kept - transfer_a).astype(np.int64)
    keep = keeps[int(idx)]
    kept = fee * keep.numerator // keep.denominator
    return 0 if kept < transfer else kept - transfer


def refund_ratio_pct(refund_yen, fee_paid_yen) -> float:
    """Refund as a percentage of the fee paid, rounded half-up to 0.1% (the table's note ※3).

    >>> refund_ratio_pct(312_490, 578_910)
    54.0
    """
    r = check_yen("refund_yen", refund_yen)
    f = check_yen("fee_paid_yen", fee_paid_yen)
    if f == 0:
        raise ValueError("fee_paid_yen must be positive, got 0")
    return float((Decimal(r) * 100 / Decimal(f)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def months_elapsed(loan_date, event_date) -> int:
    """Months elapsed in the published count: the month the loan was made is month 1.

    Zenkoku Hosho fee disclosure (docs/domain.md §3.2): a loan made in April 2025 is in the 5%
    band to March 2026 (month 12) and in the 10% band from April 2026 (month 13).

    >>> import datetime as dt
    >>> months_elapsed(dt.date(2025, 4, 10), dt.date(2026, 3, 31)), months_elapsed("2025-04-10", "2026-04-01")
    (12, 13)
    """
    a, b = to_date("loan_date", loan_date), to_date("event_date", event_date)
    if b < a:
        raise ValueError(f"event_date {b} is before loan_date {a}")
    return (b.year - a.year) * 12 + (b.month - a.month) + 1


# -- amortisation and the installment fee -------------------------------------------------------
def level_payment_balances(*, principal_yen, annual_interest_rate: float, term_months: int) -> np.ndarray:
    """Outstanding balance after each month of a level-payment (元利均等) loan, float yen.

    Defined as ``B_j = P x ((1+q)^n - (1+q)^j) / ((1+q)^n - 1)`` with ``q`` the monthly rate,
    ``j = 0..n``; linear when the rate is 0. ``B_0 = P``, ``B_n = 0``.

    >>> level_payment_balances(principal_yen=1_200, annual_interest_rate=0.0, term_months=12)[[0, 6, 12]].tolist()
    [1200.0, 600.0, 0.0]
    """
    p = check_yen("principal_yen", principal_yen)
    n = check_count("term_months", term_months, minimum=1)
    if not isinstance(annual_interest_rate, (int, float)) or not (0 <= annual_interest_rate < 1):
        raise ValueError(f"annual_interest_rate must be in [0, 1), got {annual_interest_rate!r}")
    return p * balance_shape(annual_interest_rate, n)


def installment_fees(*, principal_yen, annual_interest_rate: float, term_years: int,
                     fee_annual_rate: float) -> np.ndarray:
    """Monthly installment fee (分割支払方式) for each month of a level-payment loan, float yen.

    Defined as ``fee_j = B_{j-1} x fee_annual_rate / 12`` (Zenkoku Hosho: 毎月のローン残高に所定の
    保証料率を乗じて算出), ``j = 1..12 x term_years``. No rounding: the fee is folded into
    the interest rate, so the disclosure states none.

    >>> installment_fees(principal_yen=12_000_000, annual_interest_rate=0.0, term_years=1,
    ...                  fee_annual_rate=0.002)[:2].round(2).tolist()
    [2000.0, 1833.33]
    """
    check_rate("fee_annual_rate", fee_annual_rate)
    n = check_count("term_years", term_years, minimum=1) * 12
    b = level_payment_balances(principal_yen=principal_yen, annual_interest_rate=annual_interest_rate, term_months=n)
    return b[:-1] * fee_annual_rate / 12


def lump_sum_from_table(*, principal_yen, term_years, table) -> int:
    """Lump-sum fee from a published table of yen per 1,000,000 borrowed, by term in years.

    Defined as ``floor(principal_yen x yen_per_million(term_years) / 1_000_000)``. Between
    two listed terms the rate is interpolated linearly; outside the listed terms the lookup
    raises rather than extrapolate.

    >>> lump_sum_from_table(principal_yen=25_000_000, term_years=35, table={30: 19_000, 35: 20_614})
    515350
    """
    p = check_yen("principal_yen", principal_yen)
    if not isinstance(table, dict) or not table:
        raise ValueError(f"table must be a non-empty mapping term_years -> yen per 1,000,000, got {table!r}")
    terms = sorted(check_count("table term_years", t, minimum=1) for t in table)
    rates = [check_yen(f"table[{t}]", table[t]) for t in terms]
    if (isinstance(term_years, bool) or not isinstance(term_years, (int, float))
            or not (terms[0] <= term_years <= terms[-1])):
        raise ValueError(f"term_years={term_years!r} is outside the table's terms {terms[0]}..{terms[-1]}")
    per_million = float(np.interp(term_years, terms, rates))
    return math.floor(p * per_million / 1_000_000 + 1e-9)


# -- the unearned-fee curve --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FeeChange:
    """What a change of the loan does to the lump-sum fee (all yen).

    ``unearned_removed_yen`` is the unearned fee the change removes (the refund base);
    ``additional_fee_yen`` is what a term extension costs; ``refund_yen`` is after the
    cancellation deduction and the transfer fee.
    """

    event: str
    months_elapsed: int
    unearned_before_yen: int
    unearned_after_yen: int
    unearned_removed_yen: int
    refund_yen: int
    additional_fee_yen: int


@dataclasses.dataclass(frozen=True)
class FeeCurve:
    """Unearned lump-sum fee of a level-payment loan, by months elapsed.

    The disclosure's yearly-amount model: year ``k``'s amount is ``a_k = fee_annual_rate x
    B(12(k-1))``, the guaranteed balance at the start of the year on a level-payment
    schedule at ``loan_annual_rate``; the lump sum is ``sum_k a_k v^(k-1)`` with
    ``v = 1/(1 + discount_annual_rate)`` (保証料は期間に応じた割引). Each year's discounted
    amount is earned evenly over its year, so the unearned fee after ``t`` months is::

        U(t) = sum_k a_k v^(k-1) x clip(k - t/12, 0, 1),   t = months_elapsed - month_offset

    ``month_offset = 1`` because the disclosure counts the loan month as month 1. The three
    rates are the guarantor's schedule basis, not the borrower's contract rate: fit them
    with :meth:`calibrate`.
    """

    principal_yen: int
    term_years: int
    fee_annual_rate: float
    loan_annual_rate: float
    discount_annual_rate: float
    month_offset: int = 1
    fit: pd.DataFrame | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self):
        check_yen("principal_yen", self.principal_yen)
        check_count("term_years", self.term_years, minimum=1)
        check_count("month_offset", self.month_offset)
        for name in ("fee_annual_rate", "loan_annual_rate", "discount_annual_rate"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (-0.5 < v < 1):
                raise ValueError(f"{name} must be a rate in (-0.5, 1), got {v!r}")

    @property
    def term_months(self) -> int:
        return self.term_years * 12

    def balances(self) -> np.ndarray:
        """Guaranteed balance after each month, float yen (``term_months + 1`` values)."""
        return level_payment_balances(principal_yen=self.principal_yen, annual_interest_rate=self.loan_annual_rate,
                                      term_months=self.term_months)

    def yearly_amounts(self) -> np.ndarray:
        """Undiscounted yearly amounts ``a_k = fee_annual_rate x B(12(k-1))``, float yen."""
        return self.fee_annual_rate * self.balances()[0:self.term_months:12]

    def _discounted(self, amounts: np.ndarray) -> np.ndarray:
        return amounts * (1 + self.discount_annual_rate) ** -np.arange(len(amounts))

    def _t(self, months_elapsed):
        m = check_count("months_elapsed", months_elapsed)
        if np.any(np.asarray(m) > self.term_months + self.month_offset):
            count = f", the loan month counted as month {self.month_offset}" if self.month_offset else ""
            raise ValueError(f"months_elapsed must be at most {self.term_months + self.month_offset} (the "
                             f"{self.term_months}-month term{count}), got {months_elapsed!r}")
        return np.maximum(np.asarray(m) - self.month_offset, 0)

    def unearned(self, months_elapsed):
        """Unearned fee (未経過保証料) after ``months_elapsed`` months, float yen.

        >>> c = FeeCurve(principal_yen=10_000_000, term_years=2, fee_annual_rate=0.01,
        ...              loan_annual_rate=0.0, discount_annual_rate=0.0)
        >>> [round(c.unearned(m)) for m in (1, 13, 25)]
        [150000, 50000, 0]
        """
        t = self._t(months_elapsed)
        d = self._discounted(self.yearly_amounts())
        k = np.arange(1, len(d) + 1)
        share = np.clip(k[None, :] - np.atleast_1d(t)[:, None] / 12.0, 0.0, 1.0)
        out = share @ d
        return out if np.ndim(months_elapsed) else float(out[0])

    def unearned_yen(self, months_elapsed):
        """:meth:`unearned` truncated to the yen."""
        u = self.unearned(months_elapsed)
        return np.floor(u + 1e-6).astype(np.int64) if isinstance(u, np.ndarray) else math.floor(u + 1e-6)

    def lump_sum(self) -> int:
        """Lump-sum fee paid at the start: ``floor(sum_k a_k v^(k-1))`` in yen."""
        return math.floor(float(self._discounted(self.yearly_amounts()).sum()) + 1e-6)

    def refund(self, months_elapsed, *, transfer_fee=0, schedule=PUBLISHED_DEDUCTION_SCHEDULE):
        """Refund on full prepayment (全部繰上返済) at ``months_elapsed``, in yen."""
        return refund(unearned_fee=self.unearned_yen(months_elapsed), months_elapsed=months_elapsed,
                      transfer_fee=transfer_fee, schedule=schedule)

    # -- changes of the loan -------------------------------------------------------------------
    def _unearned_on_path(self, t: int, path: np.ndarray) -> float:
        """Unearned fee at ``t`` months if from ``t`` on the balance follows ``path`` (path[0] at t).

        Defined as ``a_now x B_new(t) / B(t) x (year_now - t/12) + sum_{k > year_now}
        fee_annual_rate x B_new(12(k-1)) v^(k-1)``: the current year's remaining share scales
        with the balance at ``t``; every later year the new path reaches (``12(k-1) - t <
        len(path)``), including years past the original term when the path is longer (an
        extension), is charged on the new path's balance at its start.
        """
        d = self._discounted(self.yearly_amounts())
        old = self.balances()
        year_now = t // 12 + 1
        if year_now > len(d):
            return 0.0
        scale = path[0] / old[t] if old[t] > 0 else 0.0
        u = d[year_now - 1] * scale * (year_now - t / 12)
        v = 1 + self.discount_annual_rate
        last_year = max(len(d), -(-(t + len(path) - 1) // 12))  # the path's last month falls in this year
        for k in range(year_now + 1, last_year + 1):
            s = 12 * (k - 1) - t
            if s < len(path):
                u += self.fee_annual_rate * path[s] * v ** -(k - 1)
        return float(u)

    def _change(self, event, months_elapsed, path, transfer_fee, schedule) -> FeeChange:
        t = int(self._t(months_elapsed))
        before = self.unearned(months_elapsed)
        after = self._unearned_on_path(t, path)
        removed = max(math.floor(before - after + 1e-6), 0)
        extra = max(math.floor(after - before + 1e-6), 0)
        return FeeChange(
            event=event, months_elapsed=int(months_elapsed),
            unearned_before_yen=math.floor(before + 1e-6), unearned_after_yen=math.floor(after + 1e-6),
            unearned_removed_yen=removed,
            refund_yen=refund(unearned_fee=removed, months_elapsed=months_elapsed, transfer_fee=transfer_fee,
                              schedule=schedule),
            additional_fee_yen=extra,
        )

    def _reamortised(self, balance: float, months_left: int) -> np.ndarray:
        return balance * balance_shape(self.loan_annual_rate, months_left)

    def _balance_at(self, months_elapsed) -> tuple[int, float]:
        t = int(self._t(months_elapsed))
        if t >= self.term_months:
            raise ValueError(f"months_elapsed={months_elapsed} is at or after the end of the term")
        return t, float(self.balances()[t])

    def partial_prepayment(self, *, months_elapsed, prepaid_yen, transfer_fee=0,
                           schedule=PUBLISHED_DEDUCTION_SCHEDULE) -> FeeChange:
        """Partial prepayment keeping the term (一部繰上返済, payment reduced).

        The balance falls from ``B`` to ``B - prepaid`` and is re-amortised over the same
        remaining months, so every later balance scales by ``(B - prepaid) / B`` and the
        unearned fee removed is ``U x prepaid / B``.
        """
        t, b = self._balance_at(months_elapsed)
        p = check_yen("prepaid_yen", prepaid_yen)
        if p > b:
            raise ValueError(f"prepaid_yen={p} exceeds the balance {b:.0f} at month {months_elapsed}")
        path = self._reamortised(b - p, self.term_months - t)
        return self._change("partial_prepayment", months_elapsed, path, transfer_fee, schedule)

    def term_shortening(self, *, months_elapsed, new_term_years, transfer_fee=0,
                        schedule=PUBLISHED_DEDUCTION_SCHEDULE) -> FeeChange:
        """Shortening the term (返済期間の短縮) without prepaying: the balance is re-amortised
        over the shorter remaining term, and the unearned fee that removes is refunded."""
        t, b = self._balance_at(months_elapsed)
        n_new = check_count("new_term_years", new_term_years, minimum=1) * 12
        if not (t < n_new < self.term_months):
            raise ValueError(f"new_term_years={new_term_years} must be shorter than {self.term_years} "
                             f"and after month {t}")
        return self._change("term_shortening", months_elapsed, self._reamortised(b, n_new - t), transfer_fee, schedule)

    def partial_prepayment_shortening(self, *, months_elapsed, prepaid_yen, transfer_fee=0,
                                      schedule=PUBLISHED_DEDUCTION_SCHEDULE) -> FeeChange:
        """Partial prepayment with term shortening (返済期間の短縮を伴う一部繰上返済).

        The monthly payment stays the same, so the lower balance is paid off sooner.
        """
        t, b = self._balance_at(months_elapsed)
        p = check_yen("prepaid_yen", prepaid_yen)
        if p > b:
            raise ValueError(f"prepaid_yen={p} exceeds the balance {b:.0f} at month {months_elapsed}")
        q = self.loan_annual_rate / 12
        n_left = self.term_months - t
        payment = b / n_left if q == 0 else b * q / (1 - (1 + q) ** -n_left)
        path = [b - p]
        while path[-1] > 1e-6 and len(path) <= n_left:
            path.append(max(path[-1] * (1 + q) - payment, 0.0))
        return self._change("partial_prepayment_shortening", months_elapsed, np.array(path), transfer_fee, schedule)

    def term_extension(self, *, months_elapsed, new_term_years) -> FeeChange:
        """Extending the term (返済期間の延長 → 追加の保証料): the additional fee,
        ``floor(U_after - U_before)`` (truncation assumed; the disclosure states no rounding for
        it), ``U_after`` the unearned fee on the balance re-amortised to the new term, counting
        every year the extension adds. Nothing is refunded.

        >>> c = FeeCurve(principal_yen=10_000_000, term_years=2, fee_annual_rate=0.01,
        ...              loan_annual_rate=0.0, discount_annual_rate=0.0)
        >>> c.term_extension(months_elapsed=13, new_term_years=4).additional_fee_yen  # 50,000 -> 100,000
        50000
        """
        t, b = self._balance_at(months_elapsed)
        n_new = check_count("new_term_years", new_term_years, minimum=1) * 12
        if n_new <= self.term_months:
            raise ValueError(f"new_term_years={new_term_years} must be longer than {self.term_years}")
        return self._change("term_extension", months_elapsed, self._reamortised(b, n_new - t), 0,
                            PUBLISHED_DEDUCTION_SCHEDULE)

    # -- calibration -------------------------------------------------------------------------------
    @classmethod
    def calibrate(cls, principal, term_years, fee_paid, table, *, month_offset: int = 1,
                  max_relative_error: float = 0.02) -> FeeCurve:
        """Fit the curve to a published table of unearned fees by least squares (scipy).

        ``table`` maps months elapsed -> unearned fee in yen (a dict, a Series, or a DataFrame
        with ``months_elapsed`` and ``unearned_fee_yen``). The fee rate is set so that the
        lump sum equals ``fee_paid``; ``loan_annual_rate`` and ``discount_annual_rate`` are
        fitted to the relative errors. The returned curve's ``fit`` holds the residual table.

        A table the curve cannot fit raises ``ValueError`` before or after the fit: a month
        given twice, an unearned fee that rises with the months elapsed or exceeds the fee
        paid, or a best fit whose worst point is off by more than ``max_relative_error``
        (named with its month, the published and fitted fees).
        """
        p = check_yen("principal", principal)
        n = check_count("term_years", term_years, minimum=1)
        fee = check_yen("fee_paid", fee_paid)
        if fee <= 0:
            raise ValueError(f"fee_paid must be positive, got {fee_paid!r}")
        if fee >= p:
            raise ValueError(f"fee_paid {fee:,} yen is not below the principal {p:,} yen; both are whole yen (a "
                             f"principal in 万円?)")
        months, published = _table(table)
        if np.any(months > n * 12):
            raise ValueError(f"table has months_elapsed beyond the term ({n * 12}): {months.max()}")
        order = np.argsort(months, kind="stable")
        months, published = months[order], published[order]
        twice = months[1:][months[1:] == months[:-1]]
        if len(twice):
            raise ValueError(f"table gives months_elapsed {int(twice[0])} twice")
        rises = np.flatnonzero(published[1:] > published[:-1])
        if len(rises):
            i = int(rises[0])
            raise ValueError(f"table's unearned fee rises from {published[i]:,.0f} yen at month {months[i]} to "
                             f"{published[i + 1]:,.0f} yen at month {months[i + 1]}; an unearned fee only falls as "
                             f"the months pass, so the curve cannot fit it")
        if published[0] > fee:
            raise ValueError(f"table's unearned fee at month {months[0]} ({published[0]:,.0f} yen) exceeds the fee "
                             f"paid ({fee:,d} yen); the table and the fee do not belong together")

        def curve(x) -> FeeCurve:
            base = cls(p, n, 0.01, float(x[0]), float(x[1]), month_offset)
            total = float(base._discounted(base.yearly_amounts()).sum())
            return dataclasses.replace(base, fee_annual_rate=0.01 * fee / total)

        def residuals(x):
            try:
                with np.errstate(invalid="ignore", divide="ignore"):
                    r = curve(x).unearned(months) / published - 1.0
            except (ValueError, ZeroDivisionError):  # a trial point where the curve is undefined
                return np.full(len(months), 1e6)
            return np.where(np.isfinite(r), r, 1e6)

        best = None
        for x0 in ((0.02, 0.02), (0.05, 0.03), (0.08, 0.05), (0.01, 0.0)):
            sol = least_squares(residuals, x0, bounds=([0.0, -0.2], [0.3, 0.3]))
            if best is None or sol.cost < best.cost:
                best = sol
        try:
            fitted = curve(best.x)
        except (ValueError, ZeroDivisionError):
            raise ValueError("the fee curve cannot fit this table: no loan rate and discount rate give a curve "
                             "through it; check the table, the principal, the term and the fee paid") from None
        model = fitted.unearned(months)
        fit = pd.DataFrame({"months_elapsed": months, "published_yen": published.astype(np.int64),
                            "fitted_yen": model, "residual_yen": model - published,
                            "relative_error": model / published - 1.0})
        worst = fit["relative_error"].abs().fillna(np.inf).idxmax()
        w = fit.loc[worst]
        if not np.isfinite(fit["relative_error"]).all() or abs(w["relative_error"]) > max_relative_error:
            raise ValueError(f"the fee curve cannot fit this table: its best fit is off by "
                             f"{w['relative_error']:+.1%} at month {int(w['months_elapsed'])} (fitted "
                             f"{w['fitted_yen']:,.0f} yen, published {w['published_yen']:,.0f} yen), more than "
                             f"{max_relative_error:.0%}; check the table, the principal, the term and the fee paid")
        return dataclasses.replace(fitted, fit=fit)


def balance_shape(annual_rate: float, n: int) -> np.ndarray:
    """Balance path of a level-payment loan of 1 yen over ``n`` months."""
    j = np.arange(n + 1)
    q = annual_rate / 12
    if q == 0:
        return 1 - j / n
    g = (1 + q) ** n
    return (g - (1 + q) ** j) / (g - 1)


def _table(table) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(table, pd.DataFrame):
        for c in ("months_elapsed", "unearned_fee_yen"):
            if c not in table:
                raise ValueError(f"table is missing column {c!r}")
        items = list(zip(table["months_elapsed"], table["unearned_fee_yen"], strict=True))
    elif isinstance(table, pd.Series):
        items = list(table.items())
    elif isinstance(table, dict):
        items = list(table.items())
    else:
        raise ValueError(f"table must map months_elapsed -> unearned fee, got {type(table).__name__}")
    if len(items) < 2:
        raise ValueError(f"table needs at least 2 points to fit 2 parameters, got {len(items)}")
    months = np.array([check_count("table months_elapsed", m, minimum=1) for m, _ in items], dtype=np.int64)
    values = np.array([check_yen(f"table[{m}]", v) for m, v in items], dtype=float)
    if np.any(values <= 0):
        raise ValueError("table unearned fees must be positive")
    return months, values
