"""``talkclip export`` and ``talkclip profiles``. The formats, their suffixes and what each needs
come from ``exporters.formats``.

    talkclip export --track TAKE --to FORMAT [--profile NAME|FILE] [--character IN.glb|DELTAS.npz]
                    [--mesh NEUTRAL.obj] --out PATH [--force] [--quiet]
    talkclip profiles [list]
    talkclip profiles show NAME|FILE
    talkclip profiles detect FILE        # .glb morph targets, deltas .npz, .csv header, .txt/.json names
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm

from exporters import formats
from exporters.formats import ExportOptions, and_list, channel_names, or_list
from exporters.retarget import detect_profile, list_profiles, load_profile
from talkclip_model.errors import TalkclipError
from talkclip_model.files import check_not_an_input, check_output_path

EXPORT_FORMATS = tuple(f.name for f in formats.WRITABLE)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="convert a take to another format or onto a character",
        description="Export a take (.json, .npz or Live Link Face .csv/.csv.gz) as track JSON/NPZ, Live Link "
                    "Face CSV, a morph-weights animation added to a character GLB, Rhubarb mouth cues "
                    "(TSV, or JSON when --out ends in .json), or a point cache (MDD/PC2) of a mesh with "
                    "blendshape deltas.")
    p.add_argument("--track", required=True, metavar="TAKE",
                   help="input take: " + or_list(formats.suffixes_of(formats.TAKE_FORMATS)))
    p.add_argument("--to", required=True, choices=EXPORT_FORMATS, metavar="FORMAT",
                   help="output format: " + ", ".join(EXPORT_FORMATS))
    p.add_argument("--profile", metavar="NAME|FILE",
                   help="retarget profile (arkit, vrm, visemes, rhubarb or a JSON file); detected from the "
                        "character when omitted; " + and_list(f.name for f in formats.WRITABLE if f.profile) + " only")
    p.add_argument("--character", metavar="PATH",
                   help="glb: the character .glb to add the animation to; mdd/pc2: blendshape deltas .npz "
                        "(neutral, names, <name>__idx, <name>__delta)")
    p.add_argument("--mesh", metavar="PATH", help="mdd/pc2: neutral mesh (.obj) whose vertices the deltas index")
    p.add_argument("--head-node", metavar="NODE",
                   help="glb: also animate this node's rotation (e.g. the head joint) from the take's head pitch/yaw/roll")
    p.add_argument("--name", default="talkclip", help="glb: animation name (made unique if taken; default talkclip)")
    p.add_argument("--out", required=True, metavar="PATH", help="output file")
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=cmd_export)

    q = subparsers.add_parser(
        "profiles", help="list, show or detect retarget profiles",
        description="Retarget profiles map the 52 ARKit channels (and head rotation) onto a character's own "
                    "channels. 'list' names the shipped ones, 'show' prints one as JSON, 'detect' picks the "
                    "best profile for a file's channel names and reports the coverage.")
    q.add_argument("action", nargs="?", default="list", choices=("list", "show", "detect"))
    q.add_argument("target", nargs="?", metavar="NAME|FILE", help="show: profile name or JSON; detect: a file")
    q.add_argument("--profile", metavar="NAME|FILE", help="detect: bind this profile instead of detecting")
    q.set_defaults(func=cmd_profiles)


# --- export ---------------------------------------------------------------------------------

class _Progress:
    """tqdm bar on stderr over 0..1 fractions; silent when stderr is not a terminal or --quiet."""

    def __init__(self, label: str, quiet: bool):
        self._bar = tqdm(total=1000, desc=label, file=sys.stderr, leave=False,
                         disable=quiet or not sys.stderr.isatty(), bar_format="{desc}: {percentage:3.0f}%|{bar}|")

    def __call__(self, fraction: float) -> None:
        self._bar.update(max(0, int(1000 * min(max(fraction, 0.0), 1.0)) - self._bar.n))

    def close(self) -> None:
        self._bar.close()


def _check_export(args, fmt: formats.Format, out: Path) -> None:
    """Refuse, before any work, an export the format cannot do (one line each)."""
    if not fmt.matches(out):
        raise TalkclipError(f"{out}: --to {fmt.name} writes {' or '.join(fmt.suffixes)} files")
    check_not_an_input(out, {"--track": args.track, "--character": args.character, "--mesh": args.mesh,
                             "--profile": args.profile})
    check_output_path(out, overwrite=args.force)
    if args.profile and not fmt.profile:
        raise TalkclipError(f"--profile applies to {and_list(f.name for f in formats.WRITABLE if f.profile)}; "
                            f"{fmt.name} keeps the 52 ARKit channels")
    if args.head_node and not fmt.head_node:
        raise TalkclipError(f"--head-node applies to --to {' and '.join(f.name for f in formats.WRITABLE if f.head_node)} only")
    if fmt.character and not args.character:
        raise TalkclipError(f"--to {fmt.name} needs --character {fmt.character}")


def cmd_export(args) -> int:
    fmt = formats.BY_NAME[args.to]
    out = Path(args.out)
    _check_export(args, fmt, out)
    track = formats.read_track(args.track)
    bar = _Progress(out.name, args.quiet)
    try:
        written = fmt.save(track, out, ExportOptions(
            character=args.character, mesh=args.mesh, profile=args.profile, head_node=args.head_node,
            name=args.name, overwrite=args.force, progress=bar))
    finally:
        bar.close()
    if not args.quiet:
        print(f"wrote {out}: {track.num_frames} frames at {track.fps:g} fps ({track.duration:.2f} s)"
              + (f", {written.summary}" if written.summary else ""), file=sys.stderr)
        if written.detection is not None:
            print(written.detection.summary(), file=sys.stderr)
    return 0


# --- profiles -------------------------------------------------------------------------------

def cmd_profiles(args) -> int:
    if args.action == "list":
        for name in list_profiles():
            p = load_profile(name)
            print(f"{name:10s} {len(p.targets):3d} channels  {p.mode:9s}  {p.title}")
        return 0
    if not args.target:
        raise TalkclipError(f"profiles {args.action} needs a {'profile name or JSON file' if args.action == 'show' else 'file'}")
    if args.action == "show":
        print(json.dumps(load_profile(args.target).to_dict(), indent=1))
        return 0
    names = channel_names(args.target)
    if args.profile:
        detection = load_profile(args.profile).bind(names)
    else:
        detection = detect_profile(names, source=args.target)
    print(f"{args.target}: {len(names)} channels")
    print(detection.summary())
    return 0
