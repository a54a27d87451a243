"""Pricing: fee income, break-even fees, value of JHF insurance; the collection funnel."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actuarial import pricing
from actuarial.collection import MLIT_FUNNEL, CollectionChain
from actuarial.params import load_params
from actuarial.portfolio import synthetic_rent_book
from actuarial.simulation import LINES, RentModel, simulate

BASE = load_params(Path(__file__).resolve().parents[1] / "params" / "base.yaml")
MODEL = dataclasses.replace(RentModel.from_params(BASE), months=36)
BOOK = synthetic_rent_book(300, seed=8).assign(start_month=lambda b: np.where(np.arange(len(b)) % 3 == 0, -7, 0))


def test_expected_fee_income_is_the_engines_fee_line():
    for plan in MODEL.plans:
        sub = BOOK[BOOK["plan"] == plan]
        fees = simulate(sub, MODEL, 1, seed=1).cash_flows[0, LINES.index("fees")].sum()
        assert pricing.expected_fee_income(sub, MODEL, plan) == pytest.approx(fees, rel=1e-12)


def test_expected_fee_income_with_the_survival_curves_given():
    from actuarial.simulation.rent import fee_survival

    alive = fee_survival(MODEL)
    for plan in MODEL.plans:
        assert (pricing.expected_fee_income(BOOK, MODEL, plan, alive=alive)
                == pricing.expected_fee_income(BOOK, MODEL, plan))
    with pytest.raises(ValueError, match="alive has no survival curve for grade 'B'"):
        pricing.expected_fee_income(BOOK, MODEL, "monthly", alive={"A": alive["A"], "C": alive["C"]})


@pytest.mark.parametrize("target", [{"target_loss_ratio": 0.4}, {"target_return_on_capital": 0.15}])
def test_break_even_values_meet_the_required_fees(target):
    table = pricing.break_even_fees(BOOK, MODEL, n_scenarios=200, seed=3, **target)
    assert set(table["plan"]) == set(BOOK["plan"])
    for row in table.itertuples():
        sub = BOOK[BOOK["plan"] == row.plan]
        assert row.fee_multiplier * row.current_fees_yen == pytest.approx(row.required_fees_yen)
        alone = {c: 0 if c.endswith("_yen") else 0.0 for c in pricing.COMPONENTS}
        alone.update(initial_min_yen=0, initial_fixed_yen=0, monthly_fixed_yen=0)
        if np.isnan(row.break_even):  # documented: the component alone cannot meet the target
            top = pricing.COMPONENTS[row.component]
            assert pricing.expected_fee_income(sub, MODEL, row.plan, **{**alone, row.component: top}) \
                < row.required_fees_yen, row
            continue
        value = int(row.break_even) if row.component.endswith("_yen") else row.break_even
        fees = pricing.expected_fee_income(sub, MODEL, row.plan, **{**alone, row.component: value})
        tolerance = 1e-6 * 50 * sub["rent_yen"].sum() if row.component.endswith("rate") else len(sub) * 2
        assert abs(fees - row.required_fees_yen) <= max(tolerance, 1e-9 * row.required_fees_yen), row
    if "target_loss_ratio" in target:
        r = table.iloc[0]
        assert r.required_fees_yen == pytest.approx(r.expected_net_loss_yen / 0.4)


def test_break_even_bad_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        pricing.break_even_fees(BOOK, MODEL, n_scenarios=10, seed=1)
    with pytest.raises(ValueError, match=r"target_loss_ratio must be a number in \(0, 10\], got 0"):
        pricing.break_even_fees(BOOK, MODEL, n_scenarios=10, seed=1, target_loss_ratio=0)
    with pytest.raises(ValueError, match=r"target_loss_ratio must be a number in \(0, 10\], got '0\.5'"):
        pricing.break_even_fees(BOOK, MODEL, n_scenarios=10, seed=1, target_loss_ratio="0.5")
    with pytest.raises(ValueError, match=r"target_return_on_capital must be a number in \[0, 10\], got -0\.1"):
        pricing.break_even_fees(BOOK, MODEL, n_scenarios=10, seed=1, target_return_on_capital=-0.1)
    with pytest.raises(ValueError, match=r"capital_level must be a number in \[0, 1\], got 1\.5"):
        pricing.break_even_fees(BOOK, MODEL, n_scenarios=10, seed=1, target_loss_ratio=0.5, capital_level=1.5)
    with pytest.raises(ValueError, match="plan_name 'gold'"):
        pricing.expected_fee_income(BOOK, MODEL, "gold")


@pytest.mark.parametrize("kwargs, message", [
    ({"rents_yen": [-1]}, r"rents_yen must be non-negative yen, got -1 at position 0"),
    ({"rents_yen": [80_000.5]}, r"rents_yen must hold whole yen, got 80000\.5 at position 0"),
    ({"default_rates": [0.1, 1.5]}, r"default_rates must be a number in \[0, 1\], got 1\.5"),
    ({"delinquency_hazard": 0}, r"delinquency_hazard must be in \(0, 1\), got 0"),
])
def test_jhf_value_grid_bad_arguments(kwargs, message):
    args = {"rents_yen": [80_000], "default_rates": [0.1], "plan_name": "monthly"} | kwargs
    with pytest.raises(ValueError, match=message):
        pricing.jhf_value_grid(MODEL, **args)


def test_jhf_value_grid():
    g = pricing.jhf_value_grid(MODEL, rents_yen=[50_000, 150_000], default_rates=[0.0001, 0.03, 0.2, 0.99],
                               plan_name="zenhoren_yearly", nodes=6)
    by = g.set_index(["default_rate", "rent_yen"])
    assert by.loc[(0.0001, 50_000)].isna().all() and by.loc[(0.99, 50_000)].isna().all()  # out of reach: NaN
    assert by.loc[(0.03, 50_000), "premium_yen"] == 12_500 and by.loc[(0.2, 150_000), "premium_yen"] == 37_500
    for rent in (50_000, 150_000):
        assert by.loc[(0.2, rent), "net_value_yen"] > by.loc[(0.03, rent), "net_value_yen"]
        assert by.loc[(0.2, rent), "expected_payout_yen"] <= 0.2 * min(0.7 * 12 * rent, 1_000_000) + 1e-6
    # the solved cure multiplier reproduces the default rate it was solved for
    f = by.loc[(0.2, 50_000), "cure_multiplier"]
    m = dataclasses.replace(MODEL, delinquency_hazard={"X": 0.02})
    assert pricing.insured_event_probability(m, delinquency_hazard=0.02, cure_multiplier=f,
                                             nodes=6) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="plan_name"):
        pricing.jhf_value_grid(MODEL, rents_yen=[1], default_rates=[0.1], plan_name="gold")


def test_funnel_by_hand_and_against_the_survey():
    c = CollectionChain.from_transitions({"dunning": {"cure": 0.5, "suit": 0.5}, "suit": {"forced_execution": 1.0}})
    assert c.first_entry("suit") == pytest.approx((0.5, 1.0))
    assert c.first_entry("forced_execution") == pytest.approx((0.5, 2.0))
    f = BASE.collection.chain().funnel()
    assert list(f.index) == list(MLIT_FUNNEL)
    # issue 5: the base scenario's funnel lies within 10% (relative) of every survey figure
    assert np.all(np.abs(f["model_per_1000"] / f["mlit_per_1000"] - 1) <= 0.10)
    assert np.all(np.abs(f["model_months"] / f["mlit_months"] - 1) <= 0.10)
    assert f["mlit_per_1000"].tolist() == [942.9, 8.5, 3.8, 0.8, 0.7]
    with pytest.raises(ValueError, match="state must be one of"):
        c.first_entry("court")
    assert isinstance(f, pd.DataFrame)
