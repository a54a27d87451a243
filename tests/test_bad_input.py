"""Mistakes a user makes in a book or a params file (amounts in thousands or 万円, a rate as a
percentage figure, an Excel date, a tab in YAML, a misspelt key) each get one line naming
the file, the column or key, the row and the value, before any work starts."""

import shutil
from pathlib import Path

import pytest

from actuarial.params import ParamsError, load_params
from actuarial.portfolio import read_book_csv

ROOT = Path(__file__).resolve().parents[1]
RENT_HEADER = ("contract_id,start_month,status,arrears_yen,months_subrogated,rent_yen,management_fee_yen,"
               "common_fee_yen,parking_fee_yen,plan,grade,insured")
RENT_ROW = "C1,-28,performing,0,0,49000,7000,0,0,zenhoren_yearly,A,False"
LOAN_HEADER = ("loan_id,status,months_delinquent,receivable_yen,months_since_subrogation,principal_yen,"
               "annual_interest_rate,term_months,age_months,collateral_value_yen,grade,fee_type,fee_paid_yen")
LOAN_ROW = "M1,performing,0,0,0,39200000,0.014,360,58,53309991,B,installment,0"


def _rent(tmp_path, row: str, header: str = RENT_HEADER) -> Path:
    path = tmp_path / "book.csv"
    path.write_text(f"{header}\n{RENT_ROW}\n{row}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("row, message", [
    ("C2,-28,performing,0,0,49,7,0,0,zenhoren_yearly,A,False",
     "column 'rent_yen' in row 3: 49 is outside the plausible 1,000 to 10,000,000: a monthly rent in whole yen, "
     "not thousands"),
    ("C2,-28,performing,0,0,0,0,0,0,zenhoren_yearly,A,False", "column 'rent_yen' in row 3: 0 is outside"),
    ("C2,-45505,performing,0,0,49000,0,0,0,zenhoren_yearly,A,False",
     "column 'start_month' in row 3: -45505 is outside the plausible -600 to 600: months from the valuation date"),
    ("C2,-28,performing,0,0,N/A,0,0,0,zenhoren_yearly,A,False",
     "column 'rent_yen' must hold whole numbers, got 'N/A' in row 3"),
])
def test_a_rent_book_in_the_wrong_units_is_refused_by_row(tmp_path, row, message):
    path = _rent(tmp_path, row)
    with pytest.raises(ValueError) as err:
        read_book_csv(path, "rent")
    assert str(err.value).startswith(f"{path}: {message}")


@pytest.mark.parametrize("row, message", [
    ("M2,performing,0,0,0,3920,0.014,360,58,5330,B,installment,0",
     "column 'principal_yen' in row 3: 3920 is outside the plausible 100,000 to 10,000,000,000: whole yen, not 万円"),
    ("M2,performing,0,0,0,39200000,0.14,360,58,53309991,B,installment,0",
     "column 'annual_interest_rate' in row 3: 0.14 is outside the plausible 0.0 to 0.1: a loan's rate as a "
     "fraction: 0.014 for 1.4%"),
])
def test_a_mortgage_book_in_the_wrong_units_is_refused_by_row(tmp_path, row, message):
    path = tmp_path / "loans.csv"
    path.write_text(f"{LOAN_HEADER}\n{LOAN_ROW}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_book_csv(path, "mortgage")
    assert str(err.value).startswith(f"{path}: {message}")


def test_a_tab_separated_file_named_csv_says_so(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text(RENT_HEADER.replace(",", "\t") + "\n" + RENT_ROW.replace(",", "\t") + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="the header is one column holding tabs: the file is separated by tabs"):
        read_book_csv(path, "rent")


def _params(tmp_path, old: str, new: str) -> Path:
    """A copy of the shipped params folder with one line of base.yaml changed."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    path = tmp_path / "params" / "base.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, message", [
    ("  coverage_ratio: ", "\tcoverage_ratio: ", "not valid YAML: line 11, column 1: found character '\\t' that "
                                                  "cannot start any token; a tab indents the line"),
    ("  coverage_ratio: 0.70", "  coverage_ratio：0.70",
     "a full-width colon '：' (write ':' and a space), in line 11: 'coverage_ratio：0.70'"),
    ("  coverage_ratio: ", "   coverage_ratio: ", "check the indentation of line 10 ('effective_from: 2023-04-01') "
                                                   "and line 11 ('coverage_ratio: 0.70')"),
    ("  valuation_date: 2026-12-31", "  valuation_date: 46387",
     "valuation.valuation_date = 46387: Value error, 46387 is a number, not a date; write YYYY-MM-DD"),
    ("  valuation_date: 2026-12-31", "  valuation_date: 1926-12-31",
     "valuation.valuation_date = '1926-12-31': Input should be greater than or equal to 2000-01-01"),
    ("  valuation_date: 2026-12-31", "  valuation_data: 2026-12-31",
     "valuation.valuation_data = '2026-12-31': unknown key; did you mean 'valuation_date'?"),
    ("  coverage_ratio: ", "  coverage_ratoi: ",
     "jhf.coverage_ratoi = 0.7: unknown key; did you mean 'coverage_ratio'?"),
    ("  installment_annual_rate: 0.002", "  installment_annual_rate: 0.2",
     "mortgage_fee.installment_annual_rate = 0.2: Input should be less than or equal to 0.05 (a rate is a fraction: "
     "0.002 for 0.2%)"),
])
def test_a_params_mistake_is_named_on_one_line(tmp_path, old, new, message):
    path = _params(tmp_path, old, new)
    with pytest.raises(ParamsError) as err:
        load_params(path)
    first = str(err.value).splitlines()[0]
    assert message in first and first.startswith(str(path))


def test_extends_naming_a_file_that_is_not_there_suggests_the_nearest(tmp_path):
    shutil.copytree(ROOT / "params", tmp_path / "params")
    path = tmp_path / "params" / "x.yaml"
    path.write_text("extends: bsae.yaml\nscenario:\n  name: x\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"x\.yaml: extends = 'bsae.yaml': no such file in .*; did you mean "
                                          r"'base.yaml'\?"):
        load_params(path)


@pytest.mark.parametrize("date, message", [
    ("2026-06-30", "must come at least a month before the closing one"),
    ("2099-12-31", "is 879 months after the opening one"),
])
def test_check_refuses_a_valuation_date_the_movement_cannot_bridge(tmp_path, capsys, date, message):
    from actuarial.cli import main

    path = _params(tmp_path, "  valuation_date: 2026-12-31", f"  valuation_date: {date}")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"base.yaml: valuation.valuation_date {date} against movement.opening_params: " in err and message in err


def test_a_fee_curve_with_the_principal_in_man_yen_is_named():
    from actuarial.products.mortgage_fee import PUBLISHED_EXAMPLE, FeeCurve

    with pytest.raises(ValueError, match="fee_paid 578,910 yen is not below the principal 3,000 yen; both are whole "
                                         "yen"):
        FeeCurve.calibrate(3_000, 30, 578_910, PUBLISHED_EXAMPLE)


def test_covered_items_given_as_one_word_is_named():
    from actuarial.products.jhf_insurance import JHFTerms

    with pytest.raises(ValueError, match=r"covered_items must be a list of items, e.g. \('rent',\), got the string "
                                         r"'rent'"):
        JHFTerms(covered_items="rent")


def test_the_batch_refuses_a_params_file_given_twice(tmp_path, capsys):
    from actuarial import batch

    base = str(ROOT / "params" / "base.yaml")
    assert batch.main([base, base, "--notebooks", "01_product_terms", "--reports", str(tmp_path)]) == 2
    assert "base.yaml: given twice; name each params file once" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_performing_history_row_that_owes_is_refused(tmp_path):
    from actuarial.experience import prepare_history, read_history

    path = tmp_path / "history.csv"
    path.write_text("contract_id,month,status,months_owed\nC1,2026-07,performing,0\nC1,2026-08,performing,2\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"column 'months_owed' in row 3: a performing contract owes nothing, got 2 "
                                         r"months"):
        prepare_history(read_history(path), str(path))


def test_the_report_helpers_name_what_they_were_given_wrong():
    """A table without the columns it needs is named; a label or name that is not a string
    is shown as it is, not parsed."""
    import pandas as pd

    from actuarial.reporting import readable
    from actuarial.risk import tail_level, too_few_scenarios
    from actuarial.tables import break_even_tables

    with pytest.raises(ValueError, match="break-even fees is missing column 'component'"):
        break_even_tables(pd.DataFrame({"plan": ["p"], "current": [0.5], "break_even": [0.6]}))
    with pytest.raises(ValueError, match="break-even fees must be a pandas DataFrame"):
        break_even_tables([1, 2])
    assert readable(None) is None and readable(("a_b",)) == ("a_b",)
    assert tail_level(3) is None and tail_level("var_abc%") is None
    assert too_few_scenarios("var_99.5%", 0) == "not enough scenarios (0; needs 2,000)"
