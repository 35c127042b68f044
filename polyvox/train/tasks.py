"""Dialogue content for the synthetic corpus: tasks with known answers, in several languages.

Every user turn comes from a task generator that also knows the right answer (a capital, a sum, a
function call, a translation), so the teacher's reply can be checked and the trained model scored.
A `Teacher` writes the assistant's reply: `TemplateTeacher` (fast, deterministic) or `LlmTeacher` (the
cascade's LLM, i.e. distillation; a reply that lacks the known answer falls back to the template).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from polyvox.affect.style import EMPATHY

TASKS = ("question", "arithmetic", "function_call", "translation", "support")
LANG_NAMES = {  # name of each language, in each language
    "en": {"en": "English", "es": "Spanish", "fr": "French", "de": "German"},
    "es": {"en": "inglés", "es": "español", "fr": "francés", "de": "alemán"},
    "fr": {"en": "anglais", "es": "espagnol", "fr": "français", "de": "allemand"},
    "de": {"en": "Englisch", "es": "Spanisch", "fr": "Französisch", "de": "Deutsch"},
}
LANGUAGES = tuple(LANG_NAMES)
# country names per language, capital (as said in that language)
COUNTRIES = [
    ({"en": "France", "es": "Francia", "fr": "la France", "de": "Frankreich"}, {"de": "Paris"}, "Paris"),
    ({"en": "Spain", "es": "España", "fr": "l'Espagne", "de": "Spanien"}, {}, "Madrid"),
    ({"en": "Germany", "es": "Alemania", "fr": "l'Allemagne", "de": "Deutschland"}, {}, "Berlin"),
    (
        {"en": "Italy", "es": "Italia", "fr": "l'Italie", "de": "Italien"},
        {"en": "Rome", "es": "Roma", "de": "Rom"},
        "Rome",
    ),
    (
        {"en": "Japan", "es": "Japón", "fr": "le Japon", "de": "Japan"},
        {"en": "Tokyo", "es": "Tokio", "de": "Tokio"},
        "Tokyo",
    ),
    (
        {"en": "Portugal", "es": "Portugal", "fr": "le Portugal", "de": "Portugal"},
        {"en": "Lisbon", "es": "Lisboa", "fr": "Lisbonne", "de": "Lissabon"},
        "Lisbon",
    ),
    (
        {"en": "Egypt", "es": "Egipto", "fr": "l'Égypte", "de": "Ägypten"},
        {"en": "Cairo", "es": "El Cairo", "fr": "Le Caire", "de": "Kairo"},
        "Cairo",
    ),
    ({"en": "Peru", "es": "Perú", "fr": "le Pérou", "de": "Peru"}, {}, "Lima"),
]
WORDS = [  # the same word in each language
    {"en": "water", "es": "agua", "fr": "eau", "de": "Wasser"},
    {"en": "bread", "es": "pan", "fr": "pain", "de": "Brot"},
    {"en": "house", "es": "casa", "fr": "maison", "de": "Haus"},
    {"en": "friend", "es": "amigo", "fr": "ami", "de": "Freund"},
    {"en": "book", "es": "libro", "fr": "livre", "de": "Buch"},
    {"en": "thank you", "es": "gracias", "fr": "merci", "de": "danke"},
]
T = {  # templates: key -> language -> (user, reply)
    "capital": {
        "en": ("What is the capital of {country}?", "The capital of {country} is {answer}."),
        "es": ("¿Cuál es la capital de {country}?", "La capital de {country} es {answer}."),
        "fr": ("Quelle est la capitale de {country} ?", "La capitale de {country} est {answer}."),
        "de": ("Was ist die Hauptstadt von {country}?", "Die Hauptstadt von {country} ist {answer}."),
    },
    "plus": {
        "en": ("What is {a} plus {b}?", "{a} plus {b} is {answer}."),
        "es": ("¿Cuánto es {a} más {b}?", "{a} más {b} es {answer}."),
        "fr": ("Combien font {a} plus {b} ?", "{a} plus {b} font {answer}."),
        "de": ("Was ist {a} plus {b}?", "{a} plus {b} ist {answer}."),
    },
    "times": {
        "en": ("What is {a} times {b}?", "{a} times {b} is {answer}."),
        "es": ("¿Cuánto es {a} por {b}?", "{a} por {b} es {answer}."),
        "fr": ("Combien font {a} fois {b} ?", "{a} fois {b} font {answer}."),
        "de": ("Was ist {a} mal {b}?", "{a} mal {b} ist {answer}."),
    },
    "timer": {
        "en": ("Set a timer for {answer} minutes.", "Okay, a timer for {answer} minutes."),
        "es": ("Pon un temporizador de {answer} minutos.", "Vale, un temporizador de {answer} minutos."),
        "fr": ("Mets un minuteur de {answer} minutes.", "D'accord, un minuteur de {answer} minutes."),
        "de": ("Stell einen Timer auf {answer} Minuten.", "Okay, ein Timer für {answer} Minuten."),
    },
    "translate": {
        "en": ("How do you say {word} in {target}?", "In {target}, {word} is {answer}."),
        "es": ("¿Cómo se dice {word} en {target}?", "En {target}, {word} se dice {answer}."),
        "fr": ("Comment dit-on {word} en {target} ?", "En {target}, {word} se dit {answer}."),
        "de": ("Wie sagt man {word} auf {target}?", "Auf {target} heißt {word} {answer}."),
    },
}
SUPPORT = {  # user emotion -> language -> (user, reply)
    "sadness": {
        "en": ("I feel really sad today.", "I'm sorry you feel sad. I'm here with you."),
        "es": ("Hoy me siento muy triste.", "Siento que estés triste. Estoy aquí contigo."),
        "fr": ("Je me sens vraiment triste aujourd'hui.", "Je suis désolé que tu sois triste. Je suis là."),
        "de": ("Ich bin heute sehr traurig.", "Das tut mir leid. Ich bin für dich da."),
    },
    "fear": {
        "en": ("I'm scared about my exam tomorrow.", "That sounds stressful. You prepared well, you can do it."),
        "es": ("Tengo miedo del examen de mañana.", "Es normal. Te has preparado bien, puedes hacerlo."),
        "fr": ("J'ai peur de mon examen demain.", "C'est normal. Tu t'es bien préparé, tu vas y arriver."),
        "de": ("Ich habe Angst vor der Prüfung morgen.", "Das ist normal. Du hast gut gelernt, du schaffst das."),
    },
    "anger": {
        "en": ("I'm so angry, my train was late again!", "That is frustrating. Take a deep breath."),
        "es": ("¡Estoy furioso, mi tren llegó tarde otra vez!", "Qué frustrante. Respira hondo."),
        "fr": ("Je suis furieux, mon train est encore en retard !", "C'est frustrant. Respire profondément."),
        "de": ("Ich bin so wütend, mein Zug war wieder zu spät!", "Das ist ärgerlich. Atme tief durch."),
    },
    "joy": {
        "en": ("I got the job!", "That's wonderful news, congratulations!"),
        "es": ("¡Conseguí el trabajo!", "¡Qué buena noticia, felicidades!"),
        "fr": ("J'ai eu le poste !", "C'est une excellente nouvelle, félicitations !"),
        "de": ("Ich habe den Job bekommen!", "Das sind tolle Neuigkeiten, herzlichen Glückwunsch!"),
    },
}
# emotion of the user -> emotion that fits the assistant's reply: the cascade's empathetic mapping
REPLY_EMOTION = EMPATHY
CASUAL_EMOTIONS = ("neutral", "neutral", "joy", "surprise", "anticipation", "anger", "sadness")


@dataclass(frozen=True)
class Exchange:
    """One user request with its known answer and the template reply."""

    task: str  # one of TASKS
    language: str  # ISO 639-1
    user_text: str
    user_emotion: str  # phonemes.EMOTIONS
    reply_text: str  # the template reply (the LLM teacher may rephrase it)
    reply_emotion: str
    answer: str  # the string a correct reply contains
    tool_call: dict[str, Any] | None = field(default=None)  # {"name", "arguments"} for function calls


def make_exchange(rng: random.Random, language: str) -> Exchange:
    """A random request in `language` (one of LANGUAGES) with its answer."""
    task = rng.choice(TASKS)
    emotion = rng.choice(CASUAL_EMOTIONS)
    call = None
    if task == "question":
        names, local, default = rng.choice(COUNTRIES)
        key, fields = "capital", {"country": names[language], "answer": local.get(language, default)}
    elif task == "arithmetic":
        key = rng.choice(("plus", "times"))
        a, b = rng.randint(2, 12 if key == "times" else 50), rng.randint(2, 12 if key == "times" else 50)
        fields = {"a": a, "b": b, "answer": a * b if key == "times" else a + b}
    elif task == "function_call":
        n = rng.choice((2, 3, 5, 10, 15, 20, 30))
        key, fields, call = "timer", {"answer": n}, {"name": "set_timer", "arguments": {"minutes": n}}
    elif task == "translation":
        word, target = rng.choice(WORDS), rng.choice([x for x in LANGUAGES if x != language])
        key = "translate"
        fields = {"word": word[language], "target": LANG_NAMES[language][target], "answer": word[target]}
    else:
        emotion = rng.choice(tuple(SUPPORT))
        user, reply = SUPPORT[emotion][language]
        return Exchange(task, language, user, emotion, reply, REPLY_EMOTION[emotion], "")
    user, reply = T[key][language]
    return Exchange(
        task,
        language,
        user.format(**fields),
        emotion,
        reply.format(**fields),
        REPLY_EMOTION[emotion],
        str(fields["answer"]),
        call,
    )


class Teacher(ABC):
    """Writes the assistant's reply to an exchange (given the earlier turns)."""

    name: str

    @abstractmethod
    def reply(self, ex: Exchange, history: list[dict[str, str]]) -> str: ...


class TemplateTeacher(Teacher):
    name = "template"

    def reply(self, ex: Exchange, history: list[dict[str, str]]) -> str:
        return ex.reply_text


class LlmTeacher(Teacher):
    """The cascade's LLM (polyvox.cascade.llm.LlamaLLM), greedy, checked against the known answer."""

    name = "llm"

    def __init__(self, max_words: int = 25) -> None:
        from polyvox.cascade.llm import LlamaLLM, LlmOptions

        self.llm = LlamaLLM(options=LlmOptions(temperature=0.0, seed=0))
        self.max_words = max_words
        self.accepted = self.rejected = 0

    def reply(self, ex: Exchange, history: list[dict[str, str]]) -> str:
        if not ex.answer:  # emotional support: the 0.5B teacher echoes or refuses too often; keep the template
            return ex.reply_text
        lang = LANG_NAMES["en"][ex.language]
        system = (
            f"You are a friendly voice assistant. Answer in {lang}, in one short spoken sentence "
            f"(at most {self.max_words} words), no lists, no markdown. The user sounds {ex.user_emotion}."
        )
        messages = [{"role": "system", "content": system}, *history, {"role": "user", "content": ex.user_text}]
        text = " ".join(self.llm.chat(messages, max_tokens=60).split())
        ok = text and len(text.split()) <= self.max_words and ex.answer.lower() in text.lower() and "{" not in text
        self.accepted, self.rejected = self.accepted + bool(ok), self.rejected + (not ok)
        return text if ok else ex.reply_text
