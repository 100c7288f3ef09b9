"""Headless batch: generate and bake every job of a manifest, write a JSON report.

    blender -b --command talkclip batch MANIFEST [--force] [--report PATH]
    python -m blender_addon.batch MANIFEST [--force] [--report PATH]     (with the bpy module)

The models load once for all jobs. A failed job is recorded and the batch goes on; the exit
status is 1 when any job failed (2 when the manifest itself cannot be read). A job whose output
exists is skipped unless ``--force``. Each job opens its ``.blend``, turns its row into the same
Request the panel's Generate builds (``take.build_request``) and runs the same generate and bake
steps (``take.generate_track``, ``take.bake_request``). Results are written to the job's
``output`` only, in the format its suffix names (``exporters.formats``): ``.blend`` via
save-as-copy, ``.glb``/``.fbx`` via Blender's exporters (``BLENDER_WRITERS``), a take format
(``.json``, ``.npz``, Live Link Face ``.csv``) by its own writer; always through a temporary file
then a rename. The input ``.blend`` is never saved. Manifest format: see ``jobs.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
import uuid
from pathlib import Path

import bpy

from exporters.formats import read_track
from talkclip_model.errors import TalkclipError, one_line

from . import preferences
from .jobs import (
    Job,
    JobResult,
    ManifestError,
    check_report_path,
    default_report_path,
    output_format,
    read_manifest,
    write_report,
)
from .scene import check_audio_file
from .take import Request, bake_request, build_request, generate_track, shared_pipeline

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Formats Blender's own exporters write from the open scene (those marked ``blender`` in
# exporters.formats): name -> writer of the path given.
BLENDER_WRITERS = {
    "blend": lambda path: bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False),
    "glb": lambda path: bpy.ops.export_scene.gltf(filepath=str(path), export_format="GLB"),
    # the scene's timeline baked as one take: with the exporter's defaults (one stack per action,
    # NLA strips) a shape-key action on the Key is left out and the FBX holds no animation at all;
    # no curve simplification, so the keys are the take's values
    "fbx": lambda path: bpy.ops.export_scene.fbx(filepath=str(path), bake_anim=True, bake_anim_use_all_actions=False,
                                                 bake_anim_use_nla_strips=False, bake_anim_simplify_factor=0.0),
}


class PipelineCache:
    """The batch's Pipeline (take.shared_pipeline), loaded on the first job that generates."""

    def __init__(self, encoder: str | None, providers: list[str] | None):
        self.encoder, self.providers = encoder, providers

    def get(self):
        preferences.prepare_cache()
        return shared_pipeline(self.encoder, self.providers)


@contextlib.contextmanager
def _temporary_output(output: Path):
    """A fresh temporary path beside ``output`` (same suffix); renamed over it on success.

    The file is not created in advance: Blender would keep a ``.blend1`` backup of it, and the
    exporters then create it with the user's normal permissions."""
    tmp = output.with_name(f".{output.stem}.{uuid.uuid4().hex[:10]}.tmp{output.suffix}")
    try:
        yield tmp
        os.replace(tmp, output)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "1")):  # and Blender's .blend1 backup
            with contextlib.suppress(OSError):
                leftover.unlink()


def write_output(out: Path, track) -> None:
    """Write the job's result to ``out`` in the format its name asks for: the scene through
    Blender's exporter, or the track through the format's own writer (atomic on its own)."""
    fmt = output_format(out)
    if fmt is None:  # parse_job refused the row already
        raise TalkclipError(f"{out}: the batch writes no such format")
    if not out.parent.is_dir():
        out.parent.mkdir(parents=True, exist_ok=True)
    if fmt.name not in BLENDER_WRITERS:
        fmt.save(track, out)
        return
    with _temporary_output(out) as tmp:
        BLENDER_WRITERS[fmt.name](tmp)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise TalkclipError(f"{out}: the {out.suffix.lower()} exporter wrote nothing")


def _check_inputs(job: Job) -> None:
    """The job's own files, before its .blend is opened."""
    if job.error:
        raise TalkclipError(job.error)
    if not job.required("blend").is_file():
        raise TalkclipError(f"blend file {job.blend} does not exist")
    if job.track is None:
        check_audio_file(job.required("audio"), "audio")
    elif not job.track.is_file():
        raise TalkclipError(f"track file {job.track} does not exist")


def _open_blend(job: Job):
    """Open the job's .blend (never running Python embedded in it, whatever the user's
    auto-run preference); its scene."""
    try:
        bpy.ops.wm.open_mainfile(filepath=str(job.blend), load_ui=False, use_scripts=False)
    except RuntimeError as exc:
        raise TalkclipError(f"blend file {job.blend}: cannot open ({' '.join(str(exc).split())})") from None
    return bpy.context.scene


def job_request(job: Job, scene, result: JobResult) -> Request:
    """The Request for a manifest row, built as the panel builds one (take.build_request);
    the report gets the binding's profile and coverage before the (slow) generation."""
    obj = bpy.data.objects.get(job.object)
    if obj is None:
        raise TalkclipError(f"object {job.object!r} not found in {job.required('blend').name}")
    arm = None
    if job.armature:
        arm = bpy.data.objects.get(job.armature)
        if arm is None:
            raise TalkclipError(f"armature {job.armature!r} not found in {job.required('blend').name}")
    start = job.start_frame if job.start_frame is not None else float(scene.frame_start)
    req, binding = build_request(
        scene, obj, job.audio, take=(job.audio or job.track or job.required("audio")).stem, start_frame=start, prompt=job.prompt,
        intensity=job.intensity, transcript=job.transcript, seed=job.seed, use_markers=True,
        profile=job.profile, armature=arm, head_bone=job.head_bone, tolerance=job.reduce_tolerance)
    result.profile, result.channels_mapped = binding.profile, binding.channels_mapped
    return req


def run_job(job: Job, pipelines: PipelineCache, force: bool = False) -> JobResult:
    result = JobResult(job=job.index, name=job.name, status="failed", warnings=list(job.warnings),
                       output=str(job.output) if job.output else None,
                       blend=str(job.blend) if job.blend else None, object=job.object or None)
    t0 = time.perf_counter()
    try:
        if not job.error and job.required("output").exists() and not force:
            result.status = "skipped"
            result.error = "output exists (use --force to replace it)"
            return result
        _check_inputs(job)
        scene = _open_blend(job)
        req = job_request(job, scene, result)
        track = read_track(job.track) if job.track is not None else generate_track(pipelines.get(), req)
        summary = bake_request(scene, req, track)
        result.action, result.head_action = summary.action, summary.head_action
        scene.frame_end = max(scene.frame_end, int(summary.last_frame + 0.999))  # the exporters write the range
        write_output(job.required("output"), track)
        result.frames = track.num_frames
        result.seed = track.meta.get("seed")
        result.status = "ok"
    except Exception as exc:  # one job's failure never stops the batch
        result.error = one_line(exc)
        if not isinstance(exc, TalkclipError) and os.environ.get("TALKCLIP_DEBUG"):
            traceback.print_exc()
    finally:
        result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _save_report(report: Path, manifest: str, results: list[JobResult], t0: float) -> str | None:
    """Write the report as it stands; the reason when it cannot be written (the batch goes on)."""
    try:
        write_report(report, manifest, results, time.perf_counter() - t0)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _preferences() -> tuple[str | None, list[str] | None]:
    """Encoder and providers from the add-on preferences, when it is enabled."""
    return preferences.pipeline_settings()


def build_parser(prog: str = "python -m blender_addon.batch") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Generate and bake TalkCLIP takes for every job of a manifest.")
    p.add_argument("manifest", metavar="MANIFEST", help="jobs: a JSON list of objects or a CSV with a header row")
    p.add_argument("--force", action="store_true", help="redo jobs whose output already exists")
    p.add_argument("--report", metavar="PATH", help="JSON report (default: MANIFEST.report.json beside it)")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="accept paths outside the manifest's folder: relative ones that climb out, and "
                        "outputs or profile files anywhere (by default they stay inside it)")
    p.add_argument("--strict-paths", action="store_true",
                   help="refuse absolute input paths (blend, audio, track) outside the manifest's folder too")
    p.add_argument("--encoder", metavar="NAME_OR_PATH", help="text encoder (default: the add-on preference or MiniLM)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="onnxruntime device (default: the add-on preference)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    return p


def main(argv: list[str] | None = None, prog: str = "python -m blender_addon.batch") -> int:
    args = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    try:
        jobs = read_manifest(args.manifest, allow_outside=args.allow_outside_paths, strict=args.strict_paths)
        report = check_report_path(args.report or default_report_path(args.manifest))
    except ManifestError as exc:
        print(f"talkclip batch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    encoder, providers = _preferences()
    if args.encoder:
        encoder = args.encoder
    if args.device:
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if args.device == "cuda" else ["CPUExecutionProvider"]
    pipelines = PipelineCache(encoder, providers)
    results = [JobResult(job=job.index, name=job.name, status="pending") for job in jobs]
    report_error = _save_report(report, args.manifest, results, t0)
    for i, job in enumerate(jobs):
        result = results[i] = run_job(job, pipelines, force=args.force)
        if not args.quiet:
            detail = result.error or f"{result.frames} frames, {result.channels_mapped} channels -> {result.output}"
            print(f"[{job.index}/{len(jobs)}] {result.status}: {job.name}: {detail}", flush=True)
        report_error = _save_report(report, args.manifest, results, t0)
    if report_error:
        print(f"talkclip batch: error: report {report}: cannot write ({report_error})", file=sys.stderr)
        return EXIT_FAILED
    failed = sum(r.status == "failed" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    print(f"talkclip batch: {len(results) - failed - skipped} of {len(results)} jobs done, {skipped} skipped, "
          f"{failed} failed; report: {report}", flush=True)
    return EXIT_FAILED if failed else EXIT_OK


def cli_command(argv: list[str]) -> int:
    """Handler of ``blender --command talkclip ...``."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: blender -b --command talkclip batch MANIFEST [--force] [--report PATH]")
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] != "batch":
        print(f"talkclip: error: unknown subcommand {argv[0]!r} (known: batch)", file=sys.stderr)
        return EXIT_USAGE
    try:
        return main(list(argv[1:]), prog="blender -b --command talkclip batch")
    except SystemExit as exc:  # argparse errors and --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
