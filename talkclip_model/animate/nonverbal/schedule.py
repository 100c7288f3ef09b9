"""Cross-fade weights for a schedule of styles that change over time."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def schedule_weights(times: np.ndarray, change_times: Sequence[float], transition: float = 0.4) -> np.ndarray:
    """(T, K) weights of K scheduled styles at ``times`` (seconds); each row sums to 1.

    Style 0 holds from time 0 (whatever ``change_times[0]`` says). Style k > 0 fades in with a
    smoothstep that STARTS at ``change_times[k]`` and completes ``transition`` seconds later, so
    the new style fully holds from ``change_times[k] + transition``. Overlapping transitions chain:
    a later style takes its share from all the earlier ones. ``transition <= 0`` switches at once.
    A style k > 0 scheduled at time <= 0 holds from the start without a fade (so a decoder that
    puts its base style first and the schedule after it, ``[0.0, 0.0, 3.2]``, starts on the
    schedule's first style).
    """
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    c = np.asarray(change_times, dtype=np.float64).reshape(-1)
    if c.size == 0:
        raise ValueError("schedule_weights: need at least one change time")
    if not np.all(np.isfinite(c)) or np.any(np.diff(c) < 0):
        raise ValueError("schedule_weights: change times must be finite and in increasing order")
    k = c.size
    progress = np.ones((t.size, k))
    for j in range(1, k):
        if c[j] <= 0.0:  # already in force at the start: nothing to fade from
            progress[:, j] = 1.0
        elif transition > 0:
            x = np.clip((t - c[j]) / transition, 0.0, 1.0)
            progress[:, j] = x * x * (3.0 - 2.0 * x)
        else:
            progress[:, j] = (t >= c[j]).astype(np.float64)
    # w_j = p_j * prod_{i > j} (1 - p_i): telescopes to a sum of 1.
    later = np.ones((t.size, k))
    for j in range(k - 2, -1, -1):
        later[:, j] = later[:, j + 1] * (1.0 - progress[:, j + 1])
    return progress * later
