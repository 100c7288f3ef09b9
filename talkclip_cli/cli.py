"""The ``talkclip`` command: ``generate`` here; ``style``/``train-style`` (``style.py``),
``export``/``profiles`` (``export.py``) and ``plot`` (``plot.py``) register from their modules.

Every failure prints one line, ``talkclip: error: ...``, and exits non-zero; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
import warnings
from pathlib import Path

from tqdm import tqdm

from exporters import formats
from exporters.reference import style_from_capture
from talkclip_cli import export, farm, plot, preview, style
from talkclip_model._version import __version__
from talkclip_model.errors import TalkclipError
from talkclip_model.files import check_not_an_input, check_output_path, read_json_bounded, read_text_bounded
from talkclip_model.pipeline import (
    GenerateOptions,
    Pipeline,
    check_fps,
    overall_fraction,
)
from talkclip_model.speech.languages import resolve, supported_codes
from talkclip_model.speech.recognise import RECOGNIZERS
from talkclip_model.types import SpeakingStyle, parse_schedule

# Modules that add subcommands (each defines register(subparsers); their heavy imports are lazy).
SUBCOMMAND_MODULES = (style, export, plot, farm, preview)

EXIT_ERROR = 2


class ProgressBar:
    """A terminal progress bar over pipeline stages (tqdm; silent when stderr is not a terminal)."""

    def __init__(self, label: str, enabled: bool | None = None):
        self._label = label
        self._bar = tqdm(total=100, desc=label, unit="%", file=sys.stderr, leave=False,
                         disable=(not sys.stderr.isatty()) if enabled is None else not enabled,
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}")

    def __call__(self, stage: str, fraction: float) -> None:
        value = 100 * overall_fraction(stage, fraction)
        self._bar.set_description_str(f"{self._label} [{stage}]", refresh=False)
        self._bar.update(max(0.0, value - self._bar.n))

    def close(self) -> None:
        self._bar.close()


def _add_generate(sub) -> None:
    p = sub.add_parser(
        "generate", help="speech (+ transcript, + style prompt) -> ARKit animation file",
        description="Turn a speech recording into per-frame ARKit blendshape animation plus head "
                    "rotation. The output suffix picks the format: .json, .csv (Live Link Face) or .npz. "
                    "The style comes from --prompt, a saved style (--style-json) or a captured take "
                    "(--style-from).")
    p.add_argument("--audio", required=True, metavar="PATH", help="speech recording (WAV, FLAC, OGG, MP3; any rate/channels)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--transcript", metavar="TEXT", help="what is said; enables forced alignment (more accurate)")
    g.add_argument("--transcript-file", metavar="PATH", help="read the transcript from a text file")
    p.add_argument("--prompt", metavar="TEXT", default=None,
                   help="speaking style in plain English; edits combine prompts: '\"angry\" + 0.5*\"smiling\"'")
    p.add_argument("--prompt-at", metavar='SECONDS:"PROMPT"', action="append", default=[],
                   help="change style at a time, e.g. --prompt-at 0:calm --prompt-at 3.2:furious (repeatable)")
    p.add_argument("--schedule", metavar="PATH", help="JSON list of {\"time\": s, \"prompt\": text} style changes")
    p.add_argument("--style-json", metavar="PATH", help="use a saved SpeakingStyle JSON instead of a prompt")
    p.add_argument("--style-from", metavar="TAKE",
                   help="make it look like this captured take: its held expression, blink rate, head and "
                        "gaze become the style (" + formats.or_list(formats.suffixes_of(formats.TAKE_FORMATS))
                        + ", e.g. a Live Link Face capture); not with --prompt or --style-json")
    p.add_argument("--intensity", type=float, default=1.0, help="global style intensity multiplier (default 1.0)")
    p.add_argument("--recognizer", choices=RECOGNIZERS, default="auto",
                   help="without a transcript: whisper (recognise words with Whisper, then align them; most "
                        "accurate), words (PocketSphinx words, aligned), phones (PocketSphinx phones: fast, least "
                        "accurate), or auto (default: whisper when a Whisper model is found, else words)")
    p.add_argument("--whisper-model", metavar="PATH",
                   help="a faster-whisper model folder (or a name: tiny.en, base, ... in the Hugging Face cache); "
                        "default: $TALKCLIP_WHISPER_MODEL, else the cache (nothing is downloaded)")
    p.add_argument("--language", default=None, metavar="CODE",
                   help="language of the speech, a BCP-47 code: " + supported_codes() + " (default: en with a "
                        "transcript, detected by Whisper without one; other languages are read with espeak-ng; "
                        "Japanese in kana)")
    p.add_argument("--no-audio-arousal", action="store_true", help="do not let prosody modulate expression")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second (24, 25, 29.97, 30, 60, ...; default 30)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed for blinks, gaze, brows and head motion (default: taken from the audio "
                        "itself, so different lines differ and the same line repeats exactly; the seed used "
                        "is written to the take's meta as \"seed\", give it here to repeat a take)")
    p.add_argument("--encoder", default=None, help="text encoder: minilm (bundled, default) or clip:<model>/<weights>")
    p.add_argument("--providers", default=None,
                   help="onnxruntime providers for the style model, comma separated (default CPU; "
                        "CUDAExecutionProvider with onnxruntime-gpu, falling back to CPU with a warning)")
    p.add_argument("--out", required=True, metavar="PATH", help="output file: .json, .csv or .npz")
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes")
    p.set_defaults(func=cmd_generate)


def parse_prompt_at(items: list[str]) -> list[tuple[float, str]]:
    out = []
    for item in items:
        time_text, sep, prompt = item.partition(":")
        try:
            t = float(time_text)
        except ValueError:
            t = -1.0
        if not sep or not math.isfinite(t) or t < 0:
            raise TalkclipError(f"--prompt-at {item!r}: expected SECONDS:PROMPT, e.g. 3.2:furious")
        out.append((t, prompt.strip().strip('"').strip("'")))
    return sorted(out)


TEXT_INPUT_LIMIT = 16 << 20  # transcripts and schedules: a chapter is far below this


def load_schedule(path: str) -> list[tuple[float, str]]:
    data = read_json_bounded(path, TEXT_INPUT_LIMIT, "style schedule")
    try:
        return sorted(parse_schedule(data))
    except ValueError as exc:
        raise TalkclipError(f"{path}: not a style schedule (JSON list of {{time, prompt}}): {exc}") from None


def read_transcript(args) -> str | None:
    if not args.transcript_file:
        return args.transcript
    return read_text_bounded(args.transcript_file, TEXT_INPUT_LIMIT, "transcript", streams=True)


def read_style(args) -> SpeakingStyle | None:
    """The style --style-json or --style-from gives (None: the prompt decides)."""
    if args.style_from:
        if args.prompt is not None or args.style_json:
            raise TalkclipError("--style-from takes the style from a take: leave out --prompt and --style-json")
        return style_from_capture(args.style_from)
    if not args.style_json:
        return None
    return SpeakingStyle.load(args.style_json)


def check_inputs_are_not_the_output(args) -> None:
    """``--force`` replaces an existing output, never one of the command's own inputs."""
    check_not_an_input(args.out, {f"--{flag.replace('_', '-')}": getattr(args, flag, None)
                                  for flag in ("audio", "transcript_file", "style_json", "style_from", "schedule")})


def cmd_generate(args) -> int:
    formats.format_for(args.out)
    check_inputs_are_not_the_output(args)
    check_output_path(args.out, overwrite=args.force)  # fail before the work, not after it
    check_fps(args.fps)
    language = resolve(args.language).code if args.language else None
    transcript = read_transcript(args)
    style = read_style(args)
    schedule = parse_prompt_at(args.prompt_at)
    if args.schedule:
        schedule = sorted(schedule + load_schedule(args.schedule))
    opts = GenerateOptions(fps=args.fps, seed=args.seed, transcript=transcript, prompt=args.prompt,
                           intensity=args.intensity, style=style, schedule=schedule,
                           audio_arousal=not args.no_audio_arousal,
                           recognizer="whisper" if args.whisper_model and args.recognizer == "auto" else args.recognizer,
                           language=language, whisper_model=args.whisper_model)
    bar = ProgressBar(Path(args.audio).name, enabled=False if args.quiet else None)
    try:
        providers = [x.strip() for x in args.providers.split(",") if x.strip()] if args.providers else None
        track = Pipeline(encoder=args.encoder, providers=providers).generate(args.audio, opts, progress=bar)
    finally:
        bar.close()
    formats.write_track(track, args.out, overwrite=args.force)  # refused at the rename if it appeared meanwhile
    if not args.quiet:
        for note in track.meta.get("notes", []):
            print(f"talkclip: note: {note}", file=sys.stderr)
        print(f"wrote {args.out}: {track.num_frames} frames at {track.fps:g} fps "
              f"({track.duration:.2f} s, phones by {track.meta['phone_source']})", file=sys.stderr)
    return 0


def _one_line_warning(seen: set[str]):
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"talkclip: warning: {text}", file=sys.stderr)
    return show


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkclip",
        description="Speech + a plain-English style prompt -> ARKit facial animation (52 blendshapes + head).")
    parser.add_argument("--version", action="version", version=f"talkclip {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_generate(sub)
    for module in SUBCOMMAND_MODULES:
        module.register(sub)
    return parser


class Terminated(BaseException):
    """SIGTERM (what job schedulers send) unwinds like Ctrl-C, so temporary files are removed."""


def _terminate(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def _sigterm_unwinds():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        with _sigterm_unwinds(), warnings.catch_warnings():
            # warnings (a truncated prompt, a missing GPU provider, ...) print as one line each, once
            warnings.simplefilter("always")
            # numpy's floating-point notices are internal noise, not something the user can act on
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            warnings.showwarning = _one_line_warning(set())
            return int(args.func(args) or 0)
    except TalkclipError as exc:
        if args.debug:
            raise
        print(f"talkclip: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("talkclip: error: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("talkclip: error: terminated (SIGTERM); nothing half-written was left", file=sys.stderr)
        return 143
    except Exception as exc:  # last resort: still one line, never a traceback
        if args.debug:
            raise
        print(f"talkclip: error: {type(exc).__name__}: {' '.join(str(exc).split())} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
