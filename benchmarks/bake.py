"""Bake speed in ``bpy``: 52 channels x 60 s, bulk bake against per-key ``keyframe_insert``.

Runs ``benchmarks/bake_speed.py`` (the Blender engineer's script) in its own process and reads
the two times it prints; both are measured in that one run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from . import REPO, Section, verdict

TARGET_BULK_S = 0.1


def run(full: bool = False, out_dir: Path | None = None, progress=print, seconds: float = 60.0) -> Section:
    sec = Section("Bake speed in bpy (52 channels x 60 s x 30 fps)")
    progress("bake: bulk bake vs keyframe_insert (bpy)")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bake_speed.py"), "--seconds", f"{seconds:g}",
                           "--repeat", "5" if full else "3"], cwd=REPO, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if "No module named 'bpy'" in proc.stderr:
            sec.notes.append("bpy is not installed: bake benchmark skipped.")
        else:
            sec.notes.append(f"bake benchmark failed: {tail}")
        sec.data = {"skipped": True, "error": tail}
        return sec
    out = proc.stdout
    bulk = float(re.search(r"foreach_set bake.*?:\s*([\d.]+) ms", out).group(1)) / 1000
    insert = float(re.search(r"keyframe_insert loop:\s*([\d.]+) ms", out).group(1)) / 1000
    keys = int(re.search(r"\((\d+) keys", out).group(1))
    sec.header = ["method", "seconds", "keys per second", "ratio", "target"]
    sec.rows = [["bulk bake (keyframe_points.add + foreach_set)", f"{bulk:.3f}", f"{keys / bulk:,.0f}",
                 f"{insert / bulk:.0f}x faster", f"{verdict(bulk < TARGET_BULK_S)} (< {TARGET_BULK_S * 1000:.0f} ms)"],
                ["per-key keyframe_insert", f"{insert:.3f}", f"{keys / insert:,.0f}", "1x", ""]]
    sec.data = {"bulk_s": bulk, "keyframe_insert_s": insert, "ratio": insert / bulk, "keys": keys,
                "stdout": out.strip().splitlines()}
    sec.notes.append(f"{keys:,} keys; bulk time is the median of {'5' if full else '3'} bakes, keyframe_insert one run "
                     "(benchmarks/bake_speed.py).")
    return sec
