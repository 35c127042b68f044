"""Rule-based fact extraction in English, Spanish, French, German and Hindi; the LLM extractor's parser."""

from __future__ import annotations

import pytest

from polyvox.memory import extract_facts
from polyvox.memory.extract import parse_llm_facts


def facts_of(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in extract_facts(text):
        out.setdefault(f.key, []).append(f.value)
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, my name is Anna and I live in Berlin.", {"name": ["Anna"], "location": ["Berlin"]}),
        ("I'm from New York City and I don't like rain.", {"origin": ["New York City"], "dislikes": ["rain"]}),
        ("I am 34 years old and I work as a nurse. I love hiking. Please speak more slowly and answer in Spanish.",
         {"age": ["34"], "job": ["nurse"], "likes": ["hiking"], "pace": ["slow"], "language": ["es"]}),
        ("Hola, me llamo Ana y vivo en Madrid desde 2010. Me gusta el fútbol pero no me gusta el frío.",
         {"name": ["Ana"], "location": ["Madrid"], "likes": ["fútbol"], "dislikes": ["frío"]}),
        ("Tengo 40 años, soy de México. Háblame más despacio, por favor. Prefiero el inglés.",
         {"age": ["40"], "origin": ["México"], "pace": ["slow"], "language": ["en"]}),
        ("Bonjour, je m'appelle Marie, j'habite à Paris et j'aime la musique classique. Parlez-moi en français.",
         {"name": ["Marie"], "location": ["Paris"], "likes": ["musique classique"], "language": ["fr"]}),
        ("Je n’aime pas la pluie. Je viens d'Italie.", {"dislikes": ["pluie"], "origin": ["Italie"]}),
        ("Hallo, ich heiße Jonas, ich wohne in Frankfurt am Main und ich mag keinen Kaffee. Sprich bitte langsamer.",
         {"name": ["Jonas"], "location": ["Frankfurt am Main"], "dislikes": ["kaffee"], "pace": ["slow"]}),
        ("Mein Name ist Lena. Ich komme aus Österreich und ich liebe Bergsteigen.",
         {"name": ["Lena"], "origin": ["Österreich"], "likes": ["bergsteigen"]}),
        ("नमस्ते, मेरा नाम अनीता है। मैं दिल्ली में रहती हूँ। मुझे क्रिकेट पसंद है।",
         {"name": ["अनीता"], "location": ["दिल्ली"], "likes": ["क्रिकेट"]}),
        ("मुझे बारिश पसंद नहीं है। हिंदी में बात करो। धीरे बोलो।",
         {"dislikes": ["बारिश"], "language": ["hi"], "pace": ["slow"]}),
        ("my name is anna", {"name": ["Anna"]}),
        ("Call me Bob.", {"name": ["Bob"]}),
    ],
)  # fmt: skip
def test_extracts_common_facts(text: str, expected: dict[str, list[str]]):
    assert facts_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I would like a coffee, please.",  # a request, not a preference
        "Call me tomorrow.",
        "I prefer tea.",  # not a language
        "Me gustaría un café.",
        "J'aimerais un café.",
        "What is the weather in Paris?",
        "",
    ],
)
def test_no_false_facts(text: str):
    assert extract_facts(text) == []


def test_fact_metadata():
    (f,) = extract_facts("My name is Anna.", session_id="s1", turn=3)
    assert (f.key, f.value, f.session_id, f.turn, f.source) == ("name", "Anna", "s1", 3, "My name is Anna.")
    assert 0.8 <= f.confidence <= 1.0


def test_parse_llm_facts_keeps_only_what_was_said():
    source = "I grew up in Lyon, I'm a baker and I speak French at home."
    reply = (
        '```json\n[{"key": "origin", "value": "Lyon"}, {"key": "job", "value": "baker"}, '
        '{"key": "language", "value": "French"}, {"key": "name", "value": "Pierre"}, '
        '{"key": "password", "value": "x"}, "junk"]\n```'
    )
    facts = parse_llm_facts(reply, source)
    assert [(f.key, f.value) for f in facts] == [("origin", "Lyon"), ("job", "baker"), ("language", "fr")]
    assert all(f.confidence == 0.5 for f in facts)
    assert parse_llm_facts("I found no facts.", source) == []
    assert parse_llm_facts("[{broken", source) == []
