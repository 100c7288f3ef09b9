"""MDD / PC2 point caches of a blendshape mesh driven by a take: exact read-back, headers, ICT head."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from conftest import shared

from exporters.formats import read_track
from exporters.pointcache import (
    BlendshapeMesh,
    load_deltas_npz,
    read_mdd,
    read_pc2,
    weights_for,
    write_mdd,
    write_pc2,
    write_point_cache,
)
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack


def small_mesh():
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 2, 2]], np.float32)
    deltas = {
        "jawOpen": (np.array([0, 1]), np.array([[0, -1, 0], [0, -0.5, 0]], np.float32)),
        "eyeBlink_L": (np.array([2]), np.array([[0, 0, 1]], np.float32)),
        "cheekRaiser_L": (np.array([4]), np.array([[9, 9, 9]], np.float32)),  # no ARKit source: stays put
    }
    return BlendshapeMesh(vertices=verts, faces=np.array([[0, 1, 2], [1, 3, 2]]), deltas=deltas)


def take(n=7, fps=25.0):
    a = np.zeros((n, 52), np.float32)
    a[:, 17] = np.linspace(0, 1, n)  # jawOpen
    a[:, 0] = np.linspace(1, 0, n)  # eyeBlinkLeft
    return ExpressionTrack(fps=fps, arkit=a, head=np.zeros((n, 3)))


def expected_points(mesh, track):
    jaw, blink = track.channel("jawOpen"), track.channel("eyeBlinkLeft")
    out = np.repeat(mesh.vertices[None], track.num_frames, axis=0)
    out[:, 0, 1] -= jaw
    out[:, 1, 1] -= 0.5 * jaw
    out[:, 2, 2] += blink
    return out


def test_mdd_layout_and_round_trip(tmp_path):
    mesh, track = small_mesh(), take()
    det = write_point_cache(mesh, track, tmp_path / "a.mdd")
    assert det.base.name == "arkit" and det.unused_targets == ("cheekRaiser_L",)
    raw = (tmp_path / "a.mdd").read_bytes()
    assert struct.unpack(">ii", raw[:8]) == (7, 5)  # big-endian frame and point counts
    assert len(raw) == 8 + 4 * 7 + 7 * 5 * 12
    times, pts = read_mdd(tmp_path / "a.mdd")
    np.testing.assert_allclose(times, np.arange(7) / 25.0, atol=1e-7)
    np.testing.assert_allclose(pts, expected_points(mesh, track), atol=1e-6)


def test_pc2_layout_and_round_trip(tmp_path):
    mesh, track = small_mesh(), take()
    write_point_cache(mesh, track, tmp_path / "a.pc2")
    raw = (tmp_path / "a.pc2").read_bytes()
    assert raw[:12] == b"POINTCACHE2\0"
    assert struct.unpack("<iiffi", raw[12:32]) == (1, 5, 0.0, 1.0, 7)
    header, pts = read_pc2(tmp_path / "a.pc2")
    assert header == {"points": 5, "start_frame": 0.0, "sample_rate": 1.0, "samples": 7}
    np.testing.assert_allclose(pts, expected_points(mesh, track), atol=1e-6)
    _, mdd_pts = (write_point_cache(mesh, track, tmp_path / "a.mdd"), read_mdd(tmp_path / "a.mdd"))[1]
    np.testing.assert_array_equal(pts, mdd_pts)  # same animation, two containers


def test_progress_and_bad_input(tmp_path):
    mesh, track = small_mesh(), take(n=300)
    seen = []
    write_point_cache(mesh, track, tmp_path / "p.pc2", progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) > 10 and seen == sorted(seen)
    with pytest.raises(TalkclipError, match=r"\.mdd or \.pc2"):
        write_point_cache(mesh, track, tmp_path / "p.abc")
    frames = [np.zeros((5, 3), np.float32), np.full((5, 3), np.nan, np.float32)]
    with pytest.raises(TalkclipError, match="frame 1 holds NaN"):
        write_mdd(tmp_path / "nan.mdd", iter(frames), 2, 5, 30.0)
    with pytest.raises(TalkclipError, match="got 1 frames, expected 3"):
        write_pc2(tmp_path / "short.pc2", iter(frames[:1]), 3, 5)
    assert not (tmp_path / "nan.mdd").exists() and not (tmp_path / "short.pc2").exists()
    (tmp_path / "bad.mdd").write_bytes(b"\0\0\0\x05\0\0\0\x02")
    with pytest.raises(TalkclipError, match="not an MDD"):
        read_mdd(tmp_path / "bad.mdd")


def test_bad_deltas_files(tmp_path):
    np.savez(tmp_path / "noidx.npz", neutral=np.zeros((3, 3)), names=np.array(["jawOpen"]))
    with pytest.raises(TalkclipError, match="lacks jawOpen__idx"):
        load_deltas_npz(tmp_path / "noidx.npz")
    np.savez(tmp_path / "range.npz", neutral=np.zeros((3, 3)), names=np.array(["jawOpen"]),
             jawOpen__idx=np.array([7]), jawOpen__delta=np.ones((1, 3)))
    with pytest.raises(TalkclipError, match="outside the mesh"):
        load_deltas_npz(tmp_path / "range.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(TalkclipError, match="cannot read deltas"):
        load_deltas_npz(tmp_path / "junk.npz")


def test_ict_head_with_real_capture(tmp_path):
    mesh = load_deltas_npz(shared("ict_facekit", "ict_expression_deltas.npz"),
                           shared("ict_facekit", "generic_neutral_mesh.obj"))
    assert mesh.vertices.shape == (26719, 3) and mesh.faces.shape[1] == 3
    full = read_track(shared("livelink_face_neurosync", "Fearful_MySlate_161_iPhone_cal.csv.gz"))
    track = ExpressionTrack(fps=full.fps, arkit=full.arkit[:40], head=full.head[:40])
    write_point_cache(mesh, track, tmp_path / "ict.mdd")
    times, pts = read_mdd(tmp_path / "ict.mdd")
    assert pts.shape == (40, 26719, 3)
    # frame 20 rebuilt directly from the upstream recipe: V = neutral + sum(w * delta)
    data = np.load(shared("ict_facekit", "ict_expression_deltas.npz"))
    names, weights, det = weights_for(mesh, track)
    v = data["neutral"].astype(np.float64).copy()
    for n, w in zip(names, weights[20]):
        v[data[f"{n}__idx"]] += w * data[f"{n}__delta"]
    np.testing.assert_allclose(pts[20], v, atol=1e-4)
    assert np.abs(pts[20] - data["neutral"]).max() > 0.05  # the face really moved


@pytest.mark.bpy
@pytest.mark.parametrize("fmt", ["mdd", "pc2"])
def test_blender_mesh_cache_modifier_plays_the_file(tmp_path, fmt):
    """Blender's own Mesh Cache modifier reads the file and reproduces every frame."""
    bpy = pytest.importorskip("bpy")
    mesh, track = small_mesh(), take(n=10)
    write_point_cache(mesh, track, tmp_path / f"c.{fmt}")
    expected = expected_points(mesh, track)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    me = bpy.data.meshes.new("face")
    me.from_pydata(mesh.vertices.tolist(), [], mesh.faces.tolist())
    obj = bpy.data.objects.new("face", me)
    scene.collection.objects.link(obj)
    mod = obj.modifiers.new("cache", "MESH_CACHE")
    mod.cache_format, mod.filepath = fmt.upper(), str(tmp_path / f"c.{fmt}")
    for frame in (0, 3, 9):
        scene.frame_set(frame)
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
        co = np.array([v.co[:] for v in evaluated.vertices])
        np.testing.assert_allclose(co, expected[frame], atol=1e-5)
