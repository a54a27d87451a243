"""The rent kernel's lookup tables, built once per scenario from its factor: the gap to a
first missed rent (:func:`gap_tables`, :func:`gap`), the stressed move thresholds in draw
order (:func:`transition_order`, :func:`stressed_thresholds`), and tables indexed by a
uniform's top :data:`TOP_BITS` bits that give most draws' outcome at once, exactly
(:func:`outcome_table`, :func:`next_tables`; a bucket that holds a change of outcome is
:data:`MIXED`, and the kernel works that draw out in full). Shared by the kernel and, for
the small helpers, the plain-Python reference."""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from ...collection import TRANSIENT_STATES, state_codes

#: Uniforms are 32-bit, ``bits / 2^32``; their top ``TOP_BITS`` bits index the outcome tables.
TOP_BITS = 12
TO_UNIT = 2.0 ** -32
#: Buckets of the guide table that starts each geometric-gap search (a power of two).
GUIDE = 1024
#: An outcome-table entry whose bucket of uniforms holds more than one outcome.
MIXED = -1


@numba.njit(nogil=True, cache=True)
def conditional_hazard(probit_h, z, sqrt_rho, sqrt_1mrho):
    """The Vasicek hazard given the factor, ``Phi((probit_h - sqrt(rho) z) / sqrt(1 - rho))``,
    as the kernel computes it (``Phi(x) = erfc(-x / sqrt 2) / 2``); the reference calls it too."""
    x = (probit_h - sqrt_rho * z) / sqrt_1mrho
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@numba.njit(nogil=True, cache=True)
def gap_tables(h: float, mu: float, months: int):
    """The draw tables of a grade in one scenario, shared by the kernel and the reference.

    Returns ``(inv_a, cdf, guide)``. With ``q = (1 - h)(1 - mu)`` a performing tenant misses
    a rent ``g`` months on with probability ``q^(g-1) h`` (``g >= 1``); ``a = h / (1 - q)``
    is the chance a missed rent comes before a move-out, and ``inv_a = 1 / a``. Given that it
    does, the gap is geometric: ``cdf[k] = 1 - q^(k+1)``, ``P(gap <= k+1)``, ``k < months``.
    A uniform ``u`` becomes ``x = u inv_a`` and the gap ``1 + searchsorted(cdf, x,
    side="right")`` (:func:`gap`): ``months + 1`` is no missed rent within the horizon
    (``x >= 1``: the tenant moves out first). ``guide[b]`` is that search's answer at
    ``x = b / GUIDE``, a start that leaves about one comparison (Chen and Asau's indexed search).
    """
    q = (1.0 - h) * (1.0 - mu)
    inv_a = (1.0 - q) / h if h > 0.0 else math.inf
    cdf = np.empty(months)
    for k in range(months):
        cdf[k] = 1.0 - q ** (k + 1)
    guide = np.empty(GUIDE, dtype=np.int32)
    k = 0
    for b in range(GUIDE):
        while k < months - 1 and cdf[k] <= b / GUIDE:
            k += 1
        guide[b] = k
    return inv_a, cdf, guide


@numba.njit(nogil=True, cache=True)
def gap(x, cdf, guide):
    """``1 + searchsorted(cdf, x, side="right")``: months to the next missed rent, ``len(cdf)
    + 1`` when there is none within ``len(cdf)`` months (NaN counts as none)."""
    n = cdf.shape[0]
    if not x < cdf[n - 1]:
        return n + 1
    k = guide[int(x * GUIDE)]
    while x >= cdf[k]:
        k += 1
    return k + 1


def transition_order(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each transient state, the states it can move to (itself included), most likely
    first: ``(order, n)``, ``order[i, :n[i]]`` state indices by descending base probability,
    ties by index. A month's uniform ``u`` picks the first of them whose cumulative
    probability exceeds ``u`` (the kernel reads most of those picks from tables)."""
    k = len(TRANSIENT_STATES)
    order = np.full((k, matrix.shape[1]), -1, dtype=np.int64)
    n = np.zeros(k, dtype=np.int64)
    for i in range(k):
        reachable = [j for j in range(matrix.shape[1]) if matrix[i, j] > 0 or j == i]
        reachable.sort(key=lambda j: (-matrix[i, j], j))
        order[i, :len(reachable)] = reachable
        n[i] = len(reachable)
    return order, n


def chain_arrays(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scaled, order, n)``: which states the economy scales the moves into
    (:data:`~actuarial.collection.ECONOMY_SCALED_MOVES`), and :func:`transition_order`."""
    return (state_codes().economy_scaled.copy(), *transition_order(matrix))


class ScenarioInputs(NamedTuple):
    """What a run fixes for :func:`scenario_tables`: the Vasicek terms ``sqrt(rho)`` and
    ``sqrt(1 - rho)``, each grade's ``probit_h = Phi^-1(h)``, the move-out hazard, the
    good-exit sensitivity ``beta``, the horizon, the chain's base matrix ``base_p``, the
    states whose moves the economy scales (``scaled``) and that pay the arrears
    (``paying``, :data:`~actuarial.collection.PAYMENT_EXITS`), and the draw order
    (:func:`transition_order`: ``dest``, ``n_dest``)."""

    sqrt_rho: float
    sqrt_1mrho: float
    probit_h: np.ndarray
    moveout_hazard: float
    good_exit_sensitivity: float
    months: int
    base_p: np.ndarray
    scaled: np.ndarray
    paying: np.ndarray
    dest: np.ndarray
    n_dest: np.ndarray


class ScenarioTables(NamedTuple):
    """What a scenario's factor fixes (:func:`scenario_tables`): the good-exit multiplier
    ``m``; the stressed move thresholds ``thr`` of each transient state in draw order, their
    next-state tables (``nexts``, :func:`next_tables`), the moves of dunning that pay
    (``paid0``), each move's interval of uniforms (``edges``) and rank (``rank_of``); and by
    grade the gap tables (``inv_a``, ``cdfs``, ``guides``, :func:`gap_tables`) and the outcome
    tables of a first missed rent and of a month in dunning, with their splits
    (:func:`outcome_table`)."""

    m: float
    thr: np.ndarray
    nexts: np.ndarray
    paid0: np.ndarray
    edges: np.ndarray
    rank_of: np.ndarray
    inv_a: np.ndarray
    cdfs: np.ndarray
    guides: np.ndarray
    first_tables: np.ndarray
    first_splits: np.ndarray
    dunning_tables: np.ndarray
    dunning_splits: np.ndarray


@numba.njit(nogil=True, cache=True, inline="always")
def table_gap(x, first_table):
    """``gap(x inv_a)`` for ``x`` in ``[0, 1]`` (a uniform rescaled within its move's
    interval) as the first-missed-rent table (:func:`outcome_table`) gives it: the gap
    where ``x``'s bucket holds one, ``MIXED`` where the kernel must call :func:`gap`.

    Inlined helpers that take arrays hold no branch and no call: numba counts references
    to an inlined function's array arguments, and where a call follows a branch it keeps
    those atomic increments and decrements on every pass (6% of a scenario when the gap's
    fallback was inside this helper)."""
    # x >= 0, so converting to int64 truncates as to uint64, in one instruction instead of two
    return np.int64(first_table[np.uint64(min(np.int64(x * (1 << TOP_BITS)), (1 << TOP_BITS) - 1))])


@numba.njit(nogil=True, cache=True, inline="always")
def rank(u, thr_row):
    """The rank of the move a uniform ``u`` draws: the first whose cumulative probability
    ``thr_row[r]`` exceeds it."""
    r = 0
    while u >= thr_row[r]:
        r += 1
    return r


@numba.njit(nogil=True, cache=True)
def dunning_outcome(u, thr0, dest0, paid0, inv_a, cdf, guide):
    """A month in dunning drawn ``u``: the move of rank ``r`` (the first whose cumulative
    probability ``thr0[r]`` exceeds ``u``). If it pays the arrears (``paid0[r]``), the gap to
    the next missed rent, from the same uniform rescaled within the move's interval,
    ``gap(((u - lo) / (hi - lo)) inv_a)``; 0 if it stays in dunning (``dest0[r] == 0``);
    otherwise ``-(r + 2)``."""
    r = rank(u, thr0)
    if not paid0[r]:
        return 0 if dest0[r] == 0 else -(r + 2)
    lo = thr0[r - 1] if r > 0 else 0.0
    return gap(((u - lo) / (thr0[r] - lo)) * inv_a, cdf, guide)


@numba.njit(nogil=True, cache=True, inline="always")
def _scaled(bits, lo, hi, inv_a):
    """``((u - lo) / (hi - lo)) inv_a`` for ``u = bits 2^-32``: the argument of :func:`gap` in
    :func:`dunning_outcome`, the same operations in the same order."""
    return ((bits * TO_UNIT - lo) / (hi - lo)) * inv_a


@numba.njit(nogil=True, cache=True)
def _crossing(target, first, last, lo, hi, inv_a):
    """The smallest ``bits`` in ``[first, last]`` with ``_scaled(bits) >= target``, given that
    ``last`` has it: estimated from the inverse of :func:`_scaled`, then found exactly by a
    bisection that starts in a few uniforms around the estimate when they bracket it."""
    c = math.ceil((lo + target / inv_a * (hi - lo)) * 2.0 ** 32) if inv_a > 0.0 else float(last)
    c = np.int64(min(max(c, float(first)), float(last)))
    a = max(first, c - 4)
    b = min(last, c + 4)
    if not (_scaled(b, lo, hi, inv_a) >= target and (a == first or _scaled(a - 1, lo, hi, inv_a) < target)):
        a, b = first, last
    while a < b:  # the answer is in [a, b]
        mid = (a + b) >> 1
        if _scaled(mid, lo, hi, inv_a) >= target:
            b = mid
        else:
            a = mid + 1
    return a


@numba.njit(nogil=True, cache=True)
def outcome_table(thr_row, dest_row, paid_row, n_moves, inv_a, cdf, table, split):
    """Fill ``table`` and ``split`` for the draws of :func:`dunning_outcome` ``(bits 2^-32,
    thr_row, dest_row, paid_row, inv_a, cdf, ...)``: a month in dunning, or (one paying move,
    ``thr_row = [1]``) a gap to the next missed rent, as in :func:`_scan` and
    :func:`table_gap`.

    The outcome is a step function of ``bits``: each move holds the uniforms from ``ceil(thr
    2^32)`` of the move before to its own, and within a paying move the gap grows with the
    uniform, changing where :func:`_scaled` first reaches ``cdf[g - 1]``
    (:func:`_crossing`, exact). With every change point ``c`` known (``bits`` up to ``2^32``,
    ``u = 1``, included), bucket ``b`` (uniforms ``[b, b + 1] 2^(32 - TOP_BITS)``, both
    ends) is:

    - uniform when no change falls in it after its first uniform: ``table[b]`` is the outcome;
    - ``MIXED`` otherwise. With one change, ``split[b] = (c, below, above)``
      (:func:`split_outcome`); with more, ``split[b] = (0, MIXED, MIXED)`` and the kernel
      works the draw out exactly.
    """
    n = cdf.shape[0]
    full = np.int64(1) << 32
    points = np.empty(n_moves * (n + 2), dtype=np.int64)
    values = np.empty(n_moves * (n + 2), dtype=np.int64)
    count = 0
    first = np.int64(0)
    for r in range(n_moves):
        last = full if r == n_moves - 1 else np.int64(math.ceil(thr_row[r] * 2.0 ** 32)) - 1
        if last < first:
            continue  # a move of zero probability
        if paid_row[r]:
            lo = thr_row[r - 1] if r > 0 else 0.0
            hi = thr_row[r]
            x = _scaled(first, lo, hi, inv_a)
            g = 1
            while g <= n and x >= cdf[g - 1]:
                g += 1
            c = first
            while True:
                if count == 0 or values[count - 1] != g:
                    points[count], values[count] = c, g
                    count += 1
                if g > n or not _scaled(last, lo, hi, inv_a) >= cdf[g - 1]:
                    break
                c = _crossing(cdf[g - 1], c + 1, last, lo, hi, inv_a)
                x = _scaled(c, lo, hi, inv_a)
                while g <= n and x >= cdf[g - 1]:
                    g += 1
        else:
            v = 0 if dest_row[r] == 0 else -(r + 2)
            if count == 0 or values[count - 1] != v:
                points[count], values[count] = first, v
                count += 1
        first = last + 1
    width = np.int64(1) << (32 - TOP_BITS)
    n_buckets = 1 << TOP_BITS
    for p in range(count):  # the buckets that start in segment p: [points[p], points[p + 1])
        stop = (points[p + 1] + width - 1) // width if p + 1 < count else n_buckets
        for b in range((points[p] + width - 1) // width, min(stop, n_buckets)):
            table[b] = values[p]
    for p in range(1, count):  # change point c falls after the first uniform of one bucket only
        c = points[p]
        b = (c + width - 1) // width - 1
        if table[b] != MIXED:  # the first (no outcome is MIXED)
            table[b] = MIXED
            split[b, 0], split[b, 1], split[b, 2] = c, values[p - 1], values[p]
        else:  # a second change in the bucket
            split[b, 0], split[b, 1], split[b, 2] = 0, MIXED, MIXED


@numba.njit(nogil=True, cache=True, inline="always")
def split_outcome(split, bits):
    """The outcome of ``bits`` in its bucket ``b = bits >> (32 - TOP_BITS)`` when that holds
    one change (:func:`outcome_table`), read in place and without a branch on which side:
    ``below`` under ``c``, ``above`` from ``c`` on; ``MIXED`` when the bucket holds more
    than one change."""
    b = np.uint64(bits >> (32 - TOP_BITS))
    above = np.int64(bits >= split[b, 0])
    return split[b, 1] + above * (split[b, 2] - split[b, 1])


@numba.njit(nogil=True, cache=True)
def next_tables(thr, dest, n_dest):
    """``table[i, b]``: the state that every uniform with top bits ``b`` moves transient state
    ``i`` to (the move of the first rank whose cumulative probability ``thr[i]`` exceeds the
    uniform, that is ``bits`` from ``ceil(thr[i, r - 1] 2^32)`` up to ``ceil(thr[i, r] 2^32)``),
    or ``MIXED``. Filled move by move over the buckets that lie wholly inside the move."""
    width = np.int64(1) << (32 - TOP_BITS)
    table = np.full((thr.shape[0], 1 << TOP_BITS), MIXED, dtype=np.int8)
    for i in range(thr.shape[0]):
        first = np.int64(0)
        for r in range(n_dest[i]):
            end = (np.int64(1) << 32) if r == n_dest[i] - 1 else np.int64(math.ceil(thr[i, r] * 2.0 ** 32))
            for b in range((first + width - 1) // width, end // width):
                table[i, b] = dest[i, r]
            first = max(first, end)
    return table


@numba.njit(nogil=True, cache=True)
def stressed_thresholds(base_p, good_mask, m, dest, n_dest):
    """Cumulative probabilities of each transient state's moves in its draw order
    (:func:`transition_order`), of the chain stressed as :meth:`CollectionChain.stressed`
    (the same sums in the same order: the good exits times ``m``, the difference to
    staying). The last is set to 1."""
    K = dest.shape[0]
    thr = np.empty(dest.shape)
    for i in range(K):
        old = 0.0
        new = 0.0
        for j in range(base_p.shape[1]):
            if good_mask[j]:
                old += base_p[i, j]
                new += base_p[i, j] * m
        acc = 0.0
        for r in range(n_dest[i]):
            j = dest[i, r]
            p = base_p[i, j]
            if good_mask[j]:
                p = p * m
            if j == i:
                p = p + (old - new)
            acc += p
            thr[i, r] = acc
        thr[i, n_dest[i] - 1] = 1.0
    return thr


@numba.njit(nogil=True, cache=True)
def scenario_tables(z, inputs):
    """The :class:`ScenarioTables` of the factor ``z`` given the run's :class:`ScenarioInputs`,
    for the kernel's scan and collection months."""
    dest, n_dest, T = inputs.dest, inputs.n_dest, inputs.months
    K = dest.shape[0]
    m = math.exp(inputs.good_exit_sensitivity * min(z, 0.0))
    thr = stressed_thresholds(inputs.base_p, inputs.scaled, m, dest, n_dest)
    paid0 = np.zeros(dest.shape[1], dtype=np.bool_)  # dunning's moves that pay the arrears
    for r in range(n_dest[0]):
        paid0[r] = inputs.paying[dest[0, r]]
    n_grades = inputs.probit_h.shape[0]
    inv_a = np.empty(n_grades)
    cdfs = np.empty((n_grades, T))
    guides = np.empty((n_grades, GUIDE), dtype=np.int32)
    first_tables = np.empty((n_grades, 1 << TOP_BITS), dtype=np.int16)
    dunning_tables = np.empty((n_grades, 1 << TOP_BITS), dtype=np.int16)
    first_splits = np.empty((n_grades, 1 << TOP_BITS, 3), dtype=np.int64)
    dunning_splits = np.empty((n_grades, 1 << TOP_BITS, 3), dtype=np.int64)
    # a gap to the next missed rent: one move, which pays (its destination is not read)
    one_move = (np.ones(1), np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.bool_))
    for k in range(n_grades):
        h = conditional_hazard(inputs.probit_h[k], z, inputs.sqrt_rho, inputs.sqrt_1mrho)
        inv_a[k], cdfs[k], guides[k] = gap_tables(h, inputs.moveout_hazard, T)
        outcome_table(*one_move, 1, inv_a[k], cdfs[k], first_tables[k], first_splits[k])
        outcome_table(thr[0], dest[0], paid0, n_dest[0], inv_a[k], cdfs[k], dunning_tables[k], dunning_splits[k])
    # each move's interval of uniforms, [edges[i, r], edges[i, r + 1]) for the move to
    # dest[i, r]; rank_of[i, j] is that r for the move from i to j
    edges = np.zeros((K, thr.shape[1] + 1))
    edges[:, 1:] = thr
    rank_of = np.zeros((K, inputs.base_p.shape[1]), dtype=np.int64)
    for i in range(K):
        for r in range(n_dest[i]):
            rank_of[i, dest[i, r]] = r
    return ScenarioTables(m, thr, next_tables(thr, dest, n_dest), paid0, edges, rank_of, inv_a, cdfs, guides,
                          first_tables, first_splits, dunning_tables, dunning_splits)


@numba.njit(nogil=True, cache=True, inline="always")
def grade_tables(tables, g):
    """What the kernel's scan and collection months read for grade ``g`` from the
    :class:`ScenarioTables` ``tables``: ``(first_table, first_split, dunning_table,
    dunning_split, inv_a, cdf, guide)``."""
    return (tables.first_tables[g], tables.first_splits[g], tables.dunning_tables[g], tables.dunning_splits[g],
            tables.inv_a[g], tables.cdfs[g], tables.guides[g])
