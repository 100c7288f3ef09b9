"""Lip-accuracy evaluation against reference phone timings (read by ``references.py``): the
per-class checks the benchmarks and tests report, on the mouth measures of ``animate.mouth``
(linear fits of what the ICT FaceKit head shows, so they agree with the mesh judge in
``face_mesh.py``): bilabials seal and hold, open vowels open, rounded vowels round, labiodentals
put the lower lip on the upper teeth with the teeth showing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkclip_model.animate.articulation import openness_target
from talkclip_model.animate.mouth import labiodental_margin, lip_aperture, lip_rounding
from talkclip_model.phones import BILABIALS, LABIODENTALS, OPEN_VOWELS, ROUNDED_VOWELS
from talkclip_model.types import ExpressionTrack, PhoneTrack

# Phone classes checked (ARPAbet, stress-free).
CLASSES: dict[str, frozenset[str]] = {
    "bilabial": BILABIALS,
    "open_vowel": OPEN_VOWELS,
    "rounded_vowel": ROUNDED_VOWELS,
    "labiodental": LABIODENTALS,
}
# Thresholds on the mouth measures below (lip_aperture is in jaw units: jawOpen 1.0 opens 1.0).
CLOSED_APERTURE = 0.02  # sealed: a residual gap of at most 0.7 mm on ICT (the mesh judge allows 0.2 mm)
SEALED_S = 0.055  # a bilabial lands when sealed this long (2 frames at 30 fps, 1 at 24, 3 at 60) ...
HELD_BILABIAL_S = 0.05  # ... if it lasts this long (a shorter one: on 1 frame; the mesh judge skips them)
OPEN_APERTURE = 0.2  # visibly open: 6.6 mm on ICT, 8 mm on the ARKit mesh
ROUNDED = 0.25
MIN_CHECK_DURATION = 0.03  # phones shorter than this are skipped (aligners give 10 ms slivers)

@dataclass
class ClassScore:
    checked: int = 0
    correct: int = 0

    @property
    def rate(self) -> float:
        return self.correct / self.checked if self.checked else float("nan")


def score_lips(track: ExpressionTrack, reference: PhoneTrack) -> dict[str, ClassScore]:
    """Share of reference phones, per class, whose mouth shape is right within the phone.

    A bilabial counts if the lips seal (aperture at most CLOSED_APERTURE) on the frames of
    SEALED_S within the phone widened by one frame each side, as the mesh judge counts (2 frames
    at 30 fps; one frame if the phone is shorter than HELD_BILABIAL_S); an open vowel if the
    aperture exceeds OPEN_APERTURE; a rounded vowel if rounding exceeds ROUNDED; a labiodental
    if on some frame the lower lip reaches the upper incisor edge with the upper teeth showing.
    Frames are sampled at the track fps; phones shorter than one frame are checked at the
    nearest frame.
    """
    frames = track.arkit.astype(np.float64)
    measures = {"bilabial": lip_aperture(frames), "open_vowel": lip_aperture(frames),
                "rounded_vowel": lip_rounding(frames), "labiodental": labiodental_margin(frames)}
    scores = {name: ClassScore() for name in CLASSES}
    n = track.num_frames
    for phone, s, e in zip(reference.phones, reference.starts, reference.ends):
        if e - s < MIN_CHECK_DURATION:
            continue
        for cls, members in CLASSES.items():
            if phone not in members:
                continue
            lo = min(int(np.ceil(s * track.fps - 1e-9)), n - 1)
            hi = max(int(np.floor(e * track.fps + 1e-9)), lo)
            window = measures[cls][lo:min(hi, n - 1) + 1]
            if cls == "bilabial":
                widened = measures[cls][max(lo - 1, 0):min(hi + 1, n - 1) + 1]
                need = max(1, int(SEALED_S * track.fps + 0.5)) if e - s >= HELD_BILABIAL_S - 1e-9 else 1
                ok = np.sum(widened <= CLOSED_APERTURE) >= min(need, len(widened))
            elif cls == "open_vowel":
                ok = window.max() >= OPEN_APERTURE
            elif cls == "rounded_vowel":
                ok = window.max() >= ROUNDED
            else:
                ok = window.max() >= 0.0
            scores[cls].checked += 1
            scores[cls].correct += int(ok)
    return scores


def overall(scores: dict[str, ClassScore]) -> float:
    checked = sum(s.checked for s in scores.values())
    return sum(s.correct for s in scores.values()) / checked if checked else float("nan")


def best_lag(track: ExpressionTrack, reference: PhoneTrack, max_lag: float = 0.2) -> float:
    """Lag (s) maximising correlation of mouth opening with the reference's vowel/consonant
    openness; positive means the animation is late."""
    t = track.times
    target = np.zeros(len(t))
    for p, s, e in zip(reference.phones, reference.starts, reference.ends):
        target[(t >= s) & (t < e)] = openness_target(p)
    ap = lip_aperture(track.arkit.astype(np.float64))
    best, best_r = 0.0, -2.0
    step = 1.0 / track.fps
    for k in range(-int(max_lag / step), int(max_lag / step) + 1):
        a = ap[max(k, 0):len(ap) + min(k, 0)]
        b = target[max(-k, 0):len(target) + min(-k, 0)]
        if len(a) > 2 and a.std() > 0 and b.std() > 0:
            r = float(np.corrcoef(a, b)[0, 1])
            if r > best_r:
                best, best_r = k * step, r
    return best
