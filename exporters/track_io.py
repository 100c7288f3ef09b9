"""Our own track files: the JSON layout of an ExpressionTrack (reader and writer), and the checks
every take reader shares (fps, values, meta). The NPZ layout lives in ``exporters.track_npz``, the
Live Link Face CSV layout in ``exporters.livelink``; ``exporters.formats`` picks the format from a
file name (``read_track``, ``write_track``). Writers are atomic (temporary file, then rename);
readers check what they read and name the file and the problem on failure.

Round-trips are exact at float32 precision: JSON holds the shortest decimal that reads back as
the same float32, NPZ the arrays themselves.

JSON layout (a contract): ``{"fps", "channels": [52 lowerCamel names], "frames": [[52 floats]],
"head": {"channels": ["pitch", "yaw", "roll"], "frames"}, "phones": [{"phone", "start", "end"}],
"meta": {...}}``, plus ``"layers": {name: frames}`` when the track has layers.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from talkclip_model import __version__
from talkclip_model.arkit import ARKIT_NAMES, HEAD_CHANNELS, INDEX
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output, read_json_bounded
from talkclip_model.types import ExpressionTrack, PhoneTrack, finite_number

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
    return json.dumps(obj, separators=(",", ":"), default=json_default)


def json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


BAD_TRACK = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, ZeroDivisionError)
JSON_LIMIT = 2048 << 20  # bytes of take JSON read (a 30-minute take is about 80 MB)
MIN_FPS, MAX_FPS = 0.01, 1000.0  # a take's rate when read: anything else is a damaged file
MAX_TAKE_VALUE = 1e4  # ARKit weights are 0..1 and head angles radians: larger values are damage


def check_take_values(track: ExpressionTrack, source: str) -> ExpressionTrack:
    """``track`` unless a weight, head angle or layer value is beyond +-MAX_TAKE_VALUE (such
    values would overflow retargeting and mean a damaged file)."""
    for what, values in [("frames", track.arkit), ("head", track.head), *track.layers.items()]:
        if values.size and float(np.abs(values).max()) > MAX_TAKE_VALUE:
            raise TalkclipError(f"{source}: {what} hold a value of {float(np.abs(values).max()):.3g}, beyond the "
                                f"+-{MAX_TAKE_VALUE:g} a take holds (ARKit weights are 0..1, head angles radians)")
    return track


def check_take_fps(value, source: str) -> float:
    """A take's fps as a float, refused by name unless it is a finite number in MIN_FPS..MAX_FPS."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TalkclipError(f"{source}: fps must be a number, got {_shown(value)}")
    if not finite_number(value) or value <= 0:
        raise TalkclipError(f"{source}: fps must be positive and finite, got {_shown(value)}")
    fps = float(value)
    if not MIN_FPS <= fps <= MAX_FPS:
        raise TalkclipError(f"{source}: fps {fps:g} is out of range ({MIN_FPS:g} to {MAX_FPS:g})")
    return fps


def _shown(value) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _frames(value, what: str, width: int, source: str) -> np.ndarray:
    """(T, width) float32 frames from a JSON list of rows of numbers; refused by name otherwise."""
    if not isinstance(value, list):
        raise TalkclipError(f"{source}: not a talkclip track: {what} must be a list of rows of {width} numbers")
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.array(value, dtype=np.float32)
    except (ValueError, TypeError, OverflowError):
        out = None
    if out is None or (out.shape != (len(value), width) and not (len(value) == 0 and out.size == 0)):
        raise TalkclipError(f"{source}: not a talkclip track: {what} must be a list of rows of {width} numbers")
    out = out.reshape(len(value), width)
    if not np.all(np.isfinite(out)):
        raise TalkclipError(f"{source}: {what} hold NaN or infinity (or a value beyond float32)")
    return out


def track_from_dict(data: dict, source: str = "track") -> ExpressionTrack:
    """Track from our JSON layout. Channels may be a subset (the rest are 0) in any order;
    unknown channels, ragged frames, mismatched head/layer frame counts and NaN are errors."""
    if not isinstance(data, dict):
        raise TalkclipError(f"{source}: not a talkclip track JSON (top level is not an object)")
    try:
        return _track_from_dict(data, source)
    except TalkclipError:
        raise
    except BAD_TRACK as exc:
        raise TalkclipError(f"{source}: not a valid talkclip track ({type(exc).__name__}: {exc})") from None


def _track_from_dict(data: dict, source: str) -> ExpressionTrack:
    missing = [k for k in ("fps", "channels", "frames") if k not in data]
    if missing:
        raise TalkclipError(f"{source}: not a talkclip track JSON (no {', '.join(repr(k) for k in missing)})")
    fps = check_take_fps(data["fps"], source)
    channels = data["channels"]
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise TalkclipError(f"{source}: not a talkclip track: 'channels' must be a list of names")
    frames = _frames(data["frames"], "frames", len(channels), source)
    if not len(frames):
        raise TalkclipError(f"{source}: the take has no frames")
    if len(set(channels)) != len(channels):
        raise TalkclipError(f"{source}: a channel is listed twice")
    arkit = reorder_to_arkit(frames, channels, source)
    head = _head_from_dict(data.get("head") or {}, len(arkit), source)
    phones = _phones_from_list(data.get("phones") or [], len(arkit) / fps, source)
    layers = _layers_from_dict(data.get("layers") or {}, frames.shape, channels, source)
    meta = check_meta(data.get("meta") or {}, source)
    try:
        return check_take_values(ExpressionTrack(fps=fps, arkit=arkit, head=head, phones=phones, layers=layers,
                                                 meta=meta), source)
    except ValueError as exc:
        raise TalkclipError(f"{source}: {exc}") from None


def _number(value) -> bool:
    return finite_number(value)


def _phones_from_list(items, duration: float, source: str) -> PhoneTrack | None:
    """The JSON ``phones`` entry: a list of {phone, start, end} in time order, finite times."""
    if not items:
        return None
    if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
        raise TalkclipError(f"{source}: 'phones' must be a list of {{phone, start, end}} objects")
    for i, d in enumerate(items):
        for key in ("phone", "start", "end"):
            if key not in d:
                raise TalkclipError(f"{source}: phone {i} has no {key!r}")
        if not isinstance(d["phone"], str) or not _number(d["start"]) or not _number(d["end"]):
            raise TalkclipError(f"{source}: phone {i} needs a name and finite start and end times")
        if d["end"] < d["start"]:
            raise TalkclipError(f"{source}: phone {i} ends before it starts")
        if i and d["start"] < items[i - 1]["start"]:
            raise TalkclipError(f"{source}: phones are not in time order (phone {i})")
    return PhoneTrack.from_list(items, duration=duration)


def check_meta(meta, source: str) -> dict:
    """The take's ``meta`` object; the entries talkclip reads back are checked for their types."""
    if not isinstance(meta, dict):
        raise TalkclipError(f"{source}: 'meta' must be an object")
    schedule = meta.get("schedule")
    if schedule is not None and not (isinstance(schedule, list) and all(
            isinstance(c, dict) and _number(c.get("time")) and isinstance(c.get("prompt"), str) for c in schedule)):
        raise TalkclipError(f"{source}: meta 'schedule' must be a list of {{time, prompt}} with finite times")
    return meta


def _head_from_dict(head_in, num_frames: int, source: str) -> np.ndarray:
    """(T, 3) pitch/yaw/roll from the JSON ``head`` entry (zeros without frames; unknown channels skipped)."""
    head = np.zeros((num_frames, 3), dtype=np.float32)
    if not isinstance(head_in, dict):
        raise TalkclipError(f"{source}: 'head' must be an object with 'channels' and 'frames'")
    if head_in.get("frames"):
        names = head_in.get("channels", list(HEAD_CHANNELS))
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TalkclipError(f"{source}: head 'channels' must be a list of names")
        frames = head_in["frames"]
        if isinstance(frames, list) and len(frames) != num_frames:
            raise TalkclipError(f"{source}: head has {len(frames)} frames, face has {num_frames}")
        h = _frames(frames, "head frames", len(names), source)
        for j, n in enumerate(names):
            if n in HEAD_CHANNELS:
                head[:, HEAD_CHANNELS.index(n)] = h[:, j]
    return head


def _layers_from_dict(layers_in, shape: tuple, channels: list[str], source: str) -> dict[str, np.ndarray]:
    """The JSON ``layers`` entry, each layer shaped like the frames and reordered to ARKit order."""
    if not isinstance(layers_in, dict):
        raise TalkclipError(f"{source}: 'layers' must be an object of name: frames")
    layers = {}
    for k, v in layers_in.items():
        if not isinstance(v, list) or len(v) != shape[0]:
            raise TalkclipError(f"{source}: layer {k!r} does not have {shape[0]} frames of {shape[1]} values")
        layer = _frames(v, f"layer {k!r}", shape[1], source)
        layers[k] = reorder_to_arkit(layer, channels, source)
    return layers


def reorder_to_arkit(frames: np.ndarray, channels: list[str], source: str) -> np.ndarray:
    out = np.zeros((len(frames), len(ARKIT_NAMES)), dtype=np.float32)
    for j, name in enumerate(channels):
        key = name[:1].lower() + name[1:]
        if key not in INDEX:
            raise TalkclipError(f"{source}: unknown channel {name[:80]!r}")
        out[:, INDEX[key]] = frames[:, j]
    return out


def read_json(path) -> ExpressionTrack:
    data = read_json_bounded(path, JSON_LIMIT, "track JSON")
    if not isinstance(data, dict):
        raise TalkclipError(f"{path}: not a talkclip track JSON (top level is not an object)")
    return track_from_dict(data, str(path))
