"""Build the ICT FaceKit head as a .blend: the real mesh (faces from the upstream OBJ) with its
57 expression shape keys under their own, non-ARKit names (``browDown_L``, ``jawOpen``, ...).

Runs in any Blender or bpy module (4.2+), without numpy in the caller's code path:

    blender -b --factory-startup --python make_ict_head.py -- ICT_DIR OUT.blend
    python make_ict_head.py ICT_DIR OUT.blend          (with the bpy module)

The object is named ``Head``; a second, hand-keyed action ``HandKeys`` (cheekPuff_L on frames
1-40) is its active action, so a bake must push it to the NLA instead of losing it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import bpy
import numpy as np


def _faces(obj_path: Path) -> list[list[int]]:
    faces = []
    with open(obj_path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("f "):
                faces.append([int(tok.split("/")[0]) - 1 for tok in line.split()[1:]])
    return faces


def build(ict_dir: Path, out: Path, name: str = "Head") -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    data = np.load(ict_dir / "ict_expression_deltas.npz")
    neutral = data["neutral"].astype(np.float64)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(neutral.tolist(), [], _faces(ict_dir / "generic_neutral_mesh.obj"))
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    obj.rotation_euler = (math.pi / 2, 0.0, 0.0)  # the OBJ is Y-up: stand the face up, looking at -Y (Front view)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis")
    for key_name in data["names"]:
        co = neutral.copy()
        co[data[f"{key_name}__idx"]] += data[f"{key_name}__delta"]
        kb = obj.shape_key_add(name=str(key_name), from_mix=False)
        kb.data.foreach_set("co", co.ravel())
    # a previous, hand-made action the bake must keep
    key = mesh.shape_keys
    kb = key.key_blocks["cheekPuff_L"]
    for frame, value in ((1, 0.0), (20, 0.8), (40, 0.0)):
        kb.value = value
        kb.keyframe_insert("value", frame=frame)
    key.animation_data.action.name = "HandKeys"
    scene = bpy.context.scene
    scene.render.fps = 24
    scene.frame_start, scene.frame_end = 1, 250
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.wm.save_as_mainfile(filepath=str(out))


if __name__ == "__main__":
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    build(Path(argv[0]), Path(argv[1]))
