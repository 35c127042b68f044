"""Which engine speaks each language intelligibly: a Whisper round trip per language and engine.

    python -m polyvox.cascade.tts.survey [LANG ...] > survey.md   (no LANG: all, plus the voice table)

Synthesizes one sentence per language with Kokoro (espeak-ng IPA in) and with espeak-ng, transcribes
both with faster-whisper base (language given) and prints the word error rate (WER) and character
error rate (CER, the fair one for unspaced scripts) as a Markdown table. Whisper base is itself weak
on many of these languages, so compare the two engines' errors, not the numbers with zero.
"""

from __future__ import annotations

import sys
import time
import unicodedata
from dataclasses import dataclass

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, resample
from polyvox.cascade.tts.espeak import EspeakTTS
from polyvox.cascade.tts.kokoro import VOICES, KokoroConfig, KokoroTTS
from polyvox.cascade.tts.languages import ESPEAK_VOICES

# lang -> (text to speak, reference to score against). Japanese goes in as kana (espeak-ng's ja
# voice cannot read kanji) and is scored against the usual kanji spelling Whisper writes.
SENTENCES: dict[str, tuple[str, str]] = {
    "en": ("The weather is nice today, and I would like to go for a walk in the park.", ""),
    "es": ("Hoy hace buen tiempo y me gustaría dar un paseo por el parque.", ""),
    "fr": ("Il fait beau aujourd'hui et je voudrais me promener dans le parc.", ""),
    "de": ("Das Wetter ist heute schön und ich möchte im Park spazieren gehen.", ""),
    "it": ("Oggi il tempo è bello e vorrei fare una passeggiata nel parco.", ""),
    "pt": ("O tempo está bom hoje e eu gostaria de passear no parque.", ""),
    "nl": ("Het weer is vandaag mooi en ik wil graag in het park wandelen.", ""),
    "pl": ("Dzisiaj jest ładna pogoda i chciałbym pójść na spacer do parku.", ""),
    "ru": ("Сегодня хорошая погода, и я хотел бы погулять в парке.", ""),
    "tr": ("Bugün hava çok güzel ve parkta yürüyüş yapmak istiyorum.", ""),
    "id": ("Cuaca hari ini bagus dan saya ingin berjalan-jalan di taman.", ""),
    "vi": ("Hôm nay thời tiết đẹp và tôi muốn đi dạo trong công viên.", ""),
    "ar": ("الطقس جميل اليوم وأود أن أتمشى في الحديقة.", ""),
    "hi": ("आज मौसम अच्छा है और मैं पार्क में टहलना चाहता हूँ।", ""),
    "bn": ("আজ আবহাওয়া ভালো এবং আমি পার্কে হাঁটতে যেতে চাই।", ""),
    "mr": ("आज हवामान छान आहे आणि मला बागेत फिरायला जायचे आहे.", ""),
    "gu": ("આજે હવામાન સરસ છે અને હું બગીચામાં ફરવા જવા માંગુ છું.", ""),
    "pa": ("ਅੱਜ ਮੌਸਮ ਵਧੀਆ ਹੈ ਅਤੇ ਮੈਂ ਪਾਰਕ ਵਿੱਚ ਸੈਰ ਕਰਨਾ ਚਾਹੁੰਦਾ ਹਾਂ।", ""),
    "or": ("ଆଜି ପାଗ ଭଲ ଅଛି ଏବଂ ମୁଁ ବଗିଚାରେ ବୁଲିବାକୁ ଚାହୁଁଛି।", ""),
    "ta": ("இன்று வானிலை நன்றாக இருக்கிறது, நான் பூங்காவில் நடக்க விரும்புகிறேன்.", ""),
    "te": ("ఈ రోజు వాతావరణం బాగుంది, నేను పార్కులో నడవాలనుకుంటున్నాను.", ""),
    "kn": ("ಇಂದು ಹವಾಮಾನ ಚೆನ್ನಾಗಿದೆ, ನಾನು ಉದ್ಯಾನದಲ್ಲಿ ನಡೆಯಲು ಬಯಸುತ್ತೇನೆ.", ""),
    "ml": ("ഇന്ന് കാലാവസ്ഥ നല്ലതാണ്, എനിക്ക് പാർക്കിൽ നടക്കാൻ ആഗ്രഹമുണ്ട്.", ""),
    "ja": (
        "きょうは いい てんき ですね。こうえんを さんぽしたいです。",
        "今日はいい天気ですね。公園を散歩したいです。",
    ),
    "zh": ("今天天气很好，我想去公园散步。", ""),
    "ko": ("오늘 날씨가 좋아서 공원에서 산책하고 싶어요.", ""),
}


# Whisper base often writes Indic speech in Latin letters (and Hindi in Urdu script), so these are
# also scored against a rough romanization (ASCII-folded) or the Urdu spelling; the best CER is kept.
ALTERNATES: dict[str, tuple[str, ...]] = {
    "hi": (
        "aaj mausam achchha hai aur main park mein tahalna chahta hoon",
        "آج موسم اچھا ہے اور میں پارک میں ٹہلنا چاہتا ہوں",
    ),
    "bn": ("aaj abohawa bhalo ebong ami parke hatte jete chai",),
    "mr": ("aaj havaman chhan aahe aani mala baget phirayla jayche aahe",),
    "gu": ("aaje havaman saras chhe ane hun bagichama farva java mangu chhun",),
    "pa": ("ajj mausam vadhia hai ate main park vich sair karna chahunda haan",),
    "ta": ("indru vaanilai nandraaga irukkiradhu naan poongavil nadakka virumbugiren",),
    "te": ("ee roju vaataavaranam baagundi nenu paarkulo nadavaalanukuntunnaanu",),
    "kn": ("indu havaamaana chennaagide naanu udyaanadalli nadeyalu bayasuttene",),
    "ml": ("innu kaalaavastha nallathaanu enikku paarkkil nadakkaan aagrahamundu",),
}
WHISPER_LACKS = frozenset({"or"})  # Odia: Whisper has no such language, so no round trip


def ascii_fold(s: str) -> str:
    """'Hôm nay' -> 'hom nay': lowercase, combining marks dropped."""
    return "".join(c for c in unicodedata.normalize("NFD", s.lower()) if not unicodedata.combining(c))


def normalize_text(s: str) -> str:
    """Lowercase, NFC, punctuation to spaces, single spaces."""
    s = unicodedata.normalize("NFC", s.lower())
    s = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in s)
    return " ".join(s.split())


def edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between token lists."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def error_rates(reference: str, hypothesis: str) -> tuple[float, float]:
    """(WER, CER) of hypothesis against reference after normalize_text; CER ignores spaces."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    wer = edit_distance(ref.split(), hyp.split()) / max(1, len(ref.split()))
    rc, hc = list(ref.replace(" ", "")), list(hyp.replace(" ", ""))
    return wer, edit_distance(rc, hc) / max(1, len(rc))


@dataclass(frozen=True)
class RoundTrip:
    """One engine's sentence through Whisper."""

    wer: float  # word error rate vs the reference
    cer: float  # character error rate vs the reference
    heard: str  # what Whisper wrote
    rtf: float  # synthesis seconds / audio seconds


def load_whisper():
    from faster_whisper import WhisperModel

    from polyvox.models import default_store

    path = str(default_store().path("whisper-base"))
    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(whisper, audio: np.ndarray, lang: str) -> str:
    """audio: (n,) float32 at 24 kHz -> Whisper's text with the language given."""
    x = resample(audio, OUTPUT_SAMPLE_RATE, SAMPLE_RATE)
    segments, _ = whisper.transcribe(x, language=lang, beam_size=5, condition_on_previous_text=False)
    return " ".join(s.text.strip() for s in segments)


def round_trip(whisper, engine, text: str, reference: str, lang: str, voice: str | None = None) -> RoundTrip:
    t0 = time.perf_counter()
    audio = engine.synthesize(text, lang, voice)
    rtf = (time.perf_counter() - t0) / max(len(audio) / OUTPUT_SAMPLE_RATE, 1e-3)
    if lang in WHISPER_LACKS:
        return RoundTrip(float("nan"), float("nan"), "(Whisper lacks this language)", rtf)
    heard = transcribe(whisper, audio, lang)
    wer, cer = error_rates(reference or text, heard)
    for alternate in ALTERNATES.get(lang, ()):
        wer_a, cer_a = error_rates(alternate, ascii_fold(heard) if alternate.isascii() else heard)
        if cer_a < cer:
            wer, cer = wer_a, cer_a
    return RoundTrip(wer, cer, heard, rtf)


def main(langs: list[str]) -> None:
    whisper = load_whisper()
    kokoro = KokoroTTS(KokoroConfig(languages=frozenset(ESPEAK_VOICES)))
    espeak = EspeakTTS()
    out = sys.stdout
    out.write("| lang | Kokoro WER | Kokoro CER | espeak WER | espeak CER | Kokoro heard | espeak heard |\n")
    out.write("|---|---|---|---|---|---|---|\n")
    for lang in langs or list(SENTENCES):
        text, ref = SENTENCES[lang]
        k = round_trip(whisper, kokoro, text, ref, lang)
        e = round_trip(whisper, espeak, text, ref, lang)
        scores = f"{k.wer:.2f} | {k.cer:.2f} | {e.wer:.2f} | {e.cer:.2f}"
        out.write(f"| {lang} | {scores} | {k.heard[:60]} | {e.heard[:60]} |\n")
        out.flush()
    if langs:
        return
    out.write("\n| voice | en WER | es WER | en CER | es CER |\n|---|---|---|---|---|\n")
    for voice in VOICES:
        en = round_trip(whisper, kokoro, *SENTENCES["en"], "en", voice)
        es = round_trip(whisper, kokoro, *SENTENCES["es"], "es", voice)
        out.write(f"| {voice} | {en.wer:.2f} | {es.wer:.2f} | {en.cer:.2f} | {es.cer:.2f} |\n")
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
