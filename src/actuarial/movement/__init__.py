"""The movement analysis: a bridge from last quarter's close to this one's
(:func:`movement`), each step the difference of two valuations."""

from .bridge import (
    ASSUMPTION_ORDER,
    Movement,
    bridge_figures,
    bridge_label,
    changed_values,
    movement,
    readable_bridge,
    summary_figures,
    to_yen,
)
from .inputs import (
    MovementError,
    Quarter,
    load_books,
    opening_params_path,
    quarter_from_params,
    quarter_from_run,
)

__all__ = ["ASSUMPTION_ORDER", "Movement", "MovementError", "Quarter", "bridge_figures", "bridge_label",
           "changed_values", "load_books", "movement", "opening_params_path", "quarter_from_params", "quarter_from_run",
           "readable_bridge", "summary_figures", "to_yen"]
