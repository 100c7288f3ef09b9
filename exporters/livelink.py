"""Live Link Face CSV: the layout Epic's Live Link Face app exports and Unreal (Live Link,
MetaHuman Animator) imports.

Layout: ``Timecode`` (``HH:MM:SS:FF.mmm``, FF counting frames at 60 fps, ``.mmm`` the fraction
of one frame), ``BlendShapeCount`` (some exports spell it ``BlendshapeCount``; always 61), the 52
ARKit names capitalised (``EyeBlinkLeft`` ...) in Apple's order, then ``HeadYaw, HeadPitch,
HeadRoll`` and the six eye angles (radians). Values are float32 printed with 10 decimals.

Round-trip contract: ``read_livelink_csv`` keeps what an ``ExpressionTrack`` has no field for
(the original timecodes, the count column's spelling and value, the column order, the eye angles
and any unknown columns) in ``track.meta["livelink"]``; ``write_livelink_csv`` uses them while
the track still has the same number of frames, so a real capture re-exports byte for byte.
Tracks without that record get timecodes from their fps and eye angles from the eyeLook channels.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from exporters.track_io import MAX_FPS, MIN_FPS, check_take_fps, check_take_values
from talkclip_model.arkit import (
    ARKIT_NAMES,
    EYE_RANGE_RAD,
    capitalised,
    eye_look_to_gaze,
)
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output, read_bytes_bounded
from talkclip_model.types import ExpressionTrack, finite_number

LLF_HEAD = ("HeadYaw", "HeadPitch", "HeadRoll")
LLF_EYES = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
COUNT_SPELLINGS = ("BlendShapeCount", "BlendshapeCount")
LLF_HEADER = ("Timecode", "BlendShapeCount") + tuple(capitalised(n) for n in ARKIT_NAMES) + LLF_HEAD + LLF_EYES
# Live Link Face counts timecode frames at 60 per second; faster takes use the next base up.
TIMECODE_BASE = 60
_TIMECODE_BASES = (60, 120, 240)
VALUE_FORMAT = "{:.10f}"
CSV_LIMIT = 1024 << 20  # bytes of CSV text read (an hour at 60 fps is about 250 MB)

Progress = Callable[[float], None]


def timecode_base_for(fps: float) -> int:
    return next((b for b in _TIMECODE_BASES if b >= fps - 1e-6), int(math.ceil(fps)))


def format_timecode(seconds: float, base: int = TIMECODE_BASE) -> str:
    """``HH:MM:SS:FF.mmm``: FF counts frames at ``base`` per second, .mmm the fraction of one."""
    frames_total = round(seconds * base * 1000) / 1000  # whole thousandths of a frame
    whole = math.floor(frames_total)
    thousandths = int(round((frames_total - whole) * 1000))
    if thousandths >= 1000:
        whole, thousandths = whole + 1, 0
    ff = whole % base
    secs_total = whole // base
    hh, rem = divmod(secs_total, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{thousandths:03d}"


_TIMECODE = re.compile(r"(\d{1,7}):(\d{1,2}):(\d{1,2}):(\d{1,4}(?:\.\d{1,6})?)", re.ASCII)


def _timecode_parts(text: str) -> tuple[int, float]:
    """(whole seconds, frame field FF[.fff]) of ``HH:MM:SS:FF[.fff]``; ValueError otherwise."""
    match = _TIMECODE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"bad timecode {text[:40]!r}")
    hh, mm, ss, ff = match.groups()
    return int(hh) * 3600 + int(mm) * 60 + int(ss), float(ff)


def parse_timecode(text: str, base: int = TIMECODE_BASE) -> float:
    """Seconds since midnight for ``HH:MM:SS:FF[.fff]``."""
    if not base > 0:
        raise ValueError(f"bad timecode base {base!r}")
    seconds, ff = _timecode_parts(text)
    return seconds + ff / base


def eye_angles(arkit: np.ndarray) -> np.ndarray:
    """(T, 6) eye yaw/pitch/roll for the left and right eye from the eyeLook channels, radians."""
    gaze = eye_look_to_gaze(arkit) * EYE_RANGE_RAD  # (T, eye, yaw/pitch)
    zero = np.zeros(len(gaze), gaze.dtype)
    return np.stack([gaze[:, 0, 0], gaze[:, 0, 1], zero, gaze[:, 1, 0], gaze[:, 1, 1], zero], axis=1)


def _snap_fps(fps: float) -> float:
    """A measured rate within 0.1% of a common rate is that rate (29.982 -> 29.97); the closest wins."""
    common = min((23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0, 120.0), key=lambda c: abs(fps - c))
    return common if abs(fps - common) <= 0.001 * common else round(fps, 3)


# --- reading --------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    """The file's text, gunzipped when it is gzip data (whatever its name), at most CSV_LIMIT bytes."""
    raw = read_bytes_bounded(path, CSV_LIMIT, "Live Link Face CSV")
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
                raw = fh.read(CSV_LIMIT + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise TalkclipError(f"{path}: cannot read CSV (damaged gzip data: {' '.join(str(exc).split())})") from None
        if len(raw) > CSV_LIMIT:
            raise TalkclipError(f"{path}: unpacks to more than {CSV_LIMIT >> 20} MB of CSV")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TalkclipError(f"{path}: cannot read CSV (not UTF-8 text at byte {exc.start})") from None


def _csv_rows(text: str, path: Path) -> list[list[str]]:
    """Rows of the CSV text; line ends \n, \r\n and a lone \r (classic Mac, some spreadsheets) all end a row."""
    try:
        return list(csv.reader(io.StringIO(text, newline=None)))
    except csv.Error as exc:
        raise TalkclipError(f"{path}: not a readable CSV ({exc})") from None


def _newline_of(text: str) -> str:
    head = text[:65536]
    if "\r\n" in head:
        return "\r\n"
    return "\r" if "\r" in head and "\n" not in head else "\n"


def _check_header(rows: list[list[str]], path: Path) -> tuple[list[str], dict[str, int]]:
    """(stripped header, lower-cased name -> column) once the header names every needed column once."""
    if not rows or not any(c.strip() for c in rows[0]):
        raise TalkclipError(f"{path}: empty CSV")
    header = [h.strip() for h in rows[0]]
    col = {h.lower(): j for j, h in enumerate(header)}
    if len(col) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise TalkclipError(f"{path}: duplicate CSV columns {', '.join(repr(d[:40]) for d in dup)}")
    missing = [capitalised(n) for n in ARKIT_NAMES if n.lower() not in col]
    if "timecode" not in col:
        missing.insert(0, "Timecode")
    if missing:
        raise TalkclipError(f"{path}: not a Live Link Face CSV, missing columns {', '.join(missing[:6])}"
                            + (f" and {len(missing) - 6} more" if len(missing) > 6 else ""))
    return header, col


def _frame_rows(rows: list[list[str]], header: list[str], path: Path) -> list[tuple[int, list[str]]]:
    """(line number, row) of every non-blank row after the header, each as wide as the header."""
    body = [(i + 2, r) for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
    if not body:
        raise TalkclipError(f"{path}: CSV has a header but no frames")
    for line, r in body:
        if len(r) != len(header):
            raise TalkclipError(f"{path}: row {line} has {len(r)} values, the header has {len(header)} columns")
    return body


def _numeric_table(body: list, header: list[str], numeric: list[int], path: Path) -> np.ndarray:
    """(T, len(numeric)) float64 values of the ``numeric`` columns; a non-number or NaN names its cell."""
    try:
        table = np.array([[float(r[j]) for j in numeric] for _, r in body], dtype=np.float64)
    except ValueError:
        for line, r in body:  # find the culprit for the message
            for j in numeric:
                try:
                    float(r[j])
                except ValueError:
                    raise TalkclipError(f"{path}: row {line}, column {header[j][:60]}: "
                                        f"not a number: {r[j][:40]!r}") from None
        raise
    bad = ~np.isfinite(table) | (np.abs(table) > np.finfo(np.float32).max)
    if bad.any():
        k, j = np.argwhere(bad)[0]
        raise TalkclipError(f"{path}: row {body[k][0]}, column {header[numeric[j]][:60]}: "
                            "NaN, infinite or beyond float32 range")
    return table


def _parse_timecodes(codes: list[str], path: Path) -> tuple[int, np.ndarray]:
    """(timecode frame base, seconds of each code): the base is the first that the FF fields fit."""
    parts = []
    for i, code in enumerate(codes):
        try:
            parts.append(_timecode_parts(code))
        except ValueError as exc:
            raise TalkclipError(f"{path}: frame {i + 1}: {exc} (expected HH:MM:SS:FF.mmm)") from None
    max_ff = int(max(ff for _, ff in parts))
    base = next((b for b in _TIMECODE_BASES if b > max_ff), max_ff + 1)
    return base, np.array([seconds + ff / base for seconds, ff in parts])


def _measured_fps(times: np.ndarray, base: int, path: Path) -> float:
    # the mean rate over the take keeps its duration right through dropped frames and jitter
    span = float(times[-1] - times[0])
    fps = (len(times) - 1) / span if len(times) > 1 and span > 0 else float(base)
    if not MIN_FPS <= fps <= MAX_FPS:
        raise TalkclipError(f"{path}: the timecodes give {fps:.3g} frames per second ({len(times)} frames "
                            f"over {span:g} s); expected {MIN_FPS:g} to {MAX_FPS:g}")
    return _snap_fps(fps)


def _head_pitch_yaw_roll(table: np.ndarray, where: dict[str, int]) -> np.ndarray:
    """(T, 3) float32 head pitch, yaw, roll from the optional HeadYaw/HeadPitch/HeadRoll columns."""
    head_ypr = np.zeros((len(table), 3), dtype=np.float32)
    for k, h in enumerate(LLF_HEAD):
        if h.lower() in where:
            head_ypr[:, k] = table[:, where[h.lower()]]
    return np.stack([head_ypr[:, 1], head_ypr[:, 0], head_ypr[:, 2]], axis=1)  # -> pitch, yaw, roll


def read_livelink_csv(path, fps: float | None = None) -> ExpressionTrack:
    """Read a Live Link Face CSV (plain or ``.gz``) into an ExpressionTrack.

    Columns are found by name (case-insensitive), so reordered files read correctly. Missing
    blendshape columns, ragged rows, non-numbers, NaN or infinity are errors naming the file and
    the row. Head columns are optional (zeros when absent). ``fps`` overrides the rate measured
    from the timecodes.
    """
    path = Path(path)
    text = _read_text(path)
    newline = _newline_of(text)
    rows = _csv_rows(text, path)
    del text
    header, col = _check_header(rows, path)
    body = _frame_rows(rows, header, path)
    tc = col["timecode"]
    count_name = next((h for h in header if h.lower() == "blendshapecount"), None)
    numeric = [j for j in range(len(header)) if j != tc and header[j] != count_name]
    table = _numeric_table(body, header, numeric, path)
    where = {header[j].lower(): n for n, j in enumerate(numeric)}
    values = table[:, [where[n.lower()] for n in ARKIT_NAMES]].astype(np.float32)
    head = _head_pitch_yaw_roll(table, where)
    codes = [r[tc].strip() for _, r in body]
    base, times = _parse_timecodes(codes, path)
    fps = _measured_fps(times, base, path) if fps is None else check_take_fps(fps, str(path))
    known = {"timecode", "blendshapecount"} | {n.lower() for n in ARKIT_NAMES} | {h.lower() for h in LLF_HEAD}
    extra = {header[j]: table[:, where[header[j].lower()]].tolist()
             for j in numeric if header[j].lower() not in known}
    counts = sorted({r[col[count_name.lower()]].strip() for _, r in body}) if count_name else []
    record = {
        "timecodes": codes,
        "timecode_base": base,
        "columns": header,
        "count": counts[0] if len(counts) == 1 else "61",
        "extra": extra,
        "newline": newline,
    }
    meta = {"source": str(path), "timecode_start": codes[0], "timecode_base": base, "livelink": record}
    try:
        return check_take_values(ExpressionTrack(fps=fps, arkit=values, head=head, meta=meta), str(path))
    except ValueError as exc:
        raise TalkclipError(f"{path}: {exc}") from None


# --- writing --------------------------------------------------------------------------------

def _record_for(track: ExpressionTrack) -> dict | None:
    """The original file's record when it still describes this track (same frame count) and is
    well formed; a record edited out of shape is ignored and the track gets the app's layout."""
    rec = track.meta.get("livelink")
    if not isinstance(rec, dict):
        return None
    try:
        return rec if _record_fits(rec, track.num_frames) else None
    except (ValueError, TypeError, AttributeError):
        return None


def _record_fits(rec: dict, frames: int) -> bool:
    codes, columns, extra = rec.get("timecodes"), rec.get("columns"), rec.get("extra") or {}
    if not (isinstance(codes, list) and len(codes) == frames and all(isinstance(c, str) for c in codes)):
        return False
    for code in codes:
        _timecode_parts(code)  # ValueError for a bad one
    if not (isinstance(columns, list) and all(isinstance(c, str) and c.strip() for c in columns)):
        return False
    lower = [c.lower() for c in columns]
    needed = {"timecode"} | {capitalised(n).lower() for n in ARKIT_NAMES}
    if len(set(lower)) != len(lower) or not needed <= set(lower):
        return False
    if not isinstance(extra, dict) or not all(
            isinstance(v, list) and len(v) == frames and all(_finite(x) for x in v) for v in extra.values()):
        return False
    known = needed | {"blendshapecount"} | {h.lower() for h in LLF_HEAD} | {k.lower() for k in extra}
    return set(lower) <= known and rec.get("newline", "\n") in ("\n", "\r\n", "\r") \
        and isinstance(rec.get("count", "61"), (str, int))


def _finite(x) -> bool:
    return finite_number(x) and abs(x) <= float(np.finfo(np.float32).max)


def _format_column(values) -> list[str]:
    """Text of float32 values: 10 decimals as the app writes them (which reproduces the app's
    own values exactly), or the shortest exact decimal where 10 decimals would lose bits."""
    v32 = np.asarray(values, dtype=np.float32)
    text = [VALUE_FORMAT.format(x) for x in v32.astype(np.float64).tolist()]
    back = np.array(text, dtype=np.float64).astype(np.float32)
    for i in np.flatnonzero(back != v32):
        text[i] = np.format_float_positional(v32[i], unique=True, trim="0")
    return text


def _channel_values(track: ExpressionTrack) -> dict[str, np.ndarray]:
    """Lower-cased column name -> the track's values, for the blendshape and head columns."""
    head = track.head  # pitch, yaw, roll
    by_name: dict[str, np.ndarray] = {capitalised(n).lower(): track.arkit[:, i] for i, n in enumerate(ARKIT_NAMES)}
    by_name.update({"headyaw": head[:, 1], "headpitch": head[:, 0], "headroll": head[:, 2]})
    return by_name


def _recorded_layout(rec: dict, by_name: dict) -> tuple[list[str], list[str], str]:
    """(header, timecodes, count) of the original file; its extra columns join ``by_name``."""
    for name, vals in (rec.get("extra") or {}).items():
        by_name[name.lower()] = np.asarray(vals, dtype=np.float64)
    return list(rec["columns"]), list(rec["timecodes"]), str(rec.get("count", "61"))


def _start_of(track: ExpressionTrack, start_seconds: float, base: int) -> float:
    """Seconds of the first frame: ``start_seconds``, else the track's recorded start timecode
    (ignored when it or its base is not usable)."""
    if "timecode_start" not in track.meta or start_seconds:
        return start_seconds
    recorded = track.meta.get("timecode_base", base)
    if isinstance(recorded, int) and not isinstance(recorded, bool) and 0 < recorded <= 10_000:
        base = recorded
    try:
        return parse_timecode(str(track.meta["timecode_start"]), base)
    except ValueError:
        return 0.0


def _fresh_layout(track: ExpressionTrack, start_seconds: float, by_name: dict) -> tuple[list[str], list[str], str]:
    """(header, timecodes, count) of the app's layout; eye angles from the eyeLook channels join ``by_name``."""
    eyes = eye_angles(track.arkit)
    for k, name in enumerate(LLF_EYES):
        by_name[name.lower()] = eyes[:, k]
    base = timecode_base_for(track.fps)
    start = _start_of(track, start_seconds, base)
    codes = [format_timecode(start + i / track.fps, base) for i in range(track.num_frames)]
    return list(LLF_HEADER), codes, str(len(LLF_HEADER) - 2)


def _column_text(name: str, by_name: dict) -> list[str] | None:
    """Formatted values of one (lower-cased) column; None for the timecode and count columns."""
    if name in ("timecode", "blendshapecount"):
        return None
    if name in by_name:
        return _format_column(by_name[name])
    raise TalkclipError(f"cannot write Live Link Face column {name!r}: no values for it")


def livelink_rows(track: ExpressionTrack, start_seconds: float = 0.0, progress: Progress | None = None):
    """Yield the CSV header then one list of strings per frame."""
    rec = _record_for(track)
    by_name = _channel_values(track)
    if rec is not None:
        header, codes, count = _recorded_layout(rec, by_name)
    else:
        header, codes, count = _fresh_layout(track, start_seconds, by_name)
    lower = [h.lower() for h in header]
    columns = [_column_text(h, by_name) or [] for h in lower]  # [] for timecode/count: never read
    yield header
    n = track.num_frames
    step = max(1, n // 100)
    for i in range(n):
        yield [codes[i] if h == "timecode" else count if h == "blendshapecount" else c[i]
               for h, c in zip(lower, columns)]
        if progress is not None and (i % step == 0 or i == n - 1):
            progress((i + 1) / n)


def write_livelink_csv(track: ExpressionTrack, path, overwrite: bool = True, start_seconds: float = 0.0,
                       progress: Progress | None = None) -> None:
    """Write ``track`` as a Live Link Face CSV (gzip-compressed when ``path`` ends in ``.gz``)."""
    rec = _record_for(track)
    newline = (rec or {}).get("newline", "\n")
    # rows stream straight into the (temporary) file: an hour-long take never sits in memory as text
    with atomic_output(path, "wb", overwrite=overwrite) as raw:
        sink = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") if str(path).lower().endswith(".gz") \
            else raw
        text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
        w = csv.writer(text, lineterminator=newline)
        for row in livelink_rows(track, start_seconds, progress):
            w.writerow(row)
        text.flush()
        text.detach()
        if sink is not raw:
            sink.close()
