"""BFCL through the harness with an oracle in place of the model: BFCL's own answers must score 1.

The cascade scores 0 of 200 multi-step cases and 1 of 400 parallel ones; these tests show that this is
the model, not the harness: the ground-truth calls, made as tool calls by an engine, go through the same
path as the cascade's (tool schemas -> ToolCall -> call_source -> the sandboxed API simulators -> BFCL's
checkers) and are judged valid, and dropping one turn's calls makes the same case fail.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench_helpers import RecordingSpeech

from polyvox.bench.core import BenchOptions, Case
from polyvox.bench.runner import CaseContext
from polyvox.bench.targets import EngineTarget
from polyvox.engine import CancelToken, Engine, Turn
from polyvox.events import AudioChunk, Event, TextDelta, Timings, ToolCall, TurnDone, TurnResult

pytest.importorskip("bfcl_eval")

Call = tuple[str, dict[str, Any]]


class OracleEngine(Engine):
    """Answers the k-th user turn with the k-th list of `script` as tool calls, then says "done"."""

    name = "oracle"

    def __init__(self, script: list[list[Call]]) -> None:
        self.script = list(script)

    def stream(self, turn: Turn, cancel: CancelToken | None = None) -> Iterator[Event]:
        after_tool = bool(turn.history) and turn.history[-1].role == "tool"
        if turn.audio is not None and not after_tool:
            calls = self.script.pop(0)
            for i, (name, args) in enumerate(calls):
                yield ToolCall(f"call_{len(self.script)}_{i}", name, json.dumps(args))
            if calls:
                yield TurnDone(TurnResult("", "en", "", Timings(), engine=self.name))
                return
        yield TextDelta("done")
        yield AudioChunk(np.zeros(2400, np.float32), self.output_sample_rate, "done")
        yield TurnDone(TurnResult("", "en", "done", Timings(), audio_seconds=0.1, engine=self.name))


def parse_call(source: str, tools: list[dict[str, Any]]) -> Call:
    """ "mv(source='a', destination='b')" -> ("mv", {"source": "a", ...}); positional arguments take the
    tool schema's parameter names in order ("sort('x')" -> {"file_name": "x"})."""
    node = ast.parse(source, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), source
    params = next(t["function"]["parameters"] for t in tools if t["function"]["name"] == node.func.id)
    args = dict(zip(params.get("properties", {}), (ast.literal_eval(a) for a in node.args), strict=False))
    args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
    return node.func.id, args


def first_option(truth: list[dict[str, dict[str, list[Any]]]]) -> list[Call]:
    """An AST-category answer ({fn: {param: [allowed values]}}) -> calls with each param's first allowed
    value; "" among the allowed values means the parameter may be left out."""
    calls = []
    for entry in truth:
        ((name, params),) = entry.items()
        calls.append((name.replace(".", "_"), {k: v[0] for k, v in params.items() if v and v[0] != ""}))
    return calls


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    from polyvox.bench.benchmarks.bfcl import Bfcl

    return {c.id: c for c in Bfcl(BenchOptions(out=Path("unused"), limit=None)).cases()}


def run_oracle(case: Case, script: list[list[Call]], tmp_path: Path) -> tuple[float | None, dict[str, Any]]:
    from polyvox.bench.benchmarks.bfcl import Bfcl

    options = BenchOptions(out=tmp_path)
    ctx = CaseContext(EngineTarget(OracleEngine(script)), RecordingSpeech(tmp_path / "p"), tmp_path / case.id, options)
    return Bfcl(options).run_case(case, ctx)


@pytest.mark.parametrize("case_id", ["simple_python_0", "multiple_0", "parallel_0", "parallel_multiple_0"])
def test_single_turn_ground_truth_scores_one(cases, case_id, tmp_path):
    case = cases[case_id]
    score, metrics = run_oracle(case, [first_option(case.expected)], tmp_path)
    assert (score, metrics["error_type"]) == (1.0, None), metrics
    if case_id.startswith("parallel"):  # one call short of a parallel answer is wrong
        score, metrics = run_oracle(case, [first_option(case.expected)[:-1]], tmp_path / "short")
        assert score == 0.0 and metrics["error_type"], metrics


@pytest.mark.parametrize("case_id", ["multi_turn_base_0", "multi_turn_base_100"])
def test_multi_turn_ground_truth_scores_one_and_a_missing_turn_fails(cases, case_id, tmp_path):
    from polyvox.bench.benchmarks.bfcl import multi_turn_tools

    case = cases[case_id]
    tools = multi_turn_tools(case.meta["entry"])
    script = [[parse_call(c, tools) for c in turn] for turn in case.expected]
    score, metrics = run_oracle(case, script, tmp_path)
    assert (score, metrics["error_type"]) == (1.0, None), metrics
    assert metrics["calls"] == sum(len(t) for t in script)
    verdict = json.loads((tmp_path / case_id / "verdict.json").read_text())
    assert verdict["verdict"]["valid"] is True
    without_last = [*script[:-1], []]
    score, metrics = run_oracle(case, without_last, tmp_path / "short")
    assert score == 0.0 and metrics["error_type"].startswith("multi_turn:"), metrics
