"""glTF 2.0: add a take to a character as a morph-target weights animation.

``add_animation(character.glb, track, out.glb)`` reads the character, finds every node whose mesh
has morph targets, binds the targets' names (``mesh.extras.targetNames``, the convention Blender,
three.js and Babylon use) to a retarget profile (detected, or the one given), and appends one
animation: a sampler per node with the frame times in seconds as input (float32 SCALAR, with
min/max), the weights as output (T x N floats, LINEAR) and a channel with path ``weights`` on the
node. Targets the profile does not drive keep the mesh's default weight.

Everything else is kept as it was: the JSON is edited as a plain dict (pygltflib's object model
drops properties outside the schema and writes defaults, so it is not used on the way through),
the binary chunk is kept byte for byte and the new data is appended after it. An existing
animation with the same name is kept and the new one gets a unique name (``talkclip.001``).

Reading the character (``read_glb``) and checking its structure at the boundary is
``exporters.gltf_read``'s: a damaged or hand-edited file is refused with one line naming it.

``write_morph_glb`` builds a small character GLB (one mesh with named morph targets) with
pygltflib, for tests and for pipelines that start from a neutral mesh plus deltas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from exporters.gltf_read import character_channels as character_channels
from exporters.gltf_read import glb_bytes, morph_nodes, read_glb, target_names
from exporters.retarget import Profile, apply, detect_profile, load_profile
from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output
from talkclip_model.types import ExpressionTrack

FLOAT = 5126
Progress = Callable[[float], None]


def _unique_name(existing: list[str], wanted: str) -> str:
    if wanted not in existing:
        return wanted
    k = 1
    while f"{wanted}.{k:03d}" in existing:
        k += 1
    return f"{wanted}.{k:03d}"


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) quaternions stored x, y, z, w."""
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz], axis=-1)


def head_quaternions(head: np.ndarray) -> np.ndarray:
    """(T, 4) glTF rotations (x, y, z, w) for head pitch/yaw/roll (T, 3), radians.

    glTF characters face +Z with +Y up, so their left is +X: positive pitch (looks down) turns
    about +X, positive yaw (turns left) about +Y, positive roll (tilts left) about -Z; applied
    yaw, then pitch, then roll.
    """
    head = np.asarray(head, dtype=np.float64)
    half = head / 2

    def axis_quat(k: int, angle: np.ndarray) -> np.ndarray:
        q = np.zeros((len(head), 4))
        q[:, k], q[:, 3] = np.sin(angle), np.cos(angle)
        return q

    q = _quat_mul(_quat_mul(axis_quat(1, half[:, 1]), axis_quat(0, half[:, 0])), axis_quat(2, -half[:, 2]))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _find_node(doc: dict, wanted: str, source) -> int:
    names = [n.get("name", "") for n in doc.get("nodes") or []]
    for exact in (True, False):
        for i, n in enumerate(names):
            if (n == wanted) if exact else (n.lower() == wanted.lower()):
                return i
    shown = ", ".join(n for n in names if n)[:200]
    raise TalkclipError(f"{source}: no node named {wanted!r} for the head rotation (nodes: {shown or 'none named'})")


class _TakeWriter:
    """Appends a take's floats to buffer 0 of a glTF dict; collects the animation's samplers and channels."""

    def __init__(self, doc: dict, binary: bytes, source) -> None:
        if binary and doc.get("buffers") and "uri" in doc["buffers"][0]:
            raise TalkclipError(f"{source}: GLB buffer 0 has a URI; cannot append animation data")
        self.buffers = doc.setdefault("buffers", [])
        if not self.buffers:
            self.buffers.append({"byteLength": 0})
        self.blob = bytearray(binary[: self.buffers[0].get("byteLength", len(binary))] if binary else b"")
        self.views = doc.setdefault("bufferViews", [])
        self.accessors = doc.setdefault("accessors", [])
        self.samplers: list[dict] = []
        self.channels: list[dict] = []

    def floats(self, values: np.ndarray, with_bounds: bool, acc_type: str = "SCALAR") -> int:
        """Index of a new float accessor holding ``values``."""
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        raw = np.ascontiguousarray(values, dtype="<f4").tobytes()
        self.views.append({"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(raw)})
        self.blob.extend(raw)
        count = int(values.size) if acc_type == "SCALAR" else int(len(values))
        acc = {"bufferView": len(self.views) - 1, "componentType": FLOAT, "count": count, "type": acc_type}
        if with_bounds:
            acc["min"], acc["max"] = [float(values.min())], [float(values.max())]
        self.accessors.append(acc)
        return len(self.accessors) - 1

    def channel(self, time_acc: int, values: np.ndarray, node: int, path: str, acc_type: str = "SCALAR") -> None:
        """A LINEAR sampler of ``values`` over the frame times, and its channel on ``node``."""
        self.samplers.append({"input": time_acc, "output": self.floats(values, with_bounds=False, acc_type=acc_type),
                              "interpolation": "LINEAR"})
        self.channels.append({"sampler": len(self.samplers) - 1, "target": {"node": node, "path": path}})


def _bind_targets(nodes: list, profile: Profile | str | None, source):
    """The Detection binding the morph targets' names to ``profile`` (detected when None)."""
    all_names = list(dict.fromkeys(n for _, _, names in nodes for n in names))
    if profile is None:
        return detect_profile(all_names, source=source)
    base = load_profile(profile) if isinstance(profile, (str, Path)) else profile
    detection = base.bind(all_names)
    if not detection.binding:
        raise TalkclipError(f"{source}: profile {base.name} matches none of the morph targets "
                            f"({', '.join(all_names[:5])}{' ...' if len(all_names) > 5 else ''})")
    return detection


def _frame_times(track: ExpressionTrack, out: Path) -> np.ndarray:
    times = (np.arange(track.num_frames, dtype=np.float64) / track.fps).astype(np.float32)  # (T,)
    if track.num_frames > 1 and not np.all(np.diff(times) > 0):
        raise TalkclipError(f"{out}: the take is too long for glTF's float32 frame times "
                            f"({track.num_frames} frames at {track.fps:g} fps)")
    return times


def _node_weights(doc: dict, ni: int, mi: int, names: list[str], column: dict, frames: int) -> np.ndarray:
    """(T, N) weights of one node: the driven targets' columns, the default weight for the rest."""
    node_weights = doc["nodes"][ni].get("weights")  # a node's weights override its mesh's
    defaults = node_weights or doc["meshes"][mi].get("weights") or [0.0] * len(names)
    weights = np.empty((frames, len(names)), dtype=np.float32)  # (T, N)
    for j, n in enumerate(names):
        weights[:, j] = column[n] if n in column else defaults[j]
    return weights


def _head_rotations(doc: dict, head_node: str, track: ExpressionTrack, source) -> tuple[int, np.ndarray]:
    """(node index, (T, 4) float32 rotations): the take's head on top of the node's rest rotation."""
    head_index = _find_node(doc, head_node, source)
    node = doc["nodes"][head_index]
    if "matrix" in node:
        raise TalkclipError(f"{source}: node {head_node!r} has a matrix; glTF can only animate "
                            "nodes with translation/rotation/scale")
    rest = np.asarray(node.get("rotation", [0.0, 0.0, 0.0, 1.0]), dtype=np.float64)
    rest /= np.linalg.norm(rest)  # the reader refused a zero rotation
    rotations = _quat_mul(np.broadcast_to(rest, (track.num_frames, 4)), head_quaternions(track.head))
    return head_index, rotations.astype(np.float32)


def add_animation(character, track: ExpressionTrack, out, profile: Profile | str | None = None,
                  name: str = "talkclip", overwrite: bool = True, progress: Progress | None = None,
                  head_node: str | None = None) -> dict:
    """Write ``out`` (.glb): ``character`` plus ``track`` as a morph-weights animation.

    With ``head_node`` (a node name, e.g. the head joint), the take's head pitch/yaw/roll also
    become a rotation channel on that node, on top of its rest rotation (see head_quaternions).
    Returns a report: {"animation": name, "nodes": [...], "detection": Detection, "frames": T,
    "head_node": index or None}.
    """
    character, out = Path(character), Path(out)
    if out.suffix.lower() != ".glb":
        raise TalkclipError(f"{out}: glTF output must be a .glb file")
    if out.exists() and out.resolve() == character.resolve():
        raise TalkclipError(f"{out}: is the input character; write the animated copy to another file")
    doc, binary = read_glb(character)
    nodes = morph_nodes(doc)
    if not nodes:
        raise TalkclipError(f"{character}: no mesh with morph targets (shape keys) to animate")
    if track.num_frames < 1:
        raise TalkclipError(f"{out}: the take has no frames")
    detection = _bind_targets(nodes, profile, character)
    writer = _TakeWriter(doc, binary, character)
    time_acc = writer.floats(_frame_times(track, out), with_bounds=True)
    bound_names, bound_values = apply(detection, track)  # (T, n_bound)
    column = {n: bound_values[:, j] for j, n in enumerate(bound_names)}
    report_nodes = []
    for k, (ni, mi, names) in enumerate(nodes):
        weights = _node_weights(doc, ni, mi, names, column, track.num_frames)
        writer.channel(time_acc, weights.reshape(-1), ni, "weights")
        report_nodes.append({"node": ni, "name": doc["nodes"][ni].get("name", f"node {ni}"),
                             "targets": len(names), "driven": sum(n in column for n in names)})
        if progress is not None:
            progress((k + 1) / len(nodes))
    head_index = None
    if head_node:
        head_index, rotations = _head_rotations(doc, head_node, track, character)
        writer.channel(time_acc, rotations, head_index, "rotation", acc_type="VEC4")
    animations = doc.setdefault("animations", [])
    anim_name = _unique_name([a.get("name", "") for a in animations], name)
    animations.append({"name": anim_name, "samplers": writer.samplers, "channels": writer.channels,
                       "extras": {"generator": "talkclip", "fps": track.fps, "profile": detection.base.name}})
    writer.buffers[0]["byteLength"] = len(writer.blob)
    data = glb_bytes(doc, bytes(writer.blob))
    with atomic_output(out, "wb", overwrite=overwrite) as fh:
        fh.write(data)
    return {"animation": anim_name, "nodes": report_nodes, "detection": detection, "frames": track.num_frames,
            "head_node": head_index}


def read_animation(path, name: str | None = None) -> dict[str, tuple[np.ndarray, list[str], np.ndarray]]:
    """Read back a weights animation: {node name: (times (T,), target names, weights (T, N))}."""
    doc, binary = read_glb(path)
    anims = doc.get("animations") or []
    anim = next((a for a in anims if name is None or a.get("name") == name), None)
    if anim is None:
        raise TalkclipError(f"{path}: no animation {name!r}")

    def floats(ai: int) -> np.ndarray:
        acc = doc["accessors"][ai]
        view = doc["bufferViews"][acc["bufferView"]]
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        return np.frombuffer(binary, dtype="<f4", count=acc["count"], offset=start).copy()

    out = {}
    try:
        for ch in anim["channels"]:
            if ch["target"].get("path") != "weights":
                continue
            ni = ch["target"]["node"]
            s = anim["samplers"][ch["sampler"]]
            names = target_names(doc, doc["nodes"][ni]["mesh"])
            times = floats(s["input"])
            out[doc["nodes"][ni].get("name", f"node {ni}")] = (times, names, floats(s["output"]).reshape(len(times), -1))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise TalkclipError(f"{path}: animation {anim.get('name')!r} is damaged ({type(exc).__name__}: {exc})") from None
    return out


# --- building a character -----------------------------------------------------------------

def write_morph_glb(path, vertices: np.ndarray, faces: np.ndarray, targets: Mapping[str, np.ndarray],
                    name: str = "face", overwrite: bool = True) -> Path:
    """A GLB with one mesh (``vertices`` (V, 3), triangle ``faces`` (F, 3)) whose morph targets
    are ``targets`` {name: position deltas (V, 3)}, named in ``mesh.extras.targetNames``."""
    import pygltflib as g

    vertices = np.ascontiguousarray(vertices, dtype=np.float32)
    faces = np.ascontiguousarray(faces, dtype=np.uint32)
    blob = bytearray()
    views, accessors = [], []

    def add(arr: np.ndarray, acc_type: str, ctype: int, target: int, bounds: bool) -> int:
        blob.extend(b"\0" * (-len(blob) % 4))
        raw = arr.tobytes()
        views.append(g.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(raw), target=target))
        blob.extend(raw)
        acc = g.Accessor(bufferView=len(views) - 1, componentType=ctype, count=len(arr), type=acc_type)
        if bounds:
            acc.min, acc.max = arr.min(axis=0).tolist(), arr.max(axis=0).tolist()
        accessors.append(acc)
        return len(accessors) - 1

    pos = add(vertices, g.VEC3, g.FLOAT, g.ARRAY_BUFFER, True)
    idx = add(faces.reshape(-1), g.SCALAR, g.UNSIGNED_INT, g.ELEMENT_ARRAY_BUFFER, False)
    accessors[idx].min, accessors[idx].max = [int(faces.min())], [int(faces.max())]
    morphs = []
    for tname, delta in targets.items():
        delta = np.ascontiguousarray(delta, dtype=np.float32).reshape(len(vertices), 3)
        morphs.append({"POSITION": add(delta, g.VEC3, g.FLOAT, g.ARRAY_BUFFER, True)})
    prim = g.Primitive(attributes=g.Attributes(POSITION=pos), indices=idx, targets=morphs or None)
    mesh = g.Mesh(name=name, primitives=[prim], weights=[0.0] * len(morphs) if morphs else None,
                  extras={"targetNames": list(targets)} if morphs else {})
    doc = g.GLTF2(asset=g.Asset(generator="talkclip", version="2.0"), scene=0, scenes=[g.Scene(nodes=[0])],
                  nodes=[g.Node(name=name, mesh=0)], meshes=[mesh], accessors=accessors, bufferViews=views,
                  buffers=[g.Buffer(byteLength=len(blob))])
    doc.set_binary_blob(bytes(blob))
    data = b"".join(doc.save_to_bytes())
    with atomic_output(path, "wb", overwrite=overwrite) as fh:
        fh.write(data)
    return Path(path)
