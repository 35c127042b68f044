"""The tool registry: Python functions the LLM can call, with their schemas, validation and a timeout.

    registry = ToolRegistry(builtin_tools())

    @registry.register(timeout_s=2)
    def lamp(on: bool, room: Literal["kitchen", "hall"] = "kitchen") -> str:
        '''Switch a lamp.

        Args:
            on: true to switch it on
            room: which lamp
        '''

    registry.schemas()                                   # → Turn(tools=...)
    registry.run("lamp", '{"on": true}', timeout_s=5)    # → ToolOutcome(output_json, error, ms)

`run` never raises for anything the model or the tool did wrong: unknown tools, bad JSON, invalid
arguments, exceptions and timeouts come back as `ToolOutcome.error`, with `output_json` set to
`{"error": "…"}` so the LLM can tell the user what went wrong.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import importlib.util
import inspect
import json
import logging
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyvox.engine import Message
from polyvox.errors import PolyvoxError
from polyvox.events import ToolCall, ToolResult
from polyvox.tools.schema import SchemaError, coerce, function_schema, strip_optional, validate

log = logging.getLogger("polyvox.tools")

DEFAULT_TIMEOUT_S = 5.0
MAX_OUTPUT_CHARS = 2000  # the LLM's context is small (2048 tokens): longer outputs are cut
MAX_STUCK_CALLS = 4  # timed-out calls of one tool still running in the background before it is refused
_MARK = "__polyvox_tool__"


class ToolError(PolyvoxError):
    """A tool cannot be registered or loaded (bad signature, duplicate name, broken module)."""


@dataclass(frozen=True)
class Tool:
    """A function the LLM may call."""

    name: str
    fn: Callable[..., Any] = field(repr=False)
    schema: dict[str, Any] = field(repr=False)  # {"type": "function", "function": {name, description, parameters}}
    timeout_s: float | None = None  # None: the registry's / the call's timeout

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        timeout_s: float | None = None,
    ) -> Tool:
        if isinstance(fn, Tool):
            return fn
        marked = getattr(fn, _MARK, None)
        if isinstance(marked, Tool) and name is None and description is None and timeout_s is None:
            return marked
        try:
            schema = function_schema(fn, name=name, description=description)
        except (SchemaError, NameError) as e:
            raise ToolError(f"cannot make a tool of {getattr(fn, '__name__', fn)!r}: {e}", "fix its type hints") from e
        return cls(schema["function"]["name"], fn, schema, timeout_s)

    @property
    def description(self) -> str:
        return self.schema["function"]["description"]

    @property
    def parameters(self) -> dict[str, Any]:
        return self.schema["function"]["parameters"]


@dataclass(frozen=True)
class ToolOutcome:
    """What running a tool gave: always a JSON string the LLM can read, plus the error if it failed."""

    output_json: str  # the tool's return value as JSON; {"error": "..."} when it failed
    error: str | None  # None on success
    ms: float  # wall time of the call, validation included

    @property
    def ok(self) -> bool:
        return self.error is None

    def event(self, call: ToolCall) -> ToolResult:
        """The ToolResult event that reports this outcome for `call`."""
        return ToolResult(call.call_id, call.name, self.output_json, self.error)

    def messages(self, call: ToolCall) -> list[Message]:
        """History items for the continued turn: the assistant's call and this result (see engine.Message)."""
        arguments = _as_object(call.arguments)
        call_json = json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)
        return [
            Message("assistant", call_json, tool_call_id=call.call_id),
            Message("tool", self.output_json, name=call.name, tool_call_id=call.call_id),
        ]


def _as_object(arguments: str | dict[str, Any]) -> Any:
    if isinstance(arguments, dict):
        return arguments
    try:
        return json.loads(arguments or "{}")
    except ValueError:
        return arguments


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
) -> Any:
    """Mark a function as a tool (`@tool` or `@tool(timeout_s=2)`); the function itself is unchanged.

    Marked functions in a module are what `load_tools_module` finds.
    """

    def mark(f: Callable[..., Any]) -> Callable[..., Any]:
        setattr(f, _MARK, Tool.from_function(f, name=name, description=description, timeout_s=timeout_s))
        return f

    return mark(fn) if fn is not None else mark


def _to_json(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        value = value.value
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_OUTPUT_CHARS:
        text = json.dumps({"result": text[:MAX_OUTPUT_CHARS], "truncated": True}, ensure_ascii=False)
    return text


class ToolRegistry:
    """Named tools; thread-safe to run from several sessions at once."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = (), default_timeout_s: float = DEFAULT_TIMEOUT_S):
        self.default_timeout_s = default_timeout_s
        self._tools: dict[str, Tool] = {}
        self._stuck: dict[str, int] = {}  # tool name → timed-out calls still running
        self._lock = threading.Lock()
        for t in tools:
            self.add(t)

    # -- registration -----------------------------------------------------------------------------
    def add(self, fn: Tool | Callable[..., Any], *, replace: bool = False, **options: Any) -> Tool:
        """Register a function (or a ready Tool); options: name, description, timeout_s."""
        t = Tool.from_function(fn, **options)
        if t.name in self._tools and not replace:
            raise ToolError(f"a tool named '{t.name}' is already registered", "rename it, or pass replace=True")
        self._tools[t.name] = t
        return t

    def register(self, fn: Callable[..., Any] | None = None, **options: Any) -> Any:
        """Decorator: `@registry.register` or `@registry.register(timeout_s=2, name="...")`."""

        def deco(f: Callable[..., Any]) -> Callable[..., Any]:
            self.add(f, **options)
            return f

        return deco(fn) if fn is not None else deco

    def remove(self, name: str) -> None:
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI tool schemas of every tool, for `Turn(tools=...)` / `LlamaLLM.stream_chat(tools=...)`."""
        return [t.schema for t in self._tools.values()]

    # -- running ----------------------------------------------------------------------------------
    def run(
        self, name: str, arguments_json: str | dict[str, Any] = "{}", timeout_s: float | None = None
    ) -> ToolOutcome:
        """Validate the arguments and call the tool in a worker thread, waiting at most `timeout_s`.

        A tool that times out keeps running in the background (Python threads cannot be killed); after
        MAX_STUCK_CALLS such calls the tool is refused until they finish.
        """
        t0 = time.perf_counter()

        def fail(error: str) -> ToolOutcome:
            log.warning("tool %s failed: %s", name, error)
            return ToolOutcome(json.dumps({"error": error}, ensure_ascii=False), error, _ms(t0))

        t = self._tools.get(name)
        if t is None:
            return fail(f"unknown tool '{name}' (available: {', '.join(self._tools) or 'none'})")
        try:
            kwargs = self._arguments(t, arguments_json)
        except ValueError as e:
            return fail(str(e))
        with self._lock:
            if self._stuck.get(name, 0) >= MAX_STUCK_CALLS:
                return fail(f"tool '{name}' is still busy with earlier calls that timed out; try again later")
        timeout = timeout_s if timeout_s is not None else t.timeout_s or self.default_timeout_s
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                value = t.fn(**kwargs)
                if inspect.isawaitable(value):
                    value = asyncio.run(_awaited(value))
                box["output"] = _to_json(value)
            except (Exception, SystemExit) as e:  # the tool's failure is reported, never raised
                box["error"] = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            finally:
                done.set()
                with self._lock:
                    if box.get("timed_out"):
                        self._stuck[name] -= 1

        threading.Thread(target=work, name=f"tool-{name}", daemon=True).start()
        if not done.wait(timeout):
            with self._lock:
                if not done.is_set():
                    box["timed_out"] = True
                    self._stuck[name] = self._stuck.get(name, 0) + 1
            if box.get("timed_out"):
                return fail(f"tool '{name}' timed out after {timeout:g} s")
        if "error" in box:
            return fail(box["error"])
        return ToolOutcome(box["output"], None, _ms(t0))

    def run_call(self, call: ToolCall, timeout_s: float | None = None) -> ToolOutcome:
        """`run` for a ToolCall event."""
        return self.run(call.name, call.arguments, timeout_s)

    def _arguments(self, t: Tool, arguments_json: str | dict[str, Any]) -> dict[str, Any]:
        """Parsed, repaired and validated keyword arguments for `t`; ValueError says what is wrong."""
        if isinstance(arguments_json, dict):
            args: Any = arguments_json
        else:
            try:
                args = json.loads(arguments_json) if arguments_json and arguments_json.strip() else {}
            except ValueError as e:
                raise ValueError(f"the arguments are not valid JSON ({e.msg}): {arguments_json[:80]}") from e
        if not isinstance(args, dict):
            raise ValueError(f"the arguments must be a JSON object, got {type(args).__name__}")
        schema = t.parameters
        args = coerce(args, schema)
        errors = validate(args, schema)
        if errors:
            raise ValueError("invalid arguments: " + "; ".join(errors))
        sig = inspect.signature(t.fn)
        if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            dropped = [k for k in args if k not in sig.parameters]
            if dropped:
                log.info("tool %s: ignoring unexpected arguments %s", t.name, dropped)
            args = {k: v for k, v in args.items() if k in sig.parameters}
        hints = typing.get_type_hints(t.fn)
        for key, value in args.items():  # JSON enum values → the Enum members the function expects
            hint, _ = strip_optional(hints.get(key))
            if inspect.isclass(hint) and issubclass(hint, enum.Enum) and value is not None:
                args[key] = hint(value)
        return args


async def _awaited(value: Any) -> Any:
    return await value


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def load_tools_module(path: str | Path) -> list[Tool]:
    """Import a user's Python file and return its tools.

    Tools are the functions marked with `@polyvox.tools.tool`; a module without marks may instead
    list functions (or Tools) in a `TOOLS` variable. Raises ToolError (one line, no traceback) for a
    missing file, an import failure or a module that defines no tools.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ToolError(f"tools module {path} does not exist", "pass the path of a .py file")
    module_name = f"polyvox_user_tools_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ToolError(f"cannot import {path} as a Python module", "pass a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except ToolError:
        sys.modules.pop(module_name, None)
        raise
    except BaseException as e:  # the user's code failed at import: one clear line, not a traceback
        sys.modules.pop(module_name, None)
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ToolError(f"importing tools module {path} failed: {type(e).__name__}: {e}", "fix the module") from e
    marked = [getattr(obj, _MARK) for obj in vars(module).values() if isinstance(getattr(obj, _MARK, None), Tool)]
    tools = list({t.name: t for t in marked}.values())  # a function imported under two names counts once
    if not tools:
        listed = getattr(module, "TOOLS", None) or []
        tools = [Tool.from_function(f) for f in listed]
    if not tools:
        raise ToolError(f"{path} defines no tools", "decorate functions with @polyvox.tools.tool or list them in TOOLS")
    return tools
