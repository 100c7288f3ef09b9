"""Cutting a recording into pieces PocketSphinx can align: at pauses, about 15 s each, and a
piece that fails in two at its middle pause. Pieces are sample spans of the clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkclip_model.speech.audio import (
    HOP_SAMPLES,
    HOP_SECONDS,
    SAMPLE_RATE,
    AudioClip,
    loudness_db,
)

SEGMENT_TARGET_S = 15.0  # long audio is cut at pauses into pieces about this long
SEGMENT_MAX_S = 25.0  # ... and never longer than this (shorter pieces align faster)
MIN_PAUSE_S = 0.25  # a cut goes only into a pause at least this long
MIN_SPLIT_S = 2.0  # a piece shorter than twice this is not split in two
MIN_SPLIT_PAUSE_FRAMES = 10  # split at the longest middle pause of 100 ms or more, else in the middle


@dataclass(frozen=True)
class Segment:
    """A span of the clip's samples, ``start`` included and ``end`` excluded."""

    start: int
    end: int

    @property
    def offset(self) -> float:
        """Where the segment starts, in seconds."""
        return self.start / SAMPLE_RATE


def pause_mask(level_db: np.ndarray) -> np.ndarray:
    """(F,) True where a 10 ms frame is quiet enough to count as a pause."""
    if len(level_db) == 0:
        return np.zeros(0, bool)
    lo, hi = np.percentile(level_db, 5), np.percentile(level_db, 95)
    threshold = max(lo + 10.0, hi - 40.0)
    return level_db < threshold


def speech_frames(quiet: np.ndarray, segments: list[Segment]) -> np.ndarray:
    """(S,) frames of speech (not pause) in each segment, plus one so that none is zero."""
    return np.array([np.sum(~quiet[s.start // HOP_SAMPLES:s.end // HOP_SAMPLES]) for s in segments],
                    dtype=float) + 1.0


def split_at_pauses(clip: AudioClip, target_s: float = SEGMENT_TARGET_S,
                    max_s: float = SEGMENT_MAX_S) -> list[Segment]:
    """Cut a long clip at pauses into segments of about ``target_s`` (never over ``max_s``)."""
    n = len(clip.samples)
    if n <= max_s * SAMPLE_RATE:
        return [Segment(0, n)]
    pauses = _pauses(pause_mask(loudness_db(clip.samples)))
    cuts = [0]
    while n - cuts[-1] > max_s * SAMPLE_RATE:
        lo = cuts[-1] + int(0.5 * target_s * SAMPLE_RATE)
        hi = cuts[-1] + int(max_s * SAMPLE_RATE)
        # the longest pause in reach, the one nearest the target among equals
        window = [(length, -abs(pos - (cuts[-1] + target_s * SAMPLE_RATE)), pos)
                  for pos, length in pauses if lo <= pos <= hi]
        cuts.append(max(window)[2] if window else cuts[-1] + int(target_s * SAMPLE_RATE))
    cuts.append(n)
    return [Segment(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _pauses(quiet: np.ndarray) -> list[tuple[int, int]]:
    """(centre sample, length in frames) of each run of quiet frames at least MIN_PAUSE_S long."""
    pauses: list[tuple[int, int]] = []
    run_start = None
    for i, q in enumerate(np.append(quiet, False)):
        if q and run_start is None:
            run_start = i
        elif not q and run_start is not None:
            if (i - run_start) * HOP_SECONDS >= MIN_PAUSE_S:
                pauses.append(((run_start + i) // 2 * HOP_SAMPLES, i - run_start))
            run_start = None
    return pauses


def split_in_two(clip: AudioClip, seg: Segment) -> list[Segment] | None:
    """Cut a segment at the longest pause in its middle half (or in the middle); None when it
    is too short to cut."""
    quiet = pause_mask(loudness_db(clip.samples[seg.start:seg.end]))
    n = len(quiet)
    if n * HOP_SECONDS < 2 * MIN_SPLIT_S:
        return None
    best, best_len, run = None, 0, 0
    for i in range(n // 4, 3 * n // 4):
        run = run + 1 if quiet[i] else 0
        if run > best_len:
            best_len, best = run, i - run // 2
    middle = best if best is not None and best_len >= MIN_SPLIT_PAUSE_FRAMES else n // 2
    cut = seg.start + middle * HOP_SAMPLES
    return [Segment(seg.start, cut), Segment(cut, seg.end)]
