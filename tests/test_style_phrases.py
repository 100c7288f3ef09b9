"""Pure tests of the style layer's tables, phrase parser, edit expressions and corpus (no model)."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from talkclip_model.arkit import INDEX
from talkclip_model.errors import TalkclipError
from talkclip_model.style import facs, phrases
from talkclip_model.style.model import parse_expression
from talkclip_model.style.vocabulary import vocabulary
from talkclip_model.training import corpus, events, splits
from talkclip_model.training.judge import judge_family


@pytest.mark.parametrize("action", sorted(corpus.ACTION_PHRASES))
def test_every_action_phrasing_is_recognised(action):
    for phrasing in corpus.ACTION_PHRASES[action]:
        text = "She talks with " + phrasing.format(pos="her")
        assert action in phrases.parse_prompt(text).actions, text


@pytest.mark.parametrize("action", sorted(corpus.NEGATABLE))
def test_every_negated_action_is_recognised(action):
    for phrasing in corpus.NEGATABLE[action]:
        parsed = phrases.parse_prompt("calm, not " + phrasing.format(pos="his"))
        assert "-" + action in parsed.actions
        assert parsed.encoder_text == "calm"  # the encoder never reads the negated part


def test_negation_quiets_channels_and_leaves_the_rest():
    parsed = phrases.parse_prompt("She is happy, not frowning")
    assert parsed.actions == ["-frown"]
    assert parsed.encoder_text == "She is happy"
    assert parsed.quiet[INDEX["mouthFrownLeft"]] == 0.0 and parsed.quiet[INDEX["browDownLeft"]] == 0.0
    assert parsed.quiet[INDEX["mouthSmileLeft"]] == 1.0


def test_negation_stops_at_a_clause_break():
    parsed = phrases.parse_prompt("not angry, but smiling")
    assert "smile" in parsed.actions and "-smile" not in parsed.actions
    assert parsed.negated_emotions == ["angry"]


def test_soft_negation_weakens_instead_of_negating():
    parsed = phrases.parse_prompt("not very happy")
    assert parsed.negated_emotions == [] and parsed.encoder_text == "happy"
    assert parsed.scale == pytest.approx(phrases.SOFT_NEGATION_SCALE)


def test_intensity_words_order_and_leave_the_encoder_text():
    scales = [phrases.parse_prompt(f"{adv} annoyed".strip()).scale
              for adv in ("barely", "slightly", "somewhat", "", "very", "extremely", "absolutely")]
    assert scales == sorted(scales) and len(set(scales)) == len(scales)
    assert phrases.parse_prompt("extremely annoyed").encoder_text == "annoyed"


def test_local_intensity_scales_only_its_action():
    weak = phrases.parse_prompt("smiling slightly")
    strong = phrases.parse_prompt("smiling broadly")
    i = INDEX["mouthSmileLeft"]
    assert weak.scale == strong.scale == 1.0
    assert weak.arkit[i] < strong.arkit[i]


def test_named_actions_map_to_arkit():
    cases = {
        "he wrinkles his nose": ("noseSneerLeft", "noseSneerRight"),
        "brows knitted": ("browDownLeft", "browDownRight"),  # AU4; the inner brow only a trace (test_knitted_brows_...)
        "lips pressed together": ("mouthPressLeft", "mouthPressRight"),
        "eyes wide": ("eyeWideLeft", "eyeWideRight"),
        "squinting": ("eyeSquintLeft", "eyeSquintRight"),
        "cheeks puffed": ("cheekPuff",),
        "sticks her tongue out": ("tongueOut",),
        "a lopsided smirk": ("mouthSmileLeft",),
        "jaw clenched": ("mouthPressLeft",),
        "pouting": ("mouthPucker", "mouthShrugLower"),
        "he flares his nostrils": ("noseSneerLeft",),
        "lips slightly parted": ("mouthLowerDownLeft",),
        "cheeks raised": ("cheekSquintLeft", "cheekSquintRight"),
    }
    for text, names in cases.items():
        parsed = phrases.parse_prompt(text)
        for name in names:
            assert parsed.arkit[INDEX[name]] >= 0.25, (text, name)
    assert phrases.parse_prompt("lips slightly parted").scale == 1.0  # an adverb inside an action stays local
    smirk = phrases.parse_prompt("a lopsided smirk")
    assert smirk.arkit[INDEX["mouthSmileRight"]] == 0.0  # one-sided


def test_idioms_and_emotion_words_are_not_mistaken_for_intensity_or_negation():
    for text in list(vocabulary().phrases) + list(vocabulary().words):
        parsed = phrases.parse_prompt(text)
        assert parsed.scale == 1.0, text
        assert not any(a.startswith("-") for a in parsed.actions) and not parsed.negated_emotions, text


@pytest.mark.parametrize("text, terms", [
    ('"angry" + 0.5*"smiling"', [(1.0, "angry"), (0.5, "smiling")]),
    ("'calm' - 0.3*'sad'", [(1.0, "calm"), (-0.3, "sad")]),
    ('angry + 0.5*"smiling"', [(1.0, "angry"), (0.5, "smiling")]),
    ("calm - sad", [(1.0, "calm"), (-1.0, "sad")]),
    ("she's over the moon", None),
    ("light-hearted and can't stop grinning", None),
    ("happy", None),
])
def test_edit_expressions(text, terms):
    assert parse_expression(text) == terms


@pytest.mark.parametrize("bad", ['"angry" + ', '"angry" + 0.5*"', '"angry" + 20*"sad"'])
def test_bad_edit_expressions_name_the_problem(bad):
    with pytest.raises(TalkclipError, match="style expression"):
        parse_expression(bad)


def test_emotion_vocabulary_is_broad_and_grounded():
    assert len(vocabulary().words) >= 135
    assert len(vocabulary().phrases) >= 150
    fams = {facs.family_of(p) for p, _ in vocabulary().words.values()}
    assert set(facs.FAMILIES) <= fams | {None}
    # EMFACS prototypes land in their own family
    for proto in ("happy", "sad", "angry", "fear", "surprise", "disgust", "contempt"):
        assert judge_family(facs.prototype_target(proto, 1.0)[0]) == facs.family_of(proto)
    assert judge_family(np.zeros(52)) == "neutral"


def test_styles_never_hold_the_jaw_open():
    for proto in facs.PROTOTYPES:
        assert facs.prototype_target(proto, 1.0)[0][INDEX["jawOpen"]] <= facs.JAW_OPEN_MAX + 1e-6


def test_corpus_is_deterministic_and_split():
    a = corpus.generate(300, seed=3)
    b = corpus.generate(300, seed=3)
    assert [s.text for s in a] == [s.text for s in b]
    assert [s.text for s in corpus.generate(300, seed=4)] != [s.text for s in a]
    train = {s.text.lower().rstrip(".") for s in corpus.generate(3000, seed=0)}
    for split in ("heldout", "heldout_phrasing"):
        held = {s.text.lower().rstrip(".") for s in corpus.generate(800, seed=0, split=split)}
        assert not (train & held), sorted(train & held)[:5]
    assert not set(splits.heldout_words()) & splits.CORE_WORDS


def test_model_targets_follow_the_tables():
    sample = corpus.Sample("A woman is furious, lips pressed.", [("angry", 1.0)], ["lips_pressed"])
    arkit, dyn = corpus.model_target(sample)
    assert arkit[INDEX["browDownLeft"]] > 0.5 and arkit[INDEX["mouthPressLeft"]] >= 0.69
    assert 0.0 <= dyn.min() and dyn.max() <= 1.0
    calm, _ = corpus.model_target(corpus.Sample("neutral", [("neutral", 1.0)]))
    assert calm.max() == 0.0


def test_package_import_stays_cheap():
    code = ("import sys, talkclip_model.style, talkclip_cli.style; "
            "heavy = [m for m in ('onnxruntime', 'tokenizers', 'torch', 'open_clip', 'matplotlib') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def _emotions(text, lexicon=None):
    return [p for p, _ in phrases.parse_prompt(text, lexicon).emotions]


def test_lexicon_matches_whole_phrases_with_any_pronoun_and_hyphenation():
    assert set(_emotions("crying her eyes out")) == {"sad"}  # listed as "crying his eyes out"
    assert _emotions("a grossed out teenager") == _emotions("a grossed-out teenager") == ["disgust"]
    assert set(_emotions("trembling with fear")) == {"fear"}
    assert _emotions("full of joy") == ["happy"]  # a noun
    assert _emotions("he answers gloomily") == ["sad"]  # a derived adverb
    assert _emotions("madly in love") == ["tender"]  # "madly" is not derived from "mad"
    assert _emotions("looking down the road") == []  # ambiguous words alone are not emotions


def test_heldout_vocabulary_can_be_left_out_of_the_lexicon():
    word = splits.heldout_words()[0]
    held_free = splits.heldout_free_lexicon()
    assert _emotions(f"she is {word}") and not _emotions(f"she is {word}", held_free)
    sit = splits.heldout_phrases()[0]
    assert _emotions(sit) and not _emotions(sit, held_free)
    # no held-out word or idiom is also a training entry under another kind
    assert not set(splits.heldout_phrases()) & set(vocabulary().words)


@pytest.mark.parametrize("text, negated", [
    ("uneasy rather than annoyed", True), ("hardly thrilled about the news", True), ("anything but calm", True),
    ("can't stop grinning", False), ("never been so alarmed in my life", False), ("she stops smiling", True),
])
def test_negation_and_double_negation(text, negated):
    parsed = phrases.parse_prompt(text)
    assert bool(parsed.negated_emotions or any(a.startswith("-") for a in parsed.actions)) == negated, parsed


def test_rather_than_is_not_an_intensity():
    assert phrases.parse_prompt("uneasy rather than annoyed").scale == 1.0
    assert phrases.parse_prompt("rather annoyed").scale < 1.0


def test_one_sided_actions_follow_left_and_right():
    right = phrases.parse_prompt("raises her right eyebrow")
    left = phrases.parse_prompt("raises her left eyebrow")
    assert right.arkit[INDEX["browOuterUpRight"]] > 0.5 and right.arkit[INDEX["browOuterUpLeft"]] == 0.0
    assert left.arkit[INDEX["browOuterUpLeft"]] > 0.5
    assert phrases.parse_prompt("jaw shifted to the right").arkit[INDEX["jawRight"]] > 0.3
    assert phrases.parse_prompt("glancing to the right").arkit[INDEX["eyeLookOutRight"]] > 0.3


def test_gesture_nouns_take_their_own_adjective():
    assert phrases.parse_prompt("an eye roll and a little sniff").scale == 1.0
    assert phrases.parse_prompt("a little sad").scale < 1.0


def test_gesture_words_carry_their_emotion_but_a_trembling_chin_is_not_fear():
    assert "contempt" in _emotions("a sneering villain")
    assert "angry" in _emotions("a scowling guard")
    assert "fear" in _emotions("trembling in the doorway")
    assert "fear" not in _emotions("chin trembling, eyes glistening") and "sad" in _emotions("chin trembling, eyes glistening")


def test_composed_events_keep_heldout_fillers_out_of_training():
    rng = random.Random(0)
    train = [events.event(rng, heldout=False)[0] for _ in range(400)]
    values = [v for vs in events.SLOTS.values() for v in vs if "{" not in v]
    held = {v for v in values if events.heldout_filler(v)
            and not any(v in w for w in values if w != v and not events.heldout_filler(w))}
    assert len(held) > 30 and not any(v in t for t in train for v in held if len(v) > 12)
    assert all(p in facs.PROTOTYPES for _, p, _ in events.FRAMES)


# --- TalkCLIP's own annotation style: AU-named actions and degree words on them ---------------------

# phrase in TalkCLIP's wording -> (noun part, verb part, the action's main channel)
AU_PHRASES = {
    "brows lowered": ("brows", "lowered", "browDownLeft"), "lip corners raised": ("lip corners", "raised", "mouthSmileLeft"),
    "eyes widened": ("eyes", "widened", "eyeWideLeft"), "mouth open": ("mouth", "open", "jawOpen"),
    "jaw dropped": ("jaw", "dropped", "jawOpen"), "cheeks raised": ("cheeks", "raised", "cheekSquintLeft"),
    "nose wrinkled": ("nose", "wrinkled", "noseSneerLeft"), "lips pressed": ("lips", "pressed", "mouthPressLeft"),
}
DEGREES = ("slightly", "a little", "somewhat", "", "very", "extremely", "fully")


@pytest.mark.parametrize("phrase", sorted(AU_PHRASES))
@pytest.mark.parametrize("where", ["inside", "before", "after"])
def test_degree_words_grade_a_named_action(phrase, where):
    noun, verb, channel = AU_PHRASES[phrase]
    forms = {"inside": "speaks with {n} {d} {v}", "before": "speaks with {d} {v} {n}", "after": "speaks with {n} {v} {d}"}
    values = {}
    for d in DEGREES:
        parsed = phrases.parse_prompt(" ".join(forms[where].format(n=noun, v=verb, d=d).split()))
        assert parsed.scale == 1.0, (where, d)  # local to the action, not the whole style
        values[d] = float(parsed.arkit[INDEX[channel]])
    assert values["slightly"] < values[""] < values["very"] < values["extremely"], values
    assert values["a little"] < values[""] and values["somewhat"] < values[""] and values["fully"] > values[""], values


def test_a_degree_word_that_is_part_of_the_phrase_does_not_grade_it():
    assert "mumbling" in phrases.parse_prompt("barely moving her lips").actions  # "barely" belongs to the phrase
    assert phrases.parse_prompt("lips slightly parted").arkit[INDEX["mouthLowerDownLeft"]] >= 0.25  # still parted


@pytest.mark.parametrize("text, action, on, off", [
    ("lip corners raised", "lip_corner_puller", ("mouthSmileLeft", "mouthSmileRight"), ("mouthUpperUpLeft", "noseSneerLeft")),
    ("raised lip corners", "lip_corner_puller", ("mouthSmileLeft",), ("mouthUpperUpLeft",)),
    ("the corners of her mouth slightly raised", "lip_corner_puller", ("mouthSmileLeft",), ("mouthUpperUpLeft",)),
    ("lip corner puller", "lip_corner_puller", ("mouthSmileLeft",), ("mouthUpperUpLeft",)),
    ("upper lip raised", "upper_lip_raised", ("mouthUpperUpLeft", "mouthUpperUpRight"), ("mouthSmileLeft",)),
    ("lip corners depressed", "mouth_corners_down", ("mouthFrownLeft", "mouthFrownRight"), ("mouthSmileLeft",)),
    ("lips stretched", "grimace", ("mouthStretchLeft", "mouthStretchRight"), ()),
    ("lip stretcher", "lip_stretcher", ("mouthStretchLeft", "mouthStretchRight"), ("browDownLeft",)),
    ("lips tightened", "lips_pressed", ("mouthPressLeft", "mouthPressRight"), ()),
    ("lips pressed", "lips_pressed", ("mouthPressLeft", "mouthPressRight"), ()),
    ("dimpler", "dimples", ("mouthDimpleLeft", "mouthDimpleRight"), ()),
    ("chin raiser", "chin_raiser", ("mouthShrugLower",), ()),
    ("inner brows slightly raised", "brows_sad", ("browInnerUp",), ("browOuterUpLeft",)),
    ("outer brows raised", "outer_brows_raised", ("browOuterUpLeft", "browOuterUpRight"), ("browInnerUp",)),
])
def test_au_phrasings_name_their_action_unit(text, action, on, off):
    parsed = phrases.parse_prompt(text)
    assert parsed.actions == [action], parsed.actions
    assert min(parsed.arkit[INDEX[n]] for n in on) >= 0.25
    assert all(parsed.arkit[INDEX[n]] == 0.0 for n in off)
    assert not parsed.emotions  # "depressed" here is the lip corners, not sadness


def test_lowered_brows_hold_the_inner_brows_down_unless_asked():
    i = INDEX["browInnerUp"]
    for text in ("a furious man, brows knitted", "a furious man", "brows knitted", "furrowed brows, lips pressed"):
        assert phrases.parse_prompt(text).ceiling[i] <= phrases.INNER_BROW_WITH_LOWERED_MAX + 1e-6, text
    for text in ("sad, brows knitted", "worried, brows knitted", "furious, inner brows raised", "happy", "terrified"):
        assert np.isinf(phrases.parse_prompt(text).ceiling[i]), text


def test_a_named_nod_is_not_stilled_by_calm():
    nodding = phrases.parse_prompt("calm, nodding along")
    assert nodding.dynamics["nod"] >= 0.8 and nodding.dynamics["head_motion"] >= phrases.GESTURE_HEAD_MOTION
    assert phrases.parse_prompt("calm").dynamics["head_motion"] < 0.5  # calm alone still quiets the head


def test_sad_prototype_is_carried_by_the_face():
    arkit, dyn = facs.prototype_target("sad", 1.0)
    assert arkit[INDEX["browInnerUp"]] >= 0.6 and arkit[INDEX["mouthFrownLeft"]] >= 0.6
    assert arkit[INDEX["eyeSquintLeft"]] >= 0.2  # a slight squint
    assert facs.PROTOTYPES["sad"][2]["head_pitch"] <= 0.1  # a modest head drop (radians)
