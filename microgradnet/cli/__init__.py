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
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from . import _demo, _graph, _train
from ._common import CommandError, Parser, Terminated, one_line, shown

__all__ = ["build_parser", "main"]

INTERRUPTED = 130  # the shell's status for a process ended by SIGINT (128 + 2)
TERMINATED = 143  # and by SIGTERM (128 + 15)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; each sets ``run`` among the parsed arguments."""
    parser = Parser(
        prog="microgradnet", description="A scalar autograd engine for seeing backpropagation."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in (_demo, _graph, _train):
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Errors print one line to stderr, never a traceback. Ctrl-C or SIGTERM stops the command:
    what it was writing and the folders it created are removed, further signals are ignored
    while it unwinds, and one line says so.

    Args:
        argv: the arguments after the program's name; ``None`` reads ``sys.argv``.

    Returns:
        0 on success, 2 after a one-line error on stderr, 130 when interrupted (Ctrl-C), 143
        when terminated (SIGTERM). Run as the program (``argv`` is ``None``), an interrupted
        command ends by SIGINT itself, which a shell reports as 130 (Note [ending by SIGINT]).
    """
    as_program = argv is None
    with _signals_stop_the_command(as_program=as_program) as received:
        try:
            args = build_parser().parse_args(argv)
            return _run(args)
        except BaseException as error:
            # The signal's exception, or what an import it landed in turned it into (a C
            # extension's "initialization failed"): either way the command was stopped.
            interrupted = isinstance(error, KeyboardInterrupt) or received.signal == signal.SIGINT
            if interrupted:
                print("microgradnet: interrupted", file=sys.stderr)
                status = INTERRUPTED
            elif isinstance(error, Terminated) or received.signal == signal.SIGTERM:
                print("microgradnet: terminated", file=sys.stderr)
                return TERMINATED
            else:
                raise
    if as_program and threading.current_thread() is threading.main_thread():
        _end_by_sigint()
    return status


# Note [ending by SIGINT]
# A program stopped by Ctrl-C should end by SIGINT, not by exit(130): a shell running it in a
# loop stops the loop only then. CPython does so itself under `python -m` whenever a
# KeyboardInterrupt passed through an exec() or eval() of a string on its way out (a dataclass
# or namedtuple being made by an import, say), even one caught later; otherwise it exits with
# the status returned. So the status depended on where the Ctrl-C landed. Ending by SIGINT
# every time, after the clean-up and the one line, makes it one answer, the conventional one.
def _end_by_sigint() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed file
            stream.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.raise_signal(signal.SIGINT)  # ends the process here: delivered to this thread


def _run(args: argparse.Namespace) -> int:
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CommandError as error:
        message = one_line(error)
    except OSError as error:  # what the system refused and no command foresaw
        where = f": {shown(error.filename)}" if error.filename is not None else ""
        message = f"{error.strerror or one_line(error)}{where}"
    print(f"microgradnet {args.command}: error: {message}", file=sys.stderr)
    return 2


class _Received:
    """The first stopping signal a command received (``None`` until one comes)."""

    signal: int | None = None


@contextlib.contextmanager
def _signals_stop_the_command(*, as_program: bool) -> Iterator[_Received]:
    """The first Ctrl-C raises KeyboardInterrupt, the first SIGTERM ``Terminated``; later ones
    are ignored, so a second quick Ctrl-C cannot break into the clean-up with a traceback.

    Run as the program, the signals stay ignored after an interruption (only the exit is left to
    do); called from Python, the caller's handlers come back.
    """
    received = _Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        if received.signal is not None:
            return
        received.signal = signum
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, stop)
    try:
        yield received
    finally:
        for number, handler in previous.items():
            if received.signal is not None and as_program:
                signal.signal(number, signal.SIG_IGN)
            elif handler is not None:
                signal.signal(number, handler)
