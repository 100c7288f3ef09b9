"""The command line of ``blender -b --command talkclip batch`` / ``python -m blender_addon.batch``
(the flags are a contract: docs/blender.md)."""

from __future__ import annotations

import argparse

from .chunks import parse_chunk


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: expected 1 or more")
    return value


def build_parser(prog: str = "python -m blender_addon.batch") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Generate and bake TalkCLIP takes for every job of a manifest.")
    p.add_argument("manifest", metavar="MANIFEST", help="jobs: a JSON list of objects or a CSV with a header row")
    p.add_argument("--force", action="store_true", help="redo jobs whose output already exists")
    p.add_argument("--report", metavar="PATH", help="JSON report (default: MANIFEST.report.json beside it); "
                                                    "the review page REPORT.html is written beside it")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="accept paths outside the manifest's folder: relative ones that climb out, and "
                        "outputs or profile files anywhere (by default they stay inside it)")
    p.add_argument("--strict-paths", action="store_true",
                   help="refuse absolute input paths (blend, audio, track) outside the manifest's folder too")
    p.add_argument("--encoder", metavar="NAME_OR_PATH", help="text encoder (default: the add-on preference or MiniLM)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="onnxruntime device (default: the add-on preference)")
    p.add_argument("--workers", type=_count, metavar="N",
                   help="run lines in N worker processes, each loading the models once; a line that crashes its "
                        "worker fails alone (default: in this process, one after another)")
    p.add_argument("--progress", choices=("text", "json", "none"), default=None,
                   help="one line per finished line on stdout: text (default), json (job, name, status, seconds, "
                        "output, error; the summary then goes to stderr) or none")
    p.add_argument("--quiet", action="store_true", help="print only the summary (--progress none)")
    p.add_argument("--chunk", type=parse_chunk, metavar="K/N",
                   help="run only the K-th of N runs of consecutive lines (a farm task); the report lists those lines")
    p.add_argument("--plan", metavar="PATH", help="write what the batch would run (lines, outputs, inputs, errors, "
                                                  "colliding lines) to PATH as JSON and stop")
    p.add_argument("--exit-zero", action="store_true",
                   help="exit 0 when lines failed (the report says which): a failed farm task would hold up the merge")
    p.add_argument("--preview-image", metavar="PNG",
                   help="also render each finished line on this character picture (512x512, transparent "
                        "background; the neural preview, docs/preview.md) as a review thumbnail: REPORT.thumbs/, "
                        "shown on the review page (a few renders per line: about 3 s of CPU)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a worker process of --workers
    return p
