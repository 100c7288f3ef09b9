"""Nearest-neighbour vote over labelled training sentences, blended with the adapter.

The adapter generalises smoothly but blurs unfamiliar wording; the encoder's own neighbourhood
("beside herself" sits near "furious", "on cloud nine" near "over the moon") carries the emotion
of the closest labelled sentences. The bank ships beside the adapter (``weights.bank_path``):
unit-length float16 embeddings of training sentences, and of every training word and idiom alone,
with their ARKit and dynamics targets. Built by ``python -m talkclip_model.training.build_bank``;
its measured gain is in docs/decisions/style.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkclip_model.errors import TalkclipError

NEIGHBOURS = 10
TEMPERATURE = 0.05  # softmax temperature on cosine similarity
ADAPTER_SHARE = 0.5  # output = share * adapter + (1 - share) * neighbours


class ExampleBank:
    def __init__(self, path: Path, encoder_hash: str | None):
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except Exception as exc:
            raise TalkclipError(f"{path}: style example bank is unreadable ({exc})") from None
        if encoder_hash and str(data.get("encoder_hash", "")) != encoder_hash:
            raise TalkclipError(f"{path}: example bank was built for other encoder weights; rebuild it with "
                                "python -m talkclip_model.training.build_bank")
        self.embeddings = data["embeddings"].astype(np.float32)  # (N, D), unit length
        self.arkit = data["arkit"].astype(np.float32)  # (N, 52)
        self.dynamics = data["dynamics"].astype(np.float32)  # (N, 11)

    def blend(self, embeddings: np.ndarray, arkit: np.ndarray, dynamics: np.ndarray):
        """Adapter outputs for ``embeddings`` (M, D) mixed with their neighbours' targets."""
        q = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)
        sim = q @ self.embeddings.T  # (M, N)
        k = min(NEIGHBOURS, sim.shape[1])
        idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        s = np.take_along_axis(sim, idx, 1)
        w = np.exp((s - s.max(axis=1, keepdims=True)) / TEMPERATURE)
        w /= w.sum(axis=1, keepdims=True)
        near_a = np.einsum("mk,mkc->mc", w, self.arkit[idx])
        near_d = np.einsum("mk,mkc->mc", w, self.dynamics[idx])
        return (ADAPTER_SHARE * arkit + (1 - ADAPTER_SHARE) * near_a,
                ADAPTER_SHARE * dynamics + (1 - ADAPTER_SHARE) * near_d)
