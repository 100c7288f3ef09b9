"""Batch throughput: ``python -m blender_addon.batch MANIFEST`` on N short lines, models loaded
once; jobs per minute from the batch's own report.

The scene is built here with bpy (a small mesh with ARKit-named shape keys) in a temporary
folder; the lines are the synthetic test sentences (cycled), each with its transcript and a
style prompt; every job writes a ``.blend`` copy with the baked take.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import REPO, SPEECH_DIR, Section

QUICK_JOBS = 5
FULL_JOBS = 20
PROMPTS = ("calm", "cheerful, smiling", "annoyed", "nervous, glancing away", "sad and tired")

_MAKE_BLEND = r"""
import sys, bpy
from talkclip_model.arkit import ARKIT_NAMES
bpy.ops.wm.read_factory_settings(use_empty=True)
me = bpy.data.meshes.new("Face")
verts = [(x * 0.1, y * 0.1, 0.0) for y in range(8) for x in range(8)]
faces = [(y * 8 + x, y * 8 + x + 1, (y + 1) * 8 + x + 1, (y + 1) * 8 + x) for y in range(7) for x in range(7)]
me.from_pydata(verts, [], faces)
obj = bpy.data.objects.new("Face", me)
bpy.context.scene.collection.objects.link(obj)
obj.shape_key_add(name="Basis")
for i, name in enumerate(ARKIT_NAMES):
    kb = obj.shape_key_add(name=name)
    kb.data[i % 64].co.z += 0.05
bpy.context.scene.render.fps = 30
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[1])
"""


def make_scene(path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _MAKE_BLEND, str(path)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0 or not path.is_file():
        raise RuntimeError(f"building {path.name} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")


def write_manifest(folder: Path, n: int) -> Path:
    lines = sorted(SPEECH_DIR.glob("*.wav"))
    jobs = []
    for i in range(n):
        wav = lines[i % len(lines)]
        jobs.append({"name": f"line{i + 1:02d}", "blend": str(folder / "face.blend"), "object": "Face",
                     "audio": str(wav), "transcript": str(wav.with_suffix(".txt")), "prompt": PROMPTS[i % len(PROMPTS)],
                     "output": str(folder / "out" / f"line{i + 1:02d}.blend")})
    path = folder / "jobs.json"
    path.write_text(json.dumps(jobs, indent=1), encoding="utf-8")
    return path


def run(full: bool = False, out_dir: Path | None = None, progress=print, n_jobs: int | None = None) -> Section:
    n = n_jobs or (FULL_JOBS if full else QUICK_JOBS)
    sec = Section(f"Batch throughput (python -m blender_addon.batch, {n} short lines)")
    try:
        import bpy  # noqa: F401
    except ImportError:
        sec.notes.append("bpy is not installed: batch benchmark skipped.")
        sec.data = {"skipped": True}
        return sec
    with tempfile.TemporaryDirectory(prefix="talkclip-batch-") as tmp:
        folder = Path(tmp)
        progress("batch: building the scene")
        make_scene(folder / "face.blend")
        manifest = write_manifest(folder, n)
        report = folder / "report.json"
        progress(f"batch: {n} jobs")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "blender_addon.batch", str(manifest), "--report", str(report),
                               "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=1800)
        process_s = time.perf_counter() - t0
        if not report.is_file():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            sec.notes.append(f"batch failed (exit {proc.returncode}): {tail}")
            sec.data = {"error": tail}
            return sec
        data = json.loads(report.read_text(encoding="utf-8"))
    summ = data["summary"]
    jobs = data["jobs"]
    audio_s = sum(j.get("frames") or 0 for j in jobs) / 30.0
    per_job = sorted(j["seconds"] for j in jobs if j["status"] == "ok")
    first = jobs[0]["seconds"] if jobs else 0.0
    rest = [j["seconds"] for j in jobs[1:] if j["status"] == "ok"]
    sec.header = ["jobs", "ok", "failed", "batch s (report)", "process s (with start-up)", "jobs/minute",
                  "jobs/minute after the first", "first job s (loads models)", "median job s", "audio s"]
    jpm = 60.0 * summ["total"] / summ["seconds"] if summ["seconds"] else float("nan")
    jpm_rest = 60.0 * len(rest) / sum(rest) if rest else float("nan")
    sec.rows.append([str(summ["total"]), str(summ["ok"]), str(summ["failed"]), f"{summ['seconds']:.1f}",
                     f"{process_s:.1f}", f"{jpm:.1f}", f"{jpm_rest:.1f}", f"{first:.2f}",
                     f"{per_job[len(per_job) // 2]:.2f}" if per_job else "n/a", f"{audio_s:.1f}"])
    sec.data = {"summary": summ, "process_s": process_s, "jobs_per_minute": jpm, "jobs_per_minute_warm": jpm_rest,
                "job_seconds": [j["seconds"] for j in jobs], "errors": [j["error"] for j in jobs if j.get("error")][:5]}
    sec.notes.append("Each job: open the .blend, generate with transcript + style prompt (models loaded once, on the "
                     "first job), bake 52 shape keys, save a .blend copy. jobs/minute = jobs / the report's batch seconds "
                     "(without the Python start-up; the process column includes it).")
    if summ["failed"]:
        sec.notes.append(f"Failed jobs: {sec.data['errors']}")
    return sec
