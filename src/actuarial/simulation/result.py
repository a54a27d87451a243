"""What a simulation returns, for either engine: :class:`SimulationResult`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..risk import DEFAULT_LEVELS, metric_errors, metrics

#: The rent engine's lines and their signs (money in +, out -), the default of a result.
RENT_LINES = ("fees", "subrogation", "costs", "recoveries", "jhf_premium", "jhf_payout", "jhf_remittance")
RENT_SIGNS = np.array([1, -1, -1, 1, -1, 1, -1])


@dataclasses.dataclass
class SimulationResult:
    """What :func:`simulate` returns.

    ``cash_flows`` is ``S x L x (T+1)`` yen by scenario, line (``lines``, :data:`LINES` for
    the rent book) and month;
    ``losses`` one row per scenario: the factor ``z``, the number of contracts that became
    delinquent, each line's total and ``net_loss``; ``delinquencies_by_grade`` the counts by
    grade; ``insurer_payouts`` the JHF payouts per scenario; ``jhf_attachment`` (rent, when
    the JHF insurance contract amount is set) the insurance attached and the guarantees left
    uninsured by policy year, the same in every scenario
    (:func:`~actuarial.simulation.rent.jhf_attachment`); ``claims`` (with ``simulate(...,
    claims=K)``) one row per collection episode of the first ``K`` scenarios.
    """

    cash_flows: np.ndarray
    losses: pd.DataFrame
    seed: int
    delinquencies_by_grade: pd.DataFrame | None = None
    jhf_attachment: pd.DataFrame | None = None
    claims: pd.DataFrame | None = None
    lines: tuple = RENT_LINES
    signs: np.ndarray = dataclasses.field(default_factory=lambda: RENT_SIGNS.copy())

    @property
    def n_scenarios(self) -> int:
        """The number of scenarios simulated."""
        return len(self.losses)

    @property
    def insurer_payouts(self) -> np.ndarray:
        return self.losses["jhf_payout"].to_numpy()

    def net_cash_flow(self) -> np.ndarray:
        """``S x (T+1)``: the lines with their signs (money in +, out -); for the rent book
        fees - subrogation - costs + recoveries - premium + payout - remittance."""
        return np.einsum("slt,l->st", self.cash_flows, self.signs)

    def metrics(self, levels=DEFAULT_LEVELS) -> pd.Series:
        """EL, SD, VaR and TVaR of the net loss at each level, loss ratio and expected profit
        (:func:`actuarial.risk.metrics`)."""
        return metrics(self.losses["net_loss"].to_numpy(dtype=float), self.losses["fees"].to_numpy(dtype=float), levels)

    def metric_errors(self, levels=DEFAULT_LEVELS, confidence: float = 0.95) -> pd.DataFrame:
        """:meth:`metrics` with the Monte Carlo standard error and ``confidence`` interval of
        each (:func:`actuarial.risk.metric_errors`): how far the run's figures may be from
        those of unlimited scenarios. Needs at least 2 scenarios."""
        return metric_errors(self.losses["net_loss"].to_numpy(), self.losses["fees"].to_numpy(), levels, confidence)
