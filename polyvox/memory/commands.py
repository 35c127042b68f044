"""`polyvox memory …`: CLI wiring over MemoryStore.

from polyvox.memory.commands import register
register(subparsers)   # adds `memory list|show|forget|export [--user ID] [--memory PATH]`
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def user_arg(value: str) -> str:
    """argparse type for --user: a valid user id, else a usage error (exit 2) saying what is wrong."""
    from polyvox.memory.store import check_user_id

    try:
        return check_user_id(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _store(args: argparse.Namespace):
    from polyvox.memory import MemoryStore

    return MemoryStore(args.memory)


def cmd_memory_list(args: argparse.Namespace) -> int:
    """Users, or one user's facts (--user)."""
    store = _store(args)
    if args.user is None:
        users = store.users()
        print(json.dumps(users) if args.json else "\n".join(users) or "(no users yet)")
        return 0
    facts = store.recall(args.user, limit=10_000)
    if args.json:
        print(json.dumps([f.as_dict() for f in facts], ensure_ascii=False, indent=2))
    else:
        for f in facts:
            print(f"{f.key:<12} {f.value}  (confidence {f.confidence:.2f})")
        if not facts:
            print(f"(nothing known about {args.user})")
    return 0


def cmd_memory_show(args: argparse.Namespace) -> int:
    """The system-prompt line and the recent conversation of a user."""
    store = _store(args)
    print(store.context_text(args.user) or f"(nothing known about {args.user})")
    for t in store.turns(args.user, limit=args.turns):
        print(f"[{t.session_id} #{t.turn}] {t.role}: {t.text}")
    return 0


def cmd_memory_forget(args: argparse.Namespace) -> int:
    n = _store(args).forget(args.user, args.key)
    what = f"'{args.key}' facts" if args.key else "all facts and turns"
    print(f"forgot {what} of {args.user} ({n} rows)", file=sys.stderr)
    return 0


def cmd_memory_export(args: argparse.Namespace) -> int:
    text = json.dumps(_store(args).export(args.user), ensure_ascii=False, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"exported {args.user} to {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `polyvox memory` to the CLI's subparsers."""
    mem = subparsers.add_parser("memory", help="what polyvox remembers about users: list, show, forget, export")
    mem.add_argument("--memory", metavar="PATH", help="memory database (default: $POLYVOX_HOME/memory.sqlite3)")
    msub = mem.add_subparsers(dest="memory_command", metavar="ACTION", required=True)

    p = msub.add_parser("list", help="list users, or a user's facts with --user")
    p.add_argument("--user", type=user_arg, help="user id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_memory_list)

    p = msub.add_parser("show", help="a user's system-prompt line and recent conversation")
    p.add_argument("--user", type=user_arg, required=True)
    p.add_argument("--turns", type=int, default=20, help="how many logged turns to show")
    p.set_defaults(func=cmd_memory_show)

    p = msub.add_parser("forget", help="delete a user's facts (one --key, or everything incl. the turn log)")
    p.add_argument("--user", type=user_arg, required=True)
    p.add_argument("--key", help="only this fact key (e.g. location)")
    p.set_defaults(func=cmd_memory_forget)

    p = msub.add_parser("export", help="everything stored about a user, as JSON")
    p.add_argument("--user", type=user_arg, required=True)
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_memory_export)
