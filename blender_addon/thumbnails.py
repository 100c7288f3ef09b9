"""Review thumbnails, when a batch runs with ``--preview-image PNG``: every finished line is also
rendered on that character picture with the neural preview (THA3 on onnxruntime, docs/preview.md),
as a strip of the face at a few moments of the take (in each quarter, the widest jaw opening),
written beside the report (``<report>.thumbs/<job>.png``) and shown on the review page next to the
line's curves. A reviewer sees each line's mouth shapes on the character before opening Blender.

Opt-in because it costs a few renders per line (about 0.7 s each on one CPU core; 0.01 s on a
GPU). The picture and the export are checked once before any line runs; a line whose thumbnail
fails still succeeds, with a warning. Reading the picture needs bpy (no Pillow in Blender).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from exporters.png import write_png
from exporters.preview import over_background  # white under the transparent parts
from talkclip_model.errors import TalkclipError, one_line

CELLS = 4  # moments per line
FACE = (192, 96, 320, 224)  # left, top, right, bottom in THA3's 512x512 frame: eyes to chin
SHRINK = 2  # 128 -> 64 pixels a cell, by averaging 2x2 blocks


def moments(jaw: np.ndarray, cells: int = CELLS) -> np.ndarray:
    """Frame indices: the take cut into ``cells`` equal parts, in each the widest jaw opening."""
    n = len(jaw)
    edges = np.linspace(0, n, min(cells, n) + 1).astype(int)
    return np.array([a + int(np.argmax(jaw[a:b])) for a, b in zip(edges[:-1], edges[1:]) if b > a])


def cell(rgba: np.ndarray) -> np.ndarray:
    """(64, 64, 3) uint8: the face of a rendered frame over white, shrunk."""
    left, top, right, bottom = FACE
    rgb = over_background(rgba[top:bottom, left:right]).astype(np.float32)
    h, w = rgb.shape[0] // SHRINK, rgb.shape[1] // SHRINK
    small = rgb[:h * SHRINK, :w * SHRINK].reshape(h, SHRINK, w, SHRINK, 3).mean(axis=(1, 3))
    return np.rint(small).astype(np.uint8)


def thumbs_dir(report: Path) -> Path:
    return Path(report).with_name(Path(report).name + ".thumbs")


class Thumbnailer:
    """One character picture, checked at once; the renderer loads with the first line."""

    def __init__(self, image: Path, folder: Path, providers: list[str] | None = None):
        from talkclip_model.render.tha3_files import find_export
        from talkclip_model.render.tha3_onnx import Tha3Renderer, check_export

        from .preview import load_character

        self.image = load_character(Path(image))
        check_export(find_export())  # before any line: not built, or damaged, is one line now
        self.folder, self.providers = Path(folder), providers
        self.renderer_class = Tha3Renderer
        self.renderer: Tha3Renderer | None = None

    def strip(self, track) -> np.ndarray:
        """(64, 64 * cells, 3) uint8: the face at the take's moments, left to right."""
        if self.renderer is None:
            self.renderer = self.renderer_class(self.providers, threads=os.cpu_count() or 1)
        from talkclip_model.arkit import INDEX

        frames = moments(track.arkit[:, INDEX["jawOpen"]])
        return np.concatenate([cell(self.renderer.render(self.image, track.arkit[i], track.head[i]))
                               for i in frames], axis=1)

    def write(self, track, job_index: int) -> tuple[str | None, str | None]:
        """(the thumbnail's path, None), or (None, a warning) when it could not be made."""
        path = self.folder / f"{job_index:05d}.png"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_png(path, self.strip(track))
        except (OSError, TalkclipError, ValueError) as exc:
            return None, f"no review thumbnail: {one_line(exc)}"
        return str(path), None
