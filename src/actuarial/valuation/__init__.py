"""The quarter close: value the books in force on a valuation date (:func:`value_book`) and
hand finance its allowance, provision and unearned fees."""

from .figures import Valuation, value_book
from .receivables import RECEIVABLE_COLUMNS, check_inforce_book, receivable_recoveries, validate_receivables
from .settings import ValuationSettings
from .synthetic import synthetic_inforce_book

__all__ = ["RECEIVABLE_COLUMNS", "Valuation", "ValuationSettings", "check_inforce_book",
           "receivable_recoveries", "synthetic_inforce_book", "validate_receivables", "value_book"]
