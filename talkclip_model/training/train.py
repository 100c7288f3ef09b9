"""Train the style adapter + head on the generated corpus, score it on the held-out split
(``scoring.py``), export it to ONNX with a JSON description. torch is needed here only.

Architecture (TalkCLIP): frozen sentence encoder e (L2-normalised); adapter MLP; residual blend
s = 0.6 * adapter(e) + 0.4 * e; head s -> 52 ARKit activations + 11 dynamics (sigmoid, 0..1).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.style.encoders import load_encoder
from talkclip_model.style.weights import ONNX_OPSET, adapter_slug, cache_dir, sha256_of
from talkclip_model.training import corpus as corpus_mod
from talkclip_model.training.corpus import encoder_texts, targets
from talkclip_model.training.scoring import evaluate
from talkclip_model.types import DYNAMICS

ADAPTER_RATIO = 0.6  # s = 0.6 * adapter(e) + 0.4 * e
HIDDEN = 256
N_TRAIN = 20000
N_HELDOUT = 2500
EPOCHS = 40
ENSEMBLE = 1  # adapters (different seeds) averaged in the exported graph; --ensemble 3 is steadier, 3x slower


def build_net(dim: int, seed: int = 0):
    import torch
    from torch import nn

    class StyleAdapter(nn.Module):
        def __init__(self):
            super().__init__()
            self.adapter = nn.Sequential(nn.Linear(dim, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, dim))
            self.head = nn.Sequential(nn.Linear(dim, HIDDEN), nn.GELU(), nn.Dropout(0.1),
                                      nn.Linear(HIDDEN, len(ARKIT_NAMES) + len(DYNAMICS)))

        def forward(self, embedding):  # (B, D) -> (B, 52), (B, 11)
            s = ADAPTER_RATIO * self.adapter(embedding) + (1.0 - ADAPTER_RATIO) * embedding
            out = torch.sigmoid(self.head(s))
            return out[:, :len(ARKIT_NAMES)], out[:, len(ARKIT_NAMES):]

    torch.manual_seed(seed)
    return StyleAdapter()


def embed(encoder, texts: list[str], progress: Callable[[str], None] | None = None,
          table: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Embeddings of unique texts (empty text -> zeros), batched; ``table`` caches across calls."""
    table = {} if table is None else table
    uniq = sorted(set(texts) - set(table))
    step = 512
    for i in range(0, len(uniq), step):
        chunk = [t for t in uniq[i:i + step]]
        nonempty = [t for t in chunk if t]
        if nonempty:
            for t, v in zip(nonempty, encoder.encode_batch(nonempty)):
                table[t] = v
        if progress:
            progress(f"encoding corpus {min(i + step, len(uniq))}/{len(uniq)}")
    dim = encoder.dim
    zero = np.zeros(dim, dtype=np.float32)
    return np.stack([table.get(t, zero) for t in texts]).astype(np.float32)


# --- training -------------------------------------------------------------------------------

def _fit(x: np.ndarray, ya: np.ndarray, yd: np.ndarray, dim: int, seed: int, epochs: int, progress):
    """One adapter + head, trained with AdamW + one-cycle; embeddings jittered (noise 0.03)."""
    import torch

    net = build_net(dim, seed)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps_per_epoch = (len(x) + 255) // 256
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * steps_per_epoch)
    xt, yat, ydt = torch.from_numpy(x), torch.from_numpy(ya), torch.from_numpy(yd)
    weight = 1.0 + 4.0 * (yat > 0.05).float()  # active channels matter more than the many zeros
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), 256):
            idx = perm[i:i + 256]
            e = xt[idx] + 0.03 * torch.randn(len(idx), xt.shape[1], generator=gen)
            pa, pd = net(e)
            loss = (weight[idx] * (pa - yat[idx]) ** 2).mean() * 4.0 + ((pd - ydt[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if epoch % 5 == 4 or epoch == epochs - 1:
            progress(f"epoch {epoch + 1}/{epochs}: loss {total / len(xt):.5f}")
    return net.eval()


def average_nets(nets):
    """One module whose outputs are the mean of several adapters' (a seed ensemble: lower variance)."""
    import torch
    from torch import nn

    if len(nets) == 1:
        return nets[0]

    class Ensemble(nn.Module):
        def __init__(self):
            super().__init__()
            self.members = nn.ModuleList(nets)

        def forward(self, embedding):  # (B, D) -> (B, 52), (B, 11)
            outs = [m(embedding) for m in self.members]
            return (torch.stack([a for a, _ in outs]).mean(0), torch.stack([d for _, d in outs]).mean(0))

    return Ensemble().eval()


def train_style(encoder_spec: str | None = None, out_dir: Path | None = None, epochs: int = EPOCHS, seed: int = 0,
                n_train: int = N_TRAIN, n_heldout: int = N_HELDOUT, threads: int = 2, ensemble: int = ENSEMBLE,
                progress: Callable[[str], None] = print) -> dict:
    """Generate the corpus, train, score, export. Returns the JSON description it wrote."""
    import torch

    torch.set_num_threads(threads)
    t0 = time.time()
    encoder = load_encoder(encoder_spec)
    progress(f"encoder {encoder.id} (dim {encoder.dim})")
    train, held, held_phrasing = _corpora(seed, n_train, n_heldout)
    cache_file = _embedding_cache_file(encoder)
    table = _load_table(cache_file)
    x = embed(encoder, encoder_texts(train), progress, table)
    _save_table(cache_file, table)
    ya, yd = targets(train)
    progress(f"corpus {corpus_mod.CORPUS_VERSION}: {len(train)} training, {len(held)} + {len(held_phrasing)} held-out sentences "
             f"({time.time() - t0:.0f} s)")
    nets = []
    for member in range(ensemble):
        progress(f"adapter {member + 1}/{ensemble}")
        nets.append(_fit(x, ya, yd, encoder.dim, seed + member, epochs, progress))
    net = average_nets(nets)
    scores = _score(net, encoder, table, {"unseen words/idioms": held, "unseen phrasings": held_phrasing}, progress)
    _save_table(cache_file, table)

    out_dir = Path(out_dir) if out_dir else cache_dir() / "adapters"
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{adapter_slug(encoder.id, encoder.hash)}.onnx"
    export_adapter(net, encoder.dim, onnx_path)
    meta = _description(encoder, onnx_path, scores, ensemble=ensemble, seed=seed, epochs=epochs, n_train=n_train,
                        n_heldout=n_heldout, seconds=time.time() - t0)
    json_path = onnx_path.with_suffix(".json")
    json_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    progress(f"wrote {onnx_path} and {json_path.name} ({time.time() - t0:.0f} s)")
    return meta


def _corpora(seed: int, n_train: int, n_heldout: int):
    """Training sentences plus every training word and idiom alone, twice (a bare "walking on air"
    is a prompt too); and the two held-out splits."""
    train = corpus_mod.generate(n_train, seed=seed, split="train") + corpus_mod.bare_vocabulary("train") * 2
    held = corpus_mod.generate(n_heldout // 2, seed=seed, split="heldout")
    held_phrasing = corpus_mod.generate(n_heldout - n_heldout // 2, seed=seed, split="heldout_phrasing")
    return train, held, held_phrasing


def _score(net, encoder, table: dict[str, np.ndarray], splits: dict[str, list], progress) -> list[dict]:
    """``scoring.evaluate`` of the trained net on each held-out split, reported as it goes."""
    import torch

    def predict_torch(texts):
        emb = embed(encoder, texts, table=table)
        with torch.no_grad():
            a, d = net(torch.from_numpy(emb))
        return a.numpy(), d.numpy()

    scores = [evaluate(samples, predict_torch) for samples in splits.values()]
    for label, sc in zip(splits, scores):
        progress(f"held-out ({label}): emotion {sc['emotion_accuracy']:.1%} (n={sc['emotion_n']}), "
                 f"actions {sc['action_accuracy']:.1%} (n={sc['action_n']}), "
                 f"intensity order {sc['monotonicity']:.1%} (n={sc['monotonicity_n']})")
    return scores


def _description(encoder, onnx_path: Path, scores: list[dict], *, ensemble: int, seed: int, epochs: int, n_train: int,
                 n_heldout: int, seconds: float) -> dict:
    """The adapter's JSON description: what it reads and writes, how it was trained, its scores."""
    words, phrasing = scores
    return {
        "format": "talkclip-style-adapter/1",
        "encoder_id": encoder.id, "encoder_hash": encoder.hash, "embedding_dim": encoder.dim,
        "onnx": onnx_path.name, "onnx_sha256": sha256_of(onnx_path), "opset": ONNX_OPSET,
        "inputs": {"embedding": ["batch", encoder.dim]},
        "outputs": {"arkit": ["batch", len(ARKIT_NAMES)], "dynamics": ["batch", len(DYNAMICS)]},
        "arkit_names": list(ARKIT_NAMES), "dynamics_names": list(DYNAMICS),
        "dynamics_encoding": "normalised 0..1 over each DYNAMICS (low, high) range",
        "adapter_ratio": ADAPTER_RATIO, "hidden": HIDDEN, "ensemble": ensemble,
        "corpus_version": corpus_mod.CORPUS_VERSION, "seed": seed, "epochs": epochs,
        "n_train": n_train, "n_heldout": n_heldout,
        "heldout": {k: v for k, v in words.items() if k != "failures_sample"},
        "heldout_phrasing": {k: v for k, v in phrasing.items() if k != "failures_sample"},
        "heldout_failures_sample": words["failures_sample"][:10] + phrasing["failures_sample"][:10],
        "train_seconds": round(seconds, 1),
    }


def _embedding_cache_file(encoder) -> Path:
    return cache_dir() / "embeddings" / (adapter_slug(encoder.id, str(encoder.hash)) + f"-{encoder.hash[:16]}.npz")


def _load_table(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return dict(zip(data["texts"].tolist(), data["vectors"]))
    except (OSError, ValueError, KeyError):
        return {}


def _save_table(path: Path, table: dict[str, np.ndarray]) -> None:
    if not table:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = sorted(table)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, texts=np.array(texts), vectors=np.stack([table[t] for t in texts]).astype(np.float32))
    os.replace(tmp, path)


def export_adapter(net, dim: int, path: Path) -> None:
    import torch

    net.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        tmp_path = Path(tmp) / path.name
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (torch.zeros(1, dim),), str(tmp_path), input_names=["embedding"],
                              output_names=["arkit", "dynamics"], opset_version=ONNX_OPSET, dynamo=False,
                              dynamic_axes={"embedding": {0: "batch"}, "arkit": {0: "batch"}, "dynamics": {0: "batch"}})
        os.replace(tmp_path, path)
