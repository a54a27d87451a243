"""The one entry point for both engines: :func:`simulate` runs a rent book on a
:class:`~.rent.RentModel` or a mortgage book on a :class:`~.mortgage.MortgageModel`. It lives
apart from both engines, so that neither imports the other."""

from __future__ import annotations

import pandas as pd

from .mortgage import MortgageModel, simulate_mortgage
from .rent import RentModel, simulate_rent
from .result import SimulationResult


def simulate(portfolio: pd.DataFrame, scenario: RentModel | MortgageModel, n_scenarios: int, seed: int, *,
             threads: int | None = None, progress: bool | None = None, backend: str = "local", client=None,
             scheduler: str | None = None, chunk_scenarios: int | None = None, claims: int = 0) -> SimulationResult:
    """Simulate ``n_scenarios`` scenarios of a rent-guarantee book (``scenario`` a
    :class:`~.rent.RentModel`, :func:`~.rent.simulate_rent`) or a mortgage-guarantee book (a
    :class:`~.mortgage.MortgageModel`, :func:`~.mortgage.simulate_mortgage`).

    Scenario ``s`` draws from ``SeedSequence(seed, spawn_key=(s,))``, so the result for a seed
    is the same for any ``threads``, any ``chunk_scenarios`` and either backend. ``threads``
    local threads run the scenarios; by default every core, or the ``ACTUARIAL_THREADS``
    environment variable (:func:`~.distributed.default_threads`). ``progress`` shows a tqdm
    bar; by default for runs of about a second and more on a terminal or in JupyterLab, and
    never in tests or batch reports (:func:`~.distributed.progress_bar`).

    ``backend="dask"`` runs chunks of ``chunk_scenarios`` scenarios (by default 250 for rent,
    50 for mortgage) on a Dask distributed cluster: pass an existing ``client`` or a
    ``scheduler`` address (``pip install .[dask]``).

    ``claims=K`` adds :attr:`SimulationResult.claims`: for the first ``K`` scenarios, one row
    per rent collection episode (:mod:`.rent.claims`) or per mortgage default
    (:func:`~.mortgage.default_claims`) within the horizon.
    """
    options = dict(threads=threads, progress=progress, backend=backend, client=client, scheduler=scheduler,
                   claims=claims)
    if chunk_scenarios is not None:
        options["chunk_scenarios"] = chunk_scenarios
    if isinstance(scenario, MortgageModel):
        return simulate_mortgage(portfolio, scenario, n_scenarios, seed, **options)
    if isinstance(scenario, RentModel):
        return simulate_rent(portfolio, scenario, n_scenarios, seed, **options)
    raise ValueError(f"scenario must be a RentModel or a MortgageModel, got {type(scenario).__name__}")
