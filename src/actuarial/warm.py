"""``python -m actuarial.warm``: compile every numba kernel once, into numba's on-disk cache,
so that a user's first ``simulate`` or quarter close does not wait for the compiler. ``make``
runs it after installing."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def warm() -> float:
    """Run each engine once on a tiny book (rent, its claims walker, the mortgage engine, a
    quarter close of both books in force); returns the seconds it took."""
    from .params import load_params
    from .portfolio import synthetic_mortgage_book, synthetic_rent_book
    from .simulation import MortgageModel, RentModel, simulate
    from .valuation import synthetic_inforce_book, value_book
    from .valuation.synthetic import synthetic_inforce_mortgage_book

    start = time.perf_counter()
    scenario = load_params(Path(__file__).resolve().parents[2] / "params" / "base.yaml")
    rent, mortgage = RentModel.from_params(scenario), MortgageModel.from_params(scenario)
    simulate(synthetic_rent_book(50, seed=1), rent, 2, seed=1, claims=1)
    simulate(synthetic_mortgage_book(20, seed=1), mortgage, 2, seed=1)
    book, receivables = synthetic_inforce_book(200, rent, seed=1)
    value_book(book, rent, scenario.valuation.settings(), receivables=receivables,
               mortgage_book=synthetic_inforce_mortgage_book(200, mortgage, seed=1), mortgage_model=mortgage,
               n_scenarios=2, seed=1)
    return time.perf_counter() - start


def main() -> int:
    seconds = warm()
    print(f"numba kernels compiled and cached ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
