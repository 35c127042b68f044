"""Per-language round trip through the cascade: a spoken question in each language → reply → Whisper
transcribes the reply audio → character error rate against the reply text (intelligibility).

The question is voiced by espeak-ng and the language is pinned (`Turn.language`), so this measures
what each part can do in that language, not language ID (Whisper base mishears espeak-ng's Indic
voices). Writes JSON + a markdown table.

    python benchmarks/languages.py --out out/languages
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from polyvox.audio import load_audio, resample
from polyvox.cascade.tts.languages import ESPEAK_VOICES
from polyvox.engine import Turn
from polyvox.samples import espeak_wav
from polyvox.talk import create_engine

QUESTIONS = {
    "en": "What is the capital of France?",
    "es": "¿Cuál es la capital de Francia?",
    "fr": "Quelle est la capitale de la France?",
    "de": "Was ist die Hauptstadt von Frankreich?",
    "it": "Qual è la capitale della Francia?",
    "hi": "फ्रांस की राजधानी क्या है?",
    "ta": "பிரான்சின் தலைநகரம் எது?",
    "te": "ఫ్రాన్స్ రాజధాని ఏది?",
    "bn": "ফ্রান্সের রাজধানী কী?",
    "mr": "फ्रान्सची राजधानी कोणती आहे?",
    "gu": "ફ્રાન્સની રાજધાની શું છે?",
    "kn": "ಫ್ರಾನ್ಸ್‌ನ ರಾಜಧಾನಿ ಯಾವುದು?",
    "ml": "ഫ്രാൻസിന്റെ തലസ്ഥാനം ഏതാണ്?",
    "pa": "ਫਰਾਂਸ ਦੀ ਰਾਜਧਾਨੀ ਕੀ ਹੈ?",
    "or": "ଫ୍ରାନ୍ସର ରାଜଧାନୀ କଣ?",
}


def cer(ref: str, hyp: str) -> float:
    """Character error rate (Levenshtein over characters, spaces and punctuation removed)."""
    r = [c for c in ref.lower() if c.isalnum()]
    h = [c for c in hyp.lower() if c.isalnum()]
    if not r:
        return 0.0 if not h else 1.0
    prev = list(range(len(h) + 1))
    for i, rc in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hc in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc))
        prev = cur
    return min(prev[-1] / len(r), 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--languages", default=",".join(QUESTIONS))
    ap.add_argument("--out", default="out/languages")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    engine = create_engine("cascade")
    engine.warmup()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in args.languages.split(","):
            row = {"language": lang, "question": QUESTIONS[lang], "tts": engine.tts.engine_for(lang).__class__.__name__}
            try:
                wav = espeak_wav(QUESTIONS[lang], Path(tmp) / f"{lang}.wav", voice=ESPEAK_VOICES[lang], speed=140)
                result, audio = engine.run(Turn(audio=load_audio(wav).samples, language=lang))
                heard = engine.asr.transcribe(resample(audio, 24_000, 16_000), language=lang).text
                row.update(
                    transcript=result.user_transcript,
                    reply=result.reply_text,
                    reply_heard=heard,
                    reply_cer=round(cer(result.reply_text, heard), 3),
                    ttfa_ms=round(result.ttfa_ms),
                )
            except Exception as e:  # a language a part cannot handle is reported, not fatal
                row["error"] = f"{type(e).__name__}: {e}"
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    (out / "languages.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    lines = ["| lang | TTS | reply CER (Whisper round trip) | reply |", "|---|---|---|---|"]
    for r in rows:
        cell = r.get("error") or f"{r['reply_cer']:.2f}"
        lines.append(f"| {r['language']} | {r['tts']} | {cell} | {r.get('reply', '')[:60]} |")
    (out / "languages.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
