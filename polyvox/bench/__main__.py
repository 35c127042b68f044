"""`python -m polyvox.bench NAME|all --out DIR ...`: the same as `polyvox bench` (until the CLI wires it in)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from polyvox.bench.commands import register
    from polyvox.errors import PolyvoxError

    parser = argparse.ArgumentParser(prog="python -m polyvox.bench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except PolyvoxError as e:
        print(f"error: {e.message}" + (f" ({e.hint})" if e.hint else ""), file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
