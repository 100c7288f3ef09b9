"""Run the chosen areas and write ``report.md`` + ``report.json`` (plots are written by the areas
into the same folder)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import time
import traceback
from pathlib import Path
from typing import Callable

from . import Section

AREAS = ("speed", "lips", "face", "style", "bake", "batch")


def _runner(area: str) -> Callable[..., Section]:
    from importlib import import_module

    return import_module(f"benchmarks.{area}").run


def machine() -> dict:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = ""
    try:
        from . import REPO

        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                               text=True, timeout=10)
        commit = rev.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return {"commit": commit, "cpu": cpu, "cores": cores, "python": platform.python_version(), "platform": platform.platform(),
            "taskset": bool(shutil.which("taskset"))}


def header(full: bool, info: dict) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"# TalkCLIP benchmarks ({'full' if full else 'quick'} set)\n\n"
            f"{now}; {info['cpu']}, {info['cores']} cores available; Python {info['python']}; "
            f"commit {info.get('commit') or 'unknown'}.\n")


def write_report(sections: list[Section], out_dir: Path, full: bool, info: dict | None = None) -> str:
    """report.md + report.json in ``out_dir``; returns the markdown."""
    info = info or machine()
    out_dir.mkdir(parents=True, exist_ok=True)
    md = header(full, info) + "\n" + "\n".join(s.markdown() for s in sections)
    (out_dir / "report.md").write_text(md, encoding="utf-8")
    data = {"full": full, "machine": info, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "sections": [{"title": s.title, "header": s.header, "rows": s.rows, "notes": s.notes, "plots": s.plots,
                          "seconds": round(s.seconds, 2), "data": s.data} for s in sections]}
    (out_dir / "report.json").write_text(json.dumps(data, indent=1, default=_plain) + "\n", encoding="utf-8")
    return md


def _plain(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:
        pass
    return str(obj)


def run_all(areas, out_dir: Path, full: bool = False, rhubarb: str | None = None,
            progress: Callable[[str], None] = print) -> tuple[str, bool]:
    """Run ``areas`` in order; a failing area is reported and the others still run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):  # plots of an earlier run would be mistaken for this one's
        old.unlink()
    sections, failed = [], False
    for area in areas:
        t0 = time.perf_counter()
        kwargs = {"full": full, "out_dir": out_dir, "progress": progress}
        if area == "lips":
            kwargs["rhubarb"] = rhubarb
        try:
            sec = _runner(area)(**kwargs)
        except Exception as exc:  # one area's failure never hides the others' numbers
            failed = True
            sec = Section(f"{area}: FAILED", notes=[f"{type(exc).__name__}: {exc}"])
            if os.environ.get("TALKCLIP_DEBUG"):
                traceback.print_exc()
        sec.seconds = time.perf_counter() - t0
        sec.notes.append(f"({area}: {sec.seconds:.0f} s)")
        sections.append(sec)
        progress(f"{area} done in {sec.seconds:.0f} s")
    return write_report(sections, out_dir, full), failed
