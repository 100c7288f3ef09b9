"""Track JSON/NPZ: exact float32 round-trips, the JSON layout contract, and bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exporters.formats import format_for, read_track, write_track
from exporters.track_io import track_to_dict
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack, PhoneTrack


def full_track():
    rng = np.random.default_rng(7)
    n = 50
    a = rng.random((n, 52), dtype=np.float32)
    a[0, :5] = [1e-8, 0.1, 1 / 3, 0.0, 1.0]  # tiny, short and repeating decimals
    phones = PhoneTrack.from_list([{"phone": "HH", "start": 0.0, "end": 0.5}, {"phone": "AY", "start": 0.5, "end": 1.6}])
    return ExpressionTrack(fps=29.97, arkit=a, head=rng.normal(0, 0.2, (n, 3)), phones=phones,
                           layers={"lips": a * 0.5}, meta={"prompt": "calm"})


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_exact_round_trip(tmp_path, suffix):
    track = full_track()
    write_track(track, tmp_path / f"t{suffix}")
    back = read_track(tmp_path / f"t{suffix}")
    assert back.fps == track.fps
    np.testing.assert_array_equal(back.arkit, track.arkit)
    np.testing.assert_array_equal(back.head, track.head)
    np.testing.assert_array_equal(back.layers["lips"], track.layers["lips"])
    assert back.phones.phones == ("HH", "AY") and back.meta["prompt"] == "calm"


def test_json_layout_contract(tmp_path):
    track = full_track()
    write_track(track, tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    assert set(data) >= {"fps", "channels", "frames", "head", "phones", "meta"}
    assert data["channels"] == list(ARKIT_NAMES)
    assert len(data["frames"]) == 50 and all(len(r) == 52 for r in data["frames"])
    assert data["head"]["channels"] == ["pitch", "yaw", "roll"] and len(data["head"]["frames"]) == 50
    assert data["phones"][1] == {"phone": "AY", "start": 0.5, "end": 1.6}
    assert data["frames"][0][:5] == [1e-08, 0.1, 0.33333334, 0.0, 1.0]  # shortest exact decimals
    assert track_to_dict(track)["frames"] == data["frames"]


def test_streamed_json_is_the_whole_layout_block_by_block(tmp_path, monkeypatch):
    """write_json streams frame arrays in blocks; the file must equal the layout dumped whole,
    with block edges inside the arrays and a prompt that holds the stand-in mark."""
    import exporters.track_io as track_io

    monkeypatch.setattr(track_io, "JSON_BLOCK_FRAMES", 7)  # 50 frames: 8 blocks, a short last one
    for prompt in ("calm", "\x00talkclip-array-0 ] odd"):
        track = full_track()
        track.meta["prompt"] = prompt
        write_track(track, tmp_path / "t.json")
        text = (tmp_path / "t.json").read_text()
        assert text == json.dumps(track_to_dict(track), separators=(",", ":"))
        back = read_track(tmp_path / "t.json")
        np.testing.assert_array_equal(back.layers["lips"], track.layers["lips"])
        assert back.meta["prompt"] == prompt


def test_subset_and_reordered_channels(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"fps": 24, "channels": ["JawOpen", "eyeBlinkLeft"],
                                                 "frames": [[0.5, 0.25], [0.75, 0.0]]}))
    t = read_track(tmp_path / "s.json")
    assert t.channel("jawOpen").tolist() == [0.5, 0.75] and t.channel("eyeBlinkLeft").tolist() == [0.25, 0.0]
    assert float(t.arkit.sum()) == 1.5


@pytest.mark.parametrize("name, data, message", [
    ("ragged.json", {"fps": 30, "channels": ["jawOpen"], "frames": [[0.1], [0.2, 0.3]]}, "not a talkclip track"),
    ("dup.json", {"fps": 30, "channels": ["jawOpen", "jawOpen"], "frames": [[0.1, 0.2]]}, "listed twice"),
    ("layer.json", {"fps": 30, "channels": ["jawOpen"], "frames": [[0.1]], "layers": {"x": [[1, 2]]}}, "layer 'x'"),
    ("phones.json", {"fps": 30, "channels": ["jawOpen"], "frames": [[0.1]], "phones": [{"phone": "AA"}]}, "'start'"),
    ("fps.json", {"fps": 0, "channels": ["jawOpen"], "frames": [[0.1]]}, "fps must be positive"),
    ("list.json", [1, 2], "top level is not an object"),
])
def test_bad_json(tmp_path, name, data, message):
    (tmp_path / name).write_text(json.dumps(data))
    with pytest.raises(TalkclipError, match=message):
        read_track(tmp_path / name)


def test_bad_npz_and_suffix(tmp_path):
    np.savez(tmp_path / "flat.npz", fps=30.0, channels=np.array(["jawOpen"]), frames=np.zeros(3))
    with pytest.raises(TalkclipError, match=r"flat\.npz: frames have shape"):
        read_track(tmp_path / "flat.npz")
    np.savez(tmp_path / "head.npz", fps=30.0, channels=np.array(["jawOpen"]), frames=np.zeros((3, 1)), head=np.zeros((2, 3)))
    with pytest.raises(TalkclipError, match=r"head\.npz: head has shape"):
        read_track(tmp_path / "head.npz")
    np.savez(tmp_path / "nan.npz", fps=30.0, channels=np.array(["jawOpen"]), frames=np.full((3, 1), np.nan))
    with pytest.raises(TalkclipError, match=r"nan\.npz: .*NaN"):
        read_track(tmp_path / "nan.npz")
    with pytest.raises(TalkclipError, match="unknown track format .fbx"):
        format_for("x.fbx")
    assert format_for("take.CSV.gz") == "csv"


def test_one_table_of_formats(tmp_path):
    """exporters.formats is the one place a format is named: the export command, the suffix
    dispatch and the batch's outputs all read it."""
    pytest.importorskip("bpy")  # the blender_addon package imports it
    from blender_addon.jobs import OUTPUT_SUFFIXES, output_format
    from exporters import formats
    from talkclip_cli.export import EXPORT_FORMATS

    names = [f.name for f in formats.FORMATS]
    assert len(names) == len(set(names))
    assert all(s.startswith(".") and s == s.lower() for f in formats.FORMATS for s in f.suffixes)
    assert [f.name for f in formats.TAKE_FORMATS] == ["json", "npz", "csv"]
    take_suffixes = formats.suffixes_of(formats.TAKE_FORMATS)
    assert len(take_suffixes) == len(set(take_suffixes))  # a take's suffix names one format
    assert EXPORT_FORMATS == ("json", "npz", "csv", "glb", "cues", "mdd", "pc2")
    assert OUTPUT_SUFFIXES == (".blend", ".glb", ".fbx", ".json", ".npz", ".csv", ".csv.gz")
    assert output_format("a/take.CSV.GZ").name == "csv" and output_format("x.glb").blender
    assert output_format("x.mdd") is None
    with pytest.raises(TalkclipError, match="written by Blender"):
        formats.BY_NAME["fbx"].save(full_track(), tmp_path / "x.fbx")
    assert not (tmp_path / "x.fbx").exists()
