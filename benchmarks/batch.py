"""Batch throughput: ``python -m blender_addon.batch MANIFEST`` on N short lines, in this process
(models loaded once) and with ``--workers 1`` and ``--workers 2`` (models loaded once per worker);
jobs per minute from the batch's own report and from the wall clock of the whole process.

The scene is built here with bpy (a small mesh with ARKit-named shape keys) in a temporary
folder; the lines are the synthetic test sentences (cycled), each with its transcript and a
style prompt; every job writes a ``.blend`` copy with the baked take. Each mode starts from an
empty output folder.

    python -m benchmarks.batch [--lines 12] [--modes 0,1,2]      (0: in this process)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import REPO, SPEECH_DIR, Section

QUICK_JOBS = 12
FULL_JOBS = 20
MODES = (0, 1, 2)  # --workers N; 0 runs the lines in the batch process itself
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


def _run_mode(folder: Path, manifest: Path, workers: int) -> dict:
    """One batch over the manifest from an empty output folder: its report and wall-clock seconds."""
    shutil.rmtree(folder / "out", ignore_errors=True)
    report = folder / f"report-{workers}.json"
    cmd = [sys.executable, "-m", "blender_addon.batch", str(manifest), "--report", str(report), "--quiet"]
    cmd += ["--workers", str(workers)] if workers else []
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    if not report.is_file():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"workers": workers, "error": f"exit {proc.returncode}: {tail}"}
    data = json.loads(report.read_text(encoding="utf-8"))
    return {"workers": workers, "summary": data["summary"], "process_s": wall, "jobs": data["jobs"],
            "jobs_per_minute_wall": 60.0 * len(data["jobs"]) / wall if wall else float("nan")}


def _mode_name(workers: int) -> str:
    return "in process" if not workers else f"--workers {workers}"


_SPIN = "sum(range(3 * 10 ** 7))"  # about half a second of one core


def parallel_ceiling() -> float:
    """What two processes can gain on this machine right now: (2 x one spin's time) / (two spins
    side by side); 2.0 on two idle cores, about 1.0 when another job holds one of two cores."""
    def spins(k: int) -> float:
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(k)]
        for proc in procs:
            proc.wait()
        return time.perf_counter() - t0
    return 2 * spins(1) / spins(2)


def measure(n: int, modes=MODES, progress=print) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="talkclip-batch-") as tmp:
        folder = Path(tmp)
        progress("batch: building the scene")
        make_scene(folder / "face.blend")
        manifest = write_manifest(folder, n)
        results = []
        for workers in modes:
            progress(f"batch: {n} jobs, {_mode_name(workers)}")
            results.append(_run_mode(folder, manifest, workers))
        return results


def _mode_row(m: dict, base_jpm: float | None) -> list[str]:
    summ = m["summary"]
    jobs = m["jobs"]
    per_job = sorted(j["seconds"] for j in jobs if j["status"] == "ok")
    audio_s = sum(j.get("frames") or 0 for j in jobs) / 30.0
    jpm = 60.0 * summ["total"] / summ["seconds"] if summ["seconds"] else float("nan")
    speedup = f"{m['jobs_per_minute_wall'] / base_jpm:.2f}x" if base_jpm else "n/a"
    return [_mode_name(m["workers"]), str(summ["total"]), str(summ["ok"]), str(summ["failed"]), f"{summ['seconds']:.1f}",
            f"{m['process_s']:.1f}", f"{jpm:.1f}", f"{m['jobs_per_minute_wall']:.1f}", speedup,
            f"{per_job[len(per_job) // 2]:.2f}" if per_job else "n/a", f"{audio_s:.1f}"]


def run(full: bool = False, out_dir: Path | None = None, progress=print, n_jobs: int | None = None,
        modes=MODES) -> Section:
    n = n_jobs or (FULL_JOBS if full else QUICK_JOBS)
    sec = Section(f"Batch throughput (python -m blender_addon.batch, {n} short lines; in process and 1 or 2 workers)")
    try:
        import bpy  # noqa: F401
    except ImportError:
        sec.notes.append("bpy is not installed: batch benchmark skipped.")
        sec.data = {"skipped": True}
        return sec
    ceiling_before = parallel_ceiling()
    results = measure(n, modes, progress)
    ceiling = (ceiling_before + parallel_ceiling()) / 2
    broken = [m for m in results if "error" in m]
    if broken:
        sec.notes += [f"{_mode_name(m['workers'])}: batch failed ({m['error']})" for m in broken]
        sec.data = {"error": broken[0]["error"]}
        return sec
    one = next((m for m in results if m["workers"] == 1), None)
    base = one["jobs_per_minute_wall"] if one else None
    sec.header = ["mode", "jobs", "ok", "failed", "batch s (report)", "process s (with start-up)", "jobs/minute (report)",
                  "jobs/minute (process)", "vs --workers 1", "median job s", "audio s"]
    sec.rows = [_mode_row(m, base) for m in results]
    first = results[0]
    summ = first["summary"]
    sec.data = {"summary": summ, "process_s": first["process_s"],
                "jobs_per_minute": 60.0 * summ["total"] / summ["seconds"] if summ["seconds"] else float("nan"),
                "job_seconds": [j["seconds"] for j in first["jobs"]],
                "modes": [{k: v for k, v in m.items() if k != "jobs"} for m in results],
                "errors": [j["error"] for m in results for j in m["jobs"] if j.get("error")][:5],
                "parallel_ceiling": ceiling, "cpus": os.cpu_count()}
    sec.notes.append("Each job: open the .blend, generate with transcript + style prompt, bake 52 shape keys, save a "
                     ".blend copy. In process, the models load once (on the first job); with --workers N once per "
                     "worker process. jobs/minute (process) = jobs / the wall clock of the whole command, start-up "
                     "and model loading included; (report) = jobs / the report's seconds.")
    sec.notes.append(f"Parallel ceiling of this machine during the run: {ceiling:.2f}x ({os.cpu_count()} CPUs; two "
                     "CPU-bound processes side by side against one, measured before and after; 2.0 on two idle cores, "
                     "about 1.0 when other work holds a core): --workers 2 cannot gain more than that.")
    if sec.data["errors"]:
        sec.notes.append(f"Failed jobs: {sec.data['errors']}")
    return sec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=QUICK_JOBS, help=f"lines in the manifest (default {QUICK_JOBS})")
    p.add_argument("--modes", default=",".join(map(str, MODES)), help="worker counts to compare; 0 = in process")
    args = p.parse_args(argv)
    sec = run(n_jobs=args.lines, modes=[int(x) for x in args.modes.split(",")],
              progress=lambda msg: print(f"  .. {msg}", file=sys.stderr, flush=True))
    print(sec.markdown())
    return 0 if sec.rows else 1


if __name__ == "__main__":
    sys.exit(main())
