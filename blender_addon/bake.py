"""Bake an ExpressionTrack onto a character in Blender: shape keys (through a ChannelBinding) and
head rotation on a pose bone.

Non-destructive by construction:
- every take is a **new** action named after it (``TalkCLIP_<take>``, uniquified ``.001`` by
  Blender); no existing action is ever written to;
- the action the shape keys (or the armature) played before is pushed onto an NLA track of its
  own, named after it, unmuted by default, so keys on channels the take does not drive keep
  playing; the take (the active action, evaluated above the NLA) replaces the channels it keys;
- with ``layers=True`` each track layer ("lips", "expression", ...) also gets its own action on
  its own muted NLA track (additive blend), to be unmuted and mixed by hand.

Keys are written in bulk (``keyframe_points.add`` + ``foreach_set``): 52 channels x 1800 frames
take a few milliseconds, against seconds for per-key ``keyframe_insert``. Frame i of the track
lands on ``start_frame + i * scene_fps / track.fps``; the scene rate is fps / fps_base, so 29.97
is exact. Undo is the caller's business (one operator = one undo step).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import bpy
import numpy as np

from talkclip_model.arkit import HEAD_CHANNELS
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack

from .binding import ChannelBinding, bind
from .scene import check_head_bone, check_target, scene_fps, shape_key_names

ACTION_PREFIX = "TalkCLIP_"
MAX_NAME = 63  # Blender's ID name limit in bytes
_INTERP_LINEAR = 1  # index of 'LINEAR' in Keyframe.interpolation's enum
# Head channels (pitch, yaw, roll) -> (bone-local axis index, sign). For a head bone pointing up
# with the face looking along -Y: +X tips the head forward (looks down), +Y turns it to the
# character's left, and -Z tilts its top to the character's left.
HEAD_AXES: tuple[tuple[int, float], ...] = ((0, 1.0), (1, 1.0), (2, -1.0))


@dataclass
class BakeSummary:
    """What a bake did, for the operator report and the batch report."""

    object: str
    action: str
    frames: int
    channels_mapped: int
    targets: int
    keys: int
    first_frame: float
    last_frame: float
    profile: str
    unmapped: list[str] = field(default_factory=list)
    previous_action: str | None = None  # pushed onto an NLA track
    head_action: str | None = None
    layer_actions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def message(self) -> str:
        text = (f"baked {self.frames} frames onto {self.targets} shape keys of {self.object!r} "
                f"as action {self.action!r} ({self.channels_mapped}/52 ARKit channels, {self.profile})")
        if self.previous_action:
            text += f"; previous action {self.previous_action!r} kept on an NLA track"
        return text


def take_name(label: str) -> str:
    """Action name for a take: ``TalkCLIP_<label>`` within Blender's name limit."""
    base = ACTION_PREFIX + ("".join(ch if ch.isprintable() else "_" for ch in label).strip() or "take")
    while len(base.encode("utf-8")) > MAX_NAME - 4:  # room for Blender's .001
        base = base[:-1]
    return base


def frame_positions(num_frames: int, track_fps: float, fps: float, start_frame: float) -> np.ndarray:
    """(T,) scene frames of the track's frames: time i / track_fps at the scene rate ``fps``."""
    return start_frame + np.arange(num_frames, dtype=np.float64) * (fps / track_fps)


def reduce_keys(values: np.ndarray, tolerance: float) -> np.ndarray:
    """(N,) bool mask of keys to keep so that linear interpolation between kept keys stays within
    ``tolerance`` of every dropped value (Ramer-Douglas-Peucker on the vertical error)."""
    n = len(values)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    keep[0] = keep[-1] = True
    if tolerance <= 0:
        keep[:] = True
        return keep
    v = np.asarray(values, dtype=np.float64)
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        t = np.arange(1, b - a, dtype=np.float64) / (b - a)
        err = np.abs(v[a + 1:b] - (v[a] + (v[b] - v[a]) * t))
        i = int(np.argmax(err))
        if err[i] > tolerance:
            m = a + 1 + i
            keep[m] = True
            stack.append((a, m))
            stack.append((m, b))
    return keep


def write_keys(fcurve, frames: np.ndarray, values: np.ndarray, tolerance: float = 0.0) -> int:
    """Replace nothing, add keys in bulk: (N,) frames and values. Returns the keys written."""
    if tolerance > 0:
        keep = reduce_keys(values, tolerance)
        frames, values = frames[keep], values[keep]
    n = len(frames)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    points = fcurve.keyframe_points
    points.add(n)
    points.foreach_set("co", co)
    # added keys come selected: one stray G or X in the Graph Editor would move or delete the take
    unselected = np.zeros(n, dtype=bool)
    for prop in ("select_control_point", "select_left_handle", "select_right_handle"):
        points.foreach_set(prop, unselected)
    if tolerance > 0:  # the tolerance holds for straight lines between the kept keys
        points.foreach_set("interpolation", np.full(n, _INTERP_LINEAR, dtype=np.int32))
    fcurve.update()
    return n


def push_to_nla(anim_data, label: str = "", mute: bool = False):
    """Move the active action (if any) onto a new NLA track of its own; returns the track."""
    action = anim_data.action
    if action is None:
        return None
    slot = getattr(anim_data, "action_slot", None)  # Blender 4.4+: slotted actions
    track = anim_data.nla_tracks.new()
    track.name = (label or action.name)[:MAX_NAME]
    start = int(math.floor(action.frame_range[0]))
    strip = track.strips.new(action.name[:MAX_NAME], start, action)
    if slot is not None and getattr(strip, "action_slot", slot) != slot:
        strip.action_slot = slot
    track.mute = mute
    anim_data.action = None
    return track


def _new_action(anim_data, name: str, meta: dict | None):
    action = bpy.data.actions.new(name)  # Blender appends .001 ... when the name is taken
    anim_data.action = action
    for k, v in (meta or {}).items():
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            action[f"talkclip_{k}"] = v
    return action


def ensure_fcurve(action, id_data, path: str, index: int = 0):
    """The F-curve for ``path`` in ``action`` (assigned to ``id_data``): the slotted-action API of
    Blender 4.4+ (layer, strip, slot and channelbag made as needed), else legacy ``fcurves``."""
    if hasattr(action, "fcurve_ensure_for_datablock"):
        return action.fcurve_ensure_for_datablock(id_data, path, index=index)
    return action.fcurves.find(path, index=index) or action.fcurves.new(path, index=index)


def _shape_key_path(name: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(name)}"].value'


def _bake_channels(id_data, action, targets: Sequence[str], values: np.ndarray,
                   frames: np.ndarray, tolerance: float) -> int:
    keys = 0
    for k, name in enumerate(targets):
        fc = ensure_fcurve(action, id_data, _shape_key_path(name))
        keys += write_keys(fc, frames, values[:, k], tolerance)
    return keys


def bake_shape_keys(obj, track: ExpressionTrack, *, take: str = "take", start_frame: float | None = None,
                    binding: ChannelBinding | None = None, profile: str | None = None,
                    reduce_tolerance: float = 0.0, mute_previous: bool = False,
                    layers: bool = False, scene=None) -> BakeSummary:
    """Key ``track`` onto the shape keys of mesh object ``obj`` as a new action.

    ``start_frame`` defaults to the scene's current frame; ``binding`` defaults to
    ``bind(shape key names, profile)``; ``reduce_tolerance`` > 0 drops keys that straight lines
    between the kept ones reproduce within that tolerance.
    """
    t0 = time.perf_counter()
    check_target(obj)
    scene = scene or bpy.context.scene
    if binding is None:
        binding = bind(shape_key_names(obj), profile)
    missing = [t for t in binding.targets if t not in obj.data.shape_keys.key_blocks]
    if missing:
        raise TalkclipError(f"mesh {obj.name!r} has no shape keys {missing[:5]} that the binding names")
    if track.num_frames == 0:
        raise TalkclipError(f"take {take!r} has no frames to bake")
    start = float(scene.frame_current if start_frame is None else start_frame)
    frames = frame_positions(track.num_frames, track.fps, scene_fps(scene), start)
    key = obj.data.shape_keys
    ad = key.animation_data or key.animation_data_create()
    previous = ad.action.name if ad.action is not None else None
    push_to_nla(ad, mute=mute_previous)

    layer_actions: dict[str, str] = {}
    if layers:
        for layer_name, layer in track.layers.items():
            act = _new_action(ad, take_name(f"{take}_{layer_name}"), {"layer": layer_name})
            _bake_channels(key, act, binding.targets, binding.values(layer), frames, reduce_tolerance)
            layer_actions[layer_name] = act.name
            push_to_nla(ad, mute=True).strips[0].blend_type = "ADD"

    meta = {"take": take, "fps": track.fps, "prompt": str(track.meta.get("prompt", "")),
            "audio": str(track.meta.get("audio", "")), "profile": binding.profile}
    action = _new_action(ad, take_name(take), meta)
    keys = _bake_channels(key, action, binding.targets, binding.values(track), frames, reduce_tolerance)
    return BakeSummary(
        object=obj.name, action=action.name, frames=track.num_frames,
        channels_mapped=binding.channels_mapped, targets=len(binding.targets), keys=keys,
        first_frame=float(frames[0]), last_frame=float(frames[-1]), profile=binding.profile,
        unmapped=list(binding.unmapped), previous_action=previous, layer_actions=layer_actions,
        seconds=time.perf_counter() - t0)


def head_rotation_values(head: np.ndarray, rotation_mode: str,
                         axes: Sequence[tuple[int, float]] = HEAD_AXES) -> tuple[str, np.ndarray]:
    """(T, 3) pitch/yaw/roll -> (data path suffix, (T, 3 or 4) values) for a pose bone."""
    euler = np.zeros((len(head), 3), dtype=np.float64)
    for ch, (axis, sign) in enumerate(axes):
        euler[:, axis] += sign * head[:, ch]
    if rotation_mode == "QUATERNION":
        # XYZ Euler (X applied first) -> quaternion w, x, y, z
        hx, hy, hz = (euler[:, i] / 2 for i in range(3))
        cx, sx, cy, sy, cz, sz = np.cos(hx), np.sin(hx), np.cos(hy), np.sin(hy), np.cos(hz), np.sin(hz)
        quat = np.stack([
            cx * cy * cz + sx * sy * sz,
            sx * cy * cz - cx * sy * sz,
            cx * sy * cz + sx * cy * sz,
            cx * cy * sz - sx * sy * cz,
        ], axis=1)
        return "rotation_quaternion", quat
    if rotation_mode == "AXIS_ANGLE":
        raise TalkclipError("head bone uses axis-angle rotation: set it to Euler or Quaternion")
    return "rotation_euler", euler


def bake_head(armature, bone_name: str, track: ExpressionTrack, *, take: str = "take",
              start_frame: float | None = None, reduce_tolerance: float = 0.0,
              mute_previous: bool = False, scene=None,
              axes: Sequence[tuple[int, float]] = HEAD_AXES) -> str:
    """Key the track's head rotation onto ``armature.pose.bones[bone_name]`` in a new action on
    the armature object (its previous action goes to the NLA). Returns the action name."""
    bone = check_head_bone(armature, bone_name)
    scene = scene or bpy.context.scene
    start = float(scene.frame_current if start_frame is None else start_frame)
    frames = frame_positions(track.num_frames, track.fps, scene_fps(scene), start)
    prop, values = head_rotation_values(track.head, bone.rotation_mode, axes)
    ad = armature.animation_data or armature.animation_data_create()
    if ad.use_tweak_mode:
        raise TalkclipError(f"armature {armature.name!r} is in NLA tweak mode: leave tweak mode first")
    push_to_nla(ad, mute=mute_previous)
    action = _new_action(ad, take_name(f"{take}_head"), {"take": take, "channels": ",".join(HEAD_CHANNELS)})
    path = f'pose.bones["{bpy.utils.escape_identifier(bone.name)}"].{prop}'
    for i in range(values.shape[1]):
        fc = ensure_fcurve(action, armature, path, index=i)
        write_keys(fc, frames, values[:, i].astype(np.float32), reduce_tolerance)
    return action.name


def pose_style(obj, arkit: np.ndarray, binding: ChannelBinding | None = None, profile: str | None = None) -> int:
    """Set shape key values to one (52,) ARKit pose (style preview; no keys). Returns keys posed."""
    check_target(obj)
    binding = binding or bind(shape_key_names(obj), profile)
    values = binding.values(np.asarray(arkit, np.float32).reshape(1, -1))[0]
    blocks = obj.data.shape_keys.key_blocks
    for name, v in zip(binding.targets, values):
        blocks[name].value = float(v)
    return len(binding.targets)
