"""Train the emotion recogniser on generated speech and write polyvox/affect/data/emotion_model.json.

    nice python scripts/train_emotion.py            # ~15 min on 2 cores (Kokoro rendering), then cached
    python scripts/train_emotion.py --plot docs/emotion_confusion.png --metrics docs/emotion_metrics.json

1. Render the corpus (polyvox/affect/corpus.py: espeak-ng + Kokoro, 9 emotions, 5 languages) and
   measure each utterance's ProsodyFeatures and lexical vector; the audio is kept in --cache.
2. Long turns: per (speaker, emotion) one passage of 3-6 of its utterances in a row (corpus.passages),
   trained on and tested with the short utterances.
3. Baselines: an utterance is compared with its speaker's mean over their other utterances (the
   running ProsodyBaseline at run time), or, for an unknown speaker, with the mean of the training
   voices most like theirs (VoicePrototypes, --voice-prototypes), except pitch level and loudness
   (UNKNOWN_SPEAKER_LEVELS: taken as the turn's own, since for a stranger they tell the voice and the
   microphone, not the emotion). Training uses every row both ways.
4. Pick the network (logistic regression or one hidden layer) and its weight decay by 4-fold
   cross-validation over training speakers, fit on all training speakers, and evaluate on the
   held-out voices and sentences. Needs torch (the `train` extra) and matplotlib for --plot.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from polyvox.affect.corpus import Passage, Rendition, join, passages, plan, render
from polyvox.affect.features import ProsodyFeatures
from polyvox.affect.labels import EMOTIONS, NEUTRAL
from polyvox.affect.lexicon import lexical_vector
from polyvox.affect.recognizer import (
    NEUTRAL_PRIOR,
    PROSODY_INPUTS,
    Network,
    NewSpeakerBaseline,
    VoicePrototypes,
    default_model_path,
    prosody_input,
    with_prior,
)
from polyvox.models import polyvox_home

if TYPE_CHECKING:
    from polyvox.cascade.tts import KokoroTTS

N_FOLDS = 4
UNKNOWN_SPEAKER_LEVELS = ("f0_mean_st", "loudness_dbfs")  # see step 3
CANDIDATES = [(0, 1e-3), (0, 1e-2), (32, 1e-3), (32, 1e-2)]  # (hidden units, weight decay)


def rendered(r: Rendition, audio_dir: Path, kokoro: KokoroTTS) -> np.ndarray:
    """The rendition's 16 kHz audio, rendered once and kept in `audio_dir` as int16 (an interrupted run resumes)."""
    path = audio_dir / (hashlib.sha256(json.dumps(asdict(r), sort_keys=True).encode()).hexdigest()[:20] + ".npy")
    if path.exists():
        return np.load(path).astype(np.float32) / 32767.0
    x = render(r, kokoro)
    np.save(path, np.round(x * 32767.0).astype(np.int16))
    return x


def corpus_features(
    rs: list[Rendition], ps: list[Passage], cache: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Render and measure every rendition, then every passage of them.

    Returns (prosody (n, n_features), lexical (n, N_LEXICAL)) of the renditions, then the same two of
    the passages (lexical: of their parts' texts joined).
    """
    from tqdm import tqdm

    from polyvox.cascade.tts import KokoroTTS

    kokoro = KokoroTTS()
    audio_dir = cache / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    audio = lambda i: rendered(rs[i], audio_dir, kokoro)  # noqa: E731
    prosody = [ProsodyFeatures.from_audio(audio(i)).vector() for i in tqdm(range(len(rs)), "utterances")]
    lexical = np.stack([lexical_vector(r.text, r.language) for r in rs])
    n_features, n_lexical = len(ProsodyFeatures.names()), lexical.shape[1]
    long = [ProsodyFeatures.from_audio(join([audio(i) for i in p.parts], p)).vector() for p in tqdm(ps, "passages")]
    long_lexical = [lexical_vector(" ".join(rs[i].text for i in p.parts), rs[p.parts[0]].language) for p in ps]
    return (np.stack(prosody), lexical, np.array(long).reshape(-1, n_features),
            np.array(long_lexical).reshape(-1, n_lexical))  # fmt: skip


def speaker_baselines(feats: np.ndarray, speakers: list[str], used: list[tuple[int, ...]]) -> np.ndarray:
    """(n_rows, n_features): per row, the mean over its speaker's utterances (`feats` rows) it does not use.

    used[k]: the utterances row k is made of (itself for an utterance, the parts for a passage).
    """
    out = []
    for parts in used:
        speaker = speakers[parts[0]]
        others = [j for j, s in enumerate(speakers) if s == speaker and j not in parts]
        out.append(feats[others].mean(axis=0))
    return np.stack(out)


def inputs(
    feats: np.ndarray, lexical: np.ndarray, bases: np.ndarray | None,
    new_speaker: NewSpeakerBaseline | None = None, own_prototype: list[int | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(prosody inputs, prosody+words inputs) per row, against `bases` (speaker baselines) or, when
    None, as an unknown speaker (`new_speaker`, leaving out the row's own voice: `own_prototype[row]`)."""
    rows = []
    for i, v in enumerate(feats):
        f = ProsodyFeatures.from_vector(v)
        if bases is not None:
            base = ProsodyFeatures.from_vector(bases[i])
        else:
            assert new_speaker is not None and own_prototype is not None
            base = new_speaker(f, exclude=own_prototype[i])
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


def predicted(net: Network, x: np.ndarray, trained: np.ndarray | None, neutral_prior: float | None) -> np.ndarray:
    """(n,) label indices for the rows of x, under a neutral prior (None: the corpus's, `trained`)."""
    return with_prior(net.probs(x), trained, neutral_prior).argmax(axis=1)


def accuracy(
    net: Network, x: np.ndarray, y: np.ndarray, trained: np.ndarray | None = None, neutral_prior: float | None = None
) -> float:
    """Share of rows labelled y, under `neutral_prior` (None: the corpus's; then `trained` is not needed)."""
    return float((predicted(net, x, trained, neutral_prior) == y).mean())


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


def neutral_check(folder: Path, new_speaker: NewSpeakerBaseline) -> tuple[np.ndarray, np.ndarray]:
    """The folder's *.wav files (English; NAME.txt beside one holds its transcript) as unknown speakers:
    (prosody inputs (n_files, n_prosody), prosody+words inputs (n_files, n_prosody + N_LEXICAL))."""
    import soundfile as sf

    files = sorted(folder.glob("*.wav"))
    if not files:
        raise SystemExit(f"--neutral-check: no .wav files in {folder}")
    rows, lexical = [], []
    for f in files:
        x, sr = sf.read(f, dtype="float32", always_2d=True)
        feats = ProsodyFeatures.from_audio(x.mean(axis=1), sr)
        rows.append(prosody_input(feats, new_speaker(feats)))
        text = f.with_suffix(".txt").read_text(encoding="utf-8") if f.with_suffix(".txt").exists() else ""
        lexical.append(lexical_vector(text, "en"))
    x = np.stack(rows)
    return x, np.concatenate([x, np.stack(lexical)], axis=1)


def confusion_of(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(n_classes, n_classes) counts: rows true, columns predicted."""
    m = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    for t, p in zip(y, predicted, strict=True):
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
    ap.add_argument("--passages", action=argparse.BooleanOptionalAction, default=True,
                    help="train and test on long turns too (corpus.passages)")  # fmt: skip
    ap.add_argument("--unknown-speaker-levels", nargs="*", default=list(UNKNOWN_SPEAKER_LEVELS),
                    choices=PROSODY_INPUTS, help="features an unknown speaker is not compared on")  # fmt: skip
    ap.add_argument("--neutral-check", type=Path, default=None,
                    help="a folder of neutral speech (*.wav, unseen): report the share heard as neutral")  # fmt: skip
    ap.add_argument("--voice-prototypes", type=int, default=5, metavar="K",
                    help="compare a new speaker with the K nearest training voices (0: population mean)")  # fmt: skip
    ap.add_argument("--neutral-prior", type=float, default=NEUTRAL_PRIOR,
                    help="the run-time neutral prior the *_at_prior metrics use")  # fmt: skip
    args = ap.parse_args(argv)

    rs = plan(args.seed)
    ps = passages(rs, args.seed + 1) if args.passages else []
    feats, lexical, long_feats, long_lexical = corpus_features(rs, ps, args.cache)
    speakers = [r.speaker for r in rs]
    heads = [rs[p.parts[0]] for p in ps]  # a passage's speaker, emotion and split are its parts'
    rows = rs + heads
    is_long = np.array([False] * len(rs) + [True] * len(ps))
    y = np.array([EMOTIONS.index(r.emotion) for r in rows])
    train = np.array([r.split == "train" for r in rows])
    test = ~train
    population = ProsodyFeatures.from_vector(feats[train[: len(rs)]].mean(axis=0))  # short utterances
    all_feats = np.concatenate([feats, long_feats]) if ps else feats
    all_lexical = np.concatenate([lexical, long_lexical]) if ps else lexical
    bases = speaker_baselines(feats, speakers, [(i,) for i in range(len(rs))] + [p.parts for p in ps])
    levels = tuple(args.unknown_speaker_levels)
    train_speakers = sorted({r.speaker for r in rs if r.split == "train"})
    speaker_means = np.stack([feats[[s == sp for s in speakers]].mean(axis=0) for sp in train_speakers])
    prototypes = VoicePrototypes(speaker_means, args.voice_prototypes) if args.voice_prototypes else None
    new_speaker = NewSpeakerBaseline(population, prototypes, levels)
    index = {sp: j for j, sp in enumerate(train_speakers)}
    own_prototype = [index.get(r.speaker) for r in rows]  # a training row is not compared with its own voice
    own = inputs(all_feats, all_lexical, bases)  # (prosody, full) with speaker baselines
    pop = inputs(all_feats, all_lexical, None, new_speaker, own_prototype)  # ... as unknown speakers
    check = neutral_check(args.neutral_check, new_speaker) if args.neutral_check else None

    groups = np.array([r.speaker for r in rows])[train]
    models, metrics = {}, {"n_train": int(train.sum()), "n_test": int(test.sum()), "chance": 1 / len(EMOTIONS)}
    matrices = {}
    neutral = y == EMOTIONS.index(NEUTRAL)
    short = ~is_long
    neutral_content = np.array([r.neutral_content for r in rows])
    kokoro = np.array([r.engine == "kokoro" for r in rows])
    label_prior = np.bincount(y[train], minlength=len(EMOTIONS)) / train.sum()  # the corpus's: 1/9 each
    for name, k in (("prosody", 0), ("prosody+words", 1)):
        x_tr = np.concatenate([own[k][train], pop[k][train]])
        y_tr, g_tr = np.concatenate([y[train], y[train]]), np.concatenate([groups, groups])
        hidden, wd, cv = select(x_tr, y_tr, g_tr)
        net = fit(x_tr, y_tr, hidden, wd)
        models[name] = net
        m: dict[str, object] = {"model": f"hidden={hidden},wd={wd}", "cv_train_speakers": cv}
        for suffix, np_ in (("", None), ("_at_prior", args.neutral_prior)):  # corpus prior, then the run-time one
            acc = lambda x, mask: accuracy(net, x[mask], y[mask], label_prior, np_)  # noqa: B023, E731
            m[f"test_speaker_baseline{suffix}"] = acc(own[k], test & short)
            m[f"test_no_baseline{suffix}"] = acc(pop[k], test & short)
            for sub, mask in (("neutral_sentences", neutral_content), ("emotional_sentences", ~neutral_content),
                              ("espeak", ~kokoro), ("kokoro", kokoro)):  # fmt: skip
                m[f"test_speaker_baseline_{sub}{suffix}"] = acc(own[k], test & short & mask)
            if ps:
                m[f"test_long_speaker_baseline{suffix}"] = acc(own[k], test & is_long)
                m[f"test_long_no_baseline{suffix}"] = acc(pop[k], test & is_long)
            # A new speaker's neutral turns heard as neutral (the rest get an emotional reply they did not ask
            # for), and their emotional turns heard as the acted emotion.
            m[f"test_no_baseline_neutral_recall{suffix}"] = acc(pop[k], test & neutral)
            m[f"test_no_baseline_emotion_recall{suffix}"] = acc(pop[k], test & ~neutral)
            if check is not None:
                hits = predicted(net, check[k], label_prior, np_) == EMOTIONS.index(NEUTRAL)
                m[f"neutral_check_recall{suffix}"] = float(hits.mean())
        metrics[name] = m
        known = predicted(net, own[k][test & short], None, None)
        matrices[f"{name}, speaker baseline"] = confusion_of(y[test & short], known)
        if name == "prosody+words":
            unknown = predicted(net, pop[k][test], label_prior, args.neutral_prior)
            matrices[f"{name}, new speaker, neutral prior {args.neutral_prior}"] = confusion_of(y[test], unknown)
        print(f"{name}: {json.dumps(m, indent=1)}")
    metrics["confusion_prosody+words"] = matrices["prosody+words, speaker baseline"].tolist()

    data = {
        "version": 2,
        "emotions": list(EMOTIONS),
        "prosody_inputs": list(PROSODY_INPUTS),
        "population_baseline": {k: round(v, 4) for k, v in asdict(population).items()},
        "unknown_speaker_levels": list(levels),
        "label_prior": [round(float(v), 6) for v in label_prior],
        **({"voice_prototypes": prototypes.to_json()} if prototypes else {}),
        "models": {name: net.to_json() for name, net in models.items()},
        "metrics": {name: {k: v for k, v in metrics[name].items() if k.startswith("test")} for name in models},
        "trained": {"seed": args.seed, "n_train": metrics["n_train"], "n_test": metrics["n_test"], "passages": len(ps)},
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
