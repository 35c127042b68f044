"""polyvox.bench pieces without models: sandbox, answer parsing, data loading, runner crash/resume, report."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from bench_helpers import RecordingSpeech

from polyvox.bench import choice
from polyvox.bench.core import BenchOptions, Case, SessionConfig, Summary
from polyvox.bench.report import write_report
from polyvox.bench.runner import Benchmark, CaseContext, run_benchmark
from polyvox.bench.sandbox import Limits, run_python
from polyvox.bench.speech import Speech
from polyvox.bench.targets import EngineTarget
from polyvox.server.testing import ScriptedEngine

# -- sandbox ---------------------------------------------------------------------------------------


def test_sandbox_runs_code_and_refuses_network():
    assert run_python("print(6 * 7)").stdout.strip() == "42"
    r = run_python("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9', timeout=2)")
    assert not r.ok and "network access is disabled" in r.stderr
    r = run_python("import socket\nsocket.create_connection(('127.0.0.1', 9))")
    assert not r.ok and "network access is disabled" in r.stderr


def test_sandbox_kills_infinite_loop_and_caps_memory():
    r = run_python("while True:\n    pass", Limits(cpu_s=1, wall_s=20))
    assert not r.ok and r.seconds < 20  # the CPU limit ended it (SIGXCPU), not the wall clock
    r = run_python("import time\ntime.sleep(60)", Limits(wall_s=1))
    assert r.timed_out and r.returncode is None
    r = run_python("x = bytearray(3 << 30)", Limits(memory_mb=256))
    assert not r.ok and "MemoryError" in r.stderr


# -- answer parsing and data -----------------------------------------------------------------------


def test_choice_reads_the_letter_or_the_option():
    opts = ["return it to the owner", "keep the money"]
    assert choice.chosen("Option B, because it is better.", opts) == 1
    assert choice.chosen("A. It is honest.", opts) == 0
    assert choice.chosen("I would return it to the owner.", opts) == 0
    assert choice.chosen("I am not sure.", opts) is None
    assert choice.shuffled(opts, "x") == choice.shuffled(opts, "x")
    assert choice.chosen("Option be, it is kinder.", opts) == 1  # Whisper's spelling of a spoken letter
    assert "Option A:" in choice.question("Q?", opts) and "option A or option B" in choice.question("Q?", opts)


def test_humaneval_canonical_solution_passes_and_wrong_code_fails():
    from polyvox.bench.benchmarks.humaneval import extract_code, load_problems, passes, spoken_prompt

    p = load_problems()[0]
    assert spoken_prompt(p).startswith("Write a Python function called has close elements")
    good = "Sure:\n```python\n" + p["prompt"] + p["canonical_solution"] + "```"
    assert passes(p, extract_code(good)) == (True, "passed")
    renamed = "def close_pair(numbers, threshold):\n    return False\n"  # aliased to the entry point, wrong
    assert passes(p, extract_code(renamed))[0] is False
    # the reply's own (wrong) self-test is dropped; its helper is not mistaken for the entry point
    body = p["canonical_solution"]
    own = f"def close(numbers, threshold):\n{body}\ndef check_it():\n    assert close([], 1) is True\n\ncheck_it()\n"
    assert passes(p, own) == (True, "passed")


def test_bfcl_schema_and_call_conversion():
    from polyvox.bench.benchmarks.bfcl import call_source, json_schema, to_tool

    schema = json_schema({"type": "dict", "properties": {"x": {"type": "float"}, "t": {"type": "tuple"}}})
    assert schema == {"type": "object", "properties": {"x": {"type": "number"}, "t": {"type": "array"}}}
    assert to_tool({"name": "math.sum", "parameters": {"type": "dict"}})["function"]["name"] == "math_sum"
    assert call_source("cd", '{"folder": "doc"}') == "cd(folder='doc')"


def test_bigbench_tasks_load_from_a_tarball(tmp_path, monkeypatch):
    from polyvox.bench.bigbench import load_task

    monkeypatch.setenv("POLYVOX_BIGBENCH", str(tmp_path / "cache"))
    tgz = tmp_path / "bigbench-1.0.0.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        for subset in ("harmless", "helpful", "honest", "other"):
            body = json.dumps({"examples": [{"input": f"q {subset}", "target_scores": {"good": 1, "bad": 0}}]})
            info = tarfile.TarInfo(f"bigbench-1.0.0/bigbench/benchmark_tasks/hhh_alignment/{subset}/task.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body.encode()))
    examples, where = load_task("hhh_alignment", tgz)
    assert [e["subset"] for e in examples] == ["harmless", "helpful", "honest", "other"]
    assert where == tmp_path / "cache" / "hhh_alignment"
    assert load_task("simple_ethical_questions", tgz) is None


def test_round_robin_and_cli_wiring(tmp_path):
    import argparse

    import pytest

    from polyvox.bench.commands import names_of, register, run
    from polyvox.bench.runner import round_robin
    from polyvox.errors import PolyvoxError

    cases = [Case(f"{g}{i}", "", group=g) for g in "xyz" for i in range(3)]
    assert [c.id for c in round_robin(cases, 4)] == ["x0", "y0", "z0", "x1"]
    everything = [c.id for c in round_robin(cases, None)]  # a full run interleaves too (stopped early: all groups)
    assert everything[:4] == ["x0", "y0", "z0", "x1"] and sorted(everything) == sorted(c.id for c in cases)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["bench", "all", "--limit", "2", "--out", str(tmp_path), "--url", "ws://h/v1/realtime"])
    assert args.func is run and args.limit == 2 and args.url and names_of(args.names)[0] == "boot"
    assert parser.parse_args(["bench", "bfcl", "--groups", "simple", "complex", "--out", "d"]).groups == [
        "simple",
        "complex",
    ]
    with pytest.raises(PolyvoxError):
        names_of(["nope"])


# -- runner: crash, resume, report -----------------------------------------------------------------


class Flaky(Benchmark):
    """Three cases; 'b' crashes while `broken` is set; counts calls."""

    name = "flaky"
    title = "Flaky"
    metric = "score"
    broken = True
    calls: list[str] = []  # noqa: RUF012 - test bookkeeping

    def cases(self) -> list[Case]:
        return [Case(c, "hi", group=c) for c in "abc"]

    def run_case(self, case, ctx):
        Flaky.calls.append(case.id)
        if case.id == "b" and Flaky.broken:
            raise ValueError("boom")
        with ctx.target.open(SessionConfig()) as s:
            reply = s.say(np.zeros(16_000, np.float32))
        return 1.0, {"text": reply.text}


def test_runner_records_crashes_and_resumes(tmp_path):
    target = EngineTarget(ScriptedEngine())
    speech = Speech(tmp_path / "prompts")
    opts = BenchOptions(out=tmp_path, limit=None, progress=False)
    summary = run_benchmark(Flaky(opts), target, speech)  # must not raise
    assert (summary.n_cases, summary.n_failed, summary.score) == (3, 1, 2 / 3)
    lines = [json.loads(x) for x in (tmp_path / "flaky" / "results.jsonl").read_text().splitlines()]
    assert [x["ok"] for x in lines] == [True, False, True] and "boom" in lines[1]["error"]
    assert "ValueError" in (tmp_path / "flaky" / "cases" / "b" / "error.txt").read_text()
    Flaky.calls.clear()
    Flaky.broken = False
    resumed = BenchOptions(out=tmp_path, limit=None, progress=False, resume=True)
    summary = run_benchmark(Flaky(resumed), target, speech)
    assert Flaky.calls == ["b"]  # the finished cases were skipped, the failed one ran again
    assert (summary.n_failed, summary.score) == (0, 1.0)
    assert not any("code versions" in n for n in summary.notes)
    # a case recorded by other code (a run resumed after an update) is flagged in the summary's notes
    path = tmp_path / "flaky" / "results.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert all(x["code"].startswith("0.") for x in lines)
    lines[0]["code"] = "0.0.9+0000000"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    summary = run_benchmark(Flaky(resumed), target, speech)
    assert any("2 code versions" in n and "0.0.9+0000000" in n for n in summary.notes), summary.notes


def test_groups_pick_the_cases_run_and_summarised(tmp_path, monkeypatch):
    import pytest

    from polyvox.bench.runner import run_all
    from polyvox.errors import PolyvoxError

    target, speech = EngineTarget(ScriptedEngine()), Speech(tmp_path / "prompts")
    monkeypatch.setattr(Flaky, "broken", False)
    Flaky.calls.clear()
    opts = BenchOptions(out=tmp_path, limit=None, progress=False, groups=("a", "c"))
    summary = run_benchmark(Flaky(opts), target, speech)
    assert Flaky.calls == ["a", "c"] and summary.n_cases == 2 and not summary.notes
    resumed = run_benchmark(Flaky(replace(opts, groups=None, resume=True)), target, speech)
    assert Flaky.calls == ["a", "c", "b"] and resumed.n_cases == 3  # the other groups are run later
    with pytest.raises(PolyvoxError, match="no case in the group"):
        run_benchmark(Flaky(replace(opts, groups=("x",))), target, speech)
    monkeypatch.setattr("polyvox.bench.benchmarks.create", lambda name, options: Flaky(options))
    (skipped,) = run_all(["flaky"], target, replace(opts, groups=("x",)), speech)  # reported, the run goes on
    assert skipped.score is None and "its groups: a, b, c" in skipped.notes[0]


class Interrupted(Flaky):
    """Flaky's cases; the user presses Ctrl-C (or the run gets SIGTERM) during case 'b'."""

    name = "interrupted"

    def run_case(self, case, ctx):
        if case.id == "b" and Interrupted.broken:
            raise KeyboardInterrupt
        return super().run_case(case, ctx)


def test_an_interrupted_run_summarises_what_is_done_and_resumes(tmp_path, monkeypatch):
    from polyvox.bench import runner

    target, speech = EngineTarget(ScriptedEngine()), Speech(tmp_path / "prompts")
    Flaky.calls.clear()
    monkeypatch.setattr(Interrupted, "broken", True)
    created = []
    monkeypatch.setattr(
        "polyvox.bench.benchmarks.create", lambda name, options: created.append(name) or Interrupted(options)
    )
    opts = BenchOptions(out=tmp_path, limit=None, progress=False)
    summaries = runner.run_all(["interrupted", "boot"], target, opts, speech)
    assert created == ["interrupted"]  # the benchmarks after an interrupted one do not start
    (summary,) = summaries
    assert summary.stopped and (summary.n_cases, summary.score) == (1, 1.0)
    assert any(n.startswith("partial: 1 of 3 cases") for n in summary.notes), summary.notes
    assert json.loads((tmp_path / "interrupted" / "summary.json").read_text())["stopped"] is True
    assert (tmp_path / "report.md").exists()
    monkeypatch.setattr(Interrupted, "broken", False)
    Flaky.calls.clear()
    (again,) = runner.run_all(["interrupted"], target, replace(opts, report_only=True), speech)  # runs no case
    assert Flaky.calls == [] and again.n_cases == 1 and not again.stopped
    assert any(n.startswith("partial: 1 of 3") for n in again.notes)
    assert "rebuilt from recorded cases" in (tmp_path / "report.md").read_text()
    resumed = runner.run_benchmark(Interrupted(replace(opts, resume=True)), target, speech)
    assert Flaky.calls == ["b", "c"] and not resumed.stopped and resumed.n_cases == 3
    assert not any(n.startswith("partial") for n in resumed.notes)


def test_report_only_keeps_a_summary_whose_cases_are_gone(tmp_path, monkeypatch):
    """A run folder copied without its case records (a published report's folder) still reports each
    benchmark from the summary.json it kept; a benchmark with records is summarised from them."""
    from polyvox.bench import runner

    monkeypatch.setattr(Interrupted, "broken", False)
    monkeypatch.setattr("polyvox.bench.benchmarks.create", lambda name, options: Interrupted(options))
    target, speech = EngineTarget(ScriptedEngine()), Speech(tmp_path / "prompts")
    opts = BenchOptions(out=tmp_path, limit=None, progress=False)
    (ran,) = runner.run_all(["interrupted"], target, opts, speech)
    kept = tmp_path / "interrupted" / "summary.json"
    recorded = json.loads(kept.read_text())
    recorded["score"] = 0.25  # not what the records give: the kept summary must be the one reported
    kept.write_text(json.dumps(recorded))
    (tmp_path / "interrupted" / "results.jsonl").unlink()
    Flaky.calls.clear()
    (again,) = runner.run_all(["interrupted"], target, replace(opts, report_only=True), speech)
    assert Flaky.calls == [] and (again.score, again.n_cases) == (0.25, ran.n_cases)
    assert any("cases are not recorded here" in n for n in again.notes), again.notes
    assert json.loads(kept.read_text()) == recorded  # left as it was
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["benchmarks"]["interrupted"]["score"] == 0.25
    kept.write_text("{not json")
    (broken,) = runner.run_all(["interrupted"], target, replace(opts, report_only=True), speech)
    assert broken.score is None and "not a benchmark summary" in broken.notes[0]


def test_report_only_names_the_recorded_engine_without_loading_one(tmp_path, monkeypatch):
    import pytest

    from polyvox.bench.targets import RecordedTarget
    from polyvox.cli import main
    from polyvox.errors import PolyvoxError

    monkeypatch.setattr(Interrupted, "broken", False)
    monkeypatch.setattr("polyvox.bench.benchmarks.create", lambda name, options: Interrupted(options))
    opts = BenchOptions(out=tmp_path, limit=None, progress=False)
    runner_target = EngineTarget(ScriptedEngine(), load_seconds=3.21)
    from polyvox.bench import runner

    runner.run_all(["interrupted"], runner_target, opts, Speech(tmp_path / "prompts"))
    recorded = RecordedTarget.from_run(tmp_path, "scripted", "engine")
    assert recorded.describe() == {"name": "scripted", "kind": "engine", "load_seconds": 3.21}
    assert RecordedTarget.from_run(tmp_path, "cascade", "engine").describe() == {"name": "cascade", "kind": "engine"}
    fresh = RecordedTarget.from_run(tmp_path / "none", "h:1", "realtime")  # no report.json there
    assert fresh.describe() == {"name": "h:1", "kind": "realtime"}
    with pytest.raises(PolyvoxError, match="runs no case"):
        recorded.open(SessionConfig())

    def no_engine(kind="cascade"):
        raise AssertionError("--report-only must not load an engine")

    monkeypatch.setattr(EngineTarget, "create", no_engine)
    monkeypatch.setattr("polyvox.bench.benchmarks.NAMES", ("interrupted",))
    Flaky.calls.clear()
    rc = main(["bench", "interrupted", "--full", "--report-only", "--no-progress", "--out", str(tmp_path)])
    assert rc == 0 and Flaky.calls == []
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["target"] == {"name": "cascade", "kind": "engine"}  # the folder's report was the scripted engine's
    assert report["benchmarks"]["interrupted"]["n_cases"] == 3


def test_report_files(tmp_path):
    summaries = [
        Summary("latency", "Latency", "median TTFA (s)", 0.9, False, 3, metrics={"ttfa_s": [0.8, 0.9, 1.2]}),
        Summary("hhh", "HHH", "accuracy", 0.5, n_cases=2, breakdown={"helpful": 1.0, "harmless": 0.0}, stand_in=True),
    ]
    write_report(tmp_path, summaries, EngineTarget(ScriptedEngine()), 12.0, BenchOptions(out=tmp_path, limit=2))
    md = (tmp_path / "report.md").read_text()
    assert "| Vision S2S | OpenAI | Google | Sesame |" in md and "0.820" in md  # OpenAI's reported latency
    assert "STAND-IN" in md
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["benchmarks"]) == {"latency", "hhh"}
    for png in ("scores.png", "latency.png", "hhh.png"):
        assert (tmp_path / "plots" / png).stat().st_size > 1000
    assert Path(tmp_path / "plots").is_dir()


def test_compare_puts_runs_side_by_side(tmp_path: Path, capsys):
    from polyvox.bench.compare import compare
    from polyvox.cli import main

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    target = EngineTarget(ScriptedEngine())
    write_report(
        a,
        [
            Summary("latency", "Latency", "median TTFA (s)", 1.6, False, 18),
            Summary("bfcl", "BFCL", "accuracy", 0.5, n_cases=4),
        ],
        target,
        5.0,
        BenchOptions(out=a, limit=2),
    )
    write_report(b, [Summary("latency", "Latency", "median TTFA (s)", 0.4, False, 18)], target, 5.0,
                 BenchOptions(out=b, limit=None))  # fmt: skip
    md = compare([a, b], tmp_path / "cmp").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| benchmark"))
    assert "(--limit 2)" in header and "(full)" in header and "Sesame" in header
    latency = next(line for line in md.splitlines() if line.startswith("| Latency"))
    assert "1.6" in latency and "0.400 · n=18" in latency and "0.820" in latency  # OpenAI as reported
    assert "not run" in next(line for line in md.splitlines() if line.startswith("| BFCL"))
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 1000
    assert main(["bench", "--compare", str(a), str(tmp_path / "nope"), "--out", str(tmp_path / "c2")]) == 1
    assert "holds no report.json" in capsys.readouterr().err


def test_replies_are_transcribed_in_the_case_language_unless_the_benchmark_scores_language(tmp_path):
    # Whisper's language ID calls a short "Option A." Japanese or Latin; a benchmark that scores content pins it
    speech = RecordingSpeech(tmp_path / "prompts")
    ctx = CaseContext(EngineTarget(ScriptedEngine()), speech, tmp_path / "case", BenchOptions(out=tmp_path))
    case = Case("q", "¿Cuál es la capital de Francia?", language="es")
    _, heard = ctx.ask(case)
    assert speech.languages == ["es"] and heard.language == "es"
    saved = json.loads((tmp_path / "case" / "transcript.json").read_text())
    assert saved["reply_asr_pinned"] is True and saved["reply_asr_language"] == "es"
    ctx.ask(case, pin_language=False)  # multilingual: the reply's own language is what it measures
    assert speech.languages == ["es", None]
    assert json.loads((tmp_path / "case" / "transcript.json").read_text())["reply_asr_pinned"] is False
    with ctx.open(SessionConfig()) as session:  # latency, bfcl multi-turn: no transcript, so nothing was pinned
        ctx.turn(session, case.prompt, "es", transcribe=False)
    assert speech.languages == ["es", None]
    assert json.loads((tmp_path / "case" / "transcript.json").read_text())["reply_asr_pinned"] is False


def test_an_engine_session_is_one_conversation():
    """Its turns share one Conversation (speaker baseline, the conversation's language), as the Realtime
    server keeps one per session; a new session starts a new one."""
    engine = ScriptedEngine()
    target = EngineTarget(engine)
    with target.open(SessionConfig()) as s:
        s.say(np.zeros(16_000, np.float32))
        s.say(np.zeros(16_000, np.float32))
    with target.open(SessionConfig()) as s:
        s.say(np.zeros(16_000, np.float32))
    first, second, third = (t.conversation for t in engine.turns)
    assert first is not None and first is second and third is not first
