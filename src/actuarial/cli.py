"""The ``actuarial`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .batch import NOTEBOOK_DIR, run_notebook
from .params import ParamsError, load_params

DEFAULT_NOTEBOOKS = ("01_product_terms.ipynb",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="actuarial", description="Actuarial workbench for guarantee businesses.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="run the default notebooks into reports/ with an HTML copy of each")
    rep.add_argument("--output", default="reports", help="output folder (default: reports)")
    sub.add_parser("bench", help="time the reference workloads into reports/bench.json", add_help=False)
    chk = sub.add_parser("check", help="validate params files and report the first problem of each")
    chk.add_argument("files", nargs="+")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from .bench import main as bench_main

        return bench_main(argv[1:])
    args = parser.parse_args(argv)

    if args.command == "check":
        status = 0
        for f in args.files:
            try:
                s = load_params(f)
                print(f"{f}: ok ({s.scenario.name})")
            except ParamsError as exc:
                print(exc, file=sys.stderr)
                status = 2
        return status

    output = Path(args.output).resolve()
    for name in DEFAULT_NOTEBOOKS:
        out = run_notebook(NOTEBOOK_DIR / name, output, {"output_dir": str(output)})
        print(f"wrote {out} and {out.with_suffix('.html')}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
