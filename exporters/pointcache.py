"""Point caches of the animated mesh (MDD, PC2) for pipelines without Blender.

A ``BlendshapeMesh`` is a neutral mesh plus sparse per-channel vertex deltas (the ICT FaceKit
layout: an NPZ with ``neutral`` (V, 3), ``names`` and ``<name>__idx`` / ``<name>__delta``), or
an OBJ loaded with trimesh plus such deltas. Its channel names bind to ARKit through the
retarget profiles (``eyeBlink_L`` -> eyeBlinkLeft), so any take drives it. Frames are computed
in blocks of 32 (one matrix product each) and written as they come, so memory stays small
whatever the take's length.

Formats (both store float32 xyz per point per frame; Blender imports both):
- MDD (LightWave / Blender "NewTek MDD"): big-endian int32 frame count, int32 point count,
  float32 time of each frame (seconds), then each frame's points.
- PC2 (3ds Max / Blender): little-endian 12-byte ``POINTCACHE2\\0``, int32 version 1, int32 point
  count, float32 start frame, float32 sample rate (frames between samples; 1), int32 sample
  count, then each sample's points.
"""

from __future__ import annotations

import io
import shutil
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from exporters.npz_io import float_array, load_npz, names_array
from exporters.retarget import Detection, Profile, apply, detect_profile, load_profile
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output, read_bytes_bounded
from talkclip_model.types import ExpressionTrack

PC2_MAGIC = b"POINTCACHE2\0"
MESH_LIMIT = 1024 << 20  # bytes of neutral mesh file read
MAX_COORDINATE = 1e12  # positions and deltas: any real unit, and frames stay far from float32 overflow
Progress = Callable[[float], None]


@dataclass(frozen=True)
class BlendshapeMesh:
    """A neutral mesh and sparse blendshape deltas: channel -> (vertex ids (K,), deltas (K, 3))."""

    vertices: np.ndarray  # (V, 3) float32
    faces: np.ndarray | None  # (F, 3) int, or None
    deltas: Mapping[str, tuple[np.ndarray, np.ndarray]]
    source: str = ""  # the deltas file, for messages

    @property
    def names(self) -> list[str]:
        return list(self.deltas)

    def dense(self, name: str) -> np.ndarray:
        """(V, 3) deltas of one channel."""
        out = np.zeros_like(self.vertices)
        idx, d = self.deltas[name]
        out[idx] = d
        return out

    def frames(self, names: list[str], weights: np.ndarray, block: int = 32) -> Iterator[np.ndarray]:
        """Animated vertices (V, 3) for each row of ``weights`` (T, len(names)).

        The deltas are laid out densely over the vertices any channel moves (K of them), so a
        block of frames is one matrix product (block, n) @ (n, K*3); memory stays at one block.
        """
        weights = np.asarray(weights, dtype=np.float32).reshape(-1, len(names))
        moved = np.unique(np.concatenate([self.deltas[n][0] for n in names] or [np.zeros(0, np.int64)]))
        where = np.searchsorted(moved, np.arange(len(self.vertices)))  # vertex -> column in `moved`
        dense = np.zeros((len(names), len(moved), 3), dtype=np.float32)  # (n, K, 3)
        for j, n in enumerate(names):
            idx, d = self.deltas[n]
            np.add.at(dense[j], where[idx], d)
        dense = dense.reshape(len(names), -1)  # (n, K*3)
        base = self.vertices[moved].reshape(-1)  # (K*3,)
        for start in range(0, len(weights), block):
            moving = weights[start:start + block] @ dense + base  # (B, K*3)
            for row in moving:
                v = self.vertices.copy()
                v[moved] = row.reshape(-1, 3)
                yield v


def _channel_deltas(z: dict, name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertex ids (K,), deltas (K, 3)) of one channel, checked."""
    if f"{name}__idx" not in z or f"{name}__delta" not in z:
        raise TalkclipError(f"{path}: channel {name!r} lacks {name}__idx or {name}__delta")
    delta_key = f"{name}__delta"
    idx, d = z[f"{name}__idx"], _bounded(float_array(z[delta_key], delta_key, path, "deltas NPZ"), delta_key, path)
    if idx.dtype.kind not in "iu":
        raise TalkclipError(f"{path}: {name}__idx must hold whole vertex ids, got {idx.dtype}")
    idx = idx.astype(np.int64).reshape(-1)
    if d.size % 3:
        raise TalkclipError(f"{path}: {name}__delta holds {d.size} values, not xyz triples")
    d = d.reshape(-1, 3)
    if len(idx) != len(d):
        raise TalkclipError(f"{path}: channel {name!r} has {len(idx)} vertex ids but {len(d)} deltas")
    return idx, d


def _bounded(values: np.ndarray, key: str, path: Path) -> np.ndarray:
    if values.size and np.abs(values).max() > MAX_COORDINATE:
        raise TalkclipError(f"{path}: {key!r} holds coordinates beyond +-{MAX_COORDINATE:g}")
    return values


def _neutral(z: dict, path: Path) -> np.ndarray | None:
    if "neutral" not in z:
        return None
    neutral = _bounded(float_array(z["neutral"], "neutral", path, "deltas NPZ"), "neutral", path)
    if neutral.ndim != 2 or neutral.shape[1] != 3 or not len(neutral):
        raise TalkclipError(f"{path}: 'neutral' must be (vertices, 3) positions, got shape {neutral.shape}")
    return neutral


def load_deltas_npz(path, mesh_path=None) -> BlendshapeMesh:
    """Read ICT-style deltas (``neutral``, ``names``, ``<name>__idx``, ``<name>__delta``); with
    ``mesh_path`` (OBJ, PLY, ...) the neutral vertices and faces come from that mesh (trimesh,
    without merging or reordering vertices) and must have the same vertex count."""
    path = Path(path)
    z = load_npz(path, "deltas NPZ")
    if "names" not in z:
        raise TalkclipError(f"{path}: deltas NPZ has no 'names' array")
    names = names_array(z["names"], "names", path, "deltas NPZ")
    if len(set(names)) != len(names):
        raise TalkclipError(f"{path}: a channel is listed twice in 'names'")
    neutral = _neutral(z, path)
    deltas = {n: _channel_deltas(z, n, path) for n in names}
    faces = None
    if mesh_path is not None:
        mesh_vertices, faces = load_mesh(mesh_path)
        if neutral is not None and len(mesh_vertices) != len(neutral):
            raise TalkclipError(f"{mesh_path}: {len(mesh_vertices)} vertices, the deltas in {path} are for {len(neutral)}")
        neutral = mesh_vertices
    if neutral is None:
        raise TalkclipError(f"{path}: no 'neutral' array and no mesh given")
    for n, (idx, _) in deltas.items():
        if len(idx) and (idx.min() < 0 or idx.max() >= len(neutral)):
            raise TalkclipError(f"{path}: channel {n!r} has vertex ids outside the mesh's {len(neutral)} vertices")
    return BlendshapeMesh(vertices=neutral, faces=faces, deltas=deltas, source=str(path))


def _trimesh_load(trimesh, data: bytes, path: Path) -> Any:
    """A trimesh mesh from a file's bytes; an OBJ with texture and normal indices dropped first."""
    if path.suffix.lower() == ".obj":
        keep = []
        for line in data.decode("utf-8", errors="replace").splitlines():
            if line.startswith("v "):
                keep.append(line + "\n")
            elif line.startswith("f "):
                keep.append("f " + " ".join(t.split("/")[0] for t in line.split()[1:]) + "\n")
        return trimesh.load(io.StringIO("".join(keep)), file_type="obj", process=False, force="mesh")
    return trimesh.load(io.BytesIO(data), file_type=path.suffix.lower().lstrip("."), process=False, force="mesh")


def load_mesh(path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) float32, triangles (F, 3)) of a mesh file, vertices in file order.

    OBJ files are read with their texture and normal indices dropped first: trimesh otherwise
    splits vertices at UV seams, and blendshape deltas index the file's own vertex list.
    """
    import trimesh

    path = Path(path)
    data = read_bytes_bounded(path, MESH_LIMIT, "mesh file")
    try:
        with warnings.catch_warnings():  # numpy's deprecation notes about a broken file: not extra lines
            warnings.simplefilter("ignore")
            mesh = _trimesh_load(trimesh, data, path)
    except Exception as exc:  # trimesh raises many types for unreadable files
        raise TalkclipError(f"{path}: cannot load mesh ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
    vertices = np.asarray(getattr(mesh, "vertices", np.zeros((0, 3))), np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise TalkclipError(f"{path}: mesh has no vertices")
    if not np.all(np.isfinite(vertices)):
        raise TalkclipError(f"{path}: mesh vertices hold NaN or infinity")
    vertices = _bounded(vertices, "vertices", path).astype(np.float32)
    return vertices, np.asarray(getattr(mesh, "faces", np.zeros((0, 3))), np.int64).reshape(-1, 3)


def weights_for(mesh: BlendshapeMesh, track: ExpressionTrack, profile: Profile | str | None = None):
    """(channel names, weights (T, n), Detection) for driving ``mesh`` with ``track``."""
    if profile is None:
        detection = detect_profile(mesh.names, source=mesh.source or None)
    else:
        prof = load_profile(profile) if isinstance(profile, (str, Path)) else profile
        detection = prof.bind(mesh.names)
    if not detection.binding:
        raise TalkclipError(f"{mesh.source or 'mesh'}: profile {detection.base.name} matches none of the mesh's channels")
    names, weights = apply(detection, track)
    return names, weights, detection


def _check_space(path, size: int) -> None:
    """Refuse, before writing a byte, a cache larger than the free space where it goes (an hour
    of a dense head is tens of GB)."""
    try:
        free = shutil.disk_usage(Path(path).resolve().parent).free
    except OSError:
        return
    if size > free:
        raise TalkclipError(f"{path}: the point cache needs {size / 1e9:.1f} GB, "
                            f"the disk has {free / 1e9:.1f} GB free")


def _write(path, header: bytes, frames: Iterator[np.ndarray], dtype: str, count: int,
           overwrite: bool, progress: Progress | None) -> None:
    with atomic_output(path, "wb", overwrite=overwrite) as fh:
        fh.write(header)
        step = max(1, count // 100)
        for i, v in enumerate(frames):
            fh.write(np.ascontiguousarray(v, dtype=dtype).tobytes())
            if progress is not None and (i % step == 0 or i == count - 1):
                progress((i + 1) / count)


def write_mdd(path, frames: Iterator[np.ndarray], num_frames: int, num_points: int, fps: float,
              overwrite: bool = True, progress: Progress | None = None) -> None:
    times = (np.arange(num_frames) / fps).astype(">f4")
    header = struct.pack(">ii", num_frames, num_points) + times.tobytes()
    _check_space(path, len(header) + 12 * num_frames * num_points)
    _write(path, header, _checked(frames, num_frames, num_points), ">f4", num_frames, overwrite, progress)


def write_pc2(path, frames: Iterator[np.ndarray], num_frames: int, num_points: int, start_frame: float = 0.0,
              overwrite: bool = True, progress: Progress | None = None) -> None:
    header = PC2_MAGIC + struct.pack("<iiffi", 1, num_points, float(start_frame), 1.0, num_frames)
    _check_space(path, len(header) + 12 * num_frames * num_points)
    _write(path, header, _checked(frames, num_frames, num_points), "<f4", num_frames, overwrite, progress)


def _checked(frames, num_frames: int, num_points: int) -> Iterator[np.ndarray]:
    n = 0
    for v in frames:
        if v.shape != (num_points, 3):
            raise TalkclipError(f"point cache frame {n} has shape {v.shape}, expected ({num_points}, 3)")
        if not np.all(np.isfinite(v)):
            raise TalkclipError(f"point cache frame {n} holds NaN or infinity")
        n += 1
        yield v
    if n != num_frames:
        raise TalkclipError(f"point cache got {n} frames, expected {num_frames}")


def read_mdd(path) -> tuple[np.ndarray, np.ndarray]:
    """(times (T,), points (T, V, 3))."""
    data = Path(path).read_bytes()
    try:
        t, v = struct.unpack_from(">ii", data, 0)
        if t < 0 or v < 0 or len(data) != 8 + 4 * t + 12 * t * v:
            raise ValueError(f"size {len(data)} does not match {t} frames of {v} points")
    except (struct.error, ValueError) as exc:
        raise TalkclipError(f"{path}: not an MDD file ({exc})") from None
    times = np.frombuffer(data, ">f4", t, 8).astype(np.float32)
    pts = np.frombuffer(data, ">f4", t * v * 3, 8 + 4 * t).astype(np.float32).reshape(t, v, 3)
    return times, pts


def read_pc2(path) -> tuple[dict, np.ndarray]:
    """(header {points, start_frame, sample_rate, samples}, points (T, V, 3))."""
    data = Path(path).read_bytes()
    try:
        if data[:12] != PC2_MAGIC:
            raise ValueError("bad signature")
        version, v, start, rate, t = struct.unpack_from("<iiffi", data, 12)
        if version != 1 or len(data) != 32 + 12 * t * v:
            raise ValueError(f"version {version}, size {len(data)} for {t} samples of {v} points")
    except (struct.error, ValueError) as exc:
        raise TalkclipError(f"{path}: not a PC2 file ({exc})") from None
    pts = np.frombuffer(data, "<f4", t * v * 3, 32).astype(np.float32).reshape(t, v, 3)
    return {"points": v, "start_frame": start, "sample_rate": rate, "samples": t}, pts


def write_point_cache(mesh: BlendshapeMesh, track: ExpressionTrack, path, profile: Profile | str | None = None,
                      overwrite: bool = True, progress: Progress | None = None) -> Detection:
    """Animate ``mesh`` with ``track`` and write ``path`` as MDD (.mdd) or PC2 (.pc2)."""
    kind = Path(path).suffix.lower()
    if kind not in (".mdd", ".pc2"):
        raise TalkclipError(f"{path}: point cache must be .mdd or .pc2")
    names, weights, detection = weights_for(mesh, track, profile)
    frames = mesh.frames(names, weights)
    v = len(mesh.vertices)
    if kind == ".mdd":
        write_mdd(path, frames, track.num_frames, v, track.fps, overwrite, progress)
    else:
        write_pc2(path, frames, track.num_frames, v, 0.0, overwrite, progress)
    return detection
