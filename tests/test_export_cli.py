"""``talkclip export`` and ``talkclip profiles`` end to end, through the real entry point."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, shared
from test_gltf import quad_character, validate

from exporters.formats import read_track, write_track
from exporters.pointcache import read_mdd, read_pc2
from talkclip_cli.cli import main
from talkclip_model.types import ExpressionTrack


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(map(str, argv)))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def take_json(tmp_path):
    rng = np.random.default_rng(0)
    track = ExpressionTrack(fps=30, arkit=rng.random((60, 52), dtype=np.float32), head=rng.normal(0, 0.1, (60, 3)))
    write_track(track, tmp_path / "take.json")
    return tmp_path / "take.json"


def test_real_capture_csv_json_npz_csv_identical(tmp_path, capsys):
    src = shared("livelink_face_neurosync", "Angry_MySlate_165_iPhone_cal.csv.gz")
    assert run(capsys, "export", "--track", src, "--to", "json", "--out", tmp_path / "a.json")[0] == 0
    assert run(capsys, "export", "--track", tmp_path / "a.json", "--to", "npz", "--out", tmp_path / "a.npz")[0] == 0
    rc, _, err = run(capsys, "export", "--track", tmp_path / "a.npz", "--to", "csv", "--out", tmp_path / "a.csv")
    assert rc == 0 and "frames at 59.94 fps" in err
    assert (tmp_path / "a.csv").read_bytes() == gzip.decompress(src.read_bytes())


def test_export_glb_cues_and_point_caches(tmp_path, capsys, take_json):
    quad_character(tmp_path / "char.glb")
    rc, _, err = run(capsys, "export", "--track", take_json, "--to", "glb", "--character", tmp_path / "char.glb",
                     "--out", tmp_path / "anim.glb")
    assert rc == 0 and "profile arkit" in err and "5 morph targets driven" in err
    validate(tmp_path / "anim.glb")
    rc, _, err = run(capsys, "export", "--track", take_json, "--to", "cues", "--out", tmp_path / "mouth.tsv")
    assert rc == 0 and (tmp_path / "mouth.tsv").read_text().startswith("0.00\t")
    rc, _, _ = run(capsys, "export", "--track", take_json, "--to", "cues", "--out", tmp_path / "mouth.json")
    assert rc == 0 and "mouthCues" in json.loads((tmp_path / "mouth.json").read_text())
    np.savez(tmp_path / "deltas.npz", neutral=np.zeros((4, 3), np.float32), names=np.array(["jawOpen", "eyeBlink_L"]),
             jawOpen__idx=np.array([0]), jawOpen__delta=np.array([[0, -1, 0]], np.float32),
             eyeBlink_L__idx=np.array([3]), eyeBlink_L__delta=np.array([[0, 0, 1]], np.float32))
    for fmt in ("mdd", "pc2"):
        rc, _, err = run(capsys, "export", "--track", take_json, "--to", fmt, "--character", tmp_path / "deltas.npz",
                         "--out", tmp_path / f"cache.{fmt}")
        assert rc == 0 and "4 points" in err, err
    track = read_track(take_json)
    _, pts = read_mdd(tmp_path / "cache.mdd")
    np.testing.assert_allclose(pts[:, 0, 1], -track.channel("jawOpen"), atol=1e-6)
    np.testing.assert_array_equal(read_pc2(tmp_path / "cache.pc2")[1], pts)


def test_overwrite_rules(tmp_path, capsys, take_json):
    out = tmp_path / "x.csv"
    assert run(capsys, "export", "--track", take_json, "--to", "csv", "--out", out)[0] == 0
    first = out.read_bytes()
    rc, _, err = run(capsys, "export", "--track", take_json, "--to", "csv", "--out", out)
    assert rc == 2 and "already exists (use --force" in err and out.read_bytes() == first
    assert run(capsys, "export", "--track", take_json, "--to", "csv", "--out", out, "--force")[0] == 0
    before = take_json.read_bytes()
    rc, _, err = run(capsys, "export", "--track", take_json, "--to", "json", "--out", take_json, "--force")
    assert rc == 2 and "input of this command (--track)" in err and take_json.read_bytes() == before
    quad_character(tmp_path / "c.glb")
    glb = (tmp_path / "c.glb").read_bytes()
    rc, _, err = run(capsys, "export", "--track", take_json, "--to", "glb", "--character", tmp_path / "c.glb",
                     "--out", tmp_path / "c.glb", "--force")
    assert rc == 2 and (tmp_path / "c.glb").read_bytes() == glb


@pytest.mark.parametrize("args, message", [
    (["--to", "csv", "--out", "{tmp}/x.json"], "--to csv writes .csv"),
    (["--to", "json", "--profile", "vrm", "--out", "{tmp}/x.json"], "--profile applies to glb"),
    (["--to", "glb", "--out", "{tmp}/x.glb"], "needs --character"),
    (["--to", "mdd", "--out", "{tmp}/x.mdd"], "needs --character"),
    (["--to", "glb", "--character", "{tmp}/missing.glb", "--out", "{tmp}/x.glb"], "missing.glb: cannot read"),
    (["--to", "cues", "--profile", "nonexistent", "--out", "{tmp}/x.tsv"], "no such profile"),
])
def test_bad_arguments_give_one_line_errors(tmp_path, capsys, take_json, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    rc, _, err = run(capsys, "export", "--track", take_json, *args)
    assert rc == 2 and message in err and err.count("\n") == 1, err
    assert not any(p.name.startswith("x.") for p in tmp_path.iterdir())


def test_bad_takes(tmp_path, capsys):
    rc, _, err = run(capsys, "export", "--track", tmp_path / "none.json", "--to", "csv", "--out", tmp_path / "o.csv")
    assert rc == 2 and "none.json: no such file" in err
    (tmp_path / "cols.csv").write_text("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,61,0.5\n")
    rc, _, err = run(capsys, "export", "--track", tmp_path / "cols.csv", "--to", "json", "--out", tmp_path / "o.json")
    assert rc == 2 and "cols.csv: not a Live Link Face CSV, missing columns EyeBlinkLeft" in err
    (tmp_path / "nan.json").write_text(json.dumps({"fps": 30, "channels": ["jawOpen"], "frames": [[0.1], [float("nan")]]}))
    rc, _, err = run(capsys, "export", "--track", tmp_path / "nan.json", "--to", "csv", "--out", tmp_path / "o.csv")
    assert rc == 2 and "nan.json" in err and "NaN" in err
    (tmp_path / "heads.json").write_text(json.dumps({"fps": 30, "channels": ["jawOpen"], "frames": [[0.1], [0.2]],
                                                     "head": {"channels": ["pitch"], "frames": [[0.0]]}}))
    rc, _, err = run(capsys, "export", "--track", tmp_path / "heads.json", "--to", "csv", "--out", tmp_path / "o.csv")
    assert rc == 2 and "head has 1 frames, face has 2" in err
    (tmp_path / "unk.json").write_text(json.dumps({"fps": 30, "channels": ["jawOpenn"], "frames": [[0.1]]}))
    rc, _, err = run(capsys, "export", "--track", tmp_path / "unk.json", "--to", "csv", "--out", tmp_path / "o.csv")
    assert rc == 2 and "unknown channel 'jawOpenn'" in err
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.json").exists()


def test_profiles_list_show_detect(tmp_path, capsys):
    rc, out, _ = run(capsys, "profiles")
    assert rc == 0 and [ln.split()[0] for ln in out.splitlines()] == ["arkit", "rhubarb", "visemes", "vrm"]
    rc, out, _ = run(capsys, "profiles", "show", "visemes")
    assert rc == 0 and json.loads(out)["targets"]["vrc.v_aa"]["weights"]["jawOpen"] == 1.0
    quad_character(tmp_path / "c.glb")
    rc, out, _ = run(capsys, "profiles", "detect", tmp_path / "c.glb")
    assert rc == 0 and "profile arkit: 5/52" in out and "Custom_Wrinkle" in out
    (tmp_path / "names.txt").write_text("viseme_sil\nviseme_aa\nviseme_O\nviseme_U\nviseme_PP\n")
    rc, out, _ = run(capsys, "profiles", "detect", tmp_path / "names.txt")
    assert rc == 0 and "profile visemes: 5/15" in out
    rc, out, _ = run(capsys, "profiles", "detect", shared("ict_facekit", "ict_expression_deltas.npz"))
    assert rc == 0 and "lost ARKit channels: tongueOut" in out
    rc, out, _ = run(capsys, "profiles", "detect", tmp_path / "names.txt", "--profile", "rhubarb")
    assert rc == 0 and "profile rhubarb: 0/9" in out
    rc, _, err = run(capsys, "profiles", "show")
    assert rc == 2 and "needs a profile name" in err


def test_cli_module_import_is_cheap():
    """The command's own modules import at the top; the heavy optional libraries load only in
    the commands that use them."""
    heavy = ("trimesh", "pygltflib", "matplotlib", "onnxruntime", "pocketsphinx", "torch", "tokenizers")
    code = f"import sys, talkclip_cli.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_console_script_round_trips_a_capture(tmp_path):
    """The installed ``talkclip`` command, as users run it."""
    exe = ROOT / ".venv" / "bin" / "talkclip"
    if not exe.exists():
        pytest.skip("talkclip console script not installed in .venv")
    src = shared("livelink_face_neurosync", "Sad_MySlate_169_iPhone_cal.csv.gz")
    run_ = subprocess.run([str(exe), "export", "--track", str(src), "--to", "csv", "--out", str(tmp_path / "s.csv")],
                          capture_output=True, text=True, timeout=120)
    assert run_.returncode == 0, run_.stderr
    assert (tmp_path / "s.csv").read_bytes() == gzip.decompress(src.read_bytes())
    again = subprocess.run([str(exe), "export", "--track", str(src), "--to", "csv", "--out", str(tmp_path / "s.csv")],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and again.stderr.startswith("talkclip: error: ") and again.stderr.count("\n") == 1
