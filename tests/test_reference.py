"""Reference takes: a SpeakingStyle from real captures, blink/head statistics, mixing with prompts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import EXAMPLES, shared

from exporters.reference import (
    count_blinks,
    mix_styles,
    style_from_capture,
    style_from_track,
    track_from_channels,
)
from talkclip_cli.cli import main
from talkclip_model.arkit import INDEX
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack, SpeakingStyle


def synthetic(seconds=60.0, fps=30.0, blinks=12, head_amp=0.0, smile=0.4, seed=0):
    n = int(seconds * fps)
    rng = np.random.default_rng(seed)
    a = np.zeros((n, 52), np.float32)
    a[:, INDEX["mouthSmileLeft"]] = a[:, INDEX["mouthSmileRight"]] = smile
    a[:, INDEX["jawOpen"]] = np.clip(0.3 * np.abs(np.sin(np.arange(n) / fps * 9)), 0, 1)
    for k in range(blinks):  # 5-frame blinks, evenly spread, with a little noise
        i = int((k + 0.5) * n / blinks)
        a[i: i + 5, [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]] = 0.9
    a += rng.uniform(0, 0.02, a.shape).astype(np.float32)
    t = np.arange(n) / fps
    head = np.stack([head_amp * np.sin(2 * np.pi * 0.7 * t) + 0.1, np.zeros(n), np.zeros(n)], axis=1)
    return ExpressionTrack(fps=fps, arkit=np.clip(a, 0, 1), head=head)


def test_held_expression_blinks_and_articulation():
    track = synthetic(blinks=12)
    style = style_from_track(track, prompt="take")
    assert style.get("mouthSmileLeft") == pytest.approx(0.41, abs=0.015)
    assert style.get("eyeBlinkLeft") < 0.05  # blinks are not held
    # articulation channels: the rest position (20th percentile), well below the mean
    assert style.get("jawOpen") < 0.6 * float(track.channel("jawOpen").mean())
    assert style.dynamics["blink_rate"] == pytest.approx(12.0)
    assert style.dynamics["head_motion"] == pytest.approx(0.0, abs=1e-3)  # recorded, motionless head


def test_head_statistics_only_when_recorded():
    still = style_from_track(synthetic(head_amp=0.0))
    moving = style_from_track(synthetic(head_amp=0.15))
    assert still.dynamics["head_pitch"] == pytest.approx(0.1, abs=1e-3)
    assert moving.dynamics["head_motion"] > 1.5 > still.dynamics["head_motion"]
    assert moving.dynamics["nod"] > still.dynamics["nod"]
    zero_head = ExpressionTrack(fps=30, arkit=synthetic().arkit, head=np.zeros((1800, 3)))
    assert style_from_track(zero_head).dynamics["head_motion"] == 1.0  # unknown -> default


def test_count_blinks_needs_reopening():
    fps = 30.0
    x = np.zeros(300, np.float32)
    x[10:15] = 0.9
    x[40:45] = 0.9
    x[45:47] = 0.45  # half-open, then closed again: still one blink
    x[47:50] = 0.9
    assert count_blinks(x, fps) == 2


def test_real_captures_differ_where_they_should():
    fearful = style_from_capture(shared("livelink_face_neurosync", "Fearful_MySlate_161_iPhone_cal.csv.gz"))
    neutral = style_from_capture(shared("livelink_face_neurosync", "Neutral_default_Happy.csv.gz"))
    rom = style_from_capture(shared("livelink_face_alexdjulin", "alex_rom_3.csv.gz"))
    assert fearful.get("eyeWideLeft") > neutral.get("eyeWideLeft") + 0.2
    assert fearful.dynamics["expressiveness"] > 2 * neutral.dynamics["expressiveness"]
    assert rom.dynamics["articulation"] > 3 * neutral.dynamics["articulation"]  # range-of-motion jaw
    assert 5 <= rom.dynamics["blink_rate"] <= 40
    assert neutral.prompt == "like Neutral_default_Happy.csv.gz"
    again = SpeakingStyle.from_json(fearful.to_json())  # the style stays readable, editable JSON
    np.testing.assert_allclose(again.arkit, fearful.arkit, atol=1e-4)


def test_mix_styles():
    a = SpeakingStyle(arkit=np.full(52, 0.8), dynamics={"blink_rate": 30}, prompt="take")
    b = SpeakingStyle(arkit=np.zeros(52), dynamics={"blink_rate": 10}, prompt="calm")
    mixed = mix_styles([(a, 0.75), (b, 0.25)])
    assert mixed.get("jawOpen") == pytest.approx(0.6)
    assert mixed.dynamics["blink_rate"] == pytest.approx(25)
    assert mixed.prompt == '0.75*"take" + 0.25*"calm"'
    clamped = mix_styles([(a, 5.0), (b, -1.0)])  # weights clamped to 0..1
    np.testing.assert_allclose(clamped.arkit, a.arkit)
    with pytest.raises(TalkclipError, match="all zero"):
        mix_styles([(a, 0), (b, 0)])
    with pytest.raises(TalkclipError, match="finite"):
        mix_styles([(a, float("nan"))])
    with pytest.raises(TalkclipError, match="at least one"):
        mix_styles([])


def test_too_short_take():
    with pytest.raises(TalkclipError, match="at least 2 frames"):
        style_from_track(ExpressionTrack(fps=30, arkit=np.zeros((1, 52)), head=np.zeros((1, 3))))


def test_style_from_a_baked_shape_key_take():
    """A rig's own channels (as the Blender layer reads a baked action) become an ARKit take."""
    track = synthetic(seconds=10, blinks=3)
    names = ["A38_Mouth_Smile_Left", "A39_Mouth_Smile_Right", "eyeBlink_L", "eyeBlink_R", "A25_Jaw_Open", "Hair"]
    arkit_of = ["mouthSmileLeft", "mouthSmileRight", "eyeBlinkLeft", "eyeBlinkRight", "jawOpen"]
    values = np.stack([track.channel(n) for n in arkit_of] + [np.zeros(track.num_frames, np.float32)], axis=1)
    back = track_from_channels(names, values, fps=track.fps)
    for n in arkit_of:
        np.testing.assert_allclose(back.channel(n), track.channel(n), atol=1e-6)
    assert back.channel("browDownLeft").max() == 0.0
    style = style_from_track(back)
    assert style.get("mouthSmileLeft") == pytest.approx(0.41, abs=0.015)
    assert style.dynamics["blink_rate"] == pytest.approx(18.0)  # 3 blinks in 10 s
    with pytest.raises(TalkclipError, match="expected"):
        track_from_channels(names, values[:, :3], fps=30)
    with pytest.raises(TalkclipError, match="NaN"):
        track_from_channels(names, np.full_like(values, np.nan), fps=30)


def test_generate_style_from_a_capture(tmp_path, capsys):
    """``talkclip generate --style-from TAKE``: a Live Link Face capture styles a new line."""
    fearful = shared("livelink_face_neurosync", "Fearful_MySlate_161_iPhone_cal.csv.gz")
    neutral = shared("livelink_face_neurosync", "Neutral_default_Happy.csv.gz")
    hello = ["--audio", str(EXAMPLES / "hello.wav"), "--transcript", (EXAMPLES / "hello.txt").read_text(), "--quiet"]
    takes = {}
    for capture in (fearful, neutral):
        out = tmp_path / f"{capture.name}.json"
        assert main(["generate", *hello, "--style-from", str(capture), "--out", str(out)]) == 0
        takes[capture.name] = json.loads(out.read_text())
    a, b = takes[fearful.name], takes[neutral.name]
    assert a["meta"]["style"]["prompt"] == f"like {fearful.name}" and a["meta"]["prompt"] == ""
    assert a["meta"]["style"]["arkit"]["eyeWideLeft"] == pytest.approx(style_from_capture(fearful).get("eyeWideLeft"), abs=1e-4)
    wide = lambda take: np.asarray(take["frames"])[:, take["channels"].index("eyeWideLeft")].mean()  # noqa: E731
    assert wide(a) > wide(b) + 0.1  # the fearful capture's wide eyes carry over to the new line

    capsys.readouterr()
    for extra in (["--prompt", "calm"], ["--style-json", str(tmp_path / "s.json")]):
        assert main(["generate", *hello, "--style-from", str(fearful), *extra, "--out", str(tmp_path / "x.json")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--style-from" in err and err.startswith("talkclip: error:")
    assert main(["generate", *hello, "--style-from", str(tmp_path / "none.csv"), "--out", str(tmp_path / "x.json")]) == 2
    assert "none.csv: no such file" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
