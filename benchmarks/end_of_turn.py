"""End-of-turn benchmark: does the turn end inside a mid-sentence pause (a cut-in), and how soon after the
last word does a finished turn end?

    python benchmarks/end_of_turn.py                       # renders once into out/end_of_turn (~5 min), then ~3 min
    python benchmarks/end_of_turn.py --languages en,es --out out/eot-test

Sentences: 8 per language (en, es, fr, de, hi), each written as two halves at a natural hesitation point
("I'd like to book a table for" | "four people on Friday evening."). Each is voiced by espeak-ng and by
Kokoro (two voice styles each, alternating), in two forms:
  paused    the halves rendered separately and joined with a pause of 0.4-1.2 s (spread evenly)
  complete  the whole sentence rendered at once
with 0.3 s of silence before and 1.5 s after. German is not in Kokoro's list of languages (its Whisper
round trip was weak); it is voiced anyway here, accented, as a second voice.

Every utterance is streamed in 20 ms chunks through Silero VAD (polyvox.cascade.vad.VadStream, 32 ms
windows, speech at p >= 0.5, silence again below 0.35) and polyvox.listen.endpoint.EndOfTurn, which
asks Smart Turn (polyvox.listen.smart_turn) on the turn's audio from 0.3 s before its first speech to
the current window. Smart Turn's answers are memoised per (utterance, window), so a sweep over many
policies costs one model call per distinct question; the time of the call that ends a turn is added to
its end time (the policy cannot answer before the model has).

  cut-in     a paused utterance whose turn ended before its last word (target <= 5 %)
  on time    a complete utterance whose turn ended <= 1 s after its last voiced 10 ms frame
             (within 40 dB of its loudest; target >= 95 %); an early end is not on time
Reported for server_vad (500 ms, the protocol default, and other silences) and semantic_vad (each
eagerness and a sweep of ask_after / threshold / cap / retry), overall and per language and voice.
Writes results.json, end_of_turn.png and summary.md to --out-docs (docs/bench_end_of_turn).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, resample
from polyvox.listen.endpoint import EAGERNESS, WINDOW, EndOfTurn, EndOfTurnConfig, SemanticTiming

# fmt: off
SENTENCES: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("I'd like to book a table for", "four people on Friday evening."),
        ("Can you tell me how to get to the", "train station from here?"),
        ("My brother and I are planning to", "visit Paris next summer."),
        ("Could you remind me to call my", "mother tomorrow morning?"),
        ("What's the weather going to be like in", "London this weekend?"),
        ("I need to buy some milk, eggs and", "a loaf of bread."),
        ("Please set an alarm for", "half past six tomorrow."),
        ("The meeting has been moved to", "Thursday afternoon at three."),
    ],
    "es": [
        ("Quisiera reservar una mesa para", "cuatro personas el viernes."),
        ("¿Me puedes decir cómo llegar a la", "estación de tren desde aquí?"),
        ("Mi hermano y yo queremos viajar a", "Italia el próximo verano."),
        ("Recuérdame que tengo que llamar a", "mi madre mañana por la mañana."),
        ("¿Qué tiempo va a hacer en", "Madrid este fin de semana?"),
        ("Necesito comprar leche, huevos y", "una barra de pan."),
        ("Pon una alarma para las", "seis y media de la mañana."),
        ("La reunión se ha cambiado al", "jueves por la tarde."),
    ],
    "fr": [
        ("Je voudrais réserver une table pour", "quatre personnes vendredi soir."),
        ("Pouvez-vous me dire comment aller à la", "gare depuis ici ?"),
        ("Mon frère et moi, nous voulons partir en", "Espagne l'été prochain."),
        ("Rappelle-moi d'appeler ma", "mère demain matin."),
        ("Quel temps va-t-il faire à", "Lyon ce week-end ?"),
        ("Je dois acheter du lait, des œufs et", "une baguette."),
        ("Mets un réveil pour", "six heures et demie demain."),
        ("La réunion a été déplacée à", "jeudi après-midi."),
    ],
    "de": [
        ("Ich möchte einen Tisch für", "vier Personen am Freitag reservieren."),
        ("Können Sie mir sagen, wie ich zum", "Bahnhof komme?"),
        ("Mein Bruder und ich wollen im Sommer nach", "Italien fahren."),
        ("Erinnere mich bitte daran, meine", "Mutter morgen früh anzurufen."),
        ("Wie wird das Wetter am Wochenende in", "Berlin?"),
        ("Ich muss noch Milch, Eier und", "ein Brot kaufen."),
        ("Stell bitte einen Wecker für", "halb sieben morgen früh."),
        ("Das Treffen wurde auf", "Donnerstagnachmittag verschoben."),
    ],
    "hi": [
        ("मैं शुक्रवार को", "चार लोगों के लिए एक टेबल बुक करना चाहता हूँ।"),
        ("क्या आप मुझे बता सकते हैं कि", "रेलवे स्टेशन कैसे जाऊँ?"),
        ("मेरा भाई और मैं अगली गर्मियों में", "गोवा जाने की सोच रहे हैं।"),
        ("मुझे याद दिलाना कि कल सुबह", "माँ को फ़ोन करना है।"),
        ("इस हफ़्ते के आख़िर में दिल्ली का", "मौसम कैसा रहेगा?"),
        ("मुझे दूध, अंडे और", "एक ब्रेड खरीदनी है।"),
        ("कल सुबह साढ़े छह बजे का", "अलार्म लगा दो।"),
        ("मीटिंग अब गुरुवार", "दोपहर तीन बजे होगी।"),
    ],
}
# fmt: on
VOICES = {"espeak": (None, "f3"), "kokoro": ("jf_nezumi", "jm_kumo")}  # alternating per sentence
LEAD_S, TAIL_S = 0.3, 1.5  # silence before the first and after the last word
PAUSE_S = (0.4, 1.2)  # the mid-sentence pause, spread evenly over the paused utterances
CHUNK = SAMPLE_RATE // 50  # 20 ms: what a Realtime client sends
VAD_ON, VAD_OFF = 0.5, 0.35  # speech starts at p >= 0.5, ends below 0.35 (silero's hysteresis)
PREFIX_S = 0.3  # audio before the first speech window that Smart Turn hears (protocol prefix_padding_ms)
ON_TIME_S = 1.0  # a complete turn must end this soon after its last word
FRAME = SAMPLE_RATE // 100  # 10 ms frames for the voiced-span measurement
VOICED_DB = 40.0  # a frame within this of the loudest frame is voiced


@dataclass(frozen=True)
class Utterance:
    """One streamed test item; times in seconds from the start of its audio."""

    id: str
    lang: str
    engine: str  # espeak | kokoro
    voice: str
    kind: str  # paused | complete
    text: str
    pause_s: float  # the inserted pause (0 for complete)
    pause_start_s: float  # last voiced frame of the first half (paused only)
    pause_end_s: float  # first voiced frame of the second half (paused only)
    last_voiced_s: float  # end of the last voiced frame


# -- audio ------------------------------------------------------------------------------------------


def voiced_span(x: np.ndarray) -> tuple[int, int]:
    """(first, end) sample of the 10 ms frames within VOICED_DB of the loudest frame."""
    n = len(x) // FRAME
    rms = np.sqrt(np.mean(x[: n * FRAME].reshape(n, FRAME).astype(np.float64) ** 2, axis=1)) + 1e-9
    db = 20 * np.log10(rms)
    on = np.flatnonzero(db >= db.max() - VOICED_DB)
    return int(on[0] * FRAME), int((on[-1] + 1) * FRAME)


class Renderer:
    """TTS into 16 kHz arrays, each cached as .npy under `cache` (keyed by engine, voice, language, text)."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.cache.mkdir(parents=True, exist_ok=True)
        self._engines: dict[str, object] = {}

    def engine(self, name: str):
        if name not in self._engines:
            if name == "espeak":
                from polyvox.cascade.tts import EspeakTTS

                self._engines[name] = EspeakTTS()
            else:
                from polyvox.cascade.tts import KOKORO_LANGUAGES, KokoroConfig, KokoroTTS

                self._engines[name] = KokoroTTS(KokoroConfig(languages=KOKORO_LANGUAGES | {"de"}))
        return self._engines[name]

    def __call__(self, engine: str, voice: str | None, lang: str, text: str) -> np.ndarray:
        key = hashlib.sha1(f"{engine}|{voice}|{lang}|{text}".encode()).hexdigest()[:16]
        path = self.cache / f"{key}.npy"
        if path.exists():
            return np.load(path)
        x = self.engine(engine).synthesize(text, lang, voice)  # (n,) 24 kHz, edges trimmed
        x = resample(x, OUTPUT_SAMPLE_RATE, SAMPLE_RATE).astype(np.float32)
        a, b = voiced_span(x)
        x = x[max(0, a - FRAME) : b + FRAME]  # 10 ms margin either side
        np.save(path, x)
        return x


def build(languages: Iterable[str], render: Renderer) -> list[tuple[Utterance, np.ndarray]]:
    """All utterances with their 16 kHz audio."""
    specs = [
        (lang, engine, i, pair) for lang in languages for engine in VOICES for i, pair in enumerate(SENTENCES[lang])
    ]
    pauses = np.linspace(*PAUSE_S, len(specs))
    np.random.default_rng(0).shuffle(pauses)
    lead, tail = np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32), np.zeros(int(TAIL_S * SAMPLE_RATE), np.float32)
    out = []
    for (lang, engine, i, (first, second)), pause in tqdm(list(zip(specs, pauses, strict=True)), desc="render"):
        voice = VOICES[engine][i % 2]
        name = f"{lang}-{engine}-{voice or 'm'}-{i}"
        whole = render(engine, voice, lang, f"{first} {second}")
        a, b = render(engine, voice, lang, first), render(engine, voice, lang, second)
        gap = np.zeros(round(pause * SAMPLE_RATE), np.float32)
        paused = np.concatenate([lead, a, gap, b, tail])
        t0 = len(lead) / SAMPLE_RATE
        a_end = voiced_span(a)[1] / SAMPLE_RATE
        b_start, b_end = (v / SAMPLE_RATE for v in voiced_span(b))
        b0 = t0 + len(a) / SAMPLE_RATE + pause
        u = Utterance(
            f"{name}-paused", lang, engine, voice or "default", "paused", f"{first} … {second}",
            round(float(pause), 3), t0 + a_end, b0 + b_start, b0 + b_end,
        )  # fmt: skip
        out.append((u, paused))
        w_end = voiced_span(whole)[1] / SAMPLE_RATE
        c = Utterance(f"{name}-complete", lang, engine, voice or "default", "complete", f"{first} {second}",
                      0.0, 0.0, 0.0, t0 + w_end)  # fmt: skip
        out.append((c, np.concatenate([lead, whole, tail])))
    return out


def speech_windows(vad, audio: np.ndarray) -> np.ndarray:
    """(n_windows,) bool: Silero fed in 20 ms chunks, with hysteresis (on at VAD_ON, off below VAD_OFF)."""
    stream = vad.stream()
    probs = np.concatenate([stream.feed(audio[i : i + CHUNK]) for i in range(0, len(audio), CHUNK)])
    speaking, out = False, np.zeros(len(probs), bool)
    for i, p in enumerate(probs):
        speaking = p >= VAD_ON if not speaking else p >= VAD_OFF
        out[i] = speaking
    return out


# -- the model, memoised ----------------------------------------------------------------------------


class Probe:
    """Smart Turn answers memoised per (utterance, audio length), kept in `path` between runs (the audio is
    cached too, so the same key is the same question); the ms of each call made in this run kept."""

    def __init__(self, model: Callable[[np.ndarray], float], path: Path | None = None) -> None:
        self.model = model
        self.path = path
        self.answers: dict[str, float] = json.loads(path.read_text()) if path and path.exists() else {}
        self.ms: list[float] = []  # timing of the calls made in this run

    def __call__(self, uid: str, audio: np.ndarray) -> float:
        key = f"{uid}:{len(audio)}"
        if key not in self.answers:
            t0 = time.perf_counter()
            self.answers[key] = float(self.model(audio))
            self.ms.append((time.perf_counter() - t0) * 1000)
        return self.answers[key]

    def save(self) -> None:
        if self.path:
            self.path.write_text(json.dumps(self.answers))


@dataclass(frozen=True)
class Outcome:
    """When the turn ended, on the audio timeline (+ the deciding model call), and why."""

    end_s: float | None  # None: not within the stream (TAIL_S after the last word)
    reason: str | None


class Words:
    """The streaming listener's transcript at a pause: polyvox's WhisperASR on the turn so far (no language pin,
    the benchmark's languages allowed), memoised per (utterance, audio length) in `path`; ms per call kept."""

    def __init__(self, languages: list[str], path: Path | None = None) -> None:
        from polyvox.cascade.asr import WhisperASR

        self.asr = WhisperASR()
        self.allowed = frozenset(languages)
        self.path = path
        self.answers: dict[str, list[str]] = json.loads(path.read_text()) if path and path.exists() else {}
        self.ms: list[float] = []

    def __call__(self, uid: str, audio: np.ndarray) -> tuple[str, str]:
        key = f"{uid}:{len(audio)}"
        if key not in self.answers:
            t0 = time.perf_counter()
            tr = self.asr.transcribe(audio, None, self.allowed)
            self.ms.append((time.perf_counter() - t0) * 1000)
            self.answers[key] = [tr.text, tr.language]
        text, lang = self.answers[key]
        return text, lang

    def save(self) -> None:
        if self.path:
            self.path.write_text(json.dumps(self.answers, ensure_ascii=False))


def run_policy(
    config: EndOfTurnConfig,
    u: Utterance,
    audio: np.ndarray,
    speech: np.ndarray,
    probe: Probe,
    decision_ms: float,
    words: Words | None = None,
    words_ms: float = 0.0,
) -> Outcome:
    """Stream one utterance's VAD windows through the policy; a model decision costs `decision_ms` (with the
    words: the longer of it and the transcript's `words_ms`, which run side by side in the listener)."""
    eot = EndOfTurn(config, (lambda a: probe(u.id, a)) if config.mode == "semantic_vad" else None)
    start = int(np.argmax(speech)) * WINDOW if speech.any() else 0
    start = max(0, start - int(PREFIX_S * SAMPLE_RATE))
    cost = max(decision_ms, words_ms) if words is not None else decision_ms
    for i, is_speech in enumerate(speech):
        end = (i + 1) * WINDOW
        said = (lambda end=end: words(u.id, audio[start:end])) if words is not None else None
        d = eot.update(bool(is_speech), lambda end=end: audio[start:end], said)
        if d.ended:
            extra = cost / 1000 if d.reason == "smart_turn_complete" else 0.0
            return Outcome(end / SAMPLE_RATE + extra, d.reason)
    return Outcome(None, None)


# -- scoring ----------------------------------------------------------------------------------------


def score(items: list[tuple[Utterance, Outcome]]) -> dict:
    """cut-in and on-time rates (%), median end delay after the last word (s) of complete turns."""
    paused = [(u, o) for u, o in items if u.kind == "paused"]
    complete = [(u, o) for u, o in items if u.kind == "complete"]
    cut = [o.end_s is not None and o.end_s < u.last_voiced_s for u, o in paused]
    delays = [(o.end_s - u.last_voiced_s) if o.end_s is not None else float("inf") for u, o in complete]
    on_time = [0 <= d <= ON_TIME_S for d in delays]
    finite = [d for d in delays if d != float("inf")]
    return {
        "n_paused": len(paused),
        "n_complete": len(complete),
        "cut_in_pct": round(100 * sum(cut) / max(1, len(cut)), 1),
        "on_time_pct": round(100 * sum(on_time) / max(1, len(on_time)), 1),
        "median_delay_s": round(statistics.median(delays), 3) if delays and len(finite) * 2 > len(delays) else None,
        "early_complete": sum(d < 0 for d in delays),
        "never_ended": sum(d == float("inf") for d in delays),
    }


WITH_WORDS = " + words"  # a config name ending so runs with the transcript check (listen.endpoint.unfinished)


def named_configs() -> dict[str, EndOfTurnConfig]:
    silences = (300, 500, 600, 700, 800, 1000)
    out = {f"server_vad {ms} ms": EndOfTurnConfig(mode="server_vad", silence_ms=ms) for ms in silences}
    for e in ("high", "medium", "low", "auto"):
        out[f"semantic_vad {e}"] = EndOfTurnConfig(mode="semantic_vad", eagerness=e)
    for e in ("high", "auto"):  # what polyvox's listener does: Smart Turn and the words at each pause
        out[f"semantic_vad {e}{WITH_WORDS}"] = EndOfTurnConfig(mode="semantic_vad", eagerness=e)
    return out


def words_sweep_configs() -> dict[str, EndOfTurnConfig]:
    out = {}
    for thr, cap, wait in itertools.product((0.3, 0.5, 0.8, 0.95), (700, 900), (1500, 2000, 2500)):
        t = SemanticTiming(ask_after_ms=200, threshold=thr, max_wait_ms=cap, retry_ms=None, unfinished_wait_ms=wait)
        out[f"thr {thr} cap {cap} unfinished {wait}{WITH_WORDS}"] = EndOfTurnConfig(mode="semantic_vad", timing=t)
    return out


def sweep_configs() -> dict[str, EndOfTurnConfig]:
    out = {}
    for ask, thr, cap, retry in itertools.product(
        (200, 300), (0.5, 0.7, 0.85, 0.9, 0.95, 0.98), (600, 700, 800, 900, 1000, 1100, 1300, 2000), (None, 500)
    ):
        t = SemanticTiming(ask_after_ms=ask, threshold=thr, max_wait_ms=cap, retry_ms=retry)
        out[f"ask {ask} thr {thr} cap {cap} retry {retry}"] = EndOfTurnConfig(mode="semantic_vad", timing=t)
    return out


def first_ask_probability(u: Utterance, audio: np.ndarray, speech: np.ndarray, probe: Probe) -> float | None:
    """Smart Turn's answer 200 ms into the pause that matters: mid-sentence (paused) or after the end."""
    t = u.pause_start_s if u.kind == "paused" else u.last_voiced_s
    i = int(np.ceil((t + 0.2) * SAMPLE_RATE / WINDOW))
    if i * WINDOW > len(audio) or not speech.any():
        return None
    start = max(0, int(np.argmax(speech)) * WINDOW - int(PREFIX_S * SAMPLE_RATE))
    return probe(u.id, audio[start : i * WINDOW])


# How each eagerness is picked from the sweep: (least on-time %, what to minimise, most median delay s or None).
# medium's delay bound: the target is a reply <= 0.8 s after the last word, end-of-turn wait included.
CHOICE_RULES: dict[str, tuple[float, str, float | None]] = {
    "high": (95.0, "delay", None),  # answer fast, as long as complete turns are on time
    "medium": (95.0, "cut_in", 0.5),  # fewest cut-ins, on time, and quick (also auto)
    "low": (80.0, "cut_in", None),  # fewest cut-ins; complete turns may wait longer
}


def _delay(a: dict) -> float:
    return a["median_delay_s"] if a["median_delay_s"] is not None else 99.0


def choose(results: dict[str, dict], names: Iterable[str]) -> dict[str, str]:
    """eagerness -> the sweep config its rule picks (CHOICE_RULES)."""
    out = {}
    for eagerness, (min_on_time, first, max_delay) in CHOICE_RULES.items():
        ok = [
            n
            for n in names
            if results[n]["all"]["on_time_pct"] >= min_on_time
            and (max_delay is None or _delay(results[n]["all"]) <= max_delay)
        ]
        if not ok:
            continue

        def key(n: str, first: str = first) -> tuple[float, float]:
            a = results[n]["all"]
            return (_delay(a), a["cut_in_pct"]) if first == "delay" else (a["cut_in_pct"], _delay(a))

        out[eagerness] = min(ok, key=key)
    return out


def time_decisions(model, clips: list[np.ndarray], repeats: int = 3) -> float:
    """Median ms of one Smart Turn decision (features + model) over `clips`, after a warm-up."""
    model.complete_probability(clips[0])
    ms = []
    for clip in clips * repeats:
        t0 = time.perf_counter()
        model.complete_probability(clip)
        ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms)


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a complete-end answer > a mid-sentence answer): how well the model separates the two."""
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--languages", default=",".join(SENTENCES))
    ap.add_argument("--cache", type=Path, default=Path("out/end_of_turn"), help="rendered audio (.npy)")
    ap.add_argument("--out-docs", type=Path, default=Path("docs/bench_end_of_turn"))
    ap.add_argument("--threads", type=int, default=1, help="Smart Turn's onnxruntime intra-op threads")
    ap.add_argument("--no-sweep", action="store_true", help="only the named modes")
    args = ap.parse_args()

    from polyvox.cascade.vad import SileroVAD
    from polyvox.listen.smart_turn import SmartTurn

    langs = [x.strip() for x in args.languages.split(",") if x.strip()]
    items = build(langs, Renderer(args.cache / "audio"))
    vad = SileroVAD()
    speech = {u.id: speech_windows(vad, a) for u, a in tqdm(items, desc="vad")}
    model = SmartTurn.load(threads=args.threads)
    probe = Probe(model, args.cache / "smart_turn_answers.json")
    decision_ms = time_decisions(model, [a for _, a in items[:20]])

    first = {u.id: first_ask_probability(u, a, speech[u.id], probe) for u, a in tqdm(items, desc="first ask")}
    configs = named_configs() | words_sweep_configs() | ({} if args.no_sweep else sweep_configs())
    words = Words(langs, args.cache / "transcripts.json")
    words_ms = 0.0
    results: dict[str, dict] = {}
    outcomes: dict[str, dict[str, Outcome]] = {}
    for name, cfg in tqdm(configs.items(), desc="policies"):
        said = words if name.endswith(WITH_WORDS) else None
        oc = {u.id: run_policy(cfg, u, a, speech[u.id], probe, decision_ms, said, words_ms) for u, a in items}
        if said is not None and not words_ms and words.ms:  # timed on this run's first calls (or a default)
            words_ms = statistics.median(words.ms)
            oc = {u.id: run_policy(cfg, u, a, speech[u.id], probe, decision_ms, said, words_ms) for u, a in items}
        elif said is not None and not words_ms:
            words_ms = 350.0  # all transcripts came from the cache: Whisper base on ~2 s, 2 cores
        outcomes[name] = oc
        pairs = [(u, oc[u.id]) for u, _ in items]
        groups = {
            f"{lang} {engine}": [(u, o) for u, o in pairs if u.lang == lang and u.engine == engine]
            for lang in langs
            for engine in VOICES
        }
        results[name] = {
            "config": asdict(cfg) | {"semantic": asdict(cfg.semantic)},
            "all": score(pairs),
            "groups": {g: score(v) for g, v in groups.items()} if name in named_configs() else {},
        }

    probe.save()
    words.save()
    ms = probe.ms or [decision_ms]
    timing = {
        "calls": len(probe.ms),
        "decision_ms_used": round(decision_ms, 1),
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
        "threads": args.threads,
        "words_ms_used": round(words_ms, 1),
    }
    pos = [p for u, _ in items if u.kind == "complete" and (p := first[u.id]) is not None]
    neg = [p for u, _ in items if u.kind == "paused" and (p := first[u.id]) is not None]
    report = {
        "utterances": [asdict(u) | {"first_ask_p": first[u.id]} for u, _ in items],
        "outcomes": {n: {k: asdict(v) for k, v in oc.items()} for n, oc in outcomes.items() if n in named_configs()},
        "results": results,
        "smart_turn": timing | {"auc_first_ask": round(auc(pos, neg), 3)},
        "eagerness": {k: asdict(v) for k, v in EAGERNESS.items()},
    }
    args.out_docs.mkdir(parents=True, exist_ok=True)
    (args.out_docs / "results.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    plot(results, pos, neg, args.out_docs / "end_of_turn.png")
    (args.out_docs / "summary.md").write_text(summary(results, report["smart_turn"], langs, len(items)))
    print((args.out_docs / "summary.md").read_text())


def plot(results: dict[str, dict], pos: list[float], neg: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5))
    named = named_configs()
    for name, r in results.items():
        if name not in named:
            ax.scatter(r["all"]["cut_in_pct"], r["all"]["on_time_pct"], s=8, c="0.75")
    for name in named:
        r = results[name]["all"]
        ax.scatter(r["cut_in_pct"], r["on_time_pct"], s=40, label=name)
    ax.axvspan(0, 5, ymin=0.95, color="tab:green", alpha=0.15, label="target")
    ax.set(xlabel="cut-ins inside the pause (%)", ylabel="complete turns ended ≤ 1 s after the last word (%)",
           xlim=(-2, 102), ylim=(-2, 102), title="end-of-turn policies (grey: semantic_vad sweep)")  # fmt: skip
    ax.legend(fontsize=7)
    bins = np.linspace(0, 1, 21)
    bx.hist(neg, bins, alpha=0.6, label="200 ms into the mid-sentence pause")
    bx.hist(pos, bins, alpha=0.6, label="200 ms after the last word")
    bx.set(xlabel="Smart Turn P(complete)", ylabel="utterances", title="Smart Turn v3.2 at the first ask")
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summary(results: dict[str, dict], timing: dict, langs: list[str], n: int) -> str:
    named = named_configs()
    lines = [
        "# End-of-turn benchmark",
        "",
        f"`python benchmarks/end_of_turn.py` — {n} utterances ({n // 2} with a 0.4–1.2 s pause inside the "
        f"sentence, {n // 2} complete), {', '.join(langs)}, espeak-ng and Kokoro voices, streamed in 20 ms "
        "chunks through Silero VAD and polyvox.listen.endpoint. Targets: cut-ins ≤ 5 %, complete turns "
        "ended ≤ 1 s after the last word ≥ 95 %. Delay = end decision (+ the deciding Smart Turn call) "
        "minus the end of the last voiced frame.",
        "",
        f"Smart Turn v3.2: {timing['decision_ms_used']} ms per decision (features + model, median of 60 timed "
        f"decisions, {timing['threads']} onnxruntime thread, on the 2-core machine shared with other work; "
        "added to every end the model decides); separation of complete ends from mid-sentence pauses at the "
        f"first ask (AUC) {timing['auc_first_ask']}.",
        "",
        "| policy | cut-ins % | on time % | median delay s | complete turns ended early | not ended in 1.5 s |",
        "|---|---|---|---|---|---|",
    ]
    for name in named:
        r = results[name]["all"]
        lines.append(
            f"| {name} | {r['cut_in_pct']} | {r['on_time_pct']} | {r['median_delay_s']} | "
            f"{r['early_complete']} | {r['never_ended']} |"
        )
    sweep = {k: v for k, v in results.items() if k not in named}
    if sweep:
        picked = choose(results, sweep)
        lines += ["", "Picked from the sweep by CHOICE_RULES (least on-time %, then what is minimised):", ""]
        for e, n in picked.items():
            a = results[n]["all"]
            on_time, least, most = CHOICE_RULES[e]
            bound = f", median delay ≤ {most} s" if most else ""
            lines.append(
                f"- {e} (on time ≥ {on_time:.0f} %{bound}, least {least}): {n} → cut-ins {a['cut_in_pct']} %, "
                f"on time {a['on_time_pct']} %, median delay {a['median_delay_s']} s"
            )
        ok = sorted(sweep.items(), key=lambda kv: kv[1]["all"]["cut_in_pct"] - kv[1]["all"]["on_time_pct"])[:12]
        head = "| ask_after / threshold / cap / retry | cut-ins % | on time % | median delay s |"
        lines += ["", "Best of the semantic_vad sweep (cut-ins minus on-time):", "", head, "|---|---|---|---|"]
        for name, r in ok:
            a = r["all"]
            lines.append(f"| {name} | {a['cut_in_pct']} | {a['on_time_pct']} | {a['median_delay_s']} |")
    groups = list(results[next(iter(named))]["groups"])
    lines += ["", "Per language and voice (cut-ins % / on time %):", "",
              "| policy | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]  # fmt: skip
    for name in named:
        g = results[name]["groups"]
        cells = [f"{g[k]['cut_in_pct']:.0f} / {g[k]['on_time_pct']:.0f}" for k in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", READING]
    return "\n".join(lines) + "\n"


READING = """How to read it:
- No policy meets both targets on this set. Plain silence trades one for the other: 500 ms (the protocol
  default) cuts into 85 % of the pauses; 800 ms still 51 %, and answers 0.85 s after the last word; 1000 ms
  is past the 1 s mark. Smart Turn alone (semantic_vad auto) cuts into 55 %; with the words at the pause
  (" + words": Whisper on the turn so far, listen.endpoint.unfinished: "a table for", "para", "für" wait up to
  2 s) 38.8 %, with 96 % of complete turns on time. That is polyvox's default (the streaming listener does
  both at each pause). Its median delay (0.71 s) includes the transcript (~0.35 s), which the reply needs
  anyway.
- The words help where Whisper hears the first half right: English and Spanish voiced by Kokoro 12 %
  cut-ins, French 0 %; espeak-ng's robotic halves and Hindi (often written in Urdu script, or misheard)
  are where the cut-ins remain, so a stronger ear (the voices/languages issue) is the next lever.
- Smart Turn separates the two cases poorly here (AUC 0.64 at the first ask): the halves before the pause
  are rendered as utterances of their own, so the TTS gives them sentence-final intonation, which is what
  the model listens for; a person hesitating mid-sentence sounds different (level pitch, lengthening,
  "um": with "um" appended, espeak-ng halves scored 0.01-0.15 instead of ~0.95). Its makers report ~92 %
  on human speech. So the cut-in rates are a pessimistic bound for semantic_vad and exact for server_vad.
- The int8 model is jittery: a 1e-7 change of its input moves P(complete) by up to ±0.08, so thresholds
  are not fine-tuned below ~0.05."""


if __name__ == "__main__":
    main()
