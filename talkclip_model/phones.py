"""The phone inventory: stress-free ARPAbet as the en-us acoustic model spells it, plus the
pause label, and the classes the animation and its checks are built on. One owner, as
``arkit.py`` owns the 52 channel names. Other languages map their phones onto these.
"""

from __future__ import annotations

SILENCE = "SIL"  # pauses, noise and anything the inventory lacks

PHONES: tuple[str, ...] = tuple(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH "
    "UH UW V W Y Z ZH".split()
)
PHONE_SET = frozenset(PHONES)

VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
BILABIALS = frozenset({"P", "B", "M"})  # the lips meet
LABIODENTALS = frozenset({"F", "V"})  # the lower lip meets the upper teeth
OPEN_VOWELS = frozenset({"AA", "AE", "AW", "AY"})
ROUNDED_VOWELS = frozenset({"UW", "OW", "OY", "UH", "AO"})

assert VOWELS <= PHONE_SET and BILABIALS <= PHONE_SET and LABIODENTALS <= PHONE_SET
assert OPEN_VOWELS <= VOWELS and ROUNDED_VOWELS <= VOWELS


def normalise(label: str) -> str:
    """A phone label as the inventory spells it (stress digits dropped), or SILENCE."""
    label = label.strip().upper().rstrip("012")
    return label if label in PHONE_SET else SILENCE
