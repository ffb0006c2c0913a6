"""The ``microgradnet`` command line: ``demo`` and ``graph``.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and
``run(args) -> int``. Errors print one line to stderr and exit non-zero, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    from . import _cmd_demo, _cmd_graph, _cmd_train

    parser = argparse.ArgumentParser(
        prog="microgradnet", description="A scalar autograd engine for seeing backpropagation."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in (_cmd_demo, _cmd_graph, _cmd_train):
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except CommandError as error:
        print(f"microgradnet {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("microgradnet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
