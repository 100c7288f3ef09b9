"""Held-out scores of a style predictor, as training reports them and benchmarks/style.py shows them:
emotion agreement (the style's expression is judged to be the prompt's emotion family), action
agreement (named actions show, negated ones do not) and intensity monotonicity (stronger wording,
stronger expression). Prompts are parsed without the held-out words and idioms
(``splits.heldout_free_lexicon``), so the scores measure the learned part on them.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, INDEX
from talkclip_model.style.actions import action
from talkclip_model.style.dynamics import denormalise_dynamics, normalise_dynamics
from talkclip_model.style.facs import PROTOTYPES, au_vector, family_of
from talkclip_model.style.model import blend
from talkclip_model.style.phrases import parse_prompt
from talkclip_model.style.vocabulary import vocabulary
from talkclip_model.training.corpus import Sample, encoder_texts
from talkclip_model.training.judge import accepted_families, judge_family
from talkclip_model.training.splits import heldout_free_lexicon, heldout_sources
from talkclip_model.types import DYNAMICS

Predict = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]  # encoder texts -> (N, 52) ARKit, (N, 11) dynamics
LADDER_ADVERBS = ("barely", "slightly", "", "very", "extremely")
JUDGED_GRADE = 0.45  # weaker emotion prompts (grade x adverb scale) are not judged
NEGATED_QUIET = ("nod", "shake", "gaze_aversion")  # dynamics a negated motion must hold low


def evaluate(samples: list[Sample], predict: Predict) -> dict:
    """Held-out scores: emotion agreement, action agreement, intensity monotonicity."""
    la, ld = predict(encoder_texts(samples))
    emo_ok = emo_n = act_ok = act_n = 0
    failures = []
    for s, (arkit, dyn) in zip(samples, _final(samples, la, ld)):
        judged = _judged_emotion(s, arkit)
        if judged is not None:
            fams, got = judged
            emo_n += 1
            emo_ok += got in fams
            if got not in fams:
                failures.append(f"emotion: {s.text!r}: want {fams[0]}, got {got}")
        if s.actions or s.negated or s.kind == "negated_emotion":
            ok = _actions_hold(s, arkit, dyn)
            act_n += 1
            act_ok += ok
            if not ok:
                failures.append(f"action: {s.text!r}")
    mono_ok, mono_n, mono_fail = monotonicity(predict)
    return {
        "emotion_accuracy": round(emo_ok / max(emo_n, 1), 4), "emotion_n": emo_n,
        "action_accuracy": round(act_ok / max(act_n, 1), 4), "action_n": act_n,
        "monotonicity": round(mono_ok / max(mono_n, 1), 4), "monotonicity_n": mono_n,
        "failures_sample": (failures + mono_fail)[:400],
    }


def monotonicity(predict: Predict) -> tuple[int, int, list[str]]:
    """Pairs (weaker wording, stronger wording) whose emotion channels must grow."""
    pairs = _monotonicity_pairs()
    all_texts = sorted({t for _, a, b in pairs for t in (a, b)})
    fake = [Sample(t) for t in all_texts]
    la, ld = predict(encoder_texts(fake))
    strength = {s.text: arkit for s, (arkit, _) in zip(fake, _final(fake, la, ld))}
    ok, fails = 0, []
    for p, a, b in pairs:
        ref = au_vector(PROTOTYPES[p][1])
        chans = [i for i, v in enumerate(ref) if v >= 0.1 and i != INDEX["jawOpen"]]
        sa, sb = float(strength[a][chans].sum()), float(strength[b][chans].sum())
        if sb > sa + 1e-3:
            ok += 1
        else:
            fails.append(f"intensity: {a!r} {sa:.3f} !< {b!r} {sb:.3f}")
    return ok, len(pairs), fails


def _monotonicity_pairs() -> list[tuple[str, str, str]]:
    """(prototype, weaker, stronger): one-word emotion words of one prototype graded 0.2+ apart,
    adverb ladders, and a few fixed pairs."""
    words, held = vocabulary().words, heldout_sources()
    by_proto: dict[str, list[tuple[float, str]]] = {}
    for w, (p, g) in words.items():
        if family_of(p) not in (None, "neutral") and " " not in w:
            by_proto.setdefault(p, []).append((g, w))
    pairs = []
    for p, items in by_proto.items():
        items.sort()
        # a held-out word is scored without the lexicon, so it is compared only with another held-out word
        pairs += [(p, f"She is {w1}", f"She is {w2}") for (g1, w1), (g2, w2) in zip(items, items[1:])
                  if g2 - g1 >= 0.2 and (w1 in held) == (w2 in held)]
    for w in ("annoyed", "happy", "sad", "scared", "surprised", "disgusted", "angry", "nervous", "content", "worried"):
        texts = [f"{a} {w}".strip() for a in LADDER_ADVERBS]
        pairs += [(words[w][0], a, b) for a, b in zip(texts, texts[1:])]
    pairs += [("angry", "slightly annoyed", "annoyed"), ("angry", "annoyed", "furious"), ("happy", "content", "happy"),
              ("happy", "happy", "ecstatic"), ("sad", "a bit down", "sad"), ("sad", "sad", "devastated")]
    return pairs


def _final(samples: list[Sample], learned_a, learned_d) -> list[tuple[np.ndarray, np.ndarray]]:
    """The run-time blend of each sample's parse (held-out words unknown) with the learned output."""
    out = []
    for s, a, d in zip(samples, learned_a, learned_d):
        parsed = parse_prompt(s.text, heldout_free_lexicon())
        if not parsed.encoder_text:
            a = np.zeros_like(a)
            d = normalise_dynamics({})
        out.append(blend(parsed, a, d))
    return out


def _judged_emotion(s: Sample, arkit: np.ndarray) -> tuple[tuple[str, ...], str] | None:
    """(accepted families, judged family) of a single-emotion prompt strong enough to judge; else None."""
    if s.kind not in ("emotion", "situation", "neutral") or len(s.emotions) != 1 or s.actions:
        return None
    proto, grade = s.emotions[0]
    fams = accepted_families(proto)
    if not fams or grade * parse_prompt(s.text, heldout_free_lexicon()).scale < JUDGED_GRADE:
        return None
    return fams, judge_family(arkit)


def _main_channels(arkit: np.ndarray, threshold: float = 0.3) -> list[int]:
    return [i for i, v in enumerate(arkit) if v >= threshold and i != INDEX["jawOpen"]]


def _actions_hold(s: Sample, arkit: np.ndarray, dyn: np.ndarray) -> bool:
    """Named actions show, negated ones stay quiet, and a negated emotion is not the one shown."""
    ok = all(_action_shows(name, arkit, dyn) for name in s.actions)
    ok &= all(_negated_action_quiet(name, arkit, dyn) for name in s.negated)
    if s.kind == "negated_emotion":
        word = re.sub(r"^.*(?:not|isn't|never looks) ", "", s.text).replace(" at all", "").strip()
        words = vocabulary().words
        fam = family_of(words[word][0]) if word in words else None
        ok &= fam is None or fam == "neutral" or judge_family(arkit) != fam
    return bool(ok)


def _action_shows(name: str, arkit: np.ndarray, dyn: np.ndarray) -> bool:
    act = action(name)
    names = list(DYNAMICS)
    ok = all(arkit[ch] >= 0.25 for ch in _main_channels(au_vector({}) + np.array([act.arkit.get(n, 0.0) for n in ARKIT_NAMES])))
    for k, v in act.dynamics.items():
        want = normalise_dynamics({k: v})[names.index(k)]
        base = normalise_dynamics({})[names.index(k)]
        ok &= abs(dyn[names.index(k)] - want) <= 0.5 * abs(want - base) + 1e-6
    return bool(ok)


def _negated_action_quiet(name: str, arkit: np.ndarray, dyn: np.ndarray) -> bool:
    act = action(name)
    quiet = ([INDEX[n] for n in act.negation_quiets] if act.negation_quiets is not None
             else _main_channels(np.array([act.arkit.get(n, 0.0) for n in ARKIT_NAMES])))
    ok = all(arkit[ch] <= 0.1 for ch in quiet)
    return ok and all(denormalise_dynamics(dyn)[k] <= 0.1 for k in act.dynamics if k in NEGATED_QUIET)
