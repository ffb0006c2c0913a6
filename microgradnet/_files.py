"""Writing files atomically: every file the library and the command line write goes through here.

``atomic_file(path)`` gives a binary file to write; the bytes land in a temporary file in the
target's own folder, which replaces the target (``os.replace``) only once all of it is written
and flushed to disk. So a reader sees the old file or the new one, never a part of either. See
Note [atomic writes].
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import BinaryIO, TypeAlias

__all__ = ["atomic_file", "check_writable", "write_bytes", "write_text"]

# Note [atomic writes]
# What a failed write leaves: the old file exactly as it was, no temporary file, and an OSError
# naming the path the caller gave (a full disk is "[Errno 28] No space left on device: 'g.svg'").
# * The temporary file sits in the target's folder, so os.replace is a rename within one file
#   system: atomic on POSIX. Its name is short and fixed in length (".microgradnet-<12 hex>.tmp"),
#   so a target whose name already uses the whole 255 bytes a file system allows still works.
# * A symlink is followed to the file it points to, which is replaced (what editors do): the link
#   stays a link. A link to nowhere creates its target.
# * A target that is there but is not a regular file (a FIFO, /dev/null, a terminal) is written
#   in place: nothing can be swapped in atomically, and os.replace would put a regular file
#   where the pipe or the device was (for root, even /dev/null).
# * A new file gets the permissions open() would give (0o666 less the umask: the temporary file
#   is created with exactly that mode); a replaced file keeps its own.
# * Removal on failure: any exception, KeyboardInterrupt included, unwinds through the write and
#   removes the temporary file. A signal whose action is to end the process at once (SIGTERM
#   and SIGINT by default, when Python has no handler for them) would skip that, so while a
#   temporary file exists the main thread handles them: it removes every temporary file being
#   written, restores the default action and sends itself the signal again, so the process still
#   ends by that signal. A handler already installed (Python's own KeyboardInterrupt, the command
#   line's) is called as before; the exception it raises unwinds through the write.

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_Handler: TypeAlias = "Callable[[int, FrameType | None], object] | int | None"

_lock = threading.Lock()
_live: set[str] = set()  # temporary files being written, by any thread
_replaced: dict[int, _Handler] = {}  # signal -> the handler ours stands in for (main thread)
_depth = 0  # writes in progress in the main thread


def _remove_live() -> None:
    with _lock:
        names = list(_live)
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    previous = _replaced.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)  # e.g. raises KeyboardInterrupt: the write removes its own file
        return
    _remove_live()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@contextlib.contextmanager
def _signals_handled() -> Iterator[None]:
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth == 0:
        for signum in _SIGNALS:
            previous = signal.getsignal(signum)
            if previous is not None and previous != signal.SIG_IGN:
                _replaced[signum] = previous
                signal.signal(signum, _on_signal)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for number, previous in _replaced.items():
                if signal.getsignal(number) is _on_signal:
                    signal.signal(number, previous)
            _replaced.clear()


def _target(given: str) -> str:
    """The file to replace: ``given`` with every symlink followed."""
    target = os.path.realpath(given)
    if os.path.islink(target):  # realpath stops on a loop of links
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), given)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), given)
    return target


def _is_special(target: str) -> bool:
    """Whether ``target`` exists and is not a regular file (a FIFO, a device)."""
    try:
        return not stat.S_ISREG(os.stat(target).st_mode)
    except FileNotFoundError:
        return False


_PREFIX, _SUFFIX = ".microgradnet-", ".tmp"


def _create_temporary(directory: str) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        name = os.path.join(directory, f"{_PREFIX}{secrets.token_hex(6)}{_SUFFIX}")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue


def _naming(error: OSError, given: str, temporary: str | None) -> OSError:
    """``error`` naming the path the caller gave, not the temporary file."""
    name = error.filename
    ours = name is None or name == temporary
    if isinstance(name, str):
        ours = ours or (os.path.basename(name).startswith(_PREFIX) and name.endswith(_SUFFIX))
    if error.errno is None or not ours:
        return error
    return OSError(error.errno, error.strerror or os.strerror(error.errno), given)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file whose content replaces ``path`` only once all of it is written.

    Args:
        path: the file to write; a symlink is followed, and its target replaced.

    Yields:
        The open temporary file, in the same folder as the target.

    Raises:
        OSError: the folder is missing or not writable, the disk is full, the path is a folder,
            ...: the message names ``path``; the old file is intact and no temporary file is
            left. An exception raised while writing is passed on, with the same guarantees.

    Example:
        >>> with atomic_file("model.json") as file:  # doctest: +SKIP
        ...     file.write(b"{}")
    """
    given = os.fspath(path)
    temporary: str | None = None
    try:
        target = _target(given)
        if _is_special(target):
            with open(target, "wb") as file:
                yield file
            return
        with _signals_handled():
            fd, temporary = _create_temporary(os.path.dirname(target))
            with _lock:
                _live.add(temporary)
            try:
                with os.fdopen(fd, "wb") as file:
                    with contextlib.suppress(FileNotFoundError):
                        os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
                    yield file
                    file.flush()
                    os.fsync(fd)
                os.replace(temporary, target)
                _sync_folder(os.path.dirname(target))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
            finally:
                with _lock:
                    _live.discard(temporary)
    except OSError as error:
        raise _naming(error, given, temporary) from error


def _sync_folder(directory: str) -> None:
    # The rename itself survives a power cut only once the folder is on disk too.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`); returns it as a Path."""
    with atomic_file(path) as file:
        file.write(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` as UTF-8, atomically; returns it as a Path."""
    return write_bytes(path, text.encode("utf-8"))


def check_writable(directory: str | os.PathLike[str]) -> None:
    """Write a few bytes to a temporary file in ``directory`` and remove it.

    Raises:
        OSError: the folder cannot take a new file (missing, not writable, full, read-only),
            naming ``directory``.
    """
    given = os.fspath(directory)
    temporary: str | None = None
    try:
        with _signals_handled():
            fd, temporary = _create_temporary(given)
            with _lock:
                _live.add(temporary)
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(b"microgradnet: checking that this folder is writable\n")
                    file.flush()
                    os.fsync(fd)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                with _lock:
                    _live.discard(temporary)
    except OSError as error:
        raise _naming(error, given, temporary) from error
