"""The text -> speaking-style training corpus, generated TA-MEAD style and labelled through FACS.

Sentences combine subjects x emotion words (or situations and idioms) x facial-action phrases x
intensity adverbs, with random drops of parts and negated actions. Each sample keeps its parts,
so its target is computed, not hand-written: emotion prototype (AUs -> ARKit, at the word's
grade) combined with the named actions and their dynamics. Generation is deterministic for a seed.

The held-out split never shares a template, subject, situation, action phrasing or held-out
emotion word with training; ``split="heldout"`` draws only from those.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from talkclip_model.arkit import INDEX, NUM_CHANNELS
from talkclip_model.style.actions import QUIET_SCALE, action
from talkclip_model.style.dynamics import DYNAMICS_NEUTRAL, normalise_dynamics
from talkclip_model.style.facs import prototype_target
from talkclip_model.style.phrases import parse_prompt
from talkclip_model.style.vocabulary import vocabulary
from talkclip_model.training import events
from talkclip_model.training.splits import heldout_phrases, heldout_words
from talkclip_model.types import DYNAMICS

CORPUS_VERSION = "2026.11-9"
EVENT_SHARE = 0.4  # share of situation samples composed from event frames rather than listed

SUBJECTS_TRAIN = [
    ("A woman", "her"), ("A man", "his"), ("She", "her"), ("He", "his"), ("The old man", "his"), ("The girl", "her"),
    ("A boy", "his"), ("The speaker", "their"), ("My grandmother", "her"), ("The teacher", "their"), ("They", "their"),
    ("The character", "their"), ("A young woman", "her"), ("An elderly gentleman", "his"), ("The narrator", "their"),
    ("The knight", "his"), ("Our hero", "their"), ("The CEO", "her"), ("A child", "their"), ("The actor", "his"),
    ("The princess", "her"), ("A nurse", "her"), ("The robot", "its"), ("The detective", "his"), ("A student", "their"),
    ("I", "my"), ("The villain", "his"), ("The host", "her"), ("A soldier", "his"), ("The customer", "their"),
    ("The doctor", "her"), ("A waiter", "his"), ("The old woman", "her"), ("My brother", "his"), ("The wizard", "his"),
    ("The little girl", "her"), ("The manager", "their"), ("A farmer", "his"), ("The queen", "her"), ("The avatar", "its"),
    ("You", "your"), ("We", "our"), ("The pirate", "his"), ("A young man", "his"), ("The lawyer", "her"),
    ("The presenter", "their"), ("Grandpa", "his"), ("The cat", "its"), ("A teenager", "their"), ("The mayor", "his"),
]
SUBJECTS_HELDOUT = [("The astronaut", "her"), ("My neighbour", "his"), ("A fisherman", "his"), ("The singer", "her"),
                    ("Someone", "their")]
NOUNS_TRAIN = ["man", "woman", "girl", "boy", "person", "old lady", "teenager", "kid", "gentleman", "guy", "lady",
               "character", "grandfather", "mother"]
NOUNS_HELDOUT = ["pilot", "shopkeeper"]

# Templates: {subj} subject, {pos} possessive, {emo} emotion word, {adv} intensity (with a
# trailing space or empty), {act} action phrase(s), {noun} a person noun, {emo_ly} emotion adverb.
EMOTION_TEMPLATES_TRAIN = [
    "{subj} is {adv}{emo}.", "{subj} looks {adv}{emo}", "{subj} feels {adv}{emo}.", "{adv}{emo}", "{emo}",
    "{subj} seems {adv}{emo}", "a {adv}{emo} {noun}", "{subj} is {adv}{emo} and speaks with {act}.",
    "{subj}, {adv}{emo}, talking with {act}", "speaking in a {adv}{emo} way", "{adv}{emo}, {act}",
    "{subj} sounds {adv}{emo}", "with a {adv}{emo} expression", "{subj} is {adv}{emo}, {act}.",
    "{adv}{emo} {noun} with {act}", "{subj} talks while feeling {adv}{emo}", "{subj} gets {adv}{emo}",
    "{subj} is {adv}{emo} as {subj_lc} speaks", "a {noun} who is {adv}{emo}", "{subj} looks {adv}{emo} with {act}",
    "{subj} says it in a {adv}{emo} tone", "{subj} reacts, {adv}{emo}", "feeling {adv}{emo}", "{adv}{emo} face",
    "{subj} is being {adv}{emo}", "{subj}'s face is {adv}{emo}", "make {pos} face look {adv}{emo}",
    "{subj} delivers the news, {adv}{emo}", "a {adv}{emo} expression, {act}", "{subj} became {adv}{emo} and said",
    "{subj} is acting {adv}{emo}", "style: {adv}{emo}", "{subj} speaks while {adv}{emo}, with {act}",
]
EMOTION_TEMPLATES_HELDOUT = [
    "{subj} comes across as {adv}{emo}", "{subj} appears {adv}{emo} while talking", "{subj} is visibly {emo}",
    "an {adv}{emo} look on {pos} face", "{subj} answers, {adv}{emo}, with {act}",
]
NOUN_TEMPLATES_TRAIN = ["{subj} speaks with {emo_n}", "full of {emo_n}", "a look of {emo_n}", "{subj}'s voice is full of {emo_n}",
                       "with {emo_n} in {pos} eyes", "{subj} is filled with {emo_n}", "{emo_n}", "{subj} talks, overcome with {emo_n}",
                       "an expression of {emo_n}", "{subj} can't hide {pos} {emo_n}"]
NOUN_TEMPLATES_HELDOUT = ["{subj} answers in {emo_n}", "{pos} face shows {emo_n}"]
ADVERB_TEMPLATES_TRAIN = ["{subj} speaks {emo_ly}", "{subj} says it {emo_ly}", "talking {emo_ly}", "{subj} answers {emo_ly}"]
ADVERB_TEMPLATES_HELDOUT = ["{subj} replies {emo_ly}"]
SITUATION_TEMPLATES_TRAIN = ["{sit}", "{subj}: {sit}", "{subj} is talking, {sit}", "{sit}, {act}", "like someone {sit}",
                             "{subj}, {sit}, speaks", "{subj} speaks like someone who {sit}", "when {sit}", "{subj} - {sit}",
                             "the way {subj_lc} talks, {sit}", "{subj} reacts: {sit}", "{sit}, {subj_lc} says",
                             "{subj} is {sit}", "{subj} talks after {sit}", "situation: {sit}"]
SITUATION_TEMPLATES_HELDOUT = ["how {subj_lc} speaks when {sit}", "{sit} - {subj} says"]
ACTION_TEMPLATES_TRAIN = ["{act}", "{subj} speaks with {act}", "{subj} talks, {act}", "with {act}", "{subj} has {act}",
                          "talking with {act}"]
ACTION_TEMPLATES_HELDOUT = ["{subj} delivers the line with {act}"]
NEUTRAL_TRAIN = ["{subj} is speaking", "{subj} reads the news", "a {noun} talking", "{subj} says hello", "neutral",
                 "no particular emotion", "a normal conversation", "{subj} explains the plan", "{subj} is", "{subj}",
                 "{subj} talks about the weather", "plain delivery", "just talking", "{subj} reads a list aloud",
                 "an ordinary voice", "{subj} gives directions", "neutral face", "default", "{subj} orders a coffee",
                 "{subj} answers the phone", "{subj} introduces {pos} colleague", "{subj} reads the menu", "matter-of-fact",
                 "{subj} describes {pos} morning routine", "{subj} gives a weather report", "{subj} counts to ten",
                 "{subj} tells the time", "{subj} talks about the train timetable", "{subj} reads a recipe", "normal",
                 "{subj} lists the ingredients", "a {noun} speaking normally", "{subj} asks a question", "regular speech",
                 "{subj} reads out the address", "{subj} explains how the machine works", "everyday conversation",
                 "{subj} says the meeting is at three", "relaxed neutral face", "no expression in particular",
                 "{subj} reads out a phone number", "{subj} confirms the booking", "{subj} announces the next stop",
                 "{subj} describes the layout of the office", "{subj} dictates a letter", "{subj} reads the minutes of the meeting",
                 "{subj} gives {pos} date of birth", "{subj} explains the rules of the game", "{subj} checks the shopping list",
                 "{subj} tells {pos} colleague where the files are", "{subj} repeats the order back", "{subj} reads the terms and conditions",
                 "{subj} states {pos} address", "{subj} describes the route to the station", "{subj} reports the figures"]
NEUTRAL_HELDOUT = ["{subj} describes the schedule", "a {noun} reading instructions", "{subj} spells {pos} name",
                   "{subj} reads the terms and conditions"]

# Natural phrasings of named actions ({pos} = possessive). The last phrasing of each is held out.
ACTION_PHRASES: dict[str, list[str]] = {
    "smile": ["a smile", "a big smile", "a warm smile", "smiling", "{pos} lips curved in a smile", "a grin", "a beaming smile"],
    "frown": ["a frown", "frowning", "a scowl", "a deep frown", "scowling", "a glare"],
    "laugh": ["laughing", "a laugh in {pos} voice", "giggling", "chuckling", "a chuckle"],
    "smirk": ["a smirk", "a lopsided smirk", "a crooked smile", "a half smile", "a wry smile", "smirking", "a one-sided grin"],
    "brows_knitted": ["brows knitted", "knitted brows", "a furrowed brow", "{pos} brows drawn together", "furrowed eyebrows",
                      "knitting {pos} brows", "{pos} eyebrows pinched"],
    "brows_raised": ["raised eyebrows", "eyebrows raised", "brows lifted", "{pos} brows up", "raising {pos} eyebrows",
                     "arched brows", "eyebrows shooting up"],
    "one_brow_raised": ["one eyebrow raised", "raising an eyebrow", "a single brow arched", "one brow cocked"],
    "brows_sad": ["pleading eyes", "puppy-dog eyes", "worried brows", "brows tilted up", "upturned brows"],
    "brows_lowered": ["lowered brows", "brows lowered", "heavy brows", "brows drawn down", "beetling brows"],
    "nose_wrinkled": ["a wrinkled nose", "nose wrinkled", "wrinkling {pos} nose", "a scrunched nose", "{pos} nose crinkled"],
    "sneer": ["a sneer", "sneering", "a sneer on {pos} lips", "sneers"],
    "upper_lip_raised": ["{pos} upper lip raised", "a curled lip", "a snarl", "{pos} lip curled", "upper lip lifted"],
    "teeth_bared": ["clenched teeth", "gritted teeth", "bared teeth", "gritting {pos} teeth", "showing {pos} teeth"],
    "jaw_clenched": ["a clenched jaw", "jaw clenched", "a tight jaw", "{pos} jaw set", "a tense jaw"],
    "pursed_lips": ["pursed lips", "lips pursed", "pursing {pos} lips"],
    "puckered_lips": ["puckered lips", "lips puckered", "a kissy mouth", "puckering {pos} lips"],
    "lips_pressed": ["lips pressed", "pressed lips", "tight lips", "lips pressed together", "thin lips", "a tight-lipped mouth",
                     "compressed lips"],
    "lip_bite": ["biting {pos} lip", "a bitten lower lip", "chewing {pos} lip", "biting {pos} lower lip"],
    "lips_rolled": ["lips rolled in", "rolling {pos} lips in", "lips tucked"],
    "upper_lip_rolled": ["upper lip rolled in", "tucking {pos} upper lip in", "upper lip sucked in"],
    "lower_lip_rolled": ["lower lip rolled in", "sucking {pos} lower lip in", "lower lip tucked in"],
    "fake_smile": ["a forced smile", "a polite smile", "a smile that doesn't reach {pos} eyes", "a fake smile"],
    "pout": ["a pout", "pouting", "a pouty mouth", "sticking out {pos} lower lip", "lower lip out"],
    "chin_quiver": ["a quivering chin", "trembling lips", "a trembling chin", "lips quivering"],
    "mouth_corners_down": ["a downturned mouth", "mouth turned down", "the corners of {pos} mouth pulled down", "sagging lips",
                           "a drooping mouth"],
    "grimace": ["a grimace", "grimacing", "lips stretched", "mouth pulled wide", "lips drawn back"],
    "eyes_wide": ["wide eyes", "eyes wide", "wide-eyed", "eyes wide open", "bulging eyes", "{pos} eyes widened", "eyes like saucers"],
    "squint": ["squinting", "a squint", "narrowed eyes", "eyes narrowed", "narrowing {pos} eyes", "narrow-eyed"],
    "eyes_squeezed": ["eyes squeezed shut", "screwing {pos} eyes shut", "eyes shut tight", "scrunching {pos} eyes closed"],
    "brow_frown": ["frowning with {pos} brows", "frowning with the eyebrows, not the mouth", "frowns with {pos} forehead"],
    "mouth_frown": ["frowning with {pos} mouth", "frowning with the lips, not the brows", "frowns with {pos} mouth"],
    "eyes_closed": ["eyes closed", "closed eyes", "{pos} eyes shut", "closing {pos} eyes"],
    "eyes_droopy": ["droopy eyes", "heavy eyelids", "half-closed eyes", "drooping lids", "heavy-lidded eyes"],
    "eye_roll": ["rolling {pos} eyes", "eyes rolled", "rolled eyes", "rolls {pos} eyes"],
    "smiling_eyes": ["smiling eyes", "crinkled eyes", "eyes twinkling", "crinkling eyes"],
    "cheeks_puffed": ["puffed cheeks", "cheeks puffed out", "puffing {pos} cheeks", "cheeks blown out", "inflated cheeks"],
    "tongue_out": ["tongue out", "sticking {pos} tongue out", "tongue sticking out", "sticks out {pos} tongue", "tongue poking out"],
    "jaw_forward": ["a jutting jaw", "jaw thrust forward", "chin jutting out", "{pos} jaw pushed out"],
    "jaw_dropped": ["mouth agape", "mouth hanging open", "open-mouthed", "jaw dropping", "a gaping mouth"],
    "dimples": ["dimples showing", "dimpled cheeks", "dimpling"],
    "lower_lip_down": ["lower lip pulled down", "showing {pos} bottom teeth", "{pos} lower lip drawn down", "lower lip depressed"],
    "chin_raiser": ["a wrinkled chin", "chin puckered", "{pos} lower lip pushed up", "a bunched chin"],
    "funnel": ["lips funnelled", "mouth in an O shape", "whistling", "funnelling {pos} lips", "o-shaped lips"],
    "jaw_side": ["jaw shifted to the left", "{pos} jaw pushed to one side", "jaw slid sideways", "jaw shifted to the side"],
    "cross_eyed": ["cross-eyed", "eyes crossed", "crossing {pos} eyes"],
    "mouth_side": ["mouth pulled to one side", "a twisted mouth", "{pos} mouth screwed to the side", "mouth pulled sideways"],
    "wink": ["a wink", "winking", "winks"],
    "nod": ["nodding", "nodding along", "a nod", "nods a lot", "nodding slowly"],
    "shake": ["shaking {pos} head", "head shaking", "a head shake", "shakes {pos} head"],
    "head_tilt": ["a tilted head", "head tilted", "tilting {pos} head", "head cocked"],
    "head_down": ["head bowed", "{pos} head down", "head hung low", "bowing {pos} head"],
    "look_down": ["looking down", "eyes downcast", "staring at the floor", "gaze lowered", "looking at the floor"],
    "look_up": ["looking up", "gazing upward", "eyes turned up", "staring at the ceiling"],
    "chin_up": ["chin up", "head held high", "nose in the air", "chin raised"],
    "look_away": ["looking away", "averted eyes", "shifty eyes", "darting eyes", "glancing away"],
    "no_eye_contact": ["avoiding eye contact", "no eye contact", "avoids eye contact", "can't meet anyone's eyes"],
    "eye_contact": ["direct eye contact", "a steady gaze", "looking straight ahead", "making eye contact", "staring directly at you"],
    "blinking": ["blinking a lot", "rapid blinking", "blinking nervously", "keeps blinking", "blinking rapidly"],
    "unblinking": ["unblinking", "without blinking", "never blinks", "an unblinking stare"],
    "still": ["sitting still", "motionless", "perfectly still", "calmly", "keeping still", "barely moving", "stiffly"],
    "animated": ["animated", "lively", "energetic", "gesturing", "bouncy", "fidgeting", "restless"],
    "mumbling": ["mumbling", "muttering", "whispering", "under {pos} breath", "barely moving {pos} lips", "in a monotone",
                 "murmuring"],
    "shouting": ["shouting", "yelling", "exaggerated", "screaming", "over-enunciating", "loudly", "booming", "theatrical"],
    "deadpan": ["a deadpan face", "deadpan", "a poker face", "expressionless", "a blank expression", "stone-faced", "straight-faced"],
}
# Gerund / short forms used after "not" / "without" in negation samples.
NEGATABLE: dict[str, list[str]] = {
    "smile": ["smiling", "a smile", "grinning"], "frown": ["frowning", "scowling"], "laugh": ["laughing"],
    "brows_knitted": ["furrowing {pos} brows", "knitted brows"], "brows_raised": ["raising {pos} eyebrows"],
    "nose_wrinkled": ["wrinkling {pos} nose"], "sneer": ["sneering"], "lips_pressed": ["pressing {pos} lips"],
    "eyes_wide": ["wide-eyed"], "squint": ["squinting"], "pout": ["pouting"], "nod": ["nodding"],
    "shake": ["shaking {pos} head"], "eyes_closed": ["closing {pos} eyes"], "look_away": ["looking away"],
    "tongue_out": ["sticking {pos} tongue out"], "cheeks_puffed": ["puffing {pos} cheeks"], "smirk": ["smirking"],
    "mumbling": ["mumbling"], "shouting": ["shouting", "yelling"], "grimace": ["grimacing"],
}
NEGATION_TEMPLATES_TRAIN = ["{base}, not {neg}", "{base} but not {neg}", "{base}, without {neg}", "{base} and never {neg}",
                            "{base}, no {neg}"]
NEGATION_TEMPLATES_HELDOUT = ["{base}, definitely not {neg}"]
ADVERBS_TRAIN = ["barely", "slightly", "a little", "a bit", "somewhat", "mildly", "fairly", "rather", "quite", "very",
                 "really", "so", "deeply", "extremely", "incredibly", "terribly", "absolutely", "utterly", "completely"]
ADVERBS_HELDOUT = ["kind of", "moderately", "intensely", "totally"]
@dataclass
class Sample:
    text: str
    emotions: list[tuple[str, float]] = field(default_factory=list)  # (prototype, grade)
    actions: list[str] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)
    kind: str = "emotion"


def _split_lists(split: str):
    vocab = vocabulary()
    held = split in ("heldout", "heldout_phrasing")
    held_words = set(heldout_words())
    if split == "heldout":  # unseen words and idioms (in unseen phrasings)
        words, sits = list(heldout_words()), list(heldout_phrases())
    else:  # training vocabulary; for "heldout_phrasing" only in unseen templates, subjects, phrasings
        held_phrases = set(heldout_phrases())
        words = [w for w in vocab.words if w not in held_words]
        sits = [s for s in vocab.phrases if s not in held_phrases]
    phrase_lists = {a: (ps[-1:] if held else ps[:-1]) for a, ps in ACTION_PHRASES.items()}
    return dict(
        subjects=SUBJECTS_HELDOUT if held else SUBJECTS_TRAIN, nouns=NOUNS_HELDOUT if held else NOUNS_TRAIN,
        emo_t=EMOTION_TEMPLATES_HELDOUT if held else EMOTION_TEMPLATES_TRAIN,
        adv_t=ADVERB_TEMPLATES_HELDOUT if held else ADVERB_TEMPLATES_TRAIN,
        noun_t=NOUN_TEMPLATES_HELDOUT if held else NOUN_TEMPLATES_TRAIN,
        emo_nouns=[n for n, w in vocab.nouns.items() if (w in held_words) == (split == "heldout")],
        sit_t=SITUATION_TEMPLATES_HELDOUT if held else SITUATION_TEMPLATES_TRAIN,
        act_t=ACTION_TEMPLATES_HELDOUT if held else ACTION_TEMPLATES_TRAIN,
        neu_t=NEUTRAL_HELDOUT if held else NEUTRAL_TRAIN, neg_t=NEGATION_TEMPLATES_HELDOUT if held else NEGATION_TEMPLATES_TRAIN,
        adverbs=ADVERBS_HELDOUT if held else ADVERBS_TRAIN, words=words, situations=sits, phrases=phrase_lists,
        emo_adverbs=[a for a, w in vocab.adverbs.items() if (w in held_words) == held] or list(vocab.adverbs)[:3],
    )


class _Maker:
    def __init__(self, rng: random.Random, split: str):
        self.r = rng
        self.split = split
        self.L = _split_lists(split)
        self.vocab = vocabulary()
        self.words = self.vocab.words

    def subject(self):
        return self.r.choice(self.L["subjects"])

    def actions(self, n: int) -> tuple[list[str], str]:
        names = self.r.sample([a for a in ACTION_PHRASES if self.L["phrases"][a]], n)
        pos = self.r.choice(["his", "her", "their"])
        texts = [self.r.choice(self.L["phrases"][a]).format(pos=pos) for a in names]
        joined = texts[0] if n == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
        return names, joined

    def fill(self, template: str, **kw) -> str:
        subj, pos = kw.pop("subject", None) or self.subject()
        kw.setdefault("noun", self.r.choice(self.L["nouns"]))
        text = template.format(subj=subj, subj_lc=subj if subj == "I" else subj.lower(), pos=pos, **kw)
        text = text.replace("a a", "an a").replace("a e", "an e").replace("a i", "an i").replace("a o", "an o").replace("a u", "an u")
        return text[0].upper() + text[1:] if self.r.random() < 0.6 else text[0].lower() + text[1:]

    def emotion(self) -> Sample:
        word = self.r.choice(self.L["words"])
        proto, grade = self.words[word]
        template = self.r.choice(self.L["emo_t"])
        acts: list[str] = []
        act_text = ""
        if "{act}" in template:
            acts, act_text = self.actions(self.r.choice([1, 1, 2]))
        adv = self.r.choice(self.L["adverbs"]) + " " if self.r.random() < 0.35 else ""
        return Sample(self.fill(template, emo=word, adv=adv, act=act_text), [(proto, grade)], acts, kind="emotion")

    def emotion_adverb(self) -> Sample:
        adverb = self.r.choice(self.L["emo_adverbs"])
        proto, grade = self.words[self.vocab.adverbs[adverb]]
        return Sample(self.fill(self.r.choice(self.L["adv_t"]), emo_ly=adverb), [(proto, grade)], kind="emotion")

    def emotion_noun(self) -> Sample:
        noun = self.r.choice(self.L["emo_nouns"])
        return Sample(self.fill(self.r.choice(self.L["noun_t"]), emo_n=noun), [self.words[self.vocab.nouns[noun]]], kind="emotion")

    def situation(self) -> Sample:
        if self.r.random() < EVENT_SHARE:  # an event composed from frames (events.py)
            sit, proto, grade = events.event(self.r, heldout=self.split == "heldout")
        else:
            sit = self.r.choice(self.L["situations"])
            proto, grade = self.vocab.phrases[sit]
        template = self.r.choice(self.L["sit_t"])
        acts, act_text = self.actions(1) if "{act}" in template else ([], "")
        return Sample(self.fill(template, sit=sit, act=act_text), [(proto, grade)], acts, kind="situation")

    def action_only(self) -> Sample:
        acts, act_text = self.actions(self.r.choice([1, 1, 2]))
        return Sample(self.fill(self.r.choice(self.L["act_t"]), act=act_text), [], acts, kind="action")

    def neutral(self) -> Sample:
        return Sample(self.fill(self.r.choice(self.L["neu_t"])), [("neutral", 1.0)], kind="neutral")

    def compound(self) -> Sample:
        w1, w2 = self.r.sample(self.L["words"], 2)
        joiner = self.r.choice([" but ", " and ", ", yet ", " and a little ", ", "])
        subj, _ = self.subject()
        text = f"{subj} is {w1}{joiner}{w2}"
        g2 = 0.5 if "a little" in joiner else 1.0
        (p1, g1), (p2, gg2) = self.words[w1], self.words[w2]
        return Sample(text, [(p1, g1 * 0.8), (p2, gg2 * 0.8 * g2)], kind="compound")

    def negation(self) -> Sample:
        base = self.emotion() if self.r.random() < 0.7 else self.neutral()
        name = self.r.choice(list(NEGATABLE))
        if name in base.actions:
            base.actions.remove(name)
        pos = self.r.choice(["his", "her", "their"])
        neg = self.r.choice(NEGATABLE[name]).format(pos=pos)
        text = self.r.choice(self.L["neg_t"]).format(base=base.text.rstrip("."), neg=neg)
        return Sample(text, base.emotions, base.actions, [name], kind="negation")

    def negated_emotion(self) -> Sample:
        word = self.r.choice([w for w in self.L["words"] if self.words[w][0] not in ("neutral", "calm")])
        subj, _ = self.subject()
        text = self.r.choice(["{s} is not {w}", "not {w}", "{s} isn't {w} at all", "{s} never looks {w}"]).format(s=subj, w=word)
        return Sample(text, [("neutral", 1.0)], kind="negated_emotion")


KIND_WEIGHTS = {"emotion": 0.32, "emotion_noun": 0.04, "emotion_adverb": 0.04, "situation": 0.26, "action_only": 0.09, "neutral": 0.07,
                "compound": 0.06, "negation": 0.09, "negated_emotion": 0.03}


def generate(n: int, seed: int = 0, split: str = "train") -> list[Sample]:
    """``n`` samples of a split, deterministic for (n, seed, split).

    "train"; "heldout": unseen emotion words and idioms in unseen templates/subjects/phrasings;
    "heldout_phrasing": training vocabulary in unseen templates/subjects/phrasings.
    """
    if split not in ("train", "heldout", "heldout_phrasing"):
        raise ValueError(f"unknown corpus split {split!r}")
    rng = random.Random(f"{CORPUS_VERSION}:{split}:{seed}")
    maker = _Maker(rng, split)
    kinds, weights = zip(*KIND_WEIGHTS.items())
    out = []
    for _ in range(n):
        out.append(getattr(maker, rng.choices(kinds, weights)[0])())
    return out


def bare_vocabulary(split: str = "train") -> list[Sample]:
    """Every emotion word and situation of a split alone, as a prompt ("walking on air")."""
    L, vocab = _split_lists(split), vocabulary()
    return ([Sample(w, [vocab.words[w]], kind="emotion") for w in L["words"]]
            + [Sample(s, [vocab.phrases[s]], kind="situation") for s in L["situations"]])


def model_target(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """What the adapter should predict from the encoder text: (52,) ARKit, (11,) normalised dynamics.

    Intensity adverbs and negated parts are the phrase parser's job, so they do not appear here.
    """
    arkit = np.zeros(NUM_CHANNELS, dtype=np.float32)
    dyn = DYNAMICS_NEUTRAL.copy()
    for proto, grade in sample.emotions:
        a, d = prototype_target(proto, grade)
        arkit = np.maximum(arkit, a)
        dyn = dyn + (d - DYNAMICS_NEUTRAL)
    names = list(DYNAMICS)
    for name in sample.actions:
        act = action(name)
        arkit *= act.damp
        for ch in act.quiets:
            arkit[INDEX[ch]] = min(arkit[INDEX[ch]], QUIET_SCALE * max(arkit[INDEX[ch]], 0.0))
        for ch, v in act.arkit.items():
            arkit[INDEX[ch]] = max(arkit[INDEX[ch]], v)
        if act.dynamics:
            dyn[[names.index(k) for k in act.dynamics]] = normalise_dynamics(act.dynamics)[[names.index(k) for k in act.dynamics]]
    return np.clip(arkit, 0.0, 1.0), np.clip(dyn, 0.0, 1.0)


def encoder_texts(samples: list[Sample]) -> list[str]:
    """What the sentence encoder reads of each sample (the run-time parse's encoder text)."""
    return [parse_prompt(s.text).encoder_text or "" for s in samples]


def targets(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 52) ARKit and (N, 11) normalised dynamics targets of the samples."""
    pairs = [model_target(s) for s in samples]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
