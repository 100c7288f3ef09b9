"""Read and write ExpressionTrack files: our JSON and NPZ, and the Live Link Face CSV layout.

Writers are atomic (temporary file, then rename); readers name the file and the problem on
failure. The CSV layout is the one Epic's Live Link Face app exports and Unreal imports.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from talkclip_model import __version__
from talkclip_model.arkit import ARKIT_NAMES, HEAD_CHANNELS, capitalised, INDEX
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output, atomic_path
from talkclip_model.types import ExpressionTrack, PhoneTrack

FORMATS = {".json": "json", ".npz": "npz", ".csv": "csv"}

LLF_HEAD = ("HeadYaw", "HeadPitch", "HeadRoll")
LLF_EYES = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LLF_HEADER = ("Timecode", "BlendShapeCount") + tuple(capitalised(n) for n in ARKIT_NAMES) + LLF_HEAD + LLF_EYES
# How far the eyes turn at eyeLook* = 1, radians (ARKit's eye transforms reach about +-0.6).
EYE_RANGE_RAD = 0.6
_TIMECODE_BASES = (24, 25, 30, 48, 50, 60, 120)


def format_for(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise TalkclipError(f"{path}: unknown output format {suffix or '(none)'}; use .json, .npz or .csv")
    return FORMATS[suffix]


def write_track(track: ExpressionTrack, path: str | Path, overwrite: bool = True) -> Path:
    """Write ``track`` in the format its suffix names."""
    writer = {"json": write_json, "npz": write_npz, "csv": write_livelink_csv}[format_for(path)]
    writer(track, path, overwrite=overwrite)
    return Path(path)


def read_track(path: str | Path) -> ExpressionTrack:
    path = Path(path)
    if not path.is_file():
        raise TalkclipError(f"{path}: no such file")
    reader = {"json": read_json, "npz": read_npz, "csv": read_livelink_csv}[format_for(path)]
    return reader(path)


# --- JSON ---------------------------------------------------------------------------------

def track_to_dict(track: ExpressionTrack) -> dict[str, Any]:
    meta = {"generator": f"talkclip {__version__}", **track.meta}
    out: dict[str, Any] = {
        "fps": track.fps,
        "channels": list(ARKIT_NAMES),
        "frames": np.round(track.arkit.astype(np.float64), 6).tolist(),
        "head": {"channels": list(HEAD_CHANNELS), "frames": np.round(track.head.astype(np.float64), 6).tolist()},
        "phones": track.phones.to_list() if track.phones is not None else [],
        "meta": meta,
    }
    if track.layers:
        out["layers"] = {k: np.round(v.astype(np.float64), 6).tolist() for k, v in track.layers.items()}
    return out


def write_json(track: ExpressionTrack, path, overwrite: bool = True) -> None:
    text = json.dumps(track_to_dict(track), separators=(",", ":"), default=_json_default)
    with atomic_output(path, "w", overwrite=overwrite) as fh:
        fh.write(text)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def track_from_dict(data: dict, source: str = "track") -> ExpressionTrack:
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
    arkit = _reorder_to_arkit(frames, channels, source)
    head_in = data.get("head") or {}
    head = np.zeros((len(arkit), 3), dtype=np.float32)
    if head_in.get("frames"):
        h = np.asarray(head_in["frames"], dtype=np.float32)
        names = list(head_in.get("channels", HEAD_CHANNELS))
        if h.shape != (len(arkit), len(names)):
            raise TalkclipError(f"{source}: head has {h.shape[0]} frames, face has {len(arkit)}")
        for j, n in enumerate(names):
            if n in HEAD_CHANNELS:
                head[:, HEAD_CHANNELS.index(n)] = h[:, j]
    phones = None
    if data.get("phones"):
        phones = PhoneTrack.from_list(data["phones"], duration=len(arkit) / fps)
    layers = {k: _reorder_to_arkit(np.asarray(v, np.float32).reshape(len(arkit), -1), channels, source)
              for k, v in (data.get("layers") or {}).items()}
    try:
        return ExpressionTrack(fps=fps, arkit=arkit, head=head, phones=phones, layers=layers,
                               meta=data.get("meta") or {})
    except ValueError as exc:
        raise TalkclipError(f"{source}: {exc}") from None


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
    arrays = {
        "fps": np.float64(track.fps),
        "channels": np.array(ARKIT_NAMES),
        "frames": track.arkit,
        "head_channels": np.array(HEAD_CHANNELS),
        "head": track.head,
        "meta": np.array(json.dumps(dict(track.meta), default=_json_default)),
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
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # numpy raises many types for a corrupt archive
        raise TalkclipError(f"{path}: cannot read NPZ ({exc})") from None
    for key in ("fps", "channels", "frames"):
        if key not in data:
            raise TalkclipError(f"{path}: NPZ has no {key!r} array")
    channels = [str(c) for c in data["channels"]]
    arkit = _reorder_to_arkit(np.asarray(data["frames"], np.float32), channels, str(path))
    head = np.asarray(data.get("head", np.zeros((len(arkit), 3))), np.float32)
    phones = None
    if "phones" in data:
        phones = PhoneTrack(phones=[str(p) for p in data["phones"]], starts=data["phone_starts"],
                            ends=data["phone_ends"], duration=len(arkit) / float(data["fps"]))
    layers = {k[len("layer__"):]: _reorder_to_arkit(np.asarray(v, np.float32), channels, str(path))
              for k, v in data.items() if k.startswith("layer__")}
    meta = json.loads(str(data["meta"])) if "meta" in data else {}
    try:
        return ExpressionTrack(fps=float(data["fps"]), arkit=arkit, head=head, phones=phones,
                               layers=layers, meta=meta)
    except ValueError as exc:
        raise TalkclipError(f"{path}: {exc}") from None


# --- Live Link Face CSV -------------------------------------------------------------------

def _timecode_base(fps: float) -> int:
    return next((b for b in _TIMECODE_BASES if b >= round(fps)), int(round(fps)))


def format_timecode(seconds: float, base: int) -> str:
    """``HH:MM:SS:FF.mmm``: FF counts frames at ``base`` per second, .mmm the fraction of one."""
    frames_total = seconds * base
    whole = math.floor(frames_total + 1e-9)
    frac = min(frames_total - whole, 0.999)
    ff = whole % base
    secs_total = whole // base
    hh, rem = divmod(secs_total, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{int(round(frac * 1000)):03d}"


def parse_timecode(text: str, base: int) -> float:
    try:
        hh, mm, ss, ff = text.strip().split(":")
        return int(hh) * 3600 + int(mm) * 60 + int(ss) + float(ff) / base
    except ValueError:
        raise ValueError(f"bad timecode {text!r}") from None


def eye_angles(arkit: np.ndarray) -> np.ndarray:
    """(T, 6) eye yaw/pitch/roll for left and right eye from the eyeLook channels, radians."""
    g = lambda n: arkit[:, INDEX[n]]  # noqa: E731
    # Yaw positive = looking to the character's left; the left eye looks left when it looks "out".
    l_yaw = (g("eyeLookOutLeft") - g("eyeLookInLeft")) * EYE_RANGE_RAD
    r_yaw = (g("eyeLookInRight") - g("eyeLookOutRight")) * EYE_RANGE_RAD
    l_pitch = (g("eyeLookDownLeft") - g("eyeLookUpLeft")) * EYE_RANGE_RAD
    r_pitch = (g("eyeLookDownRight") - g("eyeLookUpRight")) * EYE_RANGE_RAD
    zero = np.zeros_like(l_yaw)
    return np.stack([l_yaw, l_pitch, zero, r_yaw, r_pitch, zero], axis=1)


def write_livelink_csv(track: ExpressionTrack, path, overwrite: bool = True, start_seconds: float = 0.0) -> None:
    base = _timecode_base(track.fps)
    head = track.head  # pitch, yaw, roll -> CSV order yaw, pitch, roll
    head_csv = np.stack([head[:, 1], head[:, 0], head[:, 2]], axis=1)
    eyes = eye_angles(track.arkit)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LLF_HEADER)
    for i in range(track.num_frames):
        row = [format_timecode(start_seconds + i / track.fps, base), len(LLF_HEADER) - 2]
        row += [f"{v:.10f}" for v in track.arkit[i]]
        row += [f"{v:.10f}" for v in head_csv[i]]
        row += [f"{v:.10f}" for v in eyes[i]]
        w.writerow(row)
    with atomic_output(path, "w", overwrite=overwrite) as fh:
        fh.write(buf.getvalue())


def read_livelink_csv(path, fps: float | None = None) -> ExpressionTrack:
    """Read a Live Link Face CSV (plain or .gz). Missing blendshape columns are an error."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            import gzip
            text = gzip.open(path, "rt", encoding="utf-8-sig").read()
        else:
            text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise TalkclipError(f"{path}: cannot read CSV ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise TalkclipError(f"{path}: empty CSV")
    header = [h.strip() for h in rows[0]]
    col = {h.lower(): j for j, h in enumerate(header)}
    missing = [capitalised(n) for n in ARKIT_NAMES if n.lower() not in col]
    if "timecode" not in col:
        missing.insert(0, "Timecode")
    if missing:
        raise TalkclipError(f"{path}: not a Live Link Face CSV, missing columns {', '.join(missing[:6])}"
                            + (f" and {len(missing) - 6} more" if len(missing) > 6 else ""))
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    if not body:
        raise TalkclipError(f"{path}: CSV has a header but no frames")
    try:
        values = np.array([[float(r[col[n.lower()]]) for n in ARKIT_NAMES] for r in body], dtype=np.float32)
        head_cols = [col.get(h.lower()) for h in LLF_HEAD]
        head_yaw_pitch_roll = np.array([[float(r[j]) if j is not None else 0.0 for j in head_cols] for r in body],
                                       dtype=np.float32)
        codes = [r[col["timecode"]] for r in body]
    except (ValueError, IndexError) as exc:
        raise TalkclipError(f"{path}: bad value in CSV ({exc})") from None
    if not np.all(np.isfinite(values)):
        raise TalkclipError(f"{path}: CSV holds NaN or infinite blendshape values")
    max_ff = max(int(float(c.strip().split(":")[-1])) for c in codes)
    base = next((b for b in _TIMECODE_BASES if b > max_ff), max_ff + 1)
    times = np.array([parse_timecode(c, base) for c in codes])
    if fps is None:
        dt = np.diff(times)
        dt = dt[dt > 0]
        fps = round(1.0 / float(np.median(dt)), 3) if len(dt) else float(base)
    head = np.stack([head_yaw_pitch_roll[:, 1], head_yaw_pitch_roll[:, 0], head_yaw_pitch_roll[:, 2]], axis=1)
    meta = {"source": str(path), "timecode_start": codes[0], "timecode_base": base}
    return ExpressionTrack(fps=fps, arkit=values, head=head, meta=meta)
