"""Every reader validates at the boundary (issue 18): the bad inputs the reliability attack found,
each one now either read correctly or refused with one stderr line that names the file and the
problem; never a traceback, never the last-resort ``TypeName: ... (run with --debug ...)`` line.
"""

from __future__ import annotations

import base64
import errno
import gc
import gzip
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import shared
from test_gltf import validate

import talkclip_model.files as files_module
from exporters import formats, npz_io
from exporters.gltf import read_animation, read_glb, write_morph_glb
from exporters.gltf_read import glb_bytes
from exporters.livelink import read_livelink_csv
from talkclip_cli.cli import main
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.files import parse_json_text, read_text_bounded
from talkclip_model.types import ExpressionTrack, SpeakingStyle, parse_schedule


def run(capsys, *argv) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    gc.collect()  # an archive left open would print "Exception ignored ..." now, inside the capture
    return rc, capsys.readouterr().err


def refused(capsys, name: str, *argv) -> str:
    """Run the CLI; it must exit 2 with exactly one line that names ``name``. Returns the line."""
    rc, err = run(capsys, *argv)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("talkclip: error: "), err
    assert name in err and "--debug" not in err, err
    return err


@pytest.fixture(scope="module")
def capture_lines() -> list[str]:
    text = gzip.decompress(shared("livelink_face_alexdjulin", "alex_rom_3.csv.gz").read_bytes()).decode()
    return text.split("\n")[:41]  # header and 40 frames


@pytest.fixture
def take(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    track = ExpressionTrack(fps=30.0, arkit=rng.random((20, 52), dtype=np.float32), head=np.zeros((20, 3)))
    formats.write_track(track, tmp_path / "t.json")
    return tmp_path / "t.json"


@pytest.fixture
def character(tmp_path) -> Path:
    return write_morph_glb(tmp_path / "char.glb", np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]),
                           {n: np.full((3, 3), 0.01) for n in ARKIT_NAMES})


# --- Live Link Face CSV (L1, L2, L3) ------------------------------------------------------

def test_cr_only_csv_reads_and_re_exports_byte_for_byte(tmp_path, capture_lines):
    (tmp_path / "lf.csv").write_text("\n".join(capture_lines) + "\n", newline="")
    (tmp_path / "cr.csv").write_bytes(("\r".join(capture_lines) + "\r").encode())
    lf, cr = formats.read_track(tmp_path / "lf.csv"), formats.read_track(tmp_path / "cr.csv")
    assert cr.num_frames == 40 and np.array_equal(cr.arkit, lf.arkit) and cr.fps == lf.fps
    formats.write_track(cr, tmp_path / "back.csv")
    assert (tmp_path / "back.csv").read_bytes() == (tmp_path / "cr.csv").read_bytes()


def test_corrupt_gzip_is_one_line_and_gzip_is_read_by_its_bytes(tmp_path, capsys, capture_lines):
    packed = bytearray(gzip.compress("\n".join(capture_lines).encode(), mtime=0))
    packed[100] ^= 0xFF
    (tmp_path / "bad.csv.gz").write_bytes(packed)
    err = refused(capsys, "bad.csv.gz", "export", "--track", tmp_path / "bad.csv.gz", "--to", "json",
                  "--out", tmp_path / "o.json")
    assert "damaged gzip data" in err
    # a gzip file named .csv, and a plain file named .csv.gz, are read for what they are
    (tmp_path / "packed.csv").write_bytes(gzip.compress("\n".join(capture_lines).encode()))
    (tmp_path / "plain.csv.gz").write_text("\n".join(capture_lines))
    assert formats.read_track(tmp_path / "packed.csv").num_frames == formats.read_track(tmp_path / "plain.csv.gz").num_frames == 40


@pytest.mark.parametrize("code", ["00:00:00:inf", "00:00:00:nan", "00:00:00:1e18", "00:00:00:1e400", "1:2:3",
                                  "00:00:00:-1", "00:٠٠:00:00.000"])
def test_bad_timecodes_are_refused_by_frame(tmp_path, capsys, capture_lines, code):
    first = capture_lines[1].split(",")
    first[0] = code
    (tmp_path / "tc.csv").write_text("\n".join([capture_lines[0], ",".join(first)] + capture_lines[2:]) + "\n")
    err = refused(capsys, "tc.csv", "export", "--track", tmp_path / "tc.csv", "--to", "json", "--out", tmp_path / "o.json")
    assert "frame 1: bad timecode" in err


def test_timecodes_that_give_an_absurd_rate_are_refused(tmp_path, capture_lines):
    rows = [r.split(",") for r in capture_lines[1:3]]
    rows[0][0], rows[1][0] = "00:00:00:00.000", "00:00:00:00.001"  # 2 frames 1/60000 s apart
    (tmp_path / "fast.csv").write_text("\n".join([capture_lines[0]] + [",".join(r) for r in rows]) + "\n")
    with pytest.raises(TalkclipError, match=r"fast\.csv: the timecodes give 6e\+04 frames per second"):
        read_livelink_csv(tmp_path / "fast.csv")


def test_huge_cells_values_and_control_characters(tmp_path, capture_lines):
    row = capture_lines[1].split(",")
    for name, cell, message in [("big.csv", "x" * 200_000, "not a readable CSV"),
                                ("f32.csv", "1e39", "beyond float32 range"),
                                ("esc.csv", "\x1b[2J", r"not a number: '\\x1b\[2J'")]:
        bad = list(row)
        bad[5] = cell
        (tmp_path / name).write_text("\n".join([capture_lines[0], ",".join(bad)]) + "\n")
        with pytest.raises(TalkclipError, match=rf"{name}: .*{message}"):
            formats.read_track(tmp_path / name)


# --- takes: fps, meta, NPZ (L8, L10) -------------------------------------------------------

@pytest.mark.parametrize("fps, message", [(0, "fps must be positive"), (-30, "fps must be positive"),
                                          (1e-320, "out of range"), (1e18, "out of range"), ("30", "must be a number"),
                                          (True, "must be a number"), (None, "must be a number")])
def test_take_fps_is_checked(tmp_path, capsys, take, fps, message):
    data = json.loads(take.read_text())
    data["fps"] = fps
    (tmp_path / "z.json").write_text(json.dumps(data))
    err = refused(capsys, "z.json", "export", "--track", tmp_path / "z.json", "--to", "csv", "--out", tmp_path / "z.csv")
    assert message in err
    np.savez(tmp_path / "z.npz", fps=np.float64(0.0), channels=np.array(["jawOpen"]), frames=np.zeros((3, 1), "f4"))
    refused(capsys, "z.npz", "export", "--track", tmp_path / "z.npz", "--to", "json", "--out", tmp_path / "z.json", "--force")


def test_absurd_weights_are_refused_before_they_overflow_a_retarget(tmp_path, take, capture_lines):
    data = json.loads(take.read_text())
    data["frames"][3][7] = 3e38  # finite in float32, but 1e6 x 3e38 is not
    (tmp_path / "big.json").write_text(json.dumps(data))
    with pytest.raises(TalkclipError, match=r"big\.json: frames hold a value of 3e\+38"):
        formats.read_track(tmp_path / "big.json")
    row = capture_lines[1].split(",")
    row[capture_lines[0].split(",").index("JawOpen")] = "1e20"
    (tmp_path / "big.csv").write_text("\n".join([capture_lines[0], ",".join(row)]) + "\n")
    with pytest.raises(TalkclipError, match=r"big\.csv: frames hold a value of 1e\+20"):
        formats.read_track(tmp_path / "big.csv")


@pytest.mark.parametrize("meta", [
    {"timecode_start": "00:00:01:00", "timecode_base": 0}, {"timecode_start": "00:00:01:00", "timecode_base": None},
    {"timecode_start": "garbage"}, {"livelink": {"timecodes": ["x"] * 20, "extra": [1]}},
    {"livelink": {"timecodes": ["00:00:00:00.000"] * 20, "columns": ["Timecode", 5]}},
    {"livelink": {"timecodes": ["00:00:00:00.000"] * 20, "columns": ["Timecode"], "newline": 7}},
    {"livelink": [1, 2]},
])
def test_malformed_meta_records_fall_back_to_the_apps_layout(tmp_path, capsys, take, meta):
    data = json.loads(take.read_text())
    data["meta"].update(meta)
    (tmp_path / "m.json").write_text(json.dumps(data))
    rc, err = run(capsys, "export", "--track", tmp_path / "m.json", "--to", "csv", "--out", tmp_path / "m.csv")
    assert rc == 0, err
    back = formats.read_track(tmp_path / "m.csv")
    np.testing.assert_array_equal(back.arkit, formats.read_track(take).arkit)


@pytest.mark.parametrize("meta, message", [([1], "'meta' must be an object"),
                                           ({"schedule": [{"time": "x", "prompt": 1}]}, "meta 'schedule'")])
def test_meta_of_the_wrong_type_is_refused(tmp_path, take, meta, message):
    data = json.loads(take.read_text())
    data["meta"] = meta
    (tmp_path / "m.json").write_text(json.dumps(data))
    with pytest.raises(TalkclipError, match=f"m.json: {message}"):
        formats.read_track(tmp_path / "m.json")


def test_npz_bomb_lying_header_slow_names_and_pickles(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(npz_io, "NPZ_LIMIT", 1 << 20)
    np.savez_compressed(tmp_path / "b.npz", fps=30.0, channels=np.array(["jawOpen"]), frames=np.zeros((600_000, 1), "f4"))
    assert (tmp_path / "b.npz").stat().st_size < 20_000
    err = refused(capsys, "b.npz", "export", "--track", tmp_path / "b.npz", "--to", "json", "--out", tmp_path / "b.json")
    assert "unpacks to 2 MB, more than the 1 MB read" in err
    header = np.lib.format.header_data_from_array_1_0(np.zeros((3, 1), "f4"))
    header["shape"] = (600_000_000, 1)  # 2.4 GB claimed, 12 bytes held
    with zipfile.ZipFile(tmp_path / "lie.npz", "w") as zf:
        with zf.open("frames.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            fh.write(b"\0" * 12)
    with pytest.raises(TalkclipError, match=r"lie\.npz: .*'frames' claims shape \(600000000, 1\)"):
        formats.read_track(tmp_path / "lie.npz")
    monkeypatch.undo()
    np.savez_compressed(tmp_path / "s.npz", fps=30.0, channels=np.zeros((100_000, 52), "f4"), frames=np.zeros((3, 52), "f4"))
    start = time.perf_counter()
    with pytest.raises(TalkclipError, match=r"s\.npz: track NPZ 'channels' must be a list of names"):
        formats.read_track(tmp_path / "s.npz")
    assert time.perf_counter() - start < 5
    np.savez(tmp_path / "evil.npz", fps=30.0, channels=np.array([object()], dtype=object), frames=np.zeros((1, 1)))
    with pytest.raises(TalkclipError, match="pickles are not loaded"):
        formats.read_track(tmp_path / "evil.npz")


# --- profiles (L5, M7) ------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ('{"targets":{"a":"jawOpen"},"match":"x"}', "'match' must be an object"),
    ('{"targets":{"a":"jawOpen"},"match":{"prefixes":[1]}}', "match 'prefixes' must be a list of names"),
    ('{"targets":{"a":{"weights":{"jawOpen":1},"bias":"x"}}}', "bias must be a number"),
    ('{"targets":{"a":{"weights":{"jawOpen":1},"aliases":5}}}', "'aliases' must be a list of names"),
    ('{"targets":{"a":"jawOpen"},"clamp":{}}', "'clamp' must be [low, high]"),
    ('{"targets":{"a":"jawOpen"},"clamp":[0, NaN]}', "'clamp' must be a finite number"),
    ('{"targets":{"a":{"weights":{"jawOpen":true}}}}', "weight for 'jawOpen' is not a number"),
    ('{"targets":{"a":{"weights":{"jawOpen":1e300}}}}', "must be a finite number within"),
    ('{"targets":{"a":"jawOpen"},"mode":["blend"]}', "mode must be one of"),
    ('{"targets":{"a":"jawOpen"},"name":{"x":1}}', "'name' must be text"),
    ('[' * 100_000 + ']' * 100_000, "nested too deeply"),
])
def test_profile_json_types(tmp_path, capsys, content, message):
    (tmp_path / "p.json").write_text(content)
    err = refused(capsys, "p.json", "profiles", "show", tmp_path / "p.json")
    assert message in err


@pytest.mark.parametrize("bias", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_or_infinite_bias_is_refused_before_writing(tmp_path, capsys, take, character, bias):
    (tmp_path / "p.json").write_text('{"targets":{"jawOpen":{"weights":{"jawOpen":1},"bias":%s}}}' % bias)
    err = refused(capsys, "p.json", "export", "--track", take, "--to", "glb", "--character", character,
                  "--profile", tmp_path / "p.json", "--out", tmp_path / "nan.glb")
    assert "target 'jawOpen': bias must be a finite number" in err and not (tmp_path / "nan.glb").exists()
    (tmp_path / "x.json").write_text('{"mode":"exclusive","targets":{"A":{"weights":{"jawOpen":1},"bias":%s}}}' % bias)
    refused(capsys, "x.json", "export", "--track", take, "--to", "cues", "--profile", tmp_path / "x.json",
            "--out", tmp_path / "c.tsv")


# --- styles and schedules (L4, L7) -------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ("[1]", "top level must be an object"), ('{"arkit":{"jawOpen":null}}', "arkit 'jawOpen' must be a number"),
    ('{"dynamics":[1,2]}', "'dynamics' must be an object"), ('{"dynamics":{"wobble":1}}', "unknown style dynamic 'wobble'"),
    ('{"arkit":{"jawOpen":NaN}}', "must be a finite number"), ('{"dynamics":{"nod":Infinity}}', "must be a finite number"),
    ('{"prompt":5}', "'prompt' must be text"), ('{"arkit":[0.5]}', "'arkit' must be an object"),
    ("[" * 100_000, "nested too deeply"),
])
def test_style_json_types(tmp_path, content, message):
    (tmp_path / "s.json").write_text(content)
    with pytest.raises(TalkclipError, match=rf"s\.json: .*{message}"):
        SpeakingStyle.load(tmp_path / "s.json")
    with pytest.raises(ValueError, match=message):  # what --style-json catches and names the file for
        SpeakingStyle.from_json(content)


def test_style_json_on_the_command_line(tmp_path, capsys):
    (tmp_path / "s.json").write_text('{"arkit":{"jawOpen":null}}')
    hello = Path(__file__).resolve().parents[1] / "examples" / "hello.wav"
    refused(capsys, "s.json", "generate", "--audio", hello, "--style-json", tmp_path / "s.json", "--out", tmp_path / "o.json")
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("text", ['[{"time": NaN, "prompt": "angry"}]', '[{"time": Infinity, "prompt": "a"}]',
                                  '[{"time": 1e400, "prompt": "a"}]', '[{"time": -1, "prompt": "a"}]',
                                  '[{"time": "1", "prompt": "a"}]', '[{"time": true, "prompt": "a"}]',
                                  '[{"time": 1, "prompt": null}]', '[{"time": 1}]', '{"time": 1}', '[1]', "null",
                                  "[" * 100_000 + "]" * 100_000])
def test_schedule_times_must_be_finite(text):
    with pytest.raises(ValueError):
        parse_schedule(parse_json_text(text))
    assert parse_schedule(parse_json_text('[{"time": 2, "prompt": "b"}, {"time": 0, "prompt": "a"}]')) == [(0.0, "a"), (2.0, "b")]


# --- character glTF (L6, M6) ------------------------------------------------------------------

def _edited(character: Path, tmp_path: Path, edit) -> Path:
    doc, binary = read_glb(character)
    edit(doc)
    (tmp_path / "g.glb").write_bytes(glb_bytes(doc, binary))
    return tmp_path / "g.glb"


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(asset=None), "not a glTF 2.0 asset"),
    (lambda d: d["nodes"][0].update(mesh="0"), "node 0: mesh \"0\" does not exist"),
    (lambda d: d["nodes"][0].update(mesh=7), "node 0: mesh 7 does not exist"),
    (lambda d: d["meshes"][0]["extras"].update(targetNames="abc"), "'targetNames' must be a list of names"),
    (lambda d: d["buffers"][0].update(byteLength="39432"), "'byteLength' must be a whole number"),
    (lambda d: d["buffers"][0].update(byteLength=10 ** 9), "buffer 0 says 1000000000 bytes"),
    (lambda d: d.update(animations={}), "'animations' must be a list of objects"),
    (lambda d: d["meshes"][0].update(weights=[0.0]), "mesh 0 'weights' has 1 values, expected 52"),
    (lambda d: d["meshes"][0].update(weights=[None] * 52), "mesh 0 'weights' must be a list of numbers"),
    (lambda d: d["nodes"][0].update(weights=[float("nan")] * 52), "NaN is not valid JSON"),
    (lambda d: d["nodes"][0].update(name=5), "node 0: 'name' must be text"),
    (lambda d: d["meshes"][0]["primitives"][0].update(targets={}), "morph 'targets' must be a list of objects"),
    (lambda d: d["buffers"][0].update(uri="elsewhere.bin"), "GLB has a BIN chunk but buffer 0 does not refer to it"),
])
def test_character_glb_of_the_wrong_types(tmp_path, capsys, take, character, edit, message):
    glb = _edited(character, tmp_path, edit)
    err = refused(capsys, "g.glb", "export", "--track", take, "--to", "glb", "--character", glb, "--out", tmp_path / "o.glb")
    assert message in err and not (tmp_path / "o.glb").exists()


def test_extras_of_any_type_are_kept(tmp_path, capsys, take, character):
    """glTF allows any value in ``extras``: a list there is carried through, not refused."""
    glb = _edited(character, tmp_path, lambda d: (d["nodes"][0].update(extras=["x"]), d["scenes"][0].update(extras=5)))
    rc, err = run(capsys, "export", "--track", take, "--to", "glb", "--character", glb, "--profile", "arkit",
                  "--out", tmp_path / "o.glb")
    assert rc == 0, err
    assert read_glb(tmp_path / "o.glb")[0]["nodes"][0]["extras"] == ["x"]


def test_data_uri_glb_is_read_like_gltf_and_gives_a_valid_file(tmp_path, capsys, take, character):
    doc, binary = read_glb(character)
    doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
    (tmp_path / "u.glb").write_bytes(glb_bytes(doc, b""))
    validate(tmp_path / "u.glb")
    rc, err = run(capsys, "export", "--track", take, "--to", "glb", "--character", tmp_path / "u.glb",
                  "--out", tmp_path / "o.glb")
    assert rc == 0, err
    validate(tmp_path / "o.glb")
    out_doc, out_bin = read_glb(tmp_path / "o.glb")
    assert "uri" not in out_doc["buffers"][0] and out_bin[:len(binary)] == binary
    (times, _, weights), = read_animation(tmp_path / "o.glb").values()
    assert len(times) == 20 and np.all(np.isfinite(weights))
    doc["buffers"][0]["uri"] = "https://example.com/face.bin"
    (tmp_path / "x.glb").write_bytes(glb_bytes(doc, b""))
    assert "buffer 0 is an external file" in refused(capsys, "x.glb", "export", "--track", take, "--to", "glb",
                                                     "--character", tmp_path / "x.glb", "--out", tmp_path / "x_out.glb")


# --- blendshape deltas and meshes (L11) -------------------------------------------------------

@pytest.mark.parametrize("arrays, message", [
    ({"neutral": np.zeros(9, "f4")}, "'neutral' must be (vertices, 3) positions"),
    ({"neutral": np.full((3, 3), np.nan)}, "'neutral' holds NaN or infinity"),
    ({"jawOpen__idx": np.array([0.5])}, "jawOpen__idx must hold whole vertex ids"),
    ({"jawOpen__delta": np.zeros(4, "f4")}, "jawOpen__delta holds 4 values, not xyz triples"),
    ({"jawOpen__delta": np.full((1, 3), 1e30)}, "coordinates beyond"),
    ({"names": np.zeros((2, 2))}, "'names' must be a list of names"),
    ({"names": np.array(["jawOpen", "jawOpen"])}, "a channel is listed twice"),
])
def test_deltas_npz_of_the_wrong_shapes(tmp_path, capsys, take, arrays, message):
    good = {"names": np.array(["jawOpen"]), "neutral": np.zeros((3, 3), "f4"), "jawOpen__idx": np.array([0]),
            "jawOpen__delta": np.zeros((1, 3), "f4")}
    np.savez(tmp_path / "d.npz", **{**good, **arrays})
    err = refused(capsys, "d.npz", "export", "--track", take, "--to", "mdd", "--character", tmp_path / "d.npz",
                  "--out", tmp_path / "o.mdd")
    assert message in err


def test_broken_mesh_files_are_one_line(tmp_path, capsys, take):
    deltas = tmp_path / "d.npz"
    np.savez(deltas, names=np.array(["jawOpen"]), neutral=np.zeros((3, 3), "f4"), jawOpen__idx=np.array([0]),
             jawOpen__delta=np.zeros((1, 3), "f4"))
    (tmp_path / "g.obj").write_text("v 1 2\nv a b c\nf 1 2 99\n")
    err = refused(capsys, "g.obj", "export", "--track", take, "--to", "mdd", "--character", deltas,
                  "--mesh", tmp_path / "g.obj", "--out", tmp_path / "o.mdd")
    assert "cannot load mesh" in err and "warning" not in err


# --- endless, huge and special inputs (L10) -----------------------------------------------------

def test_endless_and_special_files_are_refused_without_reading_them(tmp_path, capsys, take, character):
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    refused(capsys, "zero.json", "export", "--track", tmp_path / "zero.json", "--to", "csv", "--out", tmp_path / "o.csv")
    refused(capsys, "/dev/zero", "export", "--track", take, "--to", "glb", "--character", "/dev/zero", "--out", tmp_path / "o.glb")
    refused(capsys, "/dev/zero", "profiles", "show", "/dev/zero")
    os.mkfifo(tmp_path / "fifo.json")  # nobody writes it: opening it would wait for ever
    with pytest.raises(TalkclipError, match=r"fifo\.json: not a regular file"):
        SpeakingStyle.load(tmp_path / "fifo.json")
    with pytest.raises(TalkclipError, match="not a regular file"):
        read_text_bounded("/dev/zero", 1000, "transcript")
    with pytest.raises(TalkclipError, match=r"zero: transcript is too large \(more than 1000 bytes\)"):
        read_text_bounded("/dev/zero", 1000, "transcript", streams=True)
    (tmp_path / "big.txt").write_text("x" * 2000)
    with pytest.raises(TalkclipError, match=r"big\.txt: transcript is too large \(2000 bytes; at most 1000 bytes"):
        read_text_bounded(tmp_path / "big.txt", 1000, "transcript")
    (tmp_path / "latin.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(TalkclipError, match=r"latin\.txt: transcript is not UTF-8 text \(byte 3\)"):
        read_text_bounded(tmp_path / "latin.txt", 1000, "transcript")
    with pytest.raises(TalkclipError, match="is a folder"):
        read_text_bounded(tmp_path, 1000, "transcript")


# --- writing: a full disk, and a file that appears while we work (M10, M12) -------------------

class _FullDisk:
    """A file object that takes ``budget`` bytes, then fails as a full disk does."""

    def __init__(self, fh, budget: int):
        self._fh, self._left = fh, budget

    def write(self, data):
        if len(data) > self._left:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._left -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)


@pytest.mark.parametrize("fmt, out, extra", [
    ("json", "x.json", []), ("npz", "x.npz", []), ("csv", "x.csv", []), ("csv", "x.csv.gz", []),
    ("glb", "x.glb", ["--character", "{char}"]), ("cues", "x.tsv", []), ("mdd", "x.mdd", ["--character", "{deltas}"]),
])
@pytest.mark.parametrize("share", [0.0, 0.5])
def test_full_disk_names_the_output_and_keeps_the_old_file(tmp_path, capsys, monkeypatch, take, character,
                                                           fmt, out, extra, share):
    """The disk fills at once, or half-way through the file."""
    np.savez(tmp_path / "d.npz", names=np.array(["jawOpen"]), neutral=np.zeros((300, 3), "f4"),
             jawOpen__idx=np.arange(300), jawOpen__delta=np.ones((300, 3), "f4"))
    extra = [e.format(char=character, deltas=tmp_path / "d.npz") for e in extra]
    assert run(capsys, "export", "--track", take, "--to", fmt, *extra, "--out", tmp_path / f"full_{out}")[0] == 0
    budget = int(share * (tmp_path / f"full_{out}").stat().st_size)
    (tmp_path / out).write_bytes(b"previous")
    real = os.fdopen
    monkeypatch.setattr(files_module.os, "fdopen", lambda fd, *a, **k: _FullDisk(real(fd, *a, **k), budget))
    err = refused(capsys, out, "export", "--track", take, "--to", fmt, *extra, "--out", tmp_path / out, "--force")
    assert f"{out}: cannot write (No space left on device)" in err
    assert (tmp_path / out).read_bytes() == b"previous"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_export_refuses_an_output_created_while_it_works(tmp_path, capsys, monkeypatch, take):
    read = formats.read_track

    def read_and_race(path):
        (tmp_path / "o.json").write_text("another program's file")
        return read(path)

    monkeypatch.setattr(formats, "read_track", read_and_race)
    err = refused(capsys, "o.json", "export", "--track", take, "--to", "json", "--out", tmp_path / "o.json")
    assert "already exists" in err and (tmp_path / "o.json").read_text() == "another program's file"


def test_messages_are_printable_one_liners():
    message = str(TalkclipError("x.json: unknown channel '\x1b[2J'\nsecond line \udc80"))
    assert message == "x.json: unknown channel '\\x1b[2J' second line \\udc80"
