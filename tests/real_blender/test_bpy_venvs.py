"""The built extension zip in clean venvs that hold only ``bpy``, and the bpy tests on bpy 5.2.3.

- ``bpy-5.0.1`` (Python 3.11: Blender 4.2-5.0) and ``bpy-5.2.3`` (Python 3.13: Blender 5.1+) get
  the same linux-x64 zip installed with Blender's own extension installer, Blender's user folders
  in a temporary folder, no PYTHONPATH and a working folder outside the repository: only the
  installed extension can provide our code and its dependencies. Then the installed extension's
  batch (what ``blender -b --command talkclip batch`` calls) generates from a real LibriVox line
  on the ICT FaceKit head (non-ARKit shape-key names), with and without its transcript.
- ``dev-bpy-5.2.3`` runs the project's ``bpy`` tests from the repository on bpy 5.2.3 / numpy 2
  (the project's own venv covers bpy 5.0.1 in the default run).

The venvs come from ``scripts/bpy_venvs.sh`` (outside the repository, kept between runs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.bpy_matrix

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SHARED_DATA = Path(os.environ.get("TALKCLIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
LINE = "pocketsphinx_test/librivox/sense_and_sensibility_01_austen_64kb-0870"
PROMPT = "a furious man, brows knitted"
CLEAN_VENVS = {"bpy-5.0.1": "clean-5.0.1", "bpy-5.2.3": "clean-5.2.3"}
ADDON = "bl_ext.user_default.talkclip"
# imported by a generate, each of which must come from the installed extension
MUST_LOAD = (ADDON, "talkclip_model", "exporters", "onnxruntime", "pocketsphinx", "soundfile", "soxr",
             "tokenizers", "_cffi_backend")


def _need(path: Path, what: str) -> Path:
    """``path``, or skip (outside CI) / fail (in CI, where the data must be present)."""
    if not path.exists():
        message = f"{what} not present: {path}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must have it)")
        pytest.skip(message)
    return path


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that could put the repository or the project's venv on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BLENDER_", "PYTHON", "TALKCLIP_", "VIRTUAL_ENV", "CONDA"))}
    env.update({"PYTHONPATH": "", "PYTHONNOUSERSITE": "1", **extra})
    return env


@pytest.fixture(scope="session")
def bpy_venv():
    """``bpy_venv(kind)`` -> the venv folder scripts/bpy_venvs.sh makes (or finds ready) for ``kind``."""
    made: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in made:
            t0 = time.perf_counter()
            proc = subprocess.run(["bash", str(ROOT / "scripts" / "bpy_venvs.sh"), kind], capture_output=True,
                                  text=True, timeout=1800)
            if proc.returncode != 0:
                message = f"scripts/bpy_venvs.sh {kind} failed:\n{proc.stderr[-3000:]}"
                if "no Python" in proc.stderr and not os.environ.get("CI"):
                    pytest.skip(message)
                pytest.fail(message)
            made[kind] = Path(proc.stdout.split()[-1])
            print(f"venv {kind}: {made[kind]} ({time.perf_counter() - t0:.1f} s)")
        return made[kind]

    return get


@pytest.fixture(scope="session")
def line_files() -> dict[str, Path]:
    """The LibriVox line (wav + transcript) and the ICT FaceKit data, or skip/fail when absent."""
    wav = _need(SHARED_DATA / f"{LINE}.wav", "LibriVox line")
    return {"wav": wav, "txt": _need(wav.with_suffix(".txt"), "its transcript"),
            "ict": _need(SHARED_DATA / "ict_facekit" / "ict_expression_deltas.npz", "ICT FaceKit").parent}


# Runs in the clean venv: install the zip with Blender's installer, run the installed batch, then
# open each output and read the take's F-curves (layered/slotted actions in 4.4+, else legacy).
INSTALL_AND_BATCH = r'''
import importlib, importlib.util, json, os, sys, time
t0 = time.perf_counter()
import bpy

zip_path, manifest, user = sys.argv[1:4]
ADDON = "bl_ext.user_default.talkclip"
out = {"bpy": bpy.app.version_string, "python": "%d.%d" % sys.version_info[:2]}
# nothing of ours may be importable before the install; which dependencies bpy's venv already has
out["before_install"] = [m for m in ("talkclip_model", "exporters", "blender_addon", "talkclip")
                         if importlib.util.find_spec(m) is not None]
DEPS = ("onnxruntime", "pocketsphinx", "soundfile", "soxr", "tokenizers", "cffi", "_cffi_backend",
        "typing_extensions", "tqdm")
out["deps_before_install"] = [m for m in DEPS if importlib.util.find_spec(m) is not None]
# reset first, then install: a factory reset after the install disables the extension again
bpy.ops.wm.read_factory_settings(use_empty=True)
t1 = time.perf_counter()
result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
out["install"] = sorted(result)
out["install_s"] = round(time.perf_counter() - t1, 2)
out["enabled"] = ADDON in bpy.context.preferences.addons
batch = importlib.import_module(ADDON + ".batch")
t1 = time.perf_counter()
out["batch_exit"] = batch.cli_command(["batch", manifest])
out["batch_s"] = round(time.perf_counter() - t1, 2)
# where our code and every dependency of the pipeline came from
mods = ("talkclip_model", "exporters", ADDON) + DEPS
out["files"] = {m: getattr(sys.modules.get(m), "__file__", None) for m in mods}
out["numpy"] = sys.modules["numpy"].__file__ if "numpy" in sys.modules else None


def action_fcurves(action):
    """Every F-curve of ``action``: channelbags of layered actions (Blender 4.4+), else ``fcurves``."""
    layers = getattr(action, "layers", None)
    if layers is not None and len(layers):
        return [fc for layer in layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves]
    return list(getattr(action, "fcurves", ()))


with open(manifest, encoding="utf-8") as fh:
    jobs = json.load(fh)
out["takes"] = {}
for job in jobs:
    path = os.path.join(os.path.dirname(manifest), job["output"])
    if not os.path.isfile(path):
        continue
    bpy.ops.wm.open_mainfile(filepath=path, load_ui=False)
    key = bpy.data.objects[job["object"]].data.shape_keys
    action = key.animation_data.action
    curves = {}
    for fc in action_fcurves(action):
        values = [kp.co[1] for kp in fc.keyframe_points]
        frames = [kp.co[0] for kp in fc.keyframe_points]
        if values:
            curves[fc.data_path] = {"n": len(values), "min": min(values), "max": max(values),
                                    "mean": sum(values) / len(values), "first": frames[0], "last": frames[-1]}
    out["takes"][job["name"]] = {
        "action": action.name, "curves": curves,
        "nla": [s.action.name for t in key.animation_data.nla_tracks for s in t.strips if s.action],
        "prompt": action.get("talkclip_prompt"),
    }
out["total_s"] = round(time.perf_counter() - t0, 2)
print("RESULT " + json.dumps(out))
'''


def _run(cmd: list, *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs)


def _curve(take: dict, key: str) -> dict:
    path = f'key_blocks["{key}"].value'
    assert path in take["curves"], f"no F-curve for {key}; baked: {sorted(take['curves'])}"
    return take["curves"][path]


@pytest.mark.parametrize("venv_name", sorted(CLEAN_VENVS))
def test_zip_generates_in_clean_bpy_venv(venv_name, bpy_venv, addon_zip, line_files, tmp_path):
    python = bpy_venv(CLEAN_VENVS[venv_name]) / "bin" / "python"
    user = tmp_path / "blender-user"
    work = tmp_path / "work"  # outside the repository: only the installed extension has our code
    work.mkdir()
    (tmp_path / "home").mkdir()
    env = _clean_env(BLENDER_USER_RESOURCES=str(user), HOME=str(tmp_path / "home"))
    timings = {}

    # the ICT FaceKit head (57 non-ARKit keys: browDown_L, jawOpen, ...) and a hand-keyed action
    t0 = time.perf_counter()
    proc = _run([python, HERE / "make_ict_head.py", line_files["ict"], work / "head.blend"],
                cwd=work, env=env, timeout=300)
    timings["head"] = time.perf_counter() - t0
    assert proc.returncode == 0 and (work / "head.blend").is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]

    shutil.copy(line_files["wav"], work / "line.wav")
    shutil.copy(line_files["txt"], work / "line.txt")
    jobs = [{"name": "transcript", "blend": "head.blend", "object": "Head", "audio": "line.wav",
             "transcript": "line.txt", "prompt": PROMPT, "output": "out/transcript.blend"},
            {"name": "recognised", "blend": "head.blend", "object": "Head", "audio": "line.wav",
             "prompt": PROMPT, "output": "out/recognised.blend"}]
    manifest = work / "jobs.json"
    manifest.write_text(json.dumps(jobs, indent=1), encoding="utf-8")
    script = tmp_path / "install_and_batch.py"
    script.write_text(INSTALL_AND_BATCH, encoding="utf-8")

    t0 = time.perf_counter()
    proc = _run([python, script, addon_zip, manifest, user], cwd=work, env=env, timeout=900)
    timings["install+batch"] = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-4000:] + proc.stderr[-4000:]
    out = json.loads(lines[-1][len("RESULT "):])
    report_path = work / "jobs.json.report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    print(f"{venv_name}: bpy {out['bpy']} / Python {out['python']}: head {timings['head']:.1f} s, "
          f"install {out['install_s']} s, batch {out['batch_s']} s, whole run {timings['install+batch']:.1f} s; "
          + "; ".join(f"{j['name']} {j['status']} {j.get('channels_mapped')} channels {j.get('seconds')} s"
                      for j in report.get("jobs", [])))

    expected_python = {"bpy-5.0.1": "3.11", "bpy-5.2.3": "3.13"}[venv_name]
    assert out["bpy"].startswith(venv_name.split("-")[1]) and out["python"] == expected_python, out
    assert out["before_install"] == [], f"our code was importable before the install: {out['before_install']}"
    assert out["install"] == ["FINISHED"] and out["enabled"], out
    # our code, and every dependency bpy's venv lacks, came from the extension's own folders
    # (numpy, and in bpy 5.2 typing_extensions, are bpy's own dependencies, as in Blender)
    loaded = {m: f for m, f in out["files"].items() if f}
    assert set(MUST_LOAD) <= set(loaded), f"not imported by the batch: {set(MUST_LOAD) - set(loaded)}"
    for module, file in loaded.items():
        assert not Path(file).is_relative_to(ROOT), f"{module} imported from the repository: {file}"
        if module not in out["deps_before_install"]:
            assert Path(file).is_relative_to(user), f"{module} imported from {file}, not from {user}"
    assert {"onnxruntime", "pocketsphinx", "soundfile"}.isdisjoint(out["deps_before_install"]), out
    assert out["numpy"] and not Path(out["numpy"]).is_relative_to(user), out["numpy"]

    assert out["batch_exit"] == 0, json.dumps(report, indent=1)[-4000:] + proc.stdout[-3000:]
    assert [j["status"] for j in report["jobs"]] == ["ok", "ok"], report["jobs"]
    for job in report["jobs"]:
        take = out["takes"][job["name"]]
        assert job["channels_mapped"] >= 40, job
        assert take["action"] == job["action"] and take["action"].startswith("TalkCLIP_"), (take["action"], job)
        assert "HandKeys" in take["nla"], take["nla"]  # the previous action was kept
        keyed = [p for p, c in take["curves"].items() if c["n"] >= 2]
        assert len(keyed) >= 40, f"{job['name']}: {len(keyed)} keyed F-curves: {sorted(take['curves'])}"
        jaw = _curve(take, "jawOpen")
        assert jaw["max"] - jaw["min"] > 0.2, (job["name"], jaw)
        for side in ("browDown_L", "browDown_R"):
            brow = _curve(take, side)
            # "brows knitted": lowered through the line (0 at rest), and not one constant value
            assert brow["mean"] > 0.3, (job["name"], side, brow)
            assert brow["max"] - brow["min"] > 0.05, (job["name"], side, brow)


def test_bpy_suite_on_bpy_523(bpy_venv):
    """The project's bpy tests, run from the repository with bpy 5.2.3 (Python 3.13, numpy 2)."""
    shared_data = _need(SHARED_DATA, "shared data")
    python = bpy_venv("dev-5.2.3") / "bin" / "python"
    env = _clean_env(PYTHONPATH=str(ROOT), TALKCLIP_SHARED_DATA=str(shared_data))
    if "TALKCLIP_WHEEL_CACHE" in os.environ:
        env["TALKCLIP_WHEEL_CACHE"] = os.environ["TALKCLIP_WHEEL_CACHE"]
    t0 = time.perf_counter()
    # tests/real_blender holds only the slow groups (their own set-up, and this very test)
    # -o addopts: the project's defaults (-n 2 and the fast selection) need pytest-xdist, which this venv lacks
    proc = _run([python, "-m", "pytest", "-q", "-o", "addopts=-ra", "-p", "no:cacheprovider", "-m", "bpy",
                 "--ignore=tests/real_blender", "tests/"], cwd=ROOT, env=env, timeout=1200)
    tail = (proc.stdout + proc.stderr)[-6000:]
    # pytest's closing line (Blender may print after it, e.g. "scripts disabled for ...")
    closing = [ln for ln in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
    summary = closing[-1] if closing else ""
    print(f"bpy tests on bpy 5.2.3: {summary} ({time.perf_counter() - t0:.1f} s)")
    assert proc.returncode == 0, tail
    assert " passed" in summary and "failed" not in summary and "error" not in summary, tail
