"""Books moved forward month by month by a model's own dynamics: the month's rule shared by
the seasoned synthetic books (:mod:`.synthetic`) and the roll-forward of a book in force
(:func:`roll_forward_rent`, :func:`roll_forward_mortgage`), which the movement analysis
uses for what the opening book was expected to become.

The rent month (:func:`rent_month`), for the contracts alive that month:

1. a performing tenant (not paid up by a cure that month) misses a rent with the grade's
   monthly hazard, or else moves out with ``moveout_hazard`` (leaving the book);
2. a missed rent starts the collection chain in dunning, with a fresh draw for its move;
3. a contract in collection repays ``installment_repayment_months`` in a plan's month, or
   else is subrogated one more month (up to the plan's cover);
4. then, where allowed, it makes the chain's move: a payment exit cures it (performing from
   the next month), a tenancy-ending exit ends it (in the next month), else it stays in
   collection in its new state.

A book on a valuation date holds each contract in the state of that month, its subrogation
counted and its move still to come; so moving it forward ``n`` months is the move of the
valuation month, then ``n`` months of steps 1-4, the last without its move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..collection import PAYMENT_EXIT, REPAYS, STATE_RULES, STATES, TRANSIENT_STATES
from ..simulation.mortgage import MortgageModel, prepare_mortgage_book
from ..simulation.rent import RentModel
from ..simulation.rent.inforce import prepare_inforce, state_of

#: Closed receivables older than this many months since the exit are written off and leave
#: the file, in the synthetic books and in a roll-forward.
WRITE_OFF_MONTHS = 36


def rent_rules(model: RentModel) -> dict:
    """The arrays :func:`rent_month` reads: the chain's cumulative moves out of each
    transient state at the central economy (the chain as calibrated), which states repay (a
    plan's month) and which exits pay (a cure)."""
    K = len(TRANSIENT_STATES)
    cumulative = np.cumsum(model.chain.stressed(model.good_exit_multiplier(0.0)).matrix[:K], axis=1)
    cumulative[:, -1] = 1.0
    return {"cumulative": cumulative, "repays": np.array([STATE_RULES[s].month == REPAYS for s in STATES]),
            "paying_exit": np.array([STATE_RULES[s].role == PAYMENT_EXIT for s in STATES]),
            "moveout": model.moveout_hazard, "installment": model.installment_repayment_months}


def rent_month(rng, rules: dict, live, moves_allowed, events: bool, hazard, cap, state, k, gone, cure_month,
               exit_month, month: int) -> None:
    """One month (module docstring) for the contracts ``live``, in place: ``state`` -1
    performing or a :data:`~actuarial.collection.STATES` code, ``k`` months owed, ``gone``
    left the book, ``cure_month`` paid up this month, ``exit_month`` the month a
    tenancy-ending exit happens (``month + 1``). ``events`` False: only the move. One uniform a
    contract, then one for each new dunning, from ``rng``."""
    K = len(TRANSIENT_STATES)
    u = rng.random(len(state))
    if events:
        performing = live & (state < 0) & ~cure_month
        cure_month[:] = False
        missed = performing & (u < hazard)
        left = performing & ~missed & (u < hazard + (1 - hazard) * rules["moveout"])
        gone |= left
        state[missed] = 0
        u[missed] = rng.random(int(missed.sum()))  # the month's draw in dunning
    collecting = live & (state >= 0)
    if events:
        plan = collecting & rules["repays"][np.maximum(state, 0)]
        k[plan] -= np.minimum(k[plan], rules["installment"])
        sub = collecting & ~plan & (k < cap)
        k[sub] += 1
    moves = collecting & moves_allowed
    idx = np.flatnonzero(moves)
    state[idx] = (u[idx, None] >= rules["cumulative"][state[idx]]).sum(axis=1)
    cured = moves & (state >= K) & rules["paying_exit"][np.maximum(state, 0)]
    state[cured], k[cured] = -1, 0
    cure_month |= cured  # the cure is next month's; the earliest next missed rent the month after
    ended = moves & (state >= K)
    gone |= ended
    exit_month[ended] = month + 1  # the move drawn this month happens next month


def closed_from_exits(model: RentModel, keep, k, total, covered, since, state, insured, rent_at_start,
                      ids) -> pd.DataFrame:
    """Closed receivables of the contracts ``keep`` whose tenancy ended ``since`` months ago
    owing ``k`` months of ``total``: the balance less the after-exit recovery once it has come
    (``recovery_delay_months`` after the exit, at the central economy), the exit, and the JHF
    payout an insured contract received the month after the exit. Balances of 0 are left out."""
    balance = k * total
    recovered = np.where(since >= model.recovery_delay_months, model.recovery_after_exit(balance, 0.0), 0)
    insured = insured & (since >= 1)
    payout = np.where(insured, model.jhf.payout(subrogated_rent=k * covered, rent_at_start=rent_at_start), 0)
    out = pd.DataFrame({"receivable_id": np.asarray(ids, dtype=object)[keep],
                        "balance_yen": (balance - recovered)[keep], "months_since_exit": since[keep],
                        "exit_kind": np.array(STATES, dtype=object)[state[keep]],
                        "insured": insured[keep] & (payout[keep] > 0), "jhf_payout_received_yen": payout[keep]})
    return out[out["balance_yen"] > 0].reset_index(drop=True)


def _check_months(months) -> None:
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or not 1 <= months <= 120:
        raise ValueError(f"months must be a whole number of months from 1 to 120, got {months!r}")


def roll_forward_rent(book: pd.DataFrame, receivables: pd.DataFrame | None, model: RentModel, months: int,
                      seed: int, *, write_off_months: int = WRITE_OFF_MONTHS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(book, receivables)`` ``months`` months on: one draw of what the rent book in force
    and its closed receivables become by the model's monthly rule (module docstring), with
    each grade's ``delinquency_hazard`` (the mean of its economy-dependent hazard) and the
    chain as calibrated, and no new business.

    - A contract still in force keeps its columns, ``start_month`` less ``months``, its new
      status, months owed and arrears (months owed times the monthly total).
    - A contract whose tenancy ended owing rent becomes a closed receivable
      (``receivable_id`` ``R-`` and its contract id), as :func:`closed_from_exits` says.
    - A closed receivable ages ``months``; one that reaches ``recovery_delay_months`` since
      its exit in the period recovers the after-exit recovery (central economy); one older
      than ``write_off_months`` is written off.

    Draws come from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(7,)))``."""
    _check_months(months)
    inforce = prepare_inforce(book, model, what="rent book")
    full = inforce.full
    total, cap, covered = (np.empty_like(a) for a in (full.total, full.cap, full.jhf_covered))
    total[full.position], cap[full.position], covered[full.position] = full.total, full.cap, full.jhf_covered
    n = len(book)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    rules = rent_rules(model)
    hazard = book["grade"].map(model.delinquency_hazard).to_numpy(float)
    state = state_of(book).astype(np.int64)
    k = book["months_subrogated"].to_numpy(np.int64).copy() if "months_subrogated" in book.columns \
        else np.zeros(n, np.int64)
    gone, cure = np.zeros(n, bool), np.zeros(n, bool)
    exit_month = np.zeros(n, np.int64)
    everyone = np.ones(n, bool)
    for month in range(months + 1):  # month 0: the valuation month's move; months 1..n: their events
        rent_month(rng, rules, ~gone, everyone if month < months else ~everyone, month > 0, hazard, cap, state, k,
                   gone, cure, exit_month, month)
    K = len(TRANSIENT_STATES)
    ended = gone & (state >= K)
    since = months - exit_month
    rent_at_start = (book["rent_yen"] + book["management_fee_yen"] + book["common_fee_yen"]).to_numpy(np.int64)
    ids = "R-" + book["contract_id"].astype(str).to_numpy(object)
    new = closed_from_exits(model, ended & (k > 0) & (since <= write_off_months), k, total, covered, since,
                            np.maximum(state, 0), book["insured"].to_numpy(bool), rent_at_start, ids)
    old = _age_receivables(receivables, model, months, write_off_months)
    if old.empty:  # no receivables at the opening: the new ones keep their column types
        return rolled_book(book, state, k, total, gone, months), new

    return rolled_book(book, state, k, total, gone, months), pd.concat([old, new], ignore_index=True)


def rolled_book(book, state, k, total, gone, months: int) -> pd.DataFrame:
    """The contracts still in force, aged ``months``, with their new status and months owed."""
    collecting = (state >= 0) & (state < len(TRANSIENT_STATES))
    rolled = book.assign(start_month=book["start_month"].to_numpy(np.int64) - months,
                         status=np.where(collecting, np.array(STATES, dtype=object)[np.maximum(state, 0)],
                                         "performing"),
                         months_subrogated=np.where(collecting, k, 0), arrears_yen=np.where(collecting, k * total, 0))
    return rolled[~gone].reset_index(drop=True)


def _age_receivables(receivables, model: RentModel, months: int, write_off_months: int) -> pd.DataFrame:
    if receivables is None or receivables.empty:
        return pd.DataFrame(columns=["receivable_id", "balance_yen", "months_since_exit", "exit_kind", "insured",
                                     "jhf_payout_received_yen"])
    out = receivables.copy()
    before = out["months_since_exit"].to_numpy(np.int64)
    after = before + months
    balance = out["balance_yen"].to_numpy(np.int64)
    crossing = (before < model.recovery_delay_months) & (after >= model.recovery_delay_months)
    out["balance_yen"] = np.where(crossing, balance - model.recovery_after_exit(balance, 0.0), balance)
    out["months_since_exit"] = after
    return out[(after <= write_off_months) & (out["balance_yen"] > 0)].reset_index(drop=True)


def roll_forward_mortgage(book: pd.DataFrame, model: MortgageModel, months: int, seed: int) -> pd.DataFrame:
    """The mortgage book in force ``months`` months on: one draw by the model's monthly rule
    at its mean default hazard ``h = 1 - (1 - annual PD)^(1/12)``, with no new loans.

    Every loan ages a month a month. In a month, a performing loan misses a payment with
    chance ``e = h / (1 - c)^(K - 1)`` (delinquent, 1 month), ``c`` the cure rate and ``K``
    the missed payments at which the bank calls the loan, so that loans are subrogated at
    the rate ``h`` the model's defaults are (the steady state of
    :func:`~.synthetic.synthetic_inforce_mortgage_book`); or else prepays in full with the PSJ hazard of
    its age (leaving the book); a delinquent loan cures with ``delinquent_monthly_cure_rate``
    (performing), or else misses one more payment, and at
    ``subrogation_after_months_delinquent`` missed payments is subrogated for its balance when
    its payments stopped; a subrogated loan's collateral sells ``recovery_delay_months``
    after the subrogation (leaving the book); a loan at its term matures and leaves. Partial
    prepayments are not drawn: a loan's balance follows its schedule. Draws come from
    ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(8,)))``, one uniform a loan a
    month."""
    _check_months(months)
    laid = prepare_mortgage_book(book, model, what="mortgage book")
    n = len(book)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(8,)))
    c, K, delay = model.delinquent_monthly_cure_rate, model.subrogation_after_months_delinquent, \
        model.recovery_delay_months
    d = (1 - (1 - laid.annual_pd[laid.grade]) ** (1 / 12)) / (1 - c) ** (K - 1)  # into arrears: see the docstring
    st = laid.status
    status = np.zeros(n, np.int64)  # 0 performing, 1 delinquent, 2 subrogated
    status[st.delinquent], status[st.subrogated] = 1, 2
    owed = np.zeros(n, np.int64)
    owed[st.delinquent] = st.months_delinquent
    since = np.zeros(n, np.int64)
    since[st.subrogated] = book["months_since_subrogation"].to_numpy(np.int64)[st.subrogated]
    receivable = np.zeros(n, np.int64)
    receivable[st.subrogated] = st.receivable
    age = laid.age.astype(np.int64).copy()
    term = book["term_months"].to_numpy(np.int64)
    gone = np.zeros(n, bool)
    for _ in range(months):
        u = rng.random(n)
        perf, late, sub = ~gone & (status == 0), ~gone & (status == 1), ~gone & (status == 2)
        p = model.prepayment_hazard(age + 1)
        default = perf & (u < d)
        gone |= perf & ~default & (u < d + (1 - d) * p)
        status[default], owed[default] = 1, 1
        cured = late & (u < c)
        status[cured], owed[cured] = 0, 0
        worse = late & ~cured
        owed[worse] += 1
        called = worse & (owed >= K)
        stopped = age + 1 - K  # payments made before the balance the bank calls
        receivable[called] = np.floor(laid.principal[called] * laid.shapes[laid.product[called],
                                      np.maximum(stopped[called], 0)] + 1e-6).astype(np.int64)
        status[called], owed[called], since[called] = 2, 0, -1
        since[sub | called] += 1
        gone |= sub & (since >= delay)
        age += 1
        gone |= (status == 0) & (age >= term)
    return book.assign(status=np.array(["performing", "delinquent", "subrogated"], dtype=object)[status],
                       months_delinquent=np.where(status == 1, owed, 0),
                       receivable_yen=np.where(status == 2, receivable, 0),
                       months_since_subrogation=np.where(status == 2, since, 0),
                       age_months=age)[~gone].reset_index(drop=True)
