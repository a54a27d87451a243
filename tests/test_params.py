"""params/*.yaml: loading, validation errors naming file, key and value, and sources."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from actuarial.params import ParamsError, load_all, load_params

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params"
BASE = (PARAMS / "base.yaml").read_text(encoding="utf-8")


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_every_shipped_params_file_loads():
    scenarios = load_all(PARAMS)
    assert {"base", "recession", "high_recovery", "jhf_insured", "jhf_2025_support", "jhf_2025_support_restoration",
            "jhf_2025_other", "mortgage_base", "mortgage_high_prepayment"} <= set(scenarios)
    assert scenarios["mortgage_base"].rent_model is None and scenarios["mortgage_base"].mortgage_model is not None
    assert scenarios["mortgage_high_prepayment"].mortgage_model.psj_plateau_cpr == 0.12
    assert scenarios["recession"].rent_model.delinquency_hazard["C"] == 0.3872  # 1.5 x the fitted base 0.2582
    base = scenarios["base"]
    assert base.jhf_terms().payout(subrogated_rent=1_400_000, rent_at_start=100_000) == 840_000
    assert base.mortgage_fee.schedule() == ((12, 0.05), (24, 0.10), (36, 0.15), (None, 0.25))
    assert base.fee_plans()["zenhoren_yearly"].initial_fee(monthly_total_yen=70_000) == 35_000
    v = scenarios["jhf_2025_support_restoration"].jhf_terms()
    assert (v.coverage_ratio, v.cap_months, v.premium_rate, v.cap_yen) == (0.9, 18, 0.35, None)
    assert "restoration" in v.covered_items
    assert scenarios["jhf_2025_support"].fee_plans().keys() == base.fee_plans().keys()  # inherited


def _numeric_lines(node, found):
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith((":int", ":float")):
            found.add(node.start_mark.line)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _numeric_lines(child, found)
    elif isinstance(node, yaml.MappingNode):
        for _, child in node.value:
            _numeric_lines(child, found)
    return found


def test_every_number_in_params_names_its_source():
    checked = 0
    for f in sorted(PARAMS.rglob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        lines = text.splitlines()
        numeric = _numeric_lines(yaml.compose(text, Loader=yaml.SafeLoader), set())
        checked += len(numeric)
        for i in sorted(numeric):
            comment = lines[i].partition("#")[2]
            assert re.search(r"source: (JHF guide|Zenkoku Hosho|docs/domain\.md|fitted)|assumption", comment), \
                f"{f.name}:{i + 1} has a number without a source: {lines[i]!r}"
    assert checked > 100, f"only {checked} numbers found; the check is not looking"


@pytest.mark.parametrize("edit, needle", [
    (("coverage_ratio: 0.70", "coverage_ratio: 1.5"),
     r"s\.yaml: jhf\.coverage_ratio = 1\.5: .*less than or equal to 1"),
    (("coverage_ratio: 0.70", "coverage_ratoi: 0.70"), r"jhf\.coverage_ratoi = 0\.7: unknown key"),
    (("cap_yen: 1000000", "cap_yen: -1000000"), r"jhf\.cap_yen = -1000000: .*greater than or equal to 0"),
    (("cap_yen: 1000000", "cap_yen: '1000000'"), r"jhf\.cap_yen = '1000000'"),
    (("cap_months: 12", "cap_months: 12.5"), r"jhf\.cap_months = 12\.5"),
    (("effective_from: 2023-04-01", "effective_from: 2023-02-30"), r"jhf\.effective_from = '2023-02-30'"),
    (("renewal_yen: 10000", "renewal_yen: -10000"), r"rent_plans\.zenhoren_yearly\.renewal_yen = -10000"),
    (("suit_costs: null              # assumption: eviction", "lawyer: null  # assumption: eviction"),
     r"rent_plans\.zenhoren_yearly\.covered_costs\.lawyer"),
    (("{last_month: 24, rate: 0.10}", "{last_month: 24, rate: 1.10}"),
     r"mortgage_fee\.deduction_schedule\.1\.rate = 1\.1"),
    (("{last_month: 24, rate: 0.10}", "{last_month: 6, rate: 0.10}"), r"mortgage_fee\.deduction_schedule.*increase"),
    (("covered_items: [rent,", "covered_items: [rnet,"), r"jhf\.covered_items\.0 = 'rnet'"),
    (("  name: base\n", ""), r"scenario\.name = \(missing\)"),
    (("  name: base\n", "  name: ../base\n"), r"scenario\.name = '\.\./base': .*one word of letters"),
    (("  name: base\n", "  name: base case\n"), r"scenario\.name = 'base case': .*one word"),
])
def test_bad_values_name_file_key_and_value(tmp_path, edit, needle):
    old, new = edit
    assert old in BASE
    p = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ParamsError, match=needle):
        load_params(p)


def test_duplicate_key_is_refused(tmp_path):
    p = write(tmp_path, BASE.replace("  cap_months: 12 ", "  cap_months: 12\n  cap_months: 18 ", 1))
    with pytest.raises(ParamsError, match=r"s\.yaml: key 'cap_months' appears twice"):
        load_params(p)


def test_unsafe_yaml_is_refused(tmp_path):
    p = write(tmp_path, "scenario: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ParamsError, match=r"s\.yaml: not valid YAML"):
        load_params(p)


def test_extends_overrides_and_refuses_cycles(tmp_path):
    write(tmp_path, BASE, "base.yaml")
    child = write(tmp_path, "extends: base.yaml\nscenario: {name: child}\njhf: {premium_rate: 0.3}  # assumption\n",
                  "child.yaml")
    s = load_params(child)
    assert s.jhf_terms().premium_rate == 0.3 and s.jhf_terms().coverage_ratio == 0.7
    write(tmp_path, "extends: b.yaml\nscenario: {name: a}\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\nscenario: {name: b}\n", "b.yaml")
    with pytest.raises(ParamsError, match="extends itself"):
        load_params(tmp_path / "a.yaml")
    with pytest.raises(ParamsError, match=r"c.yaml: extends = 'missing.yaml': no such file in "):
        load_params(write(tmp_path, "extends: missing.yaml\n", "c.yaml"))


def test_not_a_mapping_and_empty_folder(tmp_path):
    with pytest.raises(ParamsError, match="must hold a mapping"):
        load_params(write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ParamsError, match="no \\*.yaml"):
        load_all(tmp_path / "nothing")


def test_cli_check_reports_the_bad_key(tmp_path):
    bad = write(tmp_path, BASE.replace("premium_rate: 0.25", "premium_rate: 25"))
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "check", str(PARAMS / "base.yaml"), str(bad)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "base.yaml: ok (base; valuation rent books/inforce_rent_book.csv:" in run.stdout
    assert "jhf.premium_rate = 25" in run.stderr


@pytest.mark.parametrize("section, key", [("rent_model", "good_exit_sensitivity"), ("rent_model", "rho"),
                                          ("mortgage_model", "house_price_sensitivity"),
                                          ("mortgage_model", "schedule_discount_rate"),
                                          ("collection", "removal_cost_months"), ("experience", "prior_weight")])
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_a_number_that_is_not_finite_is_refused_by_name(tmp_path, section, key, value):
    path = tmp_path / "x.yaml"
    path.write_text(f"extends: {PARAMS / 'base.yaml'}\nscenario: {{name: x}}\n{section}:\n  {key}: {value}\n",
                    encoding="utf-8")
    with pytest.raises(ParamsError, match=rf"x\.yaml: {section}\.{key} = (-?inf|nan): Input should be a finite number"):
        load_params(path)


@pytest.mark.parametrize("section, key, value, needle", [
    ("jhf", "cap_yen", "100000000000000000000000000", "less than or equal to 1000000000000"),
    ("portfolio", "rent_contracts", "2000000000", "less than or equal to 10000000"),
    ("portfolio", "mortgage_loans", "2000000000", "less than or equal to 10000000"),
    ("rent_model", "good_exit_sensitivity", "1.0e+300", "less than or equal to 5"),
    ("mortgage_model", "house_price_sensitivity", "50.0", "less than or equal to 5"),
    ("rent_model", "recovery_delay_months", "6000", "less than or equal to 600"),
    ("jhf", "payment_lag_days", "3650", "less than or equal to 365"),
])
def test_an_implausibly_large_number_is_refused_by_name(tmp_path, section, key, value, needle):
    path = tmp_path / "x.yaml"
    path.write_text(f"extends: {PARAMS / 'base.yaml'}\nscenario: {{name: x}}\n{section}:\n  {key}: {value}\n",
                    encoding="utf-8")
    shown = str(yaml.safe_load(value))  # as the message prints the number read
    with pytest.raises(ParamsError, match=rf"x\.yaml: {section}\.{key} = {re.escape(shown)}: Input should be {needle}"):
        load_params(path)


def test_a_params_file_saved_as_shift_jis_is_named_with_the_way_out(tmp_path, capsys):
    from actuarial import cli

    path = tmp_path / "sjis.yaml"
    path.write_bytes(f"extends: {PARAMS / 'base.yaml'}\nscenario: {{name: x, description: 家賃保証}}\n"
                     .encode("shift_jis"))
    with pytest.raises(ParamsError, match=r"sjis\.yaml: not UTF-8 text .*save it with the encoding UTF-8"):
        load_params(path)
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text" in err and "Traceback" not in err


def test_a_csv_book_given_as_a_params_file_says_what_it_is():
    with pytest.raises(ParamsError, match=r"inforce_rent_book\.csv: must hold a mapping of sections, got str; a \.csv "
                                          r"file is a book, which a params file names"):
        load_params(PARAMS / "books" / "inforce_rent_book.csv")
