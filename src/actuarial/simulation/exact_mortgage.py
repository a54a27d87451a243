"""Expected cash flows of the mortgage model without simulation: the Monte Carlo's oracle.

Given the factor ``z`` a loan's default, full prepayment and partial prepayments are
independent of one another, and the integral over ``z`` is Gauss-Legendre on ``[-8, 0]`` and
``[0, 8]`` (:func:`~actuarial.simulation.rent.factor_nodes`). The number ``K`` of partial
prepayments before month ``t`` of a loan alive then is binomial, ``Binomial(t - 1, q)``; the
amounts that depend on it, rounded as the engine rounds them, are summed over its values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..products.common import check_count
from ..products.mortgage_fee import refund
from .mortgage import MORTGAGE_LINES, MortgageBook, MortgageModel, prepare_mortgage_book
from .mortgage_inforce import MORTGAGE_STATUS_COLUMNS, with_groups
from .rent import factor_nodes

#: The binomial tail of partial-prepayment counts left out of the sums: below this chance.
PARTIAL_COUNT_TAIL = 1e-15


def partial_count_probabilities(model: MortgageModel) -> np.ndarray:
    """``T x (K + 1)``: row ``t - 1`` is the chance of ``k`` partial prepayments in months
    ``1..t - 1`` for a loan alive in month ``t``, defined as ``Binomial(t - 1, q).pmf(k)``
    with ``q`` :attr:`~.mortgage.MortgageModel.partial_prepayment_rate`. ``K`` is the least
    count whose tail in month ``T`` is below :data:`PARTIAL_COUNT_TAIL` (a later month's
    tail is no larger).

    >>> import dataclasses
    >>> m = MortgageModel(annual_default_rate={"A": 0.0}, partial_prepayment_smm=0.05, partial_prepayment_share=0.1,
    ...                   months=3)
    >>> partial_count_probabilities(m).round(4).tolist()  # q = 0.5
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.25, 0.5, 0.25]]
    """
    from scipy.stats import binom  # here: scipy.stats is slow to import

    T, q = model.months, model.partial_prepayment_rate
    if q == 0:
        return np.ones((T, 1))
    k_max = int(min(T - 1, binom.isf(PARTIAL_COUNT_TAIL, T - 1, q) + 1))
    return binom.pmf(np.arange(k_max + 1)[None, :], np.arange(T)[:, None], q)


def _amounts(model: MortgageModel, book: MortgageBook, i: np.ndarray, t: np.ndarray, k: int) -> tuple:
    """Loans ``i`` (as a column) in months ``t`` after ``k`` partial prepayments: the balance
    at the start of the month, the refund of a full prepayment and the refund of a partial
    one (lump-sum loans; 0 for installment loans), in yen, rounded as the engine rounds."""
    share = model.partial_prepayment_share
    before = (1 - share) ** k
    P, product, a = book.principal[i], book.product[i], book.age[i]
    bal = np.floor(P * book.shapes[product, np.minimum(a + t - 1, book.shapes.shape[1] - 1)] * before + 1e-6)
    m = a + t + 1
    per_yen = book.unearned[product, np.minimum(m, book.unearned.shape[1] - 1)]
    F = book.fee_base[i]  # the principal the fee is figured on
    fee = np.floor(F * per_yen * before + 1e-6).astype(np.int64)
    removed = np.floor(F * per_yen * before * share + 1e-6).astype(np.int64)
    rule = {"months_elapsed": m, "transfer_fee": model.transfer_fee_yen, "schedule": model.deduction_schedule}
    lump = book.lump[i]
    full = np.where(lump, refund(unearned_fee=fee, **rule), 0)
    partial = np.where(lump, refund(unearned_fee=removed, **rule), 0)
    return bal, full, partial


def _counts_above(balances: np.ndarray, sold: np.ndarray, share: float) -> np.ndarray:
    """For each loan and month, how many counts ``k`` of partial prepayments leave a balance
    above ``sold``: ``balances`` (loans x months x counts) falls with ``k`` as ``(1 - s)^k``,
    so the count is where ``balance_0 (1 - s)^k`` crosses ``sold + 1``, found from logarithms
    and then checked against the rounded balances on either side (one step at most)."""
    K = balances.shape[2] - 1
    top = balances[:, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.floor(np.log((sold + 1) / np.maximum(top, 1e-300)) / np.log(1 - share)) + 1
    k_star = np.clip(np.nan_to_num(guess, nan=0.0, posinf=K + 1, neginf=0.0), 0, K + 1).astype(np.int64)
    k_star[top <= sold] = 0
    for _ in range(2):  # the rounding of a balance can move the crossing by one count
        at = np.take_along_axis(balances, np.minimum(k_star, K)[:, :, None], axis=2)[:, :, 0]
        k_star += (k_star <= K) & (at > sold)
        before = np.take_along_axis(balances, np.maximum(k_star - 1, 0)[:, :, None], axis=2)[:, :, 0]
        k_star -= (k_star > 0) & (before <= sold)
    return k_star


def expected_mortgage_cash_flows(portfolio: pd.DataFrame, model: MortgageModel, *, nodes: int = 24,
                                 chunk_loans: int = 256) -> pd.DataFrame:
    """Exact expected cash flow of the mortgage model by month and line, yen: the performing
    loans' (:func:`_performing_flows`) and the others' (:func:`expected_mortgage_groups`)."""
    return expected_mortgage_groups(portfolio, model, nodes=nodes, chunk_loans=chunk_loans)[0]


def expected_mortgage_groups(portfolio: pd.DataFrame, model: MortgageModel, group=None, n_groups: int | None = None,
                             *, nodes: int = 24, chunk_loans: int = 256,
                             by_loan: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """Exact expected cash flows of a mortgage book in force, and each group's subrogation and
    recoveries by month (``G x 2 x (T + 1)``; ``group`` gives each loan's, 0 for every
    performing loan, as :func:`~.mortgage_inforce.with_groups`). The performing loans by
    :func:`_performing_flows` (``by_loan``: by its readable twin), the others by
    :func:`_walked_flows`."""
    check_count("chunk_loans", chunk_loans, minimum=1)
    book = prepare_mortgage_book(portfolio, model)
    status = book.status if group is None else with_groups(book.status, group, n_groups)
    if by_loan:
        flows = _performing_flows_by_loan(book, model, status.performing, nodes)
    else:
        flows = _performing_flows(book, model, status.performing, nodes, chunk_loans)
    flows[0, 0] = book.lump_fee_month0  # loans made in month 0: performing
    flows[5, 0] = book.administration_fee_month0
    grouped = np.zeros((status.n_groups, 2, model.months + 1))
    grouped[0] = flows[3:5]
    if len(status.delinquent) + len(status.subrogated):
        walked, walked_groups = _walked_flows(portfolio, book, status, model, nodes, by_loan)
        flows += walked
        grouped += walked_groups
    return pd.DataFrame(flows.T, index=pd.RangeIndex(model.months + 1, name="month"),
                        columns=list(MORTGAGE_LINES)), grouped


def _walked_flows(portfolio: pd.DataFrame, book: MortgageBook, status, model: MortgageModel, nodes: int,
                  by_loan: bool) -> tuple[np.ndarray, np.ndarray]:
    """The delinquent and subrogated loans' expected flows and their groups' subrogation and
    recoveries (:mod:`~.mortgage_inforce`). With ``J = max(K - m, 1)``, a delinquent loan is
    cured in month ``j <= J`` with chance ``(1 - c)^(j - 1) c``, and is then a performing loan
    ``j`` months older whose flows start ``j`` months later (the performing oracle on the
    loans aged by ``j``, shifted); it is subrogated in month ``J`` with chance ``(1 - c)^J``.
    Every recovery is ``E_z[min(owed, floor(collateral x sale factor(z)))]``."""
    T, delay = model.months, model.recovery_delay_months
    c, K = model.delinquent_monthly_cure_rate, model.subrogation_after_months_delinquent
    zs, ws = factor_nodes(nodes)
    sale = np.array([model.sale_factor(float(z)) for z in zs])
    flows = np.zeros((len(MORTGAGE_LINES), T + 1))
    grouped = np.zeros((status.n_groups, 2, T + 1))
    plain = portfolio.drop(columns=[col for col in MORTGAGE_STATUS_COLUMNS if col in portfolio.columns])

    def expected_recovery(owed, loans):
        sold = np.floor(book.collateral[loans][:, None] * sale[None, :] + 1e-6)
        return np.minimum(owed[:, None], sold) @ ws

    def add(line, months, amounts, loans):
        keep = months <= T
        np.add.at(flows[line], months[keep], amounts[keep])
        np.add.at(grouped[:, line - 3], (status.group[loans][keep], months[keep]), amounts[keep])

    late = status.delinquent
    last = np.maximum(K - status.months_delinquent, 1)
    for j in range(1, int(last.max(initial=0)) + 1):  # cured in month j, performing from j + 1
        chance = (1 - c) ** (j - 1) * c
        cured = (last >= j) & (j + 1 <= np.minimum(T, book.life[late]))
        for g in np.unique(status.group[late[cured]]) if chance > 0 else ():
            rows = late[cured & (status.group[late] == g)]
            aged = plain.iloc[rows].copy()
            aged["age_months"] += j
            f = expected_mortgage_groups(aged, model, nodes=nodes, by_loan=by_loan)[0].to_numpy().T
            shifted = np.zeros_like(f)
            shifted[:, j + 1:] = f[:, 1: T + 1 - j]
            flows += chance * shifted
            grouped[g] += chance * shifted[3:5]
    owed = np.floor(book.principal[late] * book.shapes[book.product[late], book.age[late] - status.months_delinquent]
                    + 1e-6)
    subrogated = (1 - c) ** last
    add(3, last, subrogated * owed, late)
    add(4, last + delay, subrogated * expected_recovery(owed, late), late)
    gone = status.subrogated
    add(4, np.maximum(delay - status.months_since, 1), expected_recovery(status.receivable.astype(float), gone), gone)
    return flows, grouped


def _performing_flows(book: MortgageBook, model: MortgageModel, loans: np.ndarray, nodes: int,
                      chunk_loans: int) -> np.ndarray:
    """The expected flows (lines x months) of the performing loans at positions ``loans``,
    without the fees of month 0.

    Given ``z``, with ``S(t) = prod_{j<=t} (1 - d(z))(1 - p(age + j))``: a default in month
    ``t`` has probability ``S(t-1) d``, a full prepayment ``S(t-1)(1 - d) p(age + t)``, a
    partial prepayment ``S(t) q``, and the loan pays installment fees in month ``t`` with
    probability ``S(t)``; a default's subrogation and sale are then moved
    ``subrogation_lag_months`` later (:func:`_subrogated_later`). Each amount is weighted by
    the chance of ``k`` partial prepayments before the month
    (:func:`partial_count_probabilities`); the installment fee is linear in the balance, so its
    weight is ``E[(1 - s)^K] = (1 - smm)^(t - 1)``.

    ``S(t) = (1 - d)^t Q(t)`` with ``Q`` the survival from prepayment alone, and ``d`` depends
    on ``z`` only through the grade. So the amounts are summed by grade once, times ``Q``, as
    loans x months arrays for ``chunk_loans`` loans at a time (months past maturity masked);
    each economy then only scales those sums, except the recovery ``min(balance,
    floor(collateral x sale factor(z)))``, summed again for each. The tests hold it equal to
    :func:`expected_mortgage_cash_flows_by_loan`, the readable loop over loans.
    """
    T = model.months
    zs, ws = factor_nodes(nodes)
    delay, q = model.recovery_delay_months, model.partial_prepayment_rate
    counts = partial_count_probabilities(model)
    n_grades = len(book.annual_pd)
    t = np.arange(1, T + 1)
    cf = (1 - model.partial_prepayment_smm) ** (t - 1)
    sale = np.array([model.sale_factor(float(z)) for z in zs])
    # sums by grade and month, times the survival from prepayment before (Q_prev) or after (Q_now) the month
    defaulted = np.zeros((n_grades, T))     # Q_prev x balance
    refunded = np.zeros((n_grades, T))      # Q_prev x p x refund
    installments = np.zeros((n_grades, T))  # Q_now x installment fee
    partial = np.zeros((n_grades, T))       # Q_now x q x partial-prepayment refund
    recovered = np.zeros((len(zs), n_grades, T))  # Q_prev x recovery, by economy
    for lo in range(0, len(loans), chunk_loans):
        i = loans[lo: lo + chunk_loans]
        alive = t[None, :] <= np.minimum(T, book.life[i])[:, None]  # months up to maturity, within the horizon
        by_grade = (book.grade[i][None, :] == np.arange(n_grades)[:, None]).astype(float)  # grades x loans
        p = model.prepayment_hazard(book.age[i][:, None] + t)
        stay = np.where(alive, 1 - p, 1.0)
        q_now = np.cumprod(stay, axis=1)
        q_prev = np.where(alive, np.concatenate([np.ones((len(i), 1)), q_now[:, :-1]], axis=1), 0.0)
        q_now = np.where(alive, q_now, 0.0)
        installments += by_grade @ (q_now * book.principal[i][:, None] * book.inst_factor[book.cohort[i]][:, 1:] * cf)
        balances = np.empty((len(i), T, counts.shape[1]))  # by count of partial prepayments, non-increasing in it
        for k in range(counts.shape[1]):
            balances[:, :, k], full, part = _amounts(model, book, i[:, None], t, k)
            w_prev, w_now = q_prev * counts[:, k], q_now * counts[:, k]
            defaulted += by_grade @ (w_prev * balances[:, :, k])
            refunded += by_grade @ (w_prev * p * full)
            partial += by_grade @ (w_now * q * part)
        # E[min(balance_K, sold)] = sold x P(K < k*) + sum_{k >= k*} P(K = k) balance_k, with k* the
        # number of counts whose balance exceeds what the collateral sold for
        chance_below = np.concatenate([np.zeros((T, 1)), np.cumsum(counts, axis=1)], axis=1)
        owed_below = np.concatenate([np.zeros((len(i), T, 1)), np.cumsum(balances * counts, axis=2)], axis=2)
        rows, months = np.arange(len(i))[:, None], np.arange(T)[None, :]
        for factor in np.unique(sale):  # the economies above the median share one sale factor
            sold = np.floor(book.collateral[i] * factor + 1e-6)[:, None]
            k_star = _counts_above(balances, sold, model.partial_prepayment_share)
            expected = sold * chance_below[months, k_star] + owed_below[:, :, -1] - owed_below[rows, months, k_star]
            recovered[sale == factor] += by_grade @ (q_prev * expected)
    flows = np.zeros((len(MORTGAGE_LINES), T + 1))
    for iz, (z, wz) in enumerate(zip(zs, ws, strict=True)):
        for g, annual_pd in enumerate(book.annual_pd):
            d = model.monthly_default_hazard(float(annual_pd), float(z))
            before = (1 - d) ** (t - 1)  # survival from default before the month
            after = before * (1 - d)
            flows[3, 1:] += wz * d * before * defaulted[g]
            if delay < T:
                flows[4, 1 + delay:] += (wz * d * before * recovered[iz, g])[: T - delay]
            flows[2, 1:] += wz * (before * (1 - d) * refunded[g] + after * partial[g])
            flows[1, 1:] += wz * after * installments[g]
    flows[2] = model.refunds_paid(flows[2])
    return _subrogated_later(flows, model)


def _subrogated_later(flows: np.ndarray, model: MortgageModel) -> np.ndarray:
    """The flows with the subrogation and recovery lines moved from the default's month to
    the subrogation's, ``subrogation_lag_months`` later (what then falls past the horizon
    is dropped)."""
    lag = min(model.subrogation_lag_months, flows.shape[1])
    if lag:
        flows[3:5, lag:] = flows[3:5, : flows.shape[1] - lag].copy()
        flows[3:5, :lag] = 0.0
    return flows


def expected_mortgage_cash_flows_by_loan(portfolio: pd.DataFrame, model: MortgageModel, *,
                                         nodes: int = 24) -> pd.DataFrame:
    """:func:`expected_mortgage_cash_flows` with the performing loans the readable way
    (:func:`_performing_flows_by_loan`); the tests hold the two equal."""
    return expected_mortgage_groups(portfolio, model, nodes=nodes, by_loan=True)[0]


def _performing_flows_by_loan(book: MortgageBook, model: MortgageModel, loans: np.ndarray, nodes: int) -> np.ndarray:
    """:func:`_performing_flows` the readable way, one loan, one economy and one count of
    partial prepayments at a time."""
    T = model.months
    zs, ws = factor_nodes(nodes)
    counts = partial_count_probabilities(model)
    q, delay = model.partial_prepayment_rate, model.recovery_delay_months
    flows = np.zeros((len(MORTGAGE_LINES), T + 1))
    t = np.arange(1, T + 1)
    for i in loans:
        L = int(min(T, book.life[i]))
        tt = t[:L]
        p = model.prepayment_hazard(book.age[i] + tt)
        installment = book.principal[i] * book.inst_factor[book.cohort[i], tt]
        amounts = [[x[0] for x in _amounts(model, book, np.array([[i]]), tt, k)] for k in range(counts.shape[1])]
        for z, wz in zip(zs, ws, strict=True):
            d = model.monthly_default_hazard(float(book.annual_pd[book.grade[i]]), float(z))
            step = (1 - d) * (1 - p)
            s_prev = np.concatenate([[1.0], np.cumprod(step)[:-1]])  # alive at the start of the month
            s_now = s_prev * step                                      # alive through the month
            sold = np.floor(book.collateral[i] * model.sale_factor(float(z)) + 1e-6)
            for k, (bal, full, part) in enumerate(amounts):
                w = wz * counts[:L, k]  # chance of k partial prepayments before the month
                flows[3, tt] += w * s_prev * d * bal
                paid = tt + delay <= T
                flows[4, tt[paid] + delay] += (w * s_prev * d * np.minimum(bal, sold))[paid]
                flows[2, tt] += w * s_prev * (1 - d) * p * full
                flows[2, tt] += w * s_now * q * part
                flows[1, tt] += w * s_now * installment * (1 - model.partial_prepayment_share) ** k
    flows[2] = model.refunds_paid(flows[2])  # by the month paid, not the month of the prepayment
    return _subrogated_later(flows, model)
