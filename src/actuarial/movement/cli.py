"""``actuarial movement OPENING CLOSING``: the bridge printed, and written as CSV on request."""

from __future__ import annotations

import sys
from pathlib import Path

from .bridge import movement, readable_bridge
from .inputs import DEFAULT_SCENARIOS, DEFAULT_SEED, MovementError, quarter_from_params, quarter_from_run


def _side(text: str, args):
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        if not path.exists():
            raise MovementError(f"{path}: no such params file")
        return quarter_from_params(path, n_scenarios=DEFAULT_SCENARIOS if args.scenarios is None else args.scenarios,
                                   seed=DEFAULT_SEED if args.seed is None else args.seed)
    if not (Path(args.reports) / text).is_dir():
        raise MovementError(f"{text}: neither a params file (.yaml) nor a run in {args.reports}/ (actuarial runs "
                            f"lists them)")
    if args.scenarios is not None or args.seed is not None:
        raise MovementError(f"{text}: a run values on its own recorded scenarios and seed; --scenarios and --seed "
                            f"are for params files")
    return quarter_from_run(args.reports, text, args.scenario)


def format_bridge(bridge) -> str:
    """The bridge as a person reads it: yen with thousands separators, a row a figure and a
    column a step; the assumption steps numbered, with a legend below."""
    table, legend = readable_bridge(bridge)
    text = table.map(lambda v: f"{v:,d}").to_string()
    return text + ("\n" + "\n".join(legend) if legend else "")


def run_movement(args) -> int:
    try:
        if args.scenarios is not None and not 2 <= args.scenarios <= 1_000_000:
            raise MovementError(f"--scenarios must be 2 to 1,000,000, got {args.scenarios}")
        if args.seed is not None and args.seed < 0:
            raise MovementError(f"--seed must be 0 or more, got {args.seed}")
        if args.output and Path(args.output).exists():
            raise MovementError(f"{args.output}: exists; the bridge is written to a new file")
        if args.output and not Path(args.output).resolve().parent.is_dir():
            raise MovementError(f"{args.output}: its folder {Path(args.output).resolve().parent} does not exist")
        opening, closing = _side(args.opening, args), _side(args.closing, args)
        say = (lambda s: print(s, file=sys.stderr, flush=True)) if sys.stderr.isatty() else None
        result = movement(opening, closing, progress=say)
    except ValueError as exc:  # MovementError, RunError, a params or book error: each names its file
        print(f"actuarial movement: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"actuarial movement: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("actuarial movement: interrupted; nothing was written", file=sys.stderr)
        return 130
    print(f"movement from {opening.label} ({opening.valuation_date:%Y-%m-%d}) to {closing.label} "
          f"({closing.valuation_date:%Y-%m-%d}), {result.months} months; yen, each step the difference of two "
          f"valuations")
    print(format_bridge(result.bridge))
    print("\nthe opening book's quarter, expected (one roll-forward draw) and actual:")
    print(result.activity.to_string())
    for note in result.notes:
        print(f"note: {note}")
    if args.output:
        try:
            result.bridge.to_csv(args.output)
        except OSError as exc:
            print(f"actuarial movement: {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"bridge written: {args.output}")
    return 0
