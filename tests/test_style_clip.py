"""The CLIP backend end to end with a tiny random open_clip text tower.

open_clip imports torchvision at module level, and no torchvision wheel loads with the CPU
torch used here; the text tower needs none of it, so a test-only stub stands in. Needs
``pip install --no-deps open_clip_torch ftfy regex wcwidth`` (skipped otherwise).
"""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from talkclip_cli.cli import main
from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.style import load_style_model
from talkclip_model.style.encoders import load_encoder
from talkclip_model.style.weights import cache_dir, sha256_of
from talkclip_model.types import DYNAMICS

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.slow  # trains a CLIP adapter (about 10 s): run by scripts/test.sh --all and .ci/run

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def _install_torchvision_stub(monkeypatch) -> None:
    try:
        import torchvision  # noqa: F401
        return
    except Exception:
        pass

    class _Transform:
        def __init__(self, *args, **kwargs):
            self.args = args

        def __call__(self, x):
            return x

    tv = types.ModuleType("torchvision")
    tr = types.ModuleType("torchvision.transforms")
    fn = types.ModuleType("torchvision.transforms.functional")
    ops = types.ModuleType("torchvision.ops")
    misc = types.ModuleType("torchvision.ops.misc")
    for name in ("Normalize", "Compose", "RandomResizedCrop", "ToTensor", "Resize", "CenterCrop", "ColorJitter", "Grayscale"):
        setattr(tr, name, type(name, (_Transform,), {}))
    tr.InterpolationMode = types.SimpleNamespace(BICUBIC="bicubic", BILINEAR="bilinear", NEAREST="nearest")
    misc.FrozenBatchNorm2d = torch.nn.BatchNorm2d
    tv.transforms, tr.functional, tv.ops, ops.misc = tr, fn, ops, misc
    for mod in (tv, tr, fn, ops, misc):
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
    for name in [m for m in sys.modules if m == "open_clip" or m.startswith("open_clip.")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.fixture
def tiny_clip(tmp_path, monkeypatch):
    """(encoder spec, weights path) of a random tiny CLIP saved beside its model config."""
    _install_torchvision_stub(monkeypatch)
    open_clip = pytest.importorskip("open_clip")
    folder = tmp_path / "clip"
    folder.mkdir()
    (folder / "tiny-test-clip.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder / "tiny-test-clip.json")
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-test-clip")
    weights = folder / "tiny.pt"
    torch.save(model.state_dict(), weights)
    monkeypatch.setenv("TALKCLIP_CACHE", str(tmp_path / "cache"))
    return f"clip:tiny-test-clip/{weights}", weights


def test_clip_train_style_then_style(tiny_clip, capsys):
    spec, weights = tiny_clip
    assert main(["train-style", "--encoder", spec, "--epochs", "2", "--samples", "400", "--threads", "1", "--ensemble", "2"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["encoder_id"] == spec
    metas = list((cache_dir() / "adapters").glob("*.json"))
    assert len(metas) == 1
    meta = json.loads(metas[0].read_text())
    assert meta["encoder_hash"] == sha256_of(weights) and meta["embedding_dim"] == 32
    assert meta["arkit_names"] == list(ARKIT_NAMES)

    model = load_style_model(spec)
    assert model.encoder_id == spec
    style = model.style('"angry" + 0.5*"smiling"')
    assert style.arkit.shape == (52,) and set(style.dynamics) == set(DYNAMICS)
    assert model.style("angry, not frowning").get("mouthFrownLeft") == 0.0  # the phrase parser works with any encoder
    assert main(["style", "--json", "--encoder", spec, "happy", "sad"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["prompt"] for x in lines] == ["happy", "sad"]


def test_clip_encoder_is_deterministic_and_normalised(tiny_clip):
    spec, _ = tiny_clip
    enc = load_encoder(spec)
    a = enc.encode(["happy", "a furious man"])
    np.testing.assert_allclose(a, enc.encode_batch(["happy", "a furious man"]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_clip_without_an_adapter_says_what_to_run(tiny_clip):
    spec, _ = tiny_clip
    with pytest.raises(TalkclipError, match="train-style"):
        load_style_model(spec)


def test_clip_missing_weights_are_named(tiny_clip, tmp_path):
    with pytest.raises(TalkclipError, match="missing") as err:
        load_encoder(f"clip:tiny-test-clip/{tmp_path / 'nope.pt'}")
    assert "nope.pt" in str(err.value)
