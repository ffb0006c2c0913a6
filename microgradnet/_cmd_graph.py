"""`microgradnet graph`: placeholder until its issue lands."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("graph", help="(not yet available)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .cli import CommandError

    raise CommandError("not implemented yet")
