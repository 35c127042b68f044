"""`polyvox tools …`: CLI wiring over the tool registry.

from polyvox.tools.commands import register
register(subparsers)   # adds `tools list [--json]` and `tools run NAME [JSON]`, both with --tools-module PATH
"""

from __future__ import annotations

import argparse
import json

from polyvox.errors import PolyvoxError


def _registry(args: argparse.Namespace):
    from polyvox.tools import default_registry, load_tools_module

    extra = [t for path in args.tools_module or [] for t in load_tools_module(path)]
    return default_registry(extra=extra)


def cmd_tools_list(args: argparse.Namespace) -> int:
    reg = _registry(args)
    if args.json:
        print(json.dumps(reg.schemas(), ensure_ascii=False, indent=2))
        return 0
    for t in reg:
        params = ", ".join(
            f"{name}{'' if name in t.parameters.get('required', []) else '?'}: {spec.get('type', 'any')}"
            for name, spec in t.parameters["properties"].items()
        )
        print(f"{t.name}({params})\n    {t.description}")
    return 0


def cmd_tools_run(args: argparse.Namespace) -> int:
    """Run one tool as the LLM would: polyvox tools run calculator '{"expression": "2**10"}'."""
    reg = _registry(args)
    if args.name not in reg:
        raise PolyvoxError(f"unknown tool '{args.name}'", f"available: {', '.join(reg.names())}")
    outcome = reg.run(args.name, args.arguments, timeout_s=args.timeout)
    print(outcome.output_json)
    return 0 if outcome.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `polyvox tools` to the CLI's subparsers."""
    tools = subparsers.add_parser("tools", help="the functions the assistant can call: list, run")
    tools.add_argument(
        "--tools-module", action="append", metavar="PATH", help="also load the @tool functions of this .py file"
    )
    tsub = tools.add_subparsers(dest="tools_command", metavar="ACTION", required=True)
    p = tsub.add_parser("list", help="list tools (--json: their OpenAI schemas)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tools_list)
    p = tsub.add_parser("run", help="run a tool with JSON arguments, as the LLM would")
    p.add_argument("name")
    p.add_argument("arguments", nargs="?", default="{}", help='JSON object, e.g. \'{"expression": "2**10"}\'')
    p.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    p.set_defaults(func=cmd_tools_run)
