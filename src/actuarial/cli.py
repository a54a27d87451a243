"""The ``actuarial`` command: ``batch``, ``report`` (the default batch), ``check``, ``bench``,
the run registry (``runs``, ``show``, ``rerun``), ``fit-chain`` and ``movement``."""

from __future__ import annotations

import argparse
import json
import sys

from .params import load_params
from .portfolio import check_books


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from .bench import main as bench_main

        return bench_main(argv[1:])
    if argv[:1] in (["batch"], ["report"]):
        from .batch import main as batch_main

        return batch_main(argv[1:])
    parser = argparse.ArgumentParser(prog="actuarial", description="Actuarial workbench for guarantee businesses.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("batch", help="run notebooks x scenarios into reports/<run-id>/ (see actuarial batch -h)")
    sub.add_parser("report", help="the default batch, as make report runs it")
    sub.add_parser("bench", help="time the reference workloads into reports/bench.json")
    chk = sub.add_parser("check", help="validate params files, and the CSV books they name, and report the first "
                                       "problem of each")
    chk.add_argument("files", nargs="+")
    runs = sub.add_parser("runs", help="list the batch runs: id, start, valuation dates, scenarios, status")
    show = sub.add_parser("show", help="print a run's manifest: code, packages, params and books")
    show.add_argument("run")
    show.add_argument("--json", action="store_true", help="the whole manifest, with every resolved value")
    again = sub.add_parser("rerun", help="rerun a run from its manifest into a new run and compare the key figures")
    again.add_argument("run")
    again.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    for p in (runs, show, again):
        p.add_argument("--reports", default="reports", help="the folder of the runs (default: reports/)")
    fit = sub.add_parser("fit-chain", help="fit the collection chain to a status history, blended with a "
                                           "params file's by credibility, and write it as a params file")
    fit.add_argument("history",
                     help="status history CSV: contract_id, month, status, months_owed [, grade, origination]")
    fit.add_argument("--prior", required=True, help="the params file whose chain is the prior (and which the output "
                                                    "extends)")
    fit.add_argument("--prior-weight", type=float, default=None,
                     help="months the prior counts as in each state (default: the prior's experience.prior_weight, "
                          "else 100)")
    fit.add_argument("-o", "--output", required=True, help="the params file to write (a new file)")
    fit.add_argument("--force", action="store_true", help="replace the output file if it exists")
    move = sub.add_parser("movement", help="the bridge of the quarter-close figures from an opening quarter to a "
                                           "closing one (each a params file or a run id)")
    move.add_argument("opening", help="last quarter: a params file with a valuation section, or a run id")
    move.add_argument("closing", help="this quarter: a params file, or a run id")
    move.add_argument("--scenario", default="base", help="for a run: the scenario whose quarter close to use "
                                                         "(default base)")
    move.add_argument("--scenarios", type=int, default=None,
                      help="for a params file: Monte Carlo scenarios (default 500, as the quarter-close notebook)")
    move.add_argument("--seed", type=int, default=None, help="for a params file: the seed (default 20261231)")
    move.add_argument("--reports", default="reports", help="the folder of the runs (default: reports/)")
    move.add_argument("-o", "--output", default=None, help="also write the bridge as CSV to this new file")
    args = parser.parse_args(argv)
    if args.command == "movement":
        from .movement.cli import run_movement

        return run_movement(args)
    if args.command in ("runs", "show", "rerun"):
        return _registry(args)
    if args.command == "fit-chain":
        return _fit_chain(args)
    status = 0
    for f in args.files:
        try:
            s = load_params(f)
            books = check_books(s, f)
            print(f"{f}: ok ({'; '.join([s.scenario.name, *books])})")
        except ValueError as exc:  # ParamsError names the file; check_books names the book
            print(exc, file=sys.stderr)
            status = 2
    return status


def _fit_chain(args) -> int:
    from pathlib import Path

    from .experience import check_prior_weight, fit_chain, prepare_history, read_history, transitions
    from .runs import sha256

    try:
        prior = load_params(args.prior)
        if prior.collection is None:
            raise ValueError(f"{args.prior}: has no collection section to fit")
        weight = args.prior_weight
        if weight is None:
            weight = prior.experience.prior_weight if prior.experience is not None else 100.0
        weight = check_prior_weight(weight)
        from .runs import params_chain

        output = Path(args.output).resolve()
        if output in params_chain(Path(args.prior)):
            raise ValueError(f"{args.output}: is the prior or a file it extends; write the fit to a file of its own")
        if output.exists() and not args.force:
            raise ValueError(f"{args.output}: exists; choose a new file, or add --force to replace it")
        if output.exists() and output.is_dir():
            raise ValueError(f"{args.output}: is a folder; name the params file to write")
        path = Path(args.history)
        frame = read_history(path)
        try:
            steps = transitions(prepare_history(frame, what="history"))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        from .experience import write_fitted_params

        chain = prior.collection.chain()
        fit = fit_chain(steps, chain, weight)
        digest = sha256(path)
        source = (f"fitted to {path.name} (sha256 {digest[:12]}...), {len(steps):,d} transitions, "
                  f"prior weight {weight:g}")
        out = write_fitted_params(fit, args.prior, args.output, source=source,
                                  detail=f"history: {path.resolve()} (sha256 {digest}, {len(frame):,d} rows)")
    except ValueError as exc:  # ParamsError too
        print(f"actuarial fit-chain: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"actuarial fit-chain: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    observed = int((fit.groupby(level="from")["steps"].first() > 0).sum())
    print(f"{out}: the collection chain fitted to {len(steps):,d} transitions of {path.name} ({observed} of "
          f"{fit.index.get_level_values('from').nunique()} collection states observed), prior weight {weight:g}")
    return 0


def _registry(args) -> int:
    from . import runs
    from .batch import RunAbandoned

    try:
        if args.command == "runs":
            from pathlib import Path

            if not Path(args.reports).is_dir():
                print(f"actuarial runs: {args.reports} is not a folder of runs (--reports names it)", file=sys.stderr)
                return 2
            table = runs.list_runs(args.reports)
            print(table.to_string(index=False) if len(table) else f"no runs in {args.reports}")
            return 0
        manifest = runs.read_manifest(args.reports, args.run)
        if args.command == "show":
            print(json.dumps(manifest, indent=2, ensure_ascii=False) if args.json else runs.describe(manifest))
            return 0
        new_dir, differ, why = runs.rerun(args.reports, args.run, jobs=args.jobs, progress=sys.stderr.isatty())
    except ValueError as exc:  # RunError, BatchError and a params file that no longer validates
        print(f"actuarial {args.command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"actuarial {args.command}: {exc.filename or args.reports}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (RunAbandoned, KeyboardInterrupt) as exc:
        print(f"actuarial {args.command}: {exc or 'interrupted'}", file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt) else 2
    if differ.empty:
        print(f"rerun {new_dir.name}: every key figure identical to {args.run}")
        return 0
    print(f"rerun {new_dir.name}: {len(differ)} key figure(s) differ from {args.run}:")
    print(differ.to_string(index=False))
    print("what differs between the two runs: " + ("; ".join(why) if why else
                                                  "nothing recorded (same code, packages and files)"))
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
