"""The rent guarantor's collection process (督促・回収) as a monthly multi-state model
(the Zenhoren collection article, docs/domain.md §1.1).

After a missed rent the case is in *dunning* (督促: phone, SMS, letters). Each month it may
stay, move on, or leave the process:

transient states (in order of escalation)
    ``dunning`` → ``emergency_contact`` (緊急連絡先・勤務先) → ``final_notice`` (内容証明郵便)
    → ``suit`` (明渡訴訟) → ``judgment`` → ``execution`` (強制執行の申立て: the forced-execution
    proceedings, which take months after the judgment); and ``installment`` (分割: a payment
    plan) which can break into ``broken_promise`` (dunning again, after which cures are rarer)
    and then ``final_notice_after_break``: the final notice of a tenant who broke a promise.
    The article: a tenant who lied about the payment date loses the collector's trust and later
    negotiation gets hard (今後の交渉が厳しくなります), so this notice has its own, lower, cure and
    installment probabilities. With the default params a broken promise is remembered for
    the rest of the case: no path from it leads back to the states before it.
absorbing exits
    ``cure`` (pays in full), ``installment_paid``, ``settlement`` (voluntary move-out by
    agreement), ``judgment_exit`` (leaves after judgment), ``forced_execution`` (強制執行),
    ``skip`` (the tenant vanishes).

The monthly exit probabilities of each state come from params; what is left stays. The
exact answers below need no simulation and are the oracles the Monte Carlo is tested
against (docs/model.md, "The oracles"):

- absorption probabilities ``B = (I - Q)^-1 R``;
- expected months to exit ``(I - Q)^-1 1``;
- state occupancy after ``t`` months ``pi_0 P^t``.

>>> chain = CollectionChain.from_transitions({"dunning": {"cure": 0.9, "skip": 0.1}})
>>> float(chain.absorption_probabilities().loc["dunning", "cure"])
0.9
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping

import numpy as np
import pandas as pd

# -- the states and their rules --------------------------------------------------------------------
# The one place where each collection state's role and cash-flow rule are named. The kernel, the
# plain-Python reference, the exact oracle, the numpy baseline and the calibration read them from
# here (:func:`state_codes` for the array engines), never by a state's name or position.

#: Roles. A transient state is a month in the process; an exit ends the episode: a payment exit
#: (the arrears are paid and the tenant pays rent again) or a tenancy-ending exit (the tenant
#: leaves; recoveries, and the JHF insured event, follow).
TRANSIENT, PAYMENT_EXIT, TENANCY_ENDING_EXIT = "transient", "payment_exit", "tenancy_ending_exit"
ROLES = (TRANSIENT, PAYMENT_EXIT, TENANCY_ENDING_EXIT)
#: What a month in a transient state does: subrogate the monthly total while the arrears are
#: below the plan's cover, or (a payment plan) repay ``installment_repayment_months`` totals.
SUBROGATES, REPAYS = "subrogates", "repays"
MONTH_RULES = (SUBROGATES, REPAYS)
#: The cost charged in the month a state is entered: the suit cost, or the execution, removal
#: and restoration costs (:meth:`actuarial.simulation.rent.RentModel.entry_costs_yen`).
SUIT_COST, EXECUTION_COST = "suit", "execution"
ENTRY_COSTS = (SUIT_COST, EXECUTION_COST)


@dataclasses.dataclass(frozen=True)
class StateRule:
    """What a collection state is and does: its ``role`` (:data:`ROLES`); for a transient
    state, what a ``month`` there does (:data:`MONTH_RULES`); the cost charged on entering
    it (:data:`ENTRY_COSTS`, or None); and whether the economy scales the probability of
    moving into it (``economy_scaled``: by ``exp(beta min(z, 0))``, the good-exit
    multiplier)."""

    role: str
    month: str | None = None
    entry_cost: str | None = None
    economy_scaled: bool = False


#: Every state in order: the transient states first (``dunning``, where a missed rent starts,
#: first of all), then the exits.
STATE_RULES = {
    "dunning": StateRule(TRANSIENT, SUBROGATES),
    "emergency_contact": StateRule(TRANSIENT, SUBROGATES),
    "final_notice": StateRule(TRANSIENT, SUBROGATES),
    "suit": StateRule(TRANSIENT, SUBROGATES, entry_cost=SUIT_COST),
    "judgment": StateRule(TRANSIENT, SUBROGATES),
    "installment": StateRule(TRANSIENT, REPAYS, economy_scaled=True),
    "broken_promise": StateRule(TRANSIENT, SUBROGATES),
    "execution": StateRule(TRANSIENT, SUBROGATES),
    "final_notice_after_break": StateRule(TRANSIENT, SUBROGATES),
    "cure": StateRule(PAYMENT_EXIT, economy_scaled=True),
    "installment_paid": StateRule(PAYMENT_EXIT, economy_scaled=True),
    "settlement": StateRule(TENANCY_ENDING_EXIT),
    "judgment_exit": StateRule(TENANCY_ENDING_EXIT),
    "forced_execution": StateRule(TENANCY_ENDING_EXIT, entry_cost=EXECUTION_COST),
    "skip": StateRule(TENANCY_ENDING_EXIT),
}


def _named(test) -> tuple:
    return tuple(name for name, rule in STATE_RULES.items() if test(rule))


STATES = tuple(STATE_RULES)
TRANSIENT_STATES = _named(lambda r: r.role == TRANSIENT)
ABSORBING_STATES = _named(lambda r: r.role != TRANSIENT)
#: The state a missed rent starts in.
FIRST_STATE = STATES[0]
#: Exits in which the arrears are paid and the tenancy goes on (a cure, a completed plan).
PAYMENT_EXITS = _named(lambda r: r.role == PAYMENT_EXIT)
#: Exits after which the tenant has left the dwelling (the guarantee contract ends).
TENANCY_ENDING_EXITS = _named(lambda r: r.role == TENANCY_ENDING_EXIT)
#: States whose months repay as a payment plan (分割) instead of subrogating.
PLAN_STATES = _named(lambda r: r.month == REPAYS)
#: States that cost the suit cost on entry (the suit filed: MLIT's "suit filed" event).
SUIT_STATES = _named(lambda r: r.entry_cost == SUIT_COST)
#: Exits that cost the execution, removal and restoration costs.
EXECUTION_STATES = _named(lambda r: r.entry_cost == EXECUTION_COST)
#: Moves whose probabilities the economy scales (:meth:`CollectionChain.stressed`).
ECONOMY_SCALED_MOVES = _named(lambda r: r.economy_scaled)

#: Role codes in :func:`state_codes` (the index into :data:`ROLES`), and entry-cost codes
#: (0 none, then 1 + the index into :data:`ENTRY_COSTS`).
ROLE_TRANSIENT, ROLE_PAYMENT_EXIT, ROLE_TENANCY_ENDING_EXIT = range(len(ROLES))
NO_COST, COST_SUIT, COST_EXECUTION = range(1 + len(ENTRY_COSTS))


class StateCodes(typing.NamedTuple):
    """:data:`STATE_RULES` as arrays over :data:`STATES` (index ``j``), what the array
    engines read: ``role[j]`` (``ROLE_*``), ``repays[j]`` (a month of a plan), ``entry_cost[j]``
    (``NO_COST``, ``COST_SUIT``, ``COST_EXECUTION``), ``economy_scaled[j]``."""

    role: np.ndarray
    repays: np.ndarray
    entry_cost: np.ndarray
    economy_scaled: np.ndarray


def check_state_rules(rules: Mapping | None = None) -> None:
    """Raise ``ValueError`` unless ``rules`` (:data:`STATE_RULES` by default) hold what every
    engine relies on: each state has a known role, a transient state a known month rule and
    an exit none, a known entry cost; the first state (where a missed rent starts) is
    transient; the transient states come before the exits (the engines test ``j < K``)."""
    rules = STATE_RULES if rules is None else rules
    names = list(rules)
    for name, rule in rules.items():
        if rule.role not in ROLES:
            raise ValueError(f"collection state {name!r} has role {rule.role!r}, which the engines do not handle; "
                             f"roles: {', '.join(ROLES)}")
        if (rule.role == TRANSIENT) != (rule.month is not None) or rule.month not in (*MONTH_RULES, None):
            raise ValueError(f"collection state {name!r}: a transient state needs a month rule "
                             f"({', '.join(MONTH_RULES)}) and an exit none, got {rule.month!r}")
        if rule.entry_cost not in (*ENTRY_COSTS, None):
            raise ValueError(f"collection state {name!r} has entry cost {rule.entry_cost!r}, which the engines do not "
                             f"handle; entry costs: {', '.join(ENTRY_COSTS)}")
    if not names or rules[names[0]].role != TRANSIENT:
        raise ValueError("the first collection state (where a missed rent starts) must be transient")
    roles = [rules[n].role == TRANSIENT for n in names]
    if roles != sorted(roles, reverse=True):
        raise ValueError("the transient collection states must come before the exits")


def state_codes() -> StateCodes:
    """:data:`STATE_RULES` as :class:`StateCodes`, checked (:func:`check_state_rules`): every
    engine takes the states' roles and rules from here when it runs.

    >>> c = state_codes()
    >>> [STATES[j] for j in np.flatnonzero(c.role == ROLE_PAYMENT_EXIT)]
    ['cure', 'installment_paid']
    """
    check_state_rules()
    rules = list(STATE_RULES.values())
    return StateCodes(
        role=np.array([ROLES.index(r.role) for r in rules], dtype=np.int64),
        repays=np.array([r.month == REPAYS for r in rules], dtype=np.bool_),
        entry_cost=np.array([0 if r.entry_cost is None else 1 + ENTRY_COSTS.index(r.entry_cost) for r in rules],
                            dtype=np.int64),
        economy_scaled=np.array([r.economy_scaled for r in rules], dtype=np.bool_),
    )


#: The MLIT survey of 1,000 delinquencies (docs/domain.md §1.3; 120 managers, Dec 2017-Jan 2018):
#: event -> (cases per 1,000, months after the missed rent; None where not reported).
MLIT_FUNNEL = {
    "paid_in_full_within_a_month": (942.9, 1.0),
    "settlement": (8.5, 4.5),
    "suit_filed": (3.8, 4.0),
    "forced_execution": (0.8, 9.1),
    "judgment_exit": (0.7, 7.3),
}
#: The state each MLIT event is read from: the first entry into it (its probability and mean
#: month), except ``paid_in_full_within_a_month``, the occupancy of its state one month after
#: the missed rent.
MLIT_EVENT_STATES = {
    "paid_in_full_within_a_month": "cure",
    "settlement": "settlement",
    "suit_filed": "suit",
    "forced_execution": "forced_execution",
    "judgment_exit": "judgment_exit",
}


@dataclasses.dataclass(frozen=True)
class CollectionChain:
    """A monthly Markov chain over :data:`STATES`.

    ``matrix[i, j]`` is the probability of moving from state ``i`` to state ``j`` in one
    month; absorbing rows are identity rows. Build it with :meth:`from_transitions`.
    """

    matrix: np.ndarray

    @classmethod
    def from_transitions(cls, transitions: Mapping[str, Mapping[str, float]]) -> CollectionChain:
        """Build the chain from ``{state: {next_state: monthly probability}}``.

        States not listed stay where they are; in each row the probability of staying is
        ``1 - sum(listed)``. Every transient state that can be reached must be able to exit.
        """
        if not isinstance(transitions, Mapping):
            raise ValueError(f"transitions must map state -> {{next_state: probability}}, got {transitions!r}")
        n = len(STATES)
        p = np.eye(n)
        for state, row in transitions.items():
            if state not in TRANSIENT_STATES:
                raise ValueError(f"transitions has unknown state {state!r}; "
                                 f"transient states: {', '.join(TRANSIENT_STATES)}")
            if not isinstance(row, Mapping):
                raise ValueError(f"transitions[{state!r}] must map next_state -> probability, got {row!r}")
            i = STATES.index(state)
            total = 0.0
            for target, prob in row.items():
                if target not in STATES:
                    raise ValueError(f"transitions[{state!r}] has unknown next state {target!r}")
                if target == state:
                    raise ValueError(f"transitions[{state!r}] lists itself; staying is what is left over")
                if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0 <= prob <= 1:
                    raise ValueError(f"transitions[{state!r}][{target!r}] must be a probability in [0, 1], "
                                     f"got {prob!r}")
                p[i, STATES.index(target)] = prob
                total += prob
            if total > 1 + 1e-12:
                raise ValueError(f"transitions[{state!r}] sum to {total:.6f} > 1")
            p[i, i] = max(1.0 - total, 0.0)
        chain = cls(p)
        chain._check_exits()
        return chain

    # -- structure -----------------------------------------------------------------------------
    @property
    def q(self) -> np.ndarray:
        """Transient-to-transient block ``Q``."""
        k = len(TRANSIENT_STATES)
        return self.matrix[:k, :k]

    @property
    def r(self) -> np.ndarray:
        """Transient-to-absorbing block ``R``."""
        k = len(TRANSIENT_STATES)
        return self.matrix[:k, k:]

    def _reachable(self) -> np.ndarray:
        k = len(TRANSIENT_STATES)
        seen = np.zeros(k, dtype=bool)
        seen[0] = True
        frontier = [0]
        while frontier:
            i = frontier.pop()
            for j in np.flatnonzero(self.q[i] > 0):
                if not seen[j]:
                    seen[j] = True
                    frontier.append(j)
        return seen

    def _check_exits(self) -> None:
        reach = self._reachable()
        sub = self.q[np.ix_(reach, reach)]
        if np.linalg.matrix_rank(np.eye(len(sub)) - sub) < len(sub):
            stuck = [s for s, ok in zip(TRANSIENT_STATES, reach, strict=True) if ok]
            raise ValueError(f"transitions leave no way out of some of {', '.join(stuck)}: every state needs an exit")

    def _fundamental(self) -> np.ndarray:
        reach = self._reachable()
        n = np.zeros_like(self.q)
        sub = self.q[np.ix_(reach, reach)]
        n[np.ix_(reach, reach)] = np.linalg.inv(np.eye(len(sub)) - sub)
        return n

    # -- exact answers -------------------------------------------------------------------------
    def absorption_probabilities(self) -> pd.DataFrame:
        """``B = (I - Q)^-1 R``: from each transient state, the probability of each exit.

        Rows of unreachable states are zero.
        """
        return pd.DataFrame(self._fundamental() @ self.r, index=list(TRANSIENT_STATES), columns=list(ABSORBING_STATES))

    def expected_months_to_exit(self) -> pd.Series:
        """``(I - Q)^-1 1``: expected months spent in the process from each transient state,
        counting the month of the missed rent as month 1."""
        return pd.Series(self._fundamental().sum(axis=1), index=list(TRANSIENT_STATES))

    def occupancy(self, months: int) -> pd.DataFrame:
        """``pi_0 P^t`` for ``t = 0..months``, starting in ``dunning``: the probability of
        being in each state (exits cumulate) ``t`` months after the missed rent."""
        if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 0:
            raise ValueError(f"months must be a whole number >= 0, got {months!r}")
        out = np.empty((months + 1, len(STATES)))
        pi = np.zeros(len(STATES))
        pi[0] = 1.0
        for t in range(months + 1):
            out[t] = pi
            pi = pi @ self.matrix
        return pd.DataFrame(out, columns=list(STATES)).rename_axis("month")

    def exit_month_distribution(self, months: int) -> pd.DataFrame:
        """Probability of leaving into each exit in month ``t`` (``t = 1..months``)."""
        occ = self.occupancy(months)[list(ABSORBING_STATES)].to_numpy()
        return pd.DataFrame(np.diff(occ, axis=0), index=pd.RangeIndex(1, months + 1, name="month"),
                            columns=list(ABSORBING_STATES))

    def mean_exit_month(self) -> pd.Series:
        """For each exit, the expected month of leaving given that exit (month of missed rent = 1).

        Defined as ``sum_t t P(exit a at t) / P(exit a)`` = ``(pi_0 N^2 R)_a / (pi_0 N R)_a``.
        """
        n = self._fundamental()
        b = n[0] @ self.r
        t = (n[0] @ n) @ self.r
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.Series(np.where(b > 0, t / b, np.nan), index=list(ABSORBING_STATES))

    def first_entry(self, state: str) -> tuple[float, float]:
        """Probability of ever entering ``state`` from :data:`FIRST_STATE` and the mean month of the
        first entry given that it happens (first passage: ``state`` made absorbing)."""
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        j = STATES.index(state)
        if j >= len(TRANSIENT_STATES):
            b = self.absorption_probabilities().loc[FIRST_STATE, state]
            return float(b), float(self.mean_exit_month()[state])
        reach = self._reachable()
        keep = [i for i in range(len(TRANSIENT_STATES)) if i != j and reach[i]]
        q = self.matrix[np.ix_(keep, keep)]
        n = np.linalg.inv(np.eye(len(keep)) - q)
        r = self.matrix[keep, j]
        prob = float(n[0] @ r)
        return prob, float((n[0] @ n) @ r / prob) if prob > 0 else float("nan")

    def funnel(self) -> pd.DataFrame:
        """The model's funnel per 1,000 delinquencies next to :data:`MLIT_FUNNEL`.

        Columns: ``model_per_1000``, ``mlit_per_1000``, ``model_months``, ``mlit_months``
        (months after the missed rent; the mean given the event).
        """
        paid, *events = MLIT_EVENT_STATES.items()
        rows = {paid[0]: (1000 * self.occupancy(1).loc[1, paid[1]], 1.0)}
        for event, state in events:
            prob, months = self.first_entry(state)
            rows[event] = (1000 * prob, months)
        out = pd.DataFrame({
            "model_per_1000": [rows[e][0] for e in MLIT_FUNNEL],
            "mlit_per_1000": [MLIT_FUNNEL[e][0] for e in MLIT_FUNNEL],
            "model_months": [rows[e][1] for e in MLIT_FUNNEL],
            "mlit_months": [MLIT_FUNNEL[e][1] for e in MLIT_FUNNEL],
        }, index=pd.Index(list(MLIT_FUNNEL), name="event"))
        return out

    # -- stress ---------------------------------------------------------------------------------
    def stressed(self, good_exit_multiplier: float) -> CollectionChain:
        """The chain with the probabilities of the moves into :data:`ECONOMY_SCALED_MOVES`
        multiplied by ``good_exit_multiplier``, the difference taken from or given to staying.
        A multiplier below 1 is a bad economy.
        """
        if isinstance(good_exit_multiplier, bool) or not isinstance(good_exit_multiplier, (int, float)) \
                or good_exit_multiplier < 0:
            raise ValueError(f"good_exit_multiplier must be >= 0, got {good_exit_multiplier!r}")
        p = self.matrix.copy()
        k = len(TRANSIENT_STATES)
        good = np.flatnonzero(state_codes().economy_scaled)  # in state order, as the rent kernel sums
        for i in range(k):
            old = p[i, good].sum()
            p[i, good] *= good_exit_multiplier
            p[i, i] += old - p[i, good].sum()
            if p[i, i] < 0:
                raise ValueError(f"good_exit_multiplier={good_exit_multiplier} makes state {STATES[i]!r} "
                                 f"exit with probability above 1")
        return CollectionChain(p)

    # -- Monte Carlo ------------------------------------------------------------------------------
    def sample_paths(self, n_paths: int, months: int, rng: np.random.Generator) -> np.ndarray:
        """Simulate ``n_paths`` cases for ``months`` months, month by month (plain numpy).

        Returns an ``int8`` array ``n_paths x (months + 1)`` of state indices into
        :data:`STATES`; column 0 is ``dunning``. Absorbing states repeat once reached.
        """
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        cum = np.cumsum(self.matrix, axis=1)
        cum[:, -1] = 1.0
        paths = np.zeros((n_paths, months + 1), dtype=np.int8)
        state = np.zeros(n_paths, dtype=np.int64)
        for t in range(1, months + 1):
            u = rng.random(n_paths)
            rows = cum[state]
            state = (u[:, None] >= rows).sum(axis=1)
            paths[:, t] = state
        return paths
