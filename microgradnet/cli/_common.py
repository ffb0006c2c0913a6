"""What every subcommand shares: the one-line error, the argument types and the output folder.

The subcommand modules import this module, never the package above them, so the command line's
imports run one way: ``microgradnet.cli`` -> each subcommand -> this module.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, TypeAlias

from .._files import check_writable

__all__ = [
    "MAX_EPOCHS",
    "MAX_SEED",
    "CommandError",
    "OutputFolder",
    "Parser",
    "Subparsers",
    "Terminated",
    "cannot_write",
    "integer_in",
    "one_line",
    "output_file",
    "output_folder",
    "shown",
]

MAX_EPOCHS = 1_000_000
MAX_SEED = 2**32 - 1  # scikit-learn's data generators take seeds below 2**32
_INTEGER = re.compile(r"\s*[+-]?([0-9]+)\s*")
_MAX_DIGITS = 30  # longer numbers are refused before int() reads them
_MAX_SHOWN = 80  # characters of a user's text shown in a message
_MAX_MESSAGE = 300  # characters of argparse's message (it lists every unrecognised argument)

# What ``ArgumentParser.add_subparsers`` returns: each subcommand adds its parser to it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class Terminated(BaseException):
    """The process received SIGTERM: unwind (removing what the command started), exit 143."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: the usage is one ``--help`` away."""

    def error(self, message: str) -> NoReturn:
        message = one_line(message)
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 1] + "…"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def one_line(error: BaseException | str) -> str:
    """An error's message on one line (whitespace and newlines collapsed)."""
    return " ".join(str(error).split())


def shown(text: str | bytes | os.PathLike[str] | None) -> str:
    """A user's text (a path, a number) quoted for a message, its middle cut when too long (a
    path's end, the file's name, stays readable)."""
    text = os.fsdecode(text) if text is not None else ""
    if len(text) > _MAX_SHOWN:
        head = _MAX_SHOWN // 3
        text = text[:head] + "…" + text[len(text) - (_MAX_SHOWN - head - 1) :]
    return repr(text)


def integer_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (no upper bound when ``None``)."""

    def integer(text: str) -> int:
        match = _INTEGER.fullmatch(text)
        if match is None:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not an integer")
        if len(match.group(1)) > _MAX_DIGITS:
            raise argparse.ArgumentTypeError(f"{shown(text)} is too large")
        value = int(text)
        if value < low:
            least = "at least 1" if low == 1 else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {least}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {value}")
        return value

    integer.__name__ = "integer"
    return integer


def cannot_write(error: OSError) -> CommandError:
    """A one-line error for a file that could not be written (a full disk, no permission)."""
    what = shown(error.filename) if error.filename is not None else "the output"
    return CommandError(f"cannot write {what}: {error.strerror or one_line(error)}")


def _describe(path: Path) -> str | None:
    """``"folder"``, ``"file"`` or ``None`` (nothing there); an error for a name refused."""
    if "\x00" in str(path):  # pathlib would answer "does not exist"; mkdir, a ValueError
        raise CommandError(f"--out {shown(path)}: a path cannot hold a NUL character")
    try:
        is_folder = path.is_dir()
        exists = is_folder or path.exists()
    except OSError as error:  # a name longer than the file system allows, a loop of links
        raise CommandError(f"--out {shown(path)}: {error.strerror or one_line(error)}") from None
    return "folder" if is_folder else "file" if exists else None


def output_file(out: str) -> Path:
    """The ``--out`` file: in an existing, writable folder; not a folder itself."""
    path = Path(out)
    if _describe(path) == "folder":
        raise CommandError(f"--out {shown(out)} is a folder, not a file")
    if _describe(path.parent) != "folder":
        raise CommandError(f"--out {shown(out)}: the folder {shown(path.parent)} does not exist")
    try:
        check_writable(path.parent)
    except OSError as error:
        raise CommandError(
            f"--out {shown(out)}: cannot write in its folder ({error.strerror})"
        ) from None
    return path


class OutputFolder:
    """The ``--out`` folder of a command, and what the command created in it.

    Attributes:
        path: the folder.
        created: the folders the command made (the deepest last); removed if it fails.
        written: the files the command wrote; removed if it fails in a folder it made.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.created: list[Path] = []
        self.written: list[Path] = []

    def file(self, name: str) -> Path:
        """A file the command is about to write; refused if a folder of that name is there."""
        path = self.path / name
        if _describe(path) == "folder":
            raise CommandError(f"cannot write {shown(path)}: it is a folder")
        return path

    def wrote(self, path: Path) -> None:
        self.written.append(path)

    def undo(self) -> None:
        """Remove what the command created: its files in new folders, then the new folders."""
        if not self.created:
            return
        for path in self.written:
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: nothing of anyone else's is removed


@contextlib.contextmanager
def output_folder(out: str) -> Iterator[OutputFolder]:
    """The ``--out`` folder, created if missing and checked writable, before any work is done.

    If the command fails (an error, Ctrl-C, SIGTERM), the folders it created and the files it
    wrote in them are removed, so a failed command leaves no new folder behind.
    """
    folder = OutputFolder(Path(out))
    try:
        kind = _describe(folder.path)
        if kind == "file":
            raise CommandError(f"--out {shown(out)} exists and is not a directory")
        if kind is None:
            _make_folders(folder)
        try:
            check_writable(folder.path)
        except OSError as error:
            raise CommandError(
                f"--out {shown(out)}: cannot write in it ({error.strerror})"
            ) from None
        yield folder
    except BaseException:
        folder.undo()
        raise


def _make_folders(folder: OutputFolder) -> None:
    missing = []
    parent = folder.path.absolute()
    while _describe(parent) is None:
        missing.append(parent)
        parent = parent.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        except OSError as error:
            raise CommandError(
                f"--out {shown(str(folder.path))}: cannot create the directory ({error.strerror})"
            ) from None
        folder.created.append(path)
