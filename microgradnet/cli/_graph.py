"""`microgradnet graph "EXPR" --var a=2 --var b=-3 [--out FILE]`: gradients of an expression.

The expression is parsed by :mod:`microgradnet.expression` (an allow-list, never evaluated as
Python). The command prints the output value and each variable's gradient, and writes the
graph (``.svg``, ``.png``, ``.pdf``) or the step-through backward player (``.html``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..expression import FUNCTIONS, parse_expression
from ._common import CommandError, Subparsers, cannot_write, one_line, output_file, shown

__all__ = ["add_parser", "run"]

OUTPUT_SUFFIXES = (".svg", ".png", ".pdf", ".html")


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="differentiate an expression and draw its graph",
        description=(
            "Parse an arithmetic expression over named variables: numbers, + - * / ** and calls "
            f"to {', '.join(_call_forms())} (an argument in brackets may be left out; its "
            "default is shown). Run backward, print each variable's gradient and optionally "
            "write the graph or a step-through player."
        ),
        epilog='example: microgradnet graph "tanh(a*b + c)" --var a=2 --var b=-3 --var c=10 '
        "--out graph.svg",
    )
    parser.add_argument("expression", metavar="EXPR", help='the expression, e.g. "a*b + c"')
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable and its value (repeat for each variable)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="write the graph (.svg, .png, .pdf) or the step-through backward player (.html)",
    )
    parser.add_argument(
        "--rankdir", choices=("LR", "TB"), default="LR", help="layout direction (default LR)"
    )
    parser.set_defaults(run=run)


def _call_forms() -> list[str]:
    # Every function of the grammar, from the op table: a new row appears here by itself.
    return [function.call_form() for function in FUNCTIONS.values()]


def _parse_var(text: str) -> tuple[str, float]:
    name, sep, number = text.partition("=")
    name, number = name.strip(), number.strip()
    if not sep or not name or not number:
        raise CommandError(f"--var {shown(text)} must look like NAME=VALUE, e.g. --var a=2")
    if not name.isidentifier():
        raise CommandError(f"--var {shown(text)}: {shown(name)} is not a valid variable name")
    try:
        value = float(number)
    except ValueError:
        raise CommandError(f"--var {shown(text)}: {shown(number)} is not a number") from None
    if not math.isfinite(value):
        raise CommandError(f"--var {shown(text)}: the value must be finite")
    return name, value


def _output_path(out: str | None) -> Path | None:
    if out is None:
        return None
    suffix = Path(out).suffix
    if suffix.lower() not in OUTPUT_SUFFIXES:
        raise CommandError(
            f"--out {shown(out)}: unknown file type {shown(suffix or '(none)')}; "
            f"use {', '.join(OUTPUT_SUFFIXES)}"
        )
    return output_file(out)


def _number(x: float) -> str:
    return f"{x:.10g}"


def run(args: argparse.Namespace) -> int:
    variables: dict[str, float] = {}
    for text in args.var:
        name, value = _parse_var(text)
        if name in variables:
            raise CommandError(f"--var {shown(name)} is given twice")
        variables[name] = value
    path = _output_path(args.out)

    try:
        out, leaves = parse_expression(args.expression, variables)
        out.backward()
    except (TypeError, ValueError, ArithmeticError) as error:
        raise CommandError(one_line(error)) from None

    print(f"out = {_number(out.data)}")
    for name, leaf in leaves.items():
        print(f"d out / d {name} = {_number(leaf.grad)}")
    if path is None:
        return 0

    from ..viz import backprop_html, render

    try:
        if path.suffix.lower() == ".html":
            backprop_html(out, path, rankdir=args.rankdir)
        else:
            render(out, path, rankdir=args.rankdir)
    except (RuntimeError, ValueError) as error:
        raise CommandError(one_line(error)) from None
    except OSError as error:
        raise cannot_write(error) from None
    print(f"wrote {path}")
    return 0
