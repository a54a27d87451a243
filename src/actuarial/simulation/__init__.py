"""Monte Carlo engine: a portfolio in, loss and cash-flow arrays out.

:func:`simulate` runs the rent-guarantee model of :mod:`.rent`; :mod:`.exact` computes the
same model's expected cash flows without simulation (the oracle the tests hold it to).
"""

from .rent import LINES, RentModel, SimulationResult, simulate

__all__ = ["LINES", "RentModel", "SimulationResult", "simulate"]
