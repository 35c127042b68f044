"""`polyvox bench`: CLI wiring over polyvox.bench.run_all (importable without the bench extra).

from polyvox.bench.commands import register
register(subparsers)   # adds `bench`, with set_defaults(func=run): run(args) -> exit code
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

DEFAULT_LIMIT = 2


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from polyvox.bench.benchmarks import NAMES

    p = subparsers.add_parser(
        "bench",
        help="run the end-to-end speech benchmarks against an engine or a Realtime endpoint",
        description="Speak each benchmark's prompts to the system under test, transcribe and score its spoken "
        "replies, and write DIR/report.md, DIR/report.json, DIR/plots/ and every case's audio. "
        f"Benchmarks: {', '.join(NAMES)}.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help=f"benchmark(s) to run, or 'all' ({', '.join(NAMES)})")
    p.add_argument(
        "--compare", nargs="+", type=Path, metavar="RUN_DIR",
        help="instead of running: put finished runs side by side in OUT/compare.md + compare.png",
    )  # fmt: skip
    who = p.add_mutually_exclusive_group()
    who.add_argument("--engine", choices=("cascade", "unified"), default="cascade", help="in-process engine (default)")
    who.add_argument("--url", help="a Realtime endpoint instead, e.g. ws://127.0.0.1:8000/v1/realtime")
    p.add_argument("--api-key", default=None, help="bearer key for --url (default: $POLYVOX_API_KEY)")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--limit",
        type=int,
        default=None,
        help=f"quick run: N cases per benchmark, round-robin over its groups (default {DEFAULT_LIMIT})",
    )
    size.add_argument("--full", action="store_true", help="every case (hours on 2 cores)")
    p.add_argument("--languages", nargs="+", default=None, help="multilingual: only these ISO 639-1 codes")
    p.add_argument(
        "--groups", nargs="+", default=None, metavar="GROUP",
        help="only the cases of these groups, e.g. bfcl: simple complex multi_step; emotion: joy fear ...",
    )  # fmt: skip
    p.add_argument("--out", required=True, type=Path, help="output folder (DIR)")
    p.add_argument("--resume", action="store_true", help="keep the finished cases in DIR and run the rest")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run no case: summarise the cases recorded in DIR (a stopped run too) and rewrite the report",
    )
    p.add_argument(
        "--bigbench",
        type=Path,
        default=None,
        help="BIG-bench data for hhh/ethics: bigbench-1.0.0.tar.gz or a checkout (else stand-in items)",
    )
    p.add_argument("--judge", action="store_true", help="also score open answers with the local LLM judge")
    p.add_argument(
        "--turns",
        choices=("server_vad", "semantic_vad", "whole"),
        default="semantic_vad",
        help="latency: stream each turn in real time, ended by the system's semantic_vad (default) or "
        "server_vad, or submit each finished turn whole",
    )
    p.add_argument("--minutes", type=float, default=None, help="latency: minutes of conversation per session")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def names_of(args_names: list[str]) -> list[str]:
    from polyvox.bench.benchmarks import NAMES
    from polyvox.errors import PolyvoxError

    if "all" in args_names:
        return list(NAMES)
    unknown = [n for n in args_names if n not in NAMES]
    if unknown:
        raise PolyvoxError(f"unknown benchmark(s): {', '.join(unknown)}", f"choose from: all, {', '.join(NAMES)}")
    return list(dict.fromkeys(args_names))


def run(args: argparse.Namespace) -> int:
    """`polyvox bench` handler: 0 when at least one benchmark produced a score, else 1."""
    from polyvox.errors import PolyvoxError

    if args.compare:
        if args.names:
            raise PolyvoxError("--compare takes finished run folders, not benchmark names", "drop the names")
        from polyvox.bench.compare import compare

        print(f"comparison: {compare(args.compare, args.out)}")
        return 0
    if not args.names:
        raise PolyvoxError("no benchmark named", "give one or more names, or 'all'")
    from polyvox.bench import BenchOptions, run_all

    names = names_of(args.names)
    limit = None if args.full else (args.limit if args.limit is not None else DEFAULT_LIMIT)
    options = BenchOptions(
        out=args.out,
        limit=limit,
        languages=tuple(args.languages) if args.languages else None,
        groups=tuple(args.groups) if args.groups else None,
        resume=args.resume,
        report_only=args.report_only,
        data={"bigbench": args.bigbench} if args.bigbench else {},
        judge=args.judge,
        progress=not args.no_progress,
        session_minutes=args.minutes,
        live=None if args.turns == "whole" else args.turns,
    )
    if args.report_only:  # runs no case: the report names the recorded system without loading it
        from polyvox.bench.realtime import RealtimeTarget
        from polyvox.bench.targets import RecordedTarget

        name = RealtimeTarget(args.url).name if args.url else args.engine  # (connects to nothing)
        target = RecordedTarget.from_run(args.out, name, "realtime" if args.url else "engine")
    elif args.url:
        from polyvox.bench.realtime import RealtimeTarget

        target = RealtimeTarget(args.url, args.api_key or os.environ.get("POLYVOX_API_KEY"))
    else:
        from polyvox.bench.targets import EngineTarget

        print(f"polyvox bench: loading the {args.engine} engine ...", file=sys.stderr)
        target = EngineTarget.create(args.engine)
    previous = signal.signal(signal.SIGTERM, _stop)  # `kill` stops a long run like Ctrl-C: the done part is kept
    try:
        summaries = run_all(names, target, options)
    finally:
        signal.signal(signal.SIGTERM, previous)
    width = max(len(s.name) for s in summaries)
    for s in summaries:
        score = "not scored" if s.score is None else f"{s.score:.3f}"
        tag = "  STAND-IN data" if s.stand_in else ""
        notes = f"  ({'; '.join(s.notes)})" if s.score is None and s.notes else ""
        print(f"{s.name:<{width}}  {s.metric:<32} {score:>10}  {s.n_cases} cases, {s.n_failed} failed{tag}{notes}")
    print(f"report: {Path(args.out) / 'report.md'}")
    if any(s.stopped for s in summaries):
        print("stopped: the report covers the cases done; run the same command with --resume to go on", file=sys.stderr)
        return 130
    return 0 if any(s.score is not None for s in summaries) else 1


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
