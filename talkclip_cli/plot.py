"""Plots of a take: the main channels (or each layer) over time, with phones and style changes.

``talkclip plot TAKE.json --out take.png [--channels jawOpen,eyeBlinkLeft]``. matplotlib (Agg)
is imported only when a plot is drawn, so registering the subcommand costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from exporters.formats import read_track
from talkclip_model.arkit import INDEX, eye_look_to_gaze
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_path, check_output_path

# Default panels for a track without layers: title -> [(label, channels averaged)].
PANELS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "mouth": [("jawOpen", ("jawOpen",)), ("mouthClose", ("mouthClose",)),
              ("mouthFunnel", ("mouthFunnel",)), ("mouthPucker", ("mouthPucker",))],
    "expression": [("smile", ("mouthSmileLeft", "mouthSmileRight")),
                   ("frown", ("mouthFrownLeft", "mouthFrownRight")),
                   ("browInnerUp", ("browInnerUp",)),
                   ("browOuterUp", ("browOuterUpLeft", "browOuterUpRight")),
                   ("browDown", ("browDownLeft", "browDownRight"))],
}
MAX_LAYER_CHANNELS = 6  # a layer panel shows its most active channels
HEAD_COLOURS = ("tab:red", "tab:green", "tab:blue")


def _gaze(arkit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaze yaw (+ = character's left) and pitch (+ = down) in eyeLook units, both eyes averaged."""
    gaze = eye_look_to_gaze(arkit)  # (T, eye, yaw/pitch)
    return 0.5 * (gaze[:, 0, 0] + gaze[:, 1, 0]), 0.5 * (gaze[:, 0, 1] + gaze[:, 1, 1])


def _channel_indices(channels: Sequence[str]) -> list[tuple[str, int]]:
    out = []
    for name in channels:
        key = name.strip()
        key = key[:1].lower() + key[1:]
        if key not in INDEX:
            raise TalkclipError(f"--channels: {name.strip()!r} is not an ARKit blendshape name")
        out.append((key, INDEX[key]))
    return out


Panel = tuple[str, list[tuple[str, np.ndarray]]]  # (title, [(label, values (T,))])


def _panels(track, chosen: list[tuple[str, int]] | None) -> list[Panel]:
    """The named channels; else each layer's most active channels (or the default mouth and
    expression panels) and the eyes; then the head."""
    arkit = track.arkit
    panels: list[Panel] = []
    if chosen:
        panels.append(("channels", [(n, arkit[:, i]) for n, i in chosen]))
    elif track.layers:
        for name, layer in track.layers.items():
            spread = layer.max(axis=0) - layer.min(axis=0)
            top = [i for i in np.argsort(-spread)[:MAX_LAYER_CHANNELS] if spread[i] > 1e-4]
            panels.append((f"layer: {name}", [(track.channels[i], layer[:, i]) for i in sorted(top)]))
    else:
        for name, items in PANELS.items():
            panels.append((name, [(label, arkit[:, [INDEX[c] for c in chans]].mean(axis=1))
                                  for label, chans in items]))
    if not chosen:
        yaw, pitch = _gaze(arkit)
        blink = 0.5 * (arkit[:, INDEX["eyeBlinkLeft"]] + arkit[:, INDEX["eyeBlinkRight"]])
        panels.append(("eyes", [("blink", blink), ("gaze yaw (+left)", yaw), ("gaze pitch (+down)", pitch)]))
    panels.append(("head (deg)", [(f"{n}", np.degrees(track.head[:, k]))
                                  for k, n in enumerate(("pitch (+down)", "yaw (+left)", "roll (+left)"))]))
    return panels


def plot_track(track, out_png, channels: Sequence[str] | None = None, title: str | None = None,
               overwrite: bool = True) -> Path:
    """Draw ``track`` (an ExpressionTrack) to a PNG and return its path.

    Panels: the named ``channels`` if given; else one panel per layer (its most active channels)
    when the track has layers, or mouth / expression panels of the combined track; then eyes
    (blinks and gaze) and head (pitch, yaw, roll in degrees). Phones label the time axis and
    style changes (``meta["schedule"]``) are dashed lines.
    """
    try:
        import matplotlib
    except ImportError:
        raise TalkclipError("plotting needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_png)
    if out.suffix.lower() != ".png":
        raise TalkclipError(f"{out}: plot output must be a .png file")
    t = track.times
    panels = _panels(track, _channel_indices(channels) if channels else None)

    width = float(np.clip(4.0 + 0.55 * track.duration, 10.0, 40.0))
    has_phones = track.phones is not None and len(track.phones) > 0
    ratios = [1.0] * len(panels) + ([0.28] if has_phones else [])
    fig, axes = plt.subplots(len(ratios), 1, figsize=(width, 1.9 * sum(ratios) + 0.9), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": ratios})
    axes = axes[:, 0]
    schedule = list(track.meta.get("schedule") or [])
    for ax, (name, series) in zip(axes, panels):
        for k, (label, values) in enumerate(series):
            colour = HEAD_COLOURS[k] if name.startswith("head") else None
            ax.plot(t, values, lw=1.0, label=label, color=colour)
        ax.set_ylabel(name, fontsize=8)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(loc="upper right", fontsize=7, ncol=min(len(series), 6), framealpha=0.7)
        for item in schedule:
            ax.axvline(float(item.get("time", 0.0)), color="k", ls="--", lw=0.8, alpha=0.6)
    if has_phones:
        _phone_strip(axes[-1], track.phones)
    for item in schedule:
        axes[0].annotate(str(item.get("prompt", "")), (float(item.get("time", 0.0)), 1.0),
                         xycoords=("data", "axes fraction"), xytext=(3, 2), textcoords="offset points",
                         fontsize=8, va="bottom", clip_on=False)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0, max(track.duration, 1e-3))
    fig.suptitle(title or str(track.meta.get("prompt") or track.meta.get("audio") or "take"), fontsize=10,
                 y=0.995)
    fig.tight_layout()
    try:
        with atomic_path(out, overwrite=overwrite) as tmp:
            fig.savefig(tmp, format="png", dpi=90)
    except OSError as exc:
        raise TalkclipError(f"{out}: cannot write ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)
    return out


def _phone_strip(ax, phones) -> None:
    """A thin strip under the panels: one box per phone, labelled, staggered in two rows."""
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("phones", fontsize=8)
    k = 0
    for p, s, e in zip(phones.phones, phones.starts, phones.ends):
        if p == "SIL":
            continue
        ax.axvspan(s, e, color=("0.88" if k % 2 else "0.8"), lw=0)
        ax.text((s + e) / 2, 0.7 if k % 2 else 0.3, p, ha="center", va="center", fontsize=6,
                color="0.15", clip_on=True)
        k += 1


# --- CLI --------------------------------------------------------------------------------------

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plot", help="draw a take's channels, layers, eyes and head over time (PNG)",
        description="Plot an animation file written by 'talkclip generate' (.json, .npz or Live Link "
                    "Face .csv): layers or main channels, blinks and gaze, head rotation, phones and "
                    "style changes.")
    p.add_argument("take", metavar="TAKE", help="animation file (.json, .npz or .csv)")
    p.add_argument("--out", required=True, metavar="PNG", help="output image (.png)")
    p.add_argument("--channels", metavar="A,B,C", default=None,
                   help="comma-separated ARKit names to draw instead of the default panels")
    p.add_argument("--title", default=None, help="title above the plot (default: the take's prompt)")
    p.add_argument("--force", action="store_true", help="replace the output image if it exists")
    p.set_defaults(func=cmd_plot)


def cmd_plot(args) -> int:
    channels = [c for c in args.channels.split(",") if c.strip()] if args.channels else None
    if args.channels is not None and not channels:
        raise TalkclipError("--channels: give at least one ARKit name")
    if Path(args.out).suffix.lower() != ".png":
        raise TalkclipError(f"{args.out}: plot output must be a .png file")
    check_output_path(args.out, overwrite=args.force)  # before the work; the rename checks again
    track = read_track(args.take)
    plot_track(track, args.out, channels=channels, title=args.title, overwrite=args.force)
    return 0
