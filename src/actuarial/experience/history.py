"""A status history: one row per contract per month-end, checked, and its month-to-month
transitions.

Columns (:data:`HISTORY_COLUMNS`): ``contract_id``; ``month`` (``YYYY-MM``, or ``YYYY-MM-DD`` in
that month); ``status`` (:data:`HISTORY_STATUSES`: ``performing``, a collection state, a
tenancy-ending exit, or ``moved_out`` for a tenancy that ended with nothing owed);
``months_owed`` (whole months of rent subrogated and not yet recovered). Optional: ``grade``
(the contract's risk grade; without it every contract is rated ``all``, which a
study against params needs them to rate) and ``origination`` (``YYYY-MM``, the month the guarantee
started; without it, the contract's first month in the history).

A contract's rows are consecutive months in order, with no month twice and none missing. A
tenancy-ending exit or ``moved_out`` is its last row. A missed rent starts in dunning, so a
performing contract moves only to performing, dunning or ``moved_out``; a contract in
collection leaves it by a collection exit, never by ``moved_out``. A row in collection
followed by ``performing`` is the chain's payment exit: ``installment_paid`` from a payment
plan, ``cure`` from any other state.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from ..collection import PLAN_STATES, STATES, TENANCY_ENDING_EXITS, TRANSIENT_STATES
from ..products.common import first_row, plain, require_frame, require_whole

PERFORMING, MOVED_OUT = "performing", "moved_out"
#: The required columns of a status history.
HISTORY_COLUMNS = ("contract_id", "month", "status", "months_owed")
#: The statuses a history's row may have.
HISTORY_STATUSES = (PERFORMING, *TRANSIENT_STATES, *TENANCY_ENDING_EXITS, MOVED_OUT)
#: Statuses after which a contract has no further row.
ENDINGS = (*TENANCY_ENDING_EXITS, MOVED_OUT)
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})(-\d{1,2})?\s*$")


@dataclasses.dataclass(frozen=True)
class History:
    """A checked history, rows in the file's order (each contract's consecutive): the
    contract's code (``ids[code]`` its id), the month as ``12 x year + month - 1``, the
    status code (:data:`HISTORY_STATUSES` order), months owed, grade and origination month."""

    contract: np.ndarray
    ids: pd.Index
    month: np.ndarray
    status: np.ndarray
    months_owed: np.ndarray
    grade: np.ndarray         # codes into ``grades``
    grades: pd.Index
    origination: np.ndarray


def _flags(statuses) -> np.ndarray:
    """A lookup by status code: True for the codes of ``statuses``."""
    flags = np.zeros(len(HISTORY_STATUSES), dtype=bool)
    flags[[HISTORY_STATUSES.index(x) for x in statuses]] = True
    return flags


def month_number(text: str) -> int | None:
    """``12 x year + month - 1`` of ``YYYY-MM`` (or ``YYYY-MM-DD``), or None.

    >>> month_number("2026-12"), month_number("2026-12-31"), month_number("Dec 2026")
    (24323, 24323, None)
    """
    m = _MONTH.match(str(text))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def month_label(number) -> str:
    """``YYYY-MM`` of a :func:`month_number`."""
    return f"{int(number) // 12:04d}-{int(number) % 12 + 1:02d}"


def _months(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    inverse, unique = pd.factorize(frame[column], use_na_sentinel=False)
    numbers = np.array([month_number(u) if isinstance(u, str) else None for u in unique], dtype=object)
    bad = np.array([n is None for n in numbers], dtype=bool)
    if bad[inverse].any():
        row, i = first_row(frame, bad[inverse])
        raise ValueError(f"{what} column {column!r} in row {row!r}: {plain(frame[column].iloc[i])!r} is not a month "
                         f"(YYYY-MM)")
    return np.where(bad, 0, numbers).astype(np.int64)[inverse]


def prepare_history(frame: pd.DataFrame, what: str = "history") -> History:
    """Check a status history (module docstring) and lay it out; ``ValueError`` naming the
    column, the row and the value of the first problem, before anything is computed."""
    require_frame(frame, HISTORY_COLUMNS, what, allow_empty=False)
    missing = frame["contract_id"].isna().to_numpy()
    if missing.any():
        row, _ = first_row(frame, missing)
        raise ValueError(f"{what} column 'contract_id' in row {row!r}: an empty cell; every row needs a contract")
    status_code = pd.Index(HISTORY_STATUSES).get_indexer(frame["status"])
    bad = status_code < 0
    if bad.any():
        row, i = first_row(frame, bad)
        raise ValueError(f"{what} column 'status' in row {row!r}: {plain(frame['status'].iloc[i])!r} is not a status; "
                         f"known: {', '.join(HISTORY_STATUSES)}")
    require_whole(frame, "months_owed", what, unit="whole months")
    owed = frame["months_owed"].to_numpy(np.int64)
    if (owed < 0).any():
        row, i = first_row(frame, owed < 0)
        raise ValueError(f"{what} column 'months_owed' in row {row!r}: a negative number of months {owed[i]}")
    if (owed > 1200).any():
        row, i = first_row(frame, owed > 1200)
        raise ValueError(f"{what} column 'months_owed' in row {row!r}: {owed[i]} months is beyond any tenancy "
                         f"(at most 1,200)")
    owing = (status_code == HISTORY_STATUSES.index(PERFORMING)) & (owed > 0)
    if owing.any():
        row, i = first_row(frame, owing)
        raise ValueError(f"{what} column 'months_owed' in row {row!r}: a performing contract owes nothing, got "
                         f"{owed[i]} months; a contract that owes is in a collection state")
    month = _months(frame, "month", what)
    codes, ids = pd.factorize(frame["contract_id"])
    order = np.argsort(codes, kind="stable")  # each contract's rows together, in the file's order
    c, m, s = codes[order], month[order], status_code[order].astype(np.int64)
    same = c[1:] == c[:-1]
    step = m[1:] - m[:-1]
    ending = _flags(ENDINGS)[s[:-1]]
    frm, to = s[:-1], s[1:]
    perf, out = HISTORY_STATUSES.index(PERFORMING), HISTORY_STATUSES.index(MOVED_OUT)
    transient = (frm >= 1) & (frm <= len(TRANSIENT_STATES))
    problems = (
        (same & (step == 0), "month", "{v!r} appears twice for contract {c!r}"),
        (same & (step < 0), "month", "{v!r} is out of order: contract {c!r} had a later month in an earlier row"),
        (same & (step > 1), "month", "{v!r} leaves a gap: contract {c!r} has no row for the month before it"),
        (same & ending, "status", "{v!r} after the contract ended ({e}) the month before: an ending is a "
                                  "contract's last row"),
        (same & (frm == perf) & ~_flags((PERFORMING, TRANSIENT_STATES[0], MOVED_OUT))[to], "status",
         "{v!r} straight after 'performing' for contract {c!r}: a missed rent starts in dunning"),
        (same & transient & (to == out), "status",
         "{v!r} for contract {c!r} in collection the month before: it ends by a collection exit"),
    )
    for mask, column, message in problems:
        if mask.any():
            k = int(np.flatnonzero(mask)[0])
            i = int(order[k + 1])
            row = plain(frame.index[i])
            raise ValueError(f"{what} column {column!r} in row {row!r}: " + message.format(
                v=plain(frame[column].iloc[i]), c=plain(ids[c[k]]), e=HISTORY_STATUSES[frm[k]]))
    if "grade" in frame.columns:
        gone = frame["grade"].isna().to_numpy()
        if gone.any():
            row, _ = first_row(frame, gone)
            raise ValueError(f"{what} column 'grade' in row {row!r}: an empty cell")
        grade, grades = pd.factorize(frame["grade"])
        grade, grades = grade[order], pd.Index(grades).astype(str)
        _one_per_contract(frame, "grade", grade, same, order, what)
    else:
        grade, grades = np.zeros(len(frame), dtype=np.int64), pd.Index(["all"])
    first = np.r_[True, ~same]
    start = np.maximum.accumulate(np.where(first, np.arange(len(c)), 0))  # each row's contract's first row
    if "origination" in frame.columns:
        origination = _months(frame, "origination", what)[order]
        _one_per_contract(frame, "origination", origination, same, order, what)
        late = origination > m
        if late.any():
            i = int(order[np.flatnonzero(late)[0]])
            raise ValueError(f"{what} column 'origination' in row {plain(frame.index[i])!r}: "
                             f"{plain(frame['origination'].iloc[i])!r} is after the row's month "
                             f"{plain(frame['month'].iloc[i])!r}")
    else:
        origination = m[start]
    return History(c, ids, m, s, owed[order], grade, grades, origination)


def _one_per_contract(frame, column, values, same, order, what) -> None:
    """``ValueError`` when ``column`` changes within a contract (``values`` in contract order)."""
    changed = same & (values[1:] != values[:-1])
    if changed.any():
        i = int(order[np.flatnonzero(changed)[0] + 1])
        raise ValueError(f"{what} column {column!r} in row {plain(frame.index[i])!r}: "
                         f"{plain(frame[column].iloc[i])!r} differs from the contract's earlier rows; a contract has "
                         f"one {column}")


def read_history(path, *, strict: bool = False) -> pd.DataFrame:
    """Read a status history CSV (UTF-8; :func:`~actuarial.portfolio.read_book_csv`): rows
    numbered as a spreadsheet shows them (the header is row 1), whole months owed; errors
    name the file."""
    from ..portfolio import read_book_csv

    return read_book_csv(path, "history", strict=strict)


#: The moves of a step: staying, a performing contract's missed rent or move-out, or the
#: chain's move to a state (its payment exits ``cure`` and ``installment_paid`` included).
MOVES = ("stay", "missed_rent", MOVED_OUT, *STATES)


def transitions(h: History) -> pd.DataFrame:
    """Each month-to-month step of a contract: ``from`` and ``to`` statuses, the chain's
    ``move`` (:data:`MOVES`: ``stay``; from performing ``missed_rent`` or ``moved_out``;
    from collection the state moved to, ``cure`` or ``installment_paid`` for a return to
    performing), the ``grade``, the ``vintage`` (origination quarter, ``2025Q3``), the
    calendar ``month`` (of the ``from`` row), the contract's ``age`` then (months since
    origination) and its months owed then and a month later. Statuses, moves, grades and
    vintages are categorical; ``contract`` is the contract's code (``h.ids`` its id)."""
    same = h.contract[1:] == h.contract[:-1]
    k = np.flatnonzero(same)
    frm, to = h.status[k], h.status[k + 1]
    to_move = np.array([MOVES.index(x) if x in MOVES else MOVES.index("stay") for x in HISTORY_STATUSES])
    move = to_move[to]
    perf = HISTORY_STATUSES.index(PERFORMING)
    move[(frm == perf) & (to == HISTORY_STATUSES.index(TRANSIENT_STATES[0]))] = MOVES.index("missed_rent")
    back = (frm != perf) & (to == perf)
    plan = _flags(PLAN_STATES)[frm]
    move[back & plan] = MOVES.index("installment_paid")
    move[back & ~plan] = MOVES.index("cure")
    move[frm == to] = MOVES.index("stay")
    origination = h.origination[k]
    quarter, quarters = pd.factorize(origination // 3, sort=True)
    labels = [f"{q // 4}Q{q % 4 + 1}" for q in quarters]
    return pd.DataFrame({"contract": h.contract[k],
                         "from": pd.Categorical.from_codes(frm, HISTORY_STATUSES),
                         "to": pd.Categorical.from_codes(to, HISTORY_STATUSES),
                         "move": pd.Categorical.from_codes(move, MOVES),
                         "grade": pd.Categorical.from_codes(h.grade[k], list(h.grades)),
                         "vintage": pd.Categorical.from_codes(quarter, labels),
                         "month": h.month[k], "age": h.month[k] - origination,
                         "months_owed": h.months_owed[k], "next_months_owed": h.months_owed[k + 1]})
