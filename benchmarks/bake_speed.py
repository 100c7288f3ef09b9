"""Bake speed: 52 ARKit channels x 60 s x 30 fps onto shape keys, bulk (blender_addon.bake:
keyframe_points.add + foreach_set into a new action) against the common per-key
``keyframe_insert`` loop. Both are measured in this one run and printed with their ratio.

    .venv/bin/python benchmarks/bake_speed.py [--seconds 60] [--fps 30] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import bpy
import numpy as np

from blender_addon.bake import bake_shape_keys
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.types import ExpressionTrack


def make_face():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    me = bpy.data.meshes.new("Face")
    me.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new("Face", me)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis")
    for name in ARKIT_NAMES:
        obj.shape_key_add(name=name)
    return obj


def make_track(seconds: float, fps: float) -> ExpressionTrack:
    rng = np.random.default_rng(0)
    t = np.arange(int(round(seconds * fps)))[:, None] / fps
    arkit = 0.5 + 0.45 * np.sin(2 * np.pi * (0.2 + rng.random(52)) * t + rng.random(52) * 6)
    return ExpressionTrack(fps=fps, arkit=arkit, head=np.zeros((len(t), 3)))


def bake_keyframe_insert(obj, track: ExpressionTrack, start: int = 1) -> None:
    """The usual add-on loop: set each value, insert one key at a time."""
    key = obj.data.shape_keys
    blocks = [key.key_blocks[n] for n in ARKIT_NAMES]
    values = track.arkit
    for i in range(track.num_frames):
        frame = start + i
        for kb, v in zip(blocks, values[i]):
            kb.value = float(v)
            kb.keyframe_insert("value", frame=frame)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--repeat", type=int, default=5, help="bulk bakes to time (the median is reported)")
    args = p.parse_args(argv)
    track = make_track(args.seconds, args.fps)
    n_keys = track.num_frames * 52

    obj = make_face()
    bpy.context.scene.render.fps = int(round(args.fps))
    bulk = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        bake_shape_keys(obj, track, take="bench", start_frame=1)
        bulk.append(time.perf_counter() - t0)
    bulk_s = statistics.median(bulk)

    obj = make_face()
    bpy.context.scene.render.fps = int(round(args.fps))
    t0 = time.perf_counter()
    bake_keyframe_insert(obj, track)
    insert_s = time.perf_counter() - t0

    print(f"bake {52} channels x {track.num_frames} frames ({n_keys} keys, {args.seconds:g} s at {args.fps:g} fps)")
    print(f"  foreach_set bake (median of {args.repeat}): {bulk_s * 1000:8.1f} ms")
    print(f"  keyframe_insert loop:                {insert_s * 1000:8.1f} ms")
    print(f"  speed-up: {insert_s / bulk_s:.0f}x   (target: bulk bake < 100 ms: {'met' if bulk_s < 0.1 else 'MISSED'})")


if __name__ == "__main__":
    main()
