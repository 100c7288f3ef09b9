"""Nearest-neighbour vote over labelled training sentences, blended with the adapter.

The adapter generalises smoothly but blurs unfamiliar wording; the encoder's own neighbourhood
("beside herself" sits near "furious", "on cloud nine" near "over the moon") carries the
emotion of the closest labelled sentences. The bank ships beside the adapter as
``<adapter>.bank.npz``: unit-length float16 embeddings of training sentences (and of every
training word and idiom alone) with their ARKit and dynamics targets. When it was added (corpus
2026.11-5, 6,000 sentences, k=10, blend 0.5) it raised held-out emotion agreement from 58.6% to
66.1% on unseen words and idioms and from 86.0% to 93.0% on unseen phrasings. Since the adapter
also trains on bare words and idioms (corpus 2026.11-6 on) its gain is about a point
(docs/style.md has the current scores).

Build: ``python -m talkclip_model.style.bank`` (needs the encoder; about 30 s).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from talkclip_model.errors import TalkclipError

BANK_SIZE = 6000
BANK_SEED = 1
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
                                "python -m talkclip_model.style.bank")
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


def bank_path(adapter_json: Path) -> Path:
    return Path(adapter_json).with_suffix(".bank.npz")


def build_bank(encoder, out: Path, size: int = BANK_SIZE, seed: int = BANK_SEED) -> Path:
    from talkclip_model.files import atomic_output
    from talkclip_model.training import corpus
    from talkclip_model.training import train as training

    samples = corpus.generate(size, seed=seed, split="train") + corpus.bare_vocabulary("train")
    texts = training.encoder_texts(samples)
    emb = np.concatenate([encoder.encode(texts[i:i + 64]) for i in range(0, len(texts), 64)]).astype(np.float32)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)
    arkit, dyn = training.targets(samples)
    with atomic_output(out, "wb") as fh:
        np.savez_compressed(fh, embeddings=emb.astype(np.float16), arkit=arkit.astype(np.float16),
                            dynamics=dyn.astype(np.float16), encoder_hash=np.array(str(encoder.hash)),
                            corpus_version=np.array(corpus.CORPUS_VERSION), seed=np.array(seed))
    return out


def main(argv=None) -> int:
    from talkclip_model.style import adapter_paths
    from talkclip_model.style.encoders import load_encoder

    p = argparse.ArgumentParser(prog="python -m talkclip_model.style.bank", description=__doc__.splitlines()[0])
    p.add_argument("--encoder", default=None, help="minilm (default) or clip:<model>/<weights>")
    p.add_argument("--out", type=Path, default=None, help="bank path (default: beside the adapter JSON)")
    args = p.parse_args(argv)
    enc = load_encoder(args.encoder, None)
    out = args.out or bank_path(adapter_paths(enc.id, enc.hash)[1])
    print(build_bank(enc, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
