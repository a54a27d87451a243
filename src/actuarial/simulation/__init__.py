"""Monte Carlo engine: a portfolio in, loss and cash-flow arrays out.

:func:`simulate` (:mod:`.dispatch`) runs the rent-guarantee engine of :mod:`.rent` or the
mortgage-guarantee engine of :mod:`.mortgage`; both return a :class:`SimulationResult`
(:mod:`.result`). :mod:`.exact` computes both models' expected cash flows without simulation
(the oracles the tests hold them to).
"""

from .dispatch import simulate
from .mortgage import MORTGAGE_LINES, MortgageModel
from .rent import LINES, RentModel
from .result import SimulationResult

__all__ = ["LINES", "MORTGAGE_LINES", "MortgageModel", "RentModel", "SimulationResult", "simulate"]
