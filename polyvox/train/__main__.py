"""`python -m polyvox.train ARGS` = `polyvox train ARGS` (the entry point torchrun launches)."""

from __future__ import annotations

import argparse
import sys

from polyvox.train.commands import add_train_args, run_train


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m polyvox.train", description="train the unified model")
    add_train_args(p)
    return run_train(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
