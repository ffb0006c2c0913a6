"""The command line page's reference: every subcommand's help, from the argparse parsers."""

from __future__ import annotations

import argparse
import os
from unittest import mock

from microgradnet.cli import build_parser

__all__ = ["cli_markdown", "subcommands"]

WIDTH = "88"  # argparse wraps help to the terminal's width: fix it so the page is the same anywhere


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser``, by name, in the order they were added."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def cli_markdown() -> str:
    """The program's ``--help``, then a section per subcommand with its ``--help``."""
    with mock.patch.dict(os.environ, {"COLUMNS": WIDTH}):
        parser = build_parser()
        parts = ["```text", "$ microgradnet --help", parser.format_help().rstrip(), "```", ""]
        for name, sub in subcommands(parser).items():
            parts += [f"## `microgradnet {name}`", ""]
            parts += ["```text", f"$ microgradnet {name} --help", sub.format_help().rstrip()]
            parts += ["```", ""]
    return "\n".join(parts)
