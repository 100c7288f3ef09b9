"""Lip-accuracy evaluation against reference phone timings.

Readers for the reference formats we measure against (Praat TextGrid from the Montreal Forced
Aligner, PocketSphinx phone JSON, mbrola .pho), mouth-shape measures on ARKit frames, and the
per-class checks the benchmarks and tests report: bilabials close, open vowels open, rounded
vowels round, labiodentals tuck the lower lip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arkit import INDEX
from .types import SILENCE, ExpressionTrack, PhoneTrack

# Phone classes checked (ARPAbet, stress-free).
CLASSES: dict[str, frozenset[str]] = {
    "bilabial": frozenset({"P", "B", "M"}),
    "open_vowel": frozenset({"AA", "AE", "AW", "AY"}),
    "rounded_vowel": frozenset({"UW", "OW", "OY", "UH", "AO"}),
    "labiodental": frozenset({"F", "V"}),
}
# Thresholds on the mouth measures below (ARKit weights are 0..1).
CLOSED_APERTURE = 0.08
OPEN_APERTURE = 0.25
ROUNDED = 0.25
LIP_TUCK = 0.2
MIN_CHECK_DURATION = 0.03  # phones shorter than this are skipped (aligners give 10 ms slivers)

_IPA_TO_ARPABET = {
    "p": "P", "b": "B", "m": "M", "mʲ": "M", "f": "F", "v": "V", "ɑ": "AA", "a": "AA", "æ": "AE",
    "aw": "AW", "aj": "AY", "u": "UW", "uː": "UW", "ʉ": "UW", "ʉː": "UW", "ow": "OW", "əw": "OW", "ɔj": "OY",
    "ʊ": "UH", "ɔ": "AO", "ɒ": "AA", "i": "IY", "iː": "IY", "ɪ": "IH", "ɛ": "EH", "e": "EH", "ej": "EY",
    "ə": "AH", "ʌ": "AH", "ɝ": "ER", "ɚ": "ER", "t": "T", "tʰ": "T", "d": "D", "k": "K", "kʰ": "K",
    "ɡ": "G", "g": "G", "n": "N", "ŋ": "NG", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "θ": "TH",
    "ð": "DH", "h": "HH", "l": "L", "ɫ": "L", "ɹ": "R", "j": "Y", "w": "W", "tʃ": "CH", "dʒ": "JH",
    "pʰ": "P", "tʲ": "T", "dʲ": "D", "ɾ": "D", "ʔ": "T", "cʰ": "K", "c": "K", "ɟ": "G", "ʎ": "L",
    "ɲ": "N", "fʲ": "F", "vʲ": "V", "bʲ": "B", "pʲ": "P", "ç": "HH", "ɐ": "AH",
}


def arpabet(label: str) -> str:
    """Reference label -> stress-free ARPAbet (SIL for pauses and noise)."""
    label = label.strip()
    if not label or label.lower() in {"sil", "sp", "spn", "<sil>", "silence"}:
        return SILENCE
    plain = re.sub(r"\d$", "", label)
    if plain.isascii() and plain.upper() == plain and plain.isalpha():
        return plain
    return _IPA_TO_ARPABET.get(label, SILENCE)


def textgrid_intervals(path: str | Path, tier: str) -> list[tuple[str, float, float]]:
    """(label, start, end) of one interval tier of a Praat TextGrid (long or short text format)."""
    text = Path(path).read_text(encoding="utf-8")
    tokens = re.findall(r'"((?:[^"]|"")*)"|([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)', text)
    flat = [s.replace('""', '"') if s or not n else n for s, n in tokens]
    # ... "IntervalTier" "name" xmin xmax n (xmin xmax "label")*n
    for i in range(len(flat) - 4):
        if flat[i] == "IntervalTier" and flat[i + 1] == tier:
            count, j = int(float(flat[i + 4])), i + 5
            return [(flat[j + 3 * k + 2], float(flat[j + 3 * k]), float(flat[j + 3 * k + 1])) for k in range(count)]
    raise ValueError(f"{path}: no interval tier named {tier!r}")


def read_textgrid(path: str | Path, tier: str = "phones") -> PhoneTrack:
    """Phones from a TextGrid's phone tier (MFA ARPAbet or IPA labels)."""
    items = textgrid_intervals(path, tier)
    return PhoneTrack(phones=[arpabet(lab) for lab, _, _ in items], starts=[s for _, s, _ in items],
                      ends=[e for _, _, e in items], duration=items[-1][2] if items else 0.0, source="reference")


def textgrid_transcript(path: str | Path, tier: str = "words") -> str:
    """The words actually aligned in a TextGrid, as a transcript."""
    return " ".join(lab for lab, _, _ in textgrid_intervals(path, tier) if lab.strip())


def read_phone_json(path: str | Path) -> PhoneTrack:
    """Phones from a PocketSphinx ``.phone.json`` alignment."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    phones, starts, ends = [], [], []
    for word in data["w"]:
        for p in word["w"]:
            phones.append(arpabet(p["t"])); starts.append(p["b"]); ends.append(p["b"] + p["d"])
    return PhoneTrack(phones=phones, starts=starts, ends=ends, duration=data["b"] + data["d"], source="reference")


# mbrola SAMPA (en1/us1/us2 voices) -> ARPAbet
_SAMPA_TO_ARPABET = {
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "m": "M", "n": "N", "N": "NG",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "h": "HH",
    "tS": "CH", "dZ": "JH", "l": "L", "r": "R", "r=": "ER", "w": "W", "j": "Y", "i": "IY", "I": "IH",
    "E": "EH", "{": "AE", "A": "AA", "V": "AH", "@": "AH", "@U": "OW", "u": "UW", "U": "UH",
    "O": "AO", "OI": "OY", "aI": "AY", "AI": "AY", "eI": "EY", "EI": "EY", "aU": "AW", "AU": "AW",
    "3": "ER", "3`": "ER", "Q": "AA", "i:": "IY", "u:": "UW", "O:": "AO", "A:": "AA", "3:": "ER",
    "@`": "ER", "oU": "OW", "e": "EH", "o": "OW", "_": SILENCE, "#": SILENCE,
}


def read_pho(path: str | Path) -> PhoneTrack:
    """Exact phone timings from an mbrola ``.pho`` file (phone, duration in ms, pitch points)."""
    phones, starts, ends = [], [], []
    t = 0.0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(";"):
            continue
        dur = float(parts[1]) / 1000.0
        label = _SAMPA_TO_ARPABET.get(parts[0], SILENCE)
        if dur > 0:
            phones.append(label); starts.append(t); ends.append(t + dur)
        t += dur
    return PhoneTrack(phones=phones, starts=starts, ends=ends, duration=t, source="reference")


# --- mouth measures -----------------------------------------------------------------------

def _ch(frames: np.ndarray, *names: str) -> np.ndarray:
    return sum(frames[..., INDEX[n]] for n in names)


def lip_aperture(frames: np.ndarray) -> np.ndarray:
    """How far apart the lips are (0 closed .. ~1 wide open), from ARKit weights (T, 52).

    In ARKit, mouthClose closes the lips against an open jaw; lips part with the jaw and with
    the lower lip pulled down / upper lip raised; press and roll seal them.
    """
    jaw = _ch(frames, "jawOpen")
    part = 0.5 * (_ch(frames, "mouthLowerDownLeft", "mouthLowerDownRight")
                  + _ch(frames, "mouthUpperUpLeft", "mouthUpperUpRight")) * 0.5
    seal = _ch(frames, "mouthClose") + 0.5 * _ch(frames, "mouthPressLeft", "mouthPressRight") * 0.5 \
        + 0.5 * _ch(frames, "mouthRollLower", "mouthRollUpper") * 0.5
    return np.clip(jaw + part - seal, 0.0, None)


def lip_rounding(frames: np.ndarray) -> np.ndarray:
    return _ch(frames, "mouthPucker") + _ch(frames, "mouthFunnel")


def lip_tuck(frames: np.ndarray) -> np.ndarray:
    """Lower lip drawn in toward the upper teeth (f/v)."""
    return _ch(frames, "mouthRollLower") + 0.5 * _ch(frames, "mouthUpperUpLeft", "mouthUpperUpRight") * 0.5


@dataclass
class ClassScore:
    checked: int = 0
    correct: int = 0

    @property
    def rate(self) -> float:
        return self.correct / self.checked if self.checked else float("nan")


def score_lips(track: ExpressionTrack, reference: PhoneTrack) -> dict[str, ClassScore]:
    """Share of reference phones, per class, whose mouth shape is right within the phone.

    A bilabial counts if the lips close (aperture under CLOSED_APERTURE) at some frame inside
    the phone; an open vowel if the aperture exceeds OPEN_APERTURE; a rounded vowel if rounding
    exceeds ROUNDED; a labiodental if the lower lip tucks. Frames are sampled at the track fps;
    phones shorter than one frame are checked at the nearest frame.
    """
    frames = track.arkit.astype(np.float64)
    measures = {"bilabial": lip_aperture(frames), "open_vowel": lip_aperture(frames),
                "rounded_vowel": lip_rounding(frames), "labiodental": lip_tuck(frames)}
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
                ok = window.min() <= CLOSED_APERTURE
            elif cls == "open_vowel":
                ok = window.max() >= OPEN_APERTURE
            elif cls == "rounded_vowel":
                ok = window.max() >= ROUNDED
            else:
                ok = window.max() >= LIP_TUCK
            scores[cls].checked += 1
            scores[cls].correct += int(ok)
    return scores


def overall(scores: dict[str, ClassScore]) -> float:
    checked = sum(s.checked for s in scores.values())
    return sum(s.correct for s in scores.values()) / checked if checked else float("nan")


def best_lag(track: ExpressionTrack, reference: PhoneTrack, max_lag: float = 0.2) -> float:
    """Lag (s) maximising correlation of mouth opening with the reference's vowel/consonant
    openness; positive means the animation is late."""
    from .articulation import openness_target

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
