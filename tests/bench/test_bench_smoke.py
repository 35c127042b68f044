"""Every benchmark end to end on the real cascade engine, one case each: a score (or a recorded failure) and
the report files. Plus one benchmark against a real Realtime server (ScriptedEngine, for speed)."""

from __future__ import annotations

import json

import pytest

from polyvox.bench import BenchOptions, run_all
from polyvox.bench.benchmarks import NAMES
from polyvox.bench.speech import Speech
from polyvox.bench.targets import EngineTarget


@pytest.fixture(scope="module")
def smoke(cascade, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    mp = pytest.MonkeyPatch()
    mp.setenv("POLYVOX_BIGBENCH", str(out / "no-bigbench"))  # the short stand-in items, whatever is cached
    # one case per benchmark; latency: one session of ~2 turns
    opts = BenchOptions(out=out, limit=1, max_cases=1, session_minutes=0.1, reply_tokens_cap=24, progress=False)
    speech = Speech(out / ".prompts", cascade.tts, cascade.asr)
    try:
        yield out, {s.name: s for s in run_all(NAMES, EngineTarget(cascade), opts, speech)}
    finally:
        mp.undo()


def test_every_benchmark_scores_and_writes_its_files(smoke):
    out, summaries = smoke
    assert list(summaries) == list(NAMES)
    for name, s in summaries.items():
        assert s.n_cases == 1, (name, s.notes)
        results = [json.loads(x) for x in (out / name / "results.jsonl").read_text().splitlines()]
        assert len(results) == 1
        if s.n_failed:  # a failed case is recorded with its error, never raised
            assert results[0]["error"], name
            continue
        assert s.score is not None, name
        case_dir = next((out / name / "cases").iterdir())
        assert any(p.name.endswith("reply.wav") for p in case_dir.iterdir()), name
    assert sum(s.n_failed for s in summaries.values()) <= 2, {n: s.notes for n, s in summaries.items()}
    assert summaries["latency"].metrics["turns"] >= 1
    report = json.loads((out / "report.json").read_text())
    assert set(report["benchmarks"]) == set(NAMES) and report["target"]["name"] == "cascade"
    md = (out / "report.md").read_text()
    assert "| Vision S2S | OpenAI | Google | Sesame | polyvox cascade (measured) |" in md
    assert (out / "plots" / "scores.png").exists() and (out / "plots" / "latency.png").exists()
    assert summaries["hhh"].stand_in and "STAND-IN" in md  # stand-in data is never passed off as the benchmark


def test_realtime_endpoint_target(cascade, tmp_path):
    from polyvox.bench.realtime import RealtimeTarget
    from polyvox.server import ServerOptions, create_app
    from polyvox.server.testing import ScriptedEngine, running_server

    engine = ScriptedEngine(reply="congratulations that is great")
    app = create_app(lambda: engine, ServerOptions(vad="energy"))
    speech = Speech(tmp_path / ".prompts", cascade.tts, cascade.asr)
    opts = BenchOptions(out=tmp_path, limit=1, max_cases=1, progress=False)
    with running_server(app) as port:
        target = RealtimeTarget(f"ws://127.0.0.1:{port}/v1/realtime?model=polyvox", timeout_s=60)
        boot, emotion = run_all(["boot", "emotion"], target, opts, speech)
    assert boot.n_failed == 0 and boot.score is not None and 0 < boot.score < 30
    assert emotion.n_failed == 0 and emotion.n_cases == 1 and emotion.score is not None
    tr = json.loads(next((tmp_path / "emotion" / "cases").iterdir()).joinpath("transcript.json").read_text())
    assert tr["reply"]["text"] == "congratulations that is great" and tr["reply"]["ttfa_ms"] is not None
    assert engine.turns and engine.turns[0].audio is not None  # the spoken prompt reached the engine
    assert json.loads((tmp_path / "report.json").read_text())["target"]["kind"] == "realtime"
