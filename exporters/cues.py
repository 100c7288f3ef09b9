"""Rhubarb-compatible mouth cues (Preston Blair shapes A-H and X) for 2D and cartoon rigs.

The ``rhubarb`` retarget profile scores each shape per frame from the ARKit mouth channels;
``select_exclusive`` picks one shape per frame with hysteresis and a minimum hold so the drawing
does not flicker; runs of the same shape become cues. Output matches Rhubarb Lip Sync's:

- TSV: one line per cue, ``start<TAB>shape``, times in seconds with 2 decimals, and a last line
  at the end time (truncated to 0.01 s, as Rhubarb does) with ``X`` (the mouth at rest).
- JSON: ``{"metadata": {"soundFile": ..., "duration": ...}, "mouthCues": [{"start", "end", "value"}]}``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exporters.retarget import Profile, load_profile, scores, select_exclusive
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output
from talkclip_model.types import ExpressionTrack

SHAPES = ("A", "B", "C", "D", "E", "F", "G", "H", "X")
MIN_HOLD = 0.08  # seconds a shape stays at least (about 2 frames at 24 fps, as hand-timed 2D)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    value: str


def mouth_cues(track: ExpressionTrack, profile: Profile | str = "rhubarb", min_hold: float = MIN_HOLD,
               margin: float = 0.04) -> list[Cue]:
    """Cues covering the whole take, each at least ``min_hold`` long except possibly the last."""
    prof = load_profile(profile) if isinstance(profile, (str, Path)) else profile
    if prof.mode != "exclusive":
        where = f"{prof.source}: " if prof.source and not prof.source.startswith("profile ") else ""
        raise TalkclipError(f"{where}profile {prof.name} blends its channels; mouth cues need an exclusive profile "
                            "(one shape at a time), such as rhubarb")
    if track.num_frames == 0:
        return []
    pick = select_exclusive(scores(prof, track.arkit, track.head), track.fps, min_hold, margin)  # (T,)
    cues, start = [], 0
    for i in range(1, len(pick) + 1):
        if i == len(pick) or pick[i] != pick[start]:
            cues.append(Cue(round(start / track.fps, 4), round(i / track.fps, 4), prof.targets[int(pick[start])]))
            start = i
    return cues


def _end_time(cues: list[Cue]) -> float:
    """The take's end as Rhubarb writes it: truncated to a multiple of 0.01 s."""
    return max(math.floor(cues[-1].end * 100 + 1e-6) / 100, round(cues[-1].start, 2)) if cues else 0.0


def cues_to_tsv(cues: list[Cue]) -> str:
    lines = [f"{c.start:.2f}\t{c.value}" for c in cues]
    if cues:
        lines.append(f"{_end_time(cues):.2f}\tX")
    return "\n".join(lines) + "\n"


def cues_to_json(cues: list[Cue], sound_file: str = "") -> str:
    end = _end_time(cues)
    items = [{"start": round(c.start, 2), "end": round(c.end, 2), "value": c.value} for c in cues]
    if items:
        items[-1]["end"] = end
    data = {"metadata": {"soundFile": sound_file, "duration": end}, "mouthCues": items}
    return json.dumps(data, indent=2) + "\n"


def write_cues(track: ExpressionTrack, path, overwrite: bool = True, profile: Profile | str = "rhubarb") -> list[Cue]:
    """Write cues as JSON when ``path`` ends in .json, else as TSV (.tsv, .txt)."""
    cues = mouth_cues(track, profile)
    if Path(path).suffix.lower() == ".json":
        text = cues_to_json(cues, str(track.meta.get("audio", "")))
    else:
        text = cues_to_tsv(cues)
    with atomic_output(path, "w", overwrite=overwrite) as fh:
        fh.write(text)
    return cues


def read_cues(path) -> list[Cue]:
    """Read Rhubarb TSV or JSON cues back."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TalkclipError(f"{path}: cannot read cues ({exc})") from None
    try:
        if text.lstrip().startswith("{"):
            return [Cue(float(c["start"]), float(c["end"]), str(c["value"])) for c in json.loads(text)["mouthCues"]]
        rows = [line.split("\t") for line in text.splitlines() if line.strip()]
        times = [float(r[0]) for r in rows]
        return [Cue(times[i], times[i + 1], rows[i][1].strip()) for i in range(len(rows) - 1)]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise TalkclipError(f"{path}: not Rhubarb mouth cues ({exc})") from None


def cue_frames(cues: list[Cue], fps: float, num_frames: int) -> np.ndarray:
    """(T,) shape letters per frame, for comparing cues with a take."""
    out = np.full(num_frames, "X", dtype="<U1")
    for c in cues:
        out[int(round(c.start * fps)): int(round(c.end * fps))] = c.value
    return out
