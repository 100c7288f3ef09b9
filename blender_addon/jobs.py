"""Batch manifests: read a JSON or CSV list of jobs, resolve and check their paths, and write the
JSON report. Pure Python (no bpy), shared by ``blender -b --command talkclip batch`` and
``python -m blender_addon.batch``.

A manifest is a JSON list of objects, or a CSV file whose header row names the same keys:

    blend, object, audio, transcript, prompt, profile, start_frame, output     (the contract)
    track, armature, head_bone, intensity, seed, reduce_tolerance, name,      (extensions)
    language (the speech's BCP-47 code, e.g. de or pt-BR; empty: the scene's panel setting),
    whisper_model (lines without a transcript: a faster-whisper model folder, relative to the
    manifest's folder, or a model name such as tiny.en in the Hugging Face cache; empty: found as
    talkclip_model.speech.whisper says)

Relative paths resolve against the manifest's folder, and a relative path that climbs out of
that folder (``../x.wav``) is refused for that job ("path outside its folder") unless the batch
runs with ``--allow-outside-paths``. What the batch writes or reads as settings (``output``, a
``profile`` file) must stay inside the folder, however it is spelled (absolute, ``~/``,
symlinks), unless ``--allow-outside-paths``: a manifest from someone else cannot write anywhere.
Absolute input paths (``blend``, ``audio``, ``track``) are the author's explicit choice and are
accepted, unless ``--strict-paths`` asks that they too stay inside the folder. ``transcript`` is
the text itself, or a ``.txt`` file to read. Two jobs writing one output, or a job writing
another job's input, are refused (both jobs fail, before anything runs); the rest still run.
``track`` bakes an existing track file (.json/.npz/.csv) instead of generating from ``audio``.
``output`` is a file in a format of ``exporters.formats`` the batch writes (``OUTPUT_SUFFIXES``):
one Blender's exporters write from the scene (.blend, .glb, .fbx) or a take format (.json, .npz,
Live Link Face .csv). A broken row fails that job only; the others still run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from exporters.formats import FORMATS, TAKE_FORMATS, Format, suffixes_of
from talkclip_model.errors import TalkclipError, escape_unprintable
from talkclip_model.files import atomic_output, parse_json_text, read_text_bounded
from talkclip_model.speech.languages import resolve as resolve_language
from talkclip_model.types import Recognition

CONTRACT_KEYS = ("blend", "object", "audio", "transcript", "prompt", "profile", "start_frame", "output")
EXTRA_KEYS = ("track", "armature", "head_bone", "intensity", "seed", "reduce_tolerance", "name", "language",
              "whisper_model")
# what the batch writes: the scene through Blender's exporters first (.glb is the scene's glTF),
# then the take itself
OUTPUT_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.blender) + TAKE_FORMATS
OUTPUT_SUFFIXES = suffixes_of(OUTPUT_FORMATS)
PATH_KEYS = ("blend", "audio", "output", "track")
INPUT_KEYS = ("blend", "audio", "track")
MAX_MANIFEST_BYTES = 256 << 20  # a manifest larger than this is refused before reading
MAX_CELL_CHARS = 16 << 20  # a CSV cell (an inline transcript of a chapter fits easily)


class ManifestError(Exception):
    """The manifest as a whole cannot be read (one line)."""


@dataclass
class Job:
    index: int  # 1-based position in the manifest
    name: str
    blend: Path | None = None
    object: str = ""
    audio: Path | None = None
    transcript: str | None = None
    prompt: str | None = None
    profile: str | None = None
    start_frame: float | None = None
    output: Path | None = None
    track: Path | None = None
    armature: str | None = None
    head_bone: str | None = None
    intensity: float = 1.0
    seed: int | None = None  # None (no seed column, or an empty cell): seeded from the audio
    reduce_tolerance: float = 0.0
    language: str | None = None  # BCP-47 code as the project spells it; None: the scene's setting
    whisper_model: str | None = None  # a model folder (resolved) or name; None: the usual lookup
    recognition: Recognition | None = None  # no transcript: words the batch recognised beforehand
    error: str | None = None  # set when the row itself is broken
    warnings: list[str] = field(default_factory=list)

    def required(self, key: str) -> Path:
        """``blend``, ``output`` or ``audio``: a path every good row has (a broken row says why)."""
        value = getattr(self, key)
        if not isinstance(value, Path):
            raise ValueError(self.error or f"job {self.index}: no {key}")
        return value


@dataclass
class JobResult:
    job: int
    name: str
    status: str  # "ok" | "failed" | "skipped" | "pending" (not run yet: the batch is still going, or was killed)
    error: str | None = None
    seconds: float = 0.0
    frames: int = 0
    channels_mapped: int = 0
    output: str | None = None
    blend: str | None = None
    object: str | None = None
    action: str | None = None
    head_action: str | None = None
    profile: str | None = None
    seed: int | None = None  # the seed the take used (from the track's meta): put it in the row to repeat it
    warnings: list[str] = field(default_factory=list)
    phone_source: str | None = None  # "alignment" (a transcript), "whisper", "recognition" (PocketSphinx)
    recognised: str | None = None  # what Whisper heard: correct it into a transcript column to rerun
    # the take's main curves in brief (review.curve_summary: jaw, smile, blinks, head yaw), for the review page
    curves: dict[str, Any] | None = None
    thumbnail: str | None = None  # --preview-image: the line on the character picture (thumbnails.py)


def output_format(path: str | Path) -> Format | None:
    """The format the batch writes ``path`` in, from its name; None when it writes none."""
    return next((f for f in OUTPUT_FORMATS if f.matches(path)), None)


def load_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON (list of objects) or CSV (header row) manifest."""
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ManifestError(f"{path}: manifest must be .json or .csv, not {suffix or 'no suffix'}")
    try:
        text = read_text_bounded(path, MAX_MANIFEST_BYTES, "manifest")
    except TalkclipError as exc:  # too large, not a regular file, unreadable, not UTF-8
        raise ManifestError(str(exc)) from None
    return _json_rows(path, text) if suffix == ".json" else _csv_rows(path, text)


def _json_rows(path: Path, text: str) -> list[Any]:
    try:
        rows = parse_json_text(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except ValueError:  # parse_json_text: nesting too deep for the parser
        raise ManifestError(f"{path}: JSON is nested too deeply to be a manifest") from None
    if not isinstance(rows, list):
        raise ManifestError(f"{path}: a manifest is a JSON list of job objects")
    return rows


def _csv_rows(path: Path, text: str) -> list[dict[str, Any]]:
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL_CHARS)
    try:
        return _read_csv(path, text)
    except csv.Error as exc:
        raise ManifestError(f"{path}: not a readable CSV manifest ({exc})") from None
    finally:
        csv.field_size_limit(limit)


def _read_csv(path: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise ManifestError(f"{path}: CSV manifest has no header row")
    rows = []
    for row in reader:
        extra = row.pop(None, None)  # more cells than header names
        clean = {str(k).strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
        clean = {k: v for k, v in clean.items() if v not in ("", None)}
        if extra:
            clean["__extra_cells__"] = extra
        rows.append(clean)
    return rows


def resolve_path(base: Path, value: Any, key: str, allow_outside: bool = False, strict: bool = False) -> Path:
    """``value`` resolved against the manifest folder ``base``.

    A relative path that climbs out of ``base`` (``../x.wav``) is refused unless
    ``allow_outside``; an absolute path is taken as the author's explicit choice unless ``strict``
    (outputs and profile files are always resolved strictly: see the module docstring).
    """
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ValueError(f"{key}: expected a path")
    p = Path(os.path.expanduser(str(value).strip()))
    full = (base / p).resolve()
    inside = full.is_relative_to(base.resolve())
    if not inside and not allow_outside and (not p.is_absolute() or strict):
        raise ValueError(f"{key} {value!r}: path outside its folder {base}")
    return full


def _number(value: Any, key: str, kind=float):
    try:
        out = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: {printable(repr(value))} is not a number") from None
    except OverflowError:  # int(1e400), int(inf)
        raise ValueError(f"{key}: {printable(value)} is not a finite number") from None
    if isinstance(out, float) and not math.isfinite(out):
        raise ValueError(f"{key}: {printable(repr(value))} is not a finite number")
    return out


def printable(value: Any, limit: int = 80) -> str:
    """``value`` as one safe line for a terminal or a log: control characters (escape sequences,
    newlines) shown escaped, long values cut."""
    safe = escape_unprintable(str(value))
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def _optional(row: dict, key: str) -> str | None:
    return str(row[key]) if row.get(key) not in (None, "") else None


def _check_row(row: Any, job: Job) -> None:
    """The row's shape: an object with the keys a job needs (unknown keys are warned about)."""
    if not isinstance(row, dict):
        raise ValueError(f"expected an object with keys {', '.join(CONTRACT_KEYS)}, got {type(row).__name__}")
    if "__extra_cells__" in row:
        raise ValueError("row has more cells than the header names")
    job.name = printable(row.get("name") or job.name)
    unknown = sorted(set(row) - set(CONTRACT_KEYS) - set(EXTRA_KEYS))
    if unknown:
        job.warnings.append(f"ignored unknown keys: {', '.join(unknown)}")
    for key in ("blend", "object", "output"):
        if row.get(key) in (None, ""):
            raise ValueError(f"missing {key!r}")
    if row.get("audio") in (None, "") and row.get("track") in (None, ""):
        raise ValueError("missing 'audio'")


def _read_paths(row: dict, job: Job, base: Path, allow_outside: bool, strict: bool) -> None:
    for key in PATH_KEYS:
        if row.get(key) not in (None, ""):
            # what the batch writes stays inside the folder whatever its spelling, unless allowed
            strict_here = strict or key not in INPUT_KEYS
            setattr(job, key, resolve_path(base, row[key], key, allow_outside, strict_here))
    if job.required("blend").suffix.lower() != ".blend":
        raise ValueError(f"blend {row['blend']!r} is not a .blend file")
    if output_format(job.required("output")) is None:
        raise ValueError(f"output {row['output']!r}: use one of {', '.join(OUTPUT_SUFFIXES)}")
    if job.output in (job.blend, job.track):
        what = ".blend" if job.output == job.blend else "track"
        raise ValueError(f"output is the input {what}; the input is never modified")


def _read_transcript(value: Any, base: Path, allow_outside: bool, strict: bool) -> str | None:
    """The transcript text, read from a .txt file when the value names one."""
    if value in (None, ""):
        return None
    text = str(value)
    if not text.lower().endswith(".txt"):
        return text
    tpath = resolve_path(base, text, "transcript", allow_outside, strict)
    try:
        return tpath.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"transcript {tpath}: cannot read ({exc.strerror})") from None


def _read_settings(row: dict, job: Job) -> None:
    job.prompt = _optional(row, "prompt")
    job.profile = _optional(row, "profile")
    if row.get("start_frame") not in (None, ""):
        job.start_frame = _number(row["start_frame"], "start_frame")
    for key, kind in (("intensity", float), ("seed", int), ("reduce_tolerance", float)):
        if row.get(key) not in (None, ""):
            setattr(job, key, _number(row[key], key, kind))
    if row.get("language") not in (None, ""):
        try:
            job.language = resolve_language(str(row["language"])).code
        except TalkclipError as exc:
            raise ValueError(str(exc)) from None
    job.armature = _optional(row, "armature")
    job.head_bone = _optional(row, "head_bone")
    job.whisper_model = _optional(row, "whisper_model")
    if job.armature and not job.head_bone:
        raise ValueError("armature given without head_bone")


def _read_profile(value: Any, base: Path, allow_outside: bool) -> str | None:
    """A shipped profile's name as given; a profile file (a .json name or a path) resolved against
    the manifest folder, and kept inside it unless allowed."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not (text.lower().endswith(".json") or "/" in text or "\\" in text):
        return text
    return str(resolve_path(base, text, "profile", allow_outside, strict=True))


def parse_job(row: Any, index: int, base: Path, allow_outside: bool = False, strict: bool = False) -> Job:
    """One manifest row as a Job; problems go into ``job.error`` (never raises)."""
    job = Job(index=index, name=f"job {index}")
    try:
        _check_row(row, job)
        job.object = str(row["object"])
        _read_paths(row, job, base, allow_outside, strict)
        job.transcript = _read_transcript(row.get("transcript"), base, allow_outside, strict)
        _read_settings(row, job)
        job.profile = _read_profile(row.get("profile"), base, allow_outside)
        if job.whisper_model and (base / job.whisper_model).expanduser().is_dir():
            job.whisper_model = str(resolve_path(base, job.whisper_model, "whisper_model", allow_outside, strict))
    except ValueError as exc:
        job.error = printable(exc, limit=400)
    return job


def refuse_collisions(jobs: list[Job]) -> None:
    """Two jobs writing one output, or a job writing another job's input: both jobs fail before
    anything runs (the batch would otherwise replace one line's take with another's)."""
    writers: dict[Path, Job] = {}
    for job in jobs:
        if job.error or job.output is None:
            continue
        first = writers.setdefault(job.output, job)
        if first is not job:
            for j, other in ((job, first), (first, job)):
                j.error = j.error or f"output {job.output.name} is also {other.name}'s (job {other.index}) output"
    for job in jobs:
        for key in INPUT_KEYS:
            path = getattr(job, key)
            writer = writers.get(path) if path is not None else None
            if writer is not None and writer is not job and not writer.error:
                writer.error = f"output {path.name} is {job.name}'s (job {job.index}) input {key}"
                job.error = job.error or f"its {key} {path.name} is {writer.name}'s (job {writer.index}) output"


def read_manifest(path: str | Path, allow_outside: bool = False, strict: bool = False) -> list[Job]:
    path = Path(path).resolve()
    rows = load_rows(path)
    jobs = [parse_job(row, i + 1, path.parent, allow_outside, strict) for i, row in enumerate(rows)]
    refuse_collisions(jobs)
    return jobs


def check_report_path(path: str | Path) -> Path:
    """The report path, refused (ManifestError, one line) before any work when it cannot be
    written: its folder is made and a probe file written there (permission bits alone do not tell,
    e.g. for root or on a read-only mount)."""
    path = Path(path)
    if path.is_dir():
        raise ManifestError(f"report {path}: is a folder, expected a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(prefix=f".{path.name}.", dir=path.parent):
            pass
    except OSError as exc:
        raise ManifestError(f"report {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def default_report_path(manifest: str | Path) -> Path:
    m = Path(manifest)
    return m.with_name(m.name + ".report.json")


def write_report(path: str | Path, manifest: str | Path, results: list[JobResult], seconds: float) -> Path:
    """The batch report, written atomically (after every job, so a killed batch leaves one)."""
    path = Path(path)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "failed", "skipped", "pending")}
    data = {"manifest": str(Path(manifest).resolve()), "jobs": [asdict(r) for r in results],
            "summary": {"total": len(results), **counts, "seconds": round(seconds, 3)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, "w") as fh:  # a full disk: one line naming it, no temporary file left
        json.dump(data, fh, indent=2)
    return path


def compose_prompt(prompt: str | None, edits: Sequence[tuple[str, float]] = ()) -> str | None:
    """A style expression for the pipeline: the main prompt plus weighted edit prompts,
    e.g. ``"calm" + 0.5*"smiling" - 0.3*"tired"``."""
    def quoted(text: str) -> str:
        return '"' + " ".join(text.replace('"', "'").split()) + '"'

    parts = []
    if prompt and prompt.strip():
        parts.append(quoted(prompt))
    for text, weight in edits:
        if not text.strip() or weight == 0:
            continue
        sign = "-" if weight < 0 and parts else ("" if not parts else "+")
        w = abs(weight) if parts else weight
        term = quoted(text) if w == 1 else f"{w:g}*{quoted(text)}"
        parts.append(f"{sign} {term}".strip())
    return " ".join(parts) or None
