"""bfcl: function identification and parameter extraction from spoken requests (Berkeley Function Calling).

Data and checkers come from the `bfcl-eval` package (Apache-2.0), installed `--no-deps`:
  simple      simple_python (400)                      -> bfcl_eval AST checker
  complex     multiple, parallel, parallel_multiple    -> AST checker (interleaved, 200 each)
  multi-step  multi_turn_base (200)                    -> the model's calls run on BFCL's simulated APIs
                                                          (file system, trading, travel, ...) and the
                                                          multi-turn state/response checker judges them
The user's request is spoken; the function schemas go to the system as OpenAI tools ("." in names
becomes "_"). Multi-step tool calls and the checker run in the sandbox (BFCL eval()s call strings).
`--limit N` takes N cases round-robin over the groups (simple, complex, multi-step; N >= 3 covers all).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polyvox.bench.bfcl_exec import MODEL, stub_model_config
from polyvox.bench.core import Case, CaseResult, SessionConfig, Summary
from polyvox.bench.runner import Benchmark, CaseContext, group_means, mean_score, round_robin
from polyvox.bench.sandbox import Limits, run_python, site_packages

GROUPS = {
    "simple": ("simple_python",),
    "complex": ("multiple", "parallel", "parallel_multiple"),
    "multi_step": ("multi_turn_base",),
}
INSTRUCTIONS = "You are a helpful assistant. When a function can do what the user asks, call it."
MAX_STEPS = 3  # tool round trips per user turn in multi-step cases
LIMITS = Limits(cpu_s=30, wall_s=120, memory_mb=2048)
_TYPES = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "integer": "integer",
    "string": "string",
    "boolean": "boolean",
    "array": "array",
    "number": "number",
    "object": "object",
}


def data_dir() -> Path:
    from polyvox.errors import require

    return Path(require("bfcl_eval", "the bfcl benchmark", "bench").__file__).parent / "data"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def json_schema(p: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter schema ("dict", "float", "tuple", "any") -> JSON Schema."""
    out: dict[str, Any] = {}
    t = p.get("type")
    if t in _TYPES:
        out["type"] = _TYPES[t]
    for key in ("description", "enum"):
        if key in p:
            out[key] = p[key]
    if "default" in p:
        out["description"] = f"{out.get('description', '')} (default: {p['default']})".strip()
    if "properties" in p:
        out["properties"] = {k: json_schema(v) for k, v in p["properties"].items()}
    if "items" in p:
        out["items"] = json_schema(p["items"])
    if p.get("required"):
        out["required"] = list(p["required"])
    return out


def to_tool(fn: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": fn["name"].replace(".", "_"),
            "description": fn.get("description", ""),
            "parameters": json_schema(fn.get("parameters", {"type": "dict"})),
        },
    }


def call_source(name: str, arguments: str) -> str:
    """A tool call -> the Python call string BFCL executes: name(k=repr(v), ...)."""
    args = json.loads(arguments or "{}")
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def user_text(turn: list[dict[str, Any]]) -> str:
    return " ".join(m["content"] for m in turn if m.get("role") == "user").strip()


def multi_turn_tools(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """A multi-turn case's tools: the function docs of its API classes, less its excluded functions."""
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING as DOCS

    excluded = set(entry.get("excluded_function") or [])
    return [
        to_tool(d)
        for cls in entry["involved_classes"]
        for d in read_jsonl(data_dir() / "multi_turn_func_doc" / DOCS[cls])
        if d["name"] not in excluded
    ]


def in_sandbox(request: dict[str, Any]) -> dict[str, Any]:
    code = (Path(__file__).parent.parent / "bfcl_exec.py").read_text()
    r = run_python(code, LIMITS, stdin=json.dumps(request), pythonpath=site_packages())
    if not r.ok:
        raise RuntimeError("sandboxed BFCL execution failed: " + ("timeout" if r.timed_out else r.stderr[-300:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


class Bfcl(Benchmark):
    name = "bfcl"
    title = "Function calling (BFCL)"
    metric = "accuracy"

    def cases(self) -> list[Case]:
        self.data_source = "bfcl-eval package: bfcl_eval/data (BFCL v4) + possible_answer"
        root = data_dir()
        out: list[Case] = []
        for group, categories in GROUPS.items():
            per_cat = []
            for cat in categories:
                qs = read_jsonl(root / f"BFCL_v4_{cat}.json")
                answers = {
                    a["id"]: a["ground_truth"] for a in read_jsonl(root / "possible_answer" / f"BFCL_v4_{cat}.json")
                }
                per_cat.append([(cat, q, answers[q["id"]]) for q in qs if q["id"] in answers])
            mixed = [x for tup in zip(*per_cat, strict=False) for x in tup]  # interleave categories
            for cat, q, truth in mixed:
                out.append(
                    Case(
                        q["id"],
                        user_text(q["question"][0]),
                        group=group,
                        expected=truth,
                        meta={"category": cat, "entry": q},
                    )
                )
        return round_robin(out, self.options.limit)

    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        if case.meta["category"].startswith("multi_turn"):
            return self._multi_turn(case, ctx)
        stub_model_config()
        from bfcl_eval.constants.enums import Language
        from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

        functions = case.meta["entry"]["function"]
        config = SessionConfig(instructions=INSTRUCTIONS, tools=tuple(to_tool(f) for f in functions))
        reply, _ = ctx.ask(case, config)
        output = [{c.name: json.loads(c.arguments or "{}")} for c in reply.tool_calls]
        verdict = ast_checker(functions, output, case.expected, Language.PYTHON, case.meta["category"], MODEL)
        ctx.save_json("verdict.json", {"calls": output, "expected": case.expected, "verdict": verdict})
        return float(bool(verdict["valid"])), {
            "category": case.meta["category"],
            "calls": len(output),
            "error_type": None if verdict["valid"] else verdict.get("error_type"),
        }

    def _multi_turn(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        entry = case.meta["entry"]
        config = SessionConfig(instructions=INSTRUCTIONS, tools=tuple(multi_turn_tools(entry)))
        decoded: list[list[list[str]]] = []
        prior: list[str] = []
        with ctx.open(config) as session:
            for t, turn in enumerate(entry["question"]):
                steps: list[list[str]] = []
                text = user_text(turn)
                if text:
                    reply, _ = ctx.turn(session, text, tag=f"turn{t}_", transcribe=False)
                    for s in range(MAX_STEPS):
                        if not reply.tool_calls:
                            break
                        calls = [call_source(c.name, c.arguments) for c in reply.tool_calls]
                        outs = in_sandbox({"op": "step", "entry": entry, "prior": prior, "calls": calls})["outputs"]
                        prior += calls
                        steps.append(calls)
                        for c, o in zip(reply.tool_calls, outs, strict=False):
                            session.tool_output(c.call_id, c.name, o)
                        reply = session.respond()
                        ctx.record(reply, tag=f"turn{t}_step{s}_", transcribe=False)
                decoded.append(steps)
        verdict = in_sandbox({"op": "check", "entry": entry, "decoded": decoded, "ground_truth": case.expected})
        ctx.save_json("verdict.json", {"calls": decoded, "expected": case.expected, "verdict": verdict})
        return float(verdict["valid"]), {
            "category": "multi_turn_base",
            "calls": len(prior),
            "error_type": None if verdict["valid"] else verdict.get("error_type"),
        }

    def summarize(self, results: list[CaseResult]) -> Summary:
        by_cat: dict[str, list[CaseResult]] = {}
        for r in results:
            by_cat.setdefault((r.metrics or {}).get("category") or r.id.rsplit("_", 1)[0], []).append(r)
        cats = {c: round(mean_score(rs) or 0.0, 4) for c, rs in by_cat.items()}
        return self.summary(results, mean_score(results), breakdown=group_means(results), metrics={"by_category": cats})


BENCHMARK = Bfcl
