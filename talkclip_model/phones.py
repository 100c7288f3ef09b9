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
INTERDENTALS = frozenset({"TH", "DH"})  # the tongue tip between the teeth
NASALS = frozenset({"M", "N", "NG"})
OPEN_VOWELS = frozenset({"AA", "AE", "AW", "AY"})
ROUNDED_VOWELS = frozenset({"UW", "OW", "OY", "UH", "AO"})
SPREAD_VOWELS = frozenset({"IY", "IH", "EY", "EH"})  # the lips widen

# Filler words that are nasal hums: the dictionary spells them with a vowel (um = AH M,
# hmm = HH M) and aligners give the vowel most of the word, but the sound is a closed-lip M.
HUMMED_FILLERS = frozenset({"um", "umm", "uhm", "hm", "hmm", "hmmm", "mm", "mmm", "mhm"})

assert VOWELS <= PHONE_SET and BILABIALS <= PHONE_SET and LABIODENTALS <= PHONE_SET
assert INTERDENTALS <= PHONE_SET and NASALS <= PHONE_SET
assert OPEN_VOWELS <= VOWELS and ROUNDED_VOWELS <= VOWELS and SPREAD_VOWELS <= VOWELS


def normalise(label: str) -> str:
    """A phone label as the inventory spells it (stress digits dropped), or SILENCE."""
    label = label.strip().upper().rstrip("012")
    return label if label in PHONE_SET else SILENCE
