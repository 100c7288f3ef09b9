"""The one table of file formats: each format's name, file suffixes, reader and writer, and what
else it needs. Front ends ask this table instead of keeping lists of their own:

- a *take* format has a track reader and a writer (json, npz, csv): ``talkclip generate`` and the
  worker write one, every command reads one (``read_track``, ``write_track``, ``format_for``);
- ``talkclip export --to NAME`` writes any format with a writer; ``character``, ``profile`` and
  ``head_node`` say which of its options the format takes;
- the Blender batch writes a take format itself and leaves the formats marked ``blender`` (blend,
  glb, fbx) to Blender's exporters, which write the whole scene (``blender_addon.batch``);
- ``talkclip profiles detect FILE`` reads a file's channel names with its format's ``names``.

Adding a format is one entry in ``FORMATS`` (a Blender-written one also needs its bpy call in
``blender_addon.batch.BLENDER_WRITERS``). Readers and writers live in the format's own module.
"""

from __future__ import annotations

import csv
import gzip
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from exporters import cues, gltf, livelink, pointcache, track_io, track_npz
from exporters.npz_io import load_npz, names_array
from exporters.retarget import Detection
from talkclip_model.errors import TalkclipError
from talkclip_model.files import read_json_bounded, read_text_bounded
from talkclip_model.types import ExpressionTrack

Progress = Callable[[float], None]
NAMES_LIMIT = 64 << 20  # bytes of a JSON or text list of channel names read
HEADER_LIMIT = 1 << 20  # characters of a CSV read for its header line


@dataclass(frozen=True)
class ExportOptions:
    """What a writer may take besides the track and the output path."""

    character: str | Path | None = None  # glb: the character .glb; mdd/pc2: blendshape deltas .npz
    mesh: str | Path | None = None  # mdd/pc2: neutral mesh (.obj) whose vertices the deltas index
    profile: str | None = None  # retarget profile name or JSON file (None: detected, or the format's own)
    head_node: str | None = None  # glb: node that also gets the head rotation
    name: str = "talkclip"  # glb: animation name
    overwrite: bool = True
    progress: Progress | None = None  # 0..1 as the writer goes, where it reports


@dataclass(frozen=True)
class Written:
    """What a writer reports: a few words for the summary line, and the retarget it used."""

    summary: str = ""
    detection: Detection | None = None


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]  # file name endings, lower case; the first is the usual one
    title: str
    read: Callable[[Path], ExpressionTrack] | None = None  # a track from a file
    write: Callable[[ExpressionTrack, Path, ExportOptions], Written] | None = None
    character: str | None = None  # what --character must be, when the format needs one
    profile: bool = False  # maps the 52 channels through a retarget profile (--profile)
    head_node: bool = False  # can put the head rotation on a node (--head-node)
    blender: bool = False  # Blender's exporters write it from a scene (the batch)
    names: Callable[[Path], list[str]] | None = None  # channel names in such a file (profiles detect)
    names_suffixes: tuple[str, ...] = ()  # more endings ``names`` reads (.gltf beside .glb)

    @property
    def is_take(self) -> bool:
        """Read and written as a track: a take can go through this format and come back."""
        return self.read is not None and self.write is not None

    def matches(self, path: str | Path) -> bool:
        return Path(path).name.lower().endswith(self.suffixes)

    def load(self, path: str | Path) -> ExpressionTrack:
        """The track in ``path``, read as this format."""
        if self.read is None:
            raise TalkclipError(f"{path}: {self.name} files are not read as takes")
        return self.read(Path(path))

    def save(self, track: ExpressionTrack, path: str | Path, options: ExportOptions | None = None) -> Written:
        """Write ``track`` to ``path`` in this format."""
        if self.write is None:
            raise TalkclipError(f"{path}: {self.name} files are written by Blender's exporters, not by talkclip")
        return self.write(track, Path(path), options or ExportOptions())


# --- writers with one face: (track, path, options) -> Written ------------------------------

def _plain(writer: Callable) -> Callable[[ExpressionTrack, Path, ExportOptions], Written]:
    def write(track: ExpressionTrack, path: Path, options: ExportOptions) -> Written:
        writer(track, path, overwrite=options.overwrite)
        return Written()
    return write


def _write_csv(track: ExpressionTrack, path: Path, options: ExportOptions) -> Written:
    livelink.write_livelink_csv(track, path, overwrite=options.overwrite, progress=options.progress)
    return Written()


def _write_glb(track: ExpressionTrack, path: Path, options: ExportOptions) -> Written:
    report = gltf.add_animation(options.character, track, path, profile=options.profile, name=options.name,
                                overwrite=options.overwrite, progress=options.progress,
                                head_node=options.head_node)
    driven = sum(n["driven"] for n in report["nodes"])
    summary = f"animation {report['animation']!r} on {len(report['nodes'])} mesh node(s), {driven} morph targets driven"
    if report["head_node"] is not None:
        summary += f", head rotation on node {options.head_node!r}"
    return Written(summary, report["detection"])


def _write_cues(track: ExpressionTrack, path: Path, options: ExportOptions) -> Written:
    written = cues.write_cues(track, path, overwrite=options.overwrite, profile=options.profile or "rhubarb")
    return Written(f"{len(written)} mouth cues")


def _write_point_cache(track: ExpressionTrack, path: Path, options: ExportOptions) -> Written:
    mesh = pointcache.load_deltas_npz(options.character, options.mesh)
    detection = pointcache.write_point_cache(mesh, track, path, profile=options.profile,
                                             overwrite=options.overwrite, progress=options.progress)
    return Written(f"{len(mesh.vertices)} points", detection)


# --- channel-name readers (profiles detect) -------------------------------------------------

def _names_json(path: Path) -> list[str]:
    """A JSON list of names, or a track's ``channels`` / a profile's ``targets``."""
    data = read_json_bounded(path, NAMES_LIMIT, "JSON file")
    if isinstance(data, dict):
        data = data.get("channels") or data.get("targets") or []
        data = list(data) if isinstance(data, dict) else data
    return [n for n in data if isinstance(n, str)] if isinstance(data, list) else []


def _names_npz(path: Path) -> list[str]:
    """Blendshape deltas' ``names``, or a track's ``channels``."""
    arrays = load_npz(path, "NPZ")
    key = "names" if "names" in arrays else "channels"
    if key not in arrays:
        raise TalkclipError(f"{path}: no 'names' or 'channels' array")
    return names_array(arrays[key], key, path, "NPZ")


def _names_csv(path: Path) -> list[str]:
    """The header of a CSV (gzip-compressed when it ends in .gz), less the Live Link Face
    timecode and count columns."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            first = fh.read(HEADER_LIMIT).replace("\r\n", "\n").replace("\r", "\n").partition("\n")[0]
        header = next(csv.reader([first]), [])
    except (OSError, UnicodeDecodeError, EOFError, zlib.error, csv.Error) as exc:
        raise TalkclipError(f"{path}: cannot read CSV header ({' '.join(str(exc).split())})") from None
    return [h.strip() for h in header if h.strip().lower() not in ("timecode", "blendshapecount")]


def _names_text(path: Path) -> list[str]:
    """One name per line (any other file)."""
    return [ln.strip() for ln in read_text_bounded(path, NAMES_LIMIT, "list of names").splitlines() if ln.strip()]


# --- the table --------------------------------------------------------------------------------

FORMATS: tuple[Format, ...] = (
    Format("json", (".json",), "track JSON (52 ARKit channels, head, phones, meta)",
           read=track_io.read_json, write=_plain(track_io.write_json), names=_names_json),
    Format("npz", (".npz",), "track NPZ (the JSON's arrays, compressed)",
           read=track_npz.read_npz, write=_plain(track_npz.write_npz), names=_names_npz),
    Format("csv", (".csv", ".csv.gz"), "Live Link Face CSV (Unreal Live Link, MetaHuman Animator)",
           read=livelink.read_livelink_csv, write=_write_csv, names=_names_csv,
           names_suffixes=(".csv", ".gz")),
    Format("blend", (".blend",), "Blender file with the baked actions", blender=True),
    Format("glb", (".glb",), "character glTF binary with a morph-weights animation",
           write=_write_glb, character="IN.glb (the character to animate)", profile=True, head_node=True,
           blender=True, names=gltf.character_channels, names_suffixes=(".glb", ".gltf")),
    Format("fbx", (".fbx",), "FBX of the scene with the baked animation", blender=True),
    Format("cues", (".tsv", ".txt", ".json"), "Rhubarb mouth cues (TSV, or JSON when the name ends in .json)",
           write=_write_cues, profile=True),
    Format("mdd", (".mdd",), "MDD point cache of a mesh with blendshape deltas", write=_write_point_cache,
           character="DELTAS.npz (and --mesh NEUTRAL.obj for faces)", profile=True),
    Format("pc2", (".pc2",), "PC2 point cache of a mesh with blendshape deltas", write=_write_point_cache,
           character="DELTAS.npz (and --mesh NEUTRAL.obj for faces)", profile=True),
)
BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}
TAKE_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.is_take)
WRITABLE: tuple[Format, ...] = tuple(f for f in FORMATS if f.write is not None)  # export --to


def or_list(items) -> str:
    """``a, b or c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def and_list(items) -> str:
    """``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def suffixes_of(formats) -> tuple[str, ...]:
    return tuple(s for f in formats for s in f.suffixes)


def take_format(path: str | Path) -> Format:
    """The take format a file name asks for (``.csv.gz`` too); TalkclipError otherwise."""
    for fmt in TAKE_FORMATS:
        if fmt.matches(path):
            return fmt
    suffix = Path(path).suffix.lower()
    raise TalkclipError(f"{path}: unknown track format {suffix or '(none)'}; "
                        f"use {or_list(f.suffixes[0] for f in TAKE_FORMATS)}")


def format_for(path: str | Path) -> str:
    """``json``, ``npz`` or ``csv`` (Live Link Face; ``.csv.gz`` too) from the file name."""
    return take_format(path).name


def _existing_file(path: Path) -> None:
    """Refuse, naming it, a path that is not a readable regular file (missing, a folder, a device)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise TalkclipError(f"{path}: no such file") from None
    except OSError as exc:  # a folder on the way that cannot be searched, a symlink loop, ...
        raise TalkclipError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise TalkclipError(f"{path}: {'is a folder' if stat.S_ISDIR(info.st_mode) else 'not a regular file'}")


def read_track(path: str | Path) -> ExpressionTrack:
    """The take in ``path``, in the format its suffix names."""
    path = Path(path)
    fmt = take_format(path)
    _existing_file(path)
    return fmt.load(path)


def write_track(track: ExpressionTrack, path: str | Path, overwrite: bool = True) -> Path:
    """Write ``track`` in the take format its suffix names."""
    take_format(path).save(track, path, ExportOptions(overwrite=overwrite))
    return Path(path)


def channel_names(path: str | Path) -> list[str]:
    """Channel names of a character or list file: .glb/.gltf morph targets, deltas .npz ``names``,
    a CSV header, a JSON list (or a track/profile JSON's channels/targets), or a text file with
    one name per line."""
    path = Path(path)
    _existing_file(path)
    name = path.name.lower()
    reader = next((f.names for f in FORMATS if f.names and name.endswith(f.names_suffixes or f.suffixes)),
                  _names_text)
    names = reader(path)
    if not names:
        raise TalkclipError(f"{path}: holds no channel names")
    return names
