"""Contact sheets for the face benchmark (``benchmarks/face.py --sheet``): a small orthographic
numpy z-buffer renderer of the posed ICT head (front view, Lambert shading), the mouth at
reference phones and the eye at blink peaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkclip_model.arkit import INDEX
from talkclip_model.evaluation import face_mesh as fm

from . import shared_data
from .face_stats import CLASSES, FPS, Results, Take, blinks

MOUTH_CROP = (-3.4, 3.4, -6.2, -1.4)  # x0, x1, y0, y1 in ICT cm
EYE_CROP = (1.4, 5.0, 2.2, 5.0)  # the character's left eye (+x)
COLOURS = {"face": (222, 178, 152), "head_neck": (222, 178, 152), "mouth_socket": (110, 40, 45),
           "gums_tongue": (190, 90, 95), "teeth": (245, 242, 230), "eyeball_left": (240, 238, 232),
           "eyeball_right": (240, 238, 232)}
IRIS, PUPIL = (95, 70, 50), (20, 15, 12)
LIGHT = np.array([0.25, 0.35, 1.0]) / np.linalg.norm([0.25, 0.35, 1.0])


class FrontRenderer:
    """A tiny z-buffer renderer of the posed ICT head: front orthographic view, cropped to
    ``crop`` (cm) at ``px_per_cm``. Only the polygons near the crop are posed and drawn (face,
    mouth socket, gums and tongue, teeth, eyeballs with a painted iris); every pixel centre inside
    a triangle turned to the camera is a sample (triangles batched by bounding-box size), the
    nearest (largest z) wins; Lambert shading. Head rotation is not applied."""

    def __init__(self, mesh: fm.ShapeMesh, crop=MOUTH_CROP, px_per_cm: float = 40.0):
        self.mesh, self.crop, self.scale = mesh, crop, px_per_cm
        V = mesh.neutral
        x0, x1, y0, y1 = crop
        names = list(COLOURS)
        part = np.full(len(V), -1)
        for k, name in enumerate(names):
            part[slice(*fm.ICT_PARTS[name])] = k
        poles = [V[lo:hi][np.argmax(V[lo:hi, 2])] for lo, hi in fm.ICT_EYEBALLS]
        tris, colour = [], []
        for poly in mesh.polygons:
            p = part[poly[0]]
            c = V[poly]
            if p < 0 or (part[poly] != p).any() or c[:, 0].max() < x0 - 1 or c[:, 0].min() > x1 + 1 \
                    or c[:, 1].max() < y0 - 2.5 or c[:, 1].min() > y1 + 1:
                continue
            rgb = COLOURS[names[p]]
            if names[p].startswith("eyeball"):
                r = np.linalg.norm(c.mean(axis=0)[:2] - poles[names[p] == "eyeball_right"][:2])
                rgb = PUPIL if r < 0.22 else IRIS if r < 0.55 else rgb
            tris += [(poly[0], poly[k], poly[k + 1]) for k in range(1, len(poly) - 1)]
            colour += [rgb] * (len(poly) - 2)
        self.vertices, inverse = np.unique(np.array(tris, dtype=np.int64), return_inverse=True)
        self.tris = inverse.reshape(-1, 3)
        self.colour = np.array(colour, dtype=np.float64) / 255.0
        self._basis = mesh.basis(self.vertices)
        self.width, self.height = int(round((x1 - x0) * px_per_cm)), int(round((y1 - y0) * px_per_cm))

    def pixel_y(self, y_cm: float) -> float:
        """Image row of height ``y_cm``."""
        return (self.crop[3] - y_cm) * self.scale

    def _samples(self, tx, ty, tz, rgb):
        """Pixel index, depth and colour of every pixel centre inside each triangle."""
        bx0 = np.maximum(np.ceil(tx.min(axis=1) - 0.5), 0).astype(np.int64)
        bx1 = np.minimum(np.floor(tx.max(axis=1) - 0.5), self.width - 1).astype(np.int64)
        by0 = np.maximum(np.ceil(ty.min(axis=1) - 0.5), 0).astype(np.int64)
        by1 = np.minimum(np.floor(ty.max(axis=1) - 0.5), self.height - 1).astype(np.int64)
        bw, bh = bx1 - bx0 + 1, by1 - by0 + 1
        live = (bw > 0) & (bh > 0)
        sw = 2 ** np.ceil(np.log2(np.maximum(bw, 1))).astype(np.int64)
        sh = 2 ** np.ceil(np.log2(np.maximum(bh, 1))).astype(np.int64)
        for gw, gh in sorted(set(zip(sw[live].tolist(), sh[live].tolist()))):
            sel = np.flatnonzero(live & (sw == gw) & (sh == gh))
            oy, ox = np.divmod(np.arange(gw * gh), gw)
            cx, cy = bx0[sel, None] + ox[None], by0[sel, None] + oy[None]
            x, y = tx[sel], ty[sel]
            e = [(x[:, b, None] - cx - 0.5) * (y[:, c, None] - cy - 0.5) - (x[:, c, None] - cx - 0.5) * (y[:, b, None] - cy - 0.5)
                 for b, c in ((1, 2), (2, 0), (0, 1))]
            area = e[0] + e[1] + e[2]
            inside = (((e[0] >= 0) & (e[1] >= 0) & (e[2] >= 0)) | ((e[0] <= 0) & (e[1] <= 0) & (e[2] <= 0)))
            r, k = np.nonzero(inside & (cx <= bx1[sel, None]) & (cy <= by1[sel, None]) & (np.abs(area) > 1e-12))
            z = tz[sel][r]
            yield cy[r, k] * self.width + cx[r, k], (e[0][r, k] * z[:, 0] + e[1][r, k] * z[:, 1] + e[2][r, k] * z[:, 2]) / area[r, k], rgb[sel[r]]

    def render(self, weights) -> np.ndarray:
        """(H, W, 3) uint8 image of one frame's (52,) weights."""
        P = self.mesh.pose(np.asarray(weights, dtype=np.float64), self.vertices, self._basis)
        px, py = (P[:, 0] - self.crop[0]) * self.scale, (self.crop[3] - P[:, 1]) * self.scale
        T = self.tris
        n = np.cross(P[T[:, 1]] - P[T[:, 0]], P[T[:, 2]] - P[T[:, 0]])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        rgb = self.colour * (0.25 + 0.75 * np.abs(n @ LIGHT))[:, None]
        tx, ty = px[T], py[T]
        # the polygons face outwards: a triangle turned away from the camera is hidden
        live = (n[:, 2] > 0) & (tx.max(axis=1) >= 0) & (tx.min(axis=1) < self.width) & (ty.max(axis=1) >= 0) \
            & (ty.min(axis=1) < self.height)
        parts = list(self._samples(tx[live], ty[live], P[:, 2][T][live], rgb[live]))
        img = np.full((self.height * self.width, 3), 0.12)
        if parts:
            flat, depth, cols = (np.concatenate(x) for x in zip(*parts))
            order = np.lexsort((-depth, flat))
            flat, cols = flat[order], cols[order]
            first = np.concatenate([[True], flat[1:] != flat[:-1]])
            img[flat[first]] = cols[first]
        return (np.clip(img, 0, 1) * 255).astype(np.uint8).reshape(self.height, self.width, 3)


# --- the contact sheet ----------------------------------------------------------------------

TICKS = {"upper_lip_y": (230, 200, 0), "lower_lip_y": (0, 190, 220), "incisor_y": (0, 170, 0)}
GOOD, BAD, PLAIN = (0, 120, 0), (200, 0, 0), (0, 0, 0)


def _pick(candidates: list, k: int) -> list:
    """``k`` candidates spread evenly over the list."""
    if len(candidates) <= k:
        return candidates
    return [candidates[int(i)] for i in np.linspace(0, len(candidates) - 1, k).round()]


def _tile(img: np.ndarray, lines: list[str], colour=PLAIN, ticks=()):
    from PIL import Image, ImageDraw

    h, w = img.shape[:2]
    out = Image.new("RGB", (w, h + 12 * len(lines) + 3), (255, 255, 255))
    out.paste(Image.fromarray(img), (0, 0))
    d = ImageDraw.Draw(out)
    for y, c in ticks:
        d.line([(0, y), (9, y)], fill=c, width=2)
        d.line([(w - 10, y), (w, y)], fill=c, width=2)
    for i, text in enumerate(lines):
        d.text((3, h + 1 + 12 * i), text, fill=colour)
    return out


def _mouth_tile(r: FrontRenderer, tk: Take, f: int, lines: list[str], good: bool | None = None):
    ticks = [(r.pixel_y(float(getattr(tk.ict, k)[f])), c) for k, c in TICKS.items()]
    return _tile(r.render(tk.track.arkit[f]), lines, PLAIN if good is None else GOOD if good else BAD, ticks)


def _phone_tile(r: FrontRenderer, cls: str, tk: Take, w: fm.PhoneWindow, neutral_gap: float):
    m, f = tk.ict, w.mid
    head = f"{tk.item.name[:14]} {w.phone} {w.start:.2f}s f{f}"
    if cls == "P/B/M":
        j = fm.judge_bilabials(m.lip_gap, [w], neutral_gap)[0]
        return _mouth_tile(r, tk, f, [head, f"gap {10 * m.lip_gap[f]:.1f} mm, sealed {j['sealed_frames']} fr"], j["lands"])
    if cls == "F/V":
        j = fm.judge_labiodentals(m, [w])[0]
        text = f"lip-edge {10 * m.lower_lip_to_incisor[f]:+.1f} teeth {10 * m.upper_teeth_shown[f]:.1f} mm"
        return _mouth_tile(r, tk, f, [head, text], j["lands"])
    if cls == "S/T":
        return _mouth_tile(r, tk, f, [head, f"lip-edge {10 * m.lower_lip_to_incisor[f]:+.1f} gap {10 * m.lip_gap[f]:.1f} mm"])
    return _mouth_tile(r, tk, f, [head, f"gap {10 * m.lip_gap[f]:.1f} width {10 * m.mouth_width[f]:.1f} mm"])


def _strip(r: FrontRenderer, none: list[Take], neutral_gap: float, columns: int):
    """Consecutive frames through one bilabial: in LibriVox 0920 (else the first take) the first
    P/B/M sealed on exactly one frame (a snap), else the first one."""
    tk = next((t for t in none if t.item.name == "0920"), none[0] if none else None)
    if tk is None:
        return None
    ws = fm.phone_windows(tk.item.reference, FPS, tk.track.num_frames, CLASSES["P/B/M"])
    if not ws:
        return None
    judged = fm.judge_bilabials(tk.ict.lip_gap, ws, neutral_gap)
    w = next((x for x, j in zip(ws, judged) if j["sealed_frames"] == 1), ws[0])
    lo = max(min(w.mid - columns // 2, tk.track.num_frames - columns), 0)
    tiles = [_mouth_tile(r, tk, f, [f"{tk.item.name} f{f}{' (' + w.phone + ')' if w.lo <= f <= w.hi else ''}",
                                    f"gap {10 * tk.ict.lip_gap[f]:.1f} mm"], bool(fm.sealed(tk.ict.lip_gap[f], neutral_gap)))
             for f in range(lo, min(lo + columns, tk.track.num_frames))]
    return f"strip: {tk.item.name} {w.phone} {w.start:.2f}-{w.end:.2f} s (green: sealed)", tiles


def _eye_row(res: Results, eye: FrontRenderer, columns: int):
    tiles = [_tile(eye.render(np.zeros(52)), ["ICT neutral", f"lids {10 * res.mouth['neutral_eyelid_gap_cm'][0]:.1f} mm"])]
    for key, k in (("none", 3), ("terrified", columns - 4)):
        cands = [(tk, int(p)) for tk in res.takes if tk.prompt == key for p in blinks(tk.track.arkit, FPS).peaks]
        for tk, p in _pick(cands, k):
            a, gap = tk.track.arkit[p], tk.ict.eyelid_gap[p, 0]
            tiles.append(_tile(eye.render(a), [f"{tk.item.name[:10]} {key[:5]} f{p}",
                                               f"bl {a[INDEX['eyeBlinkLeft']]:.2f} wd {a[INDEX['eyeWideLeft']]:.2f} {10 * gap:.1f}mm"],
                               GOOD if gap <= fm.EYE_CLOSED_CM else BAD))
    return "left eye at blink peaks: no prompt, then \"terrified\" (lid gap at the eye centre; green: closed)", tiles


def write_sheet(res: Results, path: Path, columns: int = 8, progress=print) -> None:
    """Mouth close-ups (ICT, front) at the middle of reference phones per class in the no-prompt
    takes, a strip of consecutive frames through a bilabial, and the left eye at blink peaks.
    Ticks at the tile edges: yellow = the upper lip's lowest point, cyan = the lower lip's highest
    point, green = the upper incisor edge. Captions green / red: the phone lands / misses."""
    from PIL import Image, ImageDraw

    mesh = fm.load_ict(shared_data() / "ict_facekit")
    mouth, eye = FrontRenderer(mesh, MOUTH_CROP, 24.0), FrontRenderer(mesh, EYE_CROP, 40.0)
    none = [t for t in res.takes if t.prompt == "none"]
    neutral_gap = res.mouth["neutral_gap_cm"]
    neutral = _tile(mouth.render(np.zeros(52)), ["ICT neutral", f"gap {10 * neutral_gap:.2f} mm"])
    rows = []
    for cls, labels in CLASSES.items():
        cands = [(tk, w) for tk in none for w in fm.phone_windows(tk.item.reference, FPS, tk.track.num_frames, labels)]
        first = [neutral] if cls == "P/B/M" else []
        rows.append((f"{cls} at mid-phone", first + [_phone_tile(mouth, cls, tk, w, neutral_gap)
                                                     for tk, w in _pick(cands, columns - len(first))]))
        progress(f"face: sheet: {cls}")
    rows += [r for r in (_strip(mouth, none, neutral_gap, columns), _eye_row(res, eye, columns)) if r]
    tw = max(t.width for _, ts in rows for t in ts)
    th = max(t.height for _, ts in rows for t in ts)
    sheet = Image.new("RGB", (4 + columns * (tw + 4), 4 + len(rows) * (th + 20)), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for n, (title, tiles) in enumerate(rows):
        y = 4 + n * (th + 20)
        d.text((4, y), title, fill=PLAIN)
        for i, t in enumerate(tiles[:columns]):
            sheet.paste(t, (4 + i * (tw + 4), y + 16))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)  # a quarter of the RGB size


# --- entry points ---------------------------------------------------------------------------
