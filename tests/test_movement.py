"""The movement analysis: the steps add up to the yen on books where every step moves,
model changes between recorded runs, the roll-forward by hand, bad input named."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from actuarial.movement import MovementError, movement, opening_params_path, quarter_from_params, quarter_from_run
from actuarial.params import load_params
from actuarial.runs import sha256
from actuarial.simulation import MortgageModel, RentModel
from actuarial.valuation import value_book
from actuarial.valuation.examples import write_example_quarters
from actuarial.valuation.rollforward import roll_forward_mortgage, roll_forward_rent
from actuarial.valuation.synthetic import (
    INFORCE_CSV_COLUMNS,
    synthetic_inforce_book,
    synthetic_inforce_mortgage_book,
    synthetic_next_quarter,
)

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "params" / "base.yaml"
SHORT = "rent_model: {months: 24}\nmortgage_model: {months: 60}\nmovement: null\n"


def _params(folder: Path, name: str, date: str, books: str, extra: str = SHORT) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"extends: {BASE}\nscenario: {{name: {name}}}\n{extra}"
                    f"valuation:\n  valuation_date: {date}\n  rent_book_csv: {books}/rent.csv\n"
                    f"  receivables_csv: {books}/receivables.csv\n  mortgage_book_csv: {books}/mortgage.csv\n",
                    encoding="utf-8")
    return path


def _write(folder: Path, books: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    books["rent"].to_csv(folder / "rent.csv", index=False)
    books["receivables"].to_csv(folder / "receivables.csv", index=False)
    books["mortgage"].to_csv(folder / "mortgage.csv", index=False)


@pytest.fixture(scope="module")
def quarters(tmp_path_factory):
    """Two quarters three months apart: 300 rent contracts and 300 loans, a quarter 1.5x worse
    than assumed, new business, and last quarter's recovery rate and sale discount."""
    tmp = tmp_path_factory.mktemp("movement")
    scenario = load_params(BASE)
    model = dataclasses.replace(RentModel.from_params(scenario), months=24)
    mortgage_model = dataclasses.replace(MortgageModel.from_params(scenario), months=60)
    rent, receivables = synthetic_inforce_book(300, model, seed=4)
    loans = synthetic_inforce_mortgage_book(300, mortgage_model, seed=4)
    opening = {"rent": rent[list(INFORCE_CSV_COLUMNS)], "receivables": receivables, "mortgage": loans}
    closing = synthetic_next_quarter(opening["rent"], receivables, model, 5, new_contracts=30, hazard_factor=1.5,
                                     mortgage_book=loans, mortgage_model=mortgage_model, new_loans=20)
    _write(tmp / "q3", opening)
    _write(tmp / "q4", closing)
    o = _params(tmp, "q3", "2026-09-30", "q3", "rent_model: {months: 24, recovery_rate: 0.25}\n"
                "mortgage_model: {months: 60, forced_sale_discount: 0.25}\nmovement: null\n")
    c = _params(tmp, "q4", "2026-12-31", "q4")
    result = movement(quarter_from_params(o, n_scenarios=40, seed=3), quarter_from_params(c, n_scenarios=40, seed=3))
    return tmp, o, c, result


def test_the_steps_add_up_to_the_yen_and_every_step_moves(quarters):
    _, _, _, m = quarters
    b = m.bridge
    assert list(b.columns) == ["opening", "unwind", "experience", "new business",
                               "assumptions: rent model: hazards, economy, recovery", "assumptions: mortgage model",
                               "model changes", "closing"]
    assert all(pd.api.types.is_integer_dtype(t) for t in b.dtypes)
    steps = b.drop(columns=["opening", "closing"]).sum(axis=1)
    assert (b["opening"] + steps == b["closing"]).all()
    for step in b.columns[1:6]:
        assert (b[step] != 0).sum() >= 3, step
    assert (b["model changes"] == 0).all()  # the same code values both quarters
    # the rent recovery rate moves the rent figures only, the sale discount the mortgage figures only
    rent_step, mortgage_step = b.columns[4], b.columns[5]
    assert b.loc["allowance_mortgage_yen", rent_step] == 0 and b.loc["allowance_rent_yen", mortgage_step] == 0
    assert b.loc["credit_loss_mortgage_expected_yen", mortgage_step] > 0  # a deeper discount recovers less
    # fees earned in the quarter, new fees written by the new business
    assert b.loc["unearned_fees_mortgage_yen", "unwind"] < 0 < b.loc["unearned_fees_mortgage_yen", "new business"]
    assert m.activity.loc["rent: new contracts", "actual"] == 30 and m.months == 3
    # the key figures summarise each figure's bridge and still add up, the assumption steps as one
    from actuarial.movement import summary_figures

    summary = summary_figures(b)
    for name in ("allowance", "credit_loss_mortgage_expected"):
        steps = [summary[f"{name}_{s}_yen"] for s in ("unwind", "experience", "new_business", "assumptions",
                                                       "model_changes")]
        assert summary[f"{name}_opening_yen"] + sum(steps) == summary[f"{name}_closing_yen"]
        assert summary[f"{name}_assumptions_yen"] == b.loc[f"{name}_yen", [rent_step, mortgage_step]].sum()


def _close_figures(path: Path, n_scenarios: int, seed: int) -> dict:
    """The quarter close of a params file, as notebook 08 values it: every key figure."""
    from actuarial.movement import load_books

    q = quarter_from_params(path, n_scenarios=n_scenarios, seed=seed)
    books = load_books(q)
    return value_book(books["rent"], RentModel.from_params(q.scenario), q.scenario.valuation.settings(),
                      receivables=books["receivables"], mortgage_book=books["mortgage"],
                      mortgage_model=MortgageModel.from_params(q.scenario), n_scenarios=n_scenarios,
                      seed=seed).key_figures()


def test_the_opening_and_closing_figures_are_the_quarter_closes_themselves(quarters):
    tmp, o, c, m = quarters
    from actuarial.movement import bridge_figures, to_yen

    for path, column in ((o, "opening"), (c, "closing")):
        want = {k: to_yen(x) for k, x in bridge_figures(_close_figures(path, 40, 3)).items()}
        assert m.bridge[column].to_dict() == want


def _fake_run(reports: Path, run_id: str, params: Path, figures: dict, n_scenarios: int, seed: int,
              commit: str) -> None:
    """A run folder as the batch leaves it, with the quarter close's figures as recorded."""
    scenario = load_params(params)
    folder = reports / run_id / scenario.scenario.name
    folder.mkdir(parents=True)
    (folder / "08_quarter_close.json").write_text(json.dumps({"figures": figures}), encoding="utf-8")
    pd.DataFrame({"params_file": [str(params)], "valuation_date": [scenario.valuation.valuation_date.isoformat()],
                  "n_scenarios": [n_scenarios],
                  "seed": [seed]}).to_csv(folder / "08_quarter_close_inputs.csv", index=False)
    books = [{"key": k, "path": str((params.parent / getattr(scenario.valuation, k)).resolve()),
              "sha256": sha256(params.parent / getattr(scenario.valuation, k)), "rows": 0}
             for k in ("rent_book_csv", "receivables_csv", "mortgage_book_csv")]
    manifest = {"run_id": run_id, "kind": "batch", "started": "2026-12-31T09:00:00",
                "finished": "2026-12-31T09:05:00", "seconds": 300.0,
                "ok": True, "command": ["actuarial", "batch"], "notebooks": [], "notebook_parameters": {},
                "params": [{"path": str(params), "scenario": scenario.scenario.name, "files": [],
                            "values": scenario.model_dump(mode="json")}], "books": books,
                "code": {"git_commit": commit, "dirty": False}, "environment": {"python": "3.11", "packages": {}}}
    (reports / run_id / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (reports / run_id / "run.json").write_text("{}", encoding="utf-8")


def test_between_runs_a_figure_recorded_by_other_code_is_a_model_change(quarters):
    tmp, o, c, m = quarters
    reports = tmp / "reports"
    opening = {k: float(v) for k, v in m.bridge["opening"].items()}
    opening["allowance_yen"] += 1_234.4  # as an older version of the code booked it
    closing = _close_figures(c, 60, 9)
    _fake_run(reports, "r3", o, opening, 40, 3, "aaaa")
    _fake_run(reports, "r4", c, closing, 60, 9, "bbbb")
    r = movement(quarter_from_run(reports, "r3", "q3"), quarter_from_run(reports, "r4", "q4"))
    b = r.bridge
    assert b.loc["allowance_yen", "opening"] == m.bridge.loc["allowance_yen", "opening"] + 1_234
    assert b.loc["allowance_yen", "model changes"] == -1_234
    scenarios = "assumptions: Monte Carlo scenarios and seed"
    assert b.loc["credit_loss_rent_expected_yen", scenarios] == 0  # an exact figure needs no scenarios
    assert b.loc["credit_loss_rent_mc_mean_yen", scenarios] != 0
    # the closing run recorded what its 60 scenarios give: no model change, to the yen
    assert (b.drop(index="allowance_yen")["model changes"] == 0).all()
    assert (b["opening"] + b.drop(columns=["opening", "closing"]).sum(axis=1) == b["closing"]).all()
    # the steps before the scenario count run on the opening run's scenarios, as the params case did
    assert b["unwind"].equals(m.bridge["unwind"]) and b["experience"].equals(m.bridge["experience"])


def test_a_run_whose_book_has_changed_is_refused(quarters, tmp_path):
    tmp, o, c, m = quarters
    books = tmp_path / "books"
    books.mkdir()
    for name in ("rent.csv", "receivables.csv", "mortgage.csv"):
        (books / name).write_bytes((tmp / "q4" / name).read_bytes())
    params = _params(tmp_path, "q4", "2026-12-31", "books")
    _fake_run(tmp_path / "reports", "r4", params, {}, 40, 3, "bbbb")
    (books / "rent.csv").write_text((books / "rent.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(MovementError, match=r"rent\.csv has changed since the run \(sha256"):
        quarter_from_run(tmp_path / "reports", "r4", "q4")
    with pytest.raises(MovementError, match=r"run r4 has no scenario 'base'"):
        quarter_from_run(tmp_path / "reports", "r4", "base")


def test_quarters_in_the_wrong_order_are_refused_before_any_valuation(quarters):
    _, o, c, _ = quarters
    a, b = (quarter_from_params(p, n_scenarios=10, seed=1) for p in (o, c))
    with pytest.raises(MovementError, match=r"valued 2026-12-31\) must come at least a month before the closing one "
                                            r".*valued 2026-09-30\); give the earlier one first"):
        movement(b, a)
    with pytest.raises(MovementError, match="must come at least a month before"):
        movement(b, b)


def test_books_without_ids_or_as_synthetic_books_are_refused(quarters, tmp_path):
    tmp, o, c, _ = quarters
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "rent.csv").write_bytes((tmp / "q4" / "rent.csv").read_bytes())
    (tmp_path / "b" / "receivables.csv").write_bytes((tmp / "q4" / "receivables.csv").read_bytes())
    loans = pd.read_csv(tmp / "q4" / "mortgage.csv")
    loans.drop(columns="loan_id").to_csv(tmp_path / "b" / "mortgage.csv", index=False)
    no_ids = quarter_from_params(_params(tmp_path, "noid", "2026-12-31", "b"), n_scenarios=10, seed=1)
    with pytest.raises(MovementError, match=r"mortgage\.csv: no column 'loan_id'"):
        movement(quarter_from_params(o, n_scenarios=10, seed=1), no_ids)
    loans.loc[3, "loan_id"] = loans.loc[2, "loan_id"]
    loans.to_csv(tmp_path / "b" / "mortgage.csv", index=False)
    with pytest.raises(MovementError, match=r"mortgage book column 'loan_id' names a loan twice, got '\w+' in row 5"):
        movement(quarter_from_params(o, n_scenarios=10, seed=1), no_ids)
    (tmp_path / "b" / "mortgage.csv").write_bytes((tmp / "q4" / "mortgage.csv").read_bytes())
    rent = pd.read_csv(tmp / "q4" / "rent.csv").drop(columns="contract_id")
    rent.to_csv(tmp_path / "b" / "rent.csv", index=False)
    with pytest.raises(ValueError, match=r"rent\.csv.*'contract_id'"):
        movement(quarter_from_params(o, n_scenarios=10, seed=1), no_ids)
    synthetic = tmp_path / "synthetic.yaml"
    synthetic.write_text(f"extends: {BASE}\nscenario: {{name: synthetic}}\nvaluation: {{valuation_date: 2026-12-31, "
                         f"rent_book_csv: null}}\n", encoding="utf-8")
    with pytest.raises(MovementError, match=r"valuation\.rent_book_csv is not given; .* not synthetic"):
        quarter_from_params(synthetic, n_scenarios=10, seed=1)


def test_the_cli_prints_the_bridge_and_names_bad_input_without_a_traceback(quarters, tmp_path):
    _, o, c, _ = quarters
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "movement", str(c), str(o)], capture_output=True,
                         text=True)
    assert run.returncode == 2 and "give the earlier one first" in run.stderr and "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "movement", str(o), "no_such_run"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2 and "no_such_run: neither a params file (.yaml) nor a run" in run.stderr
    assert "Traceback" not in run.stderr
    out = tmp_path / "bridge.csv"
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "movement", str(o), str(c), "--scenarios", "10",
                          "-o", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "assumptions 1: rent model: hazards, economy, recovery" in run.stdout
    bridge = pd.read_csv(out, index_col="figure")
    assert (bridge["opening"] + bridge.drop(columns=["opening", "closing"]).sum(axis=1) == bridge["closing"]).all()
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "movement", str(o), str(c), "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "exists" in run.stderr


@pytest.fixture(scope="module")
def base_model():
    return dataclasses.replace(RentModel.from_params(load_params(BASE)), months=24)


def test_a_roll_forward_by_hand(base_model):
    quiet = dataclasses.replace(base_model, delinquency_hazard={g: 1e-12 for g in base_model.delinquency_hazard},
                                moveout_hazard=0.0, recovery_delay_months=6, recovery_rate=0.3)
    book = synthetic_inforce_book(50, quiet, seed=2)[0]
    book = book[book["status"] == "performing"].reset_index(drop=True)
    receivables = pd.DataFrame({"receivable_id": ["R1", "R2", "R3"], "balance_yen": [300_000, 300_000, 50_000],
                                "months_since_exit": [4, 34, 10], "exit_kind": "settlement", "insured": False,
                                "jhf_payout_received_yen": 0})
    rent, closed = roll_forward_rent(book, receivables, quiet, 3, seed=1)
    assert rent["contract_id"].tolist() == book["contract_id"].tolist()  # nobody misses a rent or leaves
    assert (rent["start_month"] == book["start_month"] - 3).all() and (rent["status"] == "performing").all()
    # R1 reaches its recovery 6 months after the exit: 300,000 less floor(300,000 x 0.3); R2 is written off
    # after 36 months; R3 had its recovery already
    assert closed[["receivable_id", "balance_yen", "months_since_exit"]].values.tolist() == [
        ["R1", 210_000, 7], ["R3", 50_000, 13]]


def test_a_roll_forward_keeps_the_books_rules(base_model):
    book, receivables = synthetic_inforce_book(400, base_model, seed=6)
    rent, closed = roll_forward_rent(book, receivables, base_model, 3, seed=2)
    again = roll_forward_rent(book, receivables, base_model, 3, seed=2)
    assert rent.equals(again[0]) and closed.equals(again[1])  # one seed, one draw
    assert set(rent["contract_id"]) <= set(book["contract_id"]) and len(rent) < len(book)
    merged = rent.merge(book[["contract_id", "start_month"]], on="contract_id", suffixes=("", "_before"))
    assert (merged["start_month"] == merged["start_month_before"] - 3).all()
    monthly = (rent["rent_yen"] + rent["management_fee_yen"] + rent["common_fee_yen"] + rent["parking_fee_yen"]
               * rent["plan"].map({k: p.parking_in_total for k, p in base_model.plans.items()}))
    assert (rent["arrears_yen"] == rent["months_subrogated"] * monthly).all()  # whole months of the total
    assert ((rent["status"] == "performing") <= (rent["arrears_yen"] == 0)).all()
    new = closed[closed["receivable_id"].str.startswith("R-")]
    assert len(new) > 0 and (new["months_since_exit"] <= 2).all() and (new["balance_yen"] > 0).all()
    assert set(new["receivable_id"].str[2:]) <= set(book["contract_id"]) - set(rent["contract_id"])


def test_a_mortgage_roll_forward_by_hand():
    model = dataclasses.replace(MortgageModel.from_params(load_params(BASE)), delinquent_monthly_cure_rate=0.0,
                                psj_plateau_cpr=0.0, annual_default_rate={"A": 0.0, "B": 0.0, "C": 0.0})
    loans = synthetic_inforce_mortgage_book(6, model, seed=1).assign(
        status=["performing", "delinquent", "delinquent", "subrogated", "subrogated", "performing"],
        months_delinquent=[0, 1, 4, 0, 0, 0], receivable_yen=[0, 0, 0, 9_000_000, 9_000_000, 0],
        months_since_subrogation=[0, 0, 0, 9, 3, 0], loan_id=[f"L{i}" for i in range(6)])
    K = model.subrogation_after_months_delinquent  # 6: a loan 4 months behind is called 2 months on
    out = roll_forward_mortgage(loans, model, 3, seed=1)
    assert out["loan_id"].tolist() == ["L0", "L1", "L2", "L4", "L5"]  # L3 sold 12 months after its subrogation
    assert out["status"].tolist() == ["performing", "delinquent", "subrogated", "subrogated", "performing"]
    assert out["months_delinquent"].tolist() == [0, 4, 0, 0, 0]
    assert out["months_since_subrogation"].tolist()[2:4] == [1, 6] and K == 6
    assert (out["age_months"] == loans.set_index("loan_id").loc[out["loan_id"], "age_months"].to_numpy() + 3).all()
    assert out.loc[2, "receivable_yen"] > 0


def test_the_shipped_quarters_are_made_again_byte_for_byte(tmp_path):
    written = write_example_quarters(ROOT / "params", tmp_path)
    for path in written:
        shipped = ROOT / "params" / "books" / path.relative_to(tmp_path)
        assert path.read_bytes() == shipped.read_bytes(), shipped
    closing = load_params(BASE)
    assert opening_params_path(closing, BASE).name == "base_2026-09-30.yaml"
    q = quarter_from_params(opening_params_path(closing, BASE), n_scenarios=10, seed=1)
    assert q.valuation_date.isoformat() == "2026-09-30"


def test_check_names_a_missing_opening_quarter_and_the_same_books_on_both_sides(tmp_path, quarters):
    tmp, o, c, _ = quarters
    bad = tmp_path / "q4.yaml"
    bad.write_text(c.read_text(encoding="utf-8").replace("movement: null", "movement: {opening_params: nothere.yaml}")
                   .replace("valuation:\n  valuation_date: 2026-12-31\n  rent_book_csv: q4",
                            f"valuation:\n  valuation_date: 2026-12-31\n  rent_book_csv: {tmp / 'q4'}")
                   .replace("receivables_csv: q4", f"receivables_csv: {tmp / 'q4'}")
                   .replace("mortgage_book_csv: q4", f"mortgage_book_csv: {tmp / 'q4'}"), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "check", str(bad)], capture_output=True, text=True)
    assert run.returncode == 2 and "movement.opening_params: " in run.stderr and "nothere.yaml" in run.stderr
    same = tmp_path / "same.yaml"
    same.write_text(o.read_text(encoding="utf-8").replace("2026-09-30", "2026-12-31").replace(
        "q3", str(tmp / "q3")).replace(f"name: {tmp / 'q3'}", "name: same"), encoding="utf-8")
    with pytest.raises(MovementError, match=r"both quarters name the same rent_book_csv"):
        movement(quarter_from_params(o, n_scenarios=4, seed=1), quarter_from_params(same, n_scenarios=4, seed=1))


def test_the_cli_names_an_argument_that_is_neither_a_file_nor_a_run_and_a_missing_output_folder(quarters, tmp_path):
    _, o, c, _ = quarters
    for argv, needle in (([str(o), "nosuchrun", "--scenarios", "10"], "nosuchrun: neither a params file (.yaml) nor "
                                                                        "a run"),
                         ([str(o), str(c), "-o", str(tmp_path / "nodir" / "x.csv")], "does not exist")):
        run = subprocess.run([sys.executable, "-m", "actuarial.cli", "movement", *argv, "--reports", str(tmp_path)],
                             capture_output=True, text=True)
        assert run.returncode == 2 and needle in run.stderr and "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "runs", "--reports", str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "is not a folder of runs" in run.stderr


def test_a_step_whose_books_do_not_fit_its_params_is_refused_before_any_valuation(quarters, monkeypatch):
    import actuarial.movement.bridge as bridge
    from actuarial.movement import load_books

    _, o, c, _ = quarters
    opening, closing = (quarter_from_params(p, n_scenarios=4, seed=1) for p in (o, c))
    books = load_books(closing)
    books["rent"].loc[books["rent"].index[0], "plan"] = "premium"  # a plan the params do not have
    with pytest.raises(MovementError, match=r"the new business step cannot be valued: its books do not fit its "
                                            r"params: .*'premium'"):
        bridge._check_books("new business", opening.scenario, books)

    def no_valuation(*args, **kwargs):
        raise AssertionError("valued before the books were checked")

    monkeypatch.setattr(bridge, "_value", no_valuation)
    monkeypatch.setattr(bridge, "load_books", lambda q: books if q is closing else load_books(q))
    with pytest.raises(MovementError, match=r"the experience step cannot be valued"):
        movement(opening, closing)


def test_a_roll_forward_without_receivables_keeps_their_column_types(base_model):
    from actuarial.valuation import validate_receivables

    book, _ = synthetic_inforce_book(300, base_model, seed=6)
    rent, closed = roll_forward_rent(book, None, base_model, 12, seed=2)
    validate_receivables(closed)  # whole yen and months, True/False, as the valuation reads them
    assert len(closed) > 0 and closed["balance_yen"].dtype.kind == "i"


def test_the_changed_assumptions_are_listed_by_step_with_both_values():
    """The shipped quarters differ in two assumptions; each is listed under the step that
    applies it, with last quarter's value and this quarter's."""
    from actuarial.movement import changed_values

    root = Path(__file__).resolve().parents[1]
    changes = changed_values(load_params(root / "params/quarters/base_2026-09-30.yaml"),
                             load_params(root / "params/base.yaml"))
    assert changes.values.tolist() == [
        ["assumptions: rent model: hazards, economy, recovery", "rent_model.recovery_rate", "0.25", "0.3"],
        ["assumptions: mortgage model", "mortgage_model.forced_sale_discount", "0.25", "0.3"]]


def test_the_quarters_activity_measures_each_gap_in_square_roots_of_the_expected_count():
    """(actual - expected) / sqrt(expected) for counts; nothing for the yen balance or a count
    expected 0 (new business)."""
    from actuarial.movement.bridge import activity

    ids = [f"C{i}" for i in range(4)]
    book = pd.DataFrame({"contract_id": ids, "status": "performing", "months_subrogated": 0})
    receivables = pd.DataFrame({"receivable_id": ["R1"], "balance_yen": [1000]})
    rolled = {"rent": book.iloc[:3], "receivables": receivables}
    kept = {"rent": book.iloc[:2], "receivables": receivables}
    after = {"rent": pd.concat([book.iloc[:2], book.iloc[:1].assign(contract_id="N1")]), "receivables": receivables}
    out = activity({"rent": book, "receivables": receivables}, rolled, kept, after)
    gap = out["gap (square roots of expected)"]
    row = out.loc["rent: contracts in force"]
    assert gap["rent: contracts in force"] == round((row["actual"] - row["expected (roll-forward)"])
                                                     / row["expected (roll-forward)"] ** 0.5, 1)
    assert pd.isna(gap["closed receivables (yen)"]) and pd.isna(gap["rent: new contracts"])
