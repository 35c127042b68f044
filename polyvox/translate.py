"""Translation mode: what the user said, said again in another language (speech in → translated speech out).

    translate(llm, "I would like a table for two.", "en", "es")  # → "Me gustaría una mesa para dos."

The engine's translation mode is `Conversation(translate_to="es")` (`polyvox talk --translate-to es`, or a
Realtime session's `?translate_to=es` / `session.polyvox.translate_to`); `target_language()` validates the code.

The prompt is tuned for the small default LLM (Qwen2.5-Coder-0.5B): a system rule, one worked example
pair (source → target) when both languages have one, then the text. The model copies the example's
form: the translation only, no quotes, no notes.

Measured on 12 everyday sentences (3 each en→es, es→en, en→fr, en→de). A sentence counts as right
when the output is in the target language and has all its key content words:

    variant                                    right   key words   in target language
    oneshot, statement example (default) T=0.3  7/12     21/28          12/12
    oneshot, same, greedy (T=0)                 5/12     18/28          12/12
    oneshot, greeting+question example T=0.3    6/12     21/28          12/12  (greetings → the example)
    two-shot, "English: … / Spanish:" T=0.3     5/12     20/28          12/12
    instruction only (one user message) T=0.3   6/12     19/28          12/12
    system rule only (an earlier set)           2/8        -             7/8   (translated the rule itself)

The output language is nearly always right. The misses are vocabulary the 0.5B model lacks: words
left in English ("bed", "tomorrow"), wrong words ("abuela" → "aunt", "brother" → "père"). Every
prompt hits that limit; a larger LLM is the fix.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection
from typing import Any, Protocol

from polyvox.cascade.languages import NAMES, language_name


class ChatLLM(Protocol):
    def chat(self, messages: list[dict[str, Any]], max_tokens: int = 160, **kw: Any) -> str: ...


# One example sentence per language (the same meaning in each) for the one-shot prompt. A plain statement:
# with a greeting or a question as the example the model answered greetings/questions with the example.
EXAMPLES: dict[str, str] = {
    "en": "My neighbour repairs old bicycles in his garage every weekend.",
    "es": "Mi vecino repara bicicletas viejas en su garaje todos los fines de semana.",
    "fr": "Mon voisin répare de vieux vélos dans son garage tous les week-ends.",
    "de": "Mein Nachbar repariert jedes Wochenende alte Fahrräder in seiner Garage.",
    "it": "Il mio vicino ripara vecchie biciclette nel suo garage ogni fine settimana.",
    "pt": "O meu vizinho conserta bicicletas velhas na garagem todos os fins de semana.",
    "nl": "Mijn buurman repareert elk weekend oude fietsen in zijn garage.",
    "hi": "मेरा पड़ोसी हर सप्ताहांत अपने गैराज में पुरानी साइकिलें ठीक करता है।",
}


def target_language(code: object, speakable: Collection[str] | None = None) -> str:
    """A translation target as a lower-case ISO 639-1 code ("ES " -> "es"); ValueError naming the choices
    for anything else. speakable: the languages the engine can voice (default: every language polyvox names)."""
    choices = sorted(speakable) if speakable is not None else sorted(NAMES)
    value = code.strip().lower() if isinstance(code, str) else code
    if not isinstance(value, str) or value not in choices:
        shown = repr(code)[:40]
        raise ValueError(f"unknown translation language {shown}: use an ISO 639-1 code, one of {', '.join(choices)}")
    return value


def _system(source: str, target: str) -> str:
    src, tgt = language_name(source), language_name(target)
    return (
        f"You are a translator. Translate the user's {src} text into {tgt}. "
        f"Reply with the {tgt} translation only: no explanations, no quotes, no notes."
    )


def translation_messages(text: str, source_lang: str, target_lang: str, variant: str = "oneshot") -> list[dict]:
    """Chat messages asking the LLM to translate `text` from `source_lang` into `target_lang` (ISO 639-1).

    Variants (measured; "oneshot" is the default and the best on Qwen2.5-0.5B):
      - "oneshot": system rule + one example pair (source → target) + the text
      - "system": system rule + the text
      - "instruction": one user message "Translate from X to Y: …"
    """
    src, tgt = language_name(source_lang), language_name(target_lang)
    if variant == "instruction":
        return [{"role": "user", "content": f"Translate from {src} to {tgt}. Output only the translation.\n\n{text}"}]
    messages = [{"role": "system", "content": _system(source_lang, target_lang)}]
    if variant == "oneshot" and source_lang in EXAMPLES and target_lang in EXAMPLES and source_lang != target_lang:
        messages += [
            {"role": "user", "content": EXAMPLES[source_lang]},
            {"role": "assistant", "content": EXAMPLES[target_lang]},
        ]
    messages.append({"role": "user", "content": text})
    return messages


def clean_translation(reply: str) -> str:
    """Strip what small models add around a translation: quotes, 'Translation:' labels, trailing notes."""
    text = reply.strip()
    first, _, rest = text.partition("\n\n")  # a note after a blank line is not part of the translation
    text = first.strip() if first.strip() else rest.strip()
    for label in ("Translation:", "Traducción:", "Traduction :", "Traduction:", "Übersetzung:"):
        if text.lower().startswith(label.lower()):
            text = text[len(label) :].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”«»":
        text = text[1:-1].strip()
    if text[:1] in "“«" and text[-1:] in "”»":
        text = text[1:-1].strip()
    return text


def _greedy_kwargs(llm: ChatLLM) -> dict[str, Any]:
    """{"temperature": 0.0} when the LLM's chat accepts a per-call temperature (translation wants the most
    likely words, not variety); {} otherwise, and the LLM's own temperature applies."""
    try:
        params = inspect.signature(llm.chat).parameters
        if "temperature" not in params:
            params = inspect.signature(getattr(llm, "stream_chat", llm.chat)).parameters
    except (TypeError, ValueError):
        return {}
    return {"temperature": 0.0} if "temperature" in params else {}


def translate(llm: ChatLLM, text: str, source: str, target: str, max_tokens: int | None = None) -> str:
    """`text` in `target` language; returned unchanged when source and target are the same or it is empty."""
    if not text.strip() or source == target:
        return text
    budget = max_tokens or min(400, 24 + 3 * len(text.split()) + len(text) // 2)
    reply = llm.chat(translation_messages(text, source, target), max_tokens=budget, **_greedy_kwargs(llm))
    return clean_translation(reply)
