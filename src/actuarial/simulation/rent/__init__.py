"""The rent-guarantee engine: a book and a :class:`RentModel` in, scenarios of cash flows out.

Per scenario ``s`` (its own ``numpy.random.Generator``, keyed by ``(seed, s)``, so results do
not depend on how scenarios are split over threads or chunks):

1. an economic factor ``z ~ N(0, 1)``; each grade's monthly delinquency hazard becomes
   ``h(z) = Phi((Phi^-1(h) - sqrt(rho) z) / sqrt(1 - rho))`` (Vasicek), and the collection
   chain's good exits are scaled by ``exp(beta min(z, 0))`` (bad economies cure less);
2. a contract's first missed rent falls in month ``t`` with probability
   ``q^(t-1) h(z)``, ``q = (1 - h(z))(1 - mu)``, ``mu`` the move-out hazard: one uniform
   per contract decides whether it falls within the horizon and when (:func:`gap_tables`);
   only the contracts that miss a rent go further;
3. each of them follows the collection chain month by month from ``dunning``. While in a
   transient state other than ``installment`` the guarantor subrogates the monthly total
   while the arrears are below the plan's coverage months. Each month of an installment
   plan (分割) repays ``installment_repayment_months`` monthly totals of the arrears (fewer if
   less is owed; 0: none until the plan completes), which frees that much cover; a plan
   that breaks leaves the rest owed. Entering ``suit`` costs the suit cost; entering
   ``forced_execution`` the execution, removal and restoration costs. ``cure`` and
   ``installment_paid`` recover all the arrears still owed in the month they happen, after
   which the tenant pays again and may miss a rent again (next missed rent or move-out after a geometric
   number of months, a missed rent with probability ``h / (1 - q)``; both decided by the
   cure transition's own uniform, rescaled, so a quick cure costs one draw); a tenancy-ending exit
   recovers ``floor(recovery_rate x exp(beta min(z, 0)) x arrears)`` ``recovery_delay_months``
   later (bad economies recover less, by the same factor as the cures);
4. an insured contract whose tenancy ends after subrogation has the JHF insured event: the
   payout (the product calculator's formula on the covered part of the months owed: rent,
   management and common-area fees, never parking) comes one month after the exit (the
   30-day lag), and ``recovery_share`` of any recovery from then on is remitted; JHF refuses
   ``jhf_refused_share`` of the claims (its exclusions), and with an insurance contract
   amount a new guarantee that does not fit its policy year is not insured
   (:func:`~.book.jhf_attachment`). Costs on entering a state are a fixed amount plus
   months of the monthly total (:meth:`RentModel.entry_cost_terms`).

A contract's optional ``start_month`` (0 when absent) places it in the projection: negative
for contracts already in force, positive for new business. It is at risk of a first missed
rent from month ``max(start_month, 0) + 1``; its JHF premium is paid in its start month when
that falls in the projection. Fees (initial fee at the start, renewals at anniversaries,
monthly fees) are their expectation: under the move-out hazard, and stopped once collection
has ended the tenancy (:func:`collection_survival`, exact over the economy). Only their
mean enters the metrics (loss ratio, expected profit), so they do not vary by scenario.

Limits, kept on purpose: cash flows after the horizon are not counted; a plan repays whole
monthly totals; the delinquency counts per scenario count the
contracts that became delinquent at all (first episodes).

The package, one concern a module:

- :mod:`.model`: :class:`RentModel` and :data:`LINES`;
- :mod:`.book`: the book checked and laid out (:func:`validate_portfolio`, :func:`prepare_book`,
  :func:`contract_records`);
- :mod:`.fees`: the expected fees and the survival and renewal mathematics that the exact
  oracle, pricing and calibration share (no numba);
- :mod:`.stream`: the SFC64 stream the kernel steps itself;
- :mod:`.tables`: the per-scenario lookup tables;
- :mod:`.kernel`: the collection kernel;
- :mod:`.engine`: the scenario loop and :func:`simulate_rent`;
- :mod:`.claims`: claim-level output, a walker that replays a scenario's stream and writes
  one row per collection episode.

:mod:`actuarial.simulation.reference` walks the same streams in plain Python, and tests hold
the kernel equal to it to the yen. docs/model.md states the model; docs/performance.md why
the kernel is written as it is.
"""

from ..result import SimulationResult
from .book import (
    PORTFOLIO_COLUMNS,
    RentBook,
    contract_records,
    jhf_attachment,
    prepare_book,
    start_months,
    validate_portfolio,
)
from .engine import kernel_inputs, run_into, simulate_rent
from .fees import (
    collection_survival,
    expected_fee_line,
    factor_nodes,
    fee_survival,
    plan_fee_line,
    renewal_density,
)
from .model import LINES, SIGNS, RentModel
from .stream import scenario_rng, stream_state, stream_words
from .tables import (
    chain_arrays,
    conditional_hazard,
    dunning_outcome,
    gap,
    gap_tables,
    stressed_thresholds,
    transition_order,
)

__all__ = [
    "LINES", "PORTFOLIO_COLUMNS", "SIGNS", "RentBook", "RentModel", "SimulationResult", "chain_arrays",
    "collection_survival", "conditional_hazard", "contract_records", "dunning_outcome", "expected_fee_line",
    "factor_nodes", "fee_survival", "gap", "gap_tables", "jhf_attachment", "kernel_inputs", "plan_fee_line",
    "prepare_book",
    "renewal_density", "run_into", "scenario_rng", "simulate_rent", "start_months", "stream_state", "stream_words",
    "stressed_thresholds", "transition_order", "validate_portfolio",
]
