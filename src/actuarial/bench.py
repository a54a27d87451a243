"""``make bench``: the reference workloads, timed, written to ``reports/bench.json``.

Each workload runs in its own process (so ``peak_memory_mb`` is that workload's peak
resident memory) and, in the same process, the numpy month-stepping baseline on a subset;
``speedup_vs_numpy_baseline`` compares contract-scenarios per second. Speed is measured
here, never asserted in a test.

Each workload is timed ``repeat`` times (3 by default) in its process; ``seconds`` is the
median and ``seconds_runs`` lists every run. On this shared 2-core VM one run of the rent
workload can take up to 15% longer than another, with the load the host's other tenants put
on it, so a single run is a noisy figure: the median of three is a typical run, and the
list shows the spread.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORKLOADS = {
    # name: (contracts, scenarios, months, baseline contracts, baseline scenarios)
    "rent": (100_000, 10_000, 60, 5_000, 20),
    "mortgage": (100_000, 1_000, 420, 5_000, 2),
    # about 1,000,000 contracts in force (a book seasoned from 1,500,000) with their closed
    # receivables, valued by the Monte Carlo and the exact oracle; no baseline
    "quarter_close": (1_500_000, 10_000, 60, 0, 0),
    # an experience study of a status history of 1,000,000 contracts over 24 months
    "experience": (1_000_000, 0, 24, 0, 0),
    # a movement from the quarter-close book to the same book a quarter on (20% worse, 5% new
    # business, a changed recovery rate): its valuations on common random numbers, against one
    # valuation of the closing book alone
    "movement": (1_500_000, 10_000, 60, 0, 0),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(run, repeat: int) -> tuple[list[float], object]:
    """``repeat`` timings of ``run()`` in seconds, and the last run's result (each result is
    dropped before the next run, so the peak memory is one run's)."""
    seconds, result = [], None
    for _ in range(repeat):
        result = None
        t = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - t)
    return seconds, result


def run_rent(contracts: int, scenarios: int, months: int, base_contracts: int, base_scenarios: int,
             threads: int, repeat: int = 3) -> dict:
    """Time the rent engine and the month-stepping baseline; returns the bench.json entry."""
    import dataclasses
    from pathlib import Path as _P

    from .params import load_params
    from .portfolio import synthetic_rent_book
    from .simulation import RentModel, simulate
    from .simulation.baseline import simulate_month_stepping

    model = dataclasses.replace(
        RentModel.from_params(load_params(_P(__file__).resolve().parents[2] / "params" / "base.yaml")),
        months=months)
    book = synthetic_rent_book(contracts, seed=2026, insured_share=0.3)
    simulate(book.head(1_000), model, 2, seed=0, threads=threads)  # compile outside the timing
    seconds, result = _timed(lambda: simulate(book, model, scenarios, seed=1, threads=threads, progress=False), repeat)
    t = time.perf_counter()
    simulate_month_stepping(book.head(base_contracts), model, base_scenarios, seed=1)
    base_seconds = time.perf_counter() - t
    entry = _entry(contracts, scenarios, months, seconds, base_contracts, base_scenarios, base_seconds, threads)
    entry["monthly_delinquency_hazard"] = dict(model.delinquency_hazard)  # params/base.yaml, fitted
    entry["insured_share"] = round(float(book["insured"].mean()), 3)
    # how heavy the workload is: the share of contracts that miss a rent within the horizon
    entry["delinquent_share"] = round(float(result.losses["delinquencies"].mean()) / contracts, 3)
    return entry


def run_mortgage(contracts: int, scenarios: int, months: int, base_contracts: int, base_scenarios: int,
                 threads: int, repeat: int = 3) -> dict:
    """Time the mortgage engine and its month-stepping baseline; returns the bench.json entry."""
    import dataclasses
    from pathlib import Path as _P

    from .params import load_params
    from .portfolio import synthetic_mortgage_book
    from .simulation import MortgageModel, simulate
    from .simulation.baseline import simulate_mortgage_month_stepping

    model = dataclasses.replace(
        MortgageModel.from_params(load_params(_P(__file__).resolve().parents[2] / "params" / "base.yaml")),
        months=months)
    book = synthetic_mortgage_book(contracts, seed=2026)
    simulate(book.head(1_000), model, 2, seed=0, threads=threads)  # compile outside the timing
    seconds, _ = _timed(lambda: simulate(book, model, scenarios, seed=1, threads=threads, progress=False), repeat)
    t = time.perf_counter()
    simulate_mortgage_month_stepping(book.head(base_contracts), model, base_scenarios, seed=1)
    base_seconds = time.perf_counter() - t
    return _entry(contracts, scenarios, months, seconds, base_contracts, base_scenarios, base_seconds, threads)


def run_quarter_close(contracts: int, scenarios: int, months: int, base_contracts: int, base_scenarios: int,
                      threads: int, repeat: int = 1) -> dict:
    """Time a quarter close (:func:`~actuarial.valuation.value_book`) of a seasoned book once
    (a run takes minutes), and its exact figures alone once more; returns the bench.json
    entry."""
    import dataclasses
    from pathlib import Path as _P

    from .params import load_params
    from .simulation import RentModel
    from .simulation.exact_inforce import expected_prepared
    from .simulation.rent.inforce import prepare_inforce, regroup
    from .valuation import ValuationSettings, synthetic_inforce_book, value_book
    from .valuation.figures import _stages_and_buckets

    model = dataclasses.replace(
        RentModel.from_params(load_params(_P(__file__).resolve().parents[2] / "params" / "base.yaml")), months=months)
    book, receivables = synthetic_inforce_book(contracts, model, seed=2026, write_off_months=60)
    settings = ValuationSettings("2026-12-31")
    value_book(book.head(2_000), model, settings, receivables=receivables.head(100), n_scenarios=4, seed=0,
               threads=threads)  # compile outside the timing
    t = time.perf_counter()
    value_book(book, model, settings, receivables=receivables, n_scenarios=scenarios, seed=1, threads=threads)
    total = time.perf_counter() - t
    inforce = prepare_inforce(book, model)
    _, _, _, _, _, _, group, n_groups = _stages_and_buckets(book, inforce, settings)
    inforce = regroup(inforce, group, n_groups)
    t = time.perf_counter()
    expected_prepared(inforce, book, model)
    exact = time.perf_counter() - t
    return {"contracts_in_force": len(book), "in_collection": int((book["status"] != "performing").sum()),
            "closed_receivables": len(receivables), "scenarios": scenarios, "months": months,
            "seconds": round(total, 3), "seconds_runs": [round(total, 3)],
            "exact_seconds": round(exact, 3), "monte_carlo_and_rest_seconds": round(total - exact, 3),
            "peak_memory_mb": round(_peak_mb(), 1), "threads": threads}


def run_experience(contracts: int, scenarios: int, months: int, base_contracts: int, base_scenarios: int,
                   threads: int, repeat: int = 3) -> dict:
    """Time an experience study (the history checked, its transitions, exposure, A/E by state,
    grade and vintage, roll rates, vintage curves, the chain's fit) of a synthetic history;
    returns the bench.json entry."""
    from pathlib import Path as _P

    from . import experience as ex
    from .params import load_params
    from .simulation import RentModel

    model = RentModel.from_params(load_params(_P(__file__).resolve().parents[2] / "params" / "base.yaml"))
    history = ex.synthetic_history(contracts, model, seed=2026, months=months)

    def study():
        steps = ex.transitions(ex.prepare_history(history))
        ex.exposure(steps)
        for by in ((), ("grade",), ("vintage",)):
            ex.actual_vs_expected(steps, model, by=by)
        ex.roll_rates(steps)
        ex.vintage_curves(steps)
        ex.fit_chain(steps, model.chain, 100.0)
        return len(steps)

    seconds, steps = _timed(study, repeat)
    return {"contracts": contracts, "history_rows": len(history), "steps": steps, "months": months,
            "seconds": round(statistics.median(seconds), 3), "seconds_runs": [round(x, 3) for x in seconds],
            "peak_memory_mb": round(_peak_mb(), 1), "threads": 1}


def run_movement(contracts: int, scenarios: int, months: int, base_contracts: int, base_scenarios: int,
                 threads: int, repeat: int = 1) -> dict:
    """Time a movement (:func:`~actuarial.movement.movement`) between a seasoned book and the
    same book a quarter on, once, and one quarter close of the closing book alone, so that
    the movement's cost reads as a number of valuations; returns the bench.json entry."""
    import tempfile
    from pathlib import Path as _P

    from .movement import load_books, movement, quarter_from_params
    from .params import load_params
    from .simulation import RentModel
    from .valuation import synthetic_inforce_book, value_book
    from .valuation.synthetic import INFORCE_CSV_COLUMNS, synthetic_next_quarter

    base = _P(__file__).resolve().parents[2] / "params" / "base.yaml"
    scenario = load_params(base)
    model = RentModel.from_params(scenario)
    book, receivables = synthetic_inforce_book(contracts, model, seed=2026, write_off_months=60)
    book = book[list(INFORCE_CSV_COLUMNS)]
    later = synthetic_next_quarter(book, receivables, model, 2027, new_contracts=len(book) // 20, hazard_factor=1.2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = _P(tmp)
        for name, frames in (("q3", {"rent": book, "receivables": receivables}), ("q4", later)):
            frames["rent"].to_csv(folder / f"{name}_rent.csv", index=False)
            frames["receivables"].to_csv(folder / f"{name}_receivables.csv", index=False)
        for name, date, extra in (("q3", "2026-09-30", "  recovery_rate: 0.25\n"), ("q4", "2026-12-31", "")):
            (folder / f"{name}.yaml").write_text(
                f"extends: {base}\nscenario: {{name: {name}}}\nmortgage_model: null\nmortgage_fee: null\n"
                f"movement: null\nrent_model:\n  months: {months}\n{extra}valuation:\n  valuation_date: {date}\n"
                f"  rent_book_csv: {name}_rent.csv\n  receivables_csv: {name}_receivables.csv\n"
                f"  mortgage_book_csv: null\n", encoding="utf-8")
        opening, closing = (quarter_from_params(folder / f"{n}.yaml", n_scenarios=scenarios, seed=1)
                            for n in ("q3", "q4"))
        t = time.perf_counter()
        result = movement(opening, closing)
        total = time.perf_counter() - t
        books = load_books(closing)
        t = time.perf_counter()
        value_book(books["rent"], RentModel.from_params(closing.scenario), closing.scenario.valuation.settings(),
                   receivables=books["receivables"], n_scenarios=scenarios, seed=1, threads=threads)
        one = time.perf_counter() - t
    return {"contracts_in_force": len(book), "closing_contracts": len(later["rent"]), "scenarios": scenarios,
            "months": months, "valuations": len(result.valuations), "seconds": round(total, 3),
            "seconds_runs": [round(total, 3)], "one_valuation_seconds": round(one, 3),
            "movement_over_one_valuation": round(total / one, 2), "peak_memory_mb": round(_peak_mb(), 1),
            "threads": threads}


def _entry(contracts, scenarios, months, runs, base_contracts, base_scenarios, base_seconds, threads) -> dict:
    seconds = statistics.median(runs)
    rate = contracts * scenarios / seconds
    base_rate = base_contracts * base_scenarios / base_seconds
    return {"contracts": contracts, "scenarios": scenarios, "months": months, "seconds": round(seconds, 3),
            "seconds_runs": [round(r, 3) for r in runs],
            "contract_scenarios_per_s": round(rate), "speedup_vs_numpy_baseline": round(rate / base_rate, 1),
            "numpy_baseline": {"contracts": base_contracts, "scenarios": base_scenarios,
                               "seconds": round(base_seconds, 3),
                               "contract_scenarios_per_s": round(base_rate)},
            "peak_memory_mb": round(_peak_mb(), 1), "threads": threads}


def main(argv: list[str] | None = None) -> int:
    """``python -m actuarial.bench [--out reports/bench.json] [--scale 1.0] [--threads 2] [--repeat 3]``."""
    import argparse
    import os

    p = argparse.ArgumentParser(prog="actuarial bench")
    p.add_argument("--out", default="reports/bench.json")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the scenario counts (quick runs: 0.01)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each workload; seconds is their median")
    p.add_argument("--workload", choices=sorted(WORKLOADS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.scale > 0 or args.threads < 1:
        p.error(f"--scale must be > 0 and --threads >= 1, got {args.scale} and {args.threads}")
    if args.repeat < 1:
        p.error(f"--repeat must be >= 1, got {args.repeat}")
    if args.workload:  # child process: one workload, JSON on stdout
        c, s, m, bc, bs = WORKLOADS[args.workload]
        run_workload = {"rent": run_rent, "mortgage": run_mortgage, "quarter_close": run_quarter_close,
                        "experience": run_experience, "movement": run_movement}[args.workload]
        entry = run_workload(c, max(1, round(s * args.scale)), m, bc, bs, args.threads, args.repeat)
        print(json.dumps(entry))
        return 0
    results = {}
    for name in WORKLOADS:
        run = subprocess.run([sys.executable, "-m", "actuarial.bench", "--workload", name, "--scale", str(args.scale),
                              "--threads", str(args.threads), "--repeat", str(args.repeat)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(run.stderr, file=sys.stderr)
            return run.returncode
        results[name] = json.loads(run.stdout.strip().splitlines()[-1])
        r = results[name]
        if name == "quarter_close":
            print(f"{name}: {r['contracts_in_force']:,} contracts in force ({r['in_collection']:,} in collection), "
                  f"{r['closed_receivables']:,} closed receivables, {r['scenarios']:,} scenarios x {r['months']} "
                  f"months in {r['seconds']:.1f} s (of which the exact figures {r['exact_seconds']:.1f} s), "
                  f"peak {r['peak_memory_mb']:.0f} MB, {r['threads']} threads")
            continue
        if name == "movement":
            print(f"{name}: {r['contracts_in_force']:,} contracts to {r['closing_contracts']:,}, {r['valuations']} "
                  f"valuations on {r['scenarios']:,} common scenarios in {r['seconds']:.1f} s; one valuation of the "
                  f"closing book {r['one_valuation_seconds']:.1f} s ({r['movement_over_one_valuation']}x), "
                  f"peak {r['peak_memory_mb']:.0f} MB")
            continue
        if name == "experience":
            print(f"{name}: a history of {r['contracts']:,} contracts over {r['months']} months ({r['history_rows']:,} "
                  f"rows, {r['steps']:,} steps) studied in {r['seconds']:.1f} s (median of "
                  f"{len(r['seconds_runs'])}), peak {r['peak_memory_mb']:.0f} MB")
            continue
        runs = ", ".join(f"{x:.2f}" for x in r["seconds_runs"])
        print(f"{name}: {r['contracts']:,} x {r['scenarios']:,} x {r['months']} months in {r['seconds']:.2f} s "
              f"(median of {len(r['seconds_runs'])}: {runs}) = "
              f"{r['contract_scenarios_per_s']:.3e} contract-scenarios/s, {r['speedup_vs_numpy_baseline']}x the numpy "
              f"baseline, peak {r['peak_memory_mb']:.0f} MB, {r['threads']} threads")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
