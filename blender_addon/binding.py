"""Which of a character's shape keys each ARKit channel drives: a ``ChannelBinding``.

Pure numpy (no bpy), so it is tested without Blender. The Blender bake and the add-on only ever
call :func:`bind`; it asks ``exporters.retarget`` (profiles, auto-detection, coverage); profile
``arkit-names`` uses plain name matching instead: each shape key drives the ARKit channel
``talkclip_model.arkit.normalise_arkit_name`` reads in its name (case, separators, sides such as
``eyeBlink_L`` / ``eyeBlink.L`` / ``eyeBlinkL``, namespaces and tool prefixes; a sided target of
an unsided channel, ``browInnerUp_L``, gets that channel).

A binding is a (K, 52) weight matrix, so one ARKit channel may drive several targets and a
target may mix channels; ``values(track)`` gives the (T, K) curves to key, clipped to 0..1.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from exporters import retarget
from talkclip_model.arkit import ARKIT_NAMES, INDEX, NUM_CHANNELS, normalise_arkit_name
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack


@dataclass(frozen=True)
class ChannelBinding:
    """Target channel names and how the 52 ARKit channels (and head rotation) feed them."""

    profile: str
    targets: tuple[str, ...]  # (K,) shape-key names on the character
    weights: np.ndarray  # (K, 52) ARKit part of the map (for coverage and the fallback)
    detection: Any = None  # exporters.retarget.Detection when the retarget module made it
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=np.float32).reshape(len(self.targets), NUM_CHANNELS)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "targets", tuple(self.targets))

    @property
    def channels_mapped(self) -> int:
        """ARKit channels that drive at least one target."""
        return int(np.count_nonzero(np.any(self.weights != 0, axis=0)))

    @property
    def coverage(self) -> float:
        return self.channels_mapped / NUM_CHANNELS

    @property
    def unmapped(self) -> tuple[str, ...]:
        used = np.any(self.weights != 0, axis=0)
        return tuple(n for n, u in zip(ARKIT_NAMES, used) if not u)

    def values(self, arkit: np.ndarray | ExpressionTrack) -> np.ndarray:
        """(T, 52) ARKit weights, or a whole track (head rotation and the profile's mode
        included) -> (T, K) target values."""
        if self.detection is not None:
            if isinstance(arkit, ExpressionTrack):
                return np.asarray(retarget.apply(self.detection, arkit)[1], np.float32)
            return retarget.scores(self.detection, np.asarray(arkit, np.float32))
        a = arkit.arkit if isinstance(arkit, ExpressionTrack) else np.asarray(arkit, np.float32)
        return np.clip(a @ self.weights.T, 0.0, 1.0).astype(np.float32)

    def describe(self) -> str:
        """One line for a panel or a report: profile and coverage."""
        return (f"{self.profile}: {self.channels_mapped}/{NUM_CHANNELS} ARKit channels "
                f"-> {len(self.targets)} shape keys")


def match_by_name(target_names: Sequence[str]) -> ChannelBinding:
    """Name-matching binding (profile ``arkit-names``, described in the module docstring)."""
    targets: list[str] = []
    rows: list[np.ndarray] = []
    for t in target_names:
        arkit = normalise_arkit_name(t)
        if arkit is None:
            continue
        row = np.zeros(NUM_CHANNELS, np.float32)
        row[INDEX[arkit]] = 1.0
        targets.append(t)
        rows.append(row)
    weights = np.stack(rows) if rows else np.zeros((0, NUM_CHANNELS), np.float32)
    return ChannelBinding(profile="arkit-names", targets=tuple(targets), weights=weights)


def _from_retarget(target_names: Sequence[str], profile: str | None) -> ChannelBinding:
    """A binding through exporters.retarget: ``profile`` bound, or the best one detected."""
    if profile is None:
        detection = retarget.detect_profile(target_names)
    else:
        detection = retarget.load_profile(profile).bind(target_names)
    bound = detection.profile
    return ChannelBinding(profile=bound.name, targets=tuple(bound.targets),
                          weights=np.asarray(bound.matrix)[:, :NUM_CHANNELS], detection=detection,
                          notes=tuple(detection.summary().splitlines()))


def bind(target_names: Sequence[str], profile: str | None = None) -> ChannelBinding:
    """The binding for a character whose shape keys are ``target_names``.

    ``profile`` names a retarget profile (or a profile JSON path); None or "auto" detects the
    best one. Raises TalkclipError when nothing maps. Results are cached per name list, as
    detection reads every shipped profile.
    """
    if profile in ("", "auto"):
        profile = None
    if profile is not None and Path(profile).suffix.lower() == ".json":
        return _bind_uncached(tuple(str(n) for n in target_names), profile)  # the file may change
    return _bind_cached(tuple(str(n) for n in target_names), profile)


@functools.lru_cache(maxsize=32)
def _bind_cached(names: tuple[str, ...], profile: str | None) -> ChannelBinding:
    return _bind_uncached(names, profile)


def _bind_uncached(target_names: tuple[str, ...], profile: str | None) -> ChannelBinding:
    names = list(target_names)
    binding = match_by_name(names) if profile == "arkit-names" else _from_retarget(names, profile)
    if not binding.targets:
        shown = ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
        raise TalkclipError(
            f"none of the {len(names)} shape keys ({shown or 'none'}) matches an ARKit channel "
            f"(profile {binding.profile})")
    return binding
