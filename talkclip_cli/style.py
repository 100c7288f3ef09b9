"""``talkclip style`` and ``talkclip train-style``. Imports here stay cheap (onnxruntime, matplotlib and
torch load inside the commands that need them); work happens in the commands.

    talkclip style [--json] [--intensity K] [--plot OUT.png] PROMPT [PROMPT ...]
    talkclip train-style [--encoder minilm|clip:<model>/<weights>] [--out DIR] [--epochs N] [--seed N]

``--json`` prints one JSON object per prompt, in order, one per line:
{"prompt": str, "arkit": {52 ARKIT names: 0..1}, "dynamics": {...}}.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from talkclip_cli.style_plot import plot_style
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.files import check_output_path
from talkclip_model.style import load_style_model
from talkclip_model.types import DYNAMICS

TOP_CHANNELS = 8


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "style", help="prompt(s) -> speaking style (52 ARKit activations + dynamics)",
        description="Turn plain-English style prompts into speaking styles. A prompt may be an edit expression: "
                    "'\"angry\" + 0.5*\"smiling\"'. Empty prompts give the neutral style.")
    p.add_argument("prompts", nargs="+", metavar="PROMPT", help="style prompt or edit expression (one or more)")
    p.add_argument("--json", action="store_true", help="one JSON object per prompt per line (machine readable)")
    p.add_argument("--intensity", type=float, default=1.0, help="global intensity multiplier (default 1.0)")
    p.add_argument("--plot", metavar="PNG", default=None,
                   help="draw the style(s) as bar chart + face-region heat map (one prompt: this file; "
                        "several: NAME-1.png, NAME-2.png, ...)")
    p.add_argument("--force", action="store_true", help="replace existing --plot files")
    p.add_argument("--encoder", default=None, help="minilm (bundled, default) or clip:<model>/<weights>")
    p.add_argument("--providers", default=None, help="onnxruntime providers, comma separated (default CPU)")
    p.set_defaults(func=cmd_style)

    t = subparsers.add_parser(
        "train-style", help="train the text -> style adapter on the generated corpus (minutes on CPU)",
        description="Generate the FACS-labelled corpus, train adapter + head on a frozen encoder, report held-out "
                    "scores, and write <slug>.onnx + <slug>.json (default: the user cache, where `talkclip style "
                    "--encoder ...` finds it).")
    t.add_argument("--encoder", default=None, help="minilm (default) or clip:<model>/<weights path or open_clip tag>")
    t.add_argument("--out", type=Path, default=None, help="output folder (default: <cache>/adapters)")
    t.add_argument("--epochs", type=int, default=None, help="training epochs (default 40)")
    t.add_argument("--seed", type=int, default=0, help="corpus and initialisation seed (default 0)")
    t.add_argument("--samples", type=int, default=None, help="training sentences (default 20000, plus each training word and idiom alone)")
    t.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    t.add_argument("--ensemble", type=int, default=None, help="adapters trained with different seeds and averaged in one graph (default 1; 3 is steadier)")
    t.set_defaults(func=cmd_train_style)


def _summary(style, top: int = TOP_CHANNELS) -> str:
    order = sorted(range(len(ARKIT_NAMES)), key=lambda i: -float(style.arkit[i]))
    title = style.prompt if len(style.prompt) <= 80 else style.prompt[:77] + "..."
    lines = [title or "(neutral)"]
    shown = [i for i in order[:top] if style.arkit[i] >= 0.02]
    if not shown:
        lines.append("  (no held expression: neutral face)")
    for i in shown:
        v = float(style.arkit[i])
        lines.append(f"  {ARKIT_NAMES[i]:<20} {v:5.2f} {'#' * int(round(v * 20))}")
    changed = [f"{k}={v:.2f}" for k, v in style.dynamics.items() if abs(v - DYNAMICS[k][0]) > 0.02 * (DYNAMICS[k][2] - DYNAMICS[k][1])]
    lines.append("  dynamics: " + (", ".join(changed) if changed else "defaults"))
    return "\n".join(lines)


def cmd_style(args) -> int:
    providers = [p.strip() for p in args.providers.split(",") if p.strip()] if args.providers else None
    # warnings print once each, on one line (talkclip_cli.cli.main sets that up)
    model = load_style_model(encoder=args.encoder, providers=providers)
    styles = [model.style(p, intensity=args.intensity) for p in args.prompts]
    for prompt, style in zip(args.prompts, styles):
        if args.json:
            data = style.to_dict()
            data["prompt"] = prompt
            print(json.dumps(data, ensure_ascii=False), flush=True)
        else:
            print(_summary(style))
    if args.plot:
        out = Path(args.plot)
        paths = [out] if len(styles) == 1 else [out.with_name(f"{out.stem}-{i + 1}{out.suffix or '.png'}")
                                                for i in range(len(styles))]
        for path in paths:  # all refused before any is drawn
            check_output_path(path, overwrite=args.force)
        for style, path in zip(styles, paths):
            plot_style(style, path, overwrite=args.force)
            print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_train_style(args) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise TalkclipError(f"--epochs {args.epochs}: must be at least 1")
    if importlib.util.find_spec("torch") is None:
        raise TalkclipError("train-style needs torch: pip install 'talkclip[train]'")
    # training (torch) is optional and not shipped in the Blender extension
    from talkclip_model.training.train import ENSEMBLE, EPOCHS, N_TRAIN, train_style

    meta = train_style(args.encoder, out_dir=args.out, epochs=args.epochs or EPOCHS, seed=args.seed,
                       n_train=args.samples or N_TRAIN, threads=max(1, args.threads),
                       ensemble=max(1, args.ensemble or ENSEMBLE),
                       progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(json.dumps({"encoder_id": meta["encoder_id"], "onnx": meta["onnx"], "heldout": meta["heldout"],
                      "heldout_phrasing": meta["heldout_phrasing"]}))
    return 0
