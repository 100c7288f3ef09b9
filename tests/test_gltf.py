"""glTF export: a take added as a morph-target weights animation to a character GLB, checked
with the Khronos glTF validator, read back exactly, and with the rest of the file untouched."""

from __future__ import annotations

import json
import subprocess
import zipfile

import numpy as np
import pytest
from conftest import ROOT, need_tool, shared

from exporters.formats import read_track
from exporters.gltf import (
    add_animation,
    character_channels,
    glb_bytes,
    read_animation,
    read_glb,
    write_morph_glb,
)
from exporters.pointcache import load_deltas_npz, load_mesh
from exporters.retarget import apply, load_profile
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack

VALIDATOR = ROOT / "tools" / "gltf-validator" / "validate.js"
CC4_NAMES = ["A25_Jaw_Open", "A01_Brow_Inner_Up", "A14_Eye_Blink_Left", "A15_Eye_Blink_Right",
             "A38_Mouth_Smile_Left", "Custom_Wrinkle"]


def validate(path) -> dict:
    """The Khronos validator's report for ``path``; asserts it has no errors."""
    node = need_tool("node")
    if not (VALIDATOR.parent / "node_modules" / "gltf-validator").is_dir():
        pytest.fail("Khronos validator not installed: run npm ci --prefix tools/gltf-validator")
    run = subprocess.run([node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=300)
    assert run.stdout, run.stderr
    report = json.loads(run.stdout)
    errors = [m for m in report["issues"]["messages"] if m["severity"] == 0]
    assert report["issues"]["numErrors"] == 0, errors[:5]
    assert run.returncode == 0
    return report


def quad_character(path, names=CC4_NAMES, seed=0):
    rng = np.random.default_rng(seed)
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], np.float32)
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    return write_morph_glb(path, verts, faces, {n: rng.normal(0, 0.05, (4, 3)) for n in names})


def take(n=45, fps=30.0, seed=1):
    rng = np.random.default_rng(seed)
    return ExpressionTrack(fps=fps, arkit=rng.random((n, 52), dtype=np.float32), head=np.zeros((n, 3)))


def test_validator_catches_a_broken_file(tmp_path):
    """The validator check can fail: an accessor pointing past its buffer is an error."""
    quad_character(tmp_path / "c.glb")
    doc, binary = read_glb(tmp_path / "c.glb")
    doc["accessors"][0]["count"] = 10_000
    (tmp_path / "broken.glb").write_bytes(glb_bytes(doc, binary))
    with pytest.raises(AssertionError):
        validate(tmp_path / "broken.glb")


def test_animation_added_valid_exact_and_rest_untouched(tmp_path):
    char = quad_character(tmp_path / "char.glb")
    doc, binary = read_glb(char)
    # dress the character up: a material, extras, an extension-style property on the node
    doc["materials"] = [{"name": "skin", "pbrMetallicRoughness": {"baseColorFactor": [1, 0.8, 0.7, 1]}}]
    doc["meshes"][0]["primitives"][0]["material"] = 0
    doc["nodes"][0]["extras"] = {"rig": "cc4"}
    doc["asset"]["copyright"] = "test"
    (tmp_path / "dressed.glb").write_bytes(glb_bytes(doc, binary))
    validate(tmp_path / "dressed.glb")
    before, before_bin = read_glb(tmp_path / "dressed.glb")
    track = take()
    report = add_animation(tmp_path / "dressed.glb", track, tmp_path / "out.glb")
    validate(tmp_path / "out.glb")
    after, after_bin = read_glb(tmp_path / "out.glb")
    assert report["animation"] == "talkclip" and report["detection"].base.name == "arkit"
    assert report["nodes"] == [{"node": 0, "name": "face", "targets": 6, "driven": 5}]
    # everything that was there is still there, unchanged; new data only appended
    assert after_bin[: len(before_bin)] == before_bin
    for key, value in before.items():
        if key == "buffers":
            assert after[key][0]["byteLength"] >= value[0]["byteLength"]
        elif isinstance(value, list):
            assert after[key][: len(value)] == value, key
        else:
            assert after[key] == value, key
    anim = after["animations"][0]
    sampler = anim["samplers"][0]
    assert sampler["interpolation"] == "LINEAR" and anim["channels"][0]["target"] == {"node": 0, "path": "weights"}
    times_acc = after["accessors"][sampler["input"]]
    assert times_acc["min"] == [0.0] and times_acc["max"][0] == pytest.approx((track.num_frames - 1) / 30)
    # weights read back exactly: driven targets = the profile's values, the extra one = default 0
    (times, names, weights), = read_animation(tmp_path / "out.glb").values()
    np.testing.assert_array_equal(times, (np.arange(45) / 30.0).astype(np.float32))
    det = load_profile("arkit").bind(CC4_NAMES)
    bound, values = apply(det, track)
    for j, n in enumerate(names):
        expected = values[:, bound.index(n)] if n in bound else np.zeros(45, np.float32)
        np.testing.assert_array_equal(weights[:, j], expected)
    np.testing.assert_array_equal(weights[:, 0], track.channel("jawOpen"))
    import trimesh  # an independent reader opens it too
    assert len(trimesh.load(tmp_path / "out.glb").geometry) == 1


def test_name_clash_gets_a_new_name_and_keeps_the_old_animation(tmp_path):
    quad_character(tmp_path / "c.glb")
    add_animation(tmp_path / "c.glb", take(seed=1), tmp_path / "one.glb")
    report = add_animation(tmp_path / "one.glb", take(n=20, seed=2), tmp_path / "two.glb")
    assert report["animation"] == "talkclip.001"
    validate(tmp_path / "two.glb")
    first = read_animation(tmp_path / "one.glb", "talkclip")
    again = read_animation(tmp_path / "two.glb", "talkclip")
    second = read_animation(tmp_path / "two.glb", "talkclip.001")
    np.testing.assert_array_equal(first["face"][2], again["face"][2])
    assert second["face"][2].shape == (20, 6)


def test_explicit_profile_on_a_viseme_character(tmp_path):
    names = list(load_profile("visemes").targets)
    quad_character(tmp_path / "vrc.glb", names=names)
    track = take(n=12)
    report = add_animation(tmp_path / "vrc.glb", track, tmp_path / "out.glb", profile="visemes")
    validate(tmp_path / "out.glb")
    assert report["nodes"][0]["driven"] == 15
    (_, got_names, weights), = read_animation(tmp_path / "out.glb").values()
    _, expected = apply(load_profile("visemes"), track)
    assert got_names == names
    np.testing.assert_array_equal(weights, expected)
    assert character_channels(tmp_path / "vrc.glb") == names


def test_bad_characters_give_errors_and_no_output(tmp_path):
    write_morph_glb(tmp_path / "plain.glb", np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]), {})
    with pytest.raises(TalkclipError, match="no mesh with morph targets"):
        add_animation(tmp_path / "plain.glb", take(), tmp_path / "out.glb")
    quad_character(tmp_path / "hair.glb", names=["Hair_Wind", "Cloth_Flap"])
    with pytest.raises(TalkclipError, match="no profile matches"):
        add_animation(tmp_path / "hair.glb", take(), tmp_path / "out.glb")
    with pytest.raises(TalkclipError, match="profile rhubarb matches none"):
        add_animation(tmp_path / "hair.glb", take(), tmp_path / "out.glb", profile="rhubarb")
    (tmp_path / "trunc.glb").write_bytes((tmp_path / "hair.glb").read_bytes()[:50])
    with pytest.raises(TalkclipError, match="trunc.glb"):
        add_animation(tmp_path / "trunc.glb", take(), tmp_path / "out.glb")
    with pytest.raises(TalkclipError, match=r"\.glb file"):
        add_animation(tmp_path / "hair.glb", take(), tmp_path / "out.gltf")
    assert not (tmp_path / "out.glb").exists()
    original = (tmp_path / "hair.glb").read_bytes()
    with pytest.raises(TalkclipError, match="input character"):
        add_animation(tmp_path / "hair.glb", take(), tmp_path / "hair.glb", profile="arkit")
    assert (tmp_path / "hair.glb").read_bytes() == original
    existing = tmp_path / "exists.glb"
    existing.write_bytes(b"keep")
    quad_character(tmp_path / "c.glb")
    with pytest.raises(TalkclipError, match="already exists"):
        add_animation(tmp_path / "c.glb", take(), existing, overwrite=False)
    assert existing.read_bytes() == b"keep"


def _said_head(tmp_path):
    with zipfile.ZipFile(shared("said_arkit_reference", "ARKit_reference_blendshapes.zip")) as zf:
        zf.extractall(tmp_path / "said")
    folder = next((tmp_path / "said").rglob("Neutral.obj")).parent
    verts, faces = load_mesh(folder / "Neutral.obj")
    targets = {}
    for name in ARKIT_NAMES:
        if (folder / f"{name}.obj").exists():
            targets[name] = load_mesh(folder / f"{name}.obj")[0] - verts
    return write_morph_glb(tmp_path / "said.glb", verts, faces, targets, name="SAiD")


def test_real_capture_on_said_arkit_head(tmp_path):
    char = _said_head(tmp_path)
    validate(char)
    track = read_track(shared("livelink_face_neurosync", "Fearful_MySlate_161_iPhone_cal.csv.gz"))
    report = add_animation(char, track, tmp_path / "fear.glb")
    validate(tmp_path / "fear.glb")
    det = report["detection"]
    assert det.base.name == "arkit" and det.lost_arkit == ("tongueOut",)
    (times, names, weights), = read_animation(tmp_path / "fear.glb").values()
    assert weights.shape == (track.num_frames, 51)
    np.testing.assert_array_equal(weights[:, names.index("eyeWideLeft")], track.channel("eyeWideLeft"))


def test_real_capture_on_ict_head(tmp_path):
    mesh = load_deltas_npz(shared("ict_facekit", "ict_expression_deltas.npz"),
                           shared("ict_facekit", "generic_neutral_mesh.obj"))
    char = write_morph_glb(tmp_path / "ict.glb", mesh.vertices, mesh.faces,
                           {n: mesh.dense(n) for n in mesh.names}, name="ICT")
    track = read_track(shared("livelink_face_neurosync", "Sad_MySlate_168_iPhone_cal.csv.gz"))
    report = add_animation(char, track, tmp_path / "ict_sad.glb")
    validate(tmp_path / "ict_sad.glb")
    (_, names, weights), = read_animation(tmp_path / "ict_sad.glb").values()
    np.testing.assert_array_equal(weights[:, names.index("browInnerUp_L")], track.channel("browInnerUp"))
    assert report["nodes"][0]["driven"] == 53


def test_embedded_gltf_input_becomes_a_valid_glb(tmp_path):
    import base64

    quad_character(tmp_path / "c.glb")
    doc, binary = read_glb(tmp_path / "c.glb")
    doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
    doc["nodes"][0]["weights"] = [0.0] * 5 + [0.25]  # node weights override the mesh's defaults
    (tmp_path / "c.gltf").write_text(json.dumps(doc))
    validate(tmp_path / "c.gltf")
    track = take(n=10)
    add_animation(tmp_path / "c.gltf", track, tmp_path / "from_gltf.glb")
    validate(tmp_path / "from_gltf.glb")
    (_, names, weights), = read_animation(tmp_path / "from_gltf.glb").values()
    np.testing.assert_array_equal(weights[:, 0], track.channel("jawOpen"))
    assert np.all(weights[:, names.index("Custom_Wrinkle")] == 0.25)
    after, after_bin = read_glb(tmp_path / "from_gltf.glb")
    assert "uri" not in after["buffers"][0] and after_bin[: len(binary)] == binary


@pytest.mark.bpy
def test_blender_gltf_importer_plays_the_animation_on_shape_keys(tmp_path):
    """Blender's own glTF importer turns the animation into shape-key animation with our values."""
    bpy = pytest.importorskip("bpy")
    quad_character(tmp_path / "c.glb")
    track = take(n=30)
    add_animation(tmp_path / "c.glb", track, tmp_path / "o.glb", name="speech")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    assert bpy.ops.import_scene.gltf(filepath=str(tmp_path / "o.glb")) == {"FINISHED"}
    obj = next(o for o in bpy.data.objects if o.type == "MESH")
    keys = obj.data.shape_keys.key_blocks
    assert [k.name for k in keys][1:] == CC4_NAMES
    assert "speech" in [a.name for a in bpy.data.actions]
    for frame in (0, 7, 29):  # the importer puts time t at frame t * fps
        scene.frame_set(frame)
        assert keys["A25_Jaw_Open"].value == pytest.approx(float(track.channel("jawOpen")[frame]), abs=1e-5)
        assert keys["A14_Eye_Blink_Left"].value == pytest.approx(float(track.channel("eyeBlinkLeft")[frame]), abs=1e-5)
        assert keys["Custom_Wrinkle"].value == 0.0


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector v (3,) by unit quaternion q (x, y, z, w)."""
    u, w = q[:3], q[3]
    return 2 * np.dot(u, v) * u + (w * w - np.dot(u, u)) * v + 2 * w * np.cross(u, v)


def test_head_rotation_on_a_named_node(tmp_path):
    quad_character(tmp_path / "c.glb")
    doc, binary = read_glb(tmp_path / "c.glb")
    rest = [0.0, 0.0, 0.0, 1.0]
    doc["nodes"].append({"name": "Head", "rotation": rest, "children": [0]})
    doc["scenes"][0]["nodes"] = [1]
    (tmp_path / "rig.glb").write_bytes(glb_bytes(doc, binary))
    head = np.zeros((4, 3), np.float32)
    head[1] = [0.3, 0, 0]  # pitch: looks down
    head[2] = [0, 0.3, 0]  # yaw: turns to its left (+X in glTF)
    head[3] = [0, 0, 0.3]  # roll: tilts to its left
    track = ExpressionTrack(fps=30, arkit=np.zeros((4, 52)), head=head)
    report = add_animation(tmp_path / "rig.glb", track, tmp_path / "out.glb", head_node="head")
    validate(tmp_path / "out.glb")
    assert report["head_node"] == 1
    after, blob = read_glb(tmp_path / "out.glb")
    anim = after["animations"][0]
    ch = next(c for c in anim["channels"] if c["target"]["path"] == "rotation")
    acc = after["accessors"][anim["samplers"][ch["sampler"]]["output"]]
    assert acc["type"] == "VEC4" and acc["count"] == 4
    view = after["bufferViews"][acc["bufferView"]]
    q = np.frombuffer(blob, "<f4", 16, view["byteOffset"]).reshape(4, 4).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(q[0], rest, atol=1e-7)
    forward, up = np.array([0, 0, 1.0]), np.array([0, 1.0, 0])
    assert _rotate(q[1], forward)[1] < -0.25  # looks down
    assert _rotate(q[2], forward)[0] > 0.25  # looks to +X, the character's left
    assert _rotate(q[3], up)[0] > 0.25  # top of the head to its left
    with pytest.raises(TalkclipError, match="no node named 'Neck'"):
        add_animation(tmp_path / "rig.glb", track, tmp_path / "x.glb", head_node="Neck")
