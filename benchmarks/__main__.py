"""``python -m benchmarks [--full] [--out DIR] [--rhubarb PATH] [--only speed,lips,style,bake,batch]``

Runs the quick set (or everything with ``--full``), prints the markdown tables and writes
``report.md``, ``report.json`` and the plots to ``--out`` (default ``out/benchmarks``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from .report import AREAS, run_all


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description="TalkCLIP benchmarks: speed, lip accuracy, style accuracy, bake, batch.")
    p.add_argument("--full", action="store_true",
                   help="everything: 10 min of speech, all data sets, 20-line batch (default: the quick set, < 5 min)")
    p.add_argument("--out", metavar="DIR", default="out/benchmarks", help="report folder (default: out/benchmarks)")
    p.add_argument("--rhubarb", metavar="PATH", help="a Rhubarb Lip Sync binary: score its mouth cues in the same run")
    p.add_argument("--only", metavar="AREAS", help=f"comma-separated subset of {','.join(AREAS)}")
    p.add_argument("--quiet", action="store_true", help="print only the report")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    areas = list(AREAS)
    if args.only:
        areas = [a.strip() for a in args.only.split(",") if a.strip()]
        unknown = [a for a in areas if a not in AREAS]
        if unknown:
            print(f"python -m benchmarks: error: unknown area(s) {', '.join(unknown)} (known: {', '.join(AREAS)})",
                  file=sys.stderr)
            return 2
    rhubarb = args.rhubarb
    if rhubarb:
        found = shutil.which(rhubarb) or (rhubarb if os.access(rhubarb, os.X_OK) else None)
        if not found:
            print(f"python -m benchmarks: error: --rhubarb {rhubarb}: not an executable file", file=sys.stderr)
            return 2
        rhubarb = found
    progress = (lambda msg: None) if args.quiet else (lambda msg: print(f"  .. {msg}", file=sys.stderr, flush=True))
    markdown, failed = run_all(areas, Path(args.out), full=args.full, rhubarb=rhubarb, progress=progress)
    print(markdown)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
