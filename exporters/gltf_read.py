"""Reading a character glTF (.glb, or a .gltf with embedded buffers) and checking it at the
boundary: the container, the JSON (no NaN, no overflowing numbers), and the types of everything
``exporters.gltf`` reads or edits (nodes, meshes, morph targets, default weights, buffers), so a
damaged or hand-edited file is refused with one line naming it and the entry, never an internal
error half-way through writing an animation.

Buffer 0 becomes the binary chunk: a .glb's BIN chunk, or buffer 0's ``data:`` URI (in a .gltf,
or in a .glb that has no BIN chunk), decoded; an external buffer 0 is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from pathlib import Path

from talkclip_model.errors import TalkclipError
from talkclip_model.files import parse_json_text, read_bytes_bounded
from talkclip_model.types import finite_number

GLB_MAGIC = 0x46546C67  # b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
GLB_LIMIT = 2048 << 20  # bytes of character file read
LISTS = ("nodes", "meshes", "buffers", "bufferViews", "accessors", "animations")  # what talkclip reads or extends


def read_glb(path) -> tuple[dict, bytes]:
    """(glTF JSON as a dict, binary chunk) of a .glb file. A .gltf whose buffers are data: URIs
    (or that has none) also reads: buffer 0's data becomes the binary chunk."""
    path = Path(path)
    data = read_bytes_bounded(path, GLB_LIMIT, "glTF or GLB file")
    if data[:4] == b"glTF":
        doc, binary = _read_glb_container(data, path)
    else:
        doc, binary = _parse_json(data, path, "not a glTF or GLB file"), b""
        buffers = doc.get("buffers") or []
        if any("uri" in b and not str(b["uri"]).startswith("data:") for b in buffers):
            raise TalkclipError(f"{path}: .gltf with external buffers is not supported; convert it to .glb")
    return doc, _buffer_zero(doc, binary, path)


def _parse_json(data: bytes, path: Path, what: str) -> dict:
    try:
        doc = parse_json_text(data.decode("utf-8"), strict_numbers=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TalkclipError(f"{path}: {what} ({' '.join(str(exc).split())[:120]})") from None
    return check_doc(doc, path)


def _read_glb_container(data: bytes, path: Path) -> tuple[dict, bytes]:
    """A .glb: the header checked, the first JSON and binary chunks."""
    if len(data) < 20:
        raise TalkclipError(f"{path}: truncated GLB")
    magic, version, length = struct.unpack_from("<III", data, 0)
    if version != 2:
        raise TalkclipError(f"{path}: GLB version {version}, only glTF 2.0 is supported")
    if length != len(data):
        raise TalkclipError(f"{path}: GLB header says {length} bytes, the file has {len(data)}")
    doc, binary, offset = None, None, 12
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from("<II", data, offset)
        chunk = data[offset + 8: offset + 8 + size]
        if len(chunk) != size:
            raise TalkclipError(f"{path}: truncated GLB chunk")
        if kind == CHUNK_JSON and doc is None:
            doc = _parse_json(chunk, path, "GLB JSON chunk is not JSON")
        elif kind == CHUNK_BIN and binary is None and doc is not None:
            binary = chunk
        offset += 8 + size
    if doc is None:
        raise TalkclipError(f"{path}: GLB has no JSON chunk first")
    buffers = doc.get("buffers") or []
    if binary is not None and (not buffers or "uri" in buffers[0]):
        raise TalkclipError(f"{path}: GLB has a BIN chunk but buffer 0 does not refer to it")
    return doc, binary or b""


def _buffer_zero(doc: dict, binary: bytes, path: Path) -> bytes:
    """Buffer 0's bytes: the BIN chunk, or its data: URI decoded (the URI then removed)."""
    buffers = doc.get("buffers") or []
    if buffers and "uri" in buffers[0]:
        uri = buffers[0]["uri"]
        if not uri.startswith("data:"):
            raise TalkclipError(f"{path}: buffer 0 is an external file ({uri[:60]!r}); only embedded buffers "
                                "are supported")
        header, _, payload = uri.partition(",")
        if not header.endswith(";base64"):
            raise TalkclipError(f"{path}: buffer 0 data URI is not base64")
        try:
            binary = base64.b64decode(payload, validate=True)
        except (ValueError, binascii.Error):
            raise TalkclipError(f"{path}: buffer 0 data URI is not valid base64") from None
        del buffers[0]["uri"]
    if buffers and buffers[0].get("byteLength", 0) > len(binary):
        raise TalkclipError(f"{path}: buffer 0 says {buffers[0]['byteLength']} bytes, its data has {len(binary)}")
    return binary


# --- structure ------------------------------------------------------------------------------

def _index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _floats(value, what: str, path, length: int | None = None) -> list:
    if not isinstance(value, list) or not all(
            finite_number(v) for v in value):
        raise TalkclipError(f"{path}: {what} must be a list of numbers")
    if length is not None and len(value) != length:
        raise TalkclipError(f"{path}: {what} has {len(value)} values, expected {length}")
    return value


def _extras(holder: dict) -> dict:
    """``extras`` of a glTF object when it is an object (the spec allows any value there)."""
    extras = holder.get("extras")
    return extras if isinstance(extras, dict) else {}


def _target_count(mesh: dict) -> int:
    primitives = mesh.get("primitives") or [{}]
    return len(primitives[0].get("targets") or [])


def _check_mesh(mesh: dict, i: int, path) -> None:
    primitives = mesh.get("primitives", [])
    if not isinstance(primitives, list) or not all(isinstance(p, dict) for p in primitives):
        raise TalkclipError(f"{path}: mesh {i}: 'primitives' must be a list of objects")
    for p in primitives:
        targets = p.get("targets", [])
        if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
            raise TalkclipError(f"{path}: mesh {i}: morph 'targets' must be a list of objects")
    for holder in [mesh] + primitives:
        names = _extras(holder).get("targetNames")
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise TalkclipError(f"{path}: mesh {i}: 'targetNames' must be a list of names")
    if "weights" in mesh:
        _floats(mesh["weights"], f"mesh {i} 'weights'", path, _target_count(mesh))


def _check_node(node: dict, i: int, meshes: list, path) -> None:
    if "name" in node and not isinstance(node["name"], str):
        raise TalkclipError(f"{path}: node {i}: 'name' must be text")
    if "mesh" in node:
        if not _index(node["mesh"]) or node["mesh"] >= len(meshes):
            raise TalkclipError(f"{path}: node {i}: mesh {json.dumps(node['mesh'])[:40]} does not exist")
        if "weights" in node:
            _floats(node["weights"], f"node {i} 'weights'", path, _target_count(meshes[node["mesh"]]))
    if "rotation" in node:
        rotation = _floats(node["rotation"], f"node {i} 'rotation'", path, 4)
        if math.hypot(*rotation) < 1e-6:
            raise TalkclipError(f"{path}: node {i}: 'rotation' is not a unit quaternion")


def _check_buffers(doc: dict, path) -> None:
    for i, b in enumerate(doc.get("buffers", [])):
        if not _index(b.get("byteLength", 0)):
            raise TalkclipError(f"{path}: buffer {i}: 'byteLength' must be a whole number")
        if "uri" in b and not isinstance(b["uri"], str):
            raise TalkclipError(f"{path}: buffer {i}: 'uri' must be text")


def check_doc(doc, path) -> dict:
    """``doc`` when it is a glTF 2.0 asset whose parts talkclip reads have the types the spec gives."""
    asset = doc.get("asset") if isinstance(doc, dict) else None
    if not isinstance(asset, dict) or not isinstance(asset.get("version"), str) \
            or asset["version"].split(".")[0] != "2":
        raise TalkclipError(f"{path}: not a glTF 2.0 asset")
    for key in LISTS:
        if key in doc and not (isinstance(doc[key], list) and all(isinstance(x, dict) for x in doc[key])):
            raise TalkclipError(f"{path}: glTF {key!r} must be a list of objects")
    for i, mesh in enumerate(doc.get("meshes", [])):
        _check_mesh(mesh, i, path)
    for i, node in enumerate(doc.get("nodes", [])):
        _check_node(node, i, doc.get("meshes", []), path)
    _check_buffers(doc, path)
    if any(not isinstance(a.get("name", ""), str) for a in doc.get("animations", [])):
        raise TalkclipError(f"{path}: an animation's 'name' is not text")
    return doc


def glb_bytes(doc: dict, binary: bytes) -> bytes:
    js = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * (-len(js) % 4)
    out = [struct.pack("<II", len(js), CHUNK_JSON), js]
    if binary:
        binary = binary + b"\0" * (-len(binary) % 4)
        out += [struct.pack("<II", len(binary), CHUNK_BIN), binary]
    body = b"".join(out)
    if 12 + len(body) > 0xFFFFFFFF:
        raise TalkclipError(f"a GLB holds at most 4 GB; this one would be {(12 + len(body)) >> 20} MB")
    return struct.pack("<III", GLB_MAGIC, 2, 12 + len(body)) + body


# --- morph targets ------------------------------------------------------------------------

def target_names(doc: dict, mesh_index: int) -> list[str]:
    """Names of a mesh's morph targets (mesh.extras.targetNames, else the first primitive's)."""
    mesh = doc["meshes"][mesh_index]
    count = _target_count(mesh)
    names = _extras(mesh).get("targetNames")
    if not names:
        names = _extras((mesh.get("primitives") or [{}])[0]).get("targetNames")
    if not names or len(names) != count:
        return [f"target_{i}" for i in range(count)]  # unnamed targets: nothing will bind to them
    return [str(n) for n in names]


def morph_nodes(doc: dict) -> list[tuple[int, int, list[str]]]:
    """(node index, mesh index, target names) for every node whose mesh has morph targets."""
    out = []
    for ni, node in enumerate(doc.get("nodes") or []):
        mi = node.get("mesh")
        if mi is None or mi >= len(doc.get("meshes") or []):
            continue
        if any(p.get("targets") for p in doc["meshes"][mi].get("primitives") or []):
            out.append((ni, mi, target_names(doc, mi)))
    return out


def character_channels(path) -> list[str]:
    """All morph target names of a GLB's animated meshes, in file order, without repeats."""
    doc, _ = read_glb(path)
    seen: dict[str, None] = {}
    for _, _, names in morph_nodes(doc):
        seen.update(dict.fromkeys(names))
    return list(seen)
