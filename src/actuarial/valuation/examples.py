"""The shipped example books of two quarter ends (:func:`write_example_quarters`): how
``params/books/2026-09-30/`` and the books of 31 December 2026 in ``params/books/`` were made,
so that anyone can make them again and check them byte for byte."""

from __future__ import annotations

from pathlib import Path

from ..params import load_params
from ..simulation.mortgage import MortgageModel
from ..simulation.rent import RentModel
from .synthetic import (
    INFORCE_CSV_COLUMNS,
    synthetic_inforce_book,
    synthetic_inforce_mortgage_book,
    synthetic_next_quarter,
)

#: What the example quarters are made of: 2,000 rent contracts and 2,000 mortgage loans on
#: 30 September 2026; a quarter of experience 20% worse than the hazards assumed; 120 new
#: rent contracts and 80 new loans by 31 December 2026.
EXAMPLE = {"contracts": 2_000, "loans": 2_000, "opening_seed": 20260930, "closing_seed": 20261201,
           "hazard_factor": 1.2, "new_contracts": 120, "new_loans": 80}


def write_example_quarters(params_dir, out_dir=None) -> list[Path]:
    """Write the two quarters' books (rent book in force, closed receivables, mortgage book)
    from ``params_dir``'s ``base.yaml`` model into ``out_dir`` (default ``params_dir/books``):
    ``2026-09-30/*.csv`` seasoned by the model, and ``*.csv`` three months on
    (:func:`~.synthetic.synthetic_next_quarter`). Returns the files written."""
    params_dir = Path(params_dir)
    out = Path(out_dir) if out_dir is not None else params_dir / "books"
    scenario = load_params(params_dir / "base.yaml")
    model, mortgage_model = RentModel.from_params(scenario), MortgageModel.from_params(scenario)
    e = EXAMPLE
    rent, receivables = synthetic_inforce_book(e["contracts"], model, e["opening_seed"])
    rent = rent[list(INFORCE_CSV_COLUMNS)]
    loans = synthetic_inforce_mortgage_book(e["loans"], mortgage_model, e["opening_seed"])
    later = synthetic_next_quarter(rent, receivables, model, e["closing_seed"], months=3,
                                   new_contracts=e["new_contracts"], hazard_factor=e["hazard_factor"],
                                   mortgage_book=loans, mortgage_model=mortgage_model, new_loans=e["new_loans"])
    written = []
    for folder, books in ((out / "2026-09-30", {"rent": rent, "receivables": receivables, "mortgage": loans}),
                          (out, later)):
        folder.mkdir(parents=True, exist_ok=True)
        for kind, name in (("rent", "inforce_rent_book.csv"), ("receivables", "closed_receivables.csv"),
                           ("mortgage", "inforce_mortgage_book.csv")):
            path = folder / name
            books[kind].to_csv(path, index=False, lineterminator="\n")
            written.append(path)
    return written
