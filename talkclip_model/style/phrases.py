"""The explicit half of the style model: a documented phrase parser.

Sentence embeddings are good at the gestalt of a prompt (emotions, situations, idioms) and bad
at three things this parser handles instead:

* named facial actions ("nose wrinkled", "brows knitted", "lopsided smirk") -> ARKit channels,
  and named motion ("nodding", "looking down", "mumbling") -> dynamics (``actions.py``);
* negation ("not smiling", "without frowning"): the negated span is removed from the text the
  encoder reads and its channels are held quiet;
* intensity adverbs (barely < slightly < somewhat < - < very < extremely < absolutely): removed
  from the encoder text and applied as an exact scale, so stronger wording is always stronger;
  next to or inside a named action ("brows slightly lowered") they grade that action only;
* conflicts between what the prompt names (``_conflicts``): lowered brows do not rise in the
  middle unless asked, a named nod or shake is not stilled by "calm".

``parse_prompt`` runs a fixed list of passes over the prompt (``_PASSES``); each fills in its part
of the ``ParsedPrompt`` and returns the spans the encoder must not read. ``model.StyleModel``
blends the result with the adapter.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np

from talkclip_model.arkit import INDEX, NUM_CHANNELS
from talkclip_model.style.actions import QUIET_SCALE, Action, compiled_actions, mirror
from talkclip_model.style.facs import PROTOTYPES, au_vector
from talkclip_model.style.lexicon import Lexicon, default_lexicon
from talkclip_model.style.vocabulary import tokens, vocabulary
from talkclip_model.types import DYNAMICS

Span = tuple[int, int]

MAX_SCALE = 1.7
SOFT_NEGATION_SCALE = 0.4
NEGATION_WINDOW = 30  # characters before a phrase searched for a negator
NEGATED_EMOTION_QUIET = 0.2  # a negated emotion's channels keep at most this share
NOT_HAPPY = ("disappointed", 0.45)  # "not happy" reads as mildly let down, not as blank
NOT_CALM = ("nervous", 0.6)  # "anything but calm"
# Lowered brows (anger named, or an action that lowers them) keep the inner brows at most this high unless the
# prompt asks for raised inner brows (an action) or names an emotion whose prototype raises them (AU1 >= 0.3):
# AU1 with AU4 reads as worry, not as fury.
INNER_BROW_WITH_LOWERED_MAX = 0.1
BROWS_LOWERED_BY_ACTION = 0.5  # an action setting browDown at least this high lowers the brows
INNER_BROW_EMOTION_AU1 = 0.3  # a named emotion whose prototype has AU1 at least this high may raise the inner brows
# A named nod or shake keeps at least this head-motion energy when "calm"/"still" is named too: the gesture wins.
GESTURE_HEAD_MOTION = 1.0
# A negated motion falls back to the DYNAMICS default of these (pose, gaze, nod, shake, articulation);
# energy (head_motion, expressiveness, blink_rate) keeps what the rest of the prompt says.
RESET_WHEN_NEGATED = ("articulation", "head_pitch", "head_yaw", "head_roll", "nod", "shake", "gaze_aversion", "gaze_pitch")
# Nouns of small gestures and sounds: "a little sniff" is a small sniff, not a weaker style.
_GESTURE_NOUNS = {"sniff", "sigh", "shrug", "nod", "pause", "cough", "wave", "snort", "huff", "gasp", "groan", "grunt", "wince",
                  "shake", "tilt", "glance", "smile", "frown", "laugh", "chuckle", "giggle", "smirk", "wink", "sneer", "pout", "scowl"}

_SOFT_NEGATION_RE = re.compile(r"\bnot (?:very|too|that|so|particularly|overly|terribly|all that|especially)\b", re.IGNORECASE)
_NEGATOR_RE = re.compile(r"\b(?:far from|anything but|rather than|instead of|as opposed to|hardly|scarcely|not|no|never|without|neither|nor|isn't|aren't|wasn't|weren't|doesn't|don't|didn't|won't|"
                         r"can't|cannot|stops?|stopped|free of|lacks?|lacking|zero|none of)\b|n't\b", re.IGNORECASE)
_CLAUSE_BREAK_RE = re.compile(r"[,;.!?:]|\bbut\b|\band\b|\byet\b|\bwhile\b|\bthough\b|\binstead\b", re.IGNORECASE)
_AFFIRMING_RE = re.compile(r"(?:(?:can't|cannot|can not|couldn't|could not|won't|wouldn't) (?:stop|help)\b|"
                           r"(?:never|not) (?:(?:have|has|had|ever|before) )*(?:been|felt|looked|seemed|sounded|be|seen \w+) (?:so|this|more|as)\b|"
                           r"(?:couldn't|could not|can't) be \w+er\b)",
                           re.IGNORECASE)
_FILLER_RE = re.compile(r"\bat all\b|\bwhatsoever\b", re.IGNORECASE)
_RIGHT_RE = re.compile(r"\bright\b")


@dataclass
class ParsedPrompt:
    text: str  # the prompt as given (cleaned)
    encoder_text: str  # what the sentence encoder reads: negated spans and intensity words removed
    scale: float = 1.0  # global intensity from adverbs
    arkit: np.ndarray = field(default_factory=lambda: np.zeros(NUM_CHANNELS, dtype=np.float32))  # (52,) named actions
    arkit_set: np.ndarray = field(default_factory=lambda: np.zeros(NUM_CHANNELS, dtype=bool))  # which channels they name
    arkit_exact: np.ndarray = field(default_factory=lambda: np.zeros(NUM_CHANNELS, dtype=bool))  # weakened by a word: exact
    ceiling: np.ndarray = field(default_factory=lambda: np.full(NUM_CHANNELS, np.inf, dtype=np.float32))  # (52,) conflict caps
    quiet: np.ndarray = field(default_factory=lambda: np.ones(NUM_CHANNELS, dtype=np.float32))  # (52,) multipliers
    dynamics: dict[str, float] = field(default_factory=dict)  # explicit dynamics values
    damp: float = 1.0
    actions: list[str] = field(default_factory=list)  # names of named actions, "-name" when negated
    negated_emotions: list[str] = field(default_factory=list)
    emotions: list[tuple[str, float]] = field(default_factory=list)  # (prototype, grade) of emotion words named


def parse_prompt(prompt: str, lexicon: Lexicon | None = None) -> ParsedPrompt:
    """Split a prompt into what the encoder reads and the explicit parts (see module doc).

    ``lexicon``: the emotion lexicon to match (default: all of the vocabulary; evaluation passes
    one without the held-out words and idioms, to score the learned part on them).
    """
    text = " ".join(prompt.split())
    state = _Prompt(text.lower(), lexicon if lexicon is not None else default_lexicon())
    out = ParsedPrompt(text=text, encoder_text=text)
    removed = [span for step in _PASSES for span in step(state, out)]
    out.encoder_text = _encoder_text(text, removed)
    return out


@dataclass
class _Prompt:
    """One prompt (lower case) while it is parsed, with the spans earlier passes found."""

    low: str
    lexicon: Lexicon
    soft: list[Span] = field(default_factory=list)  # soft negations: "not very"
    action_spans: list[Span] = field(default_factory=list)  # named actions, negated ones included

    def negated(self, start: int) -> bool:
        """A negator shortly before ``start``, in the same clause, not part of a soft negation."""
        if any(s <= start - k < e for s, e in self.soft for k in (1, 2)):
            return False
        return _is_negated(self.low, start)


# --- the passes, in order ------------------------------------------------------------------------

def _soft_negations(p: _Prompt, out: ParsedPrompt) -> list[Span]:
    """Soft negations ("not very happy"): a weak "happy", not its negation (``_intensity`` scales it)."""
    p.soft = [m.span() for m in _SOFT_NEGATION_RE.finditer(p.low)]
    return list(p.soft)


def _actions(p: _Prompt, out: ParsedPrompt) -> list[Span]:
    """Named actions in table order; a matched span is closed to later patterns."""
    work = list(p.low)
    removed = []
    for action, rx in compiled_actions():
        for m in rx.finditer("".join(work)):
            s, e = m.span()
            p.action_spans.append((s, e))
            work[s:e] = " " * (e - s)
            if not action.self_negating and p.negated(s):
                _negate_action(out, action)
                removed.append((_negation_start(p.low, s), e))
            else:
                _apply_action(out, action, p.low, m, rx)
    return removed


def _emotions(p: _Prompt, out: ParsedPrompt) -> list[Span]:
    """Emotion words, nouns, idioms and situations. Negated ones leave the encoder text and hold
    their channels quiet; the others join the blend at their grade. A word inside a named action
    ("worried brows") is the action's."""
    removed = []
    for s, e, entry in p.lexicon.matches(p.low):
        if any(a <= s and e <= b for a, b in p.action_spans):
            continue
        if p.negated(s):
            out.negated_emotions.append(entry.prototype)
            removed.append((_negation_start(p.low, s), e))
            _quiet_prototype(out, entry.prototype)
        elif not entry.ambiguous:
            out.emotions.append((entry.prototype, entry.grade))
    return removed


def _gestures(p: _Prompt, out: ParsedPrompt) -> list[Span]:
    """Expression words that carry an emotion too: "a sneering villain" (the action is named above)."""
    for rx, proto_grade in _tables().gestures:
        out.emotions += [proto_grade for m in rx.finditer(p.low) if not p.negated(m.start())]
    return []


def _negated_only(p: _Prompt, out: ParsedPrompt) -> list[Span]:
    """A prompt that only negates an emotion still means something: "not happy" is let down."""
    if not out.emotions and any(PROTOTYPES[x][0] == "happy" for x in out.negated_emotions):
        out.emotions.append(NOT_HAPPY)
    elif not out.emotions and any(x in ("calm", "neutral") for x in out.negated_emotions):
        out.emotions.append(NOT_CALM)
    return []


def _intensity(p: _Prompt, out: ParsedPrompt) -> list[Span]:
    """Intensity words: one right before/after a named action scaled that action (``_actions``);
    any other scales the whole style. All leave the encoder text."""
    tables = _tables()
    removed, scales = [], []
    for m in tables.intensifier_re.finditer(p.low):
        if p.low.startswith(" than", m.end()):
            continue  # "uneasy rather than annoyed": a negation, not an intensity
        removed.append(m.span())
        if _scales_the_style(p, m):
            scales.append(tables.intensifiers[m.group(1).lower()])
    if p.soft:
        scales.append(SOFT_NEGATION_SCALE)
    if scales:
        out.scale = min(MAX_SCALE, float(np.prod(scales[:2])))
    return removed


def _conflicts(p: _Prompt, out: ParsedPrompt) -> list[Span]:
    """Explicit rules for what the named parts would otherwise fight over (documented in docs/style.md).

    1. Lowered brows (an anger-family emotion named, or an action that lowers the brows) hold the inner
       brows at ``INNER_BROW_WITH_LOWERED_MAX`` (or the action's own trace of AU1), unless an action
       raises the inner brows or a named emotion's prototype does (sad, fear, surprise: AU1 + AU4 is
       their brow): "a furious man, brows knitted" must not read as worried.
    2. A named nod or shake keeps at least ``GESTURE_HEAD_MOTION`` head energy: "calm, nodding along"
       nods visibly; "calm" still quiets the face and the expressiveness.
    """
    i = INDEX["browInnerUp"]
    anger = any(PROTOTYPES[name][0] == "angry" for name, _ in out.emotions)
    lowered = anger or float(out.arkit[INDEX["browDownLeft"]]) >= BROWS_LOWERED_BY_ACTION
    asked = bool(out.arkit_set[i]) and float(out.arkit[i]) >= 0.5
    raised = any(PROTOTYPES[name][1].get("1", 0.0) >= INNER_BROW_EMOTION_AU1 for name, _ in out.emotions)
    if lowered and not asked and not raised:
        out.ceiling[i] = min(out.ceiling[i], max(INNER_BROW_WITH_LOWERED_MAX, float(out.arkit[i])))
    if {"nod", "shake"} & set(out.actions) and out.dynamics.get("head_motion", GESTURE_HEAD_MOTION) < GESTURE_HEAD_MOTION:
        out.dynamics["head_motion"] = GESTURE_HEAD_MOTION
    return []


_PASSES = (_soft_negations, _actions, _emotions, _gestures, _negated_only, _intensity, _conflicts)


# --- what the passes share -------------------------------------------------------------------------

def _apply_action(out: ParsedPrompt, action: Action, low: str, m: re.Match, rx: re.Pattern) -> None:
    out.actions.append(action.name)
    s, e = m.span()
    f = _local_scale(low, s, e, m.group(0), rx)
    f = 1.0 if f is None else (1.0 - (1.0 - f) * action.weaken if f < 1.0 else f)
    side = mirror if action.sided and _RIGHT_RE.search(low[s:e]) else _same_side
    for name, v in action.arkit.items():
        i = INDEX[side(name)]
        out.arkit[i] = max(out.arkit[i], v * f)  # may pass 1.0: the blend's soft ceiling keeps the order
        out.arkit_set[i] = True
        out.arkit_exact[i] |= f < 1.0  # "a slight smile" must stay slight
    for name in action.quiets:
        i = INDEX[side(name)]
        out.quiet[i] = min(out.quiet[i], QUIET_SCALE)
    out.dynamics.update(action.dynamics)
    out.damp = min(out.damp, action.damp)


def _negate_action(out: ParsedPrompt, action: Action) -> None:
    out.actions.append("-" + action.name)
    quiet = action.negation_quiets
    if quiet is None:
        quiet = tuple(n for n, v in action.arkit.items() if v >= 0.3 and n != "jawOpen")
    for name in quiet:
        out.quiet[INDEX[name]] = 0.0
    for k in action.dynamics:
        if k in RESET_WHEN_NEGATED:
            out.dynamics[k] = DYNAMICS[k][0]


def _quiet_prototype(out: ParsedPrompt, prototype: str) -> None:
    held = au_vector(PROTOTYPES[prototype][1]) >= 0.15
    held[INDEX["jawOpen"]] = False
    out.quiet[held] = np.minimum(out.quiet[held], NEGATED_EMOTION_QUIET)


def _same_side(name: str) -> str:
    return name


def _is_negated(text: str, start: int) -> bool:
    window = text[max(0, start - NEGATION_WINDOW):start]
    neg = None
    for m in _NEGATOR_RE.finditer(window):
        neg = m
    if neg is None:
        return False
    if any(m.end() >= neg.end() for m in _AFFIRMING_RE.finditer(window)):
        return False  # "can't stop grinning", "never been so alarmed", "couldn't be happier"
    return not _CLAUSE_BREAK_RE.search(window[neg.end():])


def _negation_start(text: str, start: int) -> int:
    window_start = max(0, start - NEGATION_WINDOW)
    last = None
    for m in _NEGATOR_RE.finditer(text[window_start:start]):
        last = m
    return window_start + last.start() if last else start


def _local_scale(text: str, start: int, end: int, phrase: str = "", action_rx: re.Pattern | None = None) -> float | None:
    """A degree word inside the phrase where the phrase reads the same without it ("brows slightly
    lowered"), else right before it (two words) or right after it (one word)."""
    tables = _tables()
    graders = ((tables.intensifier_re, tables.intensifiers), (tables.adjective_re, tables.adjectives))
    if action_rx is not None:
        for rx, table in graders:
            for m in rx.finditer(phrase):
                if action_rx.fullmatch(" ".join((phrase[:m.start()] + phrase[m.end():]).split())):
                    return table[m.group(1).lower()]
    before = text[max(0, start - 25):start]
    after = text[end:end + 16]
    for rx, table in graders:
        m_before = [m for m in rx.finditer(before) if not re.search(r"[,;.]", before[m.end():])]
        if m_before and len(before[m_before[-1].end():].split()) <= 2:
            return table[m_before[-1].group(1).lower()]
    m_after = tables.intensifier_re.match(after.lstrip())
    if m_after:
        return tables.intensifiers[m_after.group(1).lower()]
    return None


def _scales_the_style(p: _Prompt, m: re.Match) -> bool:
    """Whether an intensity word is global: not inside a soft negation or an action phrase, not
    local to a named action (unless an emotion word follows it), not grading a gesture noun."""
    if any(s <= m.start() < e for s, e in p.soft + p.action_spans):
        return False
    if not _near_emotion(p.low, m.end()) and any(_is_local(p.low, m, s, e) for s, e in p.action_spans):
        return False
    return next((t for _, _, t in tokens(p.low[m.end():m.end() + 20])), "") not in _GESTURE_NOUNS  # "a little sniff"


def _is_local(low: str, m: re.Match, start: int, end: int) -> bool:
    if m.end() <= start:
        gap = low[m.end():start]
        return len(gap.split()) <= 2 and not re.search(r"[,;.]", gap)
    if m.start() >= end:
        gap = low[end:m.start()]
        return not gap.strip()
    return False


def _near_emotion(low: str, pos: int) -> bool:
    """An emotion word (or a word the encoder must read: held-out ones too) follows within two words."""
    nxt = [t for _, _, t in tokens(low[pos:pos + 30])[:2]]
    full = default_lexicon()
    return any((t,) in full for t in nxt) or tuple(nxt) in full


def _encoder_text(text: str, removed: list[Span]) -> str:
    keep = list(text)
    for s, e in removed:
        keep[s:e] = " " * (e - s)
    return " ".join(_FILLER_RE.sub(" ", "".join(keep)).split()).strip(" ,;")


# --- tables read from the vocabulary, compiled on first use ----------------------------------------

@dataclass(frozen=True)
class _Tables:
    intensifiers: dict[str, float]  # global intensity words
    intensifier_re: re.Pattern
    adjectives: dict[str, float]  # adjectives that grade a named action ("a slight smile"); never global
    adjective_re: re.Pattern
    gestures: tuple[tuple[re.Pattern, tuple[str, float]], ...]


@functools.cache
def _tables() -> _Tables:
    vocab = vocabulary()
    return _Tables(vocab.intensifiers, _longest_first(vocab.intensifiers), vocab.action_adjectives,
                   _longest_first(vocab.action_adjectives),
                   tuple((re.compile(rf"\b(?:{rx})\b", re.IGNORECASE), pg) for rx, pg in vocab.gestures.items()))


def _longest_first(phrases: dict[str, float]) -> re.Pattern:
    """One regex matching any of the phrases as whole words, longer phrases first."""
    return re.compile(r"\b(" + "|".join(sorted((re.escape(k) for k in phrases), key=len, reverse=True)) + r")\b", re.IGNORECASE)
