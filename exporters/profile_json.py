"""A retarget profile's JSON checked at the boundary: every field's type and every number's range,
before ``exporters.retarget`` builds a Profile from it. Each problem is one TalkclipError line
naming the profile and the entry (``p.json: target 'Jaw': bias must be a finite number, got NaN``).

The layout is documented in ``exporters.retarget`` and docs/exporters.md.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, HEAD_CHANNELS, NUM_CHANNELS, spelling_key
from talkclip_model.errors import TalkclipError
from talkclip_model.types import finite_number

SOURCES: tuple[str, ...] = ARKIT_NAMES + tuple(f"head.{h}" for h in HEAD_CHANNELS)  # matrix columns
NUM_SOURCES = len(SOURCES)
SOURCE_INDEX = {s.lower(): i for i, s in enumerate(SOURCES)}
SOURCE_INDEX.update({f"head{h}": NUM_CHANNELS + i for i, h in enumerate(HEAD_CHANNELS)})
MODES = ("blend", "exclusive")
MAX_MAGNITUDE = 1e6  # weights, biases and clamp bounds: far beyond any useful value, far below overflow
MAX_TARGETS = 10_000


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, float) else f"{value:g}".replace("nan", "NaN")
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any, what: str, source: str) -> float:
    """A finite JSON number within +-MAX_MAGNITUDE (not a bool, string or NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TalkclipError(f"{source}: {what} must be a number, got {_shown(value)}")
    if not (finite_number(value) and abs(value) <= MAX_MAGNITUDE):
        raise TalkclipError(f"{source}: {what} must be a finite number within +-{MAX_MAGNITUDE:g}, got {_shown(value)}")
    return float(value)


def _strings(value: Any, what: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TalkclipError(f"{source}: {what} must be a list of names")
    return tuple(value)


def _text(data: Mapping, key: str, source: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise TalkclipError(f"{source}: {key!r} must be text, got {_shown(value)}")
    return value


def _target_row(target: str, spec: Any, source: str) -> tuple[np.ndarray, float, tuple[str, ...]]:
    """(matrix row (55,), bias, aliases) of one target entry."""
    if isinstance(spec, str):
        spec = {"weights": {spec: 1.0}}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("weights", {}), Mapping):
        raise TalkclipError(f"{source}: target {target!r} needs a 'weights' object or an ARKit name")
    row = np.zeros(NUM_SOURCES, dtype=np.float64)
    for src, w in spec.get("weights", {}).items():
        j = SOURCE_INDEX.get(str(src).lower())
        if j is None:
            raise TalkclipError(f"{source}: target {target!r} uses unknown source channel {str(src)[:60]!r} "
                                "(sources are the 52 ARKit names and head.pitch/head.yaw/head.roll)")
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise TalkclipError(f"{source}: target {target!r}: weight for {src!r} is not a number ({_shown(w)})")
        if not finite_number(w):
            raise TalkclipError(f"{source}: target {target!r} has a NaN or infinite weight for {src!r}")
        row[j] += _number(w, f"target {target!r}: weight for {src!r}", source)
    bias = _number(spec.get("bias", 0.0), f"target {target!r}: bias", source)
    aliases = _strings(spec.get("aliases", []), f"target {target!r}: 'aliases'", source)
    return row.astype(np.float32), bias, aliases


def _clamp(data: Mapping, source: str) -> tuple[float, float]:
    clamp = data.get("clamp", [0.0, 1.0])
    if not isinstance(clamp, (list, tuple)) or len(clamp) != 2:
        raise TalkclipError(f"{source}: 'clamp' must be [low, high]")
    lo, hi = (_number(v, "'clamp'", source) for v in clamp)
    if not lo < hi:
        raise TalkclipError(f"{source}: 'clamp' low must be below high, got {list(clamp)}")
    return lo, hi


def _match(data: Mapping, source: str) -> tuple[tuple[str, ...], bool]:
    match = data.get("match") or {}
    if not isinstance(match, Mapping):
        raise TalkclipError(f"{source}: 'match' must be an object with 'prefixes' and 'arkit_spellings'")
    prefixes = _strings(match.get("prefixes", []), "match 'prefixes'", source)
    spellings = match.get("arkit_spellings", False)
    if not isinstance(spellings, bool):
        raise TalkclipError(f"{source}: match 'arkit_spellings' must be true or false")
    return tuple(k for k in (spelling_key(p) for p in prefixes) if k), spellings


def parse_profile(data: Any, source: str, stem: str) -> dict[str, Any]:
    """The keyword arguments of ``retarget.Profile`` for a profile's JSON object ``data``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("targets"), Mapping) or not data["targets"]:
        raise TalkclipError(f"{source}: a profile needs a non-empty 'targets' object")
    if len(data["targets"]) > MAX_TARGETS:
        raise TalkclipError(f"{source}: {len(data['targets'])} targets, more than {MAX_TARGETS}")
    rows, bias, aliases = [], [], {}
    for target, spec in data["targets"].items():
        row, b, names = _target_row(str(target), spec, source)
        rows.append(row)
        bias.append(b)
        aliases[str(target)] = names
    mode = data.get("mode", "blend")
    if mode not in MODES:
        raise TalkclipError(f"{source}: mode must be one of {', '.join(MODES)}, got {_shown(mode)}")
    prefixes, spellings = _match(data, source)
    return {"name": _text(data, "name", source) or stem, "targets": tuple(str(t) for t in data["targets"]),
            "matrix": np.stack(rows), "bias": np.array(bias, np.float32), "clamp": _clamp(data, source),
            "mode": mode, "title": _text(data, "title", source), "description": _text(data, "description", source),
            "aliases": aliases, "prefixes": prefixes, "arkit_spellings": spellings, "source": source}
