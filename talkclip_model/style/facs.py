"""Facial Action Coding tables: action unit -> ARKit, and emotion prototypes in action units.

Prototypes follow the EMFACS-style predictions of Ekman & Friesen (happiness AU6+12, sadness
AU1+4+15, surprise AU1+2+5+26, fear AU1+2+4+5+7+20+26, anger AU4+5+7+23, disgust AU9+15+16,
contempt unilateral AU12+14) and the compound expressions of Du, Tao & Martinez (PNAS 2014).
Values are AU intensities 0..1 for a held expression under speech, so they stay moderate. The
words that name these prototypes are data (``style/data/``, loaded by ``vocabulary.py``).
"""

from __future__ import annotations

import numpy as np

from talkclip_model.arkit import INDEX, NUM_CHANNELS
from talkclip_model.style.dynamics import DYNAMICS_NEUTRAL, normalise_dynamics

# Action unit -> ARKit channels it moves (weight at full AU intensity). L/R suffixes are one side.
AU_TO_ARKIT: dict[str, dict[str, float]] = {
    "1": {"browInnerUp": 1.0},
    "2": {"browOuterUpLeft": 1.0, "browOuterUpRight": 1.0},
    "L2": {"browOuterUpLeft": 1.0},
    "4": {"browDownLeft": 1.0, "browDownRight": 1.0},
    "5": {"eyeWideLeft": 1.0, "eyeWideRight": 1.0},
    "6": {"cheekSquintLeft": 1.0, "cheekSquintRight": 1.0, "eyeSquintLeft": 0.4, "eyeSquintRight": 0.4},
    "7": {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0},
    "9": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0, "mouthUpperUpLeft": 0.3, "mouthUpperUpRight": 0.3},
    "10": {"mouthUpperUpLeft": 1.0, "mouthUpperUpRight": 1.0},
    "12": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
    "L12": {"mouthSmileLeft": 1.0},
    "14": {"mouthDimpleLeft": 1.0, "mouthDimpleRight": 1.0},
    "L14": {"mouthDimpleLeft": 1.0},
    "15": {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0},
    "16": {"mouthLowerDownLeft": 1.0, "mouthLowerDownRight": 1.0},
    "17": {"mouthShrugLower": 1.0, "mouthShrugUpper": 0.3},
    "18": {"mouthPucker": 1.0},
    "19": {"tongueOut": 1.0},
    "20": {"mouthStretchLeft": 1.0, "mouthStretchRight": 1.0},
    "22": {"mouthFunnel": 1.0},
    "23": {"mouthPressLeft": 0.7, "mouthPressRight": 0.7},
    "24": {"mouthPressLeft": 1.0, "mouthPressRight": 1.0},
    "25": {"jawOpen": 0.3},  # lips part; the decoder articulates the jaw, the style only biases it
    "26": {"jawOpen": 0.5},
    "28": {"mouthRollLower": 1.0, "mouthRollUpper": 1.0},
    "29": {"jawForward": 1.0},
    "30": {"jawLeft": 1.0},
    "34": {"cheekPuff": 1.0},
    "43": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "64": {"eyeLookDownLeft": 1.0, "eyeLookDownRight": 1.0},
    "63": {"eyeLookUpLeft": 1.0, "eyeLookUpRight": 1.0},
}

JAW_OPEN_MAX = 0.2  # the held style never opens the jaw further than this


def au_vector(aus: dict[str, float]) -> np.ndarray:
    """(52,) ARKit activations of a set of action units {AU: intensity 0..1}."""
    out = np.zeros(NUM_CHANNELS, dtype=np.float32)
    for au, level in aus.items():
        for name, w in AU_TO_ARKIT[au].items():
            out[INDEX[name]] = max(out[INDEX[name]], w * level)
    out[INDEX["jawOpen"]] = min(out[INDEX["jawOpen"]], JAW_OPEN_MAX)
    return out


# Emotion families: the seven basic ones plus neutral (training judges "the right emotion" by them).
FAMILIES = ("neutral", "happy", "sad", "angry", "fear", "surprise", "disgust", "contempt")

# Prototype -> (family, AUs at full grade, dynamics at full grade). Family None: not one of the
# basic seven (confusion, boredom, ...); judged by its actions only.
PROTOTYPES: dict[str, tuple[str | None, dict[str, float], dict[str, float]]] = {
    "neutral": ("neutral", {}, {}),
    "calm": ("neutral", {}, {"head_motion": 0.45, "expressiveness": 0.6, "blink_rate": 13.0}),
    "happy": ("happy", {"6": 0.55, "12": 0.75, "25": 0.2},
              {"expressiveness": 1.3, "head_motion": 1.3, "articulation": 1.15, "head_pitch": -0.05}),
    "amused": ("happy", {"6": 0.6, "12": 0.8, "25": 0.3, "14": 0.2}, {"expressiveness": 1.3, "head_motion": 1.3, "head_roll": 0.08}),
    "tender": ("happy", {"6": 0.3, "12": 0.45, "1": 0.2}, {"expressiveness": 0.9, "head_motion": 0.7, "head_roll": 0.12, "articulation": 0.85}),
    "excited": ("happy", {"1": 0.3, "2": 0.4, "5": 0.3, "6": 0.5, "12": 0.8, "25": 0.3},
                {"expressiveness": 1.6, "head_motion": 1.8, "articulation": 1.35, "blink_rate": 22.0}),
    "proud": ("happy", {"12": 0.45, "6": 0.2, "24": 0.2}, {"head_pitch": -0.15, "head_motion": 0.8, "gaze_aversion": 0.0}),
    "relieved": ("happy", {"1": 0.3, "12": 0.45, "6": 0.2}, {"head_motion": 0.7, "expressiveness": 0.9, "articulation": 0.9}),
    # sad: the face carries it (inner brows up, lip corners down, a slight squint); the head drop stays modest
    "sad": ("sad", {"1": 0.7, "4": 0.35, "7": 0.25, "15": 0.65, "17": 0.3, "64": 0.2},
            {"head_pitch": 0.08, "gaze_pitch": -0.4, "head_motion": 0.55, "articulation": 0.75,
             "expressiveness": 0.8, "blink_rate": 13.0, "gaze_aversion": 0.3}),
    "disappointed": ("sad", {"1": 0.5, "15": 0.55, "17": 0.4, "64": 0.15},
                     {"head_pitch": 0.1, "gaze_pitch": -0.3, "head_motion": 0.6, "articulation": 0.85, "shake": 0.2}),
    "ashamed": ("sad", {"1": 0.5, "4": 0.3, "15": 0.4, "64": 0.4, "14": 0.2},
                {"head_pitch": 0.25, "gaze_pitch": -0.7, "gaze_aversion": 0.7, "head_motion": 0.5, "articulation": 0.7}),
    "tired": (None, {"43": 0.45, "1": 0.2, "15": 0.2},
              {"articulation": 0.6, "head_motion": 0.45, "expressiveness": 0.6, "blink_rate": 24.0, "head_pitch": 0.1, "gaze_pitch": -0.2}),
    "bored": (None, {"43": 0.35, "14": 0.3, "17": 0.2},
              {"articulation": 0.6, "head_motion": 0.4, "expressiveness": 0.5, "gaze_aversion": 0.5, "head_roll": 0.08}),
    "angry": ("angry", {"4": 0.85, "5": 0.3, "7": 0.55, "23": 0.6, "10": 0.2},
              {"articulation": 1.3, "expressiveness": 1.35, "head_motion": 1.4, "head_pitch": 0.08, "blink_rate": 12.0}),
    "frustrated": ("angry", {"4": 0.6, "7": 0.35, "24": 0.5, "17": 0.4},
                   {"articulation": 1.15, "head_motion": 1.2, "shake": 0.3}),
    "determined": ("angry", {"4": 0.45, "24": 0.45, "17": 0.3, "7": 0.2}, {"articulation": 1.2, "head_motion": 0.9, "gaze_aversion": 0.0, "nod": 0.2}),
    "fear": ("fear", {"1": 0.7, "2": 0.5, "4": 0.4, "5": 0.75, "7": 0.2, "20": 0.55, "25": 0.3},
             {"blink_rate": 30.0, "gaze_aversion": 0.45, "head_motion": 1.3, "head_pitch": 0.05, "articulation": 0.95}),
    "nervous": ("fear", {"1": 0.65, "4": 0.3, "20": 0.4, "24": 0.35, "5": 0.3},
                {"blink_rate": 36.0, "gaze_aversion": 0.6, "head_motion": 1.3, "articulation": 0.85, "gaze_pitch": -0.15}),
    "worried": ("fear", {"1": 0.7, "4": 0.45, "5": 0.25, "20": 0.35, "24": 0.25, "15": 0.1},
                {"blink_rate": 26.0, "gaze_aversion": 0.35, "head_motion": 0.9, "articulation": 0.9}),
    "surprise": ("surprise", {"1": 0.75, "2": 0.75, "5": 0.65, "26": 0.4},
                 {"blink_rate": 10.0, "head_motion": 1.3, "head_pitch": -0.08, "expressiveness": 1.3}),
    "disgust": ("disgust", {"9": 0.75, "10": 0.45, "15": 0.35, "16": 0.25, "4": 0.3, "7": 0.2},
                {"head_pitch": -0.05, "head_yaw": 0.1, "shake": 0.25, "expressiveness": 1.2}),
    "contempt": ("contempt", {"L12": 0.5, "L14": 0.55, "L2": 0.2},
                 {"head_pitch": -0.12, "head_roll": 0.08, "head_motion": 0.7, "gaze_aversion": 0.2}),
    "skeptical": ("contempt", {"L2": 0.55, "4": 0.2, "L14": 0.35, "7": 0.2}, {"head_roll": 0.12, "head_motion": 0.8}),
    "confused": (None, {"4": 0.5, "L2": 0.3, "7": 0.2, "1": 0.3}, {"head_roll": 0.15, "head_motion": 0.9, "articulation": 0.9}),
    "thoughtful": (None, {"4": 0.3, "17": 0.3, "63": 0.2}, {"gaze_aversion": 0.5, "gaze_pitch": 0.3, "head_motion": 0.6, "articulation": 0.85}),
    "interested": (None, {"1": 0.35, "2": 0.3, "12": 0.2}, {"head_roll": 0.1, "head_motion": 1.0, "nod": 0.3, "gaze_aversion": 0.0}),
    "serious": ("neutral", {"4": 0.3, "23": 0.3}, {"head_motion": 0.6, "expressiveness": 0.7, "gaze_aversion": 0.0}),
    "pain": (None, {"4": 0.7, "6": 0.5, "7": 0.6, "9": 0.4, "10": 0.4, "43": 0.3, "20": 0.3},
             {"head_motion": 1.1, "blink_rate": 28.0, "articulation": 0.8}),
    "flirty": ("happy", {"L12": 0.55, "12": 0.25, "6": 0.25, "L2": 0.2},
               {"head_roll": 0.15, "gaze_aversion": 0.3, "head_pitch": 0.08, "expressiveness": 1.1}),
    "smug": ("contempt", {"L12": 0.55, "L14": 0.4, "12": 0.15}, {"head_pitch": -0.15, "head_motion": 0.7}),
    "sulky": ("sad", {"18": 0.35, "17": 0.5, "15": 0.45, "4": 0.3},
              {"gaze_aversion": 0.5, "gaze_pitch": -0.3, "head_motion": 0.5, "articulation": 0.7}),
    # Compound expressions (Du, Tao & Martinez 2014), AU lists from their table 1.
    "happily_surprised": ("surprise", {"1": 0.7, "2": 0.65, "5": 0.4, "12": 0.7, "6": 0.3, "25": 0.35},
                          {"expressiveness": 1.5, "head_motion": 1.5, "articulation": 1.2}),
    "happily_disgusted": ("disgust", {"10": 0.5, "12": 0.55, "9": 0.3, "25": 0.2}, {"expressiveness": 1.2}),
    "sadly_fearful": ("fear", {"1": 0.7, "4": 0.5, "20": 0.45, "25": 0.2, "15": 0.3}, {"blink_rate": 28.0, "gaze_aversion": 0.5}),
    "sadly_angry": ("angry", {"4": 0.75, "7": 0.45, "15": 0.5, "23": 0.25, "1": 0.1}, {"head_motion": 1.0, "articulation": 1.05}),
    "sadly_surprised": ("surprise", {"1": 0.7, "4": 0.35, "25": 0.3, "26": 0.3, "15": 0.2}, {"head_motion": 0.9}),
    "fearfully_surprised": ("fear", {"1": 0.75, "2": 0.7, "5": 0.8, "20": 0.45, "25": 0.35},
                            {"blink_rate": 24.0, "head_motion": 1.4}),
    "angrily_surprised": ("surprise", {"4": 0.55, "5": 0.5, "25": 0.3, "26": 0.3, "2": 0.2}, {"head_motion": 1.4, "articulation": 1.2}),
    "angrily_disgusted": ("disgust", {"4": 0.65, "9": 0.5, "10": 0.5, "17": 0.4}, {"head_motion": 1.2, "articulation": 1.15}),
    "disgustedly_surprised": ("surprise", {"1": 0.6, "2": 0.6, "5": 0.5, "9": 0.3, "10": 0.45}, {"head_motion": 1.2}),
    "appalled": ("disgust", {"4": 0.5, "9": 0.6, "10": 0.6, "1": 0.3, "5": 0.3}, {"head_motion": 1.1, "shake": 0.4}),
    "hateful": ("angry", {"4": 0.75, "7": 0.55, "10": 0.55, "9": 0.3}, {"articulation": 1.25, "head_motion": 1.0}),
    "awed": ("surprise", {"1": 0.6, "2": 0.55, "5": 0.45, "25": 0.35, "12": 0.2}, {"head_motion": 0.7, "blink_rate": 10.0, "head_pitch": -0.1}),
}


def prototype_target(name: str, grade: float) -> tuple[np.ndarray, np.ndarray]:
    """(52,) ARKit and (11,) normalised dynamics of a prototype at a grade (0..1+)."""
    _, aus, dyn = PROTOTYPES[name]
    arkit = au_vector({au: min(1.0, v * grade) for au, v in aus.items()})
    full = normalise_dynamics(dyn)
    return arkit, DYNAMICS_NEUTRAL + (full - DYNAMICS_NEUTRAL) * grade


def family_of(prototype: str) -> str | None:
    return PROTOTYPES[prototype][0]
