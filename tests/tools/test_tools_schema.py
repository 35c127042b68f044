"""Schemas from type hints and docstrings, and the validator for the subset they use."""

from __future__ import annotations

import enum
from typing import Literal, Optional

import pytest

from polyvox.tools.schema import SchemaError, coerce, function_schema, parse_docstring, validate


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


def paint(
    wall: str,
    coats: int,
    color: Color = Color.RED,
    finish: Literal["matte", "gloss"] = "matte",
    width_m: float = 2.5,
    primer: bool = False,
    rooms: list[str] | None = None,
    note: Optional[str] = None,  # noqa: UP045 - the old spelling must work too
) -> str:
    """Paint a wall.

    Longer text that still belongs to the description.

    Args:
        wall: which wall to paint,
            e.g. "north"
        coats: how many coats
        color: paint colour
        finish (str): surface finish
        width_m: wall width in metres
        primer: prime first
        rooms: other rooms

    Returns:
        a receipt
    """
    return "ok"


def test_schema_from_hints_and_docstring():
    schema = function_schema(paint)
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "paint"
    assert fn["description"] == "Paint a wall. Longer text that still belongs to the description."
    params = fn["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["wall", "coats"]
    p = params["properties"]
    assert p["wall"] == {"type": "string", "description": 'which wall to paint, e.g. "north"'}
    assert p["coats"] == {"type": "integer", "description": "how many coats"}
    assert p["color"] == {"type": "string", "enum": ["red", "green"], "description": "paint colour", "default": "red"}
    assert p["finish"] == {
        "type": "string", "enum": ["matte", "gloss"], "description": "surface finish", "default": "matte",
    }  # fmt: skip
    assert p["width_m"]["type"] == "number" and p["width_m"]["default"] == 2.5
    assert p["primer"] == {"type": "boolean", "description": "prime first", "default": False}
    assert p["rooms"] == {"type": "array", "items": {"type": "string"}, "description": "other rooms"}
    assert p["note"] == {"type": "string"}  # Optional, no docstring entry, default None → not required


def test_sphinx_docstring_and_overrides():
    def f(x: int, y: Literal[1, 2] = 1) -> int:
        """Add things.

        :param x: the first
        :param int y: the second
        :returns: the sum
        """
        return x + y

    desc, params = parse_docstring(f.__doc__)
    assert desc == "Add things." and params == {"x": "the first", "y": "the second"}
    schema = function_schema(f, name="adder", description="Adds.")
    assert schema["function"]["name"] == "adder" and schema["function"]["description"] == "Adds."
    assert schema["function"]["parameters"]["properties"]["y"] == {
        "type": "integer", "enum": [1, 2], "description": "the second", "default": 1,
    }  # fmt: skip


def test_unsupported_hints_are_refused():
    def no_hint(x):  # type: ignore[no-untyped-def]
        return x

    def mixed(x: Literal[1, "a"]) -> None: ...

    def obj(x: object) -> None: ...

    for fn in (no_hint, mixed, obj):
        with pytest.raises(SchemaError):
            function_schema(fn)


def test_validation_errors():
    params = function_schema(paint)["function"]["parameters"]
    assert validate({"wall": "n", "coats": 2}, params) == []
    assert validate({"wall": "n", "coats": 2.0}, params) == []  # a whole float is an integer in JSON
    errors = validate({"coats": "two", "color": "blue", "primer": 1, "rooms": ["a", 3]}, params)
    text = " | ".join(errors)
    assert "missing the required 'wall'" in text
    assert "coats must be integer" in text
    assert "color must be one of ['red', 'green']" in text
    assert "primer must be boolean" in text
    assert "rooms[1] must be string" in text
    assert validate({"wall": "n", "coats": True}, params)  # bool is not an integer
    assert validate([], params) == ["arguments must be object, got list []"]
    strict = {**params, "additionalProperties": False}
    assert "unexpected 'paint'" in validate({"wall": "n", "coats": 1, "paint": 1}, strict)[0]


def test_coerce_repairs_small_llm_mistakes():
    params = function_schema(paint)["function"]["parameters"]
    sent = {"wall": "n", "coats": "3", "width_m": "2,5", "primer": "yes", "color": "RED", "rooms": "hall"}
    fixed = coerce(sent, params)
    assert fixed == {"wall": "n", "coats": 3, "width_m": 2.5, "primer": True, "color": "red", "rooms": ["hall"]}
    assert validate(fixed, params) == []
    assert coerce({"coats": "1,000", "width_m": "-0.5"}, params) == {"coats": 1000, "width_m": -0.5}
    assert coerce({"coats": "many"}, params) == {"coats": "many"}  # left for the validator to report
