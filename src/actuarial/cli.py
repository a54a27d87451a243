"""The ``actuarial`` command: ``batch``, ``report`` (the default batch), ``check``, ``bench``."""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
