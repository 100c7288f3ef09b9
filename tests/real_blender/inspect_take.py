"""Report what a baked .blend holds, as JSON (run inside a real Blender by the real-Blender tests):

    blender -b --factory-startup --python inspect_take.py -- OUT.json OBJECT FILE.blend [FILE.blend ...]

For each file: the object's shape-key action (name, F-curve count, key counts, selected keys,
frame range, per-channel min/max of the key values), its NLA tracks, the take's custom
properties, and the names of every action in the file.
"""

from __future__ import annotations

import json
import re
import sys
import traceback

import bpy

_CHANNEL = re.compile(r'key_blocks\["(.+)"\]\.value')


def describe(path: str, object_name: str) -> dict:
    bpy.ops.wm.open_mainfile(filepath=path, load_ui=False)
    out: dict = {"file": path, "actions": sorted(a.name for a in bpy.data.actions)}
    obj = bpy.data.objects.get(object_name)
    if obj is None or obj.data.shape_keys is None:
        out["error"] = f"no object {object_name!r} with shape keys"
        return out
    ad = obj.data.shape_keys.animation_data
    action = ad.action if ad else None
    out["action"] = action.name if action else None
    out["nla_tracks"] = [{"name": t.name, "mute": t.mute,
                          "strips": [s.action.name if s.action else None for s in t.strips]}
                         for t in (ad.nla_tracks if ad else [])]
    if action is None:
        return out
    channels, keys, selected, frames = {}, 0, 0, []
    for fc in action.fcurves:
        values = [kp.co[1] for kp in fc.keyframe_points]
        frames += [kp.co[0] for kp in fc.keyframe_points]
        keys += len(values)
        selected += sum(1 for kp in fc.keyframe_points
                        if kp.select_control_point or kp.select_left_handle or kp.select_right_handle)
        m = _CHANNEL.fullmatch(fc.data_path)
        name = m.group(1) if m else fc.data_path
        channels[name] = {"keys": len(values), "min": min(values, default=0.0), "max": max(values, default=0.0)}
    out.update(fcurves=len(action.fcurves), keys=keys, selected_keys=selected, channels=channels,
               frame_range=[min(frames, default=0.0), max(frames, default=0.0)],
               props={k: str(action[k]) for k in action.keys() if k.startswith("talkclip")})
    return out


def main(argv: list[str]) -> None:
    result_path, object_name, files = argv[0], argv[1], argv[2:]
    results = []
    for path in files:
        try:
            results.append(describe(path, object_name))
        except Exception:
            results.append({"file": path, "error": traceback.format_exc()})
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1:])
