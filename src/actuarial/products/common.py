"""Validation and exact-rounding helpers shared by the product calculators.

Money is integer yen. A rate times an amount is computed exactly: the rate is turned
into a fraction ``num / den`` from its decimal text (``0.7`` -> ``7/10``), so that
``floor(0.7 * 1_400_000)`` is ``980_000`` and not ``979_999`` through binary floating
point. Rates are therefore exact to six decimal places, which covers every rate in the
source documents.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from fractions import Fraction

import numpy as np
import pandas as pd

#: Items a subrogation (代位弁済) can consist of. The first three are "rent" in the
#: JHF sense (unpaid rent including management and common-area fees); the rest are
#: costs the JHF guide (docs/domain.md §2.2) lists as not covered, plus parking, which is not "rent" there.
RENT_ITEMS = ("rent", "management_fee", "common_fee")
COST_ITEMS = (
    "parking_fee",
    "restoration",
    "suit_costs",
    "renewal_fee",
    "removal",
    "early_termination_penalty",
)
SUBROGATION_ITEMS = RENT_ITEMS + COST_ITEMS

_MAX_DENOMINATOR = 10**6

#: The largest economic sensitivity a model accepts (``good_exit_sensitivity``,
#: ``house_price_sensitivity``): at 5 a 1-in-100 economy (z = -2.3) keeps exp(-11.6), about a
#: hundred-thousandth, of a cure rate or a house price; anything larger is a typo.
MAX_SENSITIVITY = 5.0


def rate_fraction(rate: float, name: str = "rate") -> Fraction:
    """Exact fraction of a rate given in decimal, e.g. ``0.7`` -> ``Fraction(7, 10)``.

    >>> rate_fraction(0.25)
    Fraction(1, 4)
    """
    frac = Fraction(str(rate)).limit_denominator(_MAX_DENOMINATOR)
    if abs(float(frac) - float(rate)) > 1e-12:
        raise ValueError(f"{name}={rate!r} needs more than six decimal places")
    return frac


def is_array(*values) -> bool:
    """True when any value is a numpy array or a pandas object (vectorised call)."""
    return any(isinstance(v, np.ndarray) or hasattr(v, "to_numpy") for v in values)


def is_real(value) -> bool:
    """True for a real number that is not a bool (Python's or numpy's)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def plain(value):
    """``value`` as a Python scalar when it is a numpy one, for messages: ``3``, not
    ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def check_yen(name: str, value, *, allow_negative: bool = False):
    """Validate money in yen: an integer (or integral float), not bool, not NaN, >= 0.

    Returns a Python ``int`` for a scalar, an ``int64`` array for an array-like.

    >>> check_yen("rent", 100_000)
    100000
    >>> check_yen("rent", -1)
    Traceback (most recent call last):
    ...
    ValueError: rent must be a non-negative amount of yen, got -1
    """
    if is_array(value) or isinstance(value, (list, tuple)):
        arr = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
        if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"{name} must hold yen amounts (integers), got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating):
            bad = ~np.isfinite(arr) | (arr != np.floor(arr))
            if bad.any():
                i = int(np.flatnonzero(bad.ravel())[0])
                raise ValueError(f"{name} must hold whole yen, got {plain(arr.ravel()[i])!r} at position {i}")
        arr = arr.astype(np.int64)
        if not allow_negative and (arr < 0).any():
            i = int(np.flatnonzero((arr < 0).ravel())[0])
            raise ValueError(f"{name} must be non-negative yen, got {arr.ravel()[i]} at position {i}")
        return arr
    if not is_real(value):
        raise ValueError(f"{name} must be an amount of yen (int), got {value!r}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    else:
        if not math.isfinite(value) or value != math.floor(value):
            raise ValueError(f"{name} must be whole yen, got {value!r}")
        out = int(value)
    if out < 0 and not allow_negative:
        raise ValueError(f"{name} must be a non-negative amount of yen, got {value!r}")
    return out


def check_rate(name: str, value) -> float:
    """Validate a probability or ratio in [0, 1].

    >>> check_rate("coverage_ratio", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: coverage_ratio must be a number in [0, 1], got 1.5
    """
    if not is_real(value) or not (0.0 <= float(value) <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_count(name: str, value, *, minimum: int = 0):
    """Validate a whole count (months, days): an integer >= ``minimum``; arrays too."""
    if is_array(value) or isinstance(value, (list, tuple)):
        arr = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
        if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
            if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
                arr = arr.astype(np.int64)
            else:
                raise ValueError(f"{name} must hold whole numbers, got dtype {arr.dtype}")
        if (arr < minimum).any():
            i = int(np.flatnonzero((arr < minimum).ravel())[0])
            raise ValueError(f"{name} must be >= {minimum}, got {arr.ravel()[i]} at position {i}")
        return arr.astype(np.int64)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def mul_floor(amount, rate: Fraction):
    """``floor(amount * rate)`` exactly, for an int or an int64 array (truncation to the yen).

    >>> mul_floor(1_400_000, Fraction(7, 10))
    980000
    >>> mul_floor(np.array([3, 5]), Fraction(1, 4)).tolist()
    [0, 1]
    """
    if isinstance(amount, np.ndarray):
        a = amount.astype(np.int64)
        if a.size and int(np.abs(a).max()) * rate.numerator >= 2**62:
            return np.array([int(x) * rate.numerator // rate.denominator for x in a.ravel()],
                            dtype=np.int64).reshape(a.shape)
        return (a * rate.numerator) // rate.denominator
    return int(amount) * rate.numerator // rate.denominator


def to_date(name: str, value) -> dt.date:
    """A ``date`` from a date, datetime, numpy/pandas timestamp or ISO text; else ``ValueError``.

    >>> to_date("claim_date", "2024-04-01")
    datetime.date(2024, 4, 1)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be a date (YYYY-MM-DD), got {value!r}")


def require_frame(df, columns, what: str, *, allow_empty: bool = True, numeric: bool = False) -> None:
    """``ValueError`` unless ``df`` is a DataFrame holding ``columns`` (named with ``what``),
    with rows unless ``allow_empty``, and, if ``numeric``, numbers (not booleans) in each.

    >>> require_frame(pd.DataFrame({"a": [1]}), ("a", "b"), "claims")
    Traceback (most recent call last):
    ...
    ValueError: claims is missing column 'b' (needs a, b)
    >>> require_frame(pd.DataFrame({"a": [True]}), ("a",), "claims", numeric=True)
    Traceback (most recent call last):
    ...
    ValueError: claims: column 'a' must hold numbers, got dtype bool
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column {missing[0]!r} (needs {', '.join(columns)})")
    if not allow_empty and len(df) == 0:
        raise ValueError(f"{what} has no rows")
    if numeric:
        for c in columns:
            if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
                raise ValueError(f"{what}: column {c!r} must hold numbers, got dtype {df[c].dtype}")


def require_whole(df: pd.DataFrame, column: str, what: str = "portfolio", unit: str = "whole numbers") -> None:
    """``ValueError`` unless column ``column`` of ``df`` holds integers (not booleans),
    naming the first row that does not and its value: a missing value, a fraction, text
    such as ``'85,000'``, or a float where an integer belongs.

    >>> require_whole(pd.DataFrame({"rent_yen": [85_000, 70_000]}), "rent_yen", unit="whole yen")
    >>> require_whole(pd.DataFrame({"rent_yen": [85_000, None]}), "rent_yen", unit="whole yen")
    Traceback (most recent call last):
    ...
    ValueError: portfolio column 'rent_yen' must hold whole yen (integers), got nan in row 1
    >>> require_whole(pd.DataFrame({"rent_yen": ["85,000"]}, index=["c1"]), "rent_yen", unit="whole yen")
    Traceback (most recent call last):
    ...
    ValueError: portfolio column 'rent_yen' must hold whole yen (integers), got '85,000' in row 'c1'
    """
    col = df[column]
    if pd.api.types.is_integer_dtype(col):  # bool is not an integer dtype here
        return
    message = f"{what} column {column!r} must hold {unit} (integers), got"
    if pd.api.types.is_float_dtype(col):
        values = col.to_numpy(dtype=float)
        bad = ~(values == np.round(values))  # a fraction or NaN
        if bad.any():
            row, i = first_row(col, bad)
            raise ValueError(f"{message} {float(values[i])!r} in row {row!r}")
        raise ValueError(f"{message} floats ({float(col.iloc[0])!r} in row {col.index[0]!r}); "
                         f"convert the column with .astype('int64')")
    for row, value in col.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{message} {plain(value)!r} in row {row!r}")
    raise ValueError(f"{message} dtype {col.dtype}")


def require_known(frame, column: str, known, what: str, noun: str) -> None:
    """``ValueError`` naming the first row whose ``column`` is not one of ``known``: its value
    and what it should have been (``noun``: "state", "mortgage status").

    >>> require_known(pd.DataFrame({"status": ["ok", "late"]}), "status", ("ok",), "book", "status")
    Traceback (most recent call last):
    ...
    ValueError: book column 'status' has 'late' in row 1, which is not a status; known: ok
    """
    bad = ~frame[column].isin(known).to_numpy()
    if bad.any():
        row, i = first_row(frame, bad)
        raise ValueError(f"{what} column {column!r} has {plain(frame[column].iloc[i])!r} in row {row!r}, which is "
                         f"not a {noun}; known: {', '.join(known)}")


def first_row(obj, mask) -> tuple[object, int]:
    """The index label and the position of the first row of ``obj`` (a DataFrame or
    Series) where ``mask`` holds. Read the row's values by position (``.iloc``): a book
    made by concatenating two has each label twice, and a label then finds two rows.

    >>> first_row(pd.Series([5, -1, -2], index=[7, 7, 8]), np.array([False, True, True]))
    (7, 1)
    """
    position = int(np.flatnonzero(np.asarray(mask))[0])
    return plain(obj.index[position]), position
