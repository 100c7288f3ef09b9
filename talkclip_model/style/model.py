"""Run time of the text -> SpeakingStyle model: frozen encoder -> adapter ONNX, blended with the
phrase parser; style-editing expressions; global intensity. numpy + onnxruntime only.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, INDEX, NUM_CHANNELS
from talkclip_model.errors import TalkclipError
from talkclip_model.style.dynamics import (
    DYNAMICS_NEUTRAL,
    denormalise_dynamics,
    normalise_dynamics,
)
from talkclip_model.style.encoders import ort_session
from talkclip_model.style.facs import JAW_OPEN_MAX, prototype_target
from talkclip_model.style.phrases import ParsedPrompt, parse_prompt
from talkclip_model.style.weights import verify_sha256
from talkclip_model.types import DYNAMICS, SpeakingStyle, default_dynamics

MAX_PROMPT_CHARS = 1000  # longer prompts are cut here (with a warning) before anything reads them
MAX_EDIT_WEIGHT = 10.0
LEARNED_FLOOR = 0.1  # adapter outputs below this read as noise
NAMED_EMOTION_WEIGHT = 0.6  # share of a named emotion word's FACS prototype in the blend (rest: adapter)
# Headroom for the decoder's motion on top of the held expression: a held channel eases into a soft knee above
# HELD_KNEE and never reaches HELD_MAX, so stronger wording stays stronger but nothing is pinned at 1.0.
HELD_KNEE = 0.8
HELD_MAX = 0.95
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


def clean_prompt(prompt: str) -> str:
    """Control characters out, whitespace collapsed, very long prompts truncated (warned)."""
    text = _CONTROL_RE.sub(" ", str(prompt))
    if len(text) > MAX_PROMPT_CHARS:
        warnings.warn(f"style prompt is {len(text)} characters long; only the first {MAX_PROMPT_CHARS} are used",
                      UserWarning, stacklevel=3)
        text = text[:MAX_PROMPT_CHARS]
    return " ".join(text.split())


def soft_ceiling(arkit: np.ndarray) -> np.ndarray:
    """Identity up to HELD_KNEE, then a tanh knee towards HELD_MAX (slope 1 at the knee, strictly increasing)."""
    x = np.asarray(arkit, dtype=np.float64)
    room = HELD_MAX - HELD_KNEE
    return np.where(x > HELD_KNEE, HELD_KNEE + room * np.tanh((x - HELD_KNEE) / room), x).astype(np.float32)


def blend(parsed: ParsedPrompt, learned_arkit: np.ndarray, learned_dyn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Combine the adapter's output with the parsed prompt -> (52,) ARKit, (11,) normalised dynamics.

    learned (blended with the FACS prototypes of emotion words named outright) x damp x intensity scale, contradicting/negated channels held quiet, named actions
    at least as strong as the phrase says, negated channels zero, conflict caps (``parsed.ceiling``), a soft knee
    below HELD_MAX, explicit dynamics override.
    """
    f = parsed.scale
    # A soft floor removes the adapter's diffuse low-level output (a neutral prompt stays neutral).
    learned_arkit = np.clip((np.asarray(learned_arkit, dtype=np.float32) - LEARNED_FLOOR) / (1.0 - LEARNED_FLOOR), 0.0, 1.0)
    learned_dyn = np.asarray(learned_dyn, dtype=np.float32)
    if parsed.emotions:  # emotion words named outright anchor the learned gestalt
        named = [prototype_target(p, g) for p, g in parsed.emotions]
        named_arkit = np.max([a for a, _ in named], axis=0)
        named_dyn = np.clip(DYNAMICS_NEUTRAL + np.sum([d - DYNAMICS_NEUTRAL for _, d in named], axis=0), 0.0, 1.0)
        learned_arkit = (1.0 - NAMED_EMOTION_WEIGHT) * learned_arkit + NAMED_EMOTION_WEIGHT * named_arkit
        learned_dyn = (1.0 - NAMED_EMOTION_WEIGHT) * learned_dyn + NAMED_EMOTION_WEIGHT * named_dyn
    arkit = learned_arkit * parsed.damp * f
    arkit = arkit * parsed.quiet
    arkit = np.where(parsed.arkit_set, np.maximum(arkit, parsed.arkit), arkit)
    arkit = np.where(parsed.arkit_exact, parsed.arkit, arkit)
    arkit = np.where((parsed.quiet == 0.0) & ~parsed.arkit_set, 0.0, arkit)  # "brows furrowed, not frowning": brows stay
    jaw = INDEX["jawOpen"]  # the held jaw stays small unless a named action opens it ("mouth hanging open")
    arkit[jaw] = min(arkit[jaw], max(JAW_OPEN_MAX, float(parsed.arkit[jaw]) if parsed.arkit_set[jaw] else 0.0))
    arkit = soft_ceiling(np.minimum(arkit, parsed.ceiling))
    dyn = DYNAMICS_NEUTRAL + (learned_dyn - DYNAMICS_NEUTRAL) * f
    if parsed.damp < 1.0:
        dyn = DYNAMICS_NEUTRAL + (dyn - DYNAMICS_NEUTRAL) * parsed.damp
    if parsed.dynamics:
        names = list(DYNAMICS)
        explicit = normalise_dynamics(parsed.dynamics)
        for k in parsed.dynamics:
            dyn[names.index(k)] = explicit[names.index(k)]
    return np.clip(arkit, 0.0, 1.0).astype(np.float32), np.clip(dyn, 0.0, 1.0).astype(np.float32)


# --- style-editing expressions: "angry" + 0.5*"smiling", 'calm' - 0.3*'sad' -----------------

_WEIGHT_RE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*\*?\s*(.*)$", re.S)


def _split_terms(text: str) -> list[tuple[int, str]] | None:
    """Top-level (sign, term) pieces, or None when the text is a plain prompt."""
    terms: list[tuple[int, str]] = []
    buf: list[str] = []
    sign, quote = 1, None
    is_expr = False
    i = 0
    while i < len(text):
        c = text[i]
        prev = "".join(buf).rstrip()
        if quote:
            buf.append(c)
            if c == quote:
                quote = None
        elif c in "\"'" and (not prev or prev.endswith("*") or re.fullmatch(r"\d*\.?\d+", prev)):
            quote = c
            is_expr = True
            buf.append(c)
        elif c == "+" or (c == "-" and (i == 0 or text[i - 1] in " \"'") and (i + 1 == len(text) or text[i + 1] in " \"'.0123456789")):
            is_expr = True
            terms.append((sign, "".join(buf).strip()))
            sign, buf = (1 if c == "+" else -1), []
        else:
            buf.append(c)
        i += 1
    if quote:
        raise TalkclipError(f"style expression {text!r}: unclosed quote")
    terms.append((sign, "".join(buf).strip()))
    if not is_expr:
        return None
    if terms and terms[0] == (1, "") and len(terms) > 1:
        terms = terms[1:]  # a leading sign
    return terms


def parse_expression(text: str) -> list[tuple[float, str]] | None:
    """``'"angry" + 0.5*"smiling"'`` -> [(1.0, 'angry'), (0.5, 'smiling')]; None for a plain prompt."""
    pieces = _split_terms(text)
    if pieces is None:
        return None
    out = []
    for sign, term in pieces:
        weight = 1.0
        m = _WEIGHT_RE.match(term)
        if m and (m.group(2).startswith(("\"", "'")) or "*" in term):
            weight, term = float(m.group(1)), m.group(2).strip()
        if len(term) >= 2 and term[0] == term[-1] and term[0] in "\"'":
            term = term[1:-1]
        if not term.strip():
            raise TalkclipError(f"style expression {text!r}: a term is empty (write e.g. \"angry\" + 0.5*\"smiling\")")
        if weight > MAX_EDIT_WEIGHT:
            raise TalkclipError(f"style expression {text!r}: weight {weight:g} is above {MAX_EDIT_WEIGHT:g}")
        out.append((sign * weight, term.strip()))
    return out


def read_adapter_meta(json_path: Path) -> dict:
    try:
        return json.loads(Path(json_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TalkclipError(f"{json_path}: style adapter description is missing") from None
    except (OSError, ValueError) as exc:
        raise TalkclipError(f"{json_path}: style adapter description is unreadable ({exc})") from None


class StyleModel:
    """Prompt expression -> SpeakingStyle. Load once with ``load_style_model``; thread-compatible."""

    def __init__(self, encoder, adapter_onnx: Path, meta: dict, providers: list[str] | None = None, bank=None):
        self.encoder = encoder
        self.meta = meta
        self.encoder_id = encoder.id
        if meta.get("encoder_hash") and meta["encoder_hash"] != encoder.hash:
            raise TalkclipError(f"{adapter_onnx}: adapter was trained for other encoder weights "
                                f"({str(meta['encoder_hash'])[:12]}..., this encoder is {str(encoder.hash)[:12]}...); "
                                "run `talkclip train-style` for it")
        if "onnx_sha256" not in meta:
            raise TalkclipError(f"{adapter_onnx}: adapter description has no onnx_sha256; retrain with talkclip train-style")
        verify_sha256(adapter_onnx, meta["onnx_sha256"], "style adapter")
        if tuple(meta.get("arkit_names", ())) != ARKIT_NAMES:
            raise TalkclipError(f"{adapter_onnx}: adapter channel names differ from the 52 ARKit names")
        if tuple(meta.get("dynamics_names", ())) != tuple(DYNAMICS):
            raise TalkclipError(f"{adapter_onnx}: adapter dynamics names differ from SpeakingStyle's")
        self.session = ort_session(adapter_onnx, providers)
        self.bank = bank  # optional ExampleBank: neighbours' labels blended with the adapter
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- pieces ------------------------------------------------------------------------
    def learned(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Adapter output for encoder texts: (N, 52) ARKit, (N, 11) normalised dynamics."""
        emb = self.encoder.encode(texts).astype(np.float32)
        arkit, dyn = self.session.run(["arkit", "dynamics"], {"embedding": emb})
        if self.bank is not None:
            arkit, dyn = self.bank.blend(emb, arkit, dyn)
        return arkit, dyn

    def prompt_vectors(self, prompt: str) -> tuple[np.ndarray, np.ndarray]:
        """One plain prompt -> (52,) ARKit, (11,) normalised dynamics (neutral when empty)."""
        text = clean_prompt(prompt)
        if text in self._cache:
            return self._cache[text]
        parsed = parse_prompt(text)
        if parsed.encoder_text:
            arkit, dyn = self.learned([parsed.encoder_text])
            arkit, dyn = arkit[0], dyn[0]
        else:  # everything was negation or adverbs: nothing left to feel
            arkit, dyn = np.zeros(NUM_CHANNELS, np.float32), DYNAMICS_NEUTRAL.copy()
        result = blend(parsed, arkit, dyn)
        if len(self._cache) < 4096:
            self._cache[text] = result
        return result

    # -- the contract ----------------------------------------------------------------------
    def style(self, prompt_expression: str, intensity: float = 1.0) -> SpeakingStyle:
        """Style for a prompt or an edit expression (``"angry" + 0.5*"smiling"``), scaled by intensity."""
        text = clean_prompt(prompt_expression if prompt_expression is not None else "")
        if not text:
            warnings.warn("empty style prompt: using the neutral style", UserWarning, stacklevel=2)
            return self.scale(SpeakingStyle.neutral(), intensity)
        terms = parse_expression(text) or [(1.0, text)]
        arkit = np.zeros(NUM_CHANNELS, np.float32)
        dyn_dev = np.zeros(len(DYNAMICS), np.float32)
        for weight, term in terms:
            a, d = self.prompt_vectors(term)
            arkit += weight * a
            dyn_dev += weight * (d - DYNAMICS_NEUTRAL)
        dynamics = denormalise_dynamics(np.clip(DYNAMICS_NEUTRAL + dyn_dev, 0.0, 1.0))
        style = SpeakingStyle(arkit=np.clip(arkit, 0.0, HELD_MAX), dynamics=dynamics, prompt=text)
        return self.scale(style, intensity) if intensity != 1.0 else style

    def scale(self, style: SpeakingStyle, intensity: float) -> SpeakingStyle:
        return scale_style(style, intensity)


MAX_INTENSITY = 10.0  # far past where every channel saturates; larger values are typos


def check_intensity(intensity: float) -> float:
    """``intensity`` as a float in 0..MAX_INTENSITY, or a one-line error naming it."""
    try:
        k = float(intensity)
    except (TypeError, ValueError):
        raise TalkclipError(f"intensity {intensity!r} is not a number") from None
    if not np.isfinite(k) or not 0 <= k <= MAX_INTENSITY:
        raise TalkclipError(f"intensity {intensity!r} is out of range (0 to {MAX_INTENSITY:g})")
    return k


def scale_style(style: SpeakingStyle, intensity: float) -> SpeakingStyle:
    """Scale a style's expression and its dynamics' departure from the defaults; clamp to range (a scaled-up
    expression stops at HELD_MAX)."""
    k = check_intensity(intensity)
    defaults = default_dynamics()
    dynamics = {name: defaults[name] + (float(v) - defaults[name]) * k for name, v in style.dynamics.items()}
    arkit = style.arkit * k if k <= 1.0 else np.minimum(style.arkit * k, np.maximum(style.arkit, HELD_MAX))
    return SpeakingStyle(arkit=np.clip(arkit, 0.0, 1.0), dynamics=dynamics, prompt=style.prompt)
