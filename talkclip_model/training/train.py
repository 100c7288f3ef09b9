"""Train the style adapter + head on the generated corpus, score it on the held-out split, export
it to ONNX with a JSON description. torch is needed here only.

Architecture (TalkCLIP): frozen sentence encoder e (L2-normalised); adapter MLP; residual blend
s = 0.6 * adapter(e) + 0.4 * e; head s -> 52 ARKit activations + 11 dynamics (sigmoid, 0..1).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, INDEX
from talkclip_model.style import phrases
from talkclip_model.style.facs import (
    EMOTION_WORDS,
    PROTOTYPES,
    accepted_families,
    au_vector,
    denormalise_dynamics,
    family_of,
    judge_family,
    normalise_dynamics,
)
from talkclip_model.style.model import blend
from talkclip_model.style.training_paths import adapter_slug
from talkclip_model.training import corpus as corpus_mod
from talkclip_model.types import DYNAMICS

ADAPTER_RATIO = 0.6  # s = 0.6 * adapter(e) + 0.4 * e
HIDDEN = 256
N_TRAIN = 20000
N_HELDOUT = 2500
EPOCHS = 40
ENSEMBLE = 1  # adapters (different seeds) averaged in the exported graph; --ensemble 3 is steadier, 3x slower
ONNX_OPSET = 17
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


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


def encoder_texts(samples) -> list[str]:
    return [phrases.parse_prompt(s.text).encoder_text or "" for s in samples]


def targets(samples) -> tuple[np.ndarray, np.ndarray]:
    pairs = [corpus_mod.model_target(s) for s in samples]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


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


# --- evaluation -----------------------------------------------------------------------------

def _main_channels(arkit: np.ndarray, threshold: float = 0.3) -> list[int]:
    return [i for i, v in enumerate(arkit) if v >= threshold and i != INDEX["jawOpen"]]


def _final(samples, learned_a, learned_d):
    out = []
    for s, a, d in zip(samples, learned_a, learned_d):
        parsed = phrases.parse_prompt(s.text, phrases.HELDOUT_LEXICON)
        if not parsed.encoder_text:
            a = np.zeros_like(a)
            d = normalise_dynamics({})
        out.append(blend(parsed, a, d))
    return out


def _adverb_scale(text: str) -> float:
    return phrases.parse_prompt(text, phrases.HELDOUT_LEXICON).scale


def evaluate(samples, predict: Callable[[list[str]], tuple[np.ndarray, np.ndarray]]) -> dict:
    """Held-out scores: emotion agreement, action agreement, intensity monotonicity."""
    texts = encoder_texts(samples)
    la, ld = predict(texts)
    finals = _final(samples, la, ld)
    emo_ok = emo_n = act_ok = act_n = 0
    names = list(DYNAMICS)
    failures = []
    for s, (arkit, dyn) in zip(samples, finals):
        if s.kind in ("emotion", "situation", "neutral") and len(s.emotions) == 1 and not s.actions:
            proto, grade = s.emotions[0]
            fams = accepted_families(proto)
            if fams and grade * _adverb_scale(s.text) >= 0.45:
                emo_n += 1
                got = judge_family(arkit)
                if got in fams:
                    emo_ok += 1
                else:
                    failures.append(f"emotion: {s.text!r}: want {fams[0]}, got {got}")
        if s.actions or s.negated or s.kind == "negated_emotion":
            act_n += 1
            ok = True
            for name in s.actions:
                act = phrases.action(name)
                for ch in _main_channels(au_vector({}) + np.array([act.arkit.get(n, 0.0) for n in ARKIT_NAMES])):
                    ok &= arkit[ch] >= 0.25
                for k, v in act.dynamics.items():
                    default, lo, hi, _ = DYNAMICS[k]
                    want = normalise_dynamics({k: v})[names.index(k)]
                    base = normalise_dynamics({})[names.index(k)]
                    ok &= abs(dyn[names.index(k)] - want) <= 0.5 * abs(want - base) + 1e-6
            for name in s.negated:
                act = phrases.action(name)
                quiet = ([INDEX[n] for n in act.negation_quiets] if act.negation_quiets is not None
                         else _main_channels(np.array([act.arkit.get(n, 0.0) for n in ARKIT_NAMES])))
                for ch in quiet:
                    ok &= arkit[ch] <= 0.1
                for k in act.dynamics:
                    if k in ("nod", "shake", "gaze_aversion"):
                        ok &= denormalise_dynamics(dyn)[k] <= 0.1
            if s.kind == "negated_emotion":
                word = re.sub(r"^.*(?:not|isn't|never looks) ", "", s.text).replace(" at all", "").strip()
                fam = family_of(EMOTION_WORDS[word][0]) if word in EMOTION_WORDS else None
                ok &= fam is None or fam == "neutral" or judge_family(arkit) != fam
            act_ok += bool(ok)
            if not ok:
                failures.append(f"action: {s.text!r}")
    mono_ok, mono_n, mono_fail = monotonicity(predict)
    return {
        "emotion_accuracy": round(emo_ok / max(emo_n, 1), 4), "emotion_n": emo_n,
        "action_accuracy": round(act_ok / max(act_n, 1), 4), "action_n": act_n,
        "monotonicity": round(mono_ok / max(mono_n, 1), 4), "monotonicity_n": mono_n,
        "failures_sample": (failures + mono_fail)[:400],
    }


LADDER_ADVERBS = ("barely", "slightly", "", "very", "extremely")


def monotonicity(predict) -> tuple[int, int, list[str]]:
    """Pairs (weaker wording, stronger wording) whose emotion channels must grow."""
    pairs = []
    by_proto: dict[str, list[tuple[float, str]]] = {}
    for w, (p, g) in EMOTION_WORDS.items():
        if family_of(p) not in (None, "neutral") and " " not in w:
            by_proto.setdefault(p, []).append((g, w))
    for p, items in by_proto.items():
        items.sort()
        for (g1, w1), (g2, w2) in zip(items, items[1:]):
            # a held-out word is scored without the lexicon, so it is compared only with another held-out word
            if g2 - g1 >= 0.2 and (w1 in phrases.HELDOUT_LEXICON) == (w2 in phrases.HELDOUT_LEXICON):
                pairs.append((p, f"She is {w1}", f"She is {w2}"))
    for w in ("annoyed", "happy", "sad", "scared", "surprised", "disgusted", "angry", "nervous", "content", "worried"):
        p = EMOTION_WORDS[w][0]
        texts = [f"{a} {w}".strip() for a in LADDER_ADVERBS]
        pairs += [(p, a, b) for a, b in zip(texts, texts[1:])]
    pairs += [("angry", "slightly annoyed", "annoyed"), ("angry", "annoyed", "furious"), ("happy", "content", "happy"),
              ("happy", "happy", "ecstatic"), ("sad", "a bit down", "sad"), ("sad", "sad", "devastated")]
    all_texts = sorted({t for _, a, b in pairs for t in (a, b)})
    fake = [corpus_mod.Sample(t) for t in all_texts]
    la, ld = predict(encoder_texts(fake))
    strength = {}
    for s, (arkit, _) in zip(fake, _final(fake, la, ld)):
        strength[s.text] = arkit
    ok, fails = 0, []
    for p, a, b in pairs:
        ref = au_vector(PROTOTYPES[p][1])
        chans = [i for i, v in enumerate(ref) if v >= 0.1 and i != INDEX["jawOpen"]]
        sa, sb = float(strength[a][chans].sum()), float(strength[b][chans].sum())
        if sb > sa + 1e-3:
            ok += 1
        else:
            fails.append(f"intensity: {a!r} {sa:.3f} !< {b!r} {sb:.3f}")
    return ok, len(pairs), fails


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

    from talkclip_model.style.encoders import cache_dir, load_encoder, sha256_of

    torch.set_num_threads(threads)
    t0 = time.time()
    encoder = load_encoder(encoder_spec)
    progress(f"encoder {encoder.id} (dim {encoder.dim})")
    # Sentences, plus every training word and idiom alone twice (a bare "walking on air" is a prompt too).
    train = corpus_mod.generate(n_train, seed=seed, split="train") + corpus_mod.bare_vocabulary("train") * 2
    held = corpus_mod.generate(n_heldout // 2, seed=seed, split="heldout")
    held_phrasing = corpus_mod.generate(n_heldout - n_heldout // 2, seed=seed, split="heldout_phrasing")
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

    def predict_torch(texts):
        emb = embed(encoder, texts, table=table)
        with torch.no_grad():
            a, d = net(torch.from_numpy(emb))
        return a.numpy(), d.numpy()

    scores = evaluate(held, predict_torch)
    scores_phrasing = evaluate(held_phrasing, predict_torch)
    _save_table(cache_file, table)
    for label, sc in (("unseen words/idioms", scores), ("unseen phrasings", scores_phrasing)):
        progress(f"held-out ({label}): emotion {sc['emotion_accuracy']:.1%} (n={sc['emotion_n']}), "
                 f"actions {sc['action_accuracy']:.1%} (n={sc['action_n']}), "
                 f"intensity order {sc['monotonicity']:.1%} (n={sc['monotonicity_n']})")

    out_dir = Path(out_dir) if out_dir else cache_dir() / "adapters"
    out_dir.mkdir(parents=True, exist_ok=True)
    slug = adapter_slug(encoder.id, encoder.hash)
    onnx_path = out_dir / f"{slug}.onnx"
    export_adapter(net, encoder.dim, onnx_path)
    meta = {
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
        "heldout": {k: v for k, v in scores.items() if k != "failures_sample"},
        "heldout_phrasing": {k: v for k, v in scores_phrasing.items() if k != "failures_sample"},
        "heldout_failures_sample": scores["failures_sample"][:10] + scores_phrasing["failures_sample"][:10],
        "train_seconds": round(time.time() - t0, 1),
    }
    json_path = onnx_path.with_suffix(".json")
    json_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    progress(f"wrote {onnx_path} and {json_path.name} ({time.time() - t0:.0f} s)")
    return meta


def _embedding_cache_file(encoder) -> Path:
    from talkclip_model.style.encoders import cache_dir

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
