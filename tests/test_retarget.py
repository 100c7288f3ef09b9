"""Retarget profiles: spellings, detection of every shipped profile (shuffled, respelled),
coverage reports, the linear map, exclusive selection, custom profiles and bad input."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from conftest import shared
from helpers import constant_track

from exporters.retarget import (
    apply,
    detect_profile,
    list_profiles,
    load_profile,
    normalise_arkit_name,
    scores,
    select_exclusive,
    to_arkit,
)
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack


@pytest.mark.parametrize("spelling, arkit", [
    ("jawOpen", "jawOpen"), ("JawOpen", "jawOpen"), ("jaw_open", "jawOpen"), ("JAW-OPEN", "jawOpen"),
    ("blendShape1.jawOpen", "jawOpen"), ("BS_jawOpen", "jawOpen"), ("ARKit_jawOpen", "jawOpen"),
    ("A25_Jaw_Open", "jawOpen"), ("CC_Base_Body.A38_Mouth_Smile_Left", "mouthSmileLeft"),
    ("eyeBlink_L", "eyeBlinkLeft"), ("eyeBlink.R", "eyeBlinkRight"), ("eyeBlinkL", "eyeBlinkLeft"),
    ("eyeBlink_Left", "eyeBlinkLeft"), ("L_eyeBlink", "eyeBlinkLeft"), ("Face:noseSneer_R", "noseSneerRight"),
    ("mouthFunnel", "mouthFunnel"), ("browInnerUp_L", "browInnerUp"), ("A52_Tongue_Out", "tongueOut"),
    ("mouthLeft", "mouthLeft"), ("eyeLookOut_Left", "eyeLookOutLeft"),
    # spellings the Blender binding's own matcher read before there was one normaliser
    ("EYEBLINKL", "eyeBlinkLeft"), ("BROW_DOWNR", "browDownRight"), ("cheekPuffleft", "cheekPuff"),
    ("JAW_OPENRight", "jawOpen"), ("MOUTHFUNNEL", "mouthFunnel"), ("L NOSESNEER", "noseSneerLeft"),
    ("cheekRaiser_L", None), ("PupilDilate_R", None), ("Blink", None), ("aa", None), ("vrc.v_aa", None),
])
def test_arkit_spellings(spelling, arkit):
    assert normalise_arkit_name(spelling) == arkit


def test_shipped_profiles_listed_and_well_formed():
    assert set(list_profiles()) >= {"arkit", "vrm", "visemes", "rhubarb"}
    sizes = {name: len(load_profile(name).targets) for name in list_profiles()}
    assert sizes["arkit"] == 52 and sizes["visemes"] == 15 and sizes["rhubarb"] == 9
    vrm = set(load_profile("vrm").targets)
    assert vrm >= {"aa", "ih", "ou", "ee", "oh", "blink", "happy", "angry", "sad", "relaxed", "surprised"}
    assert set(load_profile("rhubarb").targets) == set("ABCDEFGHX")
    assert all(t.startswith("vrc.v_") for t in load_profile("visemes").targets)
    for name in list_profiles():
        p = load_profile(name)
        assert p.description and np.all(np.isfinite(p.matrix)) and p.matrix.shape == (len(p.targets), 55)


def _respell(profile: str, name: str, rng: random.Random) -> str:
    """A spelling another tool would use for a profile channel."""
    if profile == "arkit":
        m = re.match(r"(.*?)(Left|Right)?$", name)
        stem, side = m.group(1), m.group(2)
        words = re.findall(r"[a-z]+|[A-Z][a-z]*", stem)
        styles = [
            lambda: f"A{rng.randint(1, 52):02d}_" + "_".join(w.capitalize() for w in words) + (f"_{side}" if side else ""),
            lambda: "blendShape1." + stem + (side[0] if side else ""),
            lambda: "BS_" + stem + (f"_{side[0]}" if side else ""),
            lambda: (stem + (f".{side[0]}" if side else "")),
            lambda: name.upper() if not side else f"{stem.upper()}_{side.upper()}",
        ]
        return rng.choice(styles)()
    if profile == "vrm":
        return rng.choice([name, name.capitalize(), f"VRM_{name}", f"Fcl_ALL_{name}"])
    if profile == "visemes":
        short = name[len("vrc.v_"):]
        return rng.choice([name, f"viseme_{short}", f"Viseme_{short.upper()}", f"vrc.v_{short.upper()}"])
    return rng.choice([name, f"mouth_{name}", f"Mouth-{name}", f"shape{name}"])


@pytest.mark.parametrize("profile", ["arkit", "vrm", "visemes", "rhubarb"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detection_picks_each_profile_shuffled_and_respelled(profile, seed):
    rng = random.Random(seed)
    base = load_profile(profile)
    spelled = {_respell(profile, t, rng): t for t in base.targets}
    names = list(spelled)
    rng.shuffle(names)
    names.append("SomethingElse_Custom")  # a character always has a few extra shapes
    det = detect_profile(names)
    assert det.base.name == profile
    assert det.binding == spelled  # the concrete binding: the character's names -> profile channels
    assert det.missing_targets == () and det.unused_targets == ("SomethingElse_Custom",)
    assert list(det.profile.targets) == [n for n in names if n in spelled]


def test_ict_facekit_names_bind_with_a_short_readable_report():
    data = np.load(shared("ict_facekit", "ict_expression_deltas.npz"))
    names = [str(n) for n in data["names"]]
    det = detect_profile(names)
    assert det.base.name == "arkit"
    assert det.lost_arkit == ("tongueOut",) and det.missing_targets == ("tongueOut",)
    assert set(det.unused_targets) == {"cheekRaiser_L", "cheekRaiser_R", "PupilDilate_L", "PupilDilate_R"}
    assert det.binding["eyeBlink_L"] == "eyeBlinkLeft" and det.binding["browInnerUp_R"] == "browInnerUp"
    text = det.summary()
    assert len(text.splitlines()) <= 6 and max(len(line) for line in text.splitlines()) < 200
    assert "tongueOut" in text and "cheekRaiser_L" in text


def test_mixed_character_prefers_the_larger_set():
    names = list(ARKIT_NAMES) + list(load_profile("visemes").targets)
    det = detect_profile(names)
    assert det.base.name == "arkit" and len(det.unused_targets) == 15


def test_no_matching_names_is_a_clear_error():
    with pytest.raises(TalkclipError, match="no profile matches"):
        detect_profile(["Body", "Hair", "Cloth_01"])
    with pytest.raises(TalkclipError, match="no channel names"):
        detect_profile([])


def test_arkit_profile_is_identity_and_invertible():
    track = constant_track(seed=3)
    names = ["A25_Jaw_Open", "eyeBlink_L", "mouthSmile_R", "Extra"]
    det = load_profile("arkit").bind(names)
    out_names, values = apply(det, track)
    assert out_names == names[:3]
    np.testing.assert_array_equal(values[:, 0], track.channel("jawOpen"))
    np.testing.assert_array_equal(values[:, 1], track.channel("eyeBlinkLeft"))
    full = load_profile("arkit")
    _, all_values = apply(full, track)
    np.testing.assert_array_equal(all_values, track.arkit)
    np.testing.assert_allclose(to_arkit(full, all_values), track.arkit, atol=1e-6)


@pytest.mark.parametrize("pose, winner", [
    ({"jawOpen": 0.8}, "vrc.v_aa"), ({"mouthPucker": 0.8}, "vrc.v_ou"), ({"mouthFunnel": 0.7, "jawOpen": 0.3}, "vrc.v_oh"),
    ({"mouthPressLeft": 0.6, "mouthPressRight": 0.6}, "vrc.v_pp"), ({"tongueOut": 0.8}, "vrc.v_th"),
    ({"mouthRollLower": 0.7}, "vrc.v_ff"), ({}, "vrc.v_sil"),
])
def test_viseme_projection_follows_articulation(pose, winner):
    names, values = apply(load_profile("visemes"), constant_track(pose, n=1))
    assert names[int(values[0].argmax())] == winner


@pytest.mark.parametrize("pose, winner", [
    ({"jawOpen": 0.8}, "aa"), ({"mouthPucker": 0.8}, "ou"), ({"eyeBlinkLeft": 1, "eyeBlinkRight": 1}, "blink"),
    ({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.5, "cheekSquintRight": 0.5}, "happy"),
    ({"browDownLeft": 0.8, "browDownRight": 0.8, "noseSneerLeft": 0.5, "noseSneerRight": 0.5}, "angry"),
    ({"browInnerUp": 0.8, "mouthFrownLeft": 0.6, "mouthFrownRight": 0.6}, "sad"),
    ({"eyeWideLeft": 0.9, "eyeWideRight": 0.9, "browInnerUp": 0.8, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8}, "surprised"),
])
def test_vrm_projection(pose, winner):
    names, values = apply(load_profile("vrm"), constant_track(pose, n=1))
    assert names[int(values[0].argmax())] == winner
    assert values.min() >= 0 and values.max() <= 1


@pytest.mark.parametrize("pose, shape", [
    ({}, "X"), ({"jawOpen": 0.15}, "B"), ({"jawOpen": 0.35}, "C"), ({"jawOpen": 0.7}, "D"),
    ({"mouthPressLeft": 0.4, "mouthPressRight": 0.4}, "A"), ({"mouthClose": 0.3, "jawOpen": 0.1}, "A"),
    ({"mouthFunnel": 0.5, "jawOpen": 0.2}, "E"), ({"mouthPucker": 0.6}, "F"),
    ({"mouthRollLower": 0.5, "mouthUpperUpLeft": 0.2, "mouthUpperUpRight": 0.2}, "G"), ({"tongueOut": 0.5, "jawOpen": 0.2}, "H"),
])
def test_rhubarb_shapes_exclusive(pose, shape):
    names, values = apply(load_profile("rhubarb"), constant_track(pose, n=4))
    assert set(np.unique(values)) <= {0.0, 1.0} and np.all(values.sum(axis=1) == 1)
    assert names[int(values[0].argmax())] == shape


def test_exclusive_selection_holds_and_needs_a_margin():
    fps = 30.0
    s = np.zeros((60, 2), np.float32)
    s[:, 0] = 0.5
    s[:, 1] = 0.5 + 0.02 * (np.arange(60) % 2)  # jitters just above channel 0: below the margin
    assert np.all(select_exclusive(s, fps, margin=0.04) == 0)
    s[:, 1] = np.where((np.arange(60) // 1) % 2 == 1, 0.9, 0.1)  # flips every frame
    pick = select_exclusive(s, fps, min_hold=0.1)
    runs = np.diff(np.flatnonzero(np.diff(pick) != 0))
    assert len(runs) and runs.min() >= round(0.1 * fps)


def test_head_sources_and_bias_in_custom_profile(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "clamp": [-1, 1], "targets": {
        "Jaw": "jawOpen",
        "Nod": {"weights": {"head.pitch": 2.0}},
        "Rest": {"bias": 0.5, "weights": {"jawOpen": -1.0}},
    }}))
    prof = load_profile(path)
    track = ExpressionTrack(fps=30, arkit=np.full((3, 52), 0.25, np.float32), head=[[0.1, 0, 0]] * 3)
    names, values = apply(prof, track)
    assert names == ["Jaw", "Nod", "Rest"]
    np.testing.assert_allclose(values[0], [0.25, 0.2, 0.25], atol=1e-6)
    assert prof.bind(["jaw", "NOD"]).binding == {"jaw": "Jaw", "NOD": "Nod"}


@pytest.mark.parametrize("content, message", [
    ("{not json", "cannot read profile JSON"),
    ('{"targets": {}}', "non-empty 'targets'"),
    ('{"targets": {"X": {"weights": {"jawOpenn": 1}}}}', "unknown source channel 'jawOpenn'"),
    ('{"targets": {"X": {"weights": {"jawOpen": "a"}}}}', "not a number"),
    ('{"targets": {"X": "jawOpen"}, "clamp": [1, 0]}', "clamp"),
    ('{"targets": {"X": "jawOpen"}, "mode": "loud"}', "mode"),
])
def test_bad_custom_profiles(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TalkclipError, match=message):
        load_profile(path)


def test_unknown_profile_name():
    with pytest.raises(TalkclipError, match="no such profile.*arkit"):
        load_profile("nonexistent")


def test_scores_clamp_and_nan_inverse():
    prof = load_profile("vrm")
    s = scores(prof, np.ones((2, 52), np.float32))
    assert s.min() >= 0 and s.max() <= 1
    with pytest.raises(TalkclipError, match="NaN"):
        to_arkit(load_profile("arkit"), np.full((1, 52), np.nan))


def test_both_sides_shapes_take_the_mean_unless_sided_ones_exist():
    track = constant_track(seed=5)
    det = load_profile("arkit").bind(["eyeBlink", "Mouth_Smile", "jawOpen", "Mouth", "browDown", "browDown_L"])
    assert det.binding == {"eyeBlink": "eyeBlinkLeft+eyeBlinkRight", "Mouth_Smile": "mouthSmileLeft+mouthSmileRight",
                           "jawOpen": "jawOpen", "browDown_L": "browDownLeft"}
    assert det.unused_targets == ("Mouth", "browDown")  # browDown_L is there: no double counting
    names, values = apply(det, track)
    blink = (track.channel("eyeBlinkLeft") + track.channel("eyeBlinkRight")) / 2
    np.testing.assert_allclose(values[:, names.index("eyeBlink")], blink, atol=1e-6)
    assert "eyeBlinkRight" not in det.missing_targets and "browDownRight" in det.lost_arkit


def test_one_name_normaliser_for_every_path():
    """Profile binding and the Blender layer's plain name matching read a name the same way."""
    pytest.importorskip("bpy")  # the blender_addon package imports it
    from blender_addon.binding import match_by_name
    from talkclip_model import arkit

    names = ["EYEBLINKL", "eyeBlink.R", "A25_Jaw_Open", "browInnerUp_L", "Face:noseSneer_R", "Hair"]
    bound = match_by_name(names)
    assert bound.targets == tuple(n for n in names if arkit.normalise_arkit_name(n))
    for target, row in zip(bound.targets, bound.weights):
        assert ARKIT_NAMES[int(row.argmax())] == arkit.normalise_arkit_name(target)
    assert normalise_arkit_name is arkit.normalise_arkit_name
