"""Monte Carlo engine: a portfolio in, loss and cash-flow arrays out.

:func:`simulate` runs the rent-guarantee model of :mod:`.rent` or the mortgage-guarantee model
of :mod:`.mortgage`; :mod:`.exact` computes both models' expected cash flows without
simulation (the oracles the tests hold them to).
"""

from .mortgage import MORTGAGE_LINES, MortgageModel
from .rent import LINES, RentModel, SimulationResult, simulate

__all__ = ["LINES", "MORTGAGE_LINES", "MortgageModel", "RentModel", "SimulationResult", "simulate"]
