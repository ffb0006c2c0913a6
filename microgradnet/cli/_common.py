"""What every subcommand shares: the one-line error and the argument types.

The subcommand modules import this module, never the package above them, so the command line's
imports run one way: ``microgradnet.cli`` -> each subcommand -> this module.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

__all__ = [
    "CommandError",
    "Subparsers",
    "non_negative_int",
    "one_line",
    "output_directory",
    "positive_int",
]

# What ``ArgumentParser.add_subparsers`` returns: each subcommand adds its parser to it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def one_line(error: BaseException) -> str:
    """An error's message on one line (whitespace and newlines collapsed)."""
    return " ".join(str(error).split())


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
