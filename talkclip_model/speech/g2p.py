"""Transcript clean-up and a spelling-based pronunciation guess for words missing from cmudict.

The guess only has to be good enough for forced alignment to place the word's phones; the
pipeline says which words it guessed.
"""

from __future__ import annotations

import re
import unicodedata

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> list[str]:
    """English words for 0 <= n < 10**9."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + (number_words(n % 10) if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (number_words(n % 100) if n % 100 else [])
    for size, name in ((10**6, "million"), (1000, "thousand")):
        if n >= size:
            return number_words(n // size) + [name] + (number_words(n % size) if n % size else [])
    return [str(n)]


def normalise_transcript(text: str) -> list[str]:
    """Lower-case words as cmudict spells them: digits spelled out, punctuation dropped."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    # annotations such as [laughter], <unk>, {noise} are not spoken words
    text = re.sub(r"\[[^\]]*\]|<[^>]*>|\{[^}]*\}", " ", text)
    text = text.replace("&", " and ").replace("%", " percent ")
    words: list[str] = []
    for token in re.findall(r"[a-z]+(?:'[a-z]+)*|\d+", text):
        if token.isdigit():
            words += number_words(int(token)) if len(token) < 10 else [_ONES[int(d)] for d in token]
        else:
            words.append(token)
    return words


# Letter-to-sound rules, longest match first. Deliberately simple: used for names and made-up words.
_RULES = [
    ("tion", ["SH", "AH", "N"]), ("sion", ["ZH", "AH", "N"]), ("ough", ["AO"]), ("augh", ["AO"]),
    ("igh", ["AY"]), ("tch", ["CH"]), ("dge", ["JH"]), ("que", ["K"]),
    ("ch", ["CH"]), ("sh", ["SH"]), ("th", ["TH"]), ("ph", ["F"]), ("wh", ["W"]), ("ck", ["K"]),
    ("ng", ["NG"]), ("qu", ["K", "W"]), ("kn", ["N"]), ("wr", ["R"]), ("gh", ["G"]),
    ("ee", ["IY"]), ("ea", ["IY"]), ("oo", ["UW"]), ("ai", ["EY"]), ("ay", ["EY"]), ("ei", ["EY"]),
    ("ey", ["EY"]), ("oa", ["OW"]), ("ow", ["OW"]), ("ou", ["AW"]), ("oi", ["OY"]), ("oy", ["OY"]),
    ("au", ["AO"]), ("aw", ["AO"]), ("ie", ["IY"]), ("ue", ["UW"]), ("ew", ["UW"]), ("er", ["ER"]),
    ("ir", ["ER"]), ("ur", ["ER"]), ("ar", ["AA", "R"]), ("or", ["AO", "R"]),
    ("a", ["AE"]), ("b", ["B"]), ("c", ["K"]), ("d", ["D"]), ("e", ["EH"]), ("f", ["F"]), ("g", ["G"]),
    ("h", ["HH"]), ("i", ["IH"]), ("j", ["JH"]), ("k", ["K"]), ("l", ["L"]), ("m", ["M"]), ("n", ["N"]),
    ("o", ["AA"]), ("p", ["P"]), ("q", ["K"]), ("r", ["R"]), ("s", ["S"]), ("t", ["T"]), ("u", ["AH"]),
    ("v", ["V"]), ("w", ["W"]), ("x", ["K", "S"]), ("y", ["Y"]), ("z", ["Z"]),
]


def guess_pronunciation(word: str) -> list[str]:
    """ARPAbet phones for ``word`` from its spelling (empty if it has no letters)."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return []
    if len(w) > 2 and w.endswith("e") and w[-2] not in "aeiouy":
        w = w[:-1]  # silent final e
    phones: list[str] = []
    i = 0
    while i < len(w):
        if w[i] == "c" and i + 1 < len(w) and w[i + 1] in "eiy":
            phones.append("S"); i += 1; continue
        if w[i] == "y" and i > 0:
            phones.append("IY" if i == len(w) - 1 else "IH"); i += 1; continue
        for letters, ph in _RULES:
            if w.startswith(letters, i):
                if not (phones and phones[-1] == ph[0] and len(ph) == 1):  # doubled consonants
                    phones += ph
                i += len(letters)
                break
    return phones
