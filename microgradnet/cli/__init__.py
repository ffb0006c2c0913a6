"""The ``microgradnet`` command line: ``demo``, ``graph`` and ``train``.

* ``microgradnet demo --out DIR``: train an MLP on two moons and write its pictures;
* ``microgradnet graph "EXPR" --var a=2 [--out FILE]``: differentiate an expression and draw it;
* ``microgradnet train --model {mlp,cnn} [--out DIR]``: train a digits classifier and save it.

Each subcommand lives in its own module (``_demo``, ``_graph``, ``_train``) exposing
``add_parser(subparsers)`` and ``run(args) -> int``; what they share (the one-line error, the
argument types) lives in ``_common``, which imports none of them. Errors print one line to stderr
and exit non-zero, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import _demo, _graph, _train
from ._common import CommandError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; each sets ``run`` among the parsed arguments."""
    parser = argparse.ArgumentParser(
        prog="microgradnet", description="A scalar autograd engine for seeing backpropagation."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in (_demo, _graph, _train):
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: the arguments after the program's name; ``None`` reads ``sys.argv``.

    Returns:
        0 on success, 2 after a one-line error on stderr, 130 when interrupted.
    """
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CommandError as error:
        print(f"microgradnet {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("microgradnet: interrupted", file=sys.stderr)
        return 130
