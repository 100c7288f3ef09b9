"""Headless batch: generate and bake every job of a manifest, write a JSON report.

    blender -b --command talkclip batch MANIFEST [--force] [--report PATH]
    python -m blender_addon.batch MANIFEST [--force] [--report PATH]     (with the bpy module)

The models load once for all jobs. A failed job is recorded and the batch goes on; the exit
status is 1 when any job failed (2 when the manifest itself cannot be read). A job whose output
exists is skipped unless ``--force``. Each job opens its ``.blend``; results are written to the
job's ``output`` only (``.blend`` via save-as-copy, ``.glb``/``.fbx`` via Blender's exporters,
``.csv`` as a Live Link Face CSV), always through a temporary file then a rename; the input
``.blend`` is never saved. Manifest format: see ``jobs.py``.
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

from talkclip_model.errors import TalkclipError, one_line

from .jobs import (
    Job,
    JobResult,
    ManifestError,
    check_report_path,
    default_report_path,
    read_manifest,
    write_report,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class PipelineCache:
    """One Pipeline for the whole batch, loaded on the first job that generates."""

    def __init__(self, encoder: str | None, providers: list[str] | None):
        self.encoder, self.providers = encoder, providers
        self._pipeline = None

    def get(self):
        if self._pipeline is None:
            from . import preferences

            preferences.prepare_cache()
            from talkclip_model import pipeline
            self._pipeline = pipeline.Pipeline(encoder=self.encoder, providers=self.providers)
        return self._pipeline


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


def write_output(job: Job, obj, track) -> None:
    """Write the job's result in the format its output suffix names."""
    out = job.output
    if not out.parent.is_dir():
        out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        from exporters import track_io

        track_io.write_livelink_csv(track, out)
        return
    with _temporary_output(out) as tmp:
        if suffix == ".blend":
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, check_existing=False)
        elif suffix == ".glb":
            bpy.ops.export_scene.gltf(filepath=str(tmp), export_format="GLB")
        elif suffix == ".fbx":
            bpy.ops.export_scene.fbx(filepath=str(tmp), bake_anim=True)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise TalkclipError(f"{out}: the {suffix} exporter wrote nothing")


def run_job(job: Job, pipelines: PipelineCache, force: bool = False) -> JobResult:
    result = JobResult(job=job.index, name=job.name, status="failed", warnings=list(job.warnings),
                       output=str(job.output) if job.output else None,
                       blend=str(job.blend) if job.blend else None, object=job.object or None)
    t0 = time.perf_counter()
    try:
        if job.error:
            raise TalkclipError(job.error)
        if job.output.exists() and not force:
            result.status = "skipped"
            result.error = "output exists (use --force to replace it)"
            return result
        from . import bake
        from . import binding as binding_mod
        from . import scene as scene_mod
        if not job.blend.is_file():
            raise TalkclipError(f"blend file {job.blend} does not exist")
        if job.track is None:
            scene_mod.check_audio_file(job.audio, "audio")
        elif not job.track.is_file():
            raise TalkclipError(f"track file {job.track} does not exist")
        try:
            # never run Python embedded in a manifest's .blend, whatever the user's auto-run preference
            bpy.ops.wm.open_mainfile(filepath=str(job.blend), load_ui=False, use_scripts=False)
        except RuntimeError as exc:
            raise TalkclipError(f"blend file {job.blend}: cannot open ({' '.join(str(exc).split())})") from None
        scene = bpy.context.scene
        obj = bpy.data.objects.get(job.object)
        if obj is None:
            raise TalkclipError(f"object {job.object!r} not found in {job.blend.name}")
        scene_mod.check_target(obj)
        arm = None
        if job.armature:  # checked before the (slow) generation
            arm = bpy.data.objects.get(job.armature)
            if arm is None:
                raise TalkclipError(f"armature {job.armature!r} not found in {job.blend.name}")
            scene_mod.check_head_bone(arm, job.head_bone)
        binding = binding_mod.bind(scene_mod.shape_key_names(obj), job.profile)
        result.profile = binding.profile
        result.channels_mapped = binding.channels_mapped
        start = job.start_frame if job.start_frame is not None else float(scene.frame_start)
        if job.track is not None:
            from exporters import track_io

            track = track_io.read_track(job.track)
        else:
            from talkclip_model import pipeline
            options = pipeline.GenerateOptions(
                fps=scene_mod.scene_fps(scene), seed=job.seed, transcript=job.transcript,
                prompt=job.prompt, intensity=job.intensity,
                schedule=scene_mod.style_schedule(scene, start))
            track = pipelines.get().generate(job.audio, options)
        take = (job.audio or job.track).stem
        summary = bake.bake_shape_keys(obj, track, take=take, start_frame=start, binding=binding,
                                       reduce_tolerance=job.reduce_tolerance, scene=scene)
        result.action = summary.action
        if arm is not None:
            result.head_action = bake.bake_head(arm, job.head_bone, track, take=take, start_frame=start,
                                                reduce_tolerance=job.reduce_tolerance, scene=scene)
        scene.frame_end = max(scene.frame_end, int(summary.last_frame + 0.999))
        write_output(job, obj, track)
        result.frames = track.num_frames
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
    from . import preferences

    return preferences.pipeline_settings()


def build_parser(prog: str = "python -m blender_addon.batch") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Generate and bake TalkCLIP takes for every job of a manifest.")
    p.add_argument("manifest", metavar="MANIFEST", help="jobs: a JSON list of objects or a CSV with a header row")
    p.add_argument("--force", action="store_true", help="redo jobs whose output already exists")
    p.add_argument("--report", metavar="PATH", help="JSON report (default: MANIFEST.report.json beside it)")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="accept relative paths that climb out of the manifest's folder")
    p.add_argument("--strict-paths", action="store_true",
                   help="refuse absolute paths outside the manifest's folder too")
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
