"""Synthetic books for examples, tests and benchmarks (deterministic from a seed).

Real books come from the user as DataFrames with the columns
:data:`actuarial.simulation.rent.PORTFOLIO_COLUMNS`; these generators only make
plausible stand-ins of any size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .products.common import first_row, plain
from .products.jhf_insurance import SUPPORT_CATEGORIES, JHFTerms


def synthetic_rent_book(n_contracts: int, seed: int, *, plans=("zenhoren_yearly", "zenhoren_one_time", "monthly"),
                        grades=("A", "B", "C"), grade_shares=(0.5, 0.35, 0.15), insured_share: float = 0.3,
                        ) -> pd.DataFrame:
    """A rent-guarantee book of ``n_contracts`` rows.

    Rents are log-normal around 75,000 yen rounded to 1,000 yen (assumption); management
    fees 0-8,000; a third have parking at 10,000. About 60% of tenants fit one of the JHF
    support categories with all other conditions met; ``insured_share`` of the whole book is
    insured, drawn only from the eligible contracts (raises if there are too few).

    >>> b = synthetic_rent_book(1_000, seed=1)
    >>> len(b), int(b["insured"].sum()), bool(JHFTerms().eligibility(b[b["insured"]])["eligible"].all())
    (1000, 300, True)
    """
    for name, v in (("n_contracts", n_contracts), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if name == "n_contracts" else 0):
            raise ValueError(f"{name} must be a whole number >= {1 if name == 'n_contracts' else 0}, got {v!r}")
    if len(grades) != len(grade_shares) or not np.isclose(sum(grade_shares), 1.0):
        raise ValueError(f"grade_shares must give one share per grade summing to 1, got {grade_shares!r}")
    if isinstance(insured_share, bool) or not 0 <= insured_share <= 1:
        raise ValueError(f"insured_share must be in [0, 1], got {insured_share!r}")
    rng = np.random.default_rng(seed)
    n = n_contracts
    rent = (np.round(np.exp(rng.normal(np.log(75_000), 0.35, n)) / 1_000) * 1_000).astype(np.int64)
    rent = np.clip(rent, 20_000, 500_000)
    support = rng.random(n) < 0.6
    cats = np.where(support, rng.choice(np.array(SUPPORT_CATEGORIES, dtype=object), n), "")
    book = pd.DataFrame({
        "rent_yen": rent,
        "management_fee_yen": (rng.integers(0, 9, n) * 1_000).astype(np.int64),
        "common_fee_yen": np.zeros(n, dtype=np.int64),
        "parking_fee_yen": np.where(rng.random(n) < 1 / 3, 10_000, 0).astype(np.int64),
        "plan": rng.choice(np.array(plans, dtype=object), n),
        "grade": rng.choice(np.array(grades, dtype=object), n, p=np.asarray(grade_shares, dtype=float)),
        "support_categories": cats,
        "registered_dwelling": support,
        "monthly_income_yen": (rent * rng.uniform(1.8, 4.0, n)).astype(np.int64),
        "other_guarantor": np.zeros(n, dtype=bool),
        "antisocial": np.zeros(n, dtype=bool),
        "identity_verified": np.ones(n, dtype=bool),
        "consent_to_jhf": support,
    })
    book["rent_at_start_yen"] = book["rent_yen"] + book["management_fee_yen"] + book["common_fee_yen"]
    eligible = np.flatnonzero(JHFTerms.eligibility(book)["eligible"].to_numpy())
    k = int(round(insured_share * n))
    if k > len(eligible):
        raise ValueError(f"insured_share={insured_share} needs {k} eligible contracts, the book has {len(eligible)}")
    insured = np.zeros(n, dtype=bool)
    insured[rng.choice(eligible, k, replace=False)] = True
    book["insured"] = insured
    return book


def synthetic_mortgage_book(n_loans: int, seed: int, *, grades=("A", "B", "C"), grade_shares=(0.6, 0.3, 0.1),
                            lump_sum_share: float = 0.5, new_share: float = 1.0) -> pd.DataFrame:
    """A mortgage-guarantee book of ``n_loans`` rows.

    Principals 10-60 million yen in 100,000-yen steps, terms 25/30/35 years, rates 0.6-2.0%
    in four steps, collateral 1.0-1.5 x the principal (assumptions). ``new_share`` of the loans
    start now (age 0, so lump-sum fees fall in month 0); the rest are up to 10 years old.

    >>> b = synthetic_mortgage_book(100, seed=1)
    >>> len(b), sorted(b["term_months"].unique().tolist())
    (100, [300, 360, 420])
    """
    for name, v in (("n_loans", n_loans), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if name == "n_loans" else 0):
            raise ValueError(f"{name} must be a whole number >= {1 if name == 'n_loans' else 0}, got {v!r}")
    if len(grades) != len(grade_shares) or not np.isclose(sum(grade_shares), 1.0):
        raise ValueError(f"grade_shares must give one share per grade summing to 1, got {grade_shares!r}")
    for name, v in (("lump_sum_share", lump_sum_share), ("new_share", new_share)):
        if isinstance(v, bool) or not 0 <= v <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    rng = np.random.default_rng(seed)
    n = n_loans
    principal = rng.integers(100, 601, n).astype(np.int64) * 100_000
    term = rng.choice(np.array([300, 360, 420], dtype=np.int64), n)
    age = np.where(rng.random(n) < new_share, 0, rng.integers(1, 121, n)).astype(np.int64)
    return pd.DataFrame({
        "principal_yen": principal,
        "annual_interest_rate": rng.choice(np.array([0.006, 0.009, 0.014, 0.020]), n),
        "term_months": term,
        "age_months": age,
        "collateral_value_yen": (principal * rng.uniform(1.0, 1.5, n)).astype(np.int64),
        "grade": rng.choice(np.array(grades, dtype=object), n, p=np.asarray(grade_shares, dtype=float)),
        "fee_type": np.where(rng.random(n) < lump_sum_share, "lump_sum", "installment").astype(object),
    })


def books_from_params(scenario, params_path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The rent and mortgage books a scenario file names: its CSV files (paths relative to
    the params file) or synthetic books of the sizes it gives. A book is ``None`` when the
    scenario has no model for it."""
    from pathlib import Path

    p = scenario.portfolio
    base = Path(params_path).resolve().parent
    rent = mortgage = None
    if scenario.rent_model is not None:
        rent = (read_book_csv(base / p.rent_book_csv, "rent") if p.rent_book_csv
                else synthetic_rent_book(p.rent_contracts, p.seed, insured_share=p.rent_insured_share))
    if scenario.mortgage_model is not None:
        mortgage = (read_book_csv(base / p.mortgage_book_csv, "mortgage") if p.mortgage_book_csv
                    else synthetic_mortgage_book(p.mortgage_loans, p.seed, lump_sum_share=p.mortgage_lump_sum_share))
    return rent, mortgage


def known_columns(kind: str) -> tuple[str, ...]:
    """Every column the engines read from a ``kind`` book (:func:`read_book_csv`)."""
    from .experience.history import HISTORY_COLUMNS
    from .products.jhf_insurance import ELIGIBILITY_COLUMNS
    from .simulation.mortgage import MORTGAGE_COLUMNS
    from .simulation.mortgage_inforce import MORTGAGE_STATUS_COLUMNS
    from .simulation.rent import PORTFOLIO_COLUMNS
    from .simulation.rent.inforce import STATUS_COLUMNS
    from .valuation.receivables import RECEIVABLE_COLUMNS

    return {"rent": ("contract_id", "start_month", *PORTFOLIO_COLUMNS, *STATUS_COLUMNS, *ELIGIBILITY_COLUMNS),
            "mortgage": ("loan_id", *MORTGAGE_COLUMNS, *MORTGAGE_STATUS_COLUMNS, "fee_paid_yen"),
            "receivables": RECEIVABLE_COLUMNS,
            "history": (*HISTORY_COLUMNS, "grade", "origination")}[kind]


#: The range in which a book's figure is plausible, by book and column, with what a figure
#: outside it most likely is: amounts in thousands of yen or 万円, a rate written as a
#: percentage, a date where months are wanted. :func:`read_book_csv` refuses a figure outside.
PLAUSIBLE = {
    "rent": {"rent_yen": (1_000, 10_000_000, "a monthly rent in whole yen, not thousands (49 for 49,000 yen?)"),
             "start_month": (-600, 600, "months from the valuation date, at most 50 years (an Excel date?)")},
    "mortgage": {"principal_yen": (100_000, 10_000_000_000, "whole yen, not 万円 (3920 for 39,200,000 yen?)"),
                 "annual_interest_rate": (0.0, 0.10, "a loan's rate as a fraction: 0.014 for 1.4%")},
    "receivables": {"months_since_exit": (0, 600, "months, at most 50 years")},
}


def _implausible(path, kind: str, book: pd.DataFrame) -> None:
    """Refuse the first figure outside :data:`PLAUSIBLE`, naming the file, column, row and value."""
    for column, (lo, hi, meant) in PLAUSIBLE.get(kind, {}).items():
        if column not in book:
            continue
        values = pd.to_numeric(book[column], errors="coerce").to_numpy(dtype=float)
        bad = (values < lo) | (values > hi)  # NaN is the engine's to name
        if bad.any():
            row, i = first_row(book, bad)
            raise ValueError(f"{path}: column {column!r} in row {row}: {plain(book[column].iloc[i])!r} is outside "
                             f"the plausible {lo:,} to {hi:,}: {meant}")


def _scan_rows(path) -> list[str] | None:
    """The header of a CSV file, once every row has the header's number of fields and none
    is blank but at the end (a blank line would shift the row numbers every message gives);
    the header names each column once, and none empty, and is not one column holding
    semicolons or tabs (another separator). Raises ``ValueError`` naming the row as a
    spreadsheet numbers it; None for an empty file (pandas names it)."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return None
        if len(header) == 1 and ";" in header[0]:
            raise ValueError(f"{path}: the header is one column, {header[0][:60]!r}: the file is separated by "
                             f"semicolons; save it as CSV separated by commas (Excel: 'CSV UTF-8 (comma delimited)')")
        if len(header) == 1 and "\t" in header[0]:
            raise ValueError(f"{path}: the header is one column holding tabs: the file is separated by tabs (Excel's "
                             f"'Text (Tab delimited)'); save it as 'CSV UTF-8 (comma delimited)'")
        if len(header) > 1 and "" in header:
            i = header.index("") + 1
            raise ValueError(f"{path}: column {i} of the header has no name (a trailing comma from a spreadsheet "
                             f"export?); remove the empty column")
        seen = {}
        for i, name in enumerate(header, start=1):
            if name in seen:
                raise ValueError(f"{path}: the header names column {name!r} twice (columns {seen[name]} and {i}); "
                                 f"each column once")
            seen[name] = i
        n, blank = len(header), None
        for line, row in enumerate(reader, start=2):  # a record a row, as a spreadsheet numbers them
            if not any(cell.strip() for cell in row):
                blank = blank or line  # blank lines at the very end are harmless
                continue
            if blank:
                raise ValueError(f"{path}: row {blank} is blank; remove it (every message names rows as a "
                                 f"spreadsheet numbers them)")
            if len(row) > n:
                raise ValueError(f"{path}: row {line} has {len(row)} fields where the header has {n}: a comma "
                                 f"inside a value (write 61000, not 61,000, or quote the cell) or a stray comma")
            if len(row) < n:
                raise ValueError(f"{path}: row {line} has {len(row)} fields where the header has {n}: a cell is "
                                 f"missing")
    return header


def _unread_columns(path, kind: str, columns, strict: bool) -> None:
    """A column no engine reads (a typo: named with the nearest known name): a warning, an
    error when ``strict``."""
    import difflib
    import warnings

    known = known_columns(kind)
    for name in columns:
        if name not in known:
            near = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else f"; the columns read are {', '.join(known)}"
            message = f"{path}: column {name!r} is not read by the {kind} engine{hint}"
            if strict:
                raise ValueError(message + " (refused by check and --strict; remove or rename it)")
            warnings.warn(message, UserWarning, stacklevel=3)


def read_book_csv(path, kind: str, *, strict: bool = False) -> pd.DataFrame:
    """Read a ``kind`` (``"rent"``, ``"mortgage"``, ``"receivables"`` or ``"history"``, a status
    history) book from CSV with the column types
    the engines check; errors name the file, the column, the first bad value and its row.
    Rows are numbered as a spreadsheet shows the file, the header being row 1: the book's
    index starts at 2, so the engine's checks name the same rows.

    What a spreadsheet export does to a column is undone here: whole amounts written with a
    decimal point (``85000.0``) or as text become integers, and ``insured`` reads
    True/False, ``TRUE``/``FALSE`` or 1/0. A missing value, a fraction or text that is not a
    number (``85,000``) in an amount or month column is an error, and so are a file
    separated by semicolons and a header naming a column twice. A column no engine reads
    (:func:`known_columns`; ``start_mnth`` for ``start_month``) is named with the nearest
    known name: a warning, or an error when ``strict``. A figure outside its plausible range
    (:data:`PLAUSIBLE`: a rent of 1,000 to 10,000,000 yen, a principal from 100,000 yen, a
    loan rate up to 10%, start months within 50 years) is refused: most often a unit
    mistake. The engine's checks
    (:func:`~actuarial.simulation.rent.validate_portfolio`, :func:`check_books`) then name
    any other bad value."""
    from pathlib import Path

    from .simulation.mortgage import MORTGAGE_COLUMNS
    from .simulation.mortgage_inforce import MORTGAGE_STATUS_COLUMNS
    from .simulation.rent import PORTFOLIO_COLUMNS

    whole = {"rent": (*PORTFOLIO_COLUMNS[:4], "start_month", "arrears_yen", "months_subrogated"),
             "mortgage": tuple(c for c in (*MORTGAGE_COLUMNS, *MORTGAGE_STATUS_COLUMNS, "fee_paid_yen")
                               if c.endswith(("_yen", "_months", "_delinquent", "_subrogation"))),
             "receivables": ("balance_yen", "months_since_exit", "jhf_payout_received_yen"),
             "history": ("months_owed",)}
    if kind not in whole:
        raise ValueError(f"kind must be 'rent', 'mortgage', 'receivables' or 'history', got {kind!r}")
    path = Path(path)
    text = {"contract_id": str, "month": str, "status": str, "grade": str, "origination": str}
    if path.suffix.lower() in (".yaml", ".yml", ".json", ".xlsx", ".xls"):
        raise ValueError(f"{path}: a {kind} book is a CSV file, not a {path.suffix} file (from Excel, save the "
                         f"sheet as 'CSV UTF-8')")
    try:  # a row with one field too many must not turn the first column into the index
        _scan_rows(path)
        book = pd.read_csv(path, index_col=False, dtype=text if kind == "history" else None,
                           keep_default_na=False, na_values=[""])  # 'N/A' is named as written, not as empty
    except UnicodeDecodeError:
        raise ValueError(f"{path}: cannot read the {kind} book: it is not UTF-8 text (from Excel, save it as "
                         f"'CSV UTF-8')") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: cannot read the {kind} book: {exc}") from None

    _unread_columns(path, kind, book.columns, strict)
    # rows numbered as a spreadsheet shows the file (the header is row 1), so that every
    # error, here or in the engine's checks, names the row the user sees
    book.index = pd.RangeIndex(2, len(book) + 2, name="row")

    def fail(column: str, what: str, bad: np.ndarray):
        row, i = first_row(book, bad)
        value = book[column].iloc[i]
        got = "an empty cell" if pd.isna(value) else repr(plain(value))
        raise ValueError(f"{path}: column {column!r} must hold {what}, got {got} in row {row}")

    for c in whole[kind]:
        if c in book and not pd.api.types.is_integer_dtype(book[c]):
            values = pd.to_numeric(book[c], errors="coerce").to_numpy(dtype=float)
            ok = (np.abs(values) < 2.0 ** 53) & (values == np.round(values))  # NaN fails both
            if not ok.all():
                fail(c, "whole numbers", ~ok)
            book[c] = values.astype(np.int64)
    if kind in ("rent", "receivables") and "insured" in book and book["insured"].dtype != bool:
        words = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
        flags = book["insured"].map(lambda v: words.get(str(v).strip().lower()))
        bad = flags.isna().to_numpy()
        if bad.any():
            fail("insured", "True/False", bad)
        book["insured"] = flags.astype(bool)
    _implausible(path, kind, book)
    return book


def _check_opening(scenario, params_path) -> str:
    """The movement's opening params file (last quarter's close) exists, loads and names CSV
    books; raises ``ValueError`` naming it."""
    from pathlib import Path

    from .movement import MovementError, Quarter, opening_params_path, quarter_from_params
    from .movement.bridge import months_between

    opening = opening_params_path(scenario, params_path)
    if opening.resolve() == Path(params_path).resolve():
        raise ValueError(f"{params_path}: movement.opening_params names the file itself; name last quarter's "
                         f"params file")
    try:
        last = quarter_from_params(opening, n_scenarios=2, seed=0)
    except MovementError as exc:
        raise ValueError(f"{params_path}: movement.opening_params: {exc}") from None
    try:
        months_between(last, Quarter(scenario, Path(params_path).parent, str(params_path), 2, 0))
    except MovementError as exc:
        raise ValueError(f"{params_path}: valuation.valuation_date {scenario.valuation.valuation_date} against "
                         f"movement.opening_params: {exc}") from None
    return f"movement from {scenario.movement.opening_params}"


def check_books(scenario, params_path, *, strict: bool = True) -> list[str]:
    """Read the CSV books a scenario file names (:func:`read_book_csv`) and check them as
    the engines will, against the scenario's own models: plans, grades, amounts, start
    months and JHF eligibility. Returns a line describing each book read; raises
    ``ValueError`` naming the file and the first problem. Synthetic books are not checked:
    they are generated valid. ``strict``: a column no engine reads is an error (else a
    warning)."""
    from pathlib import Path

    from .simulation.mortgage import MortgageModel, validate_mortgage_book
    from .simulation.rent import RentModel, start_months, validate_portfolio

    p = scenario.portfolio
    base = Path(params_path).resolve().parent
    found = []
    if scenario.rent_model is not None and p.rent_book_csv:
        path = base / p.rent_book_csv
        book, model = read_book_csv(path, "rent", strict=strict), RentModel.from_params(scenario)
        try:
            validate_portfolio(book, model)
            start_months(book, model.months)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        found.append(f"rent book {p.rent_book_csv}: {len(book):,d} contracts")
    if scenario.mortgage_model is not None and p.mortgage_book_csv:
        path = base / p.mortgage_book_csv
        book = read_book_csv(path, "mortgage", strict=strict)
        try:
            validate_mortgage_book(book, MortgageModel.from_params(scenario))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        found.append(f"mortgage book {p.mortgage_book_csv}: {len(book):,d} loans")
    v = scenario.valuation
    if v is not None and scenario.rent_model is not None:
        from .simulation.rent.inforce import prepare_inforce
        from .valuation import check_inforce_book, validate_receivables

        model = RentModel.from_params(scenario)
        for name, kind, check in ((v.rent_book_csv, "rent", lambda b: (check_inforce_book(b, "rent book"),
                                                                         prepare_inforce(b, model, what="rent book"))),
                                  (v.receivables_csv, "receivables", validate_receivables)):
            if not name:
                continue
            path = base / name
            book = read_book_csv(path, kind, strict=strict)
            try:
                check(book)
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
            found.append(f"valuation {kind} {name}: {len(book):,d} row{'' if len(book) == 1 else 's'}")
    if v is not None and scenario.mortgage_model is not None and v.mortgage_book_csv:
        path = base / v.mortgage_book_csv
        book = read_book_csv(path, "mortgage", strict=strict)
        try:
            validate_mortgage_book(book, MortgageModel.from_params(scenario), "mortgage book")
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        found.append(f"valuation mortgage {v.mortgage_book_csv}: {len(book):,d} loans")
    if getattr(scenario, "movement", None) is not None:
        found.append(_check_opening(scenario, params_path))
    e = scenario.experience
    if e is not None:
        from .experience import prepare_history, read_history

        path = base / e.history_csv
        history = read_history(path, strict=strict)
        try:
            prepare_history(history)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        found.append(f"experience history {e.history_csv}: {len(history):,d} row{'' if len(history) == 1 else 's'}")
    return found
