"""``python -m microgradnet.testing check mypkg.engine:Value``: check_engine from a shell.

The exit status is 0 when every check passes, 1 when one fails, 2 for a bad command line (an
engine that cannot be imported included), as pytest's.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from ._check_engine import check_engine
from ._engine import Adapter

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of the ``check`` command, for any parser that wants to offer it."""
    parser.add_argument(
        "engine", help="the value class to check, as module:name (micrograd.engine:Value)"
    )
    parser.add_argument(
        "--grad", default="grad", help="attribute holding a gradient (minitorch: derivative)"
    )
    parser.add_argument("--data", default="data", help="attribute holding a value's number")
    parser.add_argument("--backward", default="backward", help="method that backpropagates")
    parser.add_argument(
        "--method",
        action="append",
        default=[],
        metavar="OP=NAME",
        help="an op the engine names differently, e.g. sigmoid=sigm (repeatable)",
    )
    parser.add_argument("--ops", help="comma-separated ops to check (default: every op)")
    parser.add_argument(
        "--max-examples", type=int, help="expressions per op (default: Hypothesis's profile)"
    )
    parser.add_argument("--max-depth", type=int, default=10_000, help="deepest chain tried")


def _load(spec: str) -> Any:
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(f"engine {spec!r} must be module:name, e.g. micrograd.engine:Value")
    sys.path.insert(0, "")  # as `python -m` does: the engine may live in the current folder
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import {module_name!r}: {error}") from None
    finally:
        sys.path.remove("")
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no {attribute!r}") from None
    return target


def run(args: argparse.Namespace) -> int:
    """Run the ``check`` command on parsed arguments; the exit status."""
    try:
        value_class = _load(args.engine)
        methods = {}
        for item in args.method:
            op, equals, name = item.partition("=")
            if not equals or not op or not name:
                raise ValueError(f"--method {item!r} must be OP=NAME, e.g. sigmoid=sigm")
            methods[op] = name
        adapter = Adapter(data=args.data, grad=args.grad, backward=args.backward, methods=methods)
        ops = [name.strip() for name in args.ops.split(",")] if args.ops else None
        report = check_engine(
            value_class,
            adapter=adapter,
            ops=ops,
            max_examples=args.max_examples,
            max_depth=args.max_depth,
        )
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m microgradnet.testing check ENGINE [options]``; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m microgradnet.testing",
        description="Gradient-testing tools for scalar autograd engines.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="check a scalar autograd engine against central differences and microgradnet",
        description=(
            "Check a micrograd-style engine: every op it has on generated expressions (shrunk "
            "to a minimal failure), values used twice, shared subexpressions, two outputs of "
            "one graph, deep chains, a second backward()."
        ),
    )
    add_arguments(check)
    args = parser.parse_args(argv)
    return run(args)
