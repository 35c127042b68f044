"""Python signatures → JSON schemas (OpenAI tools format), and a validator for the subset generated.

    def convert(value: float, unit: Literal["km", "mi"] = "km") -> dict:
        '''Convert a distance.

        Args:
            value: how many units
            unit: the unit of `value`
        '''

becomes {"type": "object", "properties": {"value": {"type": "number", "description": "how many units"},
"unit": {"type": "string", "enum": ["km", "mi"], "description": …}}, "required": ["value"]}.

Supported hints: int, float, str, bool, Literal[...], Enum subclasses, list[X], dict, X | None / Optional[X].
Docstring parameter descriptions: Google style (`Args:` block) and Sphinx style (`:param x: …`).
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

JSON_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


class SchemaError(TypeError):
    """A function cannot be described as a tool (an unsupported parameter type, *args, …)."""


def strip_optional(hint: Any) -> tuple[Any, bool]:
    """(X, True) for X | None / Optional[X]; (hint, False) otherwise."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(hint)):
            return args[0], True
    return hint, False


def hint_schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of one type hint."""
    hint, _ = strip_optional(hint)
    origin = typing.get_origin(hint)
    if origin is Literal:
        values = list(typing.get_args(hint))
        kinds = {type(v) for v in values}
        if len(kinds) != 1 or next(iter(kinds)) not in JSON_TYPES:
            raise SchemaError(f"Literal{values} must hold values of one JSON type")
        return {"type": JSON_TYPES[kinds.pop()], "enum": values}
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        kinds = {type(v) for v in values}
        if len(kinds) != 1 or next(iter(kinds)) not in JSON_TYPES:
            raise SchemaError(f"enum {hint.__name__} must have values of one JSON type")
        return {"type": JSON_TYPES[kinds.pop()], "enum": values}
    if hint is list or origin is list:
        args = typing.get_args(hint)
        return {"type": "array", "items": hint_schema(args[0])} if args else {"type": "array"}
    if hint is dict or origin is dict:
        return {"type": "object"}
    if hint in JSON_TYPES:
        return {"type": JSON_TYPES[hint]}
    raise SchemaError(f"unsupported parameter type {hint!r} (use int, float, str, bool, Literal, Enum, list, dict)")


_GOOGLE_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$")
_OTHER_SECTION = re.compile(r"^\s*(Returns?|Raises|Yields|Examples?|Notes?)\s*:\s*$")
_GOOGLE_PARAM = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[\w\[\], |]+\s+)?(\w+)\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {param: description}) from a Google- or Sphinx-style docstring.

    The description is the text before the first section; a parameter's description may continue on
    following lines that are indented deeper than its name.
    """
    summary: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None  # the parameter whose description is being read
    section = "summary"  # summary | args | other
    base_indent = -1  # indentation of the parameter names in an Args: block
    for line in inspect.cleandoc(doc or "").splitlines():
        indent = len(line) - len(line.lstrip())
        if _GOOGLE_SECTION.match(line):
            section, current, base_indent = "args", None, -1
        elif _OTHER_SECTION.match(line) or line.lstrip().startswith((":return", ":raises", ":rtype")):
            section, current = "other", None
        elif m := _SPHINX_PARAM.match(line):
            section, current = "args", m.group(1)
            params[current] = m.group(2).strip()
        elif (
            section == "args"
            and indent > 0
            and (base_indent < 0 or indent <= base_indent)
            and (m := _GOOGLE_PARAM.match(line))
        ):
            current, base_indent = m.group(1).lstrip("*"), indent
            params[current] = m.group(2).strip()
        elif current is not None and line.strip() and indent > max(base_indent, 0):
            params[current] = f"{params[current]} {line.strip()}".strip()
        elif section == "summary":
            summary.append(line)
        else:
            current = None
    return " ".join(" ".join(summary).split()), params


def function_schema(fn: Callable[..., Any], name: str | None = None, description: str | None = None) -> dict[str, Any]:
    """The OpenAI tool schema of `fn`: {"type": "function", "function": {name, description, parameters}}."""
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    doc_description, doc_params = parse_docstring(fn.__doc__)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue  # *args/**kwargs cannot be described; the tool gets only named arguments
        if pname not in hints:
            raise SchemaError(f"parameter '{pname}' of {fn.__name__} needs a type hint")
        prop = hint_schema(hints[pname])
        if doc_params.get(pname):
            prop["description"] = doc_params[pname]
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        elif param.default is not None and not callable(param.default):
            default = param.default.value if isinstance(param.default, enum.Enum) else param.default
            prop["default"] = default
        properties[pname] = prop
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return {
        "type": "function",
        "function": {
            "name": name or fn.__name__,
            "description": description or doc_description or fn.__name__.replace("_", " "),
            "parameters": parameters,
        },
    }


# -- validation -----------------------------------------------------------------------------------
def _is_type(value: Any, json_type: str) -> bool:
    if json_type in ("integer", "number") and isinstance(value, bool):
        return False  # bool is an int subclass in Python, not a number in JSON
    if json_type == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PY_TYPES.get(json_type, (object,)))


def validate(value: Any, schema: dict[str, Any], path: str = "arguments") -> list[str]:
    """Errors of `value` against `schema` (type, required, enum, items, properties); [] when valid."""
    errors: list[str] = []
    json_type = schema.get("type")
    if json_type is not None:
        allowed = json_type if isinstance(json_type, list) else [json_type]
        if not any(_is_type(value, t) for t in allowed):
            return [f"{path} must be {' or '.join(allowed)}, got {type(value).__name__} {value!r:.40}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path} must be one of {schema['enum']}, got {value!r:.40}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path} is missing the required '{key}'")
        for key, item in value.items():
            if key in props:
                errors += validate(item, props[key], f"{key}" if path == "arguments" else f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path} has an unexpected '{key}' (allowed: {', '.join(props)})")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += validate(item, schema["items"], f"{path}[{i}]")
    return errors


_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Repair what small LLMs get wrong before validating: numbers sent as strings ("17", "2,5", "1,000"),
    booleans as "yes", a whole-number float for an integer, an enum value in the wrong case, one item
    instead of a list. Anything else is returned unchanged, for `validate` to report."""
    json_type = schema.get("type")
    if isinstance(value, str) and json_type in ("integer", "number"):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", text):  # 1,000,000(.5): thousands separators
            text = text.replace(",", "")
        elif re.fullmatch(r"[-+]?\d+,\d+", text):  # 2,5: a decimal comma
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return value
        return int(number) if json_type == "integer" and number.is_integer() else number
    if isinstance(value, float) and json_type == "integer" and value.is_integer():
        return int(value)
    if isinstance(value, str) and json_type == "boolean" and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, str) and "enum" in schema and value not in schema["enum"]:
        folded = {str(v).lower(): v for v in schema["enum"]}
        return folded.get(value.strip().lower(), value)
    if json_type == "array" and value is not None and not isinstance(value, list):
        value = [value]
    if isinstance(value, list) and "items" in schema:
        return [coerce(v, schema["items"]) for v in value]
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        return {k: coerce(v, props[k]) if k in props else v for k, v in value.items()}
    return value
