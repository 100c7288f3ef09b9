"""``talkclip export`` and ``talkclip profiles``. Module-level imports stay cheap: the work
happens inside the command functions.

    talkclip export --track TAKE --to FORMAT [--profile NAME|FILE] [--character IN.glb|DELTAS.npz]
                    [--mesh NEUTRAL.obj] --out PATH [--force] [--quiet]
    talkclip profiles [list]
    talkclip profiles show NAME|FILE
    talkclip profiles detect FILE        # .glb morph targets, deltas .npz, .csv header, .txt/.json names
"""

from __future__ import annotations

import sys
from pathlib import Path

EXPORT_FORMATS = ("json", "npz", "csv", "glb", "cues", "mdd", "pc2")
SUFFIXES = {
    "json": (".json",), "npz": (".npz",), "csv": (".csv", ".csv.gz"), "glb": (".glb",),
    "cues": (".tsv", ".txt", ".json"), "mdd": (".mdd",), "pc2": (".pc2",),
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="convert a take to another format or onto a character",
        description="Export a take (.json, .npz or Live Link Face .csv/.csv.gz) as track JSON/NPZ, Live Link "
                    "Face CSV, a morph-weights animation added to a character GLB, Rhubarb mouth cues "
                    "(TSV, or JSON when --out ends in .json), or a point cache (MDD/PC2) of a mesh with "
                    "blendshape deltas.")
    p.add_argument("--track", required=True, metavar="TAKE", help="input take: .json, .npz, .csv or .csv.gz")
    p.add_argument("--to", required=True, choices=EXPORT_FORMATS, metavar="FORMAT",
                   help="output format: " + ", ".join(EXPORT_FORMATS))
    p.add_argument("--profile", metavar="NAME|FILE",
                   help="retarget profile (arkit, vrm, visemes, rhubarb or a JSON file); detected from the "
                        "character when omitted; glb, cues, mdd and pc2 only")
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
        from tqdm import tqdm

        self._bar = tqdm(total=1000, desc=label, file=sys.stderr, leave=False,
                         disable=quiet or not sys.stderr.isatty(), bar_format="{desc}: {percentage:3.0f}%|{bar}|")

    def __call__(self, fraction: float) -> None:
        self._bar.update(max(0, int(1000 * min(max(fraction, 0.0), 1.0)) - self._bar.n))

    def close(self) -> None:
        self._bar.close()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def cmd_export(args) -> int:
    from talkclip_model.errors import TalkclipError
    from talkclip_model.files import check_output_path

    out = Path(args.out)
    name = out.name.lower()
    if not any(name.endswith(s) for s in SUFFIXES[args.to]):
        raise TalkclipError(f"{out}: --to {args.to} writes {' or '.join(SUFFIXES[args.to])} files")
    inputs = [Path(p) for p in (args.track, args.character, args.mesh, args.profile) if p]
    for src in inputs:
        if _same_file(src, out):
            raise TalkclipError(f"{out}: is an input of this command; refusing to overwrite it")
    check_output_path(out, overwrite=args.force)
    if args.profile and args.to in ("json", "npz", "csv"):
        raise TalkclipError(f"--profile applies to glb, cues, mdd and pc2; {args.to} keeps the 52 ARKit channels")
    if args.head_node and args.to != "glb":
        raise TalkclipError("--head-node applies to --to glb only")
    if args.to == "glb" and not args.character:
        raise TalkclipError("--to glb needs --character IN.glb (the character to animate)")
    if args.to in ("mdd", "pc2") and not args.character:
        raise TalkclipError(f"--to {args.to} needs --character DELTAS.npz (and --mesh NEUTRAL.obj for faces)")

    from exporters.track_io import read_track, write_track

    track = read_track(args.track)
    bar = _Progress(out.name, args.quiet)
    summary, detection = "", None
    try:
        if args.to in ("json", "npz", "csv"):
            if args.to == "csv":
                from exporters.livelink import write_livelink_csv

                write_livelink_csv(track, out, overwrite=True, progress=bar)
            else:
                write_track(track, out, overwrite=True)
        elif args.to == "glb":
            from exporters.gltf import add_animation

            report = add_animation(args.character, track, out, profile=args.profile, name=args.name,
                                   overwrite=True, progress=bar, head_node=args.head_node)
            detection = report["detection"]
            driven = sum(n["driven"] for n in report["nodes"])
            summary = f"animation {report['animation']!r} on {len(report['nodes'])} mesh node(s), {driven} morph targets driven"
            if report["head_node"] is not None:
                summary += f", head rotation on node {args.head_node!r}"
        elif args.to == "cues":
            from exporters.cues import write_cues

            cues = write_cues(track, out, overwrite=True, profile=args.profile or "rhubarb")
            summary = f"{len(cues)} mouth cues"
        else:
            from exporters.pointcache import load_deltas_npz, write_point_cache

            mesh = load_deltas_npz(args.character, args.mesh)
            detection = write_point_cache(mesh, track, out, profile=args.profile, overwrite=True, progress=bar)
            summary = f"{len(mesh.vertices)} points"
    finally:
        bar.close()
    if not args.quiet:
        print(f"wrote {out}: {track.num_frames} frames at {track.fps:g} fps ({track.duration:.2f} s)"
              + (f", {summary}" if summary else ""), file=sys.stderr)
        if detection is not None:
            print(detection.summary(), file=sys.stderr)
    return 0


# --- profiles -------------------------------------------------------------------------------

def channel_names(path) -> list[str]:
    """Channel names of a character or list file: .glb/.gltf morph targets, deltas .npz ``names``,
    a CSV header, a JSON list (or a track/profile JSON's channels/targets), or a text file with
    one name per line."""
    import json

    from talkclip_model.errors import TalkclipError

    path = Path(path)
    if not path.is_file():
        raise TalkclipError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".glb", ".gltf"):
        from exporters.gltf import character_channels

        names = character_channels(path)
    elif suffix == ".npz":
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as z:
                key = "names" if "names" in z.files else "channels"
                names = [str(n) for n in z[key]]
        except Exception as exc:
            raise TalkclipError(f"{path}: no 'names' or 'channels' array ({exc})") from None
    elif suffix in (".csv", ".gz"):
        import csv
        import gzip

        opener = gzip.open if suffix == ".gz" else open
        try:
            with opener(path, "rt", encoding="utf-8-sig") as fh:
                header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError) as exc:
            raise TalkclipError(f"{path}: cannot read CSV header ({exc})") from None
        names = [h.strip() for h in header if h.strip().lower() not in ("timecode", "blendshapecount")]
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TalkclipError(f"{path}: cannot read JSON ({exc})") from None
        if isinstance(data, dict):
            data = data.get("channels") or list(data.get("targets") or {})
        names = [str(n) for n in data] if isinstance(data, list) else []
    else:
        try:
            names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise TalkclipError(f"{path}: cannot read names ({exc})") from None
    if not names:
        raise TalkclipError(f"{path}: holds no channel names")
    return names


def cmd_profiles(args) -> int:
    import json

    from exporters.retarget import detect_profile, list_profiles, load_profile
    from talkclip_model.errors import TalkclipError

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
        detection = detect_profile(names)
    print(f"{args.target}: {len(names)} channels")
    print(detection.summary())
    return 0
