"""The face judged on a mesh: pose a head with (T, 52) ARKit weights and measure what a viewer
sees, in cm on the mesh (numpy only). Used by ``benchmarks/face.py`` and the tests; see docs/face.md.

Rigs (``../shared/data``; the caller passes the paths):
- **ICT FaceKit** (``ict_facekit/``: 26,719 vertices in cm, with teeth, gums, tongue and eyes).
  ARKit ``*Left``/``*Right`` drive ICT ``*_L``/``*_R`` (the character's left is +x),
  ``browInnerUp`` and ``cheekPuff`` drive both ICT sides, ``tongueOut`` has no shape.
- **SAiD's ARKit reference mesh** (``said_arkit_reference/``: 1,220 vertices in metres, read as
  cm), the 51 ARKit shapes by their own names (no ``tongueOut``).

A pose is ``neutral + sum_k w_k * delta_k``; only the vertices a measure reads are posed (a dense
(52, n, 3) basis for those n), so 30 s at 30 fps takes milliseconds.

How the ICT measuring points are found on the neutral mesh (``ict_landmarks``):

1. The face geometry is vertices 0-9408 (upstream README). Its polygon edges used by only one
   polygon form boundary loops: the outer rim (the longest), the two eye openings (|x| > 1 cm)
   and the mouth opening (the loop centred nearest the midline, below the eyes).
2. The mesh is mirror-symmetric: the midline profile is the face vertices with x == 0 and the
   polygon edges between two of them. The mouth loop has two midline vertices, the deepest points
   of the inner upper and inner lower lip. Walking the profile outwards from each, up to
   ``LIP_CHAIN_CM`` along the surface, gives the upper- and the lower-lip midline chains (mucosa,
   free edge and outer skin).
3. Posed, the upper chain's lowest and the lower chain's highest point are the lip edges a front
   view sees at the midline, however the lips roll; the mouth interior shows between them. On the
   neutral mesh they are vertices 5532 and 5519, 1-1.5 mm behind the Multi-PIE inner-lip landmarks
   62 (5533) and 66 (5517): the neutral slit is 0.64 mm (0.76 mm between the landmarks).
4. The upper incisor edge is the lowest point of the two upper central incisors (vertices
   18067-18218; no ICT shape moves the upper teeth). The mouth corners are the mouth loop's
   leftmost and rightmost vertices (the inner commissures).
5. The lids the same way: the face vertices within ``EYE_STRIP_CM`` of the eyeball centre's x
   form a strip that the eye opening cuts in two; walking it from the eye loop's upper and lower
   arc (the loop cut at its leftmost and rightmost vertices) gives the two lids, and the eyelid
   gap is the upper lid's lowest point minus the lower lid's highest point.

On the ARKit reference mesh the points are SAiD's landmarks: the inner-lip gap between vertices
23 and 26 (Multi-PIE 62 and 66) and the mouth width between 244 and 678 (48 and 54).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES

SEAL_TOLERANCE_CM = 0.02  # sealed: midline gap <= the neutral slit + 0.2 mm
SEAL_MIN_FRAMES = 2  # a P/B/M lands when sealed on at least 2 of its frames (issue 15)
MIN_PHONE_S = 0.05  # reference phones shorter than 50 ms are not judged
PAD_FRAMES = 1  # a phone's frames: those within its interval widened by 1 frame each side
REACH_TOLERANCE_CM = 0.1  # F/V: the lower lip's top at most 1 mm below the upper incisor edge
TEETH_SHOWN_CM = 0.15  # F/V: and at least 1.5 mm of upper incisor visible between the lips
EYE_CLOSED_CM = 0.1  # eyelids closed: gap at the eye centre <= 1 mm
LIP_CHAIN_CM, EYE_STRIP_CM, LID_CHAIN_CM = 2.5, 0.15, 1.5  # how far the lip chains and lid strips reach

ICT_FACE_LAST = 9408  # face geometry: vertices 0..9408 (upstream README)
ICT_UPPER_CENTRAL_INCISORS = (18067, 18219)  # [start, stop)
ICT_EYEBALLS = ((21451, 23021), (23021, 24591))  # left (+x), right
ICT_PARTS = {"face": (0, 9409), "head_neck": (9409, 11248), "mouth_socket": (11248, 13294), "gums_tongue": (14062, 17039),
             "teeth": (17039, 21451), "eyeball_left": ICT_EYEBALLS[0], "eyeball_right": ICT_EYEBALLS[1]}  # [start, stop)
SAID_LIP_GAP = (23, 26)  # inner upper / lower lip midline (Multi-PIE 62 / 66)
SAID_MOUTH_CORNERS = (244, 678)  # Multi-PIE 48 / 54


# --- meshes -------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ShapeMesh:
    """A neutral mesh with sparse blendshape deltas and the ARKit channel -> shapes map."""

    name: str
    neutral: np.ndarray  # (N, 3) cm
    shape_names: tuple[str, ...]
    shape_idx: tuple[np.ndarray, ...]  # per shape: vertex ids
    shape_delta: tuple[np.ndarray, ...]  # per shape: (n, 3) cm
    channel_shapes: tuple[tuple[int, ...], ...]  # per ARKit channel: indices into shape_names
    polygons: tuple[np.ndarray, ...] = ()  # vertex ids per polygon (0-based)

    def basis(self, vertices) -> np.ndarray:
        """(52, n, 3) displacement per unit weight of each ARKit channel at ``vertices``."""
        vertices = np.asarray(vertices, dtype=np.int64).reshape(-1)
        pos = np.full(len(self.neutral), -1, dtype=np.int64)
        pos[vertices] = np.arange(len(vertices))
        out = np.zeros((len(ARKIT_NAMES), len(vertices), 3), dtype=np.float64)
        for ch, shapes in enumerate(self.channel_shapes):
            for s in shapes:
                where = pos[self.shape_idx[s]]
                keep = where >= 0
                out[ch, where[keep]] += self.shape_delta[s][keep]
        return out

    def pose(self, weights, vertices, basis: np.ndarray | None = None) -> np.ndarray:
        """(T, n, 3) positions of ``vertices`` under (T, 52) weights ((n, 3) for one (52,) frame)."""
        w = np.asarray(weights, dtype=np.float64)
        vertices = np.asarray(vertices, dtype=np.int64).reshape(-1)
        b = self.basis(vertices) if basis is None else basis
        out = self.neutral[vertices][None] + np.einsum("tc,cnk->tnk", np.atleast_2d(w), b)
        return out[0] if w.ndim == 1 else out

    def unmapped(self) -> list[str]:  # ARKit channels with no shape on this mesh
        return [n for n, s in zip(ARKIT_NAMES, self.channel_shapes) if not s]


def channel_map(shape_names) -> tuple[tuple[int, ...], ...]:
    """ARKit name -> the mesh's shapes: the same name, ``*Left`` -> ``*_L`` / ``*Right`` -> ``*_R``,
    or a channel without a side (``browInnerUp``, ``cheekPuff``) -> both ``_L`` and ``_R``."""
    where = {n: i for i, n in enumerate(shape_names)}
    out: list[tuple[int, ...]] = []
    for ch in ARKIT_NAMES:
        stem = ch[:-4] + "_L" if ch.endswith("Left") else ch[:-5] + "_R" if ch.endswith("Right") else None
        if ch in where:
            out.append((where[ch],))
        elif stem in where:
            out.append((where[stem],))
        elif ch + "_L" in where and ch + "_R" in where:
            out.append((where[ch + "_L"], where[ch + "_R"]))
        else:
            out.append(())
    return tuple(out)


def _obj_polygons(lines) -> tuple[np.ndarray, ...]:  # 0-based vertex ids of each ``f`` line
    return tuple(np.array([int(t.split("/")[0]) - 1 for t in ln.split()[1:]], dtype=np.int64)
                 for ln in lines if ln.startswith("f "))


def _obj_vertices(text: str) -> np.ndarray:
    return np.array([ln.split()[1:4] for ln in text.splitlines() if ln.startswith("v ")], dtype=np.float64)


@lru_cache(maxsize=4)
def load_ict(folder: str | Path) -> ShapeMesh:
    """The ICT FaceKit head from its folder (``ict_expression_deltas.npz`` + the neutral OBJ)."""
    folder = Path(folder)
    with np.load(folder / "ict_expression_deltas.npz") as npz:
        names = tuple(str(n) for n in npz["names"])
        neutral = npz["neutral"].astype(np.float64)
        idx = tuple(npz[f"{n}__idx"].astype(np.int64) for n in names)
        delta = tuple(npz[f"{n}__delta"].astype(np.float64) for n in names)
    with open(folder / "generic_neutral_mesh.obj", encoding="utf-8") as fh:
        polygons = _obj_polygons(fh)
    return ShapeMesh("ICT FaceKit", neutral, names, idx, delta, channel_map(names), polygons)


@lru_cache(maxsize=4)
def load_said(zip_path: str | Path) -> ShapeMesh:
    """SAiD's ARKit reference mesh from ``ARKit_reference_blendshapes.zip``, in cm."""
    with zipfile.ZipFile(zip_path) as z:
        objs = {Path(n).stem: n for n in z.namelist() if n.lower().endswith(".obj")}
        text = z.read(objs.pop("Neutral")).decode("utf-8")
        neutral = _obj_vertices(text) * 100.0
        names, idx, delta = [], [], []
        for name in sorted(objs):
            d = _obj_vertices(z.read(objs[name]).decode("utf-8")) * 100.0 - neutral
            moved = np.flatnonzero(np.abs(d).max(axis=1) > 1e-7)
            names.append(name); idx.append(moved); delta.append(d[moved])
    return ShapeMesh("ARKit reference (SAiD)", neutral, tuple(names), tuple(idx), tuple(delta), channel_map(names),
                     _obj_polygons(text.splitlines()))


# --- ICT measuring points -------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class IctLandmarks:
    upper_lip: np.ndarray  # midline chain of the upper lip (vertex ids)
    lower_lip: np.ndarray  # midline chain of the lower lip
    upper_incisors: np.ndarray  # the two upper central incisors
    mouth_corners: np.ndarray  # (2,) [character's left (+x), right]
    upper_lids: tuple[np.ndarray, ...]  # [left eye, right eye]: the upper lid's strip at the eye centre
    lower_lids: tuple[np.ndarray, ...]

    @property
    def groups(self) -> tuple[np.ndarray, ...]:
        return (self.upper_lip, self.lower_lip, self.upper_incisors, self.mouth_corners, *self.upper_lids,
                *self.lower_lids)

    @property
    def vertices(self) -> np.ndarray:  # every vertex a measure reads, in the order of ``groups``
        return np.concatenate(self.groups)

    def slices(self) -> list[slice]:  # where each group sits in ``vertices``
        edges = np.cumsum([0] + [len(g) for g in self.groups])
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def boundary_loops(polygons, keep: np.ndarray | None = None) -> list[np.ndarray]:
    """Closed loops of the edges used by exactly one polygon (of those with all vertices in ``keep``)."""
    edges = [np.stack([p, np.roll(p, -1)], axis=1) for p in polygons if keep is None or keep[p].all()]
    uniq, count = np.unique(np.sort(np.concatenate(edges), axis=1), axis=0, return_counts=True)
    adj: dict[int, list[int]] = {}
    for a, b in uniq[count == 1].tolist():
        adj.setdefault(a, []).append(b); adj.setdefault(b, []).append(a)
    seen: set[int] = set()
    loops = []  # each start walks one loop round
    for start in adj:
        if start in seen:
            continue
        loop, cur = [start], start
        seen.add(start)
        while nxt := [n for n in adj[cur] if n not in seen]:
            cur = nxt[0]
            loop.append(cur); seen.add(cur)
        loops.append(np.array(loop, dtype=np.int64))
    return loops


def _edge_graph(polygons, inside: np.ndarray) -> dict[int, list[int]]:  # edges with both ends inside
    graph: dict[int, list[int]] = {}
    for poly in polygons:
        if inside[poly].sum() >= 2:
            for a, b in zip(poly.tolist(), np.roll(poly, -1).tolist()):
                if inside[a] and inside[b]:
                    graph.setdefault(a, []).append(b); graph.setdefault(b, []).append(a)
    return graph


def _walk(starts, graph: dict[int, list[int]], V: np.ndarray, reach: float) -> np.ndarray:
    """Vertices reachable from ``starts`` along ``graph`` within ``reach`` cm of path length."""
    best = {int(s): 0.0 for s in starts}
    todo = list(best)
    while todo:
        cur = todo.pop()
        for n in graph.get(cur, ()):
            d = best[cur] + float(np.linalg.norm(V[n] - V[cur]))
            if d <= reach and d < best.get(n, np.inf):
                best[n] = d
                todo.append(n)
    return np.array(sorted(best), dtype=np.int64)


def _split_loop(loop: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A closed loop cut at its leftmost and rightmost vertices: (upper arc, lower arc)."""
    i, j = sorted((int(np.argmin(V[loop, 0])), int(np.argmax(V[loop, 0]))))
    a, b = loop[i:j + 1], np.concatenate([loop[j:], loop[:i + 1]])
    return (a, b) if V[a, 1].mean() > V[b, 1].mean() else (b, a)


@lru_cache(maxsize=4)
def ict_landmarks(mesh: ShapeMesh) -> IctLandmarks:
    """The ICT measuring points, found on the neutral mesh (see the module docstring)."""
    V = mesh.neutral
    face = np.zeros(len(V), dtype=bool)
    face[: ICT_FACE_LAST + 1] = True
    loops = sorted(boundary_loops(mesh.polygons, face), key=len)[:-1]  # without the outer rim
    centres = np.array([V[lp].mean(axis=0) for lp in loops])
    eyes = [lp for lp, c in zip(loops, centres) if abs(c[0]) > 1.0]
    below_eyes = centres[:, 1] < min(V[lp, 1].min() for lp in eyes)
    mouth = loops[int(np.argmin(np.abs(centres[:, 0]) + 1e3 * ~below_eyes))]
    mid = face & (np.abs(V[:, 0]) < 1e-5)
    on_mid = sorted(mouth[mid[mouth]].tolist(), key=lambda v: -V[v, 1])
    if len(on_mid) != 2:
        raise ValueError(f"ICT mouth loop: expected 2 midline vertices, found {len(on_mid)}")
    graph = _edge_graph(mesh.polygons, mid)
    lips = [_walk([v], graph, V, LIP_CHAIN_CM) for v in on_mid]
    corners = np.array([mouth[np.argmax(V[mouth, 0])], mouth[np.argmin(V[mouth, 0])]])
    lids = []
    for lo, hi in ICT_EYEBALLS:
        cx = float(V[lo:hi, 0].mean())
        loop = min(eyes, key=lambda lp: abs(float(V[lp, 0].mean()) - cx))
        strip = face & (np.abs(V[:, 0] - cx) < EYE_STRIP_CM)
        g = _edge_graph(mesh.polygons, strip)
        up, down = (_walk(arc[strip[arc]], g, V, LID_CHAIN_CM) for arc in _split_loop(loop, V))
        if not len(up) or not len(down) or np.intersect1d(up, down).size:
            raise ValueError("ICT eye: the upper and the lower lid could not be told apart")
        lids.append((up, down))
    return IctLandmarks(lips[0], lips[1], np.arange(*ICT_UPPER_CENTRAL_INCISORS), corners,
                        tuple(u for u, _ in lids), tuple(d for _, d in lids))


# --- measures -------------------------------------------------------------------------------

@dataclass(frozen=True)
class IctFrames:
    """Per-frame measures on the posed ICT head, cm (y up)."""

    lip_gap: np.ndarray  # (T,) upper lip's lowest - lower lip's highest point at the midline (< 0: overlap)
    lower_lip_to_incisor: np.ndarray  # (T,) lower lip's top - upper incisor edge (+ = above the edge)
    upper_lip_to_incisor: np.ndarray  # (T,) upper lip's lowest point - upper incisor edge
    upper_teeth_shown: np.ndarray  # (T,) upper incisor height visible between the lips at the midline
    mouth_width: np.ndarray  # (T,) corner to corner
    eyelid_gap: np.ndarray  # (T, 2) [left, right] upper lid's lowest - lower lid's highest point
    upper_lip_y: np.ndarray  # (T,) the heights themselves, for drawing
    lower_lip_y: np.ndarray  # (T,)
    incisor_y: np.ndarray  # (T,)


class IctMeasurer:
    """Measures the ICT head under weights; the basis of the measured vertices is built once."""

    def __init__(self, mesh: ShapeMesh):
        self.mesh = mesh
        self.marks = ict_landmarks(mesh)
        self._vertices = self.marks.vertices
        self._basis = mesh.basis(self._vertices)
        self.neutral = self.measure(np.zeros(len(ARKIT_NAMES)))

    def measure(self, weights) -> IctFrames:
        P = self.mesh.pose(np.atleast_2d(np.asarray(weights, dtype=np.float64)), self._vertices, self._basis)
        up, lo, inc, cor, ul, ur, ll, lr = self.marks.slices()
        upper, lower, edge = P[:, up, 1].min(axis=1), P[:, lo, 1].max(axis=1), P[:, inc, 1].min(axis=1)
        lids = np.stack([P[:, u, 1].min(axis=1) - P[:, d, 1].max(axis=1) for u, d in ((ul, ll), (ur, lr))], axis=1)
        return IctFrames(lip_gap=upper - lower, lower_lip_to_incisor=lower - edge, upper_lip_to_incisor=upper - edge,
                         upper_teeth_shown=np.maximum(upper - np.maximum(edge, lower), 0.0),
                         mouth_width=np.linalg.norm(P[:, cor][:, 0] - P[:, cor][:, 1], axis=1), eyelid_gap=lids,
                         upper_lip_y=upper, lower_lip_y=lower, incisor_y=edge)


@dataclass(frozen=True)
class ArkitMeshFrames:  # (T,) cm: height of vertex 23 over vertex 26, distance 244 - 678
    lip_gap: np.ndarray
    mouth_width: np.ndarray


class ArkitMeshMeasurer:
    """Inner-lip gap and mouth width on SAiD's ARKit reference mesh."""

    def __init__(self, mesh: ShapeMesh):
        self.mesh = mesh
        self._vertices = np.array(SAID_LIP_GAP + SAID_MOUTH_CORNERS)
        self._basis = mesh.basis(self._vertices)
        self.neutral = self.measure(np.zeros(len(ARKIT_NAMES)))

    def measure(self, weights) -> ArkitMeshFrames:
        P = self.mesh.pose(np.atleast_2d(np.asarray(weights, dtype=np.float64)), self._vertices, self._basis)
        return ArkitMeshFrames(lip_gap=P[:, 0, 1] - P[:, 1, 1], mouth_width=np.linalg.norm(P[:, 2] - P[:, 3], axis=1))


# --- judging reference phones ---------------------------------------------------------------

@dataclass(frozen=True)
class PhoneWindow:  # a reference phone (s) and its judged frames lo..hi (inclusive), mid: nearest its middle
    phone: str
    start: float
    end: float
    lo: int
    hi: int
    mid: int


def phone_windows(reference, fps: float, n_frames: int, labels, min_s: float = MIN_PHONE_S,
                  pad_frames: int = PAD_FRAMES) -> list[PhoneWindow]:
    """Reference phones in ``labels`` lasting at least ``min_s``, each with the frames that judge
    it: frame i (at i / fps) within [start - pad/fps, end + pad/fps]."""
    out = []
    for p, s, e in zip(reference.phones, reference.starts, reference.ends):
        if p not in labels or e - s < min_s - 1e-9:
            continue
        lo = max(int(np.ceil(s * fps - pad_frames - 1e-9)), 0)
        hi = min(int(np.floor(e * fps + pad_frames + 1e-9)), n_frames - 1)
        if lo <= hi:
            out.append(PhoneWindow(p, float(s), float(e), lo, hi, int(np.clip(round(0.5 * (s + e) * fps), lo, hi))))
    return out


def sealed(gap, neutral_gap: float, tolerance: float = SEAL_TOLERANCE_CM) -> np.ndarray:
    """Frames whose midline lip gap is at or below the neutral slit + ``tolerance``."""
    return np.asarray(gap) <= neutral_gap + tolerance + 1e-9


def judge_bilabials(gap: np.ndarray, windows, neutral_gap: float, tolerance: float = SEAL_TOLERANCE_CM,
                    min_frames: int = SEAL_MIN_FRAMES) -> list[dict]:
    """Per P/B/M window: sealed frames, whether it lands (>= ``min_frames`` sealed), the gap at
    mid-phone and the smallest gap (cm)."""
    ok = sealed(gap, neutral_gap, tolerance)
    out = []
    for w in windows:
        n = int(ok[w.lo:w.hi + 1].sum())
        out.append({"phone": w.phone, "start": w.start, "end": w.end, "frames": [w.lo, w.hi], "sealed_frames": n,
                    "lands": n >= min_frames, "sealed_mid": bool(ok[w.mid]), "gap_mid_cm": float(gap[w.mid]),
                    "gap_min_cm": float(gap[w.lo:w.hi + 1].min())})
    return out


def fv_frames(m: IctFrames, reach: float = REACH_TOLERANCE_CM, shown: float = TEETH_SHOWN_CM) -> np.ndarray:
    """Frames that read as F/V: the lower lip's top reaches the upper incisor edge (at most
    ``reach`` below it) while at least ``shown`` of the upper incisor shows between the lips."""
    return (m.lower_lip_to_incisor >= -reach - 1e-9) & (m.upper_teeth_shown >= shown - 1e-9)


def judge_labiodentals(m: IctFrames, windows, reach: float = REACH_TOLERANCE_CM,
                       shown: float = TEETH_SHOWN_CM) -> list[dict]:
    """Per F/V window: whether some frame reads as F/V (``fv_frames``), whether the lip reaches
    the edge at all, and the mid-phone heights (cm)."""
    ok = fv_frames(m, reach, shown)
    reached = m.lower_lip_to_incisor >= -reach - 1e-9
    out = []
    for w in windows:
        sl = slice(w.lo, w.hi + 1)
        out.append({"phone": w.phone, "start": w.start, "end": w.end, "frames": [w.lo, w.hi],
                    "lands": bool(ok[sl].any()), "reaches": bool(reached[sl].any()),
                    "lip_to_edge_mid_cm": float(m.lower_lip_to_incisor[w.mid]),
                    "lip_to_edge_max_cm": float(m.lower_lip_to_incisor[sl].max()),
                    "teeth_shown_mid_cm": float(m.upper_teeth_shown[w.mid]), "gap_mid_cm": float(m.lip_gap[w.mid])})
    return out
