"""Retarget profiles: ARKit (52 channels + head rotation) onto a character's own channels.

A profile is a linear map, stored as readable JSON (``exporters/profiles/*.json`` ship with the
package; a custom profile is any JSON file in the same layout)::

    {"name": "mychar", "mode": "blend", "clamp": [0, 1],
     "targets": {"Jaw_Open":  {"weights": {"jawOpen": 1.0}},
                 "Smile":     {"weights": {"mouthSmileLeft": 0.5, "mouthSmileRight": 0.5}},
                 "HeadNod":   {"weights": {"head.pitch": 2.0}, "bias": 0.0},
                 "Blink_L":   "eyeBlinkLeft"}}            # a string is a plain rename

Each target value is ``clip(bias + sum(weight * source), clamp)``; sources are ARKit names and
``head.pitch``/``head.yaw``/``head.roll`` (radians). ``mode`` is ``blend`` (every target gets its
value, for shape keys that mix) or ``exclusive`` (one target at a time: the highest score wins,
with hysteresis and a minimum hold; for 2D mouth charts). ``aliases`` lists other names of a
target; ``match.prefixes`` lists name prefixes to ignore; ``match.arkit_spellings`` turns on the
flexible ARKit name matcher (case, separators, ``_L``/``.L``/``Left`` sides, ``blendShape1.``,
``BS_`` and CC4 ``A01_`` prefixes); with it, a both-sides shape such as ``eyeBlink`` or
``Mouth_Smile`` gets the mean of its Left and Right channels, unless the character also has a
sided version (then it stays unused, so the motion is not applied twice).

Shipped profiles: ``arkit`` (exact names and spellings), ``vrm`` (VRM 1.0 presets), ``visemes``
(15 Oculus/VRChat visemes), ``rhubarb`` (Preston Blair / Rhubarb A-H, X). Their weights and the
reasoning behind them are in the JSON files' ``description`` fields and docs/exporters.md.

Public API (stable; the Blender layer calls it)::

    list_profiles() -> list[str]
    load_profile(name_or_path: str | Path) -> Profile
    Profile.bind(target_names) -> Detection          # concrete binding to a character's names
    detect_profile(target_names, profiles=None) -> Detection   # best shipped profile + coverage
    apply(profile_or_detection, track, mode=None) -> (target_names: list[str], values: (T, n) float32)
    scores(profile, arkit (T, 52), head (T, 3) | None) -> (T, n) float32   # before selection
    select_exclusive(scores (T, n), fps, min_hold=0.08, margin=0.04) -> (T,) int
    to_arkit(profile_or_detection, values (T, n)) -> (T, 52)   # least-squares inverse (imports)
    normalise_arkit_name(name) -> str | None    # 'A25_Jaw_Open' -> 'jawOpen' (talkclip_model.arkit's)

``Detection`` has ``profile`` (the bound Profile: its target names are the character's real
names), ``binding`` {character name: profile target}, ``mapped_arkit``, ``lost_arkit``,
``unused_targets``, ``missing_targets``, ``score`` and ``summary()`` (a few readable lines).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from exporters.profile_json import MODES, NUM_SOURCES, SOURCES, parse_profile
from talkclip_model.arkit import (
    ARKIT_NAMES,
    INDEX,
    NUM_CHANNELS,
    normalise_arkit_name,
    spelling_key,
    strip_namespace,
)
from talkclip_model.errors import TalkclipError
from talkclip_model.files import read_json_bounded

PROFILE_DIR = "profiles"
PROFILE_LIMIT = 16 << 20  # bytes of profile JSON read

# --- name matching --------------------------------------------------------------------------
# How a spelling reads is talkclip_model.arkit's (spelling_key, strip_namespace,
# normalise_arkit_name); a profile adds its own target names, aliases and prefixes.

def _name_keys(name: str, prefixes: Sequence[str]) -> list[str]:
    """Normalised spellings of a character's channel name, most specific first."""
    keys = []
    for candidate in (name, strip_namespace(name)):
        key = spelling_key(candidate)
        if key and key not in keys:
            keys.append(key)
        for p in prefixes:
            if key.startswith(p) and len(key) > len(p) and key[len(p):] not in keys:
                keys.append(key[len(p):])
    return keys


# --- profiles -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """A linear map from ARKit + head rotation to named target channels."""

    name: str
    targets: tuple[str, ...]
    matrix: np.ndarray  # (n_target, 55): columns are SOURCES (52 ARKit, then head pitch/yaw/roll)
    bias: np.ndarray  # (n_target,)
    clamp: tuple[float, float] = (0.0, 1.0)
    mode: str = "blend"
    title: str = ""
    description: str = ""
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # target -> other names
    prefixes: tuple[str, ...] = ()
    arkit_spellings: bool = False
    source: str = ""

    def __post_init__(self):
        m = np.array(self.matrix, dtype=np.float32).reshape(len(self.targets), NUM_SOURCES)
        b = np.array(self.bias, dtype=np.float32).reshape(len(self.targets))
        m.flags.writeable = b.flags.writeable = False
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.mode not in MODES:
            raise TalkclipError(f"profile {self.name}: mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    @property
    def weights(self) -> dict[str, dict[str, float]]:
        """Sparse view: {target: {source: weight}}."""
        return {t: {SOURCES[j]: float(w) for j, w in enumerate(row) if w != 0.0}
                for t, row in zip(self.targets, self.matrix)}

    def to_dict(self) -> dict:
        targets, weights = {}, self.weights
        for i, t in enumerate(self.targets):
            entry: dict = {"weights": weights[t]}
            if self.bias[i]:
                entry["bias"] = float(self.bias[i])
            if self.aliases.get(t):
                entry["aliases"] = list(self.aliases[t])
            targets[t] = entry
        match: dict = {}
        if self.prefixes:
            match["prefixes"] = list(self.prefixes)
        if self.arkit_spellings:
            match["arkit_spellings"] = True
        return {"name": self.name, "title": self.title, "description": self.description, "mode": self.mode,
                "clamp": list(self.clamp), "match": match, "targets": targets}

    def bind(self, target_names: Iterable[str]) -> "Detection":
        """Bind this profile to a character's real channel names (see ``Detection``)."""
        return _bind(self, list(target_names))


def profile_from_dict(data: Mapping, source: str = "profile") -> Profile:
    """Build a Profile from its JSON object; errors name ``source`` and the bad entry
    (``exporters.profile_json`` checks every field)."""
    return Profile(**parse_profile(data, source, Path(source).stem))


def list_profiles() -> list[str]:
    """Names of the shipped profiles."""
    folder = resources.files(__package__).joinpath(PROFILE_DIR)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (``arkit``, ``vrm``, ``visemes``, ``rhubarb``) or a JSON file."""
    text_name = str(name_or_path)
    if text_name in list_profiles():
        res = resources.files(__package__).joinpath(PROFILE_DIR, f"{text_name}.json")
        return profile_from_dict(json.loads(res.read_text(encoding="utf-8")), source=f"profile {text_name}")
    path = Path(name_or_path)
    try:
        found, exists = path.is_file(), path.exists()
    except OSError as exc:
        raise TalkclipError(f"{path}: cannot read profile JSON ({exc.strerror})") from None
    if exists and not found:
        raise TalkclipError(f"{path}: not a regular file; expected a profile JSON")
    if not found:
        raise TalkclipError(f"{text_name}: no such profile; shipped profiles are {', '.join(list_profiles())}, "
                            "or give a profile JSON file")
    return profile_from_dict(read_json_bounded(path, PROFILE_LIMIT, "profile JSON"), source=str(path))


# --- binding and detection ------------------------------------------------------------------

@dataclass(frozen=True)
class Detection:
    """A profile bound to a character, with its coverage."""

    profile: Profile  # bound: targets are the character's names, in the order given
    base: Profile  # the profile as loaded
    binding: Mapping[str, str]  # character name -> base profile target
    mapped_arkit: tuple[str, ...]  # ARKit channels that reach at least one bound target
    lost_arkit: tuple[str, ...]  # ARKit channels the base profile uses but that reach nothing here
    unused_targets: tuple[str, ...]  # character names no profile target matched
    missing_targets: tuple[str, ...]  # base profile targets the character lacks
    score: float

    @property
    def coverage(self) -> float:
        """Share of the profile's targets found on the character."""
        found = len(self.base.targets) - len(self.missing_targets)
        return found / max(1, len(self.base.targets))

    def apply(self, track, mode: str | None = None):
        return apply(self, track, mode)

    def summary(self, limit: int = 8) -> str:
        def names(items):
            items = list(items)
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more if items else "none"

        n_found = len(self.base.targets) - len(self.missing_targets)
        return "\n".join([
            f"profile {self.base.name}: {n_found}/{len(self.base.targets)} profile channels found, "
            f"{len(self.binding)} character channels bound ({self.coverage:.0%} coverage)",
            f"  ARKit channels driving the character: {len(self.mapped_arkit)}/{NUM_CHANNELS}",
            f"  lost ARKit channels: {names(self.lost_arkit)}",
            f"  character channels left unused: {names(self.unused_targets)}",
            f"  profile channels the character lacks: {names(self.missing_targets)}",
        ])


_ARKIT_BY_KEY = {spelling_key(n): n for n in ARKIT_NAMES}
# stems of ARKit channels that come in Left/Right pairs; mouth/jaw Left/Right are directions
_SIDED_STEMS = sorted((n[:-4].lower() for n in ARKIT_NAMES
                       if n.endswith("Left") and n[:-4] + "Right" in INDEX and n[:-4] not in ("mouth", "jaw")),
                      key=len, reverse=True)


def _unsided_pair(name: str) -> tuple[str, str] | None:
    """(Left, Right) ARKit channels for a name that means both sides at once (``eyeBlink``,
    ``Mouth_Smile``, ``BS_browDown``), or None."""
    key = spelling_key(strip_namespace(name))
    for stem in _SIDED_STEMS:
        if key.endswith(stem):
            return _ARKIT_BY_KEY[stem + "left"], _ARKIT_BY_KEY[stem + "right"]
    return None


def _bind(profile: Profile, names: list[str]) -> Detection:
    keys: dict[str, str] = {}
    for t in profile.targets:
        for spelling in (t, *profile.aliases.get(t, ())):
            keys.setdefault(spelling_key(spelling), t)
    row_of = {t: i for i, t in enumerate(profile.targets)}
    binding: dict[str, str] = {}
    rows: dict[str, np.ndarray] = {}  # character name -> (55,) row; bias beside it
    biases: dict[str, float] = {}
    for name in names:
        target = None
        for key in _name_keys(name, profile.prefixes):
            if key in keys:
                target = keys[key]
                break
        if target is None and profile.arkit_spellings:
            arkit = normalise_arkit_name(name)
            if arkit is not None and arkit in profile.targets:
                target = arkit
        if target is not None:
            binding[name] = target
            rows[name], biases[name] = profile.matrix[row_of[target]], float(profile.bias[row_of[target]])
    found = set(binding.values())
    if profile.arkit_spellings:
        # a both-sides shape (eyeBlink, Mouth_Smile) takes the mean of its two sides, unless the
        # character also has the sided shapes (driving all three would count the motion twice)
        for name in names:
            pair = None if name in binding else _unsided_pair(name)
            if pair and all(p in row_of for p in pair) and not (set(pair) & found):
                binding[name] = "+".join(pair)
                rows[name] = (profile.matrix[row_of[pair[0]]] + profile.matrix[row_of[pair[1]]]) / 2
                biases[name] = float(profile.bias[row_of[pair[0]]] + profile.bias[row_of[pair[1]]]) / 2
        found |= {p for t in binding.values() for p in t.split("+")}
    bound_names = [n for n in names if n in binding]
    matrix = np.stack([rows[n] for n in bound_names]) if bound_names else np.zeros((0, NUM_SOURCES), np.float32)
    bound = Profile(name=profile.name, targets=tuple(bound_names), matrix=matrix,
                    bias=np.array([biases[n] for n in bound_names], np.float32),
                    clamp=profile.clamp, mode=profile.mode, title=profile.title,
                    description=profile.description, source=profile.source)
    used = np.any(profile.matrix[:, :NUM_CHANNELS] != 0, axis=0)
    reach = np.any(matrix[:, :NUM_CHANNELS] != 0, axis=0) if bound_names else np.zeros(NUM_CHANNELS, bool)
    found &= set(profile.targets)
    missing = tuple(t for t in profile.targets if t not in found)
    n_found = len(found)
    score = n_found * n_found / max(1, len(profile.targets)) + 1e-3 * len(binding) / max(1, len(names))
    return Detection(
        profile=bound, base=profile, binding=binding,
        mapped_arkit=tuple(n for n, r in zip(ARKIT_NAMES, reach) if r),
        lost_arkit=tuple(n for n, u, r in zip(ARKIT_NAMES, used, reach) if u and not r),
        unused_targets=tuple(n for n in names if n not in binding),
        missing_targets=missing, score=float(score))


def detect_profile(target_names: Iterable[str], profiles: Iterable[Profile | str] | None = None,
                   source: str | Path | None = None) -> Detection:
    """Bind every candidate profile to ``target_names`` and return the best (most profile
    channels found, weighted by the share of the profile they make up). ``source`` (the file
    the names come from) starts the error message when none matches."""
    names = [str(n) for n in target_names]
    where = f"{source}: " if source else ""
    if not names:
        raise TalkclipError(f"{where}cannot detect a profile: the character has no channel names")
    candidates = [load_profile(p) if isinstance(p, (str, Path)) else p for p in (profiles or list_profiles())]
    best = max((c.bind(names) for c in candidates), key=lambda d: d.score)
    if not best.binding:
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        raise TalkclipError(f"{where}no profile matches the character's channels ({shown}); "
                            "write a custom profile JSON (see docs/exporters.md)")
    return best


# --- applying -------------------------------------------------------------------------------

def _profile_of(p) -> Profile:
    return p.profile if isinstance(p, Detection) else p


def scores(profile: Profile | Detection, arkit: np.ndarray, head: np.ndarray | None = None) -> np.ndarray:
    """(T, n_target) = clip(bias + [arkit | head] @ matrix.T, clamp)."""
    prof = _profile_of(profile)
    arkit = np.asarray(arkit, dtype=np.float32).reshape(-1, NUM_CHANNELS)  # (T, 52)
    head = np.zeros((len(arkit), 3), np.float32) if head is None else np.asarray(head, np.float32)  # (T, 3)
    out = arkit @ prof.matrix[:, :NUM_CHANNELS].T + head @ prof.matrix[:, NUM_CHANNELS:].T + prof.bias
    return np.clip(out, prof.clamp[0], prof.clamp[1]).astype(np.float32)


def select_exclusive(values: np.ndarray, fps: float, min_hold: float = 0.08, margin: float = 0.04) -> np.ndarray:
    """Per-frame winner (T,) of ``values`` (T, n) with hysteresis: the current choice is kept
    until another beats it by ``margin`` and it has been held ``min_hold`` seconds."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.shape[1] == 0:
        raise TalkclipError("exclusive selection needs (frames, channels) scores with at least one channel")
    hold = max(1, math.ceil(min_hold * fps - 1e-9))  # frames; never shorter than min_hold
    out = np.empty(len(values), dtype=np.int64)
    best = values.argmax(axis=1)
    cur, since = (int(best[0]) if len(values) else 0), 0
    for i in range(len(values)):
        b = int(best[i])
        if b != cur and since >= hold and values[i, b] > values[i, cur] + margin:
            cur, since = b, 0
        out[i] = cur
        since += 1
    return out


def apply(profile: Profile | Detection, track, mode: str | None = None) -> tuple[list[str], np.ndarray]:
    """Retarget an ExpressionTrack: (target names, values (T, n_target) float32).

    ``mode`` overrides the profile's: ``blend`` gives every target its value; ``exclusive``
    gives 1 to the winning target of each frame and 0 to the others.
    """
    prof = _profile_of(profile)
    mode = mode or prof.mode
    if mode not in MODES:
        raise TalkclipError(f"retarget mode must be one of {', '.join(MODES)}, got {mode!r}")
    vals = scores(prof, track.arkit, track.head)
    if mode == "exclusive" and len(prof.targets):
        pick = select_exclusive(vals, track.fps)
        vals = np.zeros_like(vals)
        vals[np.arange(len(pick)), pick] = 1.0
    return list(prof.targets), vals


def to_arkit(profile: Profile | Detection, values: np.ndarray) -> np.ndarray:
    """Least-squares ARKit (T, 52) that the profile maps to ``values`` (T, n_target), clipped to
    0..1. Exact for rename profiles (``arkit``); an approximation for many-to-one projections."""
    prof = _profile_of(profile)
    values = np.asarray(values, dtype=np.float32).reshape(-1, len(prof.targets))
    if not np.all(np.isfinite(values)):
        raise TalkclipError(f"profile {prof.name}: input values hold NaN or infinity")
    a = prof.matrix[:, :NUM_CHANNELS]  # (n, 52)
    pinv = np.linalg.pinv(a.astype(np.float64))  # (52, n)
    out = (values - prof.bias) @ pinv.T.astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)

