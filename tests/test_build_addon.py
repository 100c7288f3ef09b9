"""build_addon.py: the generated manifest, our own wheel, the run-time wheel closure, and a built zip
installed into the bpy module (in a subprocess, with Blender's user folders in tmp_path) that then
bakes. The zip with its real wheels in real Blenders and clean bpy venvs: tests/real_blender/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT))  # build_addon.py and its parts (addon_build/) sit at the repository root
from addon_build import manifest, own_wheel  # noqa: E402
from addon_build import wheels as addon_wheels  # noqa: E402
from talkclip_model import __version__  # noqa: E402


def test_manifest_comes_from_pyproject_and_version_file():
    meta = manifest.read_metadata()
    text = manifest.manifest_text(meta, manifest.read_version(), ["linux-x64"], ["./wheels/x.whl"])
    data = tomllib.loads(text)
    assert data["schema_version"] == "1.0.0"
    assert data["id"] == "talkclip" and data["type"] == "add-on"
    assert data["version"] == __version__
    assert data["blender_version_min"] == "4.2.0"
    assert data["license"] == ["SPDX:GPL-3.0-or-later"]
    assert data["permissions"]["files"]
    assert data["platforms"] == ["linux-x64"] and data["wheels"] == ["./wheels/x.whl"]
    assert "numpy" in addon_wheels.BLENDER_SHIPS and "numpy" not in addon_wheels.RUNTIME_REQUIREMENTS


def test_own_wheel_holds_our_packages_unmodified(tmp_path):
    whl = own_wheel.build_own_wheel(tmp_path, __version__)
    assert whl.name == f"talkclip-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(whl) as zf:
        names = set(zf.namelist())
        record = zf.read(f"talkclip-{__version__}.dist-info/RECORD").decode().splitlines()
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if digest:  # RECORD lists itself without a hash
                data = zf.read(name)
                assert own_wheel._record_hash(data) == digest and len(data) == int(size), name
        pipeline_src = zf.read("talkclip_model/pipeline.py")
    assert {"talkclip_model/pipeline.py", "talkclip_model/style/weights/minilm_adapter.onnx",
            "exporters/retarget.py", "exporters/profiles/arkit.json", "talkclip_cli/worker.py"} <= names
    assert not any(n.startswith("blender_addon/") or "__pycache__" in n for n in names)
    # what never runs in Blender stays out: torch training and the benchmarks' scoring
    assert not any(n.startswith(("talkclip_model/training/", "talkclip_model/evaluation/")) for n in names)
    assert pipeline_src == (ROOT / "talkclip_model" / "pipeline.py").read_bytes()  # no import rewriting
    assert len(record) == len(names)


def _fake_wheel(folder: Path, filename: str, requires: list[str]) -> Path:
    path = folder / filename
    project, version = filename.split("-")[:2]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{project}-{version}.dist-info/METADATA",
                    f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
                    + "".join(f"Requires-Dist: {r}\n" for r in requires))
    return path


def test_runtime_closure_follows_markers_and_leaves_out_what_blender_ships(tmp_path, monkeypatch):
    monkeypatch.setattr(addon_wheels, "RUNTIME_REQUIREMENTS", ("soundfile", "tokenizers"))
    wheels = [
        _fake_wheel(tmp_path, "soundfile-0.14-py2.py3-none-any.whl",
                    ["cffi>=1.0", "numpy", "typing-extensions; python_version < '3.14'",
                     "pywin32; sys_platform == 'win32'", "pytest; extra == 'test'"]),
        _fake_wheel(tmp_path, "cffi-2.1-cp311-cp311-manylinux2014_x86_64.whl",
                    ["pycparser; implementation_name != 'PyPy'"]),
        _fake_wheel(tmp_path, "pycparser-3.1-py3-none-any.whl", []),
        _fake_wheel(tmp_path, "typing_extensions-4.16-py3-none-any.whl", []),
        _fake_wheel(tmp_path, "tokenizers-0.23-cp310-abi3-manylinux2014_x86_64.whl", ["huggingface-hub>=0.16"]),
        _fake_wheel(tmp_path, "huggingface_hub-2.4-py3-none-any.whl", ["httpx2"]),
        _fake_wheel(tmp_path, "numpy-2.2-cp311-cp311-manylinux2014_x86_64.whl", []),
    ]
    linux = {**addon_wheels.MARKER_ENV["linux-x64"], "python_version": "3.11", "python_full_version": "3.11.0",
             "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    got = [addon_wheels.wheel_project(w.name) for w in addon_wheels.runtime_closure(wheels, linux)]
    # huggingface-hub comes without its HTTP stack (BUNDLED_WITHOUT_DEPENDENCIES)
    assert got == ["cffi", "huggingface-hub", "pycparser", "soundfile", "tokenizers", "typing-extensions"]
    # a narrower set (build_addon.py --no-whisper leaves out WHISPER_REQUIREMENTS) takes only its own
    got = [addon_wheels.wheel_project(w.name) for w in addon_wheels.runtime_closure(wheels, linux, ("soundfile",))]
    assert got == ["cffi", "pycparser", "soundfile", "typing-extensions"]
    windows = {**linux, **addon_wheels.MARKER_ENV["windows-x64"]}
    with pytest.raises(RuntimeError, match="pywin32"):  # required there, and pip resolved no wheel
        addon_wheels.runtime_closure(wheels, windows)


def test_wheel_python_tags():
    assert addon_wheels.wheel_pythons("cffi-2.1.1-cp313-cp313-manylinux2014_x86_64.whl") == {"3.13"}
    assert addon_wheels.wheel_pythons("soxr-1.1.0-cp312-abi3-manylinux_2_28_x86_64.whl") is None
    assert addon_wheels.wheel_pythons("tqdm-4.70.1-py3-none-any.whl") is None
    assert addon_wheels.wheel_project("typing_extensions-4.16.0-py3-none-any.whl") == "typing-extensions"


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    stage = tmp_path_factory.mktemp("stage") / "extension"
    proc = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--no-wheels", "--no-model",
                           "--output-dir", str(out), "--stage-dir", str(stage)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    zip_path = out / f"talkclip-{__version__}.zip"
    assert zip_path.is_file()
    return zip_path


def test_zip_layout(built_zip):
    with zipfile.ZipFile(built_zip) as zf:
        names = set(zf.namelist())
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
        operators_src = zf.read("operators.py")
    own = f"wheels/talkclip-{__version__}-py3-none-any.whl"
    assert {"__init__.py", "batch.py", "operators.py", "panel.py", "preferences.py", "properties.py", own} <= names
    assert "bake.py" in names  # the Blender layer, at the extension root
    assert not any("__pycache__" in n or n.startswith(("talkclip_model/", "exporters/")) for n in names)
    assert manifest["version"] == __version__ and manifest["wheels"] == ["./" + own]
    assert "platforms" not in manifest  # no native wheels: any platform
    assert operators_src == (ROOT / "blender_addon" / "operators.py").read_bytes()


INSTALL_AND_BAKE = r"""
import importlib, json, sys
import numpy as np
import bpy

zip_path, work = sys.argv[1], sys.argv[2]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = 30
result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
assert result == {"FINISHED"}, result
name = "bl_ext.user_default.talkclip"
addon = importlib.import_module(name)
from talkclip_model import types, arkit
bake = importlib.import_module(name + ".bake")
from exporters import track_io
import glob, os
site = bpy.utils.user_resource("EXTENSIONS", path=".local")

out = {"own_wheel": sorted(os.path.relpath(p, site) for p in glob.glob(site + "/lib/python*/site-packages/talkclip_model/pipeline.py")),
       "enabled": name in bpy.context.preferences.addons,
       "operator": hasattr(bpy.ops.talkclip, "generate"), "scene_props": hasattr(bpy.types.Scene, "talkclip"),
       "file": addon.__file__}
me = bpy.data.meshes.new("Face")
me.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
obj = bpy.data.objects.new("Face", me)
bpy.context.scene.collection.objects.link(obj)
obj.shape_key_add(name="Basis")
for n in arkit.ARKIT_NAMES:
    obj.shape_key_add(name=n)
t = np.arange(60)[:, None] / 30.0
track = types.ExpressionTrack(fps=30, arkit=0.5 + 0.4 * np.sin(t * np.arange(1, 53)), head=np.zeros((60, 3)))
summary = bake.bake_shape_keys(obj, track, take="installed", start_frame=1)
bpy.context.scene.frame_set(21)
out["action"] = summary.action
out["channels"] = summary.channels_mapped
out["jaw"] = obj.data.shape_keys.key_blocks["jawOpen"].value
out["jaw_expected"] = float(track.channel("jawOpen")[20])

# the packaged batch, as `blender -b --command talkclip batch` calls it
bpy.ops.wm.save_as_mainfile(filepath=work + "/face.blend", copy=True)
track_io.write_json(track, work + "/take.json")
with open(work + "/jobs.json", "w") as fh:
    json.dump([{"blend": "face.blend", "object": "Face", "track": "take.json", "output": "out.blend"},
               {"blend": "face.blend", "object": "Nobody", "track": "take.json", "output": "bad.blend"}], fh)
out["batch_exit"] = importlib.import_module(name + ".batch").cli_command(["batch", work + "/jobs.json", "--quiet"])
prefs_mod = importlib.import_module(name + ".preferences")
prefs = bpy.context.preferences.addons[name].preferences
out["prefs"] = [prefs.encoder, prefs.device]
out["pipeline_settings"] = prefs_mod.pipeline_settings()
out["cache"] = str(prefs_mod.prepare_cache())
import os
out["cache_env"] = os.environ.get("TALKCLIP_CACHE")
# the Whisper model folder preference reaches the run time (and the worker) through the environment
out["whisper_env_unset"] = os.environ.get("TALKCLIP_WHISPER_MODEL")
prefs.whisper_model = work + "/my-whisper"
prefs_mod.prepare_cache()
out["whisper_env"] = os.environ.get("TALKCLIP_WHISPER_MODEL")
prefs.whisper_model = ""
prefs_mod.prepare_cache()
out["whisper_env_cleared"] = os.environ.get("TALKCLIP_WHISPER_MODEL")
print("RESULT " + json.dumps(out))
"""


@pytest.mark.bpy
def test_built_zip_installs_into_bpy_and_bakes(built_zip, tmp_path):
    pytest.importorskip("bpy")
    script = tmp_path / "install_and_bake.py"
    script.write_text(INSTALL_AND_BAKE, encoding="utf-8")
    user = tmp_path / "blender-user"
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BLENDER_USER") and k not in ("TALKCLIP_CACHE", "TALKCLIP_WHISPER_MODEL")}
    env.update(BLENDER_USER_RESOURCES=str(user), PYTHONPATH="")
    # run outside the repository so that only the installed extension can be imported
    proc = subprocess.run([sys.executable, str(script), str(built_zip), str(work)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    # our wheel went into the extension site-packages (in this venv the editable install may win)
    assert len(out["own_wheel"]) == 1, out["own_wheel"]
    assert out["file"].startswith(str(user))
    assert out["enabled"] and out["operator"] and out["scene_props"]
    assert out["action"] == "TalkCLIP_installed" and out["channels"] == 52
    assert out["jaw"] == pytest.approx(out["jaw_expected"], abs=1e-5)
    assert out["batch_exit"] == 1
    assert out["prefs"] == ["MINILM", "CPU"]
    assert out["pipeline_settings"] == [None, ["CPUExecutionProvider"]]
    assert out["cache"].startswith(str(user)) and out["cache_env"] == out["cache"]
    assert not Path(out["cache"]).is_relative_to(Path(out["file"]).parent)  # nothing inside the add-on folder
    assert out["whisper_env_unset"] is None and out["whisper_env"] == str(work / "my-whisper")
    assert out["whisper_env_cleared"] is None
    report = json.loads((work / "jobs.json.report.json").read_text())
    assert [j["status"] for j in report["jobs"]] == ["ok", "failed"]
    assert (work / "out.blend").is_file()


@pytest.mark.slow
def test_build_with_linux_wheels(tmp_path):
    """Downloads the linux-x64 wheels from PyPI; checks the closure for both Pythons lands in the manifest."""
    proc = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--platforms", "linux-x64", "--no-model",
                           "--output-dir", str(tmp_path), "--stage-dir", str(tmp_path / "stage"),
                           "--wheel-cache", str(ROOT / "dist" / ".wheel-cache")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "installed:" in proc.stdout and "on Python 3.13" in proc.stdout
    with zipfile.ZipFile(tmp_path / f"talkclip-{__version__}-linux_x64.zip") as zf:
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
        names = zf.namelist()
    wheels = [w.split("/")[-1] for w in manifest["wheels"]]
    projects = {addon_wheels.wheel_project(w) for w in wheels}
    # soundfile's own run-time dependencies come along (they were missing before)
    assert {"onnxruntime", "pocketsphinx", "tokenizers", "soundfile", "soxr", "cffi", "typing-extensions",
            "talkclip"} <= projects
    assert not projects & (addon_wheels.BLENDER_SHIPS | addon_wheels.NOT_USED_AT_RUN_TIME)
    # other languages (espeak-ng library, kanji readings) and Whisper, without what only downloads need
    assert {"espeakng-loader", "pykakasi", "faster-whisper", "ctranslate2", "av", "huggingface-hub"} <= projects
    assert not projects & {"httpx", "httpx2", "hf-xet", "fsspec", "pyyaml", "setuptools"}
    for compiled in ("pocketsphinx", "onnxruntime", "cffi", "ctranslate2"):  # one build per supported CPython
        pythons = set().union(*(addon_wheels.wheel_pythons(w) or set() for w in wheels
                                if addon_wheels.wheel_project(w) == compiled))
        assert pythons == set(addon_wheels.PYTHON_VERSIONS), (compiled, pythons)
    assert all(f"wheels/{w}" in names for w in wheels)
    assert manifest["platforms"] == ["linux-x64"]
