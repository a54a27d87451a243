"""Experience studies: a status history checked (:mod:`.history`), exposure, actual against
expected, roll rates and vintage curves (:mod:`.study`), the collection chain fitted by
maximum likelihood and credibility (:mod:`.fit`), and a synthetic history (:mod:`.synthetic`)."""

from .fit import check_prior_weight, fit_chain, fitted_transitions, recovered, write_fitted_params
from .history import HISTORY_COLUMNS, HISTORY_STATUSES, MOVES, prepare_history, read_history, transitions
from .study import actual_vs_expected, expected_first_miss, exposure, move_probabilities, roll_rates, vintage_curves
from .synthetic import synthetic_history

__all__ = ["HISTORY_COLUMNS", "HISTORY_STATUSES", "MOVES", "actual_vs_expected", "check_prior_weight",
           "expected_first_miss", "exposure", "fit_chain", "fitted_transitions", "move_probabilities",
           "prepare_history", "read_history", "recovered", "roll_rates", "synthetic_history", "transitions",
           "vintage_curves", "write_fitted_params"]
