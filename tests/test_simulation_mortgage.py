"""Mortgage engine: Monte Carlo against exact expected cash flows, amounts against the
product calculators, reproducibility, bad input."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actuarial.params import ParamsError, load_params
from actuarial.portfolio import synthetic_mortgage_book
from actuarial.products.mortgage_fee import FeeCurve, level_payment_balances, refund
from actuarial.simulation import MORTGAGE_LINES, MortgageModel, simulate
from actuarial.simulation.exact import expected_mortgage_cash_flows

ROOT = Path(__file__).resolve().parents[1]
BASE = load_params(ROOT / "params" / "base.yaml")
L = {name: i for i, name in enumerate(MORTGAGE_LINES)}


@pytest.fixture(scope="module")
def model():
    return dataclasses.replace(MortgageModel.from_params(BASE), months=120, transfer_fee_yen=660,
                               annual_default_rate={"A": 0.004, "B": 0.02, "C": 0.05}, administration_fee_yen=33_000)


@pytest.fixture(scope="module")
def book():
    return synthetic_mortgage_book(40, seed=5, new_share=0.6)


@pytest.fixture(scope="module")
def result(model, book):
    return simulate(book, model, 20_000, seed=3)


def test_monte_carlo_totals_within_four_standard_errors(model, book, result):
    exact = expected_mortgage_cash_flows(book, model).sum()
    totals = result.cash_flows.sum(axis=2)
    mean, se = totals.mean(axis=0), totals.std(axis=0, ddof=1) / np.sqrt(len(totals))
    for line, j in L.items():
        assert abs(mean[j] - exact[line]) <= 4 * se[j] + 1e-6 * abs(exact[line]), line
        assert exact[line] > 0, line


@pytest.mark.parametrize("delay", [None, 200])
def test_chunked_exact_flows_equal_the_loan_by_loan_version(model, book, delay):
    """Chunks of 7 loans against the readable loop over loans, on the synthetic book plus
    loans that mature within the horizon (short terms, seasoned), and a recovery delay past
    the horizon."""
    from actuarial.simulation.exact import expected_mortgage_cash_flows_by_loan

    m = model if delay is None else dataclasses.replace(model, recovery_delay_months=delay)
    short = pd.DataFrame({"principal_yen": [8_000_000, 20_000_000, 5_000_000],
                          "annual_interest_rate": [0.009, 0.02, 0.006],
                          "term_months": [60, 120, 36], "age_months": [24, 0, 35],
                          "collateral_value_yen": [9_000_000, 15_000_000, 7_000_000], "grade": ["C", "B", "A"],
                          "fee_type": ["lump_sum", "installment", "lump_sum"]})
    mixed = pd.concat([book, short], ignore_index=True)
    fast = expected_mortgage_cash_flows(mixed, m, chunk_loans=7)
    slow = expected_mortgage_cash_flows_by_loan(mixed, m)
    assert fast.columns.equals(slow.columns) and fast.index.equals(slow.index)
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-12, atol=1e-6)
    assert (fast["recoveries"].sum() > 0) == (delay is None) and fast["refunds"].sum() > 0


def test_monte_carlo_monthly_subrogation_and_refunds_within_four_standard_errors(model, book, result):
    exact = expected_mortgage_cash_flows(book, model)
    for line in ("subrogation", "refunds", "fee_installment"):
        x = result.cash_flows[:, L[line], :]
        mean, se = x.mean(axis=0), x.std(axis=0, ddof=1) / np.sqrt(len(x))
        assert np.all(np.abs(mean - exact[line].to_numpy()) <= 4 * se + 1e-6 * np.abs(exact[line].to_numpy())), line


def test_same_seed_same_result_whatever_the_threads(model, book, result):
    again = simulate(book, model, 20_000, seed=3, threads=2)
    assert np.array_equal(result.cash_flows, again.cash_flows)
    assert np.array_equal(simulate(book, model, 30, seed=3).cash_flows, result.cash_flows[:30])


def _one_loan(**over):
    row = {"principal_yen": 30_000_000, "annual_interest_rate": 0.012, "term_months": 360, "age_months": 0,
           "collateral_value_yen": 20_000_000, "grade": "A", "fee_type": "lump_sum"}
    row.update(over)
    return pd.DataFrame([row])


def test_lump_sum_fee_and_refunds_match_the_fee_curve_and_refund_function(model):
    m = dataclasses.replace(model, annual_default_rate={"A": 0.0}, psj_plateau_cpr=0.3, partial_prepayment_smm=0.0)
    r = simulate(_one_loan(), m, 300, seed=1)
    curve = FeeCurve(principal_yen=30_000_000, term_years=30, fee_annual_rate=m.fee_annual_rate,
                     loan_annual_rate=m.schedule_loan_rate, discount_annual_rate=m.schedule_discount_rate)
    assert r.cash_flows[:, L["fee_lump_sum"], 0] == pytest.approx(curve.lump_sum(), abs=1)
    assert curve.lump_sum() == pytest.approx(578_910, rel=1e-4)  # the published fee, from the calibrated basis
    seen = 0
    for s in range(300):
        months = np.flatnonzero(r.cash_flows[s, L["refunds"], :])
        assert len(months) <= 1
        for t in months:  # paid 2 months after a prepayment in month t - 2: months elapsed t - 1 in the
            event = int(t) - 2  # disclosure's count (the loan month is month 1)
            assert event >= 1
            expected = refund(unearned_fee=curve.unearned_yen(event + 1), months_elapsed=event + 1, transfer_fee=660)
            assert abs(r.cash_flows[s, L["refunds"], t] - expected) <= 1
            seen += 1
    assert seen > 100


def test_subrogation_is_the_scheduled_balance_and_recovery_the_discounted_collateral(model):
    m = dataclasses.replace(model, annual_default_rate={"A": 0.3}, psj_plateau_cpr=0.0, partial_prepayment_smm=0.0,
                            house_price_sensitivity=0.0, forced_sale_discount=0.3, recovery_delay_months=6)
    r = simulate(_one_loan(age_months=24, fee_type="installment"), m, 200, seed=2)
    bal = level_payment_balances(principal_yen=30_000_000, annual_interest_rate=0.012, term_months=360)
    lag = m.subrogation_after_months_delinquent - 1  # the bank calls the loan at the 6th missed payment
    assert lag == m.subrogation_lag_months == 5
    seen = 0
    for s in range(200):
        (u,) = (np.flatnonzero(r.cash_flows[s, L["subrogation"], :])
                if r.cash_flows[s, L["subrogation"]].any() else (None,))
        if u is None:
            continue
        t = u - lag  # the default: the first missed payment
        assert t >= 1 and abs(r.cash_flows[s, L["subrogation"], u] - np.floor(bal[24 + t - 1])) <= 1
        if u + 6 <= m.months:
            assert r.cash_flows[s, L["recoveries"], u + 6] == 14_000_000  # 70% of 20,000,000 < balance
        fees = r.cash_flows[s, L["fee_installment"], 1:t]  # alive before the default month only
        assert fees == pytest.approx(bal[24:24 + t - 1] * 0.002 / 12)
        assert r.cash_flows[s, L["fee_installment"], t:].sum() == 0
        seen += 1
    assert seen > 20
    claims = simulate(_one_loan(age_months=24, fee_type="installment"), m, 20, seed=2, claims=20).claims
    assert (claims["subrogation_month"] == claims["default_month"] + lag).all()
    assert (claims["recovery_month"] == claims["default_month"] + lag + 6).all()


def test_nothing_happens_after_maturity(model):
    m = dataclasses.replace(model, months=120, annual_default_rate={"A": 0.0}, psj_plateau_cpr=0.0)
    r = simulate(_one_loan(term_months=120, age_months=60, fee_type="installment"), m, 3, seed=1)
    assert r.cash_flows[:, L["fee_installment"], 61:].sum() == 0
    assert (r.cash_flows[:, L["fee_installment"], 60] > 0).all()


@pytest.mark.parametrize("change, needle", [
    (lambda b: b.drop(columns="fee_type"), "missing column 'fee_type'"),
    (lambda b: b.assign(principal_yen=-1), "'principal_yen' must not be negative, got -1 in row 0"),
    (lambda b: b.assign(term_months=365), "'term_months' must be whole years"),
    (lambda b: b.assign(age_months=360), "'age_months' must be below term_months"),
    (lambda b: b.assign(annual_interest_rate=1.5), "'annual_interest_rate' must be in"),
    (lambda b: b.assign(grade="Z"), "'grade' must be one of A, B, C, got 'Z' in row 0"),
    (lambda b: b.assign(fee_type="yearly"), "'fee_type' must be 'lump_sum' or 'installment', got 'yearly'"),
    (lambda b: b.assign(principal_yen=1.5), "'principal_yen' must hold whole numbers"),
])
def test_bad_mortgage_book_names_column_and_row(model, change, needle):
    with pytest.raises(ValueError, match=needle):
        simulate(change(_one_loan()), model, 2, seed=1)


def test_bad_model_and_params(tmp_path):
    with pytest.raises(ValueError, match=r"annual_default_rate\['A'\]"):
        MortgageModel(annual_default_rate={"A": 1.2})
    with pytest.raises(ValueError, match="psj_ramp_months"):
        MortgageModel(annual_default_rate={"A": 0.01}, psj_ramp_months=0)
    text = (ROOT / "params" / "base.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  psj_plateau_cpr: 0.0545 ", "  psj_plateau_cpr: 1.5 "), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"bad\.yaml: mortgage_model\.psj_plateau_cpr = 1\.5"):
        load_params(bad)


def test_numpy_month_stepping_baseline_is_the_same_model(model, book):
    from actuarial.simulation.baseline import simulate_mortgage_month_stepping

    flows = simulate_mortgage_month_stepping(book, model, 3_000, seed=4).sum(axis=2)
    exact = expected_mortgage_cash_flows(book, model).sum()
    mean, se = flows.mean(axis=0), flows.std(axis=0, ddof=1) / np.sqrt(len(flows))
    for line, j in L.items():
        assert abs(mean[j] - exact[line]) <= 4 * se[j] + 1e-6 * abs(exact[line]), line


def test_expected_loss_summary_matches_the_simulated_mean(model, book, result):
    from actuarial.simulation.exact import expected_loss

    e = expected_loss(book, model)
    x = result.losses["net_loss"]
    assert abs(x.mean() - e["net_loss"]) <= 4 * x.std() / np.sqrt(len(x))
    assert abs(result.losses["fees"].mean() - e["fees"]) <= 4 * result.losses["fees"].std() / np.sqrt(len(x)) + 1


@pytest.mark.parametrize("chunk, needle", [(0, "chunk_loans must be >= 1, got 0"),
                                           (1.5, "chunk_loans must be a whole number"),
                                           ("8", "chunk_loans must be a whole number")])
def test_exact_mortgage_chunk_must_be_a_positive_count(model, book, chunk, needle):
    with pytest.raises(ValueError, match=needle):
        expected_mortgage_cash_flows(book, model, chunk_loans=chunk)


def test_compare_with_exact_covers_every_mortgage_line(model, book, result):
    from actuarial.simulation.exact import compare_with_exact, expected_loss

    check = compare_with_exact(result.losses, expected_loss(book, model))
    assert set(check.index) == set(MORTGAGE_LINES) | {"fees", "net_loss"}
    assert check["difference_in_se"].abs().max() < 4
    # the lump sums and administration fees are all paid in month 0, the same in every scenario;
    # every other line varies
    assert check.loc[["fee_lump_sum", "administration_fee"], "difference_in_se"].eq(0.0).all()
    assert (check["standard_error"].drop(["fee_lump_sum", "administration_fee"]) > 0).all()


def test_mortgage_progress_must_be_true_false_or_none(model, book, capsys):
    with pytest.raises(ValueError, match="progress must be True, False or None, got 1"):
        simulate(book, model, 5, seed=1, progress=1)
    simulate(book, model, 5, seed=1, progress=True)
    assert "5/5" in capsys.readouterr().err


def test_refunds_are_paid_two_months_after_the_prepayment_and_the_horizon_cuts_them():
    """The disclosure: a refund takes about two months (概ね2ヵ月程度). A loan of age 1 that
    prepays in full in projection month t (months elapsed t + 2 in the disclosure's count) is
    refunded in month t + lag; past the horizon the refund is not counted."""
    base = dataclasses.replace(MortgageModel.from_params(BASE), annual_default_rate={"A": 0.0}, psj_plateau_cpr=0.99,
                               psj_ramp_months=1, partial_prepayment_smm=0.0, months=8)
    loan = _one_loan(age_months=1)
    curve = FeeCurve(principal_yen=30_000_000, term_years=30, fee_annual_rate=base.fee_annual_rate,
                     loan_annual_rate=base.schedule_loan_rate, discount_annual_rate=base.schedule_discount_rate)
    for lag in (0, 2, 5):
        m = dataclasses.replace(base, refund_lag_months=lag)
        flows = simulate(loan, m, 200, seed=2).cash_flows[:, L["refunds"]]
        seen = 0
        for s, t in zip(*np.nonzero(flows), strict=True):
            event = int(t) - lag
            assert event >= 1  # nothing is paid before its prepayment plus the lag
            expected = refund(unearned_fee=curve.unearned_yen(event + 2), months_elapsed=event + 2)
            assert abs(flows[s, t] - expected) <= 1
            seen += 1
        assert seen > 100
        exact = expected_mortgage_cash_flows(loan, m)["refunds"].to_numpy()
        no_lag = expected_mortgage_cash_flows(loan, dataclasses.replace(m, refund_lag_months=0))["refunds"].to_numpy()
        np.testing.assert_allclose(exact, np.concatenate([np.zeros(lag), no_lag[: len(no_lag) - lag]]), rtol=1e-12)
    cut = dataclasses.replace(base, refund_lag_months=2, months=2)  # every refund falls after month 2
    assert simulate(loan, cut, 50, seed=2).cash_flows[:, L["refunds"]].sum() == 0
    assert expected_mortgage_cash_flows(loan, cut)["refunds"].sum() == 0


def test_the_administration_fee_is_income_at_the_start_and_never_refunded(book, model):
    r = simulate(book, model, 50, seed=4)
    made_now = int((book["age_months"] == 0).sum())
    assert made_now > 0
    assert np.array_equal(r.cash_flows[:, L["administration_fee"], 0], np.full(50, 33_000 * made_now))
    assert r.cash_flows[:, L["administration_fee"], 1:].sum() == 0
    without = simulate(book, dataclasses.replace(model, administration_fee_yen=0), 50, seed=4)
    assert np.array_equal(r.cash_flows[:, L["refunds"]], without.cash_flows[:, L["refunds"]])
    assert np.allclose(r.losses["fees"] - without.losses["fees"], 33_000 * made_now)


@pytest.mark.parametrize("name, value", [("refund_lag_months", -1), ("refund_lag_months", 1.5),
                                         ("administration_fee_yen", -1), ("administration_fee_yen", "5")])
def test_refund_lag_and_administration_fee_must_be_whole_and_not_negative(model, name, value):
    with pytest.raises(ValueError, match=name):
        dataclasses.replace(model, **{name: value})


# -- partial prepayments: random events, each refunded by the full-prepayment rule ------------------
def _partial_model(transfer_fee_yen: int) -> MortgageModel:
    """One month in two a loan prepays half its balance in part (q = 0.25 / 0.5); no defaults,
    no full prepayments, refunds in the month of the event, three months."""
    return dataclasses.replace(MortgageModel.from_params(BASE), annual_default_rate={"A": 0.0}, psj_plateau_cpr=0.0,
                               partial_prepayment_smm=0.25, partial_prepayment_share=0.5, refund_lag_months=0,
                               months=3, transfer_fee_yen=transfer_fee_yen)


def _hand_partial_refund(m: MortgageModel, month: int, earlier: int) -> int:
    """A new 30-year loan of 30,000,000 yen prepaying half its balance in projection month
    ``month`` after ``earlier`` partial prepayments, from the wording of the fee disclosure: the
    unearned fee the prepayment removes (half of what is unearned on the balance left by the
    earlier ones), less the cancellation deduction of its band, truncated, less the transfer
    fee; nothing when what is kept is below the transfer fee."""
    curve = FeeCurve(principal_yen=30_000_000, term_years=30, fee_annual_rate=m.fee_annual_rate,
                     loan_annual_rate=m.schedule_loan_rate, discount_annual_rate=m.schedule_discount_rate)
    elapsed = month + 1  # the disclosure counts the loan month as month 1
    removed = math.floor(curve.unearned(elapsed) * 0.5 ** earlier * 0.5 + 1e-6)
    kept = math.floor(removed * (1 - 0.05) + 1e-6)  # within the first 12 months the deduction is 5%
    return kept - m.transfer_fee_yen if kept >= m.transfer_fee_yen else 0


def test_each_partial_prepayment_is_refunded_on_the_fee_it_removes():
    m = _partial_model(transfer_fee_yen=660)
    r = simulate(_one_loan(), m, 400, seed=6)
    refunds = r.cash_flows[:, L["refunds"], 1:]
    events = 0
    for s in range(400):
        earlier = 0
        for t in range(1, 4):  # every event refunds something at this transfer fee, so it shows
            if refunds[s, t - 1]:
                assert abs(refunds[s, t - 1] - _hand_partial_refund(m, t, earlier)) <= 1
                earlier += 1
        events += earlier
    assert abs(events / 1_200 - 0.5) <= 4 * math.sqrt(0.25 / 1_200)
    # the balance falls by half at each event: an installment loan pays its fee on what is left
    inst = simulate(_one_loan(fee_type="installment"), m, 50, seed=6).cash_flows[:, L["fee_installment"], 1:]
    bal = level_payment_balances(principal_yen=30_000_000, annual_interest_rate=0.012, term_months=360)
    ratios = inst / (bal[:3] * 0.002 / 12)
    assert np.allclose(ratios[:, 0], 1.0) and set(np.round(ratios[:, 2], 12)) <= {1.0, 0.5, 0.25}
    # the fee calculator's own partial prepayment removes the same fee, to the yen
    curve = FeeCurve(principal_yen=30_000_000, term_years=30, fee_annual_rate=m.fee_annual_rate,
                     loan_annual_rate=m.schedule_loan_rate, discount_annual_rate=m.schedule_discount_rate)
    change = curve.partial_prepayment(months_elapsed=2, prepaid_yen=round(curve.balances()[1] / 2), transfer_fee=660)
    assert abs(change.refund_yen - _hand_partial_refund(m, 1, 0)) <= 1


def test_a_partial_prepayment_whose_kept_fee_is_below_the_transfer_fee_refunds_nothing():
    """The transfer fee is three quarters of what the first event keeps: a first event refunds
    the rest, a second one (half the fee) nothing."""
    first = _hand_partial_refund(_partial_model(0), 1, 0)
    m = _partial_model(transfer_fee_yen=first * 3 // 4)
    assert _hand_partial_refund(m, 2, 1) == _hand_partial_refund(m, 3, 1) == _hand_partial_refund(m, 3, 2) == 0
    assert min(_hand_partial_refund(m, t, 0) for t in (1, 2, 3)) > 0
    r = simulate(_one_loan(), m, 400, seed=7)
    refunds = r.cash_flows[:, L["refunds"], 1:]
    assert ((refunds > 0).sum(axis=1) <= 1).all()  # only the first event of a loan refunds
    for s, t in zip(*np.nonzero(refunds), strict=True):
        assert abs(refunds[s, t] - _hand_partial_refund(m, int(t) + 1, 0)) <= 1
    # the exact expectation by hand: month t refunds only if the event is the loan's first, chance 0.5^t
    hand = [0.5 ** t * _hand_partial_refund(m, t, 0) for t in (1, 2, 3)]
    exact = expected_mortgage_cash_flows(_one_loan(), m)["refunds"].to_numpy()[1:]
    np.testing.assert_allclose(exact, hand, atol=1.0)
    mean, se = refunds.mean(axis=0), refunds.std(axis=0, ddof=1) / np.sqrt(400)
    assert np.all(np.abs(mean - exact) <= 4 * se)


@pytest.fixture(scope="module")
def partial_model(model):
    """Frequent partial prepayments of a fifth of the balance, with a transfer fee that leaves
    some of them nothing to refund."""
    return dataclasses.replace(model, partial_prepayment_smm=0.01, partial_prepayment_share=0.2,
                               transfer_fee_yen=30_000)


def test_partial_prepayment_book_monte_carlo_within_four_standard_errors_of_exact(partial_model, book):
    from actuarial.simulation.exact import compare_with_exact, expected_loss, expected_mortgage_cash_flows_by_loan

    r = simulate(book, partial_model, 20_000, seed=8)
    check = compare_with_exact(r.losses, expected_loss(book, partial_model))
    assert check["difference_in_se"].abs().max() < 4, check
    fast = expected_mortgage_cash_flows(book.head(12), partial_model, chunk_loans=5)
    slow = expected_mortgage_cash_flows_by_loan(book.head(12), partial_model)
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-12, atol=1e-6)
    # the transfer fee binds on some partial refunds: refunds fall by more than the fee a loan
    without = expected_loss(book, dataclasses.replace(partial_model, transfer_fee_yen=0))
    assert without["refunds"] > expected_loss(book, partial_model)["refunds"]


def test_partial_prepayments_keep_the_expected_balance():
    """E[(1 - s)^K] with K ~ Binomial(t - 1, smm / s) is (1 - smm)^(t - 1): the installment
    fees of a loan that never defaults or prepays in full do not depend on the event size."""
    base = dataclasses.replace(MortgageModel.from_params(BASE), annual_default_rate={"A": 0.0}, psj_plateau_cpr=0.0,
                               partial_prepayment_smm=0.02, months=24)
    loan = _one_loan(fee_type="installment")
    fees = [expected_mortgage_cash_flows(loan, dataclasses.replace(base, partial_prepayment_share=s))["fee_installment"]
            for s in (0.05, 0.5, 0.9)]
    bal = level_payment_balances(principal_yen=30_000_000, annual_interest_rate=0.012, term_months=360)
    hand = bal[:24] * 0.002 / 12 * 0.98 ** np.arange(24)
    for f in fees:
        np.testing.assert_allclose(f.to_numpy()[1:], hand, rtol=1e-12)


@pytest.mark.parametrize("over, needle", [
    ({"partial_prepayment_share": 0.0}, "partial_prepayment_share must be above 0 and below 1, got 0.0"),
    ({"partial_prepayment_share": 1.0}, "partial_prepayment_share must be above 0 and below 1, got 1.0"),
    ({"partial_prepayment_share": -0.1}, r"partial_prepayment_share must be a number in \[0, 1\], got -0.1"),
    ({"partial_prepayment_share": float("nan")}, r"partial_prepayment_share must be a number in \[0, 1\], got nan"),
    ({"partial_prepayment_share": "0.1"}, r"partial_prepayment_share must be a number in \[0, 1\], got '0.1'"),
    ({"partial_prepayment_smm": 0.1, "partial_prepayment_share": 0.1}, r"partial_prepayment_smm \(0.1\) must be below"),
])
def test_partial_prepayment_share_must_be_a_share_above_the_monthly_rate(model, over, needle):
    with pytest.raises(ValueError, match=needle):
        dataclasses.replace(model, **over)


@pytest.mark.parametrize("line, needle", [
    ("  partial_prepayment_share: 0.0 ", r"mortgage_model\.partial_prepayment_share = 0\.0"),
    ("  partial_prepayment_share: 1.2 ", r"mortgage_model\.partial_prepayment_share = 1\.2"),
    ("  partial_prepayment_share: .nan ", r"mortgage_model\.partial_prepayment_share = nan"),
    ("  partial_prepayment_share: 0.0005 ",
     r"partial_prepayment_smm \(0\.001\) must be below partial_prepayment_share"),
])
def test_partial_prepayment_share_in_params_is_checked_naming_the_key(tmp_path, line, needle):
    text = (ROOT / "params" / "base.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  partial_prepayment_share: 0.1 ", line), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"bad\.yaml: .*" + needle):
        load_params(bad)
