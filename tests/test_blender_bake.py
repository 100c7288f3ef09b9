"""bpy tests of the shape-key / head bake (blender_addon.bake) on meshes built by tests/bpy_scenes.py
and on real ARKit heads from ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_scenes import (  # noqa: E402
    build_face,
    build_ict_head,
    build_said_head,
    channelbag,
    empty_scene,
    fcurve_of,
    keyed,
    mesh_object,
)
from helpers import synthetic_track  # noqa: E402

from blender_addon import bake  # noqa: E402
from blender_addon.scene import scene_fps, style_schedule  # noqa: E402
from talkclip_model.arkit import ARKIT_NAMES, INDEX  # noqa: E402
from talkclip_model.errors import TalkclipError  # noqa: E402

pytestmark = pytest.mark.bpy


# --- pure frame maths --------------------------------------------------------------------------

@pytest.mark.parametrize("fps,base,track_fps,expected_last", [
    (24, 1.0, 24.0, 1 + 47), (25, 1.0, 25.0, 1 + 49), (30, 1.001, 30 / 1.001, 1 + 59),
    (30, 1.0, 30.0, 1 + 59), (60, 1.0, 60.0, 1 + 119), (24, 1.0, 30.0, 1 + 59 * 24 / 30),
])
def test_frame_positions(fps, base, track_fps, expected_last):
    n = int(round(2 * track_fps))
    pos = bake.frame_positions(n, track_fps, fps / base, 1.0)
    assert pos[0] == 1.0
    assert pos[-1] == pytest.approx(expected_last, abs=1e-6)


def test_reduce_keys_keeps_error_within_tolerance():
    rng = np.random.default_rng(3)
    v = 0.5 + 0.4 * np.sin(np.arange(600) / 25.0) + rng.normal(0, 0.002, 600)
    v[200:300] = 0.1  # a hold
    keep = bake.reduce_keys(v, 0.01)
    x = np.arange(len(v))
    approx = np.interp(x, x[keep], v[keep])
    assert np.max(np.abs(approx - v)) <= 0.01 + 1e-9
    assert keep.sum() < len(v) / 4
    assert bake.reduce_keys(np.full(100, 0.3), 0.001).sum() == 2


def test_take_name_is_bounded():
    assert bake.take_name("hello") == "TalkCLIP_hello"
    assert len(bake.take_name("x" * 200).encode()) <= 59


# --- bake onto a built mesh --------------------------------------------------------------------

def test_keys_land_on_the_right_shape_keys_with_track_values():
    scene = empty_scene()
    face = build_face()
    track = synthetic_track(90)
    summary = bake.bake_shape_keys(face, track, take="hello", start_frame=10)
    assert summary.action == "TalkCLIP_hello"
    assert summary.channels_mapped == 52 and summary.frames == 90 and summary.keys == 52 * 90
    action = bpy.data.actions[summary.action]
    key = face.data.shape_keys
    assert key.animation_data.action == action
    for name in ("jawOpen", "eyeBlinkLeft", "mouthSmileRight", "tongueOut"):
        frames, values = keyed(fcurve_of(action, name))
        np.testing.assert_allclose(frames, 10 + np.arange(90))
        np.testing.assert_allclose(values, track.channel(name), atol=1e-6)
    for f in (10, 37, 99):
        scene.frame_set(f)
        for name in ("jawOpen", "browInnerUp"):
            assert key.key_blocks[name].value == pytest.approx(float(track.channel(name)[f - 10]), abs=1e-5)


def test_existing_action_survives_and_second_bake_makes_a_second_action():
    empty_scene()
    face = build_face(list(ARKIT_NAMES) + ["customBlush"])
    key = face.data.shape_keys
    ad = key.animation_data_create()
    mine = bpy.data.actions.new("AnimatorKeys")
    ad.action = mine
    fc = mine.fcurve_ensure_for_datablock(key, 'key_blocks["customBlush"].value')
    fc.keyframe_points.insert(1, 0.0)
    fc.keyframe_points.insert(20, 0.8)
    fc2 = mine.fcurve_ensure_for_datablock(key, 'key_blocks["jawOpen"].value')
    fc2.keyframe_points.insert(5, 0.25)

    first = bake.bake_shape_keys(face, synthetic_track(60, seed=1), take="line01", start_frame=1)
    second = bake.bake_shape_keys(face, synthetic_track(60, seed=2), take="line01", start_frame=1)

    assert first.previous_action == "AnimatorKeys"
    assert second.previous_action == first.action
    assert first.action != second.action and second.action == "TalkCLIP_line01.001"
    assert ad.action.name == second.action
    # the animator's action is untouched and still plays from the NLA
    assert "AnimatorKeys" in bpy.data.actions
    frames, values = keyed(fcurve_of(mine, "customBlush"))
    np.testing.assert_allclose(frames, [1, 20])
    np.testing.assert_allclose(values, [0.0, 0.8], atol=1e-6)
    assert keyed(fcurve_of(mine, "jawOpen"))[1].tolist() == [0.25]
    strips = [(t.name, t.mute, [s.action.name for s in t.strips]) for t in ad.nla_tracks]
    assert ("AnimatorKeys", False, ["AnimatorKeys"]) in strips
    assert any(s[2] == [first.action] for s in strips)
    # channels the take does not drive keep the animator's animation
    bpy.context.scene.frame_set(20)
    assert key.key_blocks["customBlush"].value == pytest.approx(0.8, abs=1e-5)
    # the first take's values are intact in its own action
    np.testing.assert_allclose(keyed(fcurve_of(bpy.data.actions[first.action], "jawOpen"))[1],
                               synthetic_track(60, seed=1).channel("jawOpen"), atol=1e-6)


def test_29_97_scene_rate_and_start_frame():
    scene = empty_scene(30, 1.001)
    assert scene_fps(scene) == pytest.approx(29.97003, abs=1e-4)
    face = build_face()
    track = synthetic_track(120, fps=scene_fps(scene))
    summary = bake.bake_shape_keys(face, track, take="ntsc", start_frame=101)
    frames, _ = keyed(fcurve_of(bpy.data.actions[summary.action], "jawOpen"))
    np.testing.assert_allclose(frames, 101 + np.arange(120), atol=1e-4)
    # a 30 fps track on a 24 fps scene keeps its timing
    scene.render.fps, scene.render.fps_base = 24, 1.0
    summary = bake.bake_shape_keys(face, synthetic_track(31), take="rate", start_frame=1)
    frames, _ = keyed(fcurve_of(bpy.data.actions[summary.action], "jawOpen"))
    assert frames[-1] == pytest.approx(1 + 30 * 24 / 30)


def test_key_reduction_stays_within_tolerance():
    empty_scene()
    face = build_face()
    track = synthetic_track(300, seed=4)
    summary = bake.bake_shape_keys(face, track, take="reduced", start_frame=1, reduce_tolerance=0.01)
    assert summary.keys < 52 * 300 * 0.6
    fc = fcurve_of(bpy.data.actions[summary.action], "jawOpen")
    err = max(abs(fc.evaluate(1 + i) - track.channel("jawOpen")[i]) for i in range(300))
    assert err <= 0.0101


def test_head_rotation_euler_and_quaternion():
    scene = empty_scene()
    arm_data = bpy.data.armatures.new("Rig")
    arm = bpy.data.objects.new("Rig", arm_data)
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    bone = arm_data.edit_bones.new("Head")
    bone.head, bone.tail = (0, 0, 0), (0, 0, 0.2)
    bpy.ops.object.mode_set(mode="OBJECT")
    track = synthetic_track(40)
    arm.pose.bones["Head"].rotation_mode = "XYZ"
    name = bake.bake_head(arm, "Head", track, take="t", start_frame=1)
    bag = channelbag(bpy.data.actions[name])
    pitch = bag.fcurves.find('pose.bones["Head"].rotation_euler', index=0)
    roll = bag.fcurves.find('pose.bones["Head"].rotation_euler', index=2)
    np.testing.assert_allclose(keyed(pitch)[1], track.head[:, 0], atol=1e-6)
    np.testing.assert_allclose(keyed(roll)[1], -track.head[:, 2], atol=1e-6)
    arm.pose.bones["Head"].rotation_mode = "QUATERNION"
    name2 = bake.bake_head(arm, "Head", track, take="t", start_frame=1)
    assert name2 != name and arm.animation_data.action.name == name2
    scene.frame_set(11)
    from mathutils import Euler

    expected = Euler(tuple(track.head[10] * np.array([1, 1, -1])), "XYZ").to_quaternion()
    got = arm.pose.bones["Head"].rotation_quaternion
    assert abs(got.dot(expected)) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(TalkclipError, match="no bone"):
        bake.bake_head(arm, "Neck", track)


def test_layers_get_their_own_muted_nla_tracks():
    empty_scene()
    face = build_face()
    track = synthetic_track(30, layers=True)
    summary = bake.bake_shape_keys(face, track, take="lay", start_frame=1, layers=True)
    assert set(summary.layer_actions) == {"lips", "expression"}
    ad = face.data.shape_keys.animation_data
    layer_tracks = [t for t in ad.nla_tracks if t.strips[0].action.name in summary.layer_actions.values()]
    assert len(layer_tracks) == 2 and all(t.mute for t in layer_tracks)
    assert all(t.strips[0].blend_type == "ADD" for t in layer_tracks)
    np.testing.assert_allclose(
        keyed(fcurve_of(bpy.data.actions[summary.layer_actions["lips"]], "jawOpen"))[1],
        track.layers["lips"][:, INDEX["jawOpen"]], atol=1e-6)
    assert ad.action.name == summary.action


def test_baked_keys_end_deselected():
    """A stray G or X in the Graph Editor must not move or delete a whole take."""
    scene = empty_scene()
    face = build_face()
    arm = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    arm.data.edit_bones.new("Head").tail = (0, 0, 0.2)
    bpy.ops.object.mode_set(mode="OBJECT")
    track = synthetic_track(30, layers=True)
    summary = bake.bake_shape_keys(face, track, take="sel", start_frame=1, layers=True)
    head = bake.bake_head(arm, "Head", track, take="sel", start_frame=1, reduce_tolerance=0.01)
    actions = [summary.action, *summary.layer_actions.values(), head]
    checked = 0
    for name in actions:
        for fc in channelbag(bpy.data.actions[name]).fcurves:
            n = len(fc.keyframe_points)
            for prop in ("select_control_point", "select_left_handle", "select_right_handle"):
                flags = np.ones(n, dtype=bool)
                fc.keyframe_points.foreach_get(prop, flags)
                assert not flags.any(), f"{name} {fc.data_path}: {prop} set on {int(flags.sum())} keys"
            checked += n
    assert checked >= 3 * 52 * 30 + 4


def test_pose_style_sets_values_without_keys():
    empty_scene()
    face = build_face()
    pose = np.zeros(52, np.float32)
    pose[INDEX["mouthSmileLeft"]] = 0.7
    assert bake.pose_style(face, pose) == 52
    assert face.data.shape_keys.key_blocks["mouthSmileLeft"].value == pytest.approx(0.7)
    assert face.data.shape_keys.animation_data is None


def test_style_markers_become_a_schedule():
    scene = empty_scene(24)
    scene.timeline_markers.new("style: furious", frame=49)
    scene.timeline_markers.new("Style:  calm again ", frame=25)
    scene.timeline_markers.new("camera cut", frame=30)
    assert style_schedule(scene, 1) == [(1.0, "calm again"), (2.0, "furious")]


# --- bad input -------------------------------------------------------------------------------

def test_bad_targets_give_one_line_errors():
    empty_scene()
    with pytest.raises(TalkclipError, match="no object selected"):
        bake.bake_shape_keys(None, synthetic_track(5))
    plain = mesh_object("Plain", np.zeros((3, 3)), [(0, 1, 2)])
    with pytest.raises(TalkclipError, match="has no shape keys"):
        bake.bake_shape_keys(plain, synthetic_track(5))
    odd = build_face(["Basis2", "foo", "bar"], name="Odd")
    with pytest.raises(TalkclipError, match="matches"):
        bake.bake_shape_keys(odd, synthetic_track(5))
    assert odd.data.shape_keys.animation_data is None


def test_linked_library_object_is_refused(tmp_path):
    empty_scene()
    build_face(name="LibFace")
    lib = tmp_path / "lib.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(lib), copy=True)
    empty_scene()
    with bpy.data.libraries.load(str(lib), link=True) as (src, dst):
        dst.objects = ["LibFace"]
    obj = dst.objects[0]
    bpy.context.scene.collection.objects.link(obj)
    with pytest.raises(TalkclipError, match="linked from library"):
        bake.bake_shape_keys(obj, synthetic_track(5))


# --- real heads ------------------------------------------------------------------------------

def test_bake_on_said_arkit_head():
    empty_scene()
    head = build_said_head()
    assert len(head.data.vertices) == 1220
    track = synthetic_track(60)
    summary = bake.bake_shape_keys(head, track, take="said", start_frame=1)
    assert summary.channels_mapped == 51 and summary.unmapped == ["tongueOut"]
    action = bpy.data.actions[summary.action]
    np.testing.assert_allclose(keyed(fcurve_of(action, "jawOpen"))[1], track.channel("jawOpen"), atol=1e-6)
    bpy.context.scene.frame_set(31)
    assert head.data.shape_keys.key_blocks["eyeBlinkRight"].value == pytest.approx(
        float(track.channel("eyeBlinkRight")[30]), abs=1e-5)


def test_bake_on_ict_head_maps_sided_names():
    empty_scene()
    head = build_ict_head()
    track = synthetic_track(30)
    summary = bake.bake_shape_keys(head, track, take="ict", start_frame=1)
    assert summary.channels_mapped == 51
    action = bpy.data.actions[summary.action]
    np.testing.assert_allclose(keyed(fcurve_of(action, "eyeBlink_L"))[1], track.channel("eyeBlinkLeft"), atol=1e-6)
    np.testing.assert_allclose(keyed(fcurve_of(action, "mouthSmile_R"))[1], track.channel("mouthSmileRight"),
                               atol=1e-6)
    assert channelbag(action).fcurves.find('key_blocks["PupilDilate_L"].value') is None
