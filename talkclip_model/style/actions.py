"""Named facial actions and motions, the first thing the phrase parser looks for.

Each ``Action`` is a set of regular expressions ("nose wrinkled", "brows knitted", "nodding")
with the ARKit channels and dynamics it sets, the channels it contradicts, and how it reads when
negated or graded. The table is rules, not vocabulary, so it stays in code; ``_both`` writes the
two word orders ("knitted brows", "brows knitted") of one verb/noun pair.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

_POS = r"(?:(?:his|her|their|its|the|my|your|one's|a|both|two)\s+)?"
_GAP = r"(?:\s+[\w'-]+){0,2}?"
# A degree word written inside a fixed phrase ("mouth slightly open", "jaw fully dropped"); the parser reads its
# value from the vocabulary (intensifiers, action adjectives) and grades the action with it.
_DEG = (r"(?:(?:ever so |just |only )?(?:slightly|a little|a bit|a tiny bit|somewhat|partly|partially|barely|faintly|"
        r"mildly|moderately|fairly|quite|rather|very|really|extremely|fully|completely|totally|utterly)\s+)?")


def _both(verbs: str, nouns: str) -> list[str]:
    """Regexes for 'VERB (det) NOUN' and 'NOUN (is) VERB' (up to two words between)."""
    return [rf"\b(?:{verbs})\b{_GAP}\s+{_POS}(?:{nouns})\b", rf"\b(?:{nouns})\b{_GAP}\s+(?:{verbs})\b"]


def _lr(name: str, v: float) -> dict[str, float]:
    return {f"{name}Left": v, f"{name}Right": v}


@dataclass(frozen=True)
class Action:
    """A named facial action or motion: what it sets and what it contradicts."""

    name: str
    patterns: tuple[str, ...]
    arkit: dict[str, float] = field(default_factory=dict)
    dynamics: dict[str, float] = field(default_factory=dict)
    quiets: tuple[str, ...] = ()  # ARKit channels that contradict the action; held low when it is named
    self_negating: bool = False  # the phrase carries its own negation ("unblinking")
    damp: float = 1.0  # scale applied to the learned expression ("deadpan")
    negation_quiets: tuple[str, ...] | None = None  # channels "not <action>" holds at 0 (default: its main ones)
    sided: bool = False  # one-sided: written for the character's left, mirrored when the phrase says "right"
    weaken: float = 1.0  # share of a weakening degree word ("slightly") that applies; < 1 where "slightly" is the usual phrase


_SMILE_CH = ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight", "mouthDimpleLeft", "mouthDimpleRight")
_FROWN_CH = ("mouthFrownLeft", "mouthFrownRight")
_BROWDOWN_CH = ("browDownLeft", "browDownRight")
_BROWUP_CH = ("browInnerUp", "browOuterUpLeft", "browOuterUpRight")

# Order matters: specific phrases first; a matched span is blanked before later actions look.
ACTIONS: tuple[Action, ...] = (
    Action("unblinking", (r"\bunblinking(?:ly)?\b", r"\bwithout blinking\b", r"\bnever blinks?\b",
                          r"\bdoes(?:n't| not) blink\b", r"\bbarely blinks?\b"),
           dynamics={"blink_rate": 5.0}, self_negating=True),
    Action("no_eye_contact", (r"\bavoid\w* (?:\w+ )?eye contact\b", r"\bno eye contact\b", r"\bwithout (?:making )?eye contact\b",
                              r"\b(?:can't|cannot|won't|can not|will not|doesn't|does not) meet (?:[\w']+ )?(?:eyes|gaze)\b"),
           dynamics={"gaze_aversion": 0.85}, self_negating=True),
    Action("deadpan", (r"\bdeadpan\b", r"\bpoker[- ]fac\w*", r"\bexpressionless\b", r"\bblank(?:-faced)? (?:face|expression|stare|look)\b",
                       r"\bstone[- ]faced\b", r"\bstraight[- ]faced\b", r"\bemotionless\b", r"\bimpassive\w*\b", r"\bflat affect\b",
                       r"\bblank-faced\b", r"\bstoic\w*\b", r"\bstraight face\b"),
           dynamics={"expressiveness": 0.2, "head_motion": 0.35}, damp=0.25),
    Action("wink", (r"\bwink\w*\b(?: (?:\w+ )?(?:left|right) eye)?", r"\b(?:left|right) eye (?:\w+ )?wink\w*\b"),
           {"eyeBlinkLeft": 0.9, "mouthSmileLeft": 0.3, "cheekSquintLeft": 0.3}, sided=True),
    Action("smirk", (r"\bsmirk\w*\b", r"\b(?:lopsided|crooked|one-sided|half|sly|wry|side|asymmetric(?:al)?)[- ]?(?:smile|grin)s?\b",
                     r"\bsmil\w* (?:on|with) one side\b", r"\bone corner of (?:\w+ )?mouth (?:raised|up|lifted|curled)\b",
                     r"\b(?:one|a single) (?:lip |mouth )?corner (?:[\w-]+ ){0,4}?(?:up|raised|lifted|curled)\b",
                     r"\b(?:lip corner|corner of (?:\w+ )?mouth) (?:[\w-]+ ){0,3}?(?:up|raised|lifted) on one side\b"),
           {"mouthSmileLeft": 0.6, "mouthDimpleLeft": 0.35, "cheekSquintLeft": 0.2}, quiets=("mouthSmileRight",) + _FROWN_CH, sided=True),
    Action("lip_corner_puller", tuple(_both(r"rais\w*|lift\w*|pull\w* up|drawn up|turn\w* up|curl\w* up|up|upwards?|upturned",
                                            r"(?:lip|mouth) corners?|corners of (?:\w+ )?(?:mouth|lips)"))
           + (r"\blip corner puller\b", r"\blips? (?:\w+ )?(?:raised|lifted|turned up|curled up|pulled up) at the corners\b"),
           _lr("mouthSmile", 0.6), quiets=_FROWN_CH),
    Action("one_brow_raised", tuple(_both(r"raise[sd]?|raising|lift(?:s|ed|ing)?|arch(?:es|ed|ing)?|cock(?:s|ed|ing)?|up",
                                          r"(?:one|an|a single|a|left|right) (?:eye)?brow")),
           {"browOuterUpLeft": 0.75, "browInnerUp": 0.2, "browDownRight": 0.15}, quiets=("browOuterUpRight",), sided=True),
    Action("brow_frown", (r"\bfrown\w* with (?:\w+ )?(?:brows|eyebrows|forehead)\b(?:,? (?:but )?not (?:with )?(?:\w+ )?(?:mouth|lips))?",),
           {**_lr("browDown", 0.65), "browInnerUp": 0.2}, quiets=_FROWN_CH + _BROWUP_CH[1:]),
    Action("mouth_frown", (r"\bfrown\w* with (?:\w+ )?(?:mouth|lips)\b(?:,? (?:but )?not (?:with )?(?:\w+ )?(?:brows|eyebrows|eyes))?",),
           _lr("mouthFrown", 0.65), quiets=_SMILE_CH),
    Action("brows_knitted", tuple(_both(r"knit(?:s|ted|ting)?|furrow(?:s|ed|ing)?|drawn together|draws? together|pinch(?:es|ed)?|scrunch(?:es|ed)?|creased|wrinkled",
                                        r"(?:eye)?brows?|forehead")),
           {**_lr("browDown", 0.7), "browInnerUp": 0.1}, quiets=("browOuterUpLeft", "browOuterUpRight")),  # AU4, a trace of AU1
    Action("brows_sad", tuple(_both(r"pleading|tilted up|slanted|puppy[- ]dog|upturned|worried|sad", r"(?:eye)?brows?|eyes"))
           + tuple(_both(r"rais\w*|up|lift\w*", r"inner (?:eye)?brows?")) + (r"\binner brow raiser\b",), {"browInnerUp": 0.75},
           quiets=_BROWDOWN_CH),
    Action("outer_brows_raised", tuple(_both(r"rais\w*|up|lift\w*", r"outer (?:eye)?brows?")) + (r"\bouter brow raiser\b",),
           _lr("browOuterUp", 0.7), quiets=_BROWDOWN_CH),
    Action("brows_raised", tuple(_both(r"raise[sd]?|raising|lift(?:s|ed|ing)?|arch(?:es|ed|ing)?|up|high|shoot(?:s|ing)? up|shot up",
                                       r"(?:eye)?brows")),
           {"browInnerUp": 0.7, **_lr("browOuterUp", 0.7)}, quiets=_BROWDOWN_CH),
    Action("brows_lowered", tuple(_both(r"lower(?:s|ed|ing)?|down|drawn down|heavy|sunken|beetl\w*|frowning", r"(?:eye)?brows?"))
           + (r"\bbrow lowerer\b",),
           _lr("browDown", 0.7), quiets=_BROWUP_CH),
    Action("sneer", (r"\bsneer\w*\b",), {"mouthUpperUpLeft": 0.55, "noseSneerLeft": 0.35, "mouthDimpleLeft": 0.35, "mouthSmileLeft": 0.2},
           quiets=("mouthSmileRight",), sided=True),
    Action("nose_wrinkled", tuple(_both(r"wrinkl\w*|scrunch\w*|crinkl\w*|crumpl\w*|turn(?:s|ed|ing)? up", r"nose")) + (r"\bnose wrinkler\b",),
           {**_lr("noseSneer", 0.7), **_lr("mouthUpperUp", 0.3)}),
    Action("nostrils_flared", (r"\bflar\w* (?:\w+ )?nostrils\b", r"\bnostrils (?:are )?flar\w*\b"),
           {**_lr("noseSneer", 0.5), **_lr("mouthUpperUp", 0.15)}),
    Action("lips_parted", (rf"\b(?:lips|mouth) (?:(?:is|are) )?(?:half )?{_DEG}(?:parted|apart|ajar|open)\b", r"\blips part\b",
                           r"\b(?:slightly |partly |half )?parted lips\b", r"\bparting (?:\w+ )?lips\b", r"\bopen (?:mouth|lips)\b"),
           {"jawOpen": 0.3, **_lr("mouthLowerDown", 0.3)}, quiets=("mouthPressLeft", "mouthPressRight"), weaken=0.2),  # AU25
    Action("cheeks_raised", tuple(_both(r"rais\w*|lift\w*|bunched|plump\w*", r"cheeks?")) + (r"\bcheek raiser\b",),
           {**_lr("cheekSquint", 0.6), **_lr("eyeSquint", 0.2)}),
    Action("upper_lip_raised", tuple(_both(r"rais\w*|curl\w*|lift\w*|snarl\w*", r"(?:upper )?lips?")) + (r"\bsnarl\w*\b", r"\bupper lip raiser\b"),
           {**_lr("mouthUpperUp", 0.6), **_lr("noseSneer", 0.3)}),
    Action("lower_lip_down", (r"\blower lip (?:is )?(?:pulled|drawn|pushed|dragged|depressed|turned) down\w*\b", r"\blower lip depressed\b",
                              r"\bshow\w* (?:\w+ )?(?:bottom|lower) teeth\b", r"\blower lip depressor\b"), _lr("mouthLowerDown", 0.6)),
    Action("teeth_bared", tuple(_both(r"clench\w*|grit\w*|bar(?:e|es|ed|ing)|show\w*|grind\w*", r"teeth")),
           {**_lr("mouthUpperUp", 0.4), **_lr("mouthLowerDown", 0.4), **_lr("mouthStretch", 0.45)}, quiets=("jawOpen",)),
    Action("jaw_clenched", tuple(_both(r"clench\w*|set|tight\w*|tense\w*|locked|grit\w*", r"jaws?")),
           {**_lr("mouthPress", 0.6), "mouthClose": 0.2}, {"articulation": 0.75}, quiets=("jawOpen",)),
    Action("pursed_lips", tuple(_both(r"purs\w*", r"lips|mouth")), {"mouthPucker": 0.55, **_lr("mouthPress", 0.25)}),
    Action("puckered_lips", tuple(_both(r"pucker\w*|kiss\w*|puckered", r"lips|mouth")) + (r"\bpuckers?\b", r"\bpuckering\b",
                                                                                           r"\bblow\w* (?:\w+ )?kiss(?:es)?\b", r"\bkissy\b"),
           {"mouthPucker": 0.75}),
    Action("lips_pressed", tuple(_both(r"press\w*|tight\w*|thin|thinned|compress\w*|clamp\w*|sealed|pinched|firm(?:ly)? (?:set|closed)",
                                       r"lips|mouth")) + (r"\btight-lipped\b", r"\bthin-lipped\b", r"\blip (?:pressor|tightener)\b"),
           {**_lr("mouthPress", 0.7)}, quiets=("jawOpen", "mouthPucker", "mouthFunnel")),
    Action("lip_bite", tuple(_both(r"bit|bite|bites|biting|bitten|chew\w*|nibbl\w*", r"(?:lower )?lips?")), {"mouthRollLower": 0.6}),
    Action("upper_lip_rolled", tuple(_both(r"roll\w*|tuck\w*|suck\w*|pull\w* in|curl\w* in", r"upper lip")), {"mouthRollUpper": 0.6}),
    Action("lower_lip_rolled", tuple(_both(r"roll\w*|tuck\w*|suck\w*|pull\w* in|curl\w* in", r"lower lip")), {"mouthRollLower": 0.6}),
    Action("lips_rolled", tuple(_both(r"roll\w*|tuck\w*|suck\w*|pull\w* in", r"lips")), {"mouthRollLower": 0.6, "mouthRollUpper": 0.6},
           quiets=("mouthPucker", "mouthFunnel")),
    Action("pout", (r"\bpout\w*\b", r"\bstick\w* out (?:\w+ )?lower lip\b", r"\blower lip (?:stuck |pushed |jutting )?out\b"),
           {"mouthPucker": 0.45, "mouthShrugLower": 0.5, **_lr("mouthFrown", 0.3)}, quiets=_SMILE_CH),
    Action("chin_quiver", (r"\b(?:quiver\w*|trembl\w*|wobbl\w*) (?:chin|lips?|lower lip)\b", r"\b(?:chin|lips?|lower lip) (?:quiver\w*|trembl\w*|wobbl\w*)\b"),
           {"mouthShrugLower": 0.55, **_lr("mouthFrown", 0.3)}),
    Action("mouth_corners_down", tuple(_both(r"turned down|downturned|down-turned|droop\w*|sag\w*|pulled down|turn(?:s|ing)? down",
                                             r"mouth|lip corners|lips|corners of (?:his|her|their|the) mouth"))
           + tuple(_both(r"depress\w*|lower\w*|down|downwards?", r"(?:lip|mouth) corners?|corners of (?:\w+ )?(?:mouth|lips)"))
           + (r"\blip corner depressor\b",),
           _lr("mouthFrown", 0.65), quiets=_SMILE_CH),
    Action("grimace", (r"\bgrimac\w*\b",) + tuple(_both(r"stretch\w*|pulled back|drawn back|pulled wide|pulled tight|stretched tight|pulled taut",
                                                          r"lips|mouth")),
           {**_lr("mouthStretch", 0.6), **_lr("browDown", 0.35), **_lr("eyeSquint", 0.3)}),
    Action("lip_stretcher", (r"\blip stretcher\b",), _lr("mouthStretch", 0.6)),
    Action("eyes_wide", tuple(_both(r"wide|widen\w*|bulg\w*|popping|huge|wide open|saucers?|opened wide", r"eyes"))
           + (r"\bwide-eyed\b", r"\bsaucer-eyed\b", r"\bupper lid raiser\b", r"\bwhites (?:of (?:\w+ )?eyes )?(?:showing|visible)\b", r"\bwhites showing\b", r"\bupper (?:eye)?lids (?:raised|lifted|pulled up)\b", r"\b(?:rais|lift)\w* (?:\w+ )?upper (?:eye)?lids\b"),
           _lr("eyeWide", 0.8), quiets=("eyeSquintLeft", "eyeSquintRight", "eyeBlinkLeft", "eyeBlinkRight")),
    Action("squint", (r"\bsquint\w*\b",) + tuple(_both(r"narrow\w*|slitted|slits", r"eyes")) + tuple(_both(r"tighten\w*|tense\w*|tight", r"(?:eye)?lids"))
           + (r"\bnarrow-eyed\b", r"\blid tightener\b"),
           {**_lr("eyeSquint", 0.7), **_lr("browDown", 0.2)}, quiets=("eyeWideLeft", "eyeWideRight")),
    Action("eyes_droopy", tuple(_both(r"droop\w*|heavy|half-closed|half closed|hooded|half-shut|sleepy|heavy-lidded", r"eyes|eyelids|lids"))
           + (r"\bheavy-lidded\b", r"\bhalf-closed eyes\b"), _lr("eyeBlink", 0.45), quiets=("eyeWideLeft", "eyeWideRight")),
    Action("eyes_squeezed", tuple(_both(r"squeez\w*|scrunch\w*|screw\w*", r"eyes")) + (r"\beyes (?:\w+ )?shut tight(?:ly)?\b",
                                                                                      r"\btightly (?:shut|closed) eyes\b"),
           {**_lr("eyeBlink", 0.9), **_lr("eyeSquint", 0.6), **_lr("cheekSquint", 0.3)}, quiets=("eyeWideLeft", "eyeWideRight")),
    Action("eyes_closed", tuple(_both(r"closed|shut|close[sd]?|closing", r"eyes")), _lr("eyeBlink", 0.9), quiets=("eyeWideLeft", "eyeWideRight")),
    Action("eye_roll", tuple(_both(r"roll(?:s|ed|ing)?", r"eyes")), _lr("eyeLookUp", 0.7), {"gaze_pitch": 0.6}),
    Action("smiling_eyes", tuple(_both(r"crinkl\w*|smiling|twinkl\w*", r"eyes")) + (r"\bcrow's feet\b",),
           {**_lr("cheekSquint", 0.6), **_lr("eyeSquint", 0.3)}),
    Action("cheeks_puffed", tuple(_both(r"puff\w*|blown out|blow\w* out|inflat\w*|full of air|bulg\w*", r"cheeks?")), {"cheekPuff": 0.8}),
    Action("tongue_out", (r"\btongue (?:out|sticking out|poking out|hanging out)\b", r"\bstick\w* (?:\w+ )?tongue out\b",
                          r"\bstick\w* out (?:\w+ )?tongue\b", r"\btongue between (?:\w+ )?(?:teeth|lips)\b", r"\bpoke\w* out (?:\w+ )?tongue\b"),
           {"tongueOut": 0.7, "jawOpen": 0.25}),
    Action("jaw_forward", tuple(_both(r"jut\w*|thrust\w*|forward|push\w* out", r"jaw|chin")), {"jawForward": 0.5}),
    Action("jaw_dropped", (r"\bagape\b", r"\bgaping\b", r"\bopen\w* (?:\w+ )?mouth(?: wide)?\b", r"\b(?:say|says|saying) ['\"]?a+h+\b", r"\bmouth (?:hanging |falls? |fell |wide )?open\b", r"\bopen[- ]mouthed\b",
                           rf"\bjaw (?:(?:is|was) )?{_DEG}(?:drops?|dropped|dropping|hanging|on the floor)\b", r"\bdropp\w* jaw\b"),
           {"jawOpen": 0.3, **_lr("mouthLowerDown", 0.25)}, quiets=("mouthPressLeft", "mouthPressRight")),
    Action("dimples", (r"\bdimpl\w*\b",), _lr("mouthDimple", 0.5)),
    Action("chin_raiser", (r"\bchin (?:is )?(?:wrinkl|pucker|dimpl|bunch|crumpl|tens)\w*\b", r"\b(?:wrinkl|pucker|dimpl|bunch|crumpl)\w* chin\b",
                           r"\blower lip (?:is )?(?:pushed|pushing|jutting|thrust) up\w*\b", r"\bchin boss\b", r"\bchin raiser\b"),
           {"mouthShrugLower": 0.6, "mouthShrugUpper": 0.2}),
    Action("funnel", (r"\blips? (?:are )?funnel\w*\b", r"\bfunnel\w* (?:\w+ )?lips\b", r"\b(?:mouth|lips) (?:\w+ )?(?:in|into|making|forms?|forming|shaped like) an? ['\"]?(?:o|oh|oo|ooh)\b['\"]?(?: shape)?",
                      r"\binto an? ['\"]?(?:o|oh|oo|ooh)\b['\"]?(?: shape)?",
                      r"\bround\w* (?:\w+ )?lips\b", r"\blips (?:are )?round\w*\b",
                      r"\bo-shaped (?:mouth|lips)\b", r"\bwhistl\w*\b", r"\booh\w*\b", r"\bas if (?:saying|to say) (?:oo|ooh|oh|who)\b"),
           {"mouthFunnel": 0.6, "mouthPucker": 0.3}, quiets=("mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight")),
    Action("jaw_side", (r"\bjaw (?:is )?(?:shifted|pushed|moved|slid|slides|sliding|shifting|off|skewed|set)\w* (?:to )?(?:the |one )?(?:left|right|sideways|side)\b",
                        r"\bjaw (?:to )?(?:one|the) side\b", r"\bsideways jaw\b", r"\b(?:shift|mov|push|slid)\w* (?:\w+ )?jaw (?:to )?(?:the |one )?(?:left|right|side|sideways)\b"),
           {"jawLeft": 0.4}, sided=True),
    Action("mouth_side", (r"\b(?:pull|twist|push|shift|draw|screw|tug)\w* (?:\w+ )?mouth (?:up |over |off |across )?(?:to )?(?:the |one )?(?:left|right|sideways|side)\b",
                          r"\bmouth (?:is )?(?:pulled|twisted|pushed|shifted|drawn|screwed|skewed|tugged)\w* (?:up |over |off |across )?(?:to )?(?:the |one )?(?:left|right|sideways|side)\b",
                          r"\btwist\w* (?:\w+ )?mouth\b", r"\bmouth twist\w*\b", r"\blopsided mouth\b", r"\bsideways mouth\b"),
           {"mouthLeft": 0.45}, sided=True),
    Action("frown", (r"\bfrown\w*\b", r"\bscowl\w*\b", r"\bglower\w*\b", r"\bglar\w*\b"),
           {**_lr("browDown", 0.6), **_lr("mouthFrown", 0.4)}, quiets=_SMILE_CH),
    Action("fake_smile", (r"\b(?:smile|grin)s? that (?:doesn't|does not|don't|never) reach(?:es)? (?:\w+ )?eyes\b",
                          r"\bsmil\w* with (?:\w+ )?(?:mouth|lips)(?: only)?,? (?:but )?(?:not|never) (?:with )?(?:\w+ )?eyes\b",
                          r"\b(?:fake|forced|polite|social|plastic|tight|strained|false|pasted[- ]on|thin) (?:smile|grin)s?\b",
                          r"\bsmil\w* with (?:\w+ )?mouth only\b"),
           _lr("mouthSmile", 0.5), quiets=("cheekSquintLeft", "cheekSquintRight", "eyeSquintLeft", "eyeSquintRight")),
    Action("smile", (r"\bsmil(?:e|es|ed|ing|ey)\b", r"\bgrin(?:s|ned|ning)?\b", r"\bbeam(?:s|ed|ing)\b"),
           {**_lr("mouthSmile", 0.65), **_lr("cheekSquint", 0.3)}, quiets=_FROWN_CH),
    Action("laugh", (r"\blaugh\w*\b", r"\bgiggl\w*\b", r"\bchuckl\w*\b"),
           {**_lr("mouthSmile", 0.75), **_lr("cheekSquint", 0.5), "jawOpen": 0.15}, {"head_motion": 1.6}, quiets=_FROWN_CH,
           negation_quiets=()),  # "trying not to laugh" may still smile
    # motion and gaze
    Action("nod", (r"\bnod(?:s|ded|ding)?\b", r"\bnodding along\b"), dynamics={"nod": 0.8, "head_motion": 1.3}),
    Action("shake", (r"\bshak\w* (?:\w+ )?head\b", r"\bhead[- ]shak\w*\b", r"\bhead (?:is )?shaking\b"), dynamics={"shake": 0.8, "head_motion": 1.3}),
    Action("head_tilt", tuple(_both(r"tilt\w*|cock\w*|tipp\w*|lean\w*", r"head")), dynamics={"head_roll": 0.2}),
    Action("head_down", tuple(_both(r"bow\w*|lower\w*|hung|hang\w*|drooping|down", r"head")),
           _lr("eyeLookDown", 0.25), {"head_pitch": 0.3, "gaze_pitch": -0.4}),
    Action("look_down", (r"\b(?:look|glanc|gaz|peer|peek|star)\w* down(?:ward|wards)?\b", r"\bdowncast\b", r"\beyes (?:down|lowered|on the (?:floor|ground))\b", r"\blowered eyes\b",
                         r"\bstar\w* (?:down )?at (?:the|his|her|their|my) (?:floor|feet|ground|shoes|hands)\b", r"\bgaz\w* down\w*\b",
                         r"\bgaze (?:lowered|down)\b", r"\blooking at the floor\b"),
           _lr("eyeLookDown", 0.35), {"gaze_pitch": -0.6, "head_pitch": 0.15}),
    Action("look_up", (r"\b(?:look|gaz|glanc|peer|peek|star)\w* up(?:ward|wards)?\b", r"\beyes flick\w* up\w*\b", r"\beyes (?:turned )?up(?:ward)?s?\b", r"\bstar\w* at the (?:sky|ceiling)\b"),
           _lr("eyeLookUp", 0.3), {"gaze_pitch": 0.6, "head_pitch": -0.1}),
    Action("chin_up", (r"\bchin (?:up|raised|held high|lifted)\b", r"\bhead (?:held )?high\b", r"\bnose in the air\b",
                       r"\blift\w* (?:\w+ )?chin\b", r"\bhead tilted back\b"), dynamics={"head_pitch": -0.2}),
    Action("cross_eyed", (r"\bcross[- ]?eyed\b", r"\beyes crossed\b", r"\bcross\w* (?:\w+ )?eyes\b"), _lr("eyeLookIn", 0.6)),
    Action("look_away", (r"\blook\w* away\b", r"\baverted (?:eyes|gaze)\b", r"\bavert\w* (?:\w+ )?(?:eyes|gaze)\b", r"\bshifty[- ]eyed\b",
                         r"\bshifty eyes\b", r"\bdarting eyes\b", r"\beyes dart\w*\b", r"\blooking off to the side\b",
                         r"\bglanc\w* (?:away|sideways|around)\b", r"\bturn\w* (?:\w+ )?head away\b",
                         r"\bsideways (?:look|glance|stare|gaze)s?\b", r"\bside[- ]?eye\w*\b", r"\bsidelong (?:look|glance)s?\b",
                         r"\b(?:look|glanc|gaz|star|peer)\w* (?:to|towards|toward|at) (?:the |her |his |their )?(?:left|right|side)\b",
                         r"\beyes (?:turned |darting |slid\w* )?(?:to|towards) (?:the )?(?:left|right|side)\b"),
           {"eyeLookOutLeft": 0.4, "eyeLookInRight": 0.4}, {"gaze_aversion": 0.8, "head_yaw": 0.15}, sided=True),
    Action("eye_contact", (r"\b(?:direct|steady|steely|unwavering|intense|firm) (?:eye contact|gaze|stare)\b", r"\bmak\w* eye contact\b",
                           r"\beye contact\b", r"\bstar\w* (?:straight|directly|right) (?:at|ahead)\b",
                           r"\blook\w* (?:straight|directly|right) (?:at|ahead|into)\b", r"\blooks? you in the eyes?\b"),
           dynamics={"gaze_aversion": 0.0, "blink_rate": 10.0}),
    Action("blinking", (r"\bblink\w* (?:a lot|rapidly|constantly|fast|quickly|often|nervously|repeatedly|hard)\b",
                        r"\brapid(?:ly)? blink\w*\b", r"\bflutter\w* (?:\w+ )?(?:eye)?lashes\b", r"\bkeeps? blinking\b",
                        r"\bblinking\b"),
           dynamics={"blink_rate": 42.0}),
    Action("still", (r"\b(?:sits|stands|keeps|holds|perfectly|very|stock|stays|remains|is) still\b", r"\bstock-still\b",
                     r"\bmotionless\b", r"\bunmoving\b", r"\bminimal (?:head )?movement\b", r"\bbarely mov(?:es|ing)\b(?! (?:\w+ )?(?:lips|mouth))",
                     r"\brigid\w*\b", r"\bstiffly\b", r"\bfrozen\b", r"\bcalm(?:ly)?\b", r"\bserene\w*\b", r"\bcomposed\b",
                     r"\brelaxed\b", r"\btranquil\w*\b", r"\bstill\b(?=[\s,.]*$)"),
           dynamics={"head_motion": 0.3, "expressiveness": 0.6}, damp=0.6),
    Action("animated", (r"\banimated(?:ly)?\b", r"\blively\b", r"\benergetic\w*\b", r"\bgesturing\b", r"\bbounc\w*\b",
                        r"\bbobb\w*\b", r"\bfidget\w*\b", r"\brestless\w*\b", r"\bhyper\b", r"\bbubbly\b", r"\bexuberant\w*\b"),
           dynamics={"head_motion": 1.9, "expressiveness": 1.5}),
    Action("mumbling", (r"\bmumbl\w*\b", r"\bmutter\w*\b", r"\bwhisper\w*\b", r"\bunder (?:his|her|their|my) breath\b",
                        r"\bbarely mov\w* (?:\w+ )?(?:lips|mouth)\b", r"\bslurr\w*\b", r"\bmonotone\b", r"\blazy (?:speech|lips|mouth)\b",
                        r"\bsoft(?:ly)?[- ]spoken\b", r"\bmurmur\w*\b", r"\binaudibl\w*\b"),
           dynamics={"articulation": 0.45, "head_motion": 0.6}),
    Action("shouting", (r"\bexaggerat\w*\b", r"\bshout\w*\b", r"\byell\w*\b", r"\bscream\w*\b", r"\bbellow\w*\b",
                        r"\bover-?enunciat\w*\b", r"\benunciat\w*\b", r"\barticulat\w* (?:clearly|carefully|precisely|every)\w*\b",
                        r"\bprojecting\b", r"\bloud(?:ly)?\b", r"\bbooming\b", r"\bholler\w*\b", r"\broar\w*\b", r"\bhamming it up\b",
                        r"\btheatrical\w*\b", r"\bover the top\b", r"\bcartoon(?:ish|y)\b"),
           dynamics={"articulation": 1.65, "head_motion": 1.6, "expressiveness": 1.4}),
)
QUIET_SCALE = 0.1  # a channel that contradicts a named action keeps at most this share (so it stays <= 0.1)
_ACTION_BY_NAME = {a.name: a for a in ACTIONS}


def action(name: str) -> Action:
    return _ACTION_BY_NAME[name]


def mirror(name: str) -> str:
    """ARKit channel of the other side: browOuterUpLeft <-> browOuterUpRight, jawLeft <-> jawRight."""
    for a, b in (("Left", "Right"), ("Right", "Left")):
        if name.endswith(a):
            return name[: -len(a)] + b
    return name


@functools.cache
def compiled_actions() -> tuple[tuple[Action, re.Pattern], ...]:
    """(action, compiled pattern) in table order, compiled once on first use."""
    return tuple((a, re.compile(p, re.IGNORECASE)) for a in ACTIONS for p in a.patterns)
