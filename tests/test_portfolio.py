"""Books read from CSV: spreadsheet exports read back exactly, bad cells named by column and row as a
spreadsheet numbers them; `actuarial check` checks the books a scenario file names."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actuarial import cli
from actuarial.params import load_params
from actuarial.portfolio import check_books, read_book_csv, synthetic_mortgage_book, synthetic_rent_book
from actuarial.simulation import MortgageModel, RentModel, simulate
from actuarial.simulation.rent import validate_portfolio

ROOT = Path(__file__).resolve().parents[1]

MODEL = RentModel.from_params(load_params("params/base.yaml"))


@pytest.fixture
def book():
    return synthetic_rent_book(30, seed=3, insured_share=0.3)


def test_a_spreadsheet_export_reads_back_as_the_book(tmp_path, book):
    # amounts written as 85000.0, the insured flag as TRUE/FALSE or 1/0: the types come back
    exported = book.astype({"rent_yen": float, "parking_fee_yen": float}).assign(
        insured=np.where(book["insured"], "TRUE", "FALSE"), start_month=np.arange(len(book)) - 5)
    exported.to_csv(tmp_path / "book.csv", index=False)
    read = read_book_csv(tmp_path / "book.csv", "rent")
    assert read["rent_yen"].dtype == np.int64 and read["insured"].dtype == bool
    assert read.index.name == "row" and read.index[0] == 2 and read.index[-1] == len(book) + 1  # as in a spreadsheet
    pd.testing.assert_frame_equal(read[["rent_yen", "parking_fee_yen", "insured", "start_month"]]
                                  .reset_index(drop=True),
                                  book.assign(start_month=np.arange(len(book)) - 5)[
                                      ["rent_yen", "parking_fee_yen", "insured", "start_month"]])
    book.assign(insured=book["insured"].astype(int)).to_csv(tmp_path / "ones.csv", index=False)
    assert read_book_csv(tmp_path / "ones.csv", "rent")["insured"].tolist() == book["insured"].tolist()
    first = simulate(read, MODEL, 3, seed=5).losses
    pd.testing.assert_frame_equal(first, simulate(book.assign(start_month=np.arange(len(book)) - 5), MODEL, 3,
                                                  seed=5).losses)


def test_a_mortgage_export_reads_back(tmp_path):
    book = synthetic_mortgage_book(25, seed=2)
    book.astype({"principal_yen": float, "term_months": float}).to_csv(tmp_path / "loans.csv", index=False)
    read = read_book_csv(tmp_path / "loans.csv", "mortgage")
    assert read["principal_yen"].dtype == np.int64 and read["annual_interest_rate"].dtype == float
    pd.testing.assert_frame_equal(read[["principal_yen", "term_months"]].reset_index(drop=True),
                                  book[["principal_yen", "term_months"]])


@pytest.mark.parametrize("column, cell, message", [
    ("rent_yen", '"85,000"', r"column 'rent_yen' must hold whole numbers, got '85,000' in row 6"),
    ("rent_yen", "85000.5", r"column 'rent_yen' must hold whole numbers, got '?85000\.5'? in row 6"),
    ("management_fee_yen", "", r"column 'management_fee_yen' must hold whole numbers, got an empty cell in row 6"),
    ("insured", "yes", r"column 'insured' must hold True/False, got 'yes' in row 6"),
    ("insured", "", r"column 'insured' must hold True/False, got an empty cell in row 6"),
])
def test_a_bad_cell_is_named_by_file_column_value_and_row(tmp_path, book, column, cell, message):
    book.to_csv(tmp_path / "book.csv", index=False)
    lines = (tmp_path / "book.csv").read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[5].split(",")  # line 6 of the file, row 4 of the book
    fields[header.index(column)] = cell
    lines[5] = ",".join(fields)
    (tmp_path / "book.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"book\.csv: " + message):
        read_book_csv(tmp_path / "book.csv", "rent")


def test_unreadable_files_and_an_unknown_kind_are_refused(tmp_path):
    (tmp_path / "sjis.csv").write_bytes("rent_yen,名前\n85000,山田\n".encode("cp932"))
    with pytest.raises(ValueError, match=r"sjis\.csv: cannot read the rent book: it is not UTF-8 text"):
        read_book_csv(tmp_path / "sjis.csv", "rent")
    with pytest.raises(ValueError, match=r"missing\.csv: cannot read the mortgage book"):
        read_book_csv(tmp_path / "missing.csv", "mortgage")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match=r"empty\.csv: cannot read the rent book"):
        read_book_csv(tmp_path / "empty.csv", "rent")
    with pytest.raises(ValueError, match="kind must be 'rent', 'mortgage', 'receivables' or 'history', got 'loans'"):
        read_book_csv(tmp_path / "empty.csv", "loans")


@pytest.mark.parametrize("edit, message", [
    (lambda b: b.assign(rent_yen=b["rent_yen"].astype(float)),
     r"'rent_yen' must hold whole yen \(integers\), got floats \(\d+\.0 in row 0\); convert"),
    (lambda b: b.assign(rent_yen=b["rent_yen"].astype(float).where(b.index != 4)),
     r"'rent_yen' must hold whole yen \(integers\), got nan in row 4"),
    (lambda b: b.assign(common_fee_yen=b["common_fee_yen"].astype(object).where(b.index != 2, "2,000")),
     r"'common_fee_yen' must hold whole yen \(integers\), got '2,000' in row 2"),
    (lambda b: b.assign(parking_fee_yen=b["rent_yen"] > 0),
     r"'parking_fee_yen' must hold whole yen \(integers\), got True in row 0"),
])
def test_a_data_frame_with_non_integer_amounts_names_the_first_bad_row(book, edit, message):
    with pytest.raises(ValueError, match=message):
        validate_portfolio(edit(book), MODEL)


def test_check_reads_the_books_a_scenario_names_and_names_the_row_of_a_problem(tmp_path, book, capsys):
    root = Path(__file__).resolve().parents[1]
    book.to_csv(tmp_path / "book.csv", index=False)
    synthetic_mortgage_book(12, seed=1).to_csv(tmp_path / "loans.csv", index=False)
    (tmp_path / "q4.yaml").write_text(f"extends: {root / 'params' / 'base.yaml'}\nscenario: {{name: q4}}\n"
                                      "portfolio: {rent_book_csv: book.csv, mortgage_book_csv: loans.csv}\n")
    assert cli.main(["check", str(tmp_path / "q4.yaml")]) == 0
    books = root / "params" / "books"  # the valuation books base.yaml names, found from this other folder
    opening = root / "params" / "quarters" / "base_2026-09-30.yaml"
    assert capsys.readouterr().out.strip() == (f"{tmp_path / 'q4.yaml'}: ok (q4; rent book book.csv: 30 contracts; "
                                               f"mortgage book loans.csv: 12 loans; valuation rent "
                                               f"{books / 'inforce_rent_book.csv'}: 1,431 rows; valuation "
                                               f"receivables {books / 'closed_receivables.csv'}: 35 rows; valuation "
                                               f"mortgage {books / 'inforce_mortgage_book.csv'}: 2,056 loans; "
                                               f"movement from {opening}; "
                                               f"experience history {books / 'status_history.csv'}: 14,255 rows)")
    book.assign(plan=book["plan"].where(book.index != 3, "premium")).to_csv(tmp_path / "book.csv", index=False)
    assert cli.main(["check", str(tmp_path / "q4.yaml")]) == 2
    # the book's row 3 is row 5 of the file: the header is row 1
    assert (f"{tmp_path / 'book.csv'}: portfolio column 'plan' has unknown value 'premium' in row 5"
            in capsys.readouterr().err)
    book.assign(start_month=60).to_csv(tmp_path / "book.csv", index=False)
    with pytest.raises(ValueError, match=r"book\.csv: portfolio column 'start_month' must be below the horizon \(60\), "
                                         r"got 60 in row 2"):
        check_books(load_params(tmp_path / "q4.yaml"), tmp_path / "q4.yaml")


def test_a_book_made_of_two_keeps_naming_the_bad_row_and_value(book):
    # concatenated books repeat index labels; a label then finds two rows, so the checks read
    # the bad row by position
    twice = pd.concat([book, book])
    bad = twice.copy()
    bad.iloc[33, bad.columns.get_loc("rent_yen")] = -5
    with pytest.raises(ValueError, match=r"'rent_yen' has a negative amount -5 in row 3$"):
        validate_portfolio(bad, MODEL)
    bad = twice.copy()
    bad.iloc[33, bad.columns.get_loc("plan")] = "gold"
    with pytest.raises(ValueError, match=r"'plan' has unknown value 'gold' in row 3;"):
        validate_portfolio(bad, MODEL)
    bad = twice.assign(start_month=np.where(np.arange(len(twice)) == 31, 99, 0))
    with pytest.raises(ValueError, match=r"'start_month' must be below the horizon \(60\), got 99 in row 1$"):
        simulate(bad, MODEL, 2, seed=1)
    loans = pd.concat([synthetic_mortgage_book(5, seed=1)] * 2)
    loans.iloc[7, loans.columns.get_loc("principal_yen")] = -1
    mortgage = MortgageModel.from_params(load_params("params/base.yaml"))
    with pytest.raises(ValueError, match=r"'principal_yen' must not be negative, got -1 in row 2$"):
        simulate(loans, mortgage, 2, seed=1)


def _shipped_rent(tmp_path, transform) -> Path:
    text = (ROOT / "params" / "books" / "inforce_rent_book.csv").read_text(encoding="utf-8")
    path = tmp_path / "book.csv"
    path.write_text(transform(text), encoding="utf-8")
    return path


def test_a_file_separated_by_semicolons_is_named(tmp_path):
    path = _shipped_rent(tmp_path, lambda t: t.replace(",", ";"))
    with pytest.raises(ValueError, match=r"book\.csv: the header is one column, .* separated by semicolons; save it "
                                         r"as CSV separated by commas"):
        read_book_csv(path, "rent")


def test_a_column_named_twice_is_named(tmp_path):
    path = _shipped_rent(tmp_path, lambda t: t.replace("plan,grade,insured", "plan,grade,grade", 1))
    with pytest.raises(ValueError, match=r"book\.csv: the header names column 'grade' twice \(columns 11 and 12\)"):
        read_book_csv(path, "rent")


@pytest.mark.parametrize("kind, wrong, right", [("rent", "start_month", "start_mnth"),
                                                ("rent", "months_subrogated", "months_subrogatd"),
                                                ("mortgage", "fee_paid_yen", "fee_payed_yen"),
                                                ("receivables", "months_since_exit", "month_since_exit")])
def test_a_column_no_engine_reads_is_named_with_the_nearest_known_one(tmp_path, kind, wrong, right):
    import warnings

    name = {"rent": "inforce_rent_book.csv", "mortgage": "inforce_mortgage_book.csv",
            "receivables": "closed_receivables.csv"}[kind]
    text = (ROOT / "params" / "books" / name).read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_text(text.replace(wrong, right, 1), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_book_csv(path, kind)
    assert [str(w.message) for w in caught] == [
        f"{path}: column {right!r} is not read by the {kind} engine; did you mean {wrong!r}?"]
    with pytest.raises(ValueError, match=rf"column {right!r} is not read .* \(refused by check and --strict"):
        read_book_csv(path, kind, strict=True)


def test_check_refuses_a_book_with_a_column_no_engine_reads(tmp_path):
    (tmp_path / "books").mkdir()
    for name in ("inforce_rent_book.csv", "closed_receivables.csv", "inforce_mortgage_book.csv", "status_history.csv"):
        text = (ROOT / "params" / "books" / name).read_text(encoding="utf-8")
        (tmp_path / "books" / name).write_text(text.replace("start_month", "start_mnth", 1), encoding="utf-8")
    (tmp_path / "quarters").mkdir()
    params = tmp_path / "base.yaml"
    params.write_text((ROOT / "params" / "base.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "check", str(params)], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "inforce_rent_book.csv: column 'start_mnth' is not read by the rent engine; did you mean 'start_month'?" \
        in run.stderr


@pytest.mark.parametrize("change, needle", [
    (lambda lines: lines[:5] + [""] + lines[5:], r"row 6 is blank; remove it"),
    (lambda lines: lines[:4] + [lines[4] + ",1"] + lines[5:], r"row 5 has 13 fields where the header has 12: a comma"),
    (lambda lines: lines[:4] + [lines[4].rsplit(",", 1)[0]] + lines[5:], r"row 5 has 11 fields .* a cell is missing"),
    (lambda lines: [line + "," for line in lines], r"column 13 of the header has no name \(a trailing comma"),
])
def test_a_ragged_or_blank_row_is_named_by_its_spreadsheet_row(tmp_path, change, needle):
    lines = (ROOT / "params" / "books" / "inforce_rent_book.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "book.csv"
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=needle):
        read_book_csv(path, "rent")


def test_blank_lines_at_the_end_and_a_yaml_given_as_a_book(tmp_path):
    text = (ROOT / "params" / "books" / "inforce_rent_book.csv").read_text(encoding="utf-8")
    (tmp_path / "book.csv").write_text(text + "\n\n", encoding="utf-8")
    assert len(read_book_csv(tmp_path / "book.csv", "rent")) == len(text.splitlines()) - 1
    with pytest.raises(ValueError, match=r"base\.yaml: a rent book is a CSV file, not a \.yaml file"):
        read_book_csv(ROOT / "params" / "base.yaml", "rent")
