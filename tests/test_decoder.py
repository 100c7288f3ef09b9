"""The decoder's expression side (issue 15): a living, uneven face without a prompt, held
expressions that breathe, no channel pinned at 1.0, blinks that close through wide eyes,
fighting brows resolved, arousal comparable across takes, lips still sealing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT

from talkclip_model.animate import expression as ex
from talkclip_model.animate import mouth
from talkclip_model.animate.decoder import decode
from talkclip_model.arkit import INDEX, NUM_CHANNELS
from talkclip_model.evaluation import references
from talkclip_model.phones import BILABIALS
from talkclip_model.speech import audio
from talkclip_model.types import Prosody, SpeakingStyle, default_dynamics

SPEECH = ROOT / "tests" / "data" / "speech"
LINES = [SPEECH / f"line{i}_us{v}" for i in (1, 2, 3) for v in (1, 2)] + [EXAMPLES / "hello"]
PAIRS = ("mouthSmile", "mouthFrown", "mouthStretch", "cheekSquint")
# the channels no take moved before issue 15 (jaw and mouth sideways go one way or the other per take)
NEVER_MOVED = ("jawForward", "jawLeft|jawRight", "mouthLeft|mouthRight", "mouthDimpleLeft", "mouthDimpleRight",
               "cheekPuff", "noseSneerLeft", "noseSneerRight")


@pytest.fixture(scope="module")
def takes():
    """(phones, prosody) of the mbrola lines and the example, with their exact phone timings."""
    return [(references.read_pho(p.with_suffix(".pho")), audio.prosody(audio.load_audio(p.with_suffix(".wav"))))
            for p in LINES]


def style(values: dict[str, float], **dynamics) -> SpeakingStyle:
    arkit = np.zeros(NUM_CHANNELS)
    for name, v in values.items():
        for ch in (name + "Left", name + "Right") if name + "Left" in INDEX else (name,):
            arkit[INDEX[ch]] = v
    return SpeakingStyle(arkit=arkit, dynamics={**default_dynamics(), **dynamics})


# a fury and a terror as the style model made them when the issue was filed
FURIOUS = style({"browDown": 0.8, "browInnerUp": 0.3, "eyeSquint": 0.37, "eyeWide": 0.21, "mouthPress": 0.29,
                 "mouthUpperUp": 0.12}, expressiveness=1.25, articulation=1.22)
TERRIFIED = style({"eyeWide": 0.8, "browInnerUp": 0.75, "browOuterUp": 0.5, "browDown": 0.4, "mouthStretch": 0.35},
                  expressiveness=1.2)


def frames_of(takes, st=None, seed=0, per_take=False):
    """Tracks of ``takes``; ``per_take``: a different seed for each, as a seed from the audio gives."""
    return [decode(ph, pr, st or SpeakingStyle.neutral(), fps=30.0, seed=seed + k if per_take else seed)
            for k, (ph, pr) in enumerate(takes)]


def lr_p90(arkit: np.ndarray, pair: str) -> float:
    return float(np.percentile(np.abs(arkit[:, INDEX[pair + "Left"]] - arkit[:, INDEX[pair + "Right"]]), 90))


def blink_peaks(track) -> np.ndarray:
    """Frames where the mean lid closure peaks above 0.5."""
    lid = 0.5 * (track.channel("eyeBlinkLeft") + track.channel("eyeBlinkRight"))
    inner = lid[1:-1]
    return np.flatnonzero((inner > 0.5) & (inner >= lid[:-2]) & (inner > lid[2:])) + 1


# --- a living face without a prompt ---------------------------------------------------------------

@pytest.mark.parametrize("per_take", [False, True])
def test_many_channels_live_without_a_prompt(takes, per_take):
    arkit = np.concatenate([t.arkit for t in frames_of(takes, per_take=per_take)])
    assert np.median((arkit > 0.1).sum(axis=1)) >= 7  # was 4; real emotional idles 11
    for names in NEVER_MOVED:  # each moves a little, none a lot
        ch = np.max([arkit[:, INDEX[n]] for n in names.split("|")], axis=0)
        assert ch.max() > 0.02, names
        assert np.percentile(ch, 99) < 0.3, names


def test_sides_are_uneven_and_consistent(takes):
    for seed in (0, 1, 2):
        arkit = np.concatenate([t.arkit for t in frames_of(takes, seed=seed)])
        for pair in PAIRS:
            assert lr_p90(arkit, pair) >= 0.02, (seed, pair)  # was 0.000; real 0.02-0.2
    # one side is stronger through the whole take (which side depends on the seed)
    signs = set()
    for seed in range(6):
        track = decode(*takes[0], SpeakingStyle.neutral(), fps=30.0, seed=seed)
        d = track.channel("mouthSmileLeft") - track.channel("mouthSmileRight")
        halves = np.sign([d[: len(d) // 2].mean(), d[len(d) // 2:].mean()])
        assert halves[0] == halves[1]
        signs.add(halves[0])
    assert signs == {-1.0, 1.0}


def test_secondary_motion_follows_the_lips(takes):
    track = frames_of(takes[:1])[0]
    lips, sec = track.layers["lips"], track.layers["secondary"]
    up = lips[:, INDEX["mouthUpperUpLeft"]]
    assert np.corrcoef(up, sec[:, INDEX["noseSneerLeft"]])[0, 1] > 0.3
    assert np.corrcoef(lips[:, INDEX["jawOpen"]], np.abs(sec[:, INDEX["jawLeft"]] - sec[:, INDEX["jawRight"]]))[0, 1] > 0.3
    assert sec[:, INDEX["cheekPuff"]].max() > 0.03  # a puff before the p/b of "Please bring"
    # slow, not jittery: cheek and nose move no faster than real speech captures (p99 about .02-.06 per frame)
    cheeks = [INDEX[n] for n in ("cheekSquintLeft", "noseSneerLeft", "mouthDimpleLeft")]
    assert np.percentile(np.abs(np.diff(track.arkit[:, cheeks], axis=0)), 99) < 0.06


def test_nothing_here_opens_sealed_lips(takes):
    for (phones, _), track in zip(takes, frames_of(takes, FURIOUS)):
        for p, s, e in zip(phones.phones, phones.starts, phones.ends):
            if p in BILABIALS:
                i = int(round(0.5 * (s + e) * track.fps))
                assert mouth.lip_aperture(track.arkit[i:i + 1])[0] < 0.03, (p, s)


# --- held expressions breathe ---------------------------------------------------------------------

def test_held_expression_breathes_slowly(takes):
    smile = style({"mouthSmile": 0.5})
    track = decode(*takes[-1], smile, fps=30.0, seed=0, audio_arousal=False)
    held = track.layers["expression"][:, INDEX["mouthSmileLeft"]]
    assert 0.01 < held.std() < 0.1  # not frozen, not wobbling
    assert abs(held.mean() - 0.5) < 0.1
    assert np.abs(np.diff(held)).max() < 0.02  # drifts at 0.2-1 Hz, no jumps


# --- expressions without artefacts ----------------------------------------------------------------

def test_no_channel_pinned_at_one(takes):
    tracks = frames_of(takes, FURIOUS)
    arkit = np.concatenate([t.arkit for t in tracks])
    assert (arkit >= 0.999).any(axis=1).mean() <= 0.10  # was about half the frames
    brows = arkit[:, INDEX["browDownLeft"]]
    assert brows.mean() > 0.85 and brows.std() > 0.01  # still strongly knitted, and moving


def test_soft_saturation_keeps_a_slope():
    x = np.linspace(0.0, 2.5, 251)
    y = ex.soft_saturate(x)
    assert np.allclose(y[x <= ex.KNEE], x[x <= ex.KNEE])
    assert np.all(np.diff(y) > 0) and y.max() < 0.999


def test_blinks_close_through_wide_eyes(takes):
    peaks = []
    for track in frames_of(takes, TERRIFIED):
        k = blink_peaks(track)
        peaks.append(0.5 * (track.channel("eyeWideLeft")[k] + track.channel("eyeWideRight")[k]))
    wide = np.concatenate(peaks)
    assert len(wide) >= 5
    assert np.median(wide) <= 0.15 and wide.max() <= 0.3  # was 0.72
    held = np.concatenate([t.channel("eyeWideLeft") for t in frames_of(takes[:2], TERRIFIED)])
    assert np.median(held) > 0.6  # the eyes stay wide between blinks


def test_the_stronger_brow_action_wins(takes):
    track = decode(*takes[0], FURIOUS, fps=30.0, seed=0)
    inner, down = track.channel("browInnerUp"), track.channel("browDownLeft")
    assert inner.mean() < 0.5 * 0.3 * 1.25  # the knit mostly cancels the raise it fights
    assert down.mean() > 0.85
    fear = decode(*takes[0], TERRIFIED, fps=30.0, seed=0)
    assert fear.channel("browDownLeft").mean() > 0.2  # a fear brow keeps its knit (AU 1+2+4)


# --- arousal --------------------------------------------------------------------------------------

def test_a_louder_livelier_take_reads_more_aroused(takes):
    phones, pros = takes[0]
    quiet = dataclasses.replace(pros, loudness_db=np.asarray(pros.loudness_db) - 12.0)
    loud = dataclasses.replace(pros, loudness_db=np.asarray(pros.loudness_db) + 6.0)
    a, b = (decode(phones, p, SpeakingStyle.neutral(), fps=30.0, seed=0) for p in (quiet, loud))
    assert b.meta["arousal"] > a.meta["arousal"] + 0.3
    assert np.abs(b.layers["secondary"]).mean() > 1.1 * np.abs(a.layers["secondary"]).mean()
    assert ex.take_arousal(Prosody(hop=0.01, loudness_db=np.zeros(0), pitch_hz=np.zeros(0), voicing=np.zeros(0),
                                   duration=0.0)) == 0.0
    off = decode(phones, loud, SpeakingStyle.neutral(), fps=30.0, seed=0, audio_arousal=False)
    assert off.meta["arousal"] == 0.0


# --- bookkeeping ----------------------------------------------------------------------------------

def test_layers_add_up_and_runs_repeat(takes):
    a = decode(*takes[1], FURIOUS, fps=30.0, seed=7)
    b = decode(*takes[1], FURIOUS, fps=30.0, seed=7)
    assert np.array_equal(a.arkit, b.arkit)
    assert set(a.layers) == {"lips", "expression", "secondary", "eyes", "emphasis"}
    assert np.allclose(np.clip(sum(a.layers.values()), 0, 1), a.arkit, atol=1e-5)
    c = decode(*takes[1], FURIOUS, fps=30.0, seed=8)
    assert not np.allclose(a.layers["secondary"], c.layers["secondary"])


def test_same_drift_at_every_fps(takes):
    phones, pros = takes[0]
    t30, t60 = np.arange(80) / 30.0, np.arange(160) / 60.0
    a, b = (ex.band_noise(np.random.default_rng(5), t, (0.2, 1.0), 3) for t in (t30, t60))
    assert np.allclose(a, b[::2]) and 0.5 < a.std() < 1.5
    s30, s60 = (decode(phones, pros, SpeakingStyle.neutral(), fps=f, seed=3).layers["secondary"] for f in (30.0, 60.0))
    for name in ("eyeSquintLeft", "browInnerUp", "mouthSmileRight"):
        a, b = s30[:, INDEX[name]], s60[::2, INDEX[name]]
        n = min(len(a), len(b))
        assert np.median(np.abs(a[:n] - b[:n])) < 0.01, name
