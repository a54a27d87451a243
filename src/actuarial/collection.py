"""The rent guarantor's collection process (督促・回収) as a monthly multi-state model, seed 000.

After a missed rent the case is in *dunning* (督促: phone, SMS, letters). Each month it may
stay, move on, or leave the process:

transient states (in order of escalation)
    ``dunning`` → ``emergency_contact`` (緊急連絡先・勤務先) → ``final_notice`` (内容証明郵便)
    → ``suit`` (明渡訴訟) → ``judgment`` → ``execution`` (強制執行の申立て: the forced-execution
    proceedings, which take months after the judgment); and ``installment`` (分割: a payment
    plan) which can break into ``broken_promise`` (dunning again, after which cures are rarer)
    and then ``final_notice_after_break``: the final notice of a tenant who broke a promise.
    Seed 000: a tenant who lied about the payment date loses the collector's trust and later
    negotiation gets hard (今後の交渉が厳しくなります), so this notice has its own, lower, cure and
    installment probabilities. With the default params a broken promise is remembered for
    the rest of the case: no path from it leads back to the states before it.
absorbing exits
    ``cure`` (pays in full), ``installment_paid``, ``settlement`` (voluntary move-out by
    agreement), ``judgment_exit`` (leaves after judgment), ``forced_execution`` (強制執行),
    ``skip`` (the tenant vanishes).

The monthly exit probabilities of each state come from params; what is left stays. The
exact answers below need no simulation and are the oracles the Monte Carlo is tested
against (DESIGN.md, "Validation oracles"):

- absorption probabilities ``B = (I - Q)^-1 R``;
- expected months to exit ``(I - Q)^-1 1``;
- state occupancy after ``t`` months ``pi_0 P^t``.

>>> chain = CollectionChain.from_transitions({"dunning": {"cure": 0.9, "skip": 0.1}})
>>> float(chain.absorption_probabilities().loc["dunning", "cure"])
0.9
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

TRANSIENT_STATES = ("dunning", "emergency_contact", "final_notice", "suit", "judgment", "installment",
                    "broken_promise", "execution", "final_notice_after_break")
ABSORBING_STATES = ("cure", "installment_paid", "settlement", "judgment_exit", "forced_execution", "skip")
STATES = TRANSIENT_STATES + ABSORBING_STATES
#: Exits after which the tenant has left the dwelling (the guarantee contract ends).
TENANCY_ENDING_EXITS = ("settlement", "judgment_exit", "forced_execution", "skip")
#: Moves whose probabilities the economy scales (:meth:`CollectionChain.stressed`).
GOOD_EXITS = ("cure", "installment", "installment_paid")

#: The MLIT survey of 1,000 delinquencies (DOMAIN.md §1; 120 managers, Dec 2017-Jan 2018):
#: event -> (cases per 1,000, months after the missed rent; None where not reported).
MLIT_FUNNEL = {
    "paid_in_full_within_a_month": (942.9, 1.0),
    "settlement": (8.5, 4.5),
    "suit_filed": (3.8, 4.0),
    "forced_execution": (0.8, 9.1),
    "judgment_exit": (0.7, 7.3),
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
                raise ValueError(f"transitions has unknown state {state!r}; transient states: {', '.join(TRANSIENT_STATES)}")
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
                    raise ValueError(f"transitions[{state!r}][{target!r}] must be a probability in [0, 1], got {prob!r}")
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
            stuck = [s for s, ok in zip(TRANSIENT_STATES, reach) if ok]
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
        """Probability of ever entering ``state`` from ``dunning`` and the mean month of the
        first entry given that it happens (first passage: ``state`` made absorbing)."""
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        j = STATES.index(state)
        if j >= len(TRANSIENT_STATES):
            b = self.absorption_probabilities().loc["dunning", state]
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
        rows = {}
        rows["paid_in_full_within_a_month"] = (1000 * self.occupancy(1).loc[1, "cure"], 1.0)
        for event, state in (("settlement", "settlement"), ("suit_filed", "suit"),
                             ("forced_execution", "forced_execution"), ("judgment_exit", "judgment_exit")):
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
        """The chain with the probabilities of the good exits (:data:`GOOD_EXITS`) multiplied by ``good_exit_multiplier``, the difference taken
        from or given to staying. A multiplier below 1 is a bad economy.
        """
        if isinstance(good_exit_multiplier, bool) or not isinstance(good_exit_multiplier, (int, float)) \
                or good_exit_multiplier < 0:
            raise ValueError(f"good_exit_multiplier must be >= 0, got {good_exit_multiplier!r}")
        p = self.matrix.copy()
        k = len(TRANSIENT_STATES)
        good = [j for j, s in enumerate(STATES) if s in GOOD_EXITS]  # in state order, as the rent kernel sums
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
