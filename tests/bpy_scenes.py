"""Scenes for the bpy tests: an empty scene at a frame rate, meshes with shape keys (a small
52-key face, the SAiD ARKit head and the ICT FaceKit head from ../shared/data), and readers of
the baked curves. Imported by the test_blender_* files; needs the bpy module."""

from __future__ import annotations

import zipfile

import bpy
import numpy as np
from conftest import shared

from talkclip_model.arkit import ARKIT_NAMES


def empty_scene(fps: int = 30, fps_base: float = 1.0):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, fps_base
    scene.frame_start, scene.frame_current = 1, 1
    return scene


def mesh_object(name: str, verts: np.ndarray, faces=(), shapes: dict[str, np.ndarray] | None = None):
    """A mesh object linked to the scene, with a Basis and one shape key per ``shapes`` entry."""
    me = bpy.data.meshes.new(name)
    me.from_pydata([tuple(v) for v in verts] if faces else [], [], list(faces))
    if not faces:
        me.vertices.add(len(verts))
        me.vertices.foreach_set("co", np.asarray(verts, np.float32).ravel())
        me.update()
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    if shapes:
        obj.shape_key_add(name="Basis", from_mix=False)
        for key_name, co in shapes.items():
            kb = obj.shape_key_add(name=key_name, from_mix=False)
            kb.data.foreach_set("co", np.asarray(co, np.float32).ravel())
    return obj


def build_face(names=ARKIT_NAMES, name: str = "Face"):
    """A small grid mesh with one shape key per name (each moves one vertex)."""
    n = 8
    xs, ys = np.meshgrid(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32))
    verts = np.stack([xs.ravel(), ys.ravel(), np.zeros(n * n, np.float32)], axis=1)
    faces = [(y * n + x, y * n + x + 1, (y + 1) * n + x + 1, (y + 1) * n + x)
             for y in range(n - 1) for x in range(n - 1)]
    shapes = {}
    for i, key_name in enumerate(names):
        co = verts.copy()
        co[i % len(co), 2] += 1.0
        shapes[key_name] = co
    return mesh_object(name, verts, faces, shapes)


def _obj_vertices(text: str) -> np.ndarray:
    rows = [line.split()[1:4] for line in text.splitlines() if line.startswith("v ")]
    return np.array(rows, dtype=np.float32)


def build_said_head(name: str = "SAiDHead"):
    """The 1220-vertex ARKit reference head (51 shape keys, no tongueOut), or skip."""
    path = shared("said_arkit_reference", "ARKit_reference_blendshapes.zip")
    with zipfile.ZipFile(path) as zf:
        objs = {n.rsplit("/", 1)[-1][:-4]: zf.read(n).decode() for n in zf.namelist() if n.endswith(".obj")}
    neutral_text = objs.pop("Neutral")
    verts = _obj_vertices(neutral_text)
    faces = [tuple(int(tok.split("/")[0]) - 1 for tok in line.split()[1:])
             for line in neutral_text.splitlines() if line.startswith("f ")]
    shapes = {k: _obj_vertices(objs[k]) for k in sorted(objs)}
    return mesh_object(name, verts, faces, shapes)


def build_ict_head(name: str = "ICTHead"):
    """ICT FaceKit neutral head (point cloud, 26719 vertices) with its 57 ``_L``/``_R`` shapes."""
    data = np.load(shared("ict_facekit", "ict_expression_deltas.npz"))
    neutral = data["neutral"]
    shapes = {}
    for key_name in data["names"]:
        co = neutral.copy()
        co[data[f"{key_name}__idx"]] += data[f"{key_name}__delta"]
        shapes[str(key_name)] = co
    return mesh_object(name, neutral, (), shapes)


def channelbag(action):
    return action.layers[0].strips[0].channelbag(action.slots[0])


def fcurve_of(action, shape_key: str):
    fc = channelbag(action).fcurves.find(f'key_blocks["{shape_key}"].value')
    assert fc is not None, f"{action.name} has no curve for {shape_key}"
    return fc


def keyed(fc) -> tuple[np.ndarray, np.ndarray]:
    n = len(fc.keyframe_points)
    co = np.empty(2 * n, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co[0::2], co[1::2]
