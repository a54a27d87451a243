"""The experience study: a status history checked row by row, exposure and A/E worked by
hand, the chain's fit and its credibility blend, a fit that recovers what generated the
history, and the params file it writes."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from actuarial import calibration, cli, experience
from actuarial.collection import CollectionChain
from actuarial.params import load_params
from actuarial.simulation import RentModel

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")
MODEL = RentModel.from_params(BASE)


def _history(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contract_id", "month", "status", "months_owed", "grade"])


HAND = _history([
    ("a", "2026-01", "performing", 0, "A"), ("a", "2026-02", "dunning", 1, "A"), ("a", "2026-03", "performing", 0, "A"),
    ("a", "2026-04", "performing", 0, "A"),
    ("b", "2026-02", "performing", 0, "B"), ("b", "2026-03", "dunning", 1, "B"),
    ("b", "2026-04", "emergency_contact", 2, "B"), ("b", "2026-05", "skip", 2, "B"),
    ("c", "2026-01", "installment", 2, "B"), ("c", "2026-02", "installment", 1, "B"),
    ("c", "2026-03", "performing", 0, "B"), ("c", "2026-04", "moved_out", 0, "B"),
])


def test_steps_and_exposure_by_hand():
    steps = experience.transitions(experience.prepare_history(HAND))
    assert len(steps) == 9
    moves = steps.groupby(["from", "move"], observed=True).size().to_dict()
    assert moves == {("performing", "missed_rent"): 2, ("performing", "stay"): 1, ("performing", "moved_out"): 1,
                     ("dunning", "cure"): 1, ("dunning", "emergency_contact"): 1, ("emergency_contact", "skip"): 1,
                     ("installment", "stay"): 1, ("installment", "installment_paid"): 1}
    table = experience.exposure(steps)
    assert table.loc["performing", "months_at_risk"] == 4 and table.loc["dunning", "months_at_risk"] == 2
    assert steps["vintage"].astype(str).tolist()[0] == "2026Q1"
    assert steps.loc[steps["contract"] == 1, "age"].tolist() == [0, 1, 2]


def test_actual_against_expected_by_hand():
    """Performing: grade A 2 steps (1 miss), grade B 2 steps (1 miss, 1 move-out). Expected
    misses h_A x 2 + h_B x 2; move-outs (1 - h) m a step. The interval of A = 1 is
    chi2(0.025; 2) / 2 to chi2(0.975; 4) / 2, over E."""
    steps = experience.transitions(experience.prepare_history(HAND))
    ae = experience.actual_vs_expected(steps, MODEL)
    h, m = MODEL.delinquency_hazard, MODEL.moveout_hazard
    missed = ae.loc[("performing", "missed_rent")]
    assert missed["actual"] == 2 and missed["expected"] == pytest.approx(2 * h["A"] + 2 * h["B"], rel=1e-12)
    out = ae.loc[("performing", "moved_out")]
    assert out["expected"] == pytest.approx(2 * (1 - h["A"]) * m + 2 * (1 - h["B"]) * m, rel=1e-12)
    assert out["ae_low"] == pytest.approx(chi2.ppf(0.025, 2) / 2 / out["expected"], rel=1e-12)
    assert out["ae_high"] == pytest.approx(chi2.ppf(0.975, 4) / 2 / out["expected"], rel=1e-12)
    cure = ae.loc[("dunning", "cure")]
    assert cure["expected"] == pytest.approx(2 * MODEL.chain.matrix[0, 9], rel=1e-12)  # 9: cure
    none = ae.loc[("dunning", "installment")]
    assert none["actual"] == 0 and none["ae_low"] == 0.0
    by_grade = experience.actual_vs_expected(steps, MODEL, by=("grade",))
    assert by_grade.loc[("A", "performing", "missed_rent"), "expected"] == pytest.approx(2 * h["A"], rel=1e-12)


def test_roll_rates_and_vintage_curves_by_hand():
    steps = experience.transitions(experience.prepare_history(HAND))
    rolls = experience.roll_rates(steps)
    rates = rolls.drop(columns="months_at_risk")
    assert np.allclose(rates[rolls["months_at_risk"] > 0].sum(axis=1), 1.0)
    assert rolls.loc["0", "months_at_risk"] == 4 and rolls.loc["0", "1"] == 0.5 and rolls.loc["0", "ended"] == 0.25
    assert rolls.loc["2", "1"] == 0.5 and rolls.loc["2", "ended"] == 0.5
    curves = experience.vintage_curves(steps)
    # a and b start in the history at their origination; a misses at age 1 (1 of 1 at risk in 2026Q1), b at age 1
    assert curves.loc[1, "2026Q1"] == 1.0
    assert "2026Q1" in curves.columns and len(curves.columns) == 1  # c started in collection: not a curve
    first = experience.expected_first_miss(steps, MODEL, [1, 2])
    h = MODEL.delinquency_hazard
    assert first.iloc[1] == pytest.approx(1 - 0.5 * (1 - h["A"]) ** 2 - 0.5 * (1 - h["B"]) ** 2, rel=1e-12)


def test_the_fit_and_its_credibility_by_hand():
    steps = experience.transitions(experience.prepare_history(HAND))
    fit = experience.fit_chain(steps, MODEL.chain, 10.0)
    row = fit.loc[("dunning", "cure")]
    prior = MODEL.chain.matrix[0, 9]
    assert row["steps"] == 2 and row["count"] == 1 and row["mle"] == 0.5
    assert row["mle_se"] == pytest.approx(0.5 / 2 ** 0.5, rel=1e-12)
    assert row["fitted"] == pytest.approx((1 + 10 * prior) / 12, rel=1e-12)
    assert row["fitted_sd"] == pytest.approx(math.sqrt(row["fitted"] * (1 - row["fitted"]) / 13), rel=1e-12)
    unseen = fit.loc["judgment"]
    assert (unseen["steps"] == 0).all() and np.allclose(unseen["fitted"], unseen["prior"])
    assert experience.fit_chain(steps, MODEL.chain, 0.0).loc[("dunning", "cure"), "fitted"] == 0.5
    for s in ("dunning", "emergency_contact", "installment"):
        assert fit.loc[s, "fitted"].sum() == pytest.approx(1.0, rel=1e-12)


def test_the_fit_recovers_what_generated_the_history():
    truth = dataclasses.replace(MODEL, chain=CollectionChain(MODEL.chain.matrix.copy()))
    steps = experience.transitions(experience.prepare_history(experience.synthetic_history(20_000, truth, seed=5)))
    fit = experience.fit_chain(steps, truth.chain, 0.0)
    ok = experience.recovered(fit, truth.chain, sigmas=4.0)
    assert len(ok) >= 25 and ok.all(), ok[~ok]
    ae = experience.actual_vs_expected(steps, truth)
    big = ae[ae["expected"] >= 20]
    assert len(big) >= 8
    assert (abs(big["actual"] - big["expected"]) <= 4 * np.sqrt(big["expected"])).all(), big


def test_fit_chain_writes_a_params_file_with_its_sources(tmp_path, capsys):
    history = ROOT / "params" / "books" / "status_history.csv"
    out = tmp_path / "my_chain.yaml"
    assert cli.main(["fit-chain", str(history), "--prior", str(ROOT / "params" / "base.yaml"), "-o", str(out)]) == 0
    assert "fitted to" in capsys.readouterr().out
    fitted = load_params(out)
    assert fitted.scenario.name == "base_fitted" and fitted.rent_model == BASE.rent_model
    steps = experience.transitions(experience.prepare_history(experience.read_history(history)))
    expected = experience.fitted_transitions(experience.fit_chain(steps, MODEL.chain, 100.0))
    assert {s: dict(r) for s, r in fitted.collection.transitions.items()} == expected
    text = out.read_text(encoding="utf-8")
    digest = __import__("hashlib").sha256(history.read_bytes()).hexdigest()
    assert digest in text and f"{len(steps):,d} transitions, prior weight 100" in text
    prov = calibration.provenance(out)
    chain = prov[prov["parameter"].str.startswith("collection.transitions")]
    seen = chain["parameter"].str.split(".").str[2].isin(steps["from"].astype(str).unique())
    assert (chain.loc[seen, "kind"] == "fitted").all() and (chain.loc[~seen, "kind"] == "assumed").all()
    assert seen.sum() >= 10 and (~seen).sum() >= 5


@pytest.mark.parametrize("weight", ["-1", "nan", "inf"])
def test_a_bad_prior_weight_is_refused_and_nothing_written(tmp_path, capsys, weight):
    out = tmp_path / "x.yaml"
    assert cli.main(["fit-chain", str(ROOT / "params" / "books" / "status_history.csv"), "--prior",
                     str(ROOT / "params" / "base.yaml"), "-o", str(out), "--prior-weight", weight]) == 2
    assert "prior weight must be a finite number of months >= 0" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())


def _edit(change):
    h = HAND.copy()
    change(h)
    return h


@pytest.mark.parametrize("change, needle", [
    (lambda h: h.__delitem__("months_owed"), r"missing column 'months_owed'"),
    (lambda h: h.loc.__setitem__((1, "month"), "2026-01"), r"'month' in row 1: '2026-01' appears twice"),
    (lambda h: h.loc.__setitem__(([1, 2], "month"), ["2026-03", "2026-02"]),
     r"'month' in row 2: '2026-02' is out of order"),
    (lambda h: h.loc.__setitem__((3, "month"), "2026-06"), r"'month' in row 3: '2026-06' leaves a gap"),
    (lambda h: h.loc.__setitem__((2, "status"), "cured"), r"'status' in row 2: 'cured' is not a status"),
    (lambda h: h.loc.__setitem__((10, "status"), "suit"), r"'status' in row 11: 'moved_out' for contract 'c' in "
                                                          r"collection the month before"),
    (lambda h: h.loc.__setitem__((3, "status"), "suit"), r"'status' in row 3: 'suit' straight after 'performing'"),
    (lambda h: h.loc.__setitem__((4, "month"), "Feb 2026"), r"'month' in row 4: 'Feb 2026' is not a month"),
    (lambda h: h.loc.__setitem__((0, "months_owed"), -1), r"'months_owed' in row 0: a negative number of months -1"),
    (lambda h: h.loc.__setitem__((0, "months_owed"), 5000), r"'months_owed' in row 0: 5000 months is beyond any "
                                                            r"tenancy"),
    (lambda h: h.loc.__setitem__((0, "contract_id"), None), r"'contract_id' in row 0: an empty cell"),
])
def test_bad_histories_are_named(change, needle):
    with pytest.raises(ValueError, match=needle):
        experience.prepare_history(_edit(change))


def test_nothing_follows_an_ending():
    h = pd.concat([HAND, _history([("b", "2026-06", "dunning", 1, "B")])], ignore_index=True)
    with pytest.raises(ValueError, match=r"'status' in row 12: 'dunning' after the contract ended \(skip\)"):
        experience.prepare_history(h)
    h = _edit(lambda h: h.loc.__setitem__((7, "status"), "moved_out"))
    with pytest.raises(ValueError, match=r"row 7: 'moved_out' for contract 'b' in collection"):
        experience.prepare_history(h)


def test_a_csv_history_names_spreadsheet_rows_and_an_unknown_grade(tmp_path):
    path = tmp_path / "h.csv"
    HAND.assign(grade=["A"] * 4 + ["Z"] * 8).to_csv(path, index=False)
    steps = experience.transitions(experience.prepare_history(experience.read_history(path)))
    with pytest.raises(ValueError, match=r"grade' has 'Z', which the params do not rate"):
        experience.actual_vs_expected(steps, MODEL)
    HAND.assign(months_owed=["0"] * 11 + ["x"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"h\.csv: column 'months_owed' must hold whole numbers, got 'x' in row 13"):
        experience.prepare_history(experience.read_history(path))


def test_a_history_without_grades_or_with_a_grade_that_changes_is_named(tmp_path):
    steps = experience.transitions(experience.prepare_history(HAND.drop(columns="grade")))
    with pytest.raises(ValueError, match=r"the history has no 'grade' column: the params' expectations are by grade"):
        experience.actual_vs_expected(steps, MODEL)
    with pytest.raises(ValueError, match=r"'grade' in row 1: 'B' differs from the contract's earlier rows"):
        experience.prepare_history(_edit(lambda h: h.loc.__setitem__((1, "grade"), "B")))
    with pytest.raises(ValueError, match=r"'origination' in row 2: '2025-11' differs"):
        experience.prepare_history(HAND.assign(origination=["2025-12", "2025-12", "2025-11"] + ["2025-12"] * 9))


@pytest.mark.parametrize("cell, shown", [("inf", "inf"), ("1e30", r"1e\+30"), ("", "an empty cell"),
                                          ("2.5", r"2\.5"), ("ten", "'ten'")])
def test_a_csv_history_refuses_months_owed_that_are_not_whole_months(tmp_path, cell, shown):
    path = tmp_path / "h.csv"
    HAND.astype({"months_owed": object}).assign(months_owed=["0"] * 11 + [cell]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"h\.csv: column 'months_owed' must hold whole numbers, got {shown} in "
                                         rf"row 13"):
        experience.read_history(path)


def test_fit_chain_refuses_to_overwrite_a_file_or_the_prior_s_chain(tmp_path, capsys):
    history, base = str(ROOT / "params" / "books" / "status_history.csv"), str(ROOT / "params" / "base.yaml")
    out = tmp_path / "fit.yaml"
    out.write_text("keep me\n", encoding="utf-8")
    assert cli.main(["fit-chain", history, "--prior", base, "-o", str(out)]) == 2
    assert "exists; choose a new file, or add --force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "keep me\n"
    assert cli.main(["fit-chain", history, "--prior", str(ROOT / "params" / "recession.yaml"), "-o", base]) == 2
    assert "is the prior or a file it extends" in capsys.readouterr().err
    assert cli.main(["fit-chain", history, "--prior", base, "-o", str(out), "--force"]) == 0
    prov = calibration.provenance(out)
    kept = prov[prov["parameter"].str.startswith("collection.transitions.judgment.")]
    assert len(kept) and (kept["kind"] == "assumed").all()  # no month in judgment: the prior's values kept
