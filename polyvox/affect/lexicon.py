"""The words side of emotion recognition: a small keyword lexicon per emotion and language.

Each entry is a word stem; a transcript token matches when it starts with the stem (after lower-casing
and stripping accents in Latin scripts), so "happ" covers happy/happiness and "triste" tristeza.
A hit right after a negation ("not happy", "pas content", "nicht froh", "नहीं") is not counted.
Question words ("what", "que", "was", "quoi", "cosa", "क्या") are not surprise keywords: every question has them.
Languages: en, es, fr, de, hi, it, pt. Other languages get punctuation cues only.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from polyvox.affect.labels import EMOTIONS, NEUTRAL

LEXICON_EMOTIONS = tuple(e for e in EMOTIONS if e != NEUTRAL)  # neutral has no keywords

# language -> emotion -> stems (accents stripped for Latin scripts, see _fold)
LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "joy": ("happ", "glad", "great", "wonderful", "amazing", "love", "fantastic", "awesome", "yay", "delight",
                "excellent", "fun", "celebrat", "enjoy"),
        "sadness": ("sad", "unhapp", "miss", "lonely", "cry", "crying", "depress", "lost", "died", "grief", "hurt",
                    "sorry", "heartbroken", "tired of"),
        "anger": ("angry", "furious", "mad", "annoy", "hate", "ridiculous", "unacceptable", "stupid", "sick of",
                  "outrag", "damn", "fed up", "enough"),
        "fear": ("afraid", "scared", "fright", "terrif", "worried", "worry", "nervous", "anxious", "panic", "danger",
                 "help"),
        "surprise": ("wow", "really", "unbelievable", "can't believe", "surpris", "no way", "whoa", "unexpected",
                     "suddenly"),
        "disgust": ("disgust", "gross", "yuck", "revolting", "nasty", "horrible", "awful", "sickening", "ew"),
        "trust": ("trust", "believe in", "rely", "count on", "honest", "safe", "sure", "thank", "agree", "confiden"),
        "anticipation": ("can't wait", "looking forward", "soon", "tomorrow", "excit", "hope", "plan", "next",
                         "going to", "waiting"),
    },
    "es": {
        "joy": ("feliz", "alegr", "content", "genial", "maravill", "fantastic", "encant", "increibl", "disfrut"),
        "sadness": ("triste", "tristeza", "llor", "solo", "sola", "extran", "deprim", "perdi", "muri", "dolor"),
        "anger": ("enfad", "enoj", "furios", "odio", "harto", "harta", "ridicul", "inaceptabl", "rabia", "basta"),
        "fear": ("miedo", "asust", "aterr", "preocup", "nervios", "panico", "peligro", "ayuda"),
        "surprise": ("increibl", "no puede ser", "en serio", "sorpres", "de verdad", "vaya", "guau"),
        "disgust": ("asco", "asquer", "repugn", "horribl", "que feo", "nausea"),
        "trust": ("confi", "segur", "gracias", "de acuerdo", "cuenta conmigo", "honest"),
        "anticipation": ("ojala", "pronto", "manana", "espero", "con ganas", "no veo la hora", "emocion", "plan"),
    },
    "fr": {
        "joy": ("heureu", "content", "joie", "genial", "formidable", "super", "ravi", "merveill", "adore"),
        "sadness": ("triste", "tristesse", "pleur", "seul", "manque", "deprim", "perdu", "mort", "chagrin"),
        "anger": ("colere", "furieu", "enerv", "deteste", "marre", "inadmissible", "ridicule", "insupportable"),
        "fear": ("peur", "effray", "terrifi", "inquiet", "angoiss", "panique", "danger", "au secours"),
        "surprise": ("incroyable", "vraiment", "surpr", "pas possible", "oh la la", "sans blague"),
        "disgust": ("degout", "degueu", "berk", "repugn", "ecoeur", "horrible", "immonde"),
        "trust": ("confian", "compte sur", "sur de", "merci", "d'accord", "honnete", "fiable"),
        "anticipation": ("hate", "bientot", "demain", "j'espere", "impatien", "prevu", "attend"),
    },
    "de": {
        "joy": ("glucklich", "froh", "freu", "toll", "wunderbar", "super", "herrlich", "klasse", "genial"),
        "sadness": ("traurig", "trauer", "wein", "einsam", "vermiss", "verlor", "gestorben", "schmerz", "leid"),
        "anger": ("wutend", "wut", "sauer", "arger", "hasse", "unverschamt", "lacherlich", "reicht", "satt"),
        "fear": ("angst", "furcht", "erschrock", "besorgt", "sorge", "nervos", "panik", "gefahr", "hilfe"),
        "surprise": ("wirklich", "unglaublich", "uberrasch", "echt", "wahnsinn", "nicht zu fassen"),
        "disgust": ("ekel", "eklig", "widerlich", "abstossend", "pfui", "igitt", "schrecklich"),
        "trust": ("vertrau", "verlass", "sicher", "danke", "einverstanden", "ehrlich", "zuverlassig"),
        "anticipation": ("kann es kaum erwarten", "bald", "morgen", "hoffe", "gespannt", "vorfreude", "geplant"),
    },
    "hi": {
        "joy": ("खुश", "खुशी", "आनंद", "बढ़िया", "शानदार", "मज़ा", "मजा", "अद्भुत", "प्यार"),
        "sadness": ("दुखी", "दुख", "उदास", "रो", "अकेला", "अकेली", "याद आ", "खो", "दर्द"),
        "anger": ("गुस्सा", "नाराज़", "नाराज", "क्रोध", "नफ़रत", "बकवास", "बस करो", "परेशान"),
        "fear": ("डर", "भय", "घबरा", "चिंता", "खतरा", "बचाओ", "मदद"),
        "surprise": ("सच में", "अरे", "वाह", "हैरान", "अविश्वसनीय"),
        "disgust": ("घिन", "छी", "गंदा", "गंदी", "घृणा", "बेकार"),
        "trust": ("भरोसा", "विश्वास", "धन्यवाद", "शुक्रिया", "ठीक है", "सुरक्षित", "यकीन"),
        "anticipation": ("इंतज़ार", "इंतजार", "जल्दी", "कल", "उम्मीद", "आशा", "योजना"),
    },
    "it": {
        "joy": ("felice", "content", "gioia", "fantastic", "meraviglios", "bellissim", "adoro"),
        "sadness": ("triste", "piang", "solo", "sola", "manca", "depress", "perso", "morto", "dolore"),
        "anger": ("arrabbiat", "furios", "odio", "basta", "ridicol", "inaccettabil", "rabbia"),
        "fear": ("paura", "spavent", "terrorizz", "preoccup", "ansia", "panico", "pericolo", "aiuto"),
        "surprise": ("incredibil", "davvero", "sorpres", "non ci credo"),
        "disgust": ("schifo", "disgust", "ripugnan", "orribil", "che schifo"),
        "trust": ("fiducia", "mi fido", "sicur", "grazie", "d'accordo", "onest"),
        "anticipation": ("non vedo l'ora", "presto", "domani", "spero", "speranza", "programm"),
    },
    "pt": {
        "joy": ("feliz", "alegr", "content", "otimo", "maravilh", "fantastic", "adoro", "incrivel"),
        "sadness": ("triste", "tristeza", "chor", "sozinh", "saudade", "deprimid", "perdi", "morreu", "dor"),
        "anger": ("raiva", "furios", "odeio", "irritad", "cansad de", "ridicul", "inaceitavel", "chega"),
        "fear": ("medo", "assust", "aterroriz", "preocupad", "nervos", "panico", "perigo", "socorro"),
        "surprise": ("serio", "nao acredito", "surpres", "uau", "nossa", "incrivel"),
        "disgust": ("nojo", "nojent", "repugnant", "horrivel", "que nojo"),
        "trust": ("confi", "pode contar", "segur", "obrigad", "de acordo", "honest"),
        "anticipation": ("mal posso esperar", "logo", "amanha", "espero", "ansios", "planej"),
    },
}  # fmt: skip

NEGATIONS = frozenset(
    {"not", "never", "no", "don't", "isn't", "wasn't", "nunca", "ne", "pas", "jamais", "nicht", "kein", "keine",
     "nie", "नहीं", "न", "mai", "non", "nao", "nem"}
)  # fmt: skip
N_LEXICAL = len(LEXICON_EMOTIONS) + 2  # one count per emotion, then "!" and "?"
# Counts are per this many words: one "really" in a short exclamation says more about the speaker's
# mood than one "what" in a minute-long question (read-aloud prompts hit several emotions' keywords).
SENTENCE_TOKENS = 12
_TOKEN = re.compile(r"[^\s.,;:!?¿¡\"“”«»()\[\]।॥…-]+")  # \w would split Devanagari at vowel signs


def _fold(text: str) -> str:
    """Lower-case; strip accents from Latin letters only (Devanagari vowel signs are combining marks too)."""
    out = []
    for ch in unicodedata.normalize("NFD", text.lower().replace("’", "'")):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).replace("ß", "ss")


def keyword_hits(transcript: str, language: str) -> dict[str, int]:
    """Emotion -> number of (non-negated) keyword matches in `transcript` for `language`."""
    lex = LEXICON.get(language.split("-")[0].lower(), {})
    tokens = _TOKEN.findall(_fold(transcript))
    hits = dict.fromkeys(LEXICON_EMOTIONS, 0)
    for emotion, stems in lex.items():
        found: set[int] = set()  # token positions, so "wütend" counts once although "wut" and "wutend" match
        for stem in stems:
            words = _fold(stem).split()
            for i in range(len(tokens) - len(words) + 1):
                head = tokens[i : i + len(words)]
                match = head[:-1] == words[:-1] and head[-1].startswith(words[-1])
                if match and not (i > 0 and tokens[i - 1] in NEGATIONS):
                    found.add(i)
        hits[emotion] = len(found)
    return hits


def lexical_vector(transcript: str, language: str) -> np.ndarray:
    """(N_LEXICAL,) float64: per-emotion keyword hits, then "!" and "?" counts, each capped at 2 and,
    in a transcript longer than SENTENCE_TOKENS words, scaled to a count per SENTENCE_TOKENS words."""
    hits = keyword_hits(transcript, language)
    bang = transcript.count("!") + transcript.count("！")
    question = transcript.count("?") + transcript.count("？") + transcript.count("¿")
    scale = min(1.0, SENTENCE_TOKENS / max(len(_TOKEN.findall(transcript)), 1))
    counts = [*(hits[e] for e in LEXICON_EMOTIONS), bang, question]
    return np.minimum(np.array(counts, dtype=np.float64) * scale, 2.0)
