"""Plain data types that cross module boundaries: Recognition, PhoneTrack, Prosody, SpeakingStyle,
ExpressionTrack. Frozen dataclasses over read-only numpy arrays; times in seconds, fps explicit.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, HEAD_CHANNELS, NUM_CHANNELS
from talkclip_model.errors import TalkclipError
from talkclip_model.files import parse_json_text, read_json_bounded
from talkclip_model.phones import SILENCE


def _frozen_array(value, dtype, shape_tail: tuple[int, ...], what: str) -> np.ndarray:
    arr = np.array(value, dtype=dtype, copy=True)
    if arr.ndim != 1 + len(shape_tail) or tuple(arr.shape[1:]) != shape_tail:
        raise ValueError(f"{what}: expected shape (N, {shape_tail}) got {arr.shape}")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class Recognition:
    """What a speech recogniser heard in a take without a transcript: its text (as the recogniser
    wrote it, for a user to correct and give back as the transcript), the language (its code),
    the model, and its own word times in seconds where it gave them."""

    text: str
    language: str
    model: str
    words: tuple[tuple[str, float, float], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "words", tuple((str(w), float(s), float(e)) for w, s, e in self.words))

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "language": self.language, "model": self.model,
                "words": [[w, s, e] for w, s, e in self.words]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Recognition":
        """The inverse of ``to_dict``; ValueError when it is not one."""
        try:
            return cls(text=str(data["text"]), language=str(data.get("language") or ""),
                       model=str(data.get("model") or ""), words=tuple(data.get("words") or ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a recognition ({exc})") from None


@dataclass(frozen=True)
class PhoneTrack:
    """Timed phones (ARPAbet without stress; ``SIL`` for pauses) and, where known, words."""

    phones: tuple[str, ...]
    starts: np.ndarray  # (N,) seconds
    ends: np.ndarray  # (N,) seconds
    duration: float  # seconds of audio the track covers
    source: str = "alignment"  # "alignment" | "whisper" (recognised words, aligned) | "recognition" | "reference"
    words: tuple[str, ...] = ()
    word_starts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    word_ends: np.ndarray = field(default_factory=lambda: np.zeros(0))
    notes: tuple[str, ...] = ()  # human-readable warnings (out-of-vocabulary words, fallbacks)
    recognition: Recognition | None = None  # what the recogniser heard, when its words were aligned

    def __post_init__(self):
        object.__setattr__(self, "phones", tuple(self.phones))
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "notes", tuple(self.notes))
        for name in ("starts", "ends", "word_starts", "word_ends"):
            arr = np.array(getattr(self, name), dtype=np.float64).reshape(-1)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        if not (len(self.phones) == len(self.starts) == len(self.ends)):
            raise ValueError("PhoneTrack: phones, starts and ends differ in length")
        if not (len(self.words) == len(self.word_starts) == len(self.word_ends)):
            raise ValueError("PhoneTrack: words, word_starts and word_ends differ in length")
        if np.any(self.ends < self.starts):
            raise ValueError("PhoneTrack: a phone ends before it starts")

    def __len__(self) -> int:
        return len(self.phones)

    def spoken(self) -> "PhoneTrack":
        """The same track without silences."""
        keep = [i for i, p in enumerate(self.phones) if p != SILENCE]
        return dataclasses.replace(
            self, phones=tuple(self.phones[i] for i in keep), starts=self.starts[keep], ends=self.ends[keep]
        )

    def covering(self, times: np.ndarray, labels=None, closed: bool = False) -> np.ndarray:
        """(T,) bool: which ``times`` fall inside a phone whose label is in ``labels`` (any
        non-silence when None). Phones are half-open [start, end), or [start, end] when ``closed``.

        Phones are in time order (as every PhoneTrack here is), so this is a binary search per
        time rather than a pass over the whole take per phone.
        """
        times = np.asarray(times, dtype=np.float64)
        n = len(self.phones)
        if n == 0:
            return np.zeros(len(times), dtype=bool)
        wanted = np.array([(p != SILENCE) if labels is None else (p in labels) for p in self.phones])
        i = np.clip(np.searchsorted(self.starts, times, side="right") - 1, 0, n - 1)
        inside = wanted[i] & (times >= self.starts[i]) & (times < self.ends[i])
        if closed:  # a time exactly on a phone's end also counts for that phone
            j = np.clip(np.searchsorted(self.ends, times, side="left"), 0, n - 1)
            inside |= wanted[j] & (times >= self.starts[j]) & (times <= self.ends[j])
        return inside

    def to_list(self) -> list[dict]:
        return [
            {"phone": p, "start": round(float(s), 4), "end": round(float(e), 4)}
            for p, s, e in zip(self.phones, self.starts, self.ends)
        ]

    @classmethod
    def from_list(cls, items: list[dict], duration: float | None = None, source: str = "reference"):
        phones = [str(d["phone"]) for d in items]
        starts = [float(d["start"]) for d in items]
        ends = [float(d["end"]) for d in items]
        dur = duration if duration is not None else (max(ends) if ends else 0.0)
        return cls(phones=tuple(phones), starts=np.array(starts), ends=np.array(ends), duration=dur, source=source)


@dataclass(frozen=True)
class Prosody:
    """Frame-level prosody of a recording at a fixed hop (10 ms)."""

    hop: float  # seconds between frames
    loudness_db: np.ndarray  # (F,) RMS level in dBFS
    pitch_hz: np.ndarray  # (F,) fundamental frequency, 0 where unvoiced
    voicing: np.ndarray  # (F,) 0..1 periodicity
    duration: float

    def __post_init__(self):
        for name in ("loudness_db", "pitch_hz", "voicing"):
            arr = np.array(getattr(self, name), dtype=np.float32).reshape(-1)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.loudness_db)) * self.hop

    def at(self, times: np.ndarray, which: str = "loudness_db") -> np.ndarray:
        """Linear interpolation of a prosody track at arbitrary times (seconds)."""
        values = getattr(self, which)
        if len(values) == 0:
            return np.zeros(len(times), dtype=np.float32)
        return np.interp(times, self.times, values).astype(np.float32)


# Dynamics of a speaking style: how the face moves, as opposed to what it holds.
# name -> (default, low, high, meaning)
DYNAMICS: dict[str, tuple[float, float, float, str]] = {
    "articulation": (1.0, 0.2, 1.8, "scale of mouth movement while speaking"),
    "expressiveness": (1.0, 0.0, 2.0, "scale of the held expression and its variation"),
    "blink_rate": (17.0, 2.0, 60.0, "blinks per minute"),
    "head_motion": (1.0, 0.0, 3.0, "energy of audio-driven head motion"),
    "head_pitch": (0.0, -0.5, 0.5, "head pose bias, radians; positive looks down"),
    "head_yaw": (0.0, -0.6, 0.6, "head pose bias, radians; positive turns left"),
    "head_roll": (0.0, -0.4, 0.4, "head pose bias, radians; positive tilts left"),
    "nod": (0.0, 0.0, 1.0, "tendency to nod (pitch oscillation)"),
    "shake": (0.0, 0.0, 1.0, "tendency to shake the head (yaw oscillation)"),
    "gaze_aversion": (0.0, 0.0, 1.0, "share of time the eyes look away"),
    "gaze_pitch": (0.0, -1.0, 1.0, "gaze bias; negative looks down"),
}


def default_dynamics() -> dict[str, float]:
    return {k: v[0] for k, v in DYNAMICS.items()}


def clamp_dynamics(dyn: Mapping[str, float]) -> dict[str, float]:
    out = default_dynamics()
    for k, v in dyn.items():
        if k not in DYNAMICS:
            raise KeyError(f"unknown style dynamic {k!r}; known: {', '.join(DYNAMICS)}")
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"style dynamic {k!r} is not a finite number")
        lo, hi = DYNAMICS[k][1], DYNAMICS[k][2]
        out[k] = min(max(v, lo), hi)
    return out


@dataclass(frozen=True)
class SpeakingStyle:
    """A speaking style: held ARKit activations (0..1) plus dynamics. Readable and editable JSON."""

    arkit: np.ndarray  # (52,) baseline activations in 0..1
    dynamics: Mapping[str, float] = field(default_factory=default_dynamics)
    prompt: str = ""

    def __post_init__(self):
        arr = np.clip(np.array(self.arkit, dtype=np.float32).reshape(-1), 0.0, 1.0)
        if arr.shape != (NUM_CHANNELS,):
            raise ValueError(f"SpeakingStyle.arkit needs {NUM_CHANNELS} values, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("SpeakingStyle.arkit holds NaN or infinity")
        arr.flags.writeable = False
        object.__setattr__(self, "arkit", arr)
        object.__setattr__(self, "dynamics", clamp_dynamics(self.dynamics))

    @classmethod
    def neutral(cls) -> "SpeakingStyle":
        return cls(arkit=np.zeros(NUM_CHANNELS, dtype=np.float32), prompt="")

    def get(self, name: str) -> float:
        return float(self.arkit[ARKIT_NAMES.index(name)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "arkit": {n: round(float(v), 4) for n, v in zip(ARKIT_NAMES, self.arkit)},
            "dynamics": {k: round(float(v), 4) for k, v in self.dynamics.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SpeakingStyle":
        """A style from its JSON object. Wrong types, unknown names and NaN or infinite numbers
        are a ValueError that says which entry (the caller adds the file name)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"style JSON: the top level must be an object, got {_json_type(data)}")
        arkit_in = data.get("arkit", {})
        if not isinstance(arkit_in, Mapping):
            raise ValueError("style JSON: 'arkit' must be an object of name: value")
        unknown = sorted(set(arkit_in) - set(ARKIT_NAMES))
        if unknown:
            raise ValueError(f"style JSON: unknown ARKit names {unknown[:5]}")
        arkit = np.clip([_style_number(arkit_in.get(n, 0.0), f"arkit {n!r}") for n in ARKIT_NAMES], 0.0, 1.0)
        dyn_in = data.get("dynamics", {})
        if not isinstance(dyn_in, Mapping):
            raise ValueError("style JSON: 'dynamics' must be an object of name: value")
        unknown = sorted(set(dyn_in) - set(DYNAMICS))
        if unknown:
            raise ValueError(f"style JSON: unknown style dynamic {unknown[0][:40]!r}; known: {', '.join(DYNAMICS)}")
        dynamics = {k: _style_number(v, f"dynamic {k!r}") for k, v in dyn_in.items()}
        prompt = data.get("prompt", "")
        if not isinstance(prompt, str):
            raise ValueError(f"style JSON: 'prompt' must be text, got {_json_type(prompt)}")
        return cls(arkit=arkit, dynamics=dynamics, prompt=prompt)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "SpeakingStyle":
        """A style from JSON text; any problem is a ValueError (deep nesting included)."""
        return cls.from_dict(parse_json_text(text))

    @classmethod
    def load(cls, path) -> "SpeakingStyle":
        """A saved style JSON file; any problem is one TalkclipError line naming the file."""
        data = read_json_bounded(path, STYLE_LIMIT, "style JSON")
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise TalkclipError(f"{path}: not a style JSON ({exc})") from None


STYLE_LIMIT = 16 << 20  # bytes of style JSON read


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def finite_number(value: Any) -> bool:
    """A JSON number (not a bool) that is finite as a float: NaN, Infinity and integers beyond
    float range (``1`` followed by 400 zeros) are not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _style_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"style JSON: {what} must be a number, got {_json_type(value)}")
    if not finite_number(value):
        raise ValueError(f"style JSON: {what} must be a finite number, got {value}")
    return float(value)


def parse_schedule(data: Any) -> list[tuple[float, str]]:
    """(seconds, prompt) pairs, sorted, of a schedule's JSON: a list of {"time", "prompt"} with
    finite, non-negative times. A ValueError says which entry is wrong (the caller adds the file)."""
    if not isinstance(data, list):
        raise ValueError(f"a schedule is a JSON list of {{time, prompt}}, got {_json_type(data)}")
    items = []
    for i, entry in enumerate(data):
        if not isinstance(entry, Mapping) or "time" not in entry or "prompt" not in entry:
            raise ValueError(f"schedule entry {i} must be an object with 'time' and 'prompt'")
        t, prompt = entry["time"], entry["prompt"]
        if not finite_number(t) or t < 0:
            raise ValueError(f"schedule entry {i}: 'time' must be a finite number of seconds >= 0, got {t!r}"[:160])
        if not isinstance(prompt, str):
            raise ValueError(f"schedule entry {i}: 'prompt' must be text")
        items.append((float(t), prompt))
    return sorted(items)


@dataclass(frozen=True)
class ExpressionTrack:
    """Per-frame facial animation: 52 ARKit weights and head rotation at an explicit fps.

    Frame i is at time i / fps. ``layers`` optionally holds the additive parts the decoder
    combined (e.g. "lips", "expression", "eyes"); ``arkit`` is their clipped sum.
    """

    fps: float
    arkit: np.ndarray  # (T, 52) in 0..1
    head: np.ndarray  # (T, 3) pitch, yaw, roll in radians
    phones: PhoneTrack | None = None
    layers: Mapping[str, np.ndarray] = field(default_factory=dict)  # name -> (T, 52)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        fps = float(self.fps)
        if not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"ExpressionTrack.fps must be positive, got {self.fps}")
        object.__setattr__(self, "fps", fps)
        arkit = _frozen_array(self.arkit, np.float32, (NUM_CHANNELS,), "ExpressionTrack.arkit")
        head = _frozen_array(self.head, np.float32, (len(HEAD_CHANNELS),), "ExpressionTrack.head")
        if len(head) != len(arkit):
            raise ValueError(f"ExpressionTrack: {len(arkit)} ARKit frames but {len(head)} head frames")
        if not (np.all(np.isfinite(arkit)) and np.all(np.isfinite(head))):
            raise ValueError("ExpressionTrack holds NaN or infinity")
        object.__setattr__(self, "arkit", arkit)
        object.__setattr__(self, "head", head)
        layers = {}
        for name, arr in dict(self.layers).items():
            layers[name] = _frozen_array(arr, np.float32, (NUM_CHANNELS,), f"layer {name!r}")
            if len(layers[name]) != len(arkit):
                raise ValueError(f"layer {name!r} has {len(layers[name])} frames, track has {len(arkit)}")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def num_frames(self) -> int:
        return int(self.arkit.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.num_frames) / self.fps

    @property
    def channels(self) -> tuple[str, ...]:
        return ARKIT_NAMES

    def channel(self, name: str) -> np.ndarray:
        return self.arkit[:, ARKIT_NAMES.index(name)]
