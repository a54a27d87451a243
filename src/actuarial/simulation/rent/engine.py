"""The rent engine's run: the kernel's inputs as named bundles (:func:`kernel_inputs`), the
scenario loop each thread or Dask task runs (:func:`run_into`), and :func:`simulate_rent`,
which checks the arguments, lays out the book, hands the scenarios to
:func:`~actuarial.simulation.distributed.run_scenarios` and gathers the result."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...collection import ROLE_PAYMENT_EXIT, state_codes
from ...normal import norm
from ...products.common import rate_fraction
from ..distributed import check_run_arguments, progress_bar, run_scenarios
from ..result import SimulationResult
from .book import RentBook, contract_records, prepare_book
from .claims import walk_claims
from .kernel import OUT_LINES, BookArrays, CollectionRules, scenario
from .model import LINES, RentModel
from .stream import scenario_rng, stream_state
from .tables import ScenarioInputs, chain_arrays


def kernel_inputs(book: RentBook, model: RentModel) -> tuple[ScenarioInputs, BookArrays, CollectionRules]:
    """What the kernel reads for a run of ``model`` on ``book`` (:func:`~.book.prepare_book`), as
    named bundles: the inputs of each scenario's tables, the book's arrays, and the
    collection rules, each state's role and cash-flow rule from
    :func:`~actuarial.collection.state_codes`."""
    jhf = model.jhf
    cov = rate_fraction(jhf.coverage_ratio, "coverage_ratio")
    share = rate_fraction(jhf.recovery_share, "recovery_share")
    codes = state_codes()
    scaled, dest, n_dest = chain_arrays(model.chain.matrix)
    inputs = ScenarioInputs(math.sqrt(model.rho), math.sqrt(1 - model.rho), norm.ppf(book.grade_hazard),
                            model.moveout_hazard, float(model.good_exit_sensitivity), model.months, model.chain.matrix,
                            scaled, codes.role == ROLE_PAYMENT_EXIT, dest, n_dest)
    contract = contract_records(book.total, book.cap, book.insured, book.jhf_rent, jhf, book.jhf_covered).reshape(-1)
    largest = int((book.total * book.cap).max(initial=0)) * int(book.jhf_covered.max(initial=0)) * cov.numerator
    if largest >= 2**63:  # the kernel's payout arithmetic, arrears x covered x numerator, in int64
        raise ValueError(f"the book's largest arrears times its largest covered rent times the JHF coverage ratio's "
                         f"numerator ({cov.numerator}) overflow 64-bit yen arithmetic; monthly totals this large are "
                         f"outside what the engine supports")
    arrays = BookArrays(book.group_start, book.group_grade, book.group_offset, contract, book.fees, book.premium)
    fixed, num, den = model.entry_cost_arrays()
    costly = (fixed != 0) | (num != 0)  # stored as fixed + 1, so the kernel tests one number
    states = np.column_stack([codes.role, codes.repays, np.where(costly, fixed + 1, 0), num, den]).astype(np.int64)
    rules = CollectionRules(model.months, dest, states,
                            model.installment_repayment_months, float(model.recovery_rate),
                            model.recovery_delay_months, cov.numerator, cov.denominator, share.numerator,
                            share.denominator, float(model.jhf_refused_share))
    return inputs, arrays, rules


def run_into(book: RentBook, model: RentModel, seed: int, jobs, outputs: tuple, bar=None) -> None:
    """For each ``(row, s)`` of ``jobs``, run scenario ``s`` into row ``row`` of ``outputs``
    ``(flows, counts, z)``: the cash flows by line (:data:`LINES`) and month, ``S x 7 x (T +
    1)``, the contracts that miss a rent by grade and the factor
    (:func:`~.distributed.run_scenarios`).

    Scenario ``s`` always draws from :func:`scenario_rng` ``(seed, s)``, wherever it runs:
    first its factor ``z`` (standard normal), then uniforms: the bit generator's next 64-bit
    words, each giving two (:func:`~.stream.draw`, which steps the generator inside the kernel
    from :func:`~.stream.stream_state`). One per contract for its first missed rent, then
    the collection months of the contracts that miss one, contract by contract
    (:func:`~.kernel.scenario`).
    """
    flows, counts, z = outputs
    T = model.months
    inputs, arrays, rules = kernel_inputs(book, model)
    n = len(book.total)
    # (first month, position) of each contract that misses a rent, and one more pair: the kernel
    # loads the next contract's month one step ahead
    listed = np.zeros(2 * (n + 1), dtype=np.int64)
    out = np.empty((T + 2) * OUT_LINES, dtype=np.int64)  # column T + 1: after the horizon, dropped
    for row, s in jobs:
        rng = scenario_rng(seed, s)
        z[row] = rng.standard_normal()
        scenario(z[row], stream_state(rng), inputs, arrays, rules, listed, counts[row], out, flows[row])
        if bar is not None:
            bar.update()


def simulate_rent(portfolio: pd.DataFrame, model: RentModel, n_scenarios: int, seed: int, *,
                  threads: int | None = None, progress: bool | None = None, backend: str = "local", client=None,
                  scheduler: str | None = None, chunk_scenarios: int = 250, claims: int = 0) -> SimulationResult:
    """Simulate ``n_scenarios`` scenarios of a rent-guarantee book; the arguments as
    :func:`actuarial.simulation.simulate`, which calls it for a :class:`RentModel`.

    Scenario ``s`` draws from :func:`~.stream.scenario_rng` (numpy's SFC64 seeded with
    ``SeedSequence(seed, spawn_key=(s,))``), so the result for a seed is the same for any
    ``threads``, any ``chunk_scenarios`` and either backend. Memory is bounded by the
    outputs: the book once, plus the ``S x 7 x (T+1)`` cash flows.

    ``claims=K`` also returns, for the first ``K`` scenarios, one row per collection episode
    that ended within the horizon (:attr:`SimulationResult.claims`,
    :data:`~.claims.CLAIM_COLUMNS`), from the same streams (:func:`~.claims.walk_claims`).
    """
    threads = check_run_arguments(n_scenarios=n_scenarios, seed=seed, threads=threads,
                                  chunk_scenarios=chunk_scenarios, backend=backend, claims=claims)
    book = prepare_book(portfolio, model)
    T = model.months
    bar = progress_bar(progress, n_scenarios, len(book.total) * n_scenarios, 10**8)
    # each scenario writes its own rows, in its thread (the threads also take the arrays' first
    # touch, 0.1 s at 10,000 scenarios when it came after them)
    flows = np.zeros((n_scenarios, len(LINES), T + 1))
    counts = np.zeros((n_scenarios, len(book.grade_hazard)), dtype=np.int64)
    z = np.empty(n_scenarios)
    run_scenarios(run_into, book, model, seed, n_scenarios, (flows, counts, z), threads=threads,
                  backend=backend, client=client, scheduler=scheduler, chunk_scenarios=chunk_scenarios, bar=bar)
    bar.close()
    totals = flows.sum(axis=2)
    losses = pd.DataFrame(totals, columns=list(LINES))
    losses.insert(0, "z", z)
    losses.insert(1, "delinquencies", counts.sum(axis=1))
    losses["net_loss"] = (losses["subrogation"] + losses["costs"] - losses["recoveries"] + losses["jhf_premium"]
                          - losses["jhf_payout"] + losses["jhf_remittance"])
    claim_rows = None
    if claims:
        inputs, arrays, rules = kernel_inputs(book, model)
        grade_of, _ = book.grade_and_offset()
        claim_rows = walk_claims(seed, int(claims), inputs, arrays, rules, grade_of, book.position, book.jhf_rent,
                                 list(model.delinquency_hazard))
    return SimulationResult(cash_flows=flows, losses=losses, seed=seed,
                            delinquencies_by_grade=pd.DataFrame(counts, columns=list(model.delinquency_hazard)),
                            jhf_attachment=book.attachment, claims=claim_rows)
