"""Draw a SpeakingStyle to PNG: the strongest channels as bars, and a face-region heat map.

matplotlib is imported inside ``plot_style`` (optional dependency: pip install 'talkclip[plot]').
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, INDEX, REGIONS
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_path, check_output_path
from talkclip_model.types import DYNAMICS, SpeakingStyle

REGION_COLOURS = {"eyes": "#4c72b0", "brows": "#dd8452", "jaw": "#55a868", "mouth": "#c44e52",
                  "cheeks_nose": "#8172b3", "tongue": "#937860"}

# Face patches: (label, x, y, width, height, channels whose max colours the patch). x is the
# viewer's axis, so the character's left side is drawn on the right.
FACE_PATCHES = (
    ("brow R", -0.45, 0.55, 0.5, 0.12, ("browDownRight", "browOuterUpRight", "browInnerUp")),
    ("brow L", 0.45, 0.55, 0.5, 0.12, ("browDownLeft", "browOuterUpLeft", "browInnerUp")),
    ("eye R", -0.45, 0.3, 0.42, 0.2, ("eyeBlinkRight", "eyeSquintRight", "eyeWideRight")),
    ("eye L", 0.45, 0.3, 0.42, 0.2, ("eyeBlinkLeft", "eyeSquintLeft", "eyeWideLeft")),
    ("nose", 0.0, 0.0, 0.3, 0.32, ("noseSneerLeft", "noseSneerRight")),
    ("cheek R", -0.6, -0.15, 0.35, 0.3, ("cheekSquintRight", "cheekPuff")),
    ("cheek L", 0.6, -0.15, 0.35, 0.3, ("cheekSquintLeft", "cheekPuff")),
    ("mouth R", -0.22, -0.45, 0.42, 0.2, ("mouthSmileRight", "mouthFrownRight", "mouthStretchRight", "mouthDimpleRight",
                                           "mouthPressRight", "mouthUpperUpRight", "mouthLowerDownRight")),
    ("mouth L", 0.22, -0.45, 0.42, 0.2, ("mouthSmileLeft", "mouthFrownLeft", "mouthStretchLeft", "mouthDimpleLeft",
                                          "mouthPressLeft", "mouthUpperUpLeft", "mouthLowerDownLeft")),
    ("lips", 0.0, -0.62, 0.5, 0.12, ("mouthPucker", "mouthFunnel", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
                                      "mouthShrugUpper", "tongueOut")),
    ("jaw", 0.0, -0.85, 0.7, 0.16, ("jawOpen", "jawForward", "jawLeft", "jawRight", "mouthClose")),
)


def _region_of(name: str) -> str:
    return next(r for r, names in REGIONS.items() if name in names)


def plot_style(style: SpeakingStyle, path: str | Path, top: int = 16, overwrite: bool = True) -> Path:
    """Write a PNG explaining what a prompt did; returns the path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Ellipse, FancyBboxPatch
    except ImportError:
        raise TalkclipError("--plot needs matplotlib: pip install 'talkclip[plot]'") from None
    path = check_output_path(path, overwrite=overwrite)  # fail before drawing, not after
    arkit = np.asarray(style.arkit, dtype=float)
    order = [i for i in np.argsort(-arkit)[:top] if arkit[i] > 0.01][::-1]

    fig, (ax_bar, ax_face) = plt.subplots(1, 2, figsize=(11, 5.2), gridspec_kw={"width_ratios": [1.3, 1]})
    title = style.prompt if len(style.prompt) <= 90 else style.prompt[:87] + "..."
    fig.suptitle(f"style: {title or '(neutral)'}", fontsize=11)
    if order:
        ax_bar.barh([ARKIT_NAMES[i] for i in order], [arkit[i] for i in order],
                    color=[REGION_COLOURS[_region_of(ARKIT_NAMES[i])] for i in order])
    else:
        ax_bar.text(0.5, 0.5, "neutral: no held expression", ha="center", va="center", transform=ax_bar.transAxes)
    ax_bar.set_xlim(0, 1)
    ax_bar.set_xlabel("activation (0..1)")
    ax_bar.tick_params(axis="y", labelsize=8)
    changed = [f"{k} {v:.2f}" for k, v in style.dynamics.items()
               if abs(v - DYNAMICS[k][0]) > 0.02 * (DYNAMICS[k][2] - DYNAMICS[k][1])]
    ax_bar.set_title("dynamics: " + (", ".join(changed) if changed else "defaults"), fontsize=8, wrap=True)

    cmap = plt.get_cmap("magma_r")
    ax_face.add_patch(Ellipse((0, 0), 2.2, 2.5, facecolor="#f4efe9", edgecolor="#888888"))
    for label, x, y, w, h, names in FACE_PATCHES:
        value = max(float(arkit[INDEX[n]]) for n in names)
        ax_face.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                         facecolor=cmap(0.1 + 0.85 * value), edgecolor="#555555"))
        ax_face.text(x, y, f"{label}\n{value:.2f}", ha="center", va="center", fontsize=7,
                     color="white" if value > 0.5 else "black")
    ax_face.set_xlim(-1.2, 1.2)
    ax_face.set_ylim(-1.3, 1.3)
    ax_face.set_aspect("equal")
    ax_face.axis("off")
    ax_face.set_title("face regions (strongest channel); character's left on the right", fontsize=8)
    fig.tight_layout()
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:  # the format follows the suffix (png, pdf, svg)
            fig.savefig(tmp, dpi=110)
    except OSError as exc:
        raise TalkclipError(f"{path}: cannot write the plot ({exc})") from None
    finally:
        plt.close(fig)
    return path
