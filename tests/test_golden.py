"""Golden-output regression tests: the run time's outputs for fixed inputs, against the files in
``tests/golden/data`` (see ``tests/golden/cases.py``). A failure names the case, the field and the
largest difference. When a change is meant to alter outputs, rerun
``.venv/bin/python tests/golden/update.py`` and commit the new files saying why.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from golden.cases import DATA, PROMPTS, TRACKS, compute

from talkclip_model.arkit import ARKIT_NAMES

JAW_OPEN = ARKIT_NAMES.index("jawOpen")
TOL = 2e-3  # weights are 0..1; onnxruntime and numpy builds differ in the last float32 bits


@pytest.fixture(scope="module")
def current():
    return compute()


def _compare(path: str, want, got) -> list[str]:
    """Differences between two JSON trees, numbers within TOL, as 'path: what' lines."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: missing" for k in want.keys() - got.keys()]
        out += [f"{path}.{k}: unexpected" for k in got.keys() - want.keys()]
        for k in want.keys() & got.keys():
            out += _compare(f"{path}.{k}", want[k], got[k])
        return out
    if isinstance(want, list) and isinstance(got, list):
        if want and all(isinstance(x, (int, float, list)) for x in want) and _numeric(want) and _numeric(got):
            a, b = np.asarray(want, float), np.asarray(got, float)
            if a.shape != b.shape:
                return [f"{path}: shape {a.shape} became {b.shape}"]
            diff = np.abs(a - b)
            if diff.size and diff.max() > TOL:
                where = np.unravel_index(int(diff.argmax()), diff.shape)
                return [f"{path}: max difference {diff.max():.4g} at {list(map(int, where))} "
                        f"({a[where]:.5g} -> {b[where]:.5g}); {int((diff > TOL).sum())} values off"]
            return []
        if len(want) != len(got):
            return [f"{path}: {len(want)} items became {len(got)}"]
        out = []
        for i, (w, g) in enumerate(zip(want, got)):
            out += _compare(f"{path}[{i}]", w, g)
        return out
    if isinstance(want, (int, float)) and isinstance(got, (int, float)) and not isinstance(want, bool):
        return [] if abs(want - got) <= TOL else [f"{path}: {want} became {got}"]
    return [] if want == got else [f"{path}: {want!r} became {got!r}"]


def _numeric(value) -> bool:
    try:
        np.asarray(value, float)
        return True
    except (TypeError, ValueError):
        return False


@pytest.mark.parametrize("name", [f"track_{n}.json" for n in TRACKS] + ["prompts.json"])
def test_matches_golden(current, name):
    stored = DATA / name
    assert stored.exists(), f"{stored} is missing: run tests/golden/update.py"
    diffs = _compare(name, json.loads(stored.read_text()), current[name])
    assert not diffs, f"{len(diffs)} differences from the golden output:\n" + "\n".join(diffs[:20])


def test_golden_cases_are_not_trivial(current):
    # the stored cases exercise what they claim: speech moves the jaw, prompts move the face
    for name in TRACKS:
        arkit = np.asarray(current[f"track_{name}.json"]["arkit"])
        assert arkit.shape[1] == 52 and np.ptp(arkit[:, JAW_OPEN]) > 0.2, name
    styles = current["prompts.json"]
    assert len(styles) == len(PROMPTS) >= 50
    moved = [p for p, s in styles.items() if max(s["style"]["arkit"].values()) > 0.1]
    assert len(moved) >= 40


def test_compare_catches_a_change():
    assert _compare("x", {"a": [[0.1, 0.2]]}, {"a": [[0.1, 0.21]]})
    assert _compare("x", {"a": ["AA", 0.1]}, {"a": ["AE", 0.1]})
    assert not _compare("x", {"a": [[0.1, 0.2]]}, {"a": [[0.1, 0.2005]]})
