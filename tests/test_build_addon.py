"""build_addon.py: the generated manifest, the import rewrite, and a built zip installed into the
bpy module (in a subprocess, with Blender's user folders in tmp_path) that then bakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))  # build_addon.py is a script at the repository root
import build_addon  # noqa: E402

from talkclip_model import __version__  # noqa: E402


def test_manifest_comes_from_pyproject_and_version_file():
    meta = build_addon.read_metadata()
    text = build_addon.manifest_text(meta, build_addon.read_version(), ["linux-x64"], ["./wheels/x.whl"])
    data = tomllib.loads(text)
    assert data["schema_version"] == "1.0.0"
    assert data["id"] == "talkclip" and data["type"] == "add-on"
    assert data["version"] == __version__
    assert data["blender_version_min"] == "4.2.0"
    assert data["license"] == ["SPDX:GPL-3.0-or-later"]
    assert data["permissions"]["files"]
    assert data["platforms"] == ["linux-x64"] and data["wheels"] == ["./wheels/x.whl"]
    assert not any("numpy" in r for r in build_addon.WHEEL_REQUIREMENTS)


def test_absolute_imports_become_relative():
    src = textwrap.dedent("""\
        from talkclip_model.arkit import ARKIT_NAMES
        from talkclip_model import __version__
            from exporters.track_io import write_json
        from .blender_binding import bind
        import numpy as np
    """)
    out = build_addon.relative_imports(src, depth=1, where="x.py")
    assert "from ..talkclip_model.arkit import ARKIT_NAMES" in out
    assert "from ..talkclip_model import __version__" in out
    assert "    from ..exporters.track_io import write_json" in out
    assert "from .blender_binding import bind" in out
    assert build_addon.relative_imports("from talkclip_model.x import y", depth=2, where="a/b.py") == \
        "from ...talkclip_model.x import y"
    with pytest.raises(SystemExit, match="cannot be made relative"):
        build_addon.relative_imports("import talkclip_model.arkit\n", depth=1, where="x.py")


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
        bake_src = zf.read("exporters/blender_bake.py").decode()
    assert {"__init__.py", "batch.py", "operators.py", "panel.py", "preferences.py", "properties.py",
            "talkclip_model/__init__.py", "exporters/blender_bake.py", "exporters/retarget.py"} <= names
    assert not any("__pycache__" in n for n in names)
    assert manifest["version"] == __version__
    assert "from ..talkclip_model." in bake_src and "\nfrom talkclip_model" not in bake_src


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
types = importlib.import_module(name + ".talkclip_model.types")
arkit = importlib.import_module(name + ".talkclip_model.arkit")
bake = importlib.import_module(name + ".exporters.blender_bake")
track_io = importlib.import_module(name + ".exporters.track_io")

out = {"prefix": addon._deps.PREFIX, "enabled": name in bpy.context.preferences.addons,
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_USER") and k != "TALKCLIP_CACHE"}
    env.update(BLENDER_USER_RESOURCES=str(user), PYTHONPATH="")
    # run outside the repository so that only the installed extension can be imported
    proc = subprocess.run([sys.executable, str(script), str(built_zip), str(work)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["prefix"] == "bl_ext.user_default.talkclip."
    assert out["file"].startswith(str(user))
    assert out["enabled"] and out["operator"] and out["scene_props"]
    assert out["action"] == "TalkCLIP_installed" and out["channels"] == 52
    assert out["jaw"] == pytest.approx(out["jaw_expected"], abs=1e-5)
    assert out["batch_exit"] == 1
    assert out["prefs"] == ["MINILM", "CPU"]
    assert out["pipeline_settings"] == [None, ["CPUExecutionProvider"]]
    assert out["cache"].startswith(str(user)) and out["cache_env"] == out["cache"]
    assert not Path(out["cache"]).is_relative_to(Path(out["file"]).parent)  # nothing inside the add-on folder
    report = json.loads((work / "jobs.json.report.json").read_text())
    assert [j["status"] for j in report["jobs"]] == ["ok", "failed"]
    assert (work / "out.blend").is_file()


@pytest.mark.slow
def test_build_with_linux_wheels(tmp_path):
    """Downloads the linux-x64 wheels from PyPI (network); checks they land in the manifest."""
    proc = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--platforms", "linux-x64", "--no-model",
                           "--output-dir", str(tmp_path), "--stage-dir", str(tmp_path / "stage"),
                           "--wheel-cache", str(ROOT / "dist" / ".wheel-cache")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "pip download" in proc.stderr:
        pytest.skip(f"PyPI not reachable: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with zipfile.ZipFile(tmp_path / f"talkclip-{__version__}.zip") as zf:
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
        names = zf.namelist()
    wheels = manifest["wheels"]
    for req in ("onnxruntime", "pocketsphinx", "tokenizers", "soundfile", "soxr"):
        assert any(w.split("/")[-1].lower().startswith(req) for w in wheels), req
    assert not any("numpy" in w for w in wheels)
    assert all(w[2:] in names for w in wheels)
    assert manifest["platforms"] == ["linux-x64"]
