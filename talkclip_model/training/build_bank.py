"""Build the example bank that ships beside an adapter (``style/bank.py`` reads it).

    python -m talkclip_model.training.build_bank [--encoder minilm|clip:<model>/<weights>] [--out PATH]

Needs the encoder; about 30 s for the MiniLM one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from talkclip_model.files import atomic_output
from talkclip_model.style.encoders import load_encoder
from talkclip_model.style.weights import adapter_paths, bank_path
from talkclip_model.training import corpus
from talkclip_model.training.corpus import encoder_texts, targets

BANK_SIZE = 6000
BANK_SEED = 1


def build_bank(encoder, out: Path, size: int = BANK_SIZE, seed: int = BANK_SEED) -> Path:
    """Training sentences plus every training word and idiom alone, embedded, with their targets."""
    samples = corpus.generate(size, seed=seed, split="train") + corpus.bare_vocabulary("train")
    texts = encoder_texts(samples)
    emb = np.concatenate([encoder.encode(texts[i:i + 64]) for i in range(0, len(texts), 64)]).astype(np.float32)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)
    arkit, dyn = targets(samples)
    with atomic_output(out, "wb") as fh:
        np.savez_compressed(fh, embeddings=emb.astype(np.float16), arkit=arkit.astype(np.float16),
                            dynamics=dyn.astype(np.float16), encoder_hash=np.array(str(encoder.hash)),
                            corpus_version=np.array(corpus.CORPUS_VERSION), seed=np.array(seed))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m talkclip_model.training.build_bank", description=__doc__.splitlines()[0])
    p.add_argument("--encoder", default=None, help="minilm (default) or clip:<model>/<weights>")
    p.add_argument("--out", type=Path, default=None, help="bank path (default: beside the adapter JSON)")
    args = p.parse_args(argv)
    enc = load_encoder(args.encoder, None)
    out = args.out or bank_path(adapter_paths(enc.id, enc.hash)[1])
    print(build_bank(enc, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
