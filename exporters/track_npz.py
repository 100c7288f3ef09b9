"""Our own track NPZ: the arrays of the JSON layout (``exporters.track_io``), compressed.

Arrays: ``fps``, ``channels`` (names), ``frames`` (T, channels), ``head_channels``, ``head``
(T, 3), ``meta`` (one JSON string), optional ``phones``/``phone_starts``/``phone_ends`` and
``layer__NAME`` (T, channels). Read through ``exporters.npz_io``: sizes checked before anything is
unpacked, no pickles, every array's type, shape and values checked, one line naming the file on
failure.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from exporters.npz_io import float_array, load_npz, names_array, save_npz
from exporters.track_io import (
    BAD_TRACK,
    check_meta,
    check_take_fps,
    check_take_values,
    json_default,
    reorder_to_arkit,
    stored_meta,
)
from talkclip_model.arkit import ARKIT_NAMES, HEAD_CHANNELS
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output, parse_json_text
from talkclip_model.types import ExpressionTrack, PhoneTrack


def write_npz(track: ExpressionTrack, path, overwrite: bool = True) -> None:
    arrays: dict[str, Any] = {
        "fps": np.float64(track.fps),
        "channels": np.array(ARKIT_NAMES),
        "frames": track.arkit,
        "head_channels": np.array(HEAD_CHANNELS),
        "head": track.head,
        "meta": np.array(json.dumps(stored_meta(track), default=json_default)),
    }
    if track.phones is not None:
        arrays["phones"] = np.array(track.phones.phones, dtype=str)
        arrays["phone_starts"] = track.phones.starts
        arrays["phone_ends"] = track.phones.ends
    for name, layer in track.layers.items():
        arrays[f"layer__{name}"] = layer
    with atomic_output(path, "wb", overwrite=overwrite) as fh:
        save_npz(fh, arrays)


def read_npz(path) -> ExpressionTrack:
    try:
        return _read_npz(path)
    except TalkclipError:
        raise
    except BAD_TRACK as exc:
        raise TalkclipError(f"{path}: not a valid talkclip track NPZ ({type(exc).__name__}: {exc})") from None


def _npz_phones(data: dict, duration: float, path) -> PhoneTrack | None:
    if "phones" not in data:
        return None
    names = names_array(data["phones"], "phones", path, "track NPZ", limit=10_000_000)
    times = [float_array(data.get(k, np.zeros(0)), k, path, "track NPZ").reshape(-1) for k in ("phone_starts", "phone_ends")]
    if not len(names) == len(times[0]) == len(times[1]):
        raise TalkclipError(f"{path}: phones, phone_starts and phone_ends differ in length")
    if np.any(times[1] < times[0]) or np.any(np.diff(times[0]) < 0):
        raise TalkclipError(f"{path}: phone times are not in order")
    return PhoneTrack(phones=tuple(names), starts=times[0], ends=times[1], duration=duration)


def _npz_meta(data: dict, path) -> dict:
    if "meta" not in data:
        return {}
    meta = data["meta"]
    if meta.ndim != 0 or meta.dtype.kind not in "US":
        raise TalkclipError(f"{path}: track NPZ 'meta' must be one JSON string")
    try:
        return check_meta(parse_json_text(str(meta.item() if meta.dtype.kind == "U" else meta.item().decode())),
                          str(path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TalkclipError(f"{path}: track NPZ 'meta' is not JSON ({exc})") from None


def _npz_frames(data: dict, key: str, width: int, path) -> np.ndarray:
    frames = float_array(data[key], key, path, "track NPZ")
    if frames.ndim != 2 or frames.shape[1] != width:
        what = "frames" if key == "frames" else f"{key} frames"
        raise TalkclipError(f"{path}: {what} have shape {frames.shape}, expected (T, {width})")
    return frames


def _read_npz(path) -> ExpressionTrack:
    data = load_npz(path, "track NPZ")
    for key in ("fps", "channels", "frames"):
        if key not in data:
            raise TalkclipError(f"{path}: NPZ has no {key!r} array")
    fps = check_take_fps(data["fps"], str(path))
    channels = names_array(data["channels"], "channels", path, "track NPZ", limit=1000)
    if len(set(channels)) != len(channels):
        raise TalkclipError(f"{path}: a channel is listed twice")
    frames = _npz_frames(data, "frames", len(channels), path)
    if not len(frames):
        raise TalkclipError(f"{path}: the take has no frames")
    arkit = reorder_to_arkit(frames, channels, str(path))
    head = float_array(data["head"], "head", path, "track NPZ") if "head" in data else np.zeros((len(arkit), 3))
    if head.shape != (len(arkit), 3):
        raise TalkclipError(f"{path}: head has shape {head.shape}, expected ({len(arkit)}, 3)")
    layers = {}
    for k in data:
        if k.startswith("layer__"):
            layer = _npz_frames(data, k, len(channels), path)
            if len(layer) != len(frames):
                raise TalkclipError(f"{path}: {k} has {len(layer)} frames, the take has {len(frames)}")
            layers[k[len("layer__"):]] = reorder_to_arkit(layer, channels, str(path))
    try:
        return check_take_values(ExpressionTrack(
            fps=fps, arkit=arkit, head=head, phones=_npz_phones(data, len(arkit) / fps, path), layers=layers,
            meta=_npz_meta(data, path)), str(path))
    except ValueError as exc:
        raise TalkclipError(f"{path}: {exc}") from None
