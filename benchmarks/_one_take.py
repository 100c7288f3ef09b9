"""One timed take in a fresh process, so peak memory is this take's own.

    python -m benchmarks._one_take AUDIO [--transcript-file TXT] [--recognizer words|phones]
        [--prompt TEXT] [--fps 30] [--track OUT.json]

Prints one JSON line: audio seconds, model load, per-stage seconds, export, wall, x real time
and peak resident memory (MB, ``ru_maxrss``) of the whole process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._one_take")
    p.add_argument("audio")
    p.add_argument("--transcript-file")
    p.add_argument("--recognizer", default="words", choices=("words", "phones"))
    p.add_argument("--prompt", default="calm, slightly smiling")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--track", help="write the take here (JSON); default: a temporary file")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    from exporters.formats import write_track
    from talkclip_model.pipeline import GenerateOptions, Pipeline

    pipeline = Pipeline()
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipeline.style_model  # load once, as the CLI / batch do before their takes  # noqa: B018
    load_s = time.perf_counter() - t0
    peak_load_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    transcript = Path(args.transcript_file).read_text(encoding="utf-8") if args.transcript_file else None
    opts = GenerateOptions(fps=args.fps, transcript=transcript, prompt=args.prompt, recognizer=args.recognizer)
    t0 = time.perf_counter()
    track = pipeline.generate(args.audio, opts)
    timings = track.meta["timings"]
    gen_s = time.perf_counter() - t0
    peak_generate_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t0 = time.perf_counter()
    if args.track:
        write_track(track, args.track)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            write_track(track, Path(tmp) / "take.json")
    export_s = time.perf_counter() - t0
    duration = float(track.meta.get("duration", track.num_frames / track.fps))
    wall = gen_s + export_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    print(json.dumps({
        "audio_s": duration, "import_s": round(import_s, 4), "load_s": round(load_s, 4),
        "stages": {"audio_decode": timings.get("audio", 0.0), "phonemes": timings.get("phonemes", 0.0),
                   "style": timings.get("style", 0.0), "to_arkit": timings.get("decode", 0.0),
                   "export": export_s},
        "wall_s": wall, "x_realtime": duration / wall if wall > 0 else float("inf"), "peak_mb": round(peak_mb, 1),
        "peak_before_export_mb": round(peak_generate_mb, 1), "peak_after_load_mb": round(peak_load_mb, 1),
        "frames": track.num_frames, "phone_source": track.meta.get("phone_source"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
