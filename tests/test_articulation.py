"""Phones -> mouth shapes: closures, rounding, openness, rest, smoothness, at every common fps."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

from talkclip_model.animate import articulation, mouth
from talkclip_model.animate.decoder import decode, frame_count
from talkclip_model.arkit import INDEX
from talkclip_model.evaluation import lips as ev
from talkclip_model.evaluation import references
from talkclip_model.speech import audio
from talkclip_model.types import PhoneTrack, SpeakingStyle

SPEECH = ROOT / "tests" / "data" / "speech"
FPS = [24, 25, 29.97, 30, 60]


def lips_track(phones, fps, prosody=None):
    n = frame_count(phones.duration, fps)
    times = np.arange(n) / fps
    lips = articulation.articulate(phones, times, prosody)
    total = lips.copy()
    articulation.enforce_contacts(total, phones, times, lips)
    return times, np.clip(total, 0, 1)


@pytest.fixture(scope="module")
def line1():
    ref = references.read_pho(SPEECH / "line1_us1.pho")
    clip = audio.load_audio(SPEECH / "line1_us1.wav")
    return ref, audio.prosody(clip)


@pytest.mark.parametrize("fps", FPS)
def test_every_mouth_class_is_right_with_exact_phones(line1, fps):
    ref, pros = line1
    times, frames = lips_track(ref, fps, pros)
    from talkclip_model.types import ExpressionTrack
    scores = ev.score_lips(ExpressionTrack(fps=fps, arkit=frames, head=np.zeros((len(frames), 3))), ref)
    for cls, score in scores.items():
        if score.checked:
            assert score.rate == 1.0, (cls, fps, score)


@pytest.mark.parametrize("fps", FPS)
def test_a_bilabial_shorter_than_a_frame_still_closes(fps):
    # "a-p-a" with a 15 ms closure: no frame may fall inside it at 24 fps
    phones = PhoneTrack(phones=["SIL", "AA", "P", "AA", "SIL"], starts=[0, 0.2, 0.5, 0.515, 0.8],
                        ends=[0.2, 0.5, 0.515, 0.8, 1.0], duration=1.0)
    times, frames = lips_track(phones, fps)
    aperture = mouth.lip_aperture(frames)
    near = np.argmin(np.abs(times - 0.5075))
    assert aperture[near] <= ev.CLOSED_APERTURE
    assert aperture[np.argmin(np.abs(times - 0.35))] > 0.4  # the vowels stay open


def test_rounded_vowels_round_and_spread_vowels_do_not():
    phones = PhoneTrack(phones=["SIL", "UW", "SIL", "IY", "SIL"], starts=[0, 0.2, 0.5, 0.8, 1.1],
                        ends=[0.2, 0.5, 0.8, 1.1, 1.3], duration=1.3)
    times, frames = lips_track(phones, 30)
    r = mouth.lip_rounding(frames)
    assert r[np.argmin(np.abs(times - 0.35))] > 0.6
    assert r[np.argmin(np.abs(times - 0.95))] < 0.1
    stretch = frames[:, INDEX["mouthStretchLeft"]]
    assert stretch[np.argmin(np.abs(times - 0.95))] > stretch[np.argmin(np.abs(times - 0.35))]


def test_labiodentals_put_the_lower_lip_to_the_teeth():
    phones = PhoneTrack(phones=["SIL", "AA", "F", "AA", "V", "SIL"], starts=[0, .1, .3, .38, .6, .68],
                        ends=[.1, .3, .38, .6, .68, 1.0], duration=1.0)
    times, frames = lips_track(phones, 25)
    tuck = mouth.lip_tuck(frames)
    for s, e in ((.3, .38), (.6, .68)):
        inside = (times >= s) & (times <= e)
        assert tuck[inside].max() >= ev.LIP_TUCK


def test_silence_relaxes_to_rest_and_motion_anticipates():
    phones = PhoneTrack(phones=["SIL", "M", "AA", "SIL"], starts=[0, 1.0, 1.08, 1.4],
                        ends=[1.0, 1.08, 1.4, 3.0], duration=3.0)
    times, frames = lips_track(phones, 60)
    assert np.abs(frames[times < 0.7]).max() < 0.02  # at rest long before speech
    assert np.abs(frames[times > 2.2]).max() < 0.02  # and after it
    jaw = frames[:, INDEX["jawOpen"]]
    # coarticulation: the jaw already moves before the vowel's acoustic onset
    assert jaw[np.argmin(np.abs(times - 1.06))] > 0.05


@pytest.mark.parametrize("fps", [24, 60])
def test_no_jitter_bounded_velocity(line1, fps):
    ref, pros = line1
    times, frames = lips_track(ref, fps, pros)
    jaw = frames[:, INDEX["jawOpen"]]
    velocity = np.abs(np.diff(jaw)) * fps  # weight units per second
    assert velocity.max() < 12.0
    # no frame-to-frame sign flips in a row (jitter)
    d = np.sign(np.diff(jaw))
    flips = np.sum((d[1:] * d[:-1]) < 0) / len(d)
    assert flips < 0.35


def test_same_motion_at_every_fps(line1):
    ref, pros = line1
    t60, f60 = lips_track(ref, 60, pros)
    for fps in (24, 25, 29.97, 30):
        t, f = lips_track(ref, fps, pros)
        jaw_here = f[:, INDEX["jawOpen"]]
        jaw_60 = np.interp(t, t60, f60[:, INDEX["jawOpen"]])
        assert np.corrcoef(jaw_here, jaw_60)[0, 1] > 0.9


def test_louder_speech_opens_the_jaw_more():
    phones = PhoneTrack(phones=["SIL", "AA", "SIL", "AA", "SIL"], starts=[0, .2, .5, .8, 1.1],
                        ends=[.2, .5, .8, 1.1, 1.3], duration=1.3)
    from talkclip_model.types import Prosody
    level = np.full(131, -60.0)
    level[20:50] = -30.0   # first vowel quiet
    level[80:110] = -15.0  # second loud
    pros = Prosody(hop=0.01, loudness_db=level, pitch_hz=np.zeros(131), voicing=np.zeros(131), duration=1.3)
    times, frames = lips_track(phones, 30, pros)
    jaw = frames[:, INDEX["jawOpen"]]
    assert jaw[np.argmin(np.abs(times - 0.95))] > jaw[np.argmin(np.abs(times - 0.35))] * 1.2


def test_style_keeps_lips_readable(line1):
    """A held smile and pressed lips do not stop p/b/m closing or vowels opening."""
    ref, pros = line1
    arkit = np.zeros(52)
    arkit[INDEX["mouthSmileLeft"]] = arkit[INDEX["mouthSmileRight"]] = 0.7
    arkit[INDEX["mouthPressLeft"]] = arkit[INDEX["mouthPressRight"]] = 0.5
    arkit[INDEX["jawOpen"]] = 0.3
    styled = decode(ref, pros, SpeakingStyle(arkit=arkit), fps=30, seed=1)
    scores = ev.score_lips(styled, ref)
    assert ev.overall(scores) >= 0.95
    smile = styled.channel("mouthSmileLeft")
    speaking = (styled.times > 0.3) & (styled.times < ref.duration - 0.3)
    assert smile[speaking].mean() > 0.4  # the smile is held under the speech
    assert np.allclose(sum(styled.layers.values()).clip(0, 1), styled.arkit, atol=1e-5)
