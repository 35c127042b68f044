"""Run benchmarks against a target: cases in order, one JSON line per finished case, crash-safe and resumable.

    DIR/NAME/results.jsonl           one CaseResult per line (appended as each case ends)
    DIR/NAME/cases/ID/               input.wav, reply.wav, transcript.json (+ per-benchmark files, error.txt)
    DIR/NAME/summary.json            the benchmark's Summary
    DIR/.prompts/                    rendered prompt audio, shared by all benchmarks (cache)

A case that raises is recorded as failed with its error and the run goes on; `resume` keeps the cases
already recorded as ok and runs the rest (failed ones again).
"""

from __future__ import annotations

import functools
import json
import subprocess
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from polyvox.audio import save_audio
from polyvox.bench.core import BenchOptions, Case, CaseResult, Reply, SessionConfig, Summary
from polyvox.bench.speech import Delivery, Speech, Transcript
from polyvox.bench.targets import Target
from polyvox.errors import PolyvoxError


class CaseContext:
    """What a benchmark's `run_case` gets: the target, speech I/O, and the case's output folder."""

    def __init__(self, target: Target, speech: Speech, case_dir: Path, options: BenchOptions) -> None:
        self.target, self.speech, self.dir, self.options = target, speech, case_dir, options
        self.dir.mkdir(parents=True, exist_ok=True)

    def open(self, config: SessionConfig):
        """A conversation with the target (reply length capped by options.reply_tokens_cap)."""
        cap = self.options.reply_tokens_cap
        if cap is not None and config.max_reply_tokens > cap:
            config = replace(config, max_reply_tokens=cap)
        return self.target.open(config)

    def save_audio(self, name: str, audio: np.ndarray, sample_rate: int) -> None:
        save_audio(self.dir / name, audio, sample_rate)

    def save_json(self, name: str, obj: Any) -> None:
        (self.dir / name).write_text(json.dumps(obj, indent=1, ensure_ascii=False, default=str))

    def turn(
        self,
        session,
        text: str,
        language: str = "en",
        delivery: Delivery | None = None,
        tag: str = "",
        transcribe: bool = True,
        pin_language: bool = True,
    ) -> tuple[Reply, Transcript]:
        """Speak `text` into `session`; save input/reply audio and transcripts as {tag}input.wav etc.

        The reply is transcribed in `language` (pin_language) or with language ID (a benchmark that
        scores the reply's language itself): language ID misnames short replies ("Option A." → ja).
        """
        audio = self.speech.render(text, language, delivery)
        self.save_audio(f"{tag}input.wav", audio, 16_000)
        reply = session.say(audio)
        pinned = language if pin_language else None
        return reply, self.record(reply, tag, prompt=text, transcribe=transcribe, language=pinned)

    def record(
        self,
        reply: Reply,
        tag: str = "",
        prompt: str | None = None,
        transcribe: bool = True,
        language: str | None = None,
    ) -> Transcript:
        """Save a reply's audio and transcripts; returns Whisper's transcript of the reply audio.

        `language`: transcribe in this language (None: Whisper's language ID decides).
        """
        self.save_audio(f"{tag}reply.wav", reply.audio, reply.sample_rate)
        heard = (
            self.speech.transcribe(reply.audio, reply.sample_rate, language) if transcribe else Transcript("", "", 0.0)
        )
        self.save_json(
            f"{tag}transcript.json",
            {
                "prompt": prompt,
                "reply": reply.as_json(),
                "reply_asr": heard.text,
                "reply_asr_language": heard.language,
                "reply_asr_pinned": transcribe and language is not None,  # False: not transcribed, or by language ID
            },
        )
        return heard

    def ask(
        self,
        case: Case,
        config: SessionConfig | None = None,
        delivery: Delivery | None = None,
        pin_language: bool = True,
    ) -> tuple[Reply, Transcript]:
        """One-turn conversation: speak `case.prompt`, return the reply and its transcript (see `turn`)."""
        with self.open(config or SessionConfig()) as session:
            return self.turn(session, case.prompt, case.language, delivery, pin_language=pin_language)


class Benchmark(ABC):
    """One benchmark: where its cases come from and how a reply is scored. One module per benchmark."""

    name: str = ""
    title: str = ""
    metric: str = "score"  # what Summary.score is
    higher_is_better: bool = True

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.data_source = ""
        self.stand_in = False

    @abstractmethod
    def cases(self) -> list[Case]:
        """The cases of this run (already cut to options.limit)."""

    @abstractmethod
    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        """Run one case against ctx.target: (score in [0, 1] or None, metrics)."""

    def summarize(self, results: list[CaseResult]) -> Summary:
        """Default: the mean case score (failed cases count 0) with a per-group breakdown."""
        return self.summary(results, mean_score(results), breakdown=group_means(results))

    def summary(self, results: list[CaseResult], score: float | None, **kw: Any) -> Summary:
        return Summary(
            self.name,
            self.title,
            self.metric,
            score,
            self.higher_is_better,
            len(results),
            sum(not r.ok for r in results),
            data_source=self.data_source,
            stand_in=self.stand_in,
            **kw,
        )


def round_robin(cases: Sequence[Case], limit: int | None) -> list[Case]:
    """The first `limit` cases taking one per group in turn (groups in first-seen order); all when None,
    in the same interleaved order, so a full run stopped early (and resumable) has every group."""
    groups: dict[str, list[Case]] = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    out: list[Case] = []
    for i in range(max((len(g) for g in groups.values()), default=0)):
        out += [g[i] for g in groups.values() if i < len(g)]
    return out if limit is None else out[:limit]


def mean_score(results: Sequence[CaseResult]) -> float | None:
    scored = [r for r in results if not r.ok or r.score is not None]
    return float(np.mean([r.score if r.ok else 0.0 for r in scored])) if scored else None


def group_means(results: Sequence[CaseResult]) -> dict[str, float]:
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(r.group, []).append(r)
    out = {g: mean_score(rs) for g, rs in groups.items() if g}
    return {g: round(v, 4) for g, v in out.items() if v is not None}


def choice_summary(bench: Benchmark, results: list[CaseResult]) -> Summary:
    """Mean score + per-group breakdown + accuracy read from the system's reply text (multiple choice)."""
    mc = [r for r in results if r.ok and "correct_text" in r.metrics]
    extra = {"accuracy_reply_text": round(sum(r.metrics["correct_text"] for r in mc) / len(mc), 4)} if mc else {}
    return bench.summary(
        results,
        mean_score(results),
        breakdown=group_means(results),
        metrics=extra,
        notes=["score: the letter heard in the reply audio; accuracy_reply_text: read from the reply text"],
    )


@functools.cache
def code_version() -> str:
    """polyvox's version, plus the git commit when it runs from a checkout ("0.1.0+6bd2aee-dirty")."""
    from polyvox import __version__

    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--exclude", "*"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return __version__
    commit = out.stdout.strip()
    return f"{__version__}+{commit}" if out.returncode == 0 and commit else __version__


def _load_done(path: Path) -> dict[str, CaseResult]:
    done: dict[str, CaseResult] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = CaseResult.from_json(json.loads(line))
            except (ValueError, TypeError):
                continue  # a line cut by a crash
            done[r.id] = r
    return done


def run_benchmark(bench: Benchmark, target: Target, speech: Speech) -> Summary:
    """Run every case of `bench` (resuming if asked), write results and summary, return the Summary."""
    opts = bench.options
    bdir = Path(opts.out) / bench.name
    bdir.mkdir(parents=True, exist_ok=True)
    results_path = bdir / "results.jsonl"
    if opts.report_only and not results_path.exists() and (bdir / "summary.json").exists():
        return _kept_summary(bdir / "summary.json")
    keep = opts.resume or opts.report_only
    done = _load_done(results_path) if keep else {}
    if not keep:
        results_path.write_text("")
    cases = _in_groups(bench, bench.cases(), opts.groups)[: opts.max_cases]
    todo = [] if opts.report_only else [c for c in cases if not (c.id in done and done[c.id].ok)]
    version = code_version()  # the checkout as this run loaded it (a commit made while it runs is not in it)
    bar = None
    if opts.progress and todo:  # nothing to run (--report-only, a finished run): no bar
        from tqdm import tqdm

        bar = tqdm(total=len(cases), initial=len(cases) - len(todo), desc=f"{bench.name:>14}", unit="case")
    stopped = False
    with results_path.open("a") as log:
        try:
            _run_cases(bench, target, speech, bdir, todo, done, log, bar, version)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep and summarise what is done; --resume continues
            stopped = True
    if bar is not None:
        bar.close()
    results = [done[c.id] for c in cases if c.id in done]
    summary = bench.summarize(results)
    summary.stopped = stopped
    if len(results) < len(cases):
        summary.notes.append(
            f"partial: {len(results)} of {len(cases)} cases; the figures are for those (--resume runs the rest)"
        )
    versions = sorted({r.code for r in results if r.code})
    if len(versions) > 1:
        summary.notes.append(
            f"cases from {len(versions)} code versions ({', '.join(versions)}): a resumed run mixed them; "
            "run it again without --resume for figures from one version"
        )
    (bdir / "summary.json").write_text(json.dumps(summary.as_json(), indent=1, default=str))
    return summary


def _in_groups(bench: Benchmark, cases: list[Case], groups: Sequence[str] | None) -> list[Case]:
    """The cases of `groups` (all of them for None); a benchmark that has none of the groups is an error."""
    if not groups:
        return cases
    picked = [c for c in cases if c.group in groups]
    if not picked:
        have = ", ".join(dict.fromkeys(c.group for c in cases)) or "none"
        raise PolyvoxError(f"{bench.name} has no case in the group(s) {', '.join(groups)}", f"its groups: {have}")
    return picked


def _kept_summary(path: Path) -> Summary:
    """The summary a run left in `path` when its case records are gone (a folder copied without them):
    --report-only reports it as it was, saying so, and leaves the file as it is."""
    try:
        summary = Summary.from_json(json.loads(path.read_text()))
    except (ValueError, TypeError) as e:
        raise PolyvoxError(
            f"{path} is not a benchmark summary ({e})", f"delete it, or run {path.parent.name} again"
        ) from e
    summary.notes.append(f"from the summary kept in {path.parent.name}/summary.json: its cases are not recorded here")
    return summary


def _run_cases(
    bench: Benchmark, target: Target, speech: Speech, bdir: Path, todo: list[Case], done: dict[str, CaseResult],
    log: TextIO, bar: Any, version: str,
) -> None:  # fmt: skip
    """Run `todo` in order (case folders under `bdir`), recording each result in `done` and as a line of `log`."""
    for case in todo:
        ctx = CaseContext(target, speech, bdir / "cases" / case.id, bench.options)
        t0 = time.perf_counter()
        try:
            score, metrics = bench.run_case(case, ctx)
            result = CaseResult(case.id, case.group, True, score, metrics)
        except Exception as e:  # recorded, never raised: one bad case must not end the run
            (ctx.dir / "error.txt").write_text(traceback.format_exc())
            result = CaseResult(case.id, case.group, False, error=f"{type(e).__name__}: {e}"[:500])
        result.seconds = round(time.perf_counter() - t0, 2)
        result.code = version
        done[case.id] = result
        log.write(json.dumps(result.as_json(), default=str) + "\n")
        log.flush()
        if bar is not None:
            bar.update(1)


def run_all(names: Sequence[str], target: Target, options: BenchOptions, speech: Speech | None = None) -> list[Summary]:
    """Run the named benchmarks in order, then write report.json, report.md and plots into options.out."""
    from polyvox.bench.benchmarks import create
    from polyvox.bench.report import write_report

    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    speech = speech or Speech.for_target(out / ".prompts", target)
    t0 = time.perf_counter()
    summaries: list[Summary] = []
    for name in names:
        try:
            summaries.append(run_benchmark(create(name, options), target, speech))
        except Exception as e:  # e.g. its data could not be loaded: the other benchmarks still run
            summaries.append(Summary(name, name, "score", None, notes=[f"not run: {type(e).__name__}: {e}"]))
        if summaries[-1].stopped:  # interrupted: report what is done, leave the rest to --resume
            break
    write_report(out, summaries, target, time.perf_counter() - t0, options)
    return summaries
