"""Farm jobs: ``talkclip farm openjd`` bundles (template, parameter values, refusals), ``openjd
check`` on them, the merge of chunk reports (missing, unfinished and disagreeing chunks), and
whole jobs run locally with ``openjd run`` through both runners: the ``bpy`` module on real speech
and a stand-in ``blender`` that forwards ``-b --command talkclip ...`` to the extension's own
command handler."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from talkclip_cli import farm

pytestmark = pytest.mark.slow  # openjd runs whole job bundles: run by scripts/test.sh --all and .ci/run

SPEECH = ROOT / "tests" / "data" / "speech"
OPENJD = Path(sys.executable).with_name("openjd")
bpy_mark = pytest.mark.bpy


def _openjd() -> str:
    if not OPENJD.is_file():
        pytest.skip("openjd-cli is not installed (pip install openjd-cli)")
    return str(OPENJD)


def _talkclip(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "talkclip_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def _openjd_run(bundle: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([_openjd(), "run", str(bundle / "template.yaml"), "--job-param",
                           f"file://{bundle / 'params.json'}", "--step", "Merge", "--run-dependencies"],
                          capture_output=True, text=True, timeout=timeout)


# --- the template, without running anything ------------------------------------------------------

@pytest.mark.parametrize("runner", farm.RUNNERS)
def test_template_steps_commands_and_yaml(tmp_path, runner):
    yaml = pytest.importorskip("yaml")
    exe = "/opt/py/bin/python" if runner == "bpy" else "blender"
    template = farm.build_template("TalkCLIP batch: x", runner, 3, 2, exe, ["--allow-outside-paths"], {})
    text = "\n".join(farm.to_yaml(template)) + "\n"
    assert yaml.safe_load(text) == template  # the writer's YAML is the dict
    batch, merge = template["steps"]
    assert merge["name"] == "Merge" and merge["dependencies"] == [{"dependsOn": batch["name"]}]
    assert batch["parameterSpace"]["taskParameterDefinitions"] == [{"name": "Chunk", "type": "INT", "range": "1-{{Param.Chunks}}"}]
    run = batch["script"]["actions"]["onRun"]
    head = ["-m", "blender_addon.batch"] if runner == "bpy" else ["-b", "--command", "talkclip", "batch"]
    assert run["command"] == ("{{Param.Python}}" if runner == "bpy" else "{{Param.Blender}}")
    assert run["args"][:len(head)] == head and "--allow-outside-paths" in run["args"]
    assert run["args"][run["args"].index("--chunk") + 1] == "{{Task.Param.Chunk}}/{{Param.Chunks}}"
    assert {"--exit-zero", "--workers", "{{Param.Workers}}"} <= set(run["args"])
    merge_args = merge["script"]["actions"]["onRun"]["args"]
    assert merge_args[:len(head)] == (["-m", "blender_addon.chunks"] if runner == "bpy" else head[:-1] + ["merge"])
    defaults = {p["name"]: p.get("default") for p in template["parameterDefinitions"]}
    assert defaults["Chunks"] == 3 and defaults["Workers"] == 2 and exe in defaults.values()
    (tmp_path / "template.yaml").write_text(text)
    if OPENJD.is_file():
        check = subprocess.run([str(OPENJD), "check", str(tmp_path / "template.yaml")], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_yaml_quotes_what_would_be_read_otherwise():
    yaml = pytest.importorskip("yaml")
    tricky = {"a": ["yes", "no", "1.0", "null", "{{Param.X}}", "x: y", "- z", "#c", "é \"q\" \\ '"], "b": [], "c": {}}
    assert yaml.safe_load("\n".join(farm.to_yaml(tricky))) == tricky


def test_a_missing_blender_is_named_in_one_line(tmp_path):
    manifest = tmp_path / "jobs.json"
    manifest.write_text("[]")
    proc = _talkclip("farm", "openjd", str(manifest), "--out", str(tmp_path / "b"), "--chunks", "2",
                     "--blender", str(tmp_path / "no" / "blender"))
    assert proc.returncode == 2 and "not found (give --blender PATH, or --runner bpy)" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "b").exists()


# --- bundles from manifests (the runner plans them) -------------------------------------------------

@pytest.fixture
def face_folder(tmp_path):
    """A folder with a face .blend (as tests/test_blender_batch.py's batch_folder) and a track."""
    bpy = pytest.importorskip("bpy")
    from bpy_scenes import build_face, empty_scene
    from helpers import synthetic_track

    from exporters.track_io import write_json

    empty_scene()
    build_face()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "face.blend"), copy=True)
    write_json(synthetic_track(45, seed=7), tmp_path / "line01.json")
    return tmp_path


def _write(folder: Path, rows: list[dict]) -> Path:
    path = folder / "jobs.json"
    path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return path


def _track_rows(n: int) -> list[dict]:
    return [{"name": f"take{i:02d}", "blend": "face.blend", "object": "Face", "track": "line01.json",
             "output": f"out/take{i:02d}.csv"} for i in range(1, n + 1)]


@bpy_mark
def test_colliding_manifest_is_refused_before_anything_is_written(face_folder):
    rows = _track_rows(4)
    rows[3]["output"] = "out/take01.csv"  # lines 1 and 4 would race on one file
    manifest = _write(face_folder, rows)
    proc = _talkclip("farm", "openjd", str(manifest), "--out", str(face_folder / "bundle"), "--chunks", "2", "--runner", "bpy")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "collide" in err[0] and "line 1 (take01)" in err[0] and "line 4 (take04)" in err[0]
    assert not (face_folder / "bundle").exists() and not (face_folder / "out").exists()


@bpy_mark
def test_bundle_files_and_a_previous_bundle_replaced(face_folder):
    manifest = _write(face_folder, _track_rows(5))
    bundle = face_folder / "bundle"
    (bundle / "chunks" / "9").mkdir(parents=True)
    (bundle / "template.yaml").write_text("old")
    (bundle / "report.json").write_text("{}")
    proc = _talkclip("farm", "openjd", str(manifest), "--out", str(bundle), "--chunks", "9", "--runner", "bpy")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in bundle.iterdir()) == ["asset_references.json", "parameter_values.json",
                                                        "params.json", "template.yaml"]
    params = json.loads((bundle / "params.json").read_text())
    assert params == {"Manifest": str(manifest.resolve()), "BundleDir": str(bundle.resolve()), "Chunks": 5,  # 9 > 5 lines
                      "Workers": 1, "Python": sys.executable}
    values = json.loads((bundle / "parameter_values.json").read_text())["parameterValues"]
    assert {v["name"]: v["value"] for v in values} == params
    refs = json.loads((bundle / "asset_references.json").read_text())["assetReferences"]
    assert str(face_folder / "face.blend") in refs["inputs"]["filenames"]
    assert str(face_folder / "out") in refs["outputs"]["directories"]
    check = subprocess.run([_openjd(), "check", str(bundle / "template.yaml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    not_a_bundle = face_folder / "stuff"
    not_a_bundle.mkdir()
    (not_a_bundle / "keep.txt").write_text("mine")
    proc = _talkclip("farm", "openjd", str(manifest), "--out", str(not_a_bundle), "--chunks", "2", "--runner", "bpy")
    assert proc.returncode == 2 and "not empty" in proc.stderr and (not_a_bundle / "keep.txt").is_file()


STAND_IN = textwrap.dedent("""\
    #!{python}
    # A stand-in for `blender`: checks the command line the bundle gives Blender, then runs the
    # extension's own `blender --command talkclip ...` handler with the bpy module.
    import sys
    sys.path.insert(0, {root!r})
    args = sys.argv[1:]
    assert args[:3] == ["-b", "--command", "talkclip"], args
    with open({log!r}, "a") as fh:
        fh.write(" ".join(args) + "\\n")
    from blender_addon.batch import cli_command
    sys.exit(cli_command(args[3:]))
    """)


@bpy_mark
def test_blender_runner_bundle_runs_through_blender_command_lines(face_folder):
    """--runner blender: the plan, every chunk and the merge go through `blender -b --command
    talkclip batch|merge ...` (here a stand-in that hands them to the real handler)."""
    log = face_folder / "blender_calls.txt"
    stand_in = face_folder / "bin" / "blender"
    stand_in.parent.mkdir()
    stand_in.write_text(STAND_IN.format(python=sys.executable, root=str(ROOT), log=str(log)))
    stand_in.chmod(0o755)
    rows = _track_rows(5)
    rows[2] = {**rows[2], "object": "Ghost"}
    manifest = _write(face_folder, rows)
    bundle = face_folder / "bundle"
    proc = _talkclip("farm", "openjd", str(manifest), "--out", str(bundle), "--chunks", "2", "--blender", str(stand_in))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((bundle / "params.json").read_text())["Blender"] == str(stand_in)
    run = _openjd_run(bundle)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    calls = log.read_text().splitlines()
    assert [c.split()[3] for c in calls] == ["batch", "batch", "batch", "merge"]  # plan, 2 chunks, merge
    assert "--chunk 1/2" in calls[1] and "--chunk 2/2" in calls[2] and "--exit-zero" in calls[1]
    report = json.loads((bundle / "report.json").read_text())
    assert [j["status"] for j in report["jobs"]] == ["ok", "ok", "failed", "ok", "ok"]
    assert "'Ghost' not found" in report["jobs"][2]["error"]
    assert sorted(p.name for p in (face_folder / "out").iterdir()) == [f"take{i:02d}.csv" for i in (1, 2, 4, 5)]


# --- the merge ------------------------------------------------------------------------------------

def _chunk_report(bundle: Path, k: int, entries: list[dict]) -> None:
    path = bundle / "chunks" / str(k) / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"manifest": "m", "jobs": entries, "summary": {"seconds": 1.5}}))


def _entry(job: int, status: str = "ok", name: str | None = None, **kw) -> dict:
    return {"job": job, "name": name or f"take{job:02d}", "status": status, "seconds": 0.5, "frames": 45,
            "channels_mapped": 52, "output": f"out/take{job:02d}.csv", "warnings": [], **kw}


@bpy_mark
def test_merge_fails_lines_of_crashed_missing_and_disagreeing_chunks(face_folder):
    from blender_addon import chunks

    manifest = _write(face_folder, _track_rows(9))
    bundle = face_folder / "bundle"
    _chunk_report(bundle, 1, [_entry(1), _entry(2, "skipped"), _entry(3, "failed", error="bad audio")])
    # chunk 2 left no report at all; chunk 3 crashed after line 7, and claims line 2 differently
    _chunk_report(bundle, 3, [_entry(7), _entry(8, "pending"), _entry(9, "ok", name="renamed"), _entry(2, "failed")])
    out = bundle / "report.json"
    assert chunks.main([str(bundle / "chunks"), "--manifest", str(manifest), "--chunks", "3", "--report", str(out)]) == 0
    report = json.loads(out.read_text())
    jobs = report["jobs"]
    assert [j["job"] for j in jobs] == list(range(1, 10))  # one entry per manifest line, in order
    assert [j["status"] for j in jobs] == ["ok", "failed", "failed", "failed", "failed", "failed", "ok", "failed", "failed"]
    assert "chunk reports disagree on line 2: chunk 1 says skipped; chunk 3 says failed" in jobs[1]["error"]
    assert jobs[2]["error"] == "bad audio"
    assert all("chunk 2/3 left no result for this line: it never ran" in jobs[i]["error"] for i in (3, 4, 5))
    assert jobs[3]["output"] == str(face_folder / "out" / "take04.csv")  # described from the manifest
    assert "chunk 3/3 stopped before this line finished" in jobs[7]["error"]
    assert "names line 9 'renamed', the manifest 'take09'" in jobs[8]["error"]
    assert report["summary"]["total"] == 9 and report["summary"]["seconds"] == pytest.approx(3.0)
    html = (bundle / "report.html").read_text()
    assert html.count('<tr data-status="') == 9


# --- whole jobs with openjd run --------------------------------------------------------------------

def _speech_rows(folder: Path) -> list[dict]:
    """12 lines of real speech (6 recordings, each twice, in several formats and styles), the 6th broken."""
    wavs = sorted(SPEECH.glob("*.wav"))
    for wav in wavs:
        shutil.copy(wav, folder / wav.name)
    prompts = ("calm", "cheerful, smiling", "annoyed", "nervous", "", "sad and tired")
    suffixes = (".json", ".csv", ".npz", ".blend")
    rows = []
    for i in range(12):
        wav = wavs[i % len(wavs)]
        rows.append({"name": f"line{i + 1:02d}", "blend": "face.blend", "object": "Face", "audio": wav.name,
                     "transcript": wav.with_suffix(".txt").read_text().strip(), "prompt": prompts[i % len(prompts)],
                     "output": f"out/line{i + 1:02d}{suffixes[i % len(suffixes)]}"})
    rows[5]["audio"] = "missing.wav"
    return rows


@bpy_mark
@pytest.mark.slow
def test_openjd_run_on_real_speech_in_three_chunks(face_folder):
    manifest = _write(face_folder, _speech_rows(face_folder))
    bundle = face_folder / "bundle"
    proc = _talkclip("farm", "openjd", str(manifest), "--out", str(bundle), "--chunks", "3", "--runner", "bpy")
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run([_openjd(), "check", str(bundle / "template.yaml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    run = _openjd_run(bundle)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    outputs = sorted(p.name for p in (face_folder / "out").iterdir())
    assert len(outputs) == 11 and "line06.csv" not in outputs  # no temporary files either
    report = json.loads((bundle / "report.json").read_text())
    assert [j["job"] for j in report["jobs"]] == list(range(1, 13))
    assert [j["status"] for j in report["jobs"]].count("failed") == 1
    broken = report["jobs"][5]
    assert broken["status"] == "failed" and "missing.wav" in broken["error"] and "does not exist" in broken["error"]
    assert report["summary"] == {**report["summary"], "total": 12, "ok": 11, "failed": 1, "pending": 0}
    for job in report["jobs"]:
        if job["status"] == "ok":
            assert job["frames"] > 60 and job["channels_mapped"] == 52 and isinstance(job["seed"], int)
            assert max(float(v) for v in job["curves"]["jawOpen"].split()) > 10  # the mouth moves (percent)
    for k in (1, 2, 3):  # each chunk ran its own four lines
        chunk = json.loads((bundle / "chunks" / str(k) / "report.json").read_text())
        assert [j["job"] for j in chunk["jobs"]] == list(range(4 * k - 3, 4 * k + 1))
    html = (bundle / "report.html").read_text()
    assert html.count('<tr data-status="') == 12 and html.index('data-status="failed"') < html.index('data-status="ok"')
    from exporters.formats import read_track

    take = read_track(face_folder / "out" / "line01.json")
    assert take.num_frames == report["jobs"][0]["frames"] and np.ptp(take.channel("jawOpen")) > 0.1
