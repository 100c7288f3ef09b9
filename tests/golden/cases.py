"""Golden outputs: what the run time produces for fixed inputs, stored so a refactor is checked
mechanically. ``compute()`` builds every case as plain JSON data; ``tests/test_golden.py``
compares it with ``data/*.json`` within a tolerance, and ``update.py`` rewrites those files
(commit them with a message that says why the outputs changed).

Cases: tracks for the bundled example (with and without transcript) and for three synthesised
lines in ``tests/data/speech`` (phone recognition, a style schedule, an edit expression);
``parse_prompt`` results and style vectors for 50 prompts covering emotion words, intensity,
negation, named actions, gestures, idioms and edit expressions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
SPEECH = ROOT / "tests" / "data" / "speech"
EXAMPLES = ROOT / "examples"

# name -> (audio, transcript file or None, GenerateOptions fields)
TRACKS = {
    "hello_transcript_furious": (EXAMPLES / "hello.wav", EXAMPLES / "hello.txt",
                                 {"prompt": "a furious woman, frowning, nose wrinkled"}),
    # PocketSphinx words: the default ("auto") depends on whether a Whisper model is installed
    "hello_no_transcript": (EXAMPLES / "hello.wav", None, {"recognizer": "words"}),
    "line1_phones_slightly_happy": (SPEECH / "line1_us1.wav", None,
                                    {"recognizer": "phones", "prompt": "slightly happy", "fps": 24.0}),
    "line2_schedule": (SPEECH / "line2_us1.wav", SPEECH / "line2_us1.txt",
                       {"prompt": "calm", "schedule": [(1.2, "terrified, eyes wide")], "seed": 3}),
    "line1_us2_edit": (SPEECH / "line1_us2.wav", SPEECH / "line1_us2.txt",
                       {"prompt": '"sad" + 0.5*"smiling"', "intensity": 0.7, "fps": 60.0}),
}

PROMPTS = [
    # emotion words, slang, nouns
    "a furious woman, frowning, nose wrinkled", "happy", "sad", "a livid shopkeeper",
    "she looks crestfallen", "an elated toddler", "the captain is petrified", "a dumbfounded reporter",
    "he seems repulsed", "a disdainful aristocrat", "speaks in a deadpan monotone", "a jittery intern",
    "in a state of astonishment", "weeping with grief", "a smug salesman", "bored out of his mind",
    # intensity
    "slightly annoyed", "extremely happy", "a little sad", "very, very angry", "mildly surprised",
    "utterly terrified", "somewhat disgusted",
    # negation
    "not happy", "not angry at all", "anything but calm", "can't stop grinning", "never been so alarmed",
    "not smiling, but not sad either",
    # named actions and gestures
    "raised eyebrows", "brows knitted, lips pressed", "squinting, jaw clenched", "one eyebrow raised",
    "a lopsided smirk", "puffed cheeks", "tongue out", "a little sniff", "a long sigh", "wide eyes",
    "a left-sided sneer",
    # idioms and situations
    "over the moon", "down in the dumps", "at a funeral", "just won the lottery",
    "caught red-handed", "walking on eggshells",
    # dynamics
    "talks fast and energetically", "speaks slowly, barely moving her lips", "mumbling", "shouting",
    # edit expressions
    '"angry" + 0.5*"smiling"', '0.3*"sad" + "calm"',
]

ROUND = 5  # decimals kept in the stored files (float32 is good to about 7)


def _floats(arr) -> list:
    return np.round(np.asarray(arr, dtype=np.float64), ROUND).tolist()


def track_case(pipeline, name: str) -> dict:
    from talkclip_model.pipeline import GenerateOptions

    audio, transcript, fields = TRACKS[name]
    if transcript is not None:
        fields = {**fields, "transcript": transcript.read_text().strip()}
    track = pipeline.generate(audio, GenerateOptions(**fields))
    phones = track.phones
    return {
        "fps": track.fps,
        "arkit": _floats(track.arkit),
        "head": _floats(track.head),
        "layers": {k: _floats(v) for k, v in sorted(track.layers.items())},
        "phones": [[p, round(float(s), 4), round(float(e), 4)]
                   for p, s, e in zip(phones.phones, phones.starts, phones.ends)],
        "words": list(phones.words),
        "source": phones.source,
        "notes": list(phones.notes),
        "style": track.meta["style"],
    }


def prompt_case(style_model, prompt: str) -> dict:
    from talkclip_model.arkit import ARKIT_NAMES
    from talkclip_model.style.model import parse_expression
    from talkclip_model.style.phrases import parse_prompt

    terms = parse_expression(prompt) or [(1.0, prompt)]
    parsed = []
    for _, term in terms:
        p = parse_prompt(term)
        parsed.append({
            "encoder_text": p.encoder_text,
            "scale": round(float(p.scale), ROUND),
            "arkit": {n: round(float(v), ROUND) for n, v, s in zip(ARKIT_NAMES, p.arkit, p.arkit_set) if s},
            "exact": [n for n, e in zip(ARKIT_NAMES, p.arkit_exact) if e],
            "quiet": {n: round(float(q), ROUND) for n, q in zip(ARKIT_NAMES, p.quiet) if q != 1.0},
            "dynamics": {k: round(float(v), ROUND) for k, v in sorted(p.dynamics.items())},
            "damp": round(float(p.damp), ROUND),
            "actions": list(p.actions),
            "negated_emotions": list(p.negated_emotions),
            "emotions": [[e, round(float(g), ROUND)] for e, g in p.emotions],
        })
    return {"parsed": parsed, "style": style_model.style(prompt).to_dict()}


def compute() -> dict[str, dict]:
    """Every golden file's content, by file name."""
    from talkclip_model.pipeline import Pipeline

    pipeline = Pipeline()
    out = {f"track_{name}.json": track_case(pipeline, name) for name in TRACKS}
    out["prompts.json"] = {p: prompt_case(pipeline.style_model, p) for p in PROMPTS}
    return out
