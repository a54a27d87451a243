"""The tornado: each assumption moved down and up on common random numbers."""

import dataclasses

import pytest

from actuarial import stress
from actuarial.params import load_params
from actuarial.portfolio import synthetic_rent_book
from actuarial.simulation import RentModel, simulate

MODEL = dataclasses.replace(RentModel.from_params(load_params("params/base.yaml")), months=36)
BOOK = synthetic_rent_book(300, seed=8, insured_share=0.3)


def test_amounts_that_do_not_touch_the_random_numbers_move_the_loss_one_way():
    # recoveries and costs change amounts only, never a draw: with common random numbers a
    # higher recovery rate lowers, and higher costs raise, the loss of every scenario
    sens = {k: stress.RENT_SENSITIVITIES[k] for k in ("recovery rate", "collection costs")}
    t = stress.tornado(BOOK, MODEL, change=0.25, metric="expected_loss", n_scenarios=40, seed=3,
                       sensitivities=sens).set_index("assumption")
    base = simulate(BOOK, MODEL, 40, seed=3).metrics()["expected_loss"]
    assert (t["base"] == base).all()
    assert t.loc["recovery rate", "high"] < base < t.loc["recovery rate", "low"]
    assert t.loc["collection costs", "low"] < base < t.loc["collection costs", "high"]
    costs = dataclasses.replace(MODEL, **{f"{c}_cost_yen": round(getattr(MODEL, f"{c}_cost_yen") * 1.25)
                                          for c in ("suit", "execution", "removal", "restoration")},
                                **{f"{c}_cost_months": getattr(MODEL, f"{c}_cost_months") * 1.25
                                   for c in ("suit", "execution", "removal", "restoration")})
    assert costs.removal_cost_months == 4.375 and costs.restoration_cost_months == 1.25  # the base params scale
    assert t.loc["collection costs", "high"] == simulate(BOOK, costs, 40, seed=3).metrics()["expected_loss"]
    assert (t["swing"] == (t["high"] - t["low"]).abs()).all()
    assert list(t["swing"]) == sorted(t["swing"], reverse=True)


def test_an_assumption_that_changes_nothing_has_no_swing_and_any_var_level_is_a_metric():
    t = stress.tornado(BOOK, MODEL, metric="var_99.7%", n_scenarios=30, seed=5,
                       sensitivities={"nothing": lambda m, f: m})
    var = simulate(BOOK, MODEL, 30, seed=5).metrics((0.997,))["var_99.7%"]
    assert t.to_dict("records") == [{"assumption": "nothing", "low": var, "high": var, "base": var, "swing": 0.0,
                                     "swing_standard_error": 0.0, "significant": False}]


def test_a_swing_carries_its_standard_error_and_noise_is_not_called_significant():
    # the expected loss moves every scenario the same way under a recovery change (amounts
    # only): a large swing, far beyond its error; an assumption that is only re-labelled noise
    # (the same model under another name, on another seed) has a swing within 2 errors
    sens = {"recovery rate": stress.RENT_SENSITIVITIES["recovery rate"]}
    t = stress.tornado(BOOK, MODEL, change=0.5, metric="expected_loss", n_scenarios=200, seed=3,
                       sensitivities=sens).iloc[0]
    assert t["significant"] and t["swing"] > 2 * t["swing_standard_error"] > 0
    # a material change whose effect on the loss is nil: the JHF refusal share on a book with no JHF cover
    uninsured = BOOK.assign(insured=False)
    nil = {"refusals": lambda m, f: dataclasses.replace(m, jhf_refused_share=0.5 + 0.4 * f)}
    n = stress.tornado(uninsured, MODEL, change=0.5, metric="var_99.0%", n_scenarios=200, seed=3,
                       sensitivities=nil).iloc[0]
    assert not n["significant"] and n["swing"] <= 2 * n["swing_standard_error"]
    # and on the insured book the same change moves the tail by more than its error
    m = stress.tornado(BOOK, MODEL, change=0.5, metric="expected_loss", n_scenarios=200, seed=3,
                       sensitivities=nil).iloc[0]
    assert m["significant"] and m["swing_standard_error"] > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "nope"}, r"metric must be expected_loss, .* got 'nope'"),
    ({"metric": "var_99.50%"}, r"got 'var_99\.50%'"),
    ({"metric": "tvar_100.0%"}, r"got 'tvar_100\.0%'"),
    ({"metric": 0.995}, r"got 0\.995"),
    ({"change": "0.2"}, r"change must be a number in \(0, 1\), got '0\.2'"),
    ({"change": True}, r"change must be a number in \(0, 1\), got True"),
    ({"change": 1.0}, r"got 1\.0"),
])
def test_bad_arguments_are_refused_before_anything_runs(monkeypatch, kwargs, message):
    def no_run(*args, **kw):
        raise AssertionError("simulated before checking the arguments")

    monkeypatch.setattr(stress, "simulate", no_run)
    with pytest.raises(ValueError, match=message):
        stress.tornado(BOOK, MODEL, n_scenarios=10, seed=1, **kwargs)
