"""Rhubarb-compatible mouth cues: shapes from ARKit mouth poses, no flicker, TSV/JSON layouts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared

from exporters.cues import (
    MIN_HOLD,
    cue_frames,
    cues_to_tsv,
    mouth_cues,
    read_cues,
    write_cues,
)
from exporters.formats import read_track
from talkclip_model.arkit import INDEX
from talkclip_model.types import ExpressionTrack

POSES = [("X", {}), ("D", {"jawOpen": 0.7}), ("F", {"mouthPucker": 0.7}),
         ("A", {"mouthPressLeft": 0.5, "mouthPressRight": 0.5}), ("C", {"jawOpen": 0.35})]


def posed_take(fps=30.0, hold=0.5):
    n = int(round(hold * fps))
    a = np.zeros((n * len(POSES), 52), np.float32)
    for k, (_, pose) in enumerate(POSES):
        for name, v in pose.items():
            a[k * n:(k + 1) * n, INDEX[name]] = v
    return ExpressionTrack(fps=fps, arkit=a, head=np.zeros((len(a), 3)))


@pytest.mark.parametrize("fps", [24.0, 25.0, 29.97, 30.0, 60.0])
def test_poses_become_cues_at_the_right_times(fps):
    cues = mouth_cues(posed_take(fps))
    assert [c.value for c in cues] == [p for p, _ in POSES]
    n = int(round(0.5 * fps))
    for k, c in enumerate(cues):
        assert c.start == pytest.approx(k * n / fps, abs=1e-3)
    assert cues[-1].end == pytest.approx(len(POSES) * n / fps, abs=1e-3)


def test_noise_at_a_threshold_does_not_flicker():
    fps = 60.0
    rng = np.random.default_rng(0)
    a = np.zeros((600, 52), np.float32)
    a[:, INDEX["jawOpen"]] = 0.08 + rng.normal(0, 0.02, 600)  # right on the X/B border
    cues = mouth_cues(ExpressionTrack(fps=fps, arkit=np.clip(a, 0, 1), head=np.zeros((600, 3))))
    assert all(c.end - c.start >= MIN_HOLD - 1e-6 for c in cues[:-1])
    assert len(cues) < 60  # at most ~6 changes per second over 10 s


def test_tsv_and_json_layouts_read_back(tmp_path):
    track = posed_take()
    cues = write_cues(track, tmp_path / "c.tsv")
    lines = (tmp_path / "c.tsv").read_text().splitlines()
    assert lines[0] == "0.00\tX" and lines[1] == "0.50\tD" and lines[-1] == f"{cues[-1].end:.2f}\tX"
    write_cues(track, tmp_path / "c.json")
    data = json.loads((tmp_path / "c.json").read_text())
    assert set(data) == {"metadata", "mouthCues"}
    assert data["mouthCues"][1] == {"start": 0.5, "end": 1.0, "value": "D"}
    assert data["metadata"]["duration"] == 2.5
    for name in ("c.tsv", "c.json"):
        back = read_cues(tmp_path / name)
        assert [c.value for c in back] == [c.value for c in cues]
        np.testing.assert_allclose([c.start for c in back], [c.start for c in cues], atol=0.005)
    frames = cue_frames(cues, track.fps, track.num_frames)
    assert "".join(frames[::5]) == "XXXDDDFFFAAACCC"


def test_real_capture_cues_cover_the_take():
    track = read_track(shared("livelink_face_alexdjulin", "alex_rom_3.csv.gz"))
    cues = mouth_cues(track)
    assert cues[0].start == 0 and cues[-1].end == pytest.approx(track.duration, abs=1e-3)
    assert all(a.end == b.start for a, b in zip(cues, cues[1:]))
    assert all(c.end - c.start >= 2 / track.fps - 1e-3 for c in cues[:-1])
    assert len({c.value for c in cues}) >= 6  # a range-of-motion take uses most shapes
    assert cues_to_tsv(cues).count("\n") == len(cues) + 1


def test_blend_profiles_are_refused_for_cues():
    from talkclip_model.errors import TalkclipError

    with pytest.raises(TalkclipError, match="exclusive profile"):
        mouth_cues(posed_take(), profile="visemes")
