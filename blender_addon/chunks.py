"""A manifest split for a render farm: the K-th of N runs of consecutive lines (``batch --chunk
K/N``), the plan a job bundle is made from (``batch --plan PATH``), and the merge of the chunks'
reports into one report of the whole manifest. Pure Python (no bpy).

    python -m blender_addon.chunks CHUNKS_DIR --manifest M --chunks N --report R [--html H]
    blender -b --command talkclip merge CHUNKS_DIR --manifest M --chunks N --report R

Chunk K's report is ``CHUNKS_DIR/K/report.json`` (``chunk_report_path``; the bundle that
``talkclip farm openjd`` writes sends each chunk's report there). The merged report has the batch
report's schema, one entry per manifest line in manifest order; its ``seconds`` are the chunks'
added up. A line no report finishes is a failed line that says why: the chunk left no report
(it never ran, or crashed before its first write), or stopped before the line finished (crashed,
killed, cancelled). Two reports that claim one line and disagree, or a report that names a line
differently from the manifest (the manifest changed after the chunk ran), fail that line and say
which reports. A rerun of the job finishes what is missing: done outputs are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from talkclip_model.files import atomic_output

from .jobs import (
    INPUT_KEYS,
    Job,
    JobResult,
    ManifestError,
    load_rows,
    parse_job,
    read_manifest,
    refuse_collisions,
    write_report,
)
from .review import write_page

RESULT_FIELDS = {f.name for f in fields(JobResult)}
AGREE_KEYS = ("name", "status", "output", "error")  # what two reports of one line must agree on


def chunk_range(total: int, k: int, n: int) -> tuple[int, int]:
    """Lines ``first..last`` (1-based, inclusive) of chunk ``k`` of ``n``: consecutive runs whose
    sizes differ by one at most (``first > last`` for an empty chunk)."""
    return (k - 1) * total // n + 1, k * total // n


def chunk_of(index: int, total: int, n: int) -> int:
    """The chunk (1-based, of ``n``) that line ``index`` falls in."""
    return next(k for k in range(1, n + 1) if index <= chunk_range(total, k, n)[1])


def parse_chunk(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N), 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected K/N, e.g. 2/3") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"{text!r}: K must be 1..N")
    return k, n


def select_chunk(jobs: list[Job], chunk: tuple[int, int] | None) -> list[Job]:
    if chunk is None:
        return jobs
    first, last = chunk_range(len(jobs), *chunk)
    return jobs[first - 1:last]


def failed_result(job: Job, error: str) -> JobResult:
    """The result of a line that did not run to its end, described from its manifest row."""
    return JobResult(job=job.index, name=job.name, status="failed", error=error, warnings=list(job.warnings),
                     output=str(job.output) if job.output else None,
                     blend=str(job.blend) if job.blend else None, object=job.object or None)


# --- the plan -------------------------------------------------------------------------------------

def plan(manifest: str | Path, allow_outside: bool = False, strict: bool = False) -> dict[str, Any]:
    """What the batch would run: every line's output, inputs and error, and which lines collide
    (two writing one output, or one writing another's input: ``jobs.refuse_collisions``)."""
    path = Path(manifest).resolve()
    jobs = [parse_job(row, i + 1, path.parent, allow_outside, strict) for i, row in enumerate(load_rows(path))]
    before = [job.error for job in jobs]
    refuse_collisions(jobs)
    lines = []
    for job, error in zip(jobs, before):
        inputs = [str(p) for p in (getattr(job, key) for key in INPUT_KEYS) if p is not None]
        if job.profile and Path(job.profile).is_absolute():
            inputs.append(job.profile)
        lines.append({"job": job.index, "name": job.name, "output": str(job.output) if job.output else None,
                      "inputs": inputs, "error": job.error, "collides": job.error != error})
    return {"manifest": str(path), "lines": len(jobs), "jobs": lines}


def write_plan(out: str | Path, manifest: str | Path, allow_outside: bool = False, strict: bool = False) -> Path:
    with atomic_output(out, "w") as fh:
        json.dump(plan(manifest, allow_outside, strict), fh, indent=1)
    return Path(out)


# --- the merge ------------------------------------------------------------------------------------

def chunk_report_path(chunks_dir: str | Path, k: int) -> Path:
    return Path(chunks_dir) / str(k) / "report.json"


def _read_chunk(path: Path) -> tuple[dict | None, str]:
    """A chunk's report, or None and why there is none."""
    if not path.is_file():
        return None, "it never ran, or crashed before writing its report"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise ValueError("not a batch report")
    except (OSError, ValueError) as exc:
        return None, f"its report {path} is unreadable ({exc})"
    return data, ""


def _agreeing(entries: list[tuple[int, dict]]) -> bool:
    return len({tuple(str(e.get(k)) for k in AGREE_KEYS) for _, e in entries}) <= 1


def _merged_line(job: Job, k: int, n: int, entries: list[tuple[int, dict]], why_missing: str) -> JobResult:
    if not entries:
        why = why_missing or "its report has no such line"
        return failed_result(job, f"chunk {k}/{n} left no result for this line: {why}")
    if not _agreeing(entries):
        said = "; ".join(f"chunk {c} says {e.get('status')}" + (f" ({e['error']})" if e.get("error") else "")
                         for c, e in entries)
        return failed_result(job, f"chunk reports disagree on line {job.index}: {said}")
    c, entry = entries[0]
    if entry.get("name") != job.name:
        return failed_result(job, f"chunk {c}'s report names line {job.index} {entry.get('name')!r}, the manifest "
                                  f"{job.name!r}: the manifest changed after the chunk ran; run the job again")
    if entry.get("status") not in ("ok", "failed", "skipped"):
        return failed_result(job, f"chunk {c}/{n} stopped before this line finished (crashed, killed or cancelled); "
                                  "run the job again to finish it (done outputs are skipped)")
    return JobResult(**{key: value for key, value in entry.items() if key in RESULT_FIELDS})


def merge(jobs: list[Job], chunks_dir: str | Path, n: int) -> tuple[list[JobResult], float]:
    """One result per manifest line (manifest order) from the ``n`` chunk reports; their seconds."""
    claims: dict[int, list[tuple[int, dict]]] = {}
    missing: dict[int, str] = {}
    seconds = 0.0
    for k in range(1, n + 1):
        data, why = _read_chunk(chunk_report_path(chunks_dir, k))
        if data is None:
            missing[k] = why
            continue
        seconds += float((data.get("summary") or {}).get("seconds") or 0.0)
        for entry in data["jobs"]:
            if isinstance(entry, dict) and isinstance(entry.get("job"), int):
                claims.setdefault(entry["job"], []).append((k, entry))
    total = len(jobs)
    results = []
    for job in jobs:
        k = chunk_of(job.index, total, n)
        results.append(_merged_line(job, k, n, claims.get(job.index, []), missing.get(k, "")))
    return results, seconds


def build_parser(prog: str = "python -m blender_addon.chunks") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Merge the chunk reports of a farm job into one report.")
    p.add_argument("chunks_dir", metavar="CHUNKS_DIR", help="holds K/report.json for every chunk K")
    p.add_argument("--manifest", required=True, help="the manifest the chunks ran")
    p.add_argument("--chunks", type=int, required=True, metavar="N", help="how many chunks the job had")
    p.add_argument("--report", required=True, metavar="PATH", help="the merged JSON report")
    p.add_argument("--html", metavar="PATH", help="its review page (default: the report's name with .html)")
    p.add_argument("--allow-outside-paths", action="store_true", help="as the chunks ran (names lines the same way)")
    p.add_argument("--strict-paths", action="store_true", help="as the chunks ran")
    return p


def main(argv: list[str] | None = None, prog: str = "python -m blender_addon.chunks") -> int:
    args = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    try:
        if args.chunks < 1:
            raise ManifestError(f"--chunks {args.chunks}: expected 1 or more")
        jobs = read_manifest(args.manifest, allow_outside=args.allow_outside_paths, strict=args.strict_paths)
    except ManifestError as exc:
        print(f"talkclip merge: error: {exc}", file=sys.stderr)
        return 2
    results, seconds = merge(jobs, args.chunks_dir, args.chunks)
    report = Path(args.report)
    try:
        write_report(report, args.manifest, results, seconds)
        data = json.loads(report.read_text(encoding="utf-8"))
        write_page(args.html or report.with_suffix(".html"), data,
                   title=f"TalkCLIP farm job: {Path(args.manifest).name} ({args.chunks} chunks)")
    except Exception as exc:  # noqa: BLE001 - one line, whatever the disk says
        print(f"talkclip merge: error: report {report}: cannot write ({exc})", file=sys.stderr)
        return 1
    for r in results:
        if r.status == "failed":
            print(f"talkclip merge: line {r.job} ({r.name}) failed: {r.error}", file=sys.stderr)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "skipped", "failed")}
    print(f"talkclip merge: {counts['ok']} of {len(results)} lines done, {counts['skipped']} skipped, "
          f"{counts['failed']} failed; report: {report} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
