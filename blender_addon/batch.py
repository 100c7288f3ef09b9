"""Headless batch: generate and bake every job of a manifest, write a JSON report and its review page.

    blender -b --command talkclip batch MANIFEST [--force] [--report PATH] [--workers N] [--progress json]
    python -m blender_addon.batch MANIFEST [...]                       (with the bpy module)

The models load once for all jobs (once per worker with ``--workers N``: ``pool.py``). A failed
job is recorded and the batch goes on; the exit status is 1 when any job failed (0 with
``--exit-zero``), 2 when the manifest itself cannot be read, 130 when interrupted (Ctrl-C or
SIGTERM: the lines in progress finish, a second one stops at once; the report lists the
unfinished lines as pending, and a rerun finishes them). A job whose
output exists is skipped unless ``--force``. Each job opens its ``.blend``, turns its row into the
same Request the panel's Generate builds (``take.build_request``) and runs the same generate and
bake steps (``take.generate_track``, ``take.bake_request``). Results are written to the job's
``output`` only, in the format its suffix names (``exporters.formats``): ``.blend`` via
save-as-copy, ``.glb``/``.fbx`` via Blender's exporters (``BLENDER_WRITERS``), a take format
(``.json``, ``.npz``, Live Link Face ``.csv``) by its own writer; always through a temporary file
then a rename. The input ``.blend`` is never saved. The report is rewritten after every line,
``REPORT.html`` (``review.py``) beside it. ``--chunk K/N`` and ``--plan`` serve farm jobs
(``chunks.py``). Manifest format: see ``jobs.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import sys
import time
import traceback
from pathlib import Path

import bpy

from exporters.formats import read_track
from talkclip_model.errors import TalkclipError, one_line
from talkclip_model.files import temporary_name

from . import chunks, pool, preferences, prerecognise
from .batch_args import build_parser
from .chunks import failed_result, select_chunk, write_plan
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
from .review import curve_summary, page_path, write_page
from .scene import check_audio_file
from .take import Request, bake_request, build_request, generate_track, shared_pipeline

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
REVIEW_EVERY_S = 10.0  # the review page is rewritten at most this often while the batch runs

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
    tmp = temporary_name(output, ".tmp" + output.suffix)  # a killed run's leftovers go first
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
        profile=job.profile, armature=arm, head_bone=job.head_bone, tolerance=job.reduce_tolerance,
        language=job.language)
    result.profile, result.channels_mapped = binding.profile, binding.channels_mapped
    # without a transcript: the manifest's Whisper model, and the words the batch recognised beforehand
    return dataclasses.replace(req, whisper_model=job.whisper_model, recognition=job.recognition)


def run_job(job: Job, pipelines: PipelineCache | None, force: bool = False, thumbs=None) -> JobResult:
    """One line, start to end; never raises (a failure is the result's ``error``). ``pipelines``
    may be None for a line that fails or is skipped before anything loads (``needs_pipeline``);
    ``thumbs``: a ``thumbnails.Thumbnailer`` (``--preview-image``)."""
    result = failed_result(job, "")
    result.error = None
    t0 = time.perf_counter()
    try:
        if not job.error and job.required("output").exists() and not force:
            result.status = "skipped"
            result.error = "output exists (use --force to replace it)"
            return result
        _check_inputs(job)
        scene = _open_blend(job)
        req = job_request(job, scene, result)
        track = read_track(job.track) if job.track is not None else generate_track(_pipeline(pipelines), req)
        summary = bake_request(scene, req, track)
        result.action, result.head_action = summary.action, summary.head_action
        scene.frame_end = max(scene.frame_end, int(summary.last_frame + 0.999))  # the exporters write the range
        # the thumbnail before the output: the stop held while the output is written stays short
        thumbnail, note = thumbs.write(track, job.index) if thumbs is not None else (None, None)
        pool.hold_stop()  # from here a stop at once waits until this line is reported
        write_output(job.required("output"), track)
        result.frames = track.num_frames
        result.seed = track.meta.get("seed")
        result.curves = curve_summary(track)
        result.warnings += [str(note) for note in track.meta.get("notes") or ()]  # doubtful transcript, spelled words
        result.phone_source = track.meta.get("phone_source")
        result.recognised = (track.meta.get("recognised") or {}).get("text")
        result.thumbnail = thumbnail
        result.warnings += [note] if note else []
        result.status = "ok"
    except Exception as exc:  # one job's failure never stops the batch
        result.error = one_line(exc)
        if not isinstance(exc, TalkclipError) and os.environ.get("TALKCLIP_DEBUG"):
            traceback.print_exc()
    finally:
        result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _pipeline(pipelines: PipelineCache | None):
    if pipelines is None:
        raise TalkclipError("this line needs the pipeline, which this process does not load")
    return pipelines.get()


def needs_pipeline(job: Job, force: bool) -> bool:
    """False for a line the batch settles without opening anything: broken, or already done."""
    return not job.error and (force or not job.required("output").exists())


class BatchRun:
    """The report of a run as lines finish, in manifest order: the JSON after every line, the
    review page beside it (REPORT.html) at the start, at least every REVIEW_EVERY_S and at the end;
    one progress line per finished line (text, JSON or none)."""

    def __init__(self, report: Path, manifest: str, jobs: list[Job], progress: str, out=None):
        self.report, self.manifest, self.progress, self.out = report, manifest, progress, out or sys.stdout
        self.results = [JobResult(job=job.index, name=job.name, status="pending") for job in jobs]
        self.position = {job.index: i for i, job in enumerate(jobs)}
        self.t0 = time.perf_counter()
        self.done, self.page_at = 0, -REVIEW_EVERY_S
        self.error = self.save(page=True)

    def save(self, page: bool = False) -> str | None:
        """Write the report as it stands; the reason when it cannot be written (the batch goes on)."""
        try:
            write_report(self.report, self.manifest, self.results, time.perf_counter() - self.t0)
            if page or time.perf_counter() - self.page_at >= REVIEW_EVERY_S:
                self.page_at = time.perf_counter()
                data = json.loads(self.report.read_text(encoding="utf-8"))
                write_page(page_path(self.report), data, title=f"TalkCLIP batch: {Path(self.manifest).name}")
        except (OSError, TalkclipError) as exc:
            return getattr(exc, "strerror", None) or str(exc)
        return None

    def finish(self, result: JobResult) -> None:
        self.results[self.position[result.job]] = result
        self.done += 1
        if self.progress == "json":
            print(json.dumps({"job": result.job, "name": result.name, "status": result.status, "seconds": result.seconds,
                              "output": result.output, "error": result.error, "done": self.done,
                              "total": len(self.results)}), file=self.out, flush=True)
        elif self.progress == "text":
            detail = result.error or f"{result.frames} frames, {result.channels_mapped} channels -> {result.output}"
            print(f"[{result.job}/{len(self.results)}] {result.status}: {result.name}: {detail}", flush=True)
        self.error = self.save()
        pool.release_stop()  # the line is in the report: a stop held meanwhile happens now

    def close(self, exit_zero: bool = False) -> int:
        self.error = self.save(page=True) or self.error
        out = sys.stderr if self.progress == "json" else sys.stdout
        if self.error:
            print(f"talkclip batch: error: report {self.report}: cannot write ({self.error})", file=sys.stderr)
            return EXIT_FAILED
        failed = sum(r.status == "failed" for r in self.results)
        skipped = sum(r.status == "skipped" for r in self.results)
        print(f"talkclip batch: {len(self.results) - failed - skipped} of {len(self.results)} jobs done, {skipped} "
              f"skipped, {failed} failed; report: {self.report}", file=out, flush=True)
        return EXIT_FAILED if failed and not exit_zero else EXIT_OK

    def interrupted(self) -> int:
        self.save(page=True)
        left = sum(r.status == "pending" for r in self.results)
        print(f"talkclip batch: interrupted: {left} of {len(self.results)} lines not done; run the same command again "
              f"to finish them (done outputs are skipped); report: {self.report}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


def _preferences() -> tuple[str | None, list[str] | None]:
    """Encoder and providers from the add-on preferences, when it is enabled."""
    return preferences.pipeline_settings()


def _pipelines(args) -> PipelineCache:
    encoder, providers = _preferences()
    if args.encoder:
        encoder = args.encoder
    if args.device:
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if args.device == "cuda" else ["CPUExecutionProvider"]
    return PipelineCache(encoder, providers)


def _worker_command(args) -> list[str]:
    """How to start one worker: Blender itself inside Blender (its bundled Python has no bpy),
    this interpreter with the bpy module."""
    if bpy.app.binary_path:
        base = [bpy.app.binary_path, "-b", "--command", "talkclip", "batch"]
    else:
        base = [sys.executable, "-m", __name__ if __name__ != "__main__" else f"{__package__}.batch"]
    flags = [f for f, on in (("--force", args.force), ("--allow-outside-paths", args.allow_outside_paths),
                             ("--strict-paths", args.strict_paths)) if on]
    flags += [x for opt, value in (("--encoder", args.encoder), ("--device", args.device)) if value for x in (opt, value)]
    if args.preview_image:  # the worker writes the thumbnails beside the parent's report
        flags += ["--preview-image", str(Path(args.preview_image).resolve()), "--report", str(Path(args.report).resolve())]
    return base + [str(Path(args.manifest).resolve()), "--worker", *flags]


def _thumbnailer(args):
    """``--preview-image``: the picture and the renderer's export checked now, before any line."""
    if not args.preview_image:
        return None
    from .thumbnails import Thumbnailer, thumbs_dir

    return Thumbnailer(Path(args.preview_image), thumbs_dir(Path(args.report).resolve()), _pipelines(args).providers)


def _run(run: BatchRun, jobs: list[Job], args, stop: pool.StopRequest, thumbs=None) -> None:
    if not args.workers:
        prerecognise.recognise_jobs(jobs, lambda job: needs_pipeline(job, args.force))  # short lines: Whisper, packed
        pipelines = _pipelines(args)
        for job in jobs:
            if stop.asked:
                return
            run.finish(run_job(job, pipelines, force=args.force, thumbs=thumbs))
        return
    heavy = []
    for job in jobs:  # broken and done lines need no worker
        if needs_pipeline(job, args.force):
            heavy.append(job)
        elif not stop.asked:
            run.finish(run_job(job, None, force=args.force))
    if heavy and not stop.asked:
        pool.Pool(_worker_command(args), args.workers, run.finish, failed_result).run(heavy, stop)


def main(argv: list[str] | None = None, prog: str = "python -m blender_addon.batch") -> int:
    args = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    progress = args.progress or ("none" if args.quiet else "text")
    try:
        if args.plan:
            write_plan(args.plan, args.manifest, args.allow_outside_paths, args.strict_paths)
            return EXIT_OK
        jobs = read_manifest(args.manifest, allow_outside=args.allow_outside_paths, strict=args.strict_paths)
        if args.worker:
            return pool.serve(jobs, functools.partial(run_job, pipelines=_pipelines(args), force=args.force,
                                                      thumbs=_thumbnailer(args)))
        jobs = select_chunk(jobs, args.chunk)
        report = check_report_path(args.report or default_report_path(args.manifest))
        args.report = str(report)
        thumbs = _thumbnailer(args)  # a bad picture or a missing export stops the batch here (workers make their own)
    except (ManifestError, TalkclipError) as exc:
        print(f"talkclip batch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stop = pool.StopRequest(raise_at_once=not args.workers)
    with pool.json_stdout(progress == "json") as out:
        run = BatchRun(report, args.manifest, jobs, progress, out)
        try:
            with pool.stop_signals(stop):
                _run(run, jobs, args, stop, thumbs)
        except KeyboardInterrupt:
            return run.interrupted()
        if stop.asked and any(r.status == "pending" for r in run.results):
            return run.interrupted()
        return run.close(exit_zero=args.exit_zero)


def cli_command(argv: list[str]) -> int:
    """Handler of ``blender --command talkclip ...``: ``batch`` and ``merge`` (a farm job's last step)."""
    commands = {"batch": (main, "blender -b --command talkclip batch"),
                "merge": (chunks.main, "blender -b --command talkclip merge")}
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: blender -b --command talkclip batch MANIFEST [--force] [--report PATH] [--workers N] ...\n"
              "       blender -b --command talkclip merge CHUNKS_DIR --manifest M --chunks N --report PATH")
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] not in commands:
        print(f"talkclip: error: unknown subcommand {argv[0]!r} (known: {', '.join(commands)})", file=sys.stderr)
        return EXIT_USAGE
    fn, prog = commands[argv[0]]
    try:
        return fn(list(argv[1:]), prog=prog)
    except SystemExit as exc:  # argparse errors and --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
