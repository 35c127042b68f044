"""Train the emotion recogniser on generated speech and write polyvox/affect/data/emotion_model.json.

    nice python scripts/train_emotion.py            # ~15 min on 2 cores (Kokoro rendering), then cached
    python scripts/train_emotion.py --plot docs/emotion_confusion.png --metrics docs/emotion_metrics.json

1. Render the corpus (polyvox/affect/corpus.py: espeak-ng + Kokoro, 9 emotions, 5 languages) and
   measure each utterance's ProsodyFeatures and lexical vector; the audio is kept in --cache.
2. Baselines: an utterance is compared with its speaker's mean over their other utterances (the
   running ProsodyBaseline at run time), or with the training population's mean (unknown speaker).
   Training uses every utterance both ways.
3. Pick the network (logistic regression or one hidden layer) and its weight decay by 4-fold
   cross-validation over training speakers, fit on all training speakers, and evaluate on the
   held-out voices and sentences. Needs torch (the `train` extra) and matplotlib for --plot.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from polyvox.affect.corpus import Rendition, plan, render
from polyvox.affect.features import ProsodyFeatures
from polyvox.affect.labels import EMOTIONS
from polyvox.affect.lexicon import lexical_vector
from polyvox.affect.recognizer import PROSODY_INPUTS, Network, default_model_path, prosody_input
from polyvox.models import polyvox_home

if TYPE_CHECKING:
    from polyvox.cascade.tts import KokoroTTS

N_FOLDS = 4
CANDIDATES = [(0, 1e-3), (0, 1e-2), (32, 1e-3), (32, 1e-2)]  # (hidden units, weight decay)


def rendered(r: Rendition, audio_dir: Path, kokoro: KokoroTTS) -> np.ndarray:
    """The rendition's 16 kHz audio, rendered once and kept in `audio_dir` as int16 (an interrupted run resumes)."""
    path = audio_dir / (hashlib.sha256(json.dumps(asdict(r), sort_keys=True).encode()).hexdigest()[:20] + ".npy")
    if path.exists():
        return np.load(path).astype(np.float32) / 32767.0
    x = render(r, kokoro)
    np.save(path, np.round(x * 32767.0).astype(np.int16))
    return x


def corpus_features(rs: list[Rendition], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Render and measure every rendition: (prosody (n, n_features), lexical (n, N_LEXICAL))."""
    from polyvox.cascade.tts import KokoroTTS

    kokoro = KokoroTTS()
    audio_dir = cache / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    prosody, t0 = [], time.perf_counter()
    for i, r in enumerate(rs):
        prosody.append(ProsodyFeatures.from_audio(rendered(r, audio_dir, kokoro)).vector())
        if i % 50 == 0:
            print(f"  measured {i}/{len(rs)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    lexical = np.stack([lexical_vector(r.text, r.language) for r in rs])
    return np.stack(prosody), lexical


def inputs(
    feats: np.ndarray, lexical: np.ndarray, speakers: list[str], population: ProsodyFeatures | None
) -> tuple[np.ndarray, np.ndarray]:
    """(prosody inputs, prosody+words inputs) per utterance; speaker baseline = mean of the speaker's others."""
    fs = [ProsodyFeatures.from_vector(v) for v in feats]
    rows = []
    for i, f in enumerate(fs):
        if population is not None:
            base = population
        else:
            others = [j for j, s in enumerate(speakers) if s == speakers[i] and j != i]
            base = ProsodyFeatures.from_vector(feats[others].mean(axis=0))
        rows.append(prosody_input(f, base))
    x = np.stack(rows)
    return x, np.concatenate([x, lexical], axis=1)


def fit(x: np.ndarray, y: np.ndarray, hidden: int, weight_decay: float, seed: int = 0) -> Network:
    """Full-batch Adam on cross-entropy; x standardised with the training mean/std."""
    import torch

    torch.manual_seed(seed)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    xt = torch.tensor((x - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y)
    dims = [x.shape[1], *([hidden] if hidden else []), len(EMOTIONS)]
    linears = [torch.nn.Linear(a, b) for a, b in itertools.pairwise(dims)]
    net = torch.nn.Sequential(*[m for lin in linears for m in (lin, torch.nn.ReLU())][:-1])
    opt = torch.optim.AdamW(net.parameters(), lr=0.02, weight_decay=weight_decay)
    for _ in range(600):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        opt.step()
    layers = tuple((lin.weight.detach().numpy().astype(np.float64), lin.bias.detach().numpy().astype(np.float64))
                   for lin in linears)  # fmt: skip
    return Network(mean, std, layers)


def accuracy(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    return float((net.probs(x).argmax(axis=1) == y).mean())


def select(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[int, float, dict[str, float]]:
    """Cross-validate CANDIDATES over speaker groups (each row's group); best (hidden, decay)."""
    uniq = np.unique(groups)
    fold_of = {g: i % N_FOLDS for i, g in enumerate(np.random.default_rng(0).permutation(uniq))}
    folds = np.array([fold_of[g] for g in groups])
    scores = {}
    for hidden, wd in CANDIDATES:
        accs = [accuracy(fit(x[folds != k], y[folds != k], hidden, wd), x[folds == k], y[folds == k])
                for k in range(N_FOLDS)]  # fmt: skip
        scores[f"hidden={hidden},wd={wd}"] = float(np.mean(accs))
    best = max(CANDIDATES, key=lambda c: scores[f"hidden={c[0]},wd={c[1]}"])
    return best[0], best[1], scores


def confusion(net: Network, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n_classes, n_classes) counts: rows true, columns predicted."""
    m = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    for t, p in zip(y, net.probs(x).argmax(axis=1), strict=True):
        m[t, p] += 1
    return m


def plot(matrices: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(6.2 * len(matrices), 5.6))
    for ax, (title, m) in zip(np.atleast_1d(axes), matrices.items(), strict=True):
        norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(EMOTIONS)):
            for j in range(len(EMOTIONS)):
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")  # fmt: skip
        ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
        ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        acc = np.trace(m) / m.sum()
        ax.set_title(f"{title}\naccuracy {acc:.1%} (n={m.sum()})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="corpus seed")
    ap.add_argument("--cache", type=Path, default=polyvox_home() / "affect", help="rendered corpus audio")
    ap.add_argument("--out", type=Path, default=default_model_path())
    ap.add_argument("--plot", type=Path, default=None, help="confusion matrix PNG")
    ap.add_argument("--metrics", type=Path, default=None, help="held-out metrics JSON")
    args = ap.parse_args(argv)

    rs = plan(args.seed)
    feats, lexical = corpus_features(rs, args.cache)
    y = np.array([EMOTIONS.index(r.emotion) for r in rs])
    speakers = [r.speaker for r in rs]
    train = np.array([r.split == "train" for r in rs])
    test = ~train
    population = ProsodyFeatures.from_vector(feats[train].mean(axis=0))
    own = inputs(feats, lexical, speakers, None)  # (prosody, full) with speaker baselines
    pop = inputs(feats, lexical, speakers, population)  # ... with the population baseline

    groups = np.array(speakers)[train]
    models, metrics = {}, {"n_train": int(train.sum()), "n_test": int(test.sum()), "chance": 1 / len(EMOTIONS)}
    matrices = {}
    for name, k in (("prosody", 0), ("prosody+words", 1)):
        x_tr = np.concatenate([own[k][train], pop[k][train]])
        y_tr, g_tr = np.concatenate([y[train], y[train]]), np.concatenate([groups, groups])
        hidden, wd, cv = select(x_tr, y_tr, g_tr)
        net = fit(x_tr, y_tr, hidden, wd)
        models[name] = net
        neutral_content = np.array([r.neutral_content for r in rs])
        kokoro = np.array([r.engine == "kokoro" for r in rs])
        m = {"model": f"hidden={hidden},wd={wd}", "cv_train_speakers": cv,
             "test_speaker_baseline": accuracy(net, own[k][test], y[test]),
             "test_no_baseline": accuracy(net, pop[k][test], y[test])}  # fmt: skip
        for sub, mask in (("neutral_sentences", neutral_content), ("emotional_sentences", ~neutral_content),
                          ("espeak", ~kokoro), ("kokoro", kokoro)):  # fmt: skip
            m[f"test_speaker_baseline_{sub}"] = accuracy(net, own[k][test & mask], y[test & mask])
        metrics[name] = m
        matrices[f"{name}, speaker baseline"] = confusion(net, own[k][test], y[test])
        print(f"{name}: {json.dumps(m, indent=1)}")
    metrics["confusion_prosody+words"] = matrices["prosody+words, speaker baseline"].tolist()

    data = {
        "version": 1,
        "emotions": list(EMOTIONS),
        "prosody_inputs": list(PROSODY_INPUTS),
        "population_baseline": {k: round(v, 4) for k, v in asdict(population).items()},
        "models": {name: net.to_json() for name, net in models.items()},
        "metrics": {name: {k: v for k, v in metrics[name].items() if k.startswith("test")} for name in models},
        "trained": {"seed": args.seed, "n_train": metrics["n_train"], "n_test": metrics["n_test"]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} kB)")
    if args.metrics:
        args.metrics.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    if args.plot:
        plot(matrices, args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
