"""The example bank: nearest labelled training sentences blended with the adapter."""

from __future__ import annotations

import numpy as np
import pytest

from talkclip_model.errors import TalkclipError
from talkclip_model.style import load_style_model
from talkclip_model.style.bank import ExampleBank
from talkclip_model.style.weights import PACKAGED_DIR, bank_path


@pytest.fixture(scope="module")
def model():
    return load_style_model()


def test_shipped_bank_is_loaded_and_changes_the_learned_output(model):
    assert model.bank is not None
    emb = model.encoder.encode(["she is beside herself with glee"]).astype(np.float32)
    raw_a, raw_d = model.session.run(["arkit", "dynamics"], {"embedding": emb})
    a, d = model.learned(["she is beside herself with glee"])
    assert a.shape == raw_a.shape == (1, 52) and d.shape == raw_d.shape
    assert not np.allclose(a, raw_a)
    assert 0.0 <= a.min() and a.max() <= 1.0


def test_neighbours_of_a_labelled_sentence_carry_its_label(model):
    bank = model.bank
    i = int(np.argmax(bank.arkit[:, 23]))  # the strongest mouthSmileLeft example
    a, _ = bank.blend(bank.embeddings[i:i + 1], np.zeros((1, 52), np.float32), np.zeros((1, 11), np.float32))
    assert a[0, 23] > 0.5 * 0.5 * bank.arkit[i, 23]  # half adapter (zeros here), half neighbours


def test_bank_for_other_encoder_weights_is_refused(tmp_path, model):
    path = tmp_path / "x.bank.npz"
    with np.load(bank_path(PACKAGED_DIR / "minilm_adapter.json")) as z:
        data = {k: z[k] for k in z.files}
    data["encoder_hash"] = np.array("0" * 64)
    np.savez(path, **data)
    with pytest.raises(TalkclipError, match="other encoder weights") as err:
        ExampleBank(path, model.encoder.hash)
    assert str(path) in str(err.value)


def test_corrupt_bank_names_the_file(tmp_path, model):
    path = tmp_path / "y.bank.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(TalkclipError, match="unreadable") as err:
        ExampleBank(path, model.encoder.hash)
    assert str(path) in str(err.value)
