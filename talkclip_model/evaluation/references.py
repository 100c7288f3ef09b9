"""Readers for the reference phone timings we measure against: Praat TextGrid (Montreal Forced
Aligner), PocketSphinx phone JSON and mbrola .pho, each as a ``PhoneTrack`` in stress-free ARPAbet.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from talkclip_model.phones import SILENCE
from talkclip_model.types import PhoneTrack

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


def _reference(phones: list[str], starts: list[float], ends: list[float], duration: float) -> PhoneTrack:
    return PhoneTrack(phones=tuple(phones), starts=np.array(starts, dtype=np.float64),
                      ends=np.array(ends, dtype=np.float64), duration=duration, source="reference")


def read_textgrid(path: str | Path, tier: str = "phones") -> PhoneTrack:
    """Phones from a TextGrid's phone tier (MFA ARPAbet or IPA labels)."""
    items = textgrid_intervals(path, tier)
    return _reference([arpabet(lab) for lab, _, _ in items], [s for _, s, _ in items], [e for _, _, e in items],
                      items[-1][2] if items else 0.0)


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
    return _reference(phones, starts, ends, data["b"] + data["d"])


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
    return _reference(phones, starts, ends, t)
