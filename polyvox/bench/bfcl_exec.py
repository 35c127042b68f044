"""Runs inside the sandbox (never imported by the harness itself): BFCL's multi-turn API simulators.

stdin: {"op": "step", "entry": TEST_ENTRY, "prior": [CALL, ...], "calls": [CALL, ...]}
         replays `prior` (the model's earlier calls, in order) on fresh API instances, then runs `calls`
         and prints their outputs;
       {"op": "check", "entry": TEST_ENTRY, "decoded": [[[CALL, ...], ...], ...], "ground_truth": [...]}
         runs bfcl_eval's multi_turn_checker and prints its verdict.
A CALL is Python source such as "cd(folder='document')": BFCL evaluates it with eval(), which is why
this runs in the sandbox. The last stdout line is the JSON answer.
"""

from __future__ import annotations

import json
import sys
import types

MODEL = "polyvox-bench"


def stub_model_config() -> None:
    """bfcl_eval.constants.model_config imports every API client; the checkers only need this mapping."""

    class Config:
        underscore_to_dot = True  # tool names carry "_" for "." (OpenAI function names allow no dots)

    class Mapping(dict):
        def __missing__(self, key: str) -> Config:
            return Config()

    mod = types.ModuleType("bfcl_eval.constants.model_config")
    mod.MODEL_CONFIG_MAPPING = Mapping()
    sys.modules.setdefault("bfcl_eval.constants.model_config", mod)


def main() -> None:
    stub_model_config()
    req = json.loads(sys.stdin.read())
    entry = req["entry"]
    if req["op"] == "step":
        from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

        args = dict(
            initial_config=entry["initial_config"],
            involved_classes=entry["involved_classes"],
            model_name=MODEL,
            test_entry_id=entry["id"],
        )
        if req["prior"]:
            execute_multi_turn_func_call(req["prior"], **args)
        outputs, _ = execute_multi_turn_func_call(req["calls"], **args)
        print(json.dumps({"outputs": [str(o) for o in outputs]}))
    else:
        from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

        verdict = multi_turn_checker(req["decoded"], req["ground_truth"], entry, "multi_turn_base", MODEL)
        print(
            json.dumps(
                {
                    "valid": bool(verdict.get("valid")),
                    "error_type": verdict.get("error_type"),
                    "error": str(verdict.get("error_message", verdict.get("error", "")))[:300],
                }
            )
        )


if __name__ == "__main__":
    main()
