"""Our own track files: the JSON and NPZ layouts of an ExpressionTrack (reader and writer of each).

``exporters.formats`` picks the format from a file name (``read_track``, ``write_track``); the
Live Link Face CSV layout lives in ``exporters.livelink``. Writers are atomic (temporary file,
then rename); readers name the file and the problem on failure.

Round-trips are exact at float32 precision: JSON holds the shortest decimal that reads back as
the same float32, NPZ the arrays themselves.

JSON layout (a contract): ``{"fps", "channels": [52 lowerCamel names], "frames": [[52 floats]],
"head": {"channels": ["pitch", "yaw", "roll"], "frames"}, "phones": [{"phone", "start", "end"}],
"meta": {...}}``, plus ``"layers": {name: frames}`` when the track has layers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from talkclip_model import __version__
from talkclip_model.arkit import ARKIT_NAMES, HEAD_CHANNELS, INDEX
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output
from talkclip_model.types import ExpressionTrack, PhoneTrack

# Meta that describes one run rather than the take (seconds per stage): kept on the track in
# memory, never written, so the same input gives the same file.
RUN_ONLY_META = ("timings",)


def stored_meta(track: ExpressionTrack) -> dict[str, Any]:
    return {k: v for k, v in track.meta.items() if k not in RUN_ONLY_META}


# --- JSON ---------------------------------------------------------------------------------

def track_to_dict(track: ExpressionTrack, arrays=None) -> dict[str, Any]:
    """The JSON layout as a dict; ``arrays`` (default ``float32_list``) turns each frame array
    into its JSON value."""
    arrays = arrays or float32_list
    meta = {"generator": f"talkclip {__version__}", **stored_meta(track)}
    out: dict[str, Any] = {
        "fps": track.fps,
        "channels": list(ARKIT_NAMES),
        "frames": arrays(track.arkit),
        "head": {"channels": list(HEAD_CHANNELS), "frames": arrays(track.head)},
        "phones": track.phones.to_list() if track.phones is not None else [],
        "meta": meta,
    }
    if track.layers:
        out["layers"] = {k: arrays(v) for k, v in track.layers.items()}
    return out


def float32_list(values: np.ndarray) -> list:
    """Nested lists of the shortest decimals that read back as the same float32 values.

    JSON then round-trips a track exactly (float32 precision) without 17-digit noise.
    """
    arr = np.asarray(values, dtype=np.float32)
    # Each value gets the fewest of 6..9 decimals that read back exactly (9 always do in 0.1..1);
    # numpy's shortest-repr formatting, 20x slower, is kept for what is left (tiny or large values).
    wide = arr.astype(np.float64)
    out = np.round(wide, 6)
    for decimals in (7, 8, 9, None):
        inexact = out.astype(np.float32) != arr
        if not inexact.any():
            break
        out[inexact] = (np.round(wide[inexact], decimals) if decimals else
                        arr[inexact].astype(str).astype(np.float64))
    return out.tolist()


JSON_BLOCK_FRAMES = 512  # frames formatted at a time


def write_json(track: ExpressionTrack, path, overwrite: bool = True) -> None:
    """Write the JSON layout, frame arrays streamed in blocks of ``JSON_BLOCK_FRAMES``.

    Built whole, the nested lists of Python floats cost about 30 bytes per value (140 MB for a
    10-minute take); streamed, the extra memory stays a few MB however long the take."""
    held: list[np.ndarray] = []

    def placeholder(values) -> str:
        held.append(np.asarray(values))
        return f"{_HELD}{len(held) - 1}"

    pieces = _dumps(track_to_dict(track, arrays=placeholder)).split(_HELD_JSON)
    if len(pieces) != len(held) + 1:  # the track's own text holds the mark: no streaming
        pieces = [_dumps(track_to_dict(track))]
    with atomic_output(path, "w", overwrite=overwrite) as fh:
        fh.write(pieces[0])
        for piece in pieces[1:]:
            index, _, rest = piece.partition('"')
            _write_frames(fh, held[int(index)])
            fh.write(rest)


_HELD = "\x00talkclip-array-"  # stands in for a frame array in the JSON skeleton
_HELD_JSON = '"' + json.dumps(_HELD)[1:-1]  # as json writes it (NUL escaped), opening quote included


def _write_frames(fh, values: np.ndarray) -> None:
    fh.write("[")
    for start in range(0, len(values), JSON_BLOCK_FRAMES):
        text = _dumps(float32_list(values[start:start + JSON_BLOCK_FRAMES]))
        if start:
            fh.write(",")
        fh.write(text[1:-1])
    fh.write("]")


def _dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), default=_json_default)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


_BAD_TRACK = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def track_from_dict(data: dict, source: str = "track") -> ExpressionTrack:
    """Track from our JSON layout. Channels may be a subset (the rest are 0) in any order;
    unknown channels, ragged frames, mismatched head/layer frame counts and NaN are errors."""
    try:
        return _track_from_dict(data, source)
    except TalkclipError:
        raise
    except _BAD_TRACK as exc:
        raise TalkclipError(f"{source}: not a valid talkclip track ({exc})") from None


def _track_from_dict(data: dict, source: str) -> ExpressionTrack:
    try:
        fps = float(data["fps"])
        channels = list(data["channels"])
        frames = np.asarray(data["frames"], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise TalkclipError(f"{source}: not a talkclip track JSON ({exc})") from None
    if frames.size == 0:
        frames = frames.reshape(0, len(channels))
    if frames.ndim != 2 or frames.shape[1] != len(channels):
        raise TalkclipError(f"{source}: frames do not have one value per channel")
    if len(set(channels)) != len(channels):
        raise TalkclipError(f"{source}: a channel is listed twice")
    arkit = _reorder_to_arkit(frames, channels, source)
    head = _head_from_dict(data.get("head") or {}, len(arkit), source)
    phones = None
    if data.get("phones"):
        phones = PhoneTrack.from_list(data["phones"], duration=len(arkit) / fps)
    layers = _layers_from_dict(data.get("layers") or {}, frames.shape, channels, source)
    try:
        return ExpressionTrack(fps=fps, arkit=arkit, head=head, phones=phones, layers=layers,
                               meta=data.get("meta") or {})
    except ValueError as exc:
        raise TalkclipError(f"{source}: {exc}") from None


def _head_from_dict(head_in: dict, num_frames: int, source: str) -> np.ndarray:
    """(T, 3) pitch/yaw/roll from the JSON ``head`` entry (zeros without frames; unknown channels skipped)."""
    head = np.zeros((num_frames, 3), dtype=np.float32)
    if head_in.get("frames"):
        h = np.asarray(head_in["frames"], dtype=np.float32)
        names = list(head_in.get("channels", HEAD_CHANNELS))
        if h.shape != (num_frames, len(names)):
            raise TalkclipError(f"{source}: head has {h.shape[0]} frames, face has {num_frames}")
        for j, n in enumerate(names):
            if n in HEAD_CHANNELS:
                head[:, HEAD_CHANNELS.index(n)] = h[:, j]
    return head


def _layers_from_dict(layers_in: dict, shape: tuple, channels: list[str], source: str) -> dict[str, np.ndarray]:
    """The JSON ``layers`` entry, each layer shaped like the frames and reordered to ARKit order."""
    layers = {}
    for k, v in layers_in.items():
        layer = np.asarray(v, np.float32)
        if layer.shape != shape:
            raise TalkclipError(f"{source}: layer {k!r} has shape {layer.shape}, frames have {shape}")
        layers[k] = _reorder_to_arkit(layer, channels, source)
    return layers


def _reorder_to_arkit(frames: np.ndarray, channels: list[str], source: str) -> np.ndarray:
    out = np.zeros((len(frames), len(ARKIT_NAMES)), dtype=np.float32)
    for j, name in enumerate(channels):
        key = name[:1].lower() + name[1:]
        if key not in INDEX:
            raise TalkclipError(f"{source}: unknown channel {name!r}")
        out[:, INDEX[key]] = frames[:, j]
    return out


def read_json(path) -> ExpressionTrack:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TalkclipError(f"{path}: cannot read JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TalkclipError(f"{path}: not a talkclip track JSON (top level is not an object)")
    return track_from_dict(data, str(path))


# --- NPZ ----------------------------------------------------------------------------------

def write_npz(track: ExpressionTrack, path, overwrite: bool = True) -> None:
    arrays: dict[str, Any] = {
        "fps": np.float64(track.fps),
        "channels": np.array(ARKIT_NAMES),
        "frames": track.arkit,
        "head_channels": np.array(HEAD_CHANNELS),
        "head": track.head,
        "meta": np.array(json.dumps(stored_meta(track), default=_json_default)),
    }
    if track.phones is not None:
        arrays["phones"] = np.array(track.phones.phones, dtype=str)
        arrays["phone_starts"] = track.phones.starts
        arrays["phone_ends"] = track.phones.ends
    for name, layer in track.layers.items():
        arrays[f"layer__{name}"] = layer
    with atomic_output(path, "wb", overwrite=overwrite) as fh:
        np.savez_compressed(fh, **arrays)


def read_npz(path) -> ExpressionTrack:
    try:
        return _read_npz(path)
    except TalkclipError:
        raise
    except _BAD_TRACK as exc:
        raise TalkclipError(f"{path}: not a valid talkclip track NPZ ({exc})") from None


def _read_npz(path) -> ExpressionTrack:
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # numpy raises many types for a corrupt archive
        raise TalkclipError(f"{path}: cannot read NPZ ({exc})") from None
    for key in ("fps", "channels", "frames"):
        if key not in data:
            raise TalkclipError(f"{path}: NPZ has no {key!r} array")
    channels = [str(c) for c in data["channels"]]
    frames = np.asarray(data["frames"], np.float32)
    if frames.ndim != 2 or frames.shape[1] != len(channels):
        raise TalkclipError(f"{path}: frames have shape {frames.shape}, expected (T, {len(channels)})")
    arkit = _reorder_to_arkit(frames, channels, str(path))
    head = np.asarray(data.get("head", np.zeros((len(arkit), 3))), np.float32)
    if head.shape != (len(arkit), 3):
        raise TalkclipError(f"{path}: head has shape {head.shape}, expected ({len(arkit)}, 3)")
    phones = None
    if "phones" in data:
        phones = PhoneTrack(phones=tuple(str(p) for p in data["phones"]), starts=data["phone_starts"],
                            ends=data["phone_ends"], duration=len(arkit) / float(data["fps"]))
    layers = {k[len("layer__"):]: _reorder_to_arkit(np.asarray(v, np.float32), channels, str(path))
              for k, v in data.items() if k.startswith("layer__")}
    meta = json.loads(str(data["meta"])) if "meta" in data else {}
    try:
        return ExpressionTrack(fps=float(data["fps"]), arkit=arkit, head=head, phones=phones,
                               layers=layers, meta=meta)
    except ValueError as exc:
        raise TalkclipError(f"{path}: {exc}") from None


