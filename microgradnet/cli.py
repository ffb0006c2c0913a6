"""The ``microgradnet`` command line: ``demo`` and ``graph``.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and
``run(args) -> int``. Errors print one line to stderr and exit non-zero, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer of at least 0 (a seed)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def output_directory(out: str) -> Path:
    """The ``--out`` directory, created if missing; a one-line error if it cannot be."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise CommandError(f"--out {out!r} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(
            f"--out {out!r}: cannot create the directory ({error.strerror})"
        ) from None
    return path


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
