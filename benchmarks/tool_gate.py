"""Tool-gate benchmark: when a client's tools do not all fit the LLM's context, are the ones a turn needs kept?

BFCL's multi-turn cases (bfcl-eval's multi_turn_base, 200 conversations, 2,600-4,400 tokens of tool schemas
against the cascade's 2,048-token context) name, per user turn, the calls that answer it. For every turn
this asks the cascade's tool fitting (CascadeEngine._fit_tools, with the engine's real token counts) which
tools it would offer, and reports
  recall   the share of the turn's needed functions that were offered (a left-out one cannot be called)
  tokens   prompt tokens of the offered schemas (first-token time grows with them: ~125 tokens/s on 2 cores)
  reused   the share of a later turn's schema tokens that its conversation's previous tool prompt had in the
           same place (the leading tools both offered): llama.cpp evaluates those once
No LLM generation runs: the model loads for its tokenizer only, so this takes seconds.

    python benchmarks/tool_gate.py [--limit 50] [--out out/tool-gate] [--client-order]
    # summary.json + recall.png per API; --client-order: the kept tools in the client's order on every turn
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from tqdm import tqdm

from polyvox.bench.benchmarks.bfcl import data_dir, multi_turn_tools, read_jsonl, user_text
from polyvox.cascade.context import build_system, turn_note
from polyvox.cascade.engine import CascadeConfig, CascadeEngine
from polyvox.cascade.llm import LlamaLLM
from polyvox.engine import Message


def cases(limit: int | None) -> list[tuple[dict, list[dict], list[list[str]]]]:
    """(entry, tools, needed function names per turn) for the multi_turn_base cases."""
    root = data_dir()
    truth = {a["id"]: a["ground_truth"] for a in read_jsonl(root / "possible_answer" / "BFCL_v4_multi_turn_base.json")}
    out = []
    for entry in read_jsonl(root / "BFCL_v4_multi_turn_base.json")[:limit]:
        needed = [[c.split("(", 1)[0].replace(".", "_") for c in turn] for turn in truth[entry["id"]]]
        out.append((entry, multi_turn_tools(entry), needed))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="first N cases (default: all 200)")
    ap.add_argument("--out", type=Path, default=None, help="write summary.json and recall.png here")
    ap.add_argument("--client-order", action="store_true", help="do not lead with the previous turn's tools")
    args = ap.parse_args()

    config = CascadeConfig()
    engine = CascadeEngine.__new__(CascadeEngine)  # the tool fitting alone: no VAD, ASR, TTS
    engine.config = config
    engine.llm = LlamaLLM(options=config.llm)
    system = f"{build_system()} {turn_note('en')}"
    hits = needed_n = 0
    by_api: dict[str, list[float]] = {}
    tokens: list[int] = []
    per_turn_recall: list[float] = []
    reused: list[float] = []
    for entry, tools, needed in tqdm(cases(args.limit), desc="cases"):
        history: list[Message] = []
        before: list[dict] = []
        for turn, names in zip(entry["question"], needed, strict=False):
            ask, need = user_text(turn), set(names)
            if not ask or not need:
                continue
            first = () if args.client_order else [t["function"]["name"] for t in before]
            offered = engine._fit_tools(system, history, ask, "", tools, 160, {}, first)
            if before:
                same = 0
                while same < min(len(before), len(offered)) and before[same] is offered[same]:
                    same += 1
                reused.append(engine.llm.count_tokens([], offered[:same]) / engine.llm.count_tokens([], offered))
            before = offered
            got = len(need & {t["function"]["name"] for t in offered})
            hits += got
            needed_n += len(need)
            per_turn_recall.append(got / len(need))
            for api in entry["involved_classes"]:
                by_api.setdefault(api, []).append(got / len(need))
            tokens.append(engine.llm.count_tokens([], offered))
            history += [Message("user", ask), Message("assistant", "Done.")]
    summary = {
        "turns": len(tokens),
        "recall": round(hits / max(1, needed_n), 4),
        "turns_with_every_needed_tool": round(sum(r == 1.0 for r in per_turn_recall) / max(1, len(tokens)), 4),
        "tool_tokens_median": statistics.median(tokens) if tokens else 0,
        "tool_tokens_mean": round(statistics.mean(tokens), 1) if tokens else 0,
        "schema_tokens_reused_mean": round(statistics.mean(reused), 4) if reused else 0,
        "recall_by_api": {api: round(statistics.mean(rs), 4) for api, rs in sorted(by_api.items())},
    }
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        apis = summary["recall_by_api"]
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.barh(list(apis), list(apis.values()), color="tab:blue")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of a turn's needed functions offered (mean over turns)")
        ax.set_title(f"Tool gate on BFCL multi-turn: recall {summary['recall']:.2f} over {summary['turns']} turns")
        fig.tight_layout()
        fig.savefig(args.out / "recall.png", dpi=120)


if __name__ == "__main__":
    main()
