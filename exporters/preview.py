"""A take on a character image: sample it at the preview rate, drive a renderer, write the frames.

    frame_range(...)  --frames A:B -> take frames A..B-1
    preview_times(...) the take times of the preview frames (fps from frame A)
    render_take(...)   a renderer (``talkclip_model.render.base.Renderer``) over those times
    write_preview(...) numbered PNGs (``DIR/``), a contact sheet (``.png``) or an MP4 (``.mp4``)

Any object with the ``Renderer`` members works here; ``talkclip preview`` passes THA3.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from exporters.video import write_mp4
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_path, check_output_path
from talkclip_model.render.base import Renderer
from talkclip_model.types import ExpressionTrack

FRAME_NAME = "frame_{:05d}.png"
SHEET_THUMB = 256  # contact-sheet cell, pixels
BACKGROUND = (255, 255, 255)  # under transparent pixels in sheets and video
MAX_FPS = 60.0
MAX_SHEET = 100  # frames on one contact sheet


@dataclass(frozen=True)
class PreviewPlan:
    times: np.ndarray  # (N,) take seconds of each preview frame
    start: int  # take frame A
    stop: int  # take frame B (exclusive)
    fps: float

    @property
    def duration(self) -> float:
        return len(self.times) / self.fps


def frame_range(text: str | None, num_frames: int) -> tuple[int, int]:
    """``A:B`` (either side may be empty) -> take frames A..B-1; one line when it does not fit."""
    if not text:
        return 0, num_frames
    m = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", text)
    if not m:
        raise TalkclipError(f"--frames {text!r}: expected A:B, take frame indices (e.g. 0:60, 30:, :90)")
    start = int(m.group(1)) if m.group(1) else 0
    stop = int(m.group(2)) if m.group(2) else num_frames
    if stop <= start:
        raise TalkclipError(f"--frames {text}: B must be greater than A")
    if stop > num_frames:
        raise TalkclipError(f"--frames {text}: the take has {num_frames} frames (0..{num_frames - 1})")
    return start, stop


def plan_preview(track: ExpressionTrack, fps: float, frames: str | None = None) -> PreviewPlan:
    """Preview frame k shows take time A/take_fps + k/fps, for every such time before frame B."""
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise TalkclipError(f"--fps {fps:g}: expected a rate above 0 and at most {MAX_FPS:g}")
    start, stop = frame_range(frames, track.num_frames)
    t0, t1 = start / track.fps, stop / track.fps
    count = max(1, int(math.ceil((t1 - t0) * fps - 1e-9)))
    return PreviewPlan(times=t0 + np.arange(count) / fps, start=start, stop=stop, fps=float(fps))


def sample_track(track: ExpressionTrack, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 52) ARKit and (N, 3) head at ``times``, linear between take frames."""
    pos = np.clip(np.asarray(times) * track.fps, 0, track.num_frames - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, track.num_frames - 1)
    w = (pos - lo)[:, None]
    arkit = track.arkit[lo] * (1 - w) + track.arkit[hi] * w
    head = track.head[lo] * (1 - w) + track.head[hi] * w
    return arkit.astype(np.float32), head.astype(np.float32)


def render_take(track: ExpressionTrack, renderer: Renderer, image: np.ndarray, plan: PreviewPlan,
                progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """RGBA frames (H, W, 4) uint8, one per planned time."""
    arkit, head = sample_track(track, plan.times)
    for i in range(len(plan.times)):
        yield renderer.render(image, arkit[i], head[i])
        if progress:
            progress(i + 1)


def over_background(rgba: np.ndarray, color=BACKGROUND) -> np.ndarray:
    """(H, W, 3) uint8: RGBA composited over a flat colour."""
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * a + np.asarray(color, np.float32) * (1 - a)
    return np.rint(rgb).astype(np.uint8)


def output_kind(out: str | Path) -> str:
    """'frames' (a path ending in /, an existing folder or a name without a suffix), 'sheet'
    (.png) or 'mp4'."""
    text = str(out)
    suffix = Path(text).suffix.lower()
    if text.endswith(("/", "\\")) or Path(text).is_dir() or not suffix:
        return "frames"
    if suffix == ".png":
        return "sheet"
    if suffix == ".mp4":
        return "mp4"
    raise TalkclipError(f"{out}: --out must be a folder (PNG frames; end it in /), .png (contact sheet) or .mp4 (video)")


def check_preview_output(out: str | Path, count: int, overwrite: bool) -> None:
    """Fail before rendering when the output cannot be written or would replace files without --force."""
    kind = output_kind(out)
    if kind == "sheet" and count > MAX_SHEET:
        raise TalkclipError(f"{out}: a contact sheet shows at most {MAX_SHEET} frames, this preview has {count}; "
                            "lower --fps or narrow --frames")
    if kind != "frames":
        check_output_path(out, overwrite=overwrite)
        return
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise TalkclipError(f"{folder}: is a file, expected a folder for PNG frames")
    parent = folder if folder.is_dir() else folder.parent
    if not parent.is_dir():
        raise TalkclipError(f"{folder}: folder {parent} does not exist")
    taken = [folder / FRAME_NAME.format(i) for i in range(count) if (folder / FRAME_NAME.format(i)).exists()]
    if taken and not overwrite:
        raise TalkclipError(f"{taken[0]}: already exists (use --force to replace the frames)")


def _save_png(rgba: np.ndarray, out: Path, overwrite: bool) -> None:
    from PIL import Image

    with atomic_path(out, overwrite=overwrite) as tmp:
        Image.fromarray(rgba, "RGBA" if rgba.shape[2] == 4 else "RGB").save(tmp, format="PNG")


def write_frames(frames: Iterator[np.ndarray], folder: Path, overwrite: bool) -> int:
    """frame_00000.png, ... in ``folder`` (made if missing); with ``overwrite``, numbered frames
    left beyond the new last one by an earlier, longer preview are removed."""
    folder.mkdir(exist_ok=True)
    count = 0
    for i, frame in enumerate(frames):
        _save_png(frame, folder / FRAME_NAME.format(i), overwrite)
        count += 1
    if overwrite:
        for old in folder.glob("frame_[0-9][0-9][0-9][0-9][0-9].png"):
            if int(old.stem[6:]) >= count:
                old.unlink()
    return count


def contact_sheet(frames: Iterable[np.ndarray], thumb: int = SHEET_THUMB,
                  box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """(rows*thumb, cols*thumb, 3) uint8: the frames (cut to ``box``, left, top, right, bottom,
    when given) left to right, top to bottom, over white; each is shrunk as it arrives."""
    from PIL import Image

    cells = []
    for frame in frames:
        if box is not None:
            frame = frame[box[1]:box[3], box[0]:box[2]]
        cells.append(np.asarray(Image.fromarray(over_background(frame)).resize((thumb, thumb), Image.Resampling.LANCZOS)))
    cols = max(1, math.ceil(math.sqrt(len(cells))))
    rows = max(1, math.ceil(len(cells) / cols))
    sheet = np.full((rows * thumb, cols * thumb, 3), BACKGROUND, np.uint8)
    for i, cell in enumerate(cells):
        r, c = divmod(i, cols)
        sheet[r * thumb:(r + 1) * thumb, c * thumb:(c + 1) * thumb] = cell
    return sheet


def write_preview(frames: Iterator[np.ndarray], out: str | Path, plan: PreviewPlan, size: tuple[int, int],
                  audio: tuple[Path, float, float] | None = None, overwrite: bool = False,
                  sheet_box: tuple[int, int, int, int] | None = None) -> int:
    """Write the frames as ``output_kind(out)`` says (a contact sheet shows ``sheet_box`` of each
    frame when given, e.g. the face); returns how many were written."""
    kind = output_kind(out)
    if kind == "frames":
        return write_frames(frames, Path(out), overwrite)
    if kind == "sheet":
        sheet = contact_sheet(frames, box=sheet_box)
        _save_png(sheet, Path(out), overwrite)
        return len(plan.times)
    return write_mp4((over_background(f) for f in frames), Path(out), plan.fps, size, audio, overwrite)
