"""The mesh measures of ``talkclip_model.evaluation.face_mesh`` (issue 15) on the shared rigs:
the measuring points are where the docs say, a neutral face has the neutral slit, the jaw opens
the lips, mouthClose = jawOpen seals them, a blink closes the lids, an F is lip on teeth with
the teeth showing, and phones are judged on the frames they cover."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared

from benchmarks.face import blinks
from talkclip_model.arkit import INDEX
from talkclip_model.evaluation import face_mesh as fm
from talkclip_model.types import PhoneTrack


def pose(**channels: float) -> np.ndarray:
    w = np.zeros(len(INDEX))
    for name, value in channels.items():
        w[INDEX[name]] = value
    return w


@pytest.fixture(scope="module")
def ict() -> fm.IctMeasurer:
    return fm.IctMeasurer(fm.load_ict(shared("ict_facekit")))


@pytest.fixture(scope="module")
def said() -> fm.ArkitMeshMeasurer:
    return fm.ArkitMeshMeasurer(fm.load_said(shared("said_arkit_reference", "ARKit_reference_blendshapes.zip")))


def test_the_measuring_points_are_found_on_the_neutral_mesh(ict):
    marks, V = ict.marks, ict.mesh.neutral
    # the lips' edges seen from the front sit just behind the Multi-PIE inner-lip landmarks 62
    # (5533) and 66 (5517), which are on the chains too
    assert marks.upper_lip[np.argmin(V[marks.upper_lip, 1])] == 5532
    assert marks.lower_lip[np.argmax(V[marks.lower_lip, 1])] == 5519
    assert 5533 in marks.upper_lip and 5517 in marks.lower_lip
    assert np.all(V[marks.upper_lip, 0] == 0) and np.all(V[marks.lower_lip, 0] == 0)
    left, right = V[marks.mouth_corners]
    assert left[0] > 2 and np.allclose(left * [-1, 1, 1], right)
    assert all(len(x) for x in marks.upper_lids + marks.lower_lids)
    assert ict.mesh.unmapped() == ["tongueOut"]
    browinner = ict.mesh.channel_shapes[INDEX["browInnerUp"]]
    assert sorted(ict.mesh.shape_names[s] for s in browinner) == ["browInnerUp_L", "browInnerUp_R"]
    assert ict.mesh.shape_names[ict.mesh.channel_shapes[INDEX["eyeBlinkLeft"]][0]] == "eyeBlink_L"


def test_a_neutral_face_shows_the_neutral_slit_and_no_f(ict):
    n = ict.neutral
    assert 0.05 < n.lip_gap[0] < 0.08  # cm: the ICT neutral face's lips are parted by 0.64 mm
    assert fm.sealed(n.lip_gap, n.lip_gap[0]).all()
    assert 0.9 < n.eyelid_gap[0, 0] < 1.1 and n.eyelid_gap[0, 0] == pytest.approx(n.eyelid_gap[0, 1])
    assert 4.0 < n.mouth_width[0] < 5.0
    assert not fm.fv_frames(n)[0]  # the lower lip covers the incisor edge, but no teeth show: not an F


def test_jaw_open_parts_the_lips(ict):
    neutral = ict.neutral.lip_gap[0]
    half = ict.measure(pose(jawOpen=0.5))
    assert half.lip_gap[0] - neutral > 0.5  # > 5 mm
    assert half.lower_lip_to_incisor[0] < -1.0  # the lower lip drops well below the upper teeth
    gaps = ict.measure(np.array([pose(jawOpen=j) for j in (0.1, 0.2, 0.3, 0.4)])).lip_gap
    assert np.all(np.diff(gaps) > 0)


def test_mouth_close_equal_to_jaw_open_seals_the_lips(ict):
    neutral = ict.neutral.lip_gap[0]
    for jaw in (0.2, 0.4, 0.6):
        assert fm.sealed(ict.measure(pose(jawOpen=jaw, mouthClose=jaw)).lip_gap, neutral)[0]
        # three quarters of the way leaves a visible slit (the review: 1-2 mm)
        assert not fm.sealed(ict.measure(pose(jawOpen=jaw, mouthClose=0.75 * jaw)).lip_gap, neutral)[0]
    # a press squeezes lips that already touch
    assert ict.measure(pose(mouthPressLeft=0.5, mouthPressRight=0.5)).lip_gap[0] < neutral


def test_a_blink_closes_the_eyelids_and_wide_eyes_keep_them_open(ict):
    closed = ict.measure(pose(eyeBlinkLeft=1.0, eyeBlinkRight=1.0)).eyelid_gap[0]
    assert np.all(closed <= fm.EYE_CLOSED_CM)
    left_only = ict.measure(pose(eyeBlinkLeft=1.0)).eyelid_gap[0]
    assert left_only[0] <= fm.EYE_CLOSED_CM and left_only[1] > 0.9  # [left, right]
    fearful = ict.measure(pose(eyeBlinkLeft=1.0, eyeBlinkRight=1.0, eyeWideLeft=0.77, eyeWideRight=0.77)).eyelid_gap[0]
    assert np.all(fearful > 0.2)  # the iris shows through the lids


def test_an_f_is_the_lower_lip_on_the_upper_teeth_with_the_teeth_showing(ict):
    lip_on_teeth = pose(jawOpen=0.05, mouthRollLower=0.5, mouthUpperUpLeft=0.3, mouthUpperUpRight=0.3)
    on_open_jaw = pose(jawOpen=0.15, mouthRollLower=0.35, mouthUpperUpLeft=0.2, mouthUpperUpRight=0.2)
    m = ict.measure(np.array([lip_on_teeth, on_open_jaw]))
    assert fm.fv_frames(m).tolist() == [True, False]
    assert m.lower_lip_to_incisor[1] < -fm.REACH_TOLERANCE_CM  # the lip sits below the edge: reads as T


def test_the_arkit_reference_mesh(said):
    neutral = said.neutral
    assert said.mesh.unmapped() == ["tongueOut"]
    assert 0.2 < neutral.lip_gap[0] < 0.4 and 4.0 < neutral.mouth_width[0] < 5.0
    m = said.measure(np.array([pose(jawOpen=0.5), pose(jawOpen=0.3, mouthClose=0.3), pose(mouthPucker=0.8),
                               pose(mouthSmileLeft=0.6, mouthSmileRight=0.6)]))
    assert m.lip_gap[0] - neutral.lip_gap[0] > 0.5
    assert abs(m.lip_gap[1] - neutral.lip_gap[0]) < 0.05
    assert m.mouth_width[2] < neutral.mouth_width[0] - 0.5 < neutral.mouth_width[0] + 0.3 < m.mouth_width[3]


def test_posing_many_frames_matches_posing_one(ict):
    rng = np.random.default_rng(0)
    w = rng.uniform(0, 0.6, (50, len(INDEX)))
    many = ict.measure(w)
    one = ict.measure(w[17])
    assert many.lip_gap[17] == pytest.approx(one.lip_gap[0])
    assert many.eyelid_gap[17] == pytest.approx(one.eyelid_gap[0])


def test_phones_are_judged_on_the_frames_they_cover():
    ref = PhoneTrack(phones=("SIL", "M", "AA", "B", "AA"), starts=[0.0, 0.20, 0.30, 0.50, 0.54],
                     ends=[0.20, 0.30, 0.50, 0.54, 0.8], duration=0.8, source="reference")
    windows = fm.phone_windows(ref, 30.0, 24, {"M", "B"})
    assert [(w.phone, w.lo, w.hi) for w in windows] == [("M", 5, 10)]  # B is 40 ms: not judged
    gap = np.full(24, 0.5)
    gap[[7, 8]] = 0.05
    assert fm.judge_bilabials(gap, windows, 0.064)[0]["lands"]
    gap[8] = 0.3  # one sealed frame: a snap, not a bilabial that lands
    judged = fm.judge_bilabials(gap, windows, 0.064)[0]
    assert judged["sealed_frames"] == 1 and not judged["lands"]


def test_blinks_are_counted_with_their_width():
    fps = 30.0
    t = np.arange(90) / fps
    a = np.zeros((90, len(INDEX)))
    curve = np.exp(-0.5 * ((t - 1.0) / 0.05) ** 2) + 0.9 * np.exp(-0.5 * ((t - 2.0) / 0.08) ** 2)
    a[:, INDEX["eyeBlinkLeft"]] = a[:, INDEX["eyeBlinkRight"]] = curve
    found = blinks(a, fps)
    assert found.peaks.tolist() == [30, 60]
    fwhm = 2 * np.sqrt(2 * np.log(2)) * np.array([0.05, 0.08])
    assert found.widths == pytest.approx(fwhm, abs=0.01)
