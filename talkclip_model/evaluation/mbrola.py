"""Speech with exact phone timings in other languages: espeak-ng writes an mbrola voice's phones
and durations (``.pho``), mbrola renders them, and the ``.pho`` is the truth the lip-accuracy
tests and benchmarks score against. Test time only: the mbrola voices are non-free (Debian
contrib/non-free, no sale) and are never shipped.

Each voice spells its phones in its language's SAMPA; ``truth`` maps them to IPA (the tables
below) and then through the same ``speech/data/ipa.json`` visual column the aligned phones are
relabelled with, so truth and animation are classed alike. espeak-ng 1.51 writes some phones a
voice has no diphones for, which mbrola renders as silence; ``render`` renames those before
mbrola (``REPAIRS``: es1/es2 stressed vowels ``e/``, it3 ``ts2``, the jp voices' ``r`` spelled
``rr``, a geminate stop's first half as a closure), keeping every duration, so the truth stays
exact.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from talkclip_model.phones import SILENCE
from talkclip_model.speech.languages import ipa_pronunciation
from talkclip_model.types import PhoneTrack

MBROLA_DIRS = (Path("/usr/share/mbrola"), Path("/usr/local/share/mbrola"))
# voice name without its number -> language code
VOICE_LANGUAGES = {"us": "en", "en": "en", "de": "de", "fr": "fr", "es": "es", "mx": "es", "vz": "es",
                   "it": "it", "br": "pt-BR", "pt": "pt-PT", "pl": "pl", "nl": "nl", "jp": "ja", "sw": "sv"}

_CONSONANTS = {c: c for c in "p b t d k g m n f v s z l j w h".split()}
# SAMPA (as espeak-ng writes it for the voices of each language) -> IPA; "" is a pause
SAMPA: dict[str, dict[str, str]] = {
    "en": {**_CONSONANTS, "N": "ŋ", "T": "θ", "D": "ð", "S": "ʃ", "Z": "ʒ", "tS": "tʃ", "dZ": "dʒ",
           "r": "ɹ", "r=": "ɚ", "4": "ɾ", "i": "i", "I": "ɪ", "E": "ɛ", "e": "ɛ", "{": "æ", "A": "ɑ", "Q": "ɒ", "V": "ʌ",
           "@": "ə", "u": "u", "U": "ʊ", "O": "ɔ", "o": "oʊ", "@U": "oʊ", "oU": "oʊ", "OI": "ɔɪ", "aI": "aɪ",
           "AI": "aɪ", "eI": "eɪ", "EI": "eɪ", "aU": "aʊ", "AU": "aʊ", "3": "ɚ", "3`": "ɚ", "@`": "ɚ"},
    "de": {**_CONSONANTS, "N": "ŋ", "S": "ʃ", "Z": "ʒ", "C": "ç", "x": "x", "R": "ʁ", "r": "r", "ts": "ts",
           "tS": "tʃ", "dZ": "dʒ", "pf": "pf", "?": "ʔ", "a": "a", "e": "e", "E": "ɛ", "i": "i", "I": "ɪ",
           "o": "o", "O": "ɔ", "u": "u", "U": "ʊ", "y": "y", "Y": "ʏ", "2": "ø", "9": "œ", "@": "ə", "6": "ɐ",
           "aI": "aɪ", "aU": "aʊ", "OY": "ɔʏ"},
    "fr": {**_CONSONANTS, "N": "ŋ", "J": "ɲ", "S": "ʃ", "Z": "ʒ", "R": "ʁ", "r": "ʁ", "H": "ɥ", "a": "a",
           "A": "ɑ", "e": "e", "E": "ɛ", "i": "i", "o": "o", "O": "ɔ", "u": "u", "y": "y", "2": "ø", "9": "œ",
           "@": "ə", "a~": "ɑ̃", "e~": "ɛ̃", "o~": "ɔ̃", "9~": "œ̃"},
    "es": {**_CONSONANTS, "B": "β", "D": "ð", "G": "ɣ", "T": "θ", "x": "x", "H": "x", "J": "ɲ", "L": "ʎ",
           "l^": "ʎ", "tS": "tʃ", "J^": "ʝ", "jj": "ʝ", "r": "ɾ", "rr": "r", "R2": "r", "a": "a", "e": "e",
           "i": "i", "o": "o", "u": "u"},
    "it": {**_CONSONANTS, "ts": "ts", "dz": "dz", "tS": "tʃ", "dZ": "dʒ", "S": "ʃ", "J": "ɲ", "L": "ʎ",
           "N": "ŋ", "r": "r", "rr": "r", "ss": "s", "a": "a", "e": "e", "E": "ɛ", "i": "i", "o": "o", "O": "ɔ", "u": "u"},
    "pt-BR": {**_CONSONANTS, "j": "ʒ", "x": "ʃ", "s2": "s", "nh": "ɲ", "lh": "ʎ", "r": "ɾ", "r2": "ɾ",
              "rr": "x", "a": "a", "@": "ɐ", "am": "ɐ̃", "e": "e", "ee": "ɛ", "em": "ẽ", "i": "i", "im": "ĩ",
              "o": "o", "oo": "ɔ", "om": "õ", "u": "u", "um": "ũ", "y": "j", "w": "w"},
    "pl": {**_CONSONANTS, "I": "ɨ", "e": "ɛ", "E": "ɛ", "a": "a", "o": "ɔ", "u": "u", "i": "i", "e~": "ɛ̃",
           "o~": "ɔ̃", "S": "ʂ", "Z": "ʐ", "s'": "ɕ", "z'": "ʑ", "x": "x", "ts": "ts", "dz": "dz", "tS": "tʂ",
           "dZ": "dʐ", "E#": "ɛ", "ts'": "tɕ", "dz'": "dʑ", "n'": "ɲ", "N": "ŋ", "r": "r", "c": "c", "J": "ɟ"},
    "nl": {**_CONSONANTS, "A": "ɑ", "a": "a", "E": "ɛ", "e": "e", "I": "ɪ", "i": "i", "O": "ɔ", "o": "o",
           "Y": "ʏ", "y": "y", "u": "u", "2": "ø", "@": "ə", "Ei": "ɛɪ", "9y": "œy", "Au": "ʌʊ", "G": "ɣ",
           "x": "x", "w": "ʋ", "r": "r", "L": "l", "S": "ʃ", "Z": "ʒ", "N": "ŋ", "J": "ɲ"},
    "ja": {**_CONSONANTS, "a": "a", "i": "i", "u": "ɯ", "U": "ɯ", "e": "e", "o": "o", "S": "ɕ", "tS": "tɕ",
           "ts": "ts", "dZ": "dʑ", "Z": "ʑ", "c": "ç", "r": "ɾ", "rr": "ɾ", "N": "ɴ", "F": "ɸ"},
    "sv": {**_CONSONANTS, "A": "ɑ", "a": "a", "e": "e", "E": "ɛ", "I": "ɪ", "i": "i", "O": "ɔ", "o": "o",
           "U": "ʊ", "u": "u", "}": "ʉ", "u0": "ɵ", "Y": "ʏ", "y": "y", "2": "ø", "9": "œ", "@": "ə", "C": "ɕ",
           "S": "ɧ", "x": "ɧ", "kh": "k", "ph": "p", "th": "t", "r": "r", "N": "ŋ", "rs": "ʂ", "rt": "ʈ",
           "rd": "ɖ", "rn": "ɳ", "rl": "ɭ"},
}
SAMPA["pt-PT"] = SAMPA["pt-BR"]
# renames that give a voice's missing diphones the diphones of a phone it has (audio only)
REPAIRS: dict[str, dict[str, str]] = {
    "es": {"a/": "a", "e/": "e", "i/": "i", "o/": "o", "u/": "u"},
    "it": {"a/": "a", "e/": "e", "i/": "i", "o/": "o", "u/": "u", "a1": "a", "e1": "e", "E1": "E", "i1": "i",
           "o1": "o", "O1": "O", "u1": "u", "ts2": "ts", "ss": "s"},
    "ja": {"r": "rr", "c": "h", "U": "u"},
    "pl": {"E#": "e"},
}
STOPS = frozenset("p b t d k g".split())


class PhoLine(NamedTuple):
    """One line of a .pho file: the voice's phone, its duration in ms, and the pitch points."""

    label: str
    ms: float
    pitch: str = ""


@dataclass(frozen=True)
class Synthesis:
    """A rendered line: its audio, the truth in visual ARPAbet, and the diphones the voice lacked
    (rendered as silence) after the repairs."""

    wav: Path
    truth: PhoneTrack
    missing: tuple[str, ...]


def voice_language(voice: str) -> str:
    return VOICE_LANGUAGES[re.sub(r"\d+$", "", voice)]


def voice_file(voice: str) -> Path | None:
    for base in MBROLA_DIRS:
        for path in (base / voice / voice, base / voice):
            if path.is_file():
                return path
    return None


def available(voice: str) -> bool:
    """Whether espeak-ng, mbrola and the voice's database are installed."""
    return bool(shutil.which("espeak-ng") and shutil.which("mbrola") and voice_file(voice))


def espeak_pho(text: str, voice: str, rate: int = 150) -> list[PhoLine]:
    """espeak-ng's phones and durations of ``text`` for mbrola ``voice`` at ``rate`` words a minute."""
    out = subprocess.run(["espeak-ng", "-v", f"mb-{voice}", "-s", str(rate), "-q", "--pho", "-b", "1", "--stdin"],
                         input=text.encode("utf-8"), capture_output=True, check=True, timeout=60).stdout
    lines = []
    for line in out.decode("utf-8").splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and not parts[0].startswith(";"):
            lines.append(PhoLine(parts[0], float(parts[1]), parts[2] if len(parts) > 2 else ""))
    return lines


def write_pho(lines: Sequence[PhoLine], path: Path) -> None:
    path.write_text("".join(f"{ln.label}\t{ln.ms:g}\t{ln.pitch}\n" for ln in lines), encoding="utf-8")


def _mbrola(lines: Sequence[PhoLine], voice: str, wav: Path) -> list[tuple[str, str]]:
    """Render ``lines`` to ``wav``; the diphones the voice lacks."""
    with tempfile.TemporaryDirectory() as tmp:
        pho = Path(tmp) / "line.pho"
        write_pho(lines, pho)
        err = subprocess.run(["mbrola", "-e", str(voice_file(voice)), str(pho), str(wav)], capture_output=True,
                             check=True, timeout=60).stderr.decode("utf-8", "replace")
    return re.findall(r"Warning: (\S+)-(\S+) unknown", err)


def _repaired(lines: list[PhoLine], missing: list[tuple[str, str]], renames: dict[str, str]) -> list[PhoLine]:
    involved = {label for pair in missing for label in pair}
    out = [ln._replace(label=renames[ln.label]) if ln.label in involved and ln.label in renames else ln
           for ln in lines]
    doubled = {a for a, b in missing if a == b and a in STOPS}  # a geminate: its first half is a closure
    for i in range(len(out) - 1):
        if out[i].label in doubled and out[i + 1].label == out[i].label:
            out[i] = out[i]._replace(label="_")
    return out


def render(lines: Sequence[PhoLine], voice: str, wav: Path, rounds: int = 3) -> tuple[str, ...]:
    """Render ``lines`` with ``voice`` to ``wav``, renaming phones whose diphones the voice lacks
    (``REPAIRS``, durations unchanged); the diphones still missing."""
    renames = REPAIRS.get(voice_language(voice), {})
    current = list(lines)
    missing = _mbrola(current, voice, wav)
    for _ in range(rounds):
        if not missing:
            break
        repaired = _repaired(current, missing, renames)
        if repaired == current:
            break
        current = repaired
        missing = _mbrola(current, voice, wav)
    return tuple(f"{a}-{b}" for a, b in missing)


def sampa_ipa(label: str, language: str) -> str:
    """The IPA of a voice's phone; "" for a pause. Raises KeyError for a label with no entry."""
    table = SAMPA[language]
    if label in ("_", "#"):
        return ""
    plain = re.sub(r"[/:]|\d$|_\w+$", "", label.lstrip("?"))  # stress, length, X-SAMPA diacritics (k_h)
    for candidate in (label, label.lstrip("?"), plain, plain.lower()):
        if candidate in table:
            return table[candidate]
    raise KeyError(f"{language}: no IPA for the mbrola phone {label!r}")


def truth(lines: Sequence[PhoLine], language: str) -> PhoneTrack:
    """The exact phone timings of a .pho as visual ARPAbet (a phone that maps to several, such
    as ts, shares its duration evenly)."""
    phones, starts, ends = [], [], []
    t = 0.0
    for ln in lines:
        dur = ln.ms / 1000.0
        ipa = sampa_ipa(ln.label, language)
        labels = list(ipa_pronunciation(ipa, language).visual) if ipa else []
        labels = labels or [SILENCE]
        for i, label in enumerate(labels):
            if dur > 0:
                phones.append(label)
                starts.append(t + dur * i / len(labels))
                ends.append(t + dur * (i + 1) / len(labels))
        t += dur
    return PhoneTrack(phones=tuple(phones), starts=np.array(starts), ends=np.array(ends), duration=t,
                      source="reference")


def synthesize(text: str, voice: str, wav: Path, rate: int = 150) -> Synthesis:
    """``text`` read by mbrola ``voice`` into ``wav``, with its truth."""
    lines = espeak_pho(text, voice, rate)
    missing = render(lines, voice, wav)
    return Synthesis(Path(wav), truth(lines, voice_language(voice)), missing)


def start_errors(track: PhoneTrack, reference: PhoneTrack) -> tuple[list[float], int]:
    """|start difference| in seconds of the reference phones an edit-distance alignment of the
    two spoken phone sequences pairs with a phone of the same label; and how many reference
    phones there are."""
    a, b = track.spoken(), reference.spoken()
    n, m = len(a.phones), len(b.phones)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0], cost[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = a.phones[i - 1] == b.phones[j - 1]
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + (0 if same else 1))
    errors, i, j = [], n, m
    while i > 0 and j > 0:
        same = a.phones[i - 1] == b.phones[j - 1]
        if cost[i, j] == cost[i - 1, j - 1] + (0 if same else 1):
            if same:
                errors.append(abs(float(a.starts[i - 1]) - float(b.starts[j - 1])))
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return errors[::-1], m
