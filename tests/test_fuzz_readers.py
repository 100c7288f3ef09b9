"""Fuzzing every file reader with mutations of real files (hypothesis, bounded in time).

Seeds are real inputs: Live Link Face captures from ../shared/data (cut to a few dozen rows), the
ICT FaceKit deltas (cut to a few hundred vertices), the shipped retarget profiles, a character
GLB, and takes and styles written by our own writers. Each case mutates one seed, bytes (flips,
cuts, inserts, duplicated and deleted chunks) or structure (a JSON node replaced by a wrong type,
NaN, a huge number or deep nesting; a CSV cell, line ending or column; an NPZ array), hands the
file to the reader the CLI calls and to what the CLI does next with the result, and checks the
contract: a result with finite values, or one TalkclipError line naming the file. Anything else
(another exception, a numpy warning that would print an extra line) fails the test.

The cases are derandomised, so the suite is repeatable; TALKCLIP_FUZZ_EXAMPLES=N runs N random
cases per reader instead (a longer hunt).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import os
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporters import formats
from exporters.gltf import add_animation, read_animation, read_glb, write_morph_glb
from exporters.gltf_read import glb_bytes
from exporters.pointcache import load_deltas_npz, load_mesh, read_mdd, write_point_cache
from exporters.retarget import load_profile
from exporters.track_io import write_json
from exporters.track_npz import write_npz
from talkclip_cli.cli import main
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.files import parse_json_text
from talkclip_model.types import ExpressionTrack, SpeakingStyle, parse_schedule

pytestmark = pytest.mark.slow  # thousands of fuzz cases: run by scripts/test.sh --all and .ci/run

HUNT = int(os.environ.get("TALKCLIP_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int):
    """Bounded, repeatable hypothesis settings (``examples`` cases; see the module docstring)."""
    return settings(max_examples=HUNT or examples, deadline=None, database=None, derandomize=not HUNT,
                    suppress_health_check=list(HealthCheck))


# --- seeds ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def capture_text() -> str:
    """The header and 24 rows of a real capture (60 fps timecodes of a 30 fps take)."""
    text = gzip.decompress(shared("livelink_face_alexdjulin", "alex_rom_3.csv.gz").read_bytes()).decode()
    return "\n".join(text.split("\n")[:25]) + "\n"


@pytest.fixture(scope="module")
def capture_take(capture_text, work) -> ExpressionTrack:
    (work / "seed.csv").write_text(capture_text)
    return formats.read_track(work / "seed.csv")


@pytest.fixture(scope="module")
def small_take() -> ExpressionTrack:
    rng = np.random.default_rng(3)
    return ExpressionTrack(fps=30.0, arkit=rng.random((12, 52), dtype=np.float32), head=rng.normal(0, 0.1, (12, 3)))


@pytest.fixture(scope="module")
def character_glb(work) -> bytes:
    rng = np.random.default_rng(0)
    path = write_morph_glb(work / "seed.glb", np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]),
                           {n: rng.normal(0, 0.01, (3, 3)) for n in ARKIT_NAMES[:20]})
    return path.read_bytes()


@pytest.fixture(scope="module")
def deltas_arrays() -> dict[str, np.ndarray]:
    """The ICT FaceKit deltas cut to their first 300 vertices and 12 channels."""
    with np.load(shared("ict_facekit", "ict_expression_deltas.npz")) as z:
        names = [str(n) for n in z["names"]][:12]
        out = {"names": np.array(names), "neutral": z["neutral"][:300].astype(np.float32)}
        for n in names:
            idx = z[f"{n}__idx"]
            keep = idx < 300
            out[f"{n}__idx"], out[f"{n}__delta"] = idx[keep], z[f"{n}__delta"][keep]
    return out


def npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# --- mutations ------------------------------------------------------------------------------

@st.composite
def byte_mutations(draw, seed: bytes) -> bytes:
    """``seed`` with 1 to 4 flips, cuts, inserts, duplicated or deleted chunks."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        n = len(data)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 512)))
        op = draw(st.sampled_from(["flip", "cut", "insert", "duplicate", "delete"]))
        if op == "flip" and i < n:
            data[i] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=24))
        elif op == "duplicate":
            data[j:j] = data[i:j]
        else:
            del data[i:j]
    return bytes(data)


DEEP = "[" * 5000 + "]" * 5000
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -1e308, 1e308, 1e39, 10 ** 400, 0, -1, 1e-320, "", [], {}, DEEP]),
    st.lists(st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=4)), max_size=4),
    st.dictionaries(st.text(max_size=6), st.one_of(st.none(), st.integers(), st.text(max_size=4)), max_size=3),
)


def _paths(node, path=()):
    """Every path into a JSON tree (object keys and list indices), the root first."""
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield from _paths(v, path + (k,))


def _pick_path(rnd, doc):
    """A node of ``doc``: a kind of node first (list positions folded, so the thousand values of a
    take's frames count once), then one node of that kind; the root only now and then."""
    groups: dict[tuple, list] = {}
    for path in _paths(doc):
        groups.setdefault(tuple("*" if isinstance(k, int) else k for k in path), []).append(path)
    kinds = sorted(k for k in groups if k) or [()]
    kind = () if rnd.random() < 0.05 else rnd.choice(kinds)
    return rnd.choice(groups[kind])


@st.composite
def json_mutations(draw, seed) -> str:
    """``seed`` (a JSON value) with 1 to 3 nodes replaced by odd values or dropped, as JSON text
    (NaN, Infinity and deep nesting written as Python's json writes and reads them)."""
    doc = json.loads(json.dumps(seed))
    rnd = random.Random(draw(st.integers(0, 2 ** 32)))  # plain choices: hypothesis' own lean to the first
    for _ in range(draw(st.integers(1, 3))):
        path = _pick_path(rnd, doc)
        value = draw(ODD_VALUES)
        if not path:
            doc = value
            continue
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return json.dumps(doc).replace(json.dumps(DEEP), DEEP)


ODD_CELLS = ["", "nan", "inf", "-inf", "1e400", "1e39", "-3.5e38", "abc", "0x10", "1_0", " 1 ", '"', "\x00",
             "00:00:00:inf", "00:00:00:1e18", "99:99:99:9999.999", "13:13:04:33.651", "x" * 200, "61", "-0"]


ODD_TIMECODES = ["00:00:00:inf", "00:00:00:nan", "00:00:00:1e18", "99:99:99:9999.999", "00:00:00:00.000",
                 "13:13:04:33.651", "1:2:3", "24:00:00:00.5", "00:00:00:-1", "", "00:00:00:59.999999"]


@st.composite
def csv_mutations(draw, text: str) -> str:
    """A capture's CSV text with cells, timecodes, line endings, rows or columns changed."""
    rows = [r.split(",") for r in text.rstrip("\n").split("\n")]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cell"] * 5 + ["timecode"] * 2 + ["row", "column", "header"]))
        r = draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
        c = draw(st.integers(1, max(1, len(rows[0]) - 1)))
        if op == "cell" and c < len(rows[r]):
            rows[r][c] = draw(st.sampled_from(ODD_CELLS) | st.text(max_size=8))
        elif op == "timecode" and rows[r]:
            rows[r][0] = draw(st.sampled_from(ODD_TIMECODES))
        elif op == "row":
            if draw(st.booleans()):
                rows.insert(r, list(rows[draw(st.integers(1, len(rows) - 1))] if len(rows) > 1 else rows[0]))
            else:
                del rows[r]
        elif op == "column":
            for row in rows:
                del row[c:c + 1]
        elif op == "header":
            rows[0][c % len(rows[0])] = draw(st.sampled_from(["Timecode", "JawOpen", "", "BlendshapeCount", "Extra",
                                                               "jawopen", "HeadYaw"]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    return newline.join(",".join(r) for r in rows) + newline * draw(st.integers(0, 2))


# --- the contract -------------------------------------------------------------------------

@contextlib.contextmanager
def contract(*files: Path):
    """The body may succeed, or fail with one TalkclipError line that names one of ``files``;
    numpy warnings (which the CLI would print as extra lines) count as failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            yield
        except TalkclipError as exc:
            message = str(exc)
            assert "\n" not in message
            assert any(f.name in message for f in files), f"message names no file: {message}"


def finite_track(track: ExpressionTrack) -> None:
    assert np.isfinite(track.fps) and track.fps > 0 and track.num_frames >= 1
    assert np.all(np.isfinite(track.arkit)) and np.all(np.isfinite(track.head))
    assert all(np.all(np.isfinite(v)) for v in track.layers.values())


def run_cli(*args) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main([str(a) for a in args])
    return rc, err.getvalue()


def cli_contract(names: list[str], *args) -> None:
    """Exit 0, or a non-zero exit with exactly one stderr line that names an input; never the
    last-resort line of an internal error."""
    rc, err = run_cli(*args)
    if rc != 0:
        assert err.count("\n") == 1 and err.startswith("talkclip: error: "), err
        assert "--debug" not in err, err
        assert any(n in err for n in names), err


# --- Live Link Face CSV ---------------------------------------------------------------------

def check_take_file(path: Path, work: Path) -> None:
    """Read a take; what reads must also write to CSV and JSON and read back (the CSV round trip)."""
    with contract(path):
        track = formats.read_track(path)
        finite_track(track)
        formats.write_track(track, work / "back.csv")
        again = formats.read_track(work / "back.csv")
        np.testing.assert_array_equal(again.arkit, track.arkit)
        formats.write_track(track, work / "back.json")


@fuzz(300)
@given(data=st.data())
def test_livelink_csv(data, capture_text, work):
    text = data.draw(st.one_of(csv_mutations(capture_text),
                               byte_mutations(capture_text.encode()).map(lambda b: b.decode("utf-8", "replace"))))
    path = work / "case.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_take_file(path, work)


@fuzz(200)
@given(data=st.data())
def test_livelink_csv_gz(data, capture_text, work):
    packed = gzip.compress(capture_text.encode(), mtime=0)
    raw = data.draw(st.one_of(byte_mutations(packed), csv_mutations(capture_text).map(
        lambda t: gzip.compress(t.encode(), mtime=0)), byte_mutations(packed[:10]).map(lambda b: b + packed[10:])))
    path = work / "case.csv.gz"
    path.write_bytes(raw)
    check_take_file(path, work)


# --- take JSON and NPZ ----------------------------------------------------------------------

@fuzz(300)
@given(data=st.data())
def test_take_json(data, capture_take, small_take, work):
    write_json(capture_take, work / "seed_take.json")
    seeds = [json.loads((work / "seed_take.json").read_text())]
    write_json(small_take, work / "small.json")
    seeds.append(json.loads((work / "small.json").read_text()))
    seed = data.draw(st.sampled_from(seeds))
    text = data.draw(st.one_of(json_mutations(seed), byte_mutations(json.dumps(seed).encode()).map(
        lambda b: b.decode("utf-8", "replace"))))
    path = work / "case.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check_take_file(path, work)


ARRAYS = st.one_of(
    st.sampled_from([np.array(30.0), np.array(0.0), np.array(np.nan), np.array(1e300), np.array("x"),
                     np.zeros((3, 52), np.float32), np.full((3, 52), np.inf), np.zeros((0, 52)), np.zeros(7),
                     np.array(["jawOpen"]), np.array(list(ARKIT_NAMES)), np.zeros((2, 3), np.int64),
                     np.array([b"jawOpen"]), np.zeros((3, 52), np.complex64), np.array('{"a": NaN}'),
                     np.array([1, "a"], dtype=object), np.array([[1e39]], np.float64)]),
)


@st.composite
def npz_mutations(draw, seed: dict[str, np.ndarray]) -> bytes:
    arrays = dict(seed)
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(sorted(arrays) + ["extra"]))
        if draw(st.integers(0, 3)) == 0:
            arrays.pop(key, None)
        else:
            arrays[key] = draw(ARRAYS)
    return npz_bytes(arrays)


@fuzz(250)
@given(data=st.data())
def test_take_npz(data, capture_take, small_take, work):
    write_npz(data.draw(st.sampled_from([capture_take, small_take])), work / "seed_take.npz")
    raw = (work / "seed_take.npz").read_bytes()
    with np.load(work / "seed_take.npz") as z:
        arrays = {k: z[k] for k in z.files}
    path = work / "case.npz"
    path.write_bytes(data.draw(st.one_of(npz_mutations(arrays), byte_mutations(raw))))
    check_take_file(path, work)


# --- profiles, styles, schedules -----------------------------------------------------------

@fuzz(300)
@given(data=st.data())
def test_profile_json(data, small_take, work):
    name = data.draw(st.sampled_from(["arkit", "rhubarb", "visemes", "vrm"]))
    seed = load_profile(name).to_dict()
    seed["targets"] = dict(list(seed["targets"].items())[:6])  # a few targets keep the cases small
    text = data.draw(st.one_of(json_mutations(seed), byte_mutations(json.dumps(seed).encode()).map(
        lambda b: b.decode("utf-8", "replace"))))
    path = work / "case_profile.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contract(path):
        profile = load_profile(path)
        assert np.all(np.isfinite(profile.matrix)) and np.all(np.isfinite(profile.bias))
        detection = profile.bind(list(profile.targets) + list(ARKIT_NAMES))
        _, values = detection.apply(small_take)
        assert np.all(np.isfinite(values))


@fuzz(250)
@given(data=st.data())
def test_style_json(data, work):
    seed = SpeakingStyle.neutral().to_dict()
    seed["arkit"] = dict(list(seed["arkit"].items())[:6])
    text = data.draw(st.one_of(json_mutations(seed), byte_mutations(json.dumps(seed).encode()).map(
        lambda b: b.decode("utf-8", "replace"))))
    path = work / "case_style.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contract(path):
        style = SpeakingStyle.load(path)
        assert np.all(np.isfinite(style.arkit)) and all(np.isfinite(v) for v in style.dynamics.values())


@fuzz(200)
@given(text=json_mutations([{"time": 0, "prompt": "calm"}, {"time": 2.5, "prompt": "angry"}]))
def test_schedule_json(text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            items = parse_schedule(parse_json_text(text))
        except ValueError as exc:
            assert "\n" not in str(exc)
            return
    assert all(np.isfinite(t) and t >= 0 and isinstance(p, str) for t, p in items)


# --- character GLB and deltas NPZ ------------------------------------------------------------

def glb_from_text(text: str, binary: bytes) -> bytes:
    """A GLB container around JSON text as it is (odd values and deep nesting included)."""
    js = text.encode("utf-8", "surrogatepass")
    js += b" " * (-len(js) % 4)
    body = len(js).to_bytes(4, "little") + b"JSON" + js
    if binary:
        body += len(binary).to_bytes(4, "little") + b"BIN\0" + binary
    return b"glTF" + (2).to_bytes(4, "little") + (12 + len(body)).to_bytes(4, "little") + body


@st.composite
def glb_mutations(draw, seed: bytes) -> bytes:
    """A character GLB with its JSON, container bytes or BIN chunk mutated, or with buffer 0 as
    a data: URI (a valid GLB without a BIN chunk), mutated or not."""
    doc, binary = read_glb_bytes(seed)
    kind = draw(st.sampled_from(["json", "json", "bytes", "data-uri", "bin"]))
    if kind == "bytes":
        return draw(byte_mutations(seed))
    if kind == "bin":
        return glb_bytes(doc, draw(byte_mutations(binary)))
    if kind == "data-uri":
        doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
        return glb_from_text(draw(json_mutations(doc)) if draw(st.booleans()) else json.dumps(doc), b"")
    return glb_from_text(draw(json_mutations(doc)), binary)


def read_glb_bytes(data: bytes):
    """(JSON dict, BIN chunk) of a well-formed GLB in memory (the seed)."""
    js_len = int.from_bytes(data[12:16], "little")
    doc = json.loads(data[20:20 + js_len])
    bin_start = 20 + js_len
    bin_len = int.from_bytes(data[bin_start:bin_start + 4], "little")
    return doc, data[bin_start + 8: bin_start + 8 + bin_len]


@fuzz(300)
@given(data=st.data())
def test_character_glb(data, character_glb, small_take, work):
    path = work / "case.glb"
    path.write_bytes(data.draw(glb_mutations(character_glb)))
    out = work / "case_out.glb"
    with contract(path, out):
        formats.channel_names(path)
        add_animation(path, small_take, out)
        for times, _, weights in read_animation(out).values():
            assert np.all(np.isfinite(times)) and np.all(np.isfinite(weights))
        read_glb(out)


@fuzz(200)
@given(data=st.data())
def test_deltas_npz(data, deltas_arrays, small_take, work):
    raw = npz_bytes(deltas_arrays)
    path = work / "case_deltas.npz"
    path.write_bytes(data.draw(st.one_of(npz_mutations(deltas_arrays), byte_mutations(raw))))
    out = work / "case.mdd"
    with contract(path, out):
        mesh = load_deltas_npz(path)
        assert np.all(np.isfinite(mesh.vertices))
        write_point_cache(mesh, small_take, out)
        _, points = read_mdd(out)
        assert np.all(np.isfinite(points))


@pytest.fixture(scope="module")
def mesh_obj() -> bytes:
    """The ICT FaceKit neutral mesh cut to its first 300 vertices and the faces among them."""
    keep, faces = [], []
    with open(shared("ict_facekit", "generic_neutral_mesh.obj"), encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("v ") and len(keep) < 300:
                keep.append(line)
            elif line.startswith("f ") and all(int(t.split("/")[0]) <= 300 for t in line.split()[1:]):
                faces.append(line)
    return "".join(keep + faces[:200]).encode()


@fuzz(150)
@given(data=st.data())
def test_mesh_obj(data, mesh_obj, work):
    path = work / "case.obj"
    path.write_bytes(data.draw(byte_mutations(mesh_obj)))
    with contract(path):
        vertices, faces = load_mesh(path)
        assert vertices.ndim == 2 and vertices.shape[1] == 3 and np.all(np.isfinite(vertices))


# --- the command line: one stderr line naming the input --------------------------------------

@fuzz(150)
@given(data=st.data())
def test_export_command(data, capture_text, character_glb, work):
    """The same mutations through ``talkclip export`` and ``talkclip profiles``, in-process."""
    kind = data.draw(st.sampled_from(["csv", "json", "glb", "profile", "detect"]))
    good = work / "cli_good.csv"
    good.write_text(capture_text)
    if kind == "csv":
        path = work / "cli_case.csv"
        path.write_text(data.draw(csv_mutations(capture_text)), encoding="utf-8", errors="surrogatepass")
        cli_contract([path.name], "export", "--track", path, "--to", "json", "--out", work / "cli.json", "--force")
    elif kind == "json":
        formats.write_track(formats.read_track(good), work / "cli_seed.json")
        path = work / "cli_case.json"
        path.write_text(data.draw(json_mutations(json.loads((work / "cli_seed.json").read_text()))))
        cli_contract([path.name], "export", "--track", path, "--to", "csv", "--out", work / "cli.csv", "--force")
    elif kind == "glb":
        path = work / "cli_case.glb"
        path.write_bytes(data.draw(glb_mutations(character_glb)))
        cli_contract([path.name, "cli.glb"], "export", "--track", good, "--to", "glb", "--character", path,
                     "--out", work / "cli.glb", "--force")
    elif kind == "detect":  # profiles detect reads channel names from any of these
        suffix = data.draw(st.sampled_from([".json", ".npz", ".csv", ".csv.gz", ".txt", ".glb"]))
        seed = {".json": json.dumps({"channels": list(ARKIT_NAMES[:8])}).encode(), ".txt": "\n".join(ARKIT_NAMES).encode(),
                ".npz": npz_bytes({"names": np.array(ARKIT_NAMES[:8])}), ".csv": capture_text.encode(),
                ".csv.gz": gzip.compress(capture_text.encode()), ".glb": character_glb}[suffix]
        path = work / f"cli_names{suffix}"
        path.write_bytes(data.draw(byte_mutations(seed)))
        cli_contract([path.name], "profiles", "detect", path)
    else:
        path = work / "cli_profile.json"
        path.write_text(data.draw(json_mutations(load_profile("visemes").to_dict())))
        cli_contract([path.name], "profiles", "show", path)
        cli_contract([path.name], "export", "--track", good, "--to", "cues", "--profile", path,
                     "--out", work / "cli.tsv", "--force")
