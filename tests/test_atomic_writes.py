"""Atomic writes: every file the library writes replaces the old one whole, or not at all.

A failed write (a full disk, a killed process) leaves the old file exactly as it was, no
temporary file, and an error naming the path. Failures are real where the machine allows: a
file-size limit (EFBIG from the kernel), a full tmpfs, SIGTERM and SIGINT sent to a process.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import os
import resource
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import in_small_filesystem, require_dot

import microgradnet
from microgradnet import Value, _files
from microgradnet.nn import MLP
from microgradnet.viz import backprop_html, backprop_player, render

PACKAGE = Path(microgradnet.__file__).parent
OLD = b"the old, good file\n"


def _graph() -> Value:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = (a * b).tanh()
    out.backward()
    return out


def _render(path: Path) -> object:
    require_dot()
    return render(_graph(), path)


def _player(path: Path) -> object:
    require_dot()
    return backprop_player(_graph()).save(path)


def _backprop_html(path: Path) -> object:
    require_dot()
    return backprop_html(_graph(), path)


def _module_save(path: Path) -> object:
    MLP(2, [3, 1], seed=0).save(path)
    return path


WRITERS: dict[str, Callable[[Path], object]] = {
    "write_bytes": lambda path: _files.write_bytes(path, b"new content"),
    "render": _render,
    "player.save": _player,
    "backprop_html": _backprop_html,
    "Module.save": _module_save,
}
NAMES = {"render": "g.svg", "player.save": "p.html", "backprop_html": "p.html"}


def _target(tmp_path: Path, writer: str) -> Path:
    return tmp_path / NAMES.get(writer, "model.json")


class _DiskFillsUp:
    """A file that takes ``room`` bytes, then fails as a full disk does (ENOSPC)."""

    def __init__(self, file: Any, room: int) -> None:
        self._file, self._room = file, room

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            self._file.write(bytes(data)[: self._room])  # a partial write reaches the disk
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return int(self._file.write(data))

    def __enter__(self) -> _DiskFillsUp:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def _fail(failure: str, monkeypatch: pytest.MonkeyPatch) -> None:
    enospc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if failure == "write":
        fdopen = os.fdopen
        monkeypatch.setattr(_files.os, "fdopen", lambda fd, mode: _DiskFillsUp(fdopen(fd, mode), 5))
    elif failure == "fsync":
        monkeypatch.setattr(_files.os, "fsync", lambda fd: (_ for _ in ()).throw(enospc))
    else:
        monkeypatch.setattr(_files.os, "replace", lambda a, b: (_ for _ in ()).throw(enospc))


@pytest.mark.parametrize("failure", ["write", "fsync", "replace"])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_failed_write_keeps_the_old_file_and_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str, failure: str
) -> None:
    target = _target(tmp_path, writer)
    target.write_bytes(OLD)
    _fail(failure, monkeypatch)
    with pytest.raises(OSError) as info:
        WRITERS[writer](target)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert str(target) in str(info.value)  # "[Errno 28] No space left on device: '.../g.svg'"
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == [target.name]  # no temporary file left
    WRITERS[writer](target)  # and the same write works once the disk has room
    assert target.read_bytes() != OLD


def test_an_error_raised_while_writing_is_passed_on_and_nothing_is_left(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(OLD)
    with pytest.raises(ZeroDivisionError), _files.atomic_file(target) as file:
        file.write(b"half a ")
        _ = 1 / 0
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["f.bin"]


def test_permissions_new_files_as_open_does_replaced_files_keep_theirs(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        new = _files.write_bytes(tmp_path / "new.bin", b"x")
        assert new.stat().st_mode & 0o777 == 0o644
        private = tmp_path / "private.json"
        private.write_bytes(OLD)
        private.chmod(0o600)
        MLP(2, [1], seed=0).save(private)
        assert private.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


@pytest.mark.parametrize("writer", list(WRITERS))
def test_writing_through_a_symlink_replaces_its_target(tmp_path: Path, writer: str) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = _target(real, writer)
    target.write_bytes(OLD)
    link = tmp_path / ("link" + target.suffix)
    link.symlink_to(os.path.relpath(target, tmp_path))
    WRITERS[writer](link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path)
    assert target.read_bytes() != OLD
    assert sorted(os.listdir(real)) == [target.name]  # the temporary file was beside the target


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_fifo_is_written_into_not_replaced(tmp_path: Path, writer: str) -> None:
    # Nothing can be swapped in for a pipe or a device (/dev/null): it is written in place, and
    # stays what it was. (Tried on a FIFO: replacing /dev/null, as root, would break the machine.)
    fifo = tmp_path / ("pipe" + _target(tmp_path, writer).suffix)
    os.mkfifo(fifo)
    link = tmp_path / ("link" + fifo.suffix)
    link.symlink_to(fifo.name)
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        WRITERS[writer](link)
    finally:
        # If the writer failed before opening the pipe, free the reader still waiting in open().
        # Non-blocking: with no reader left (it read and is on its way out), open fails at once
        # instead of waiting for a reader that never comes.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()
    reader.join(timeout=60)
    assert read and len(read[0]) > 0
    assert sorted(os.listdir(tmp_path)) == sorted([fifo.name, link.name])


def test_a_link_to_nowhere_creates_its_target_and_a_loop_is_refused(tmp_path: Path) -> None:
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("made.json")
    _module_save(dangling)
    assert dangling.is_symlink() and (tmp_path / "made.json").is_file()
    loop = tmp_path / "loop.json"
    loop.symlink_to("loop.json")
    with pytest.raises(OSError, match=r"loop\.json") as info:
        _module_save(loop)
    assert info.value.errno == errno.ELOOP
    assert loop.is_symlink()


@pytest.mark.parametrize("stem", ["a" * 250, "é" * 125])  # 255 bytes with ".json"
def test_a_name_of_255_bytes_works_and_256_bytes_names_the_path(tmp_path: Path, stem: str) -> None:
    target = tmp_path / f"{stem}.json"
    assert len(os.fsencode(target.name)) == 255
    _module_save(target)
    MLP(2, [3, 1], seed=5).load(target)
    too_long = tmp_path / f"{stem}x.json"
    with pytest.raises(OSError) as info:
        _module_save(too_long)
    assert info.value.errno == errno.ENAMETOOLONG and info.value.filename == str(too_long)
    assert os.listdir(tmp_path) == [target.name]


def test_a_folder_or_a_missing_folder_is_an_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        _files.write_bytes(tmp_path, b"x")
    missing = tmp_path / "no" / "g.json"
    with pytest.raises(FileNotFoundError, match=r"no/g\.json"):
        _module_save(missing)
    assert os.listdir(tmp_path) == []


def _python(script: str, *args: str, **kwargs: Any) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(script), *args]


# A model whose file is far larger than the limits below.
_SAVE_BIG_MODEL = """
    import errno, resource, signal, sys
    from microgradnet.nn import MLP
    model = MLP(64, [64, 64, 10], seed=0)
    {limit}
    try:
        model.save(sys.argv[1])
    except OSError as error:
        print(errno.errorcode[error.errno], error.filename)
    else:
        print("saved")
"""


def test_a_real_file_size_limit_keeps_the_old_file(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the kernel refuse writes past 64 KiB with EFBIG, a real failure
    # midway through the file, with no privilege needed.
    target = tmp_path / "model.json"
    target.write_bytes(OLD)
    limit = (
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, resource.getrlimit("
        "resource.RLIMIT_FSIZE)[1]))"
    )
    script = _SAVE_BIG_MODEL.format(limit=limit)
    result = subprocess.run(
        _python(script, str(target)), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.split() == ["EFBIG", str(target)], result.stderr
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["model.json"]
    assert resource.RLIMIT_FSIZE  # the limit applied to the child only


def test_a_really_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    # A 192 KiB tmpfs holding the old file and a filler that takes the rest.
    script = (
        "import pathlib; pathlib.Path('model.json').write_bytes(b'old\\n')\n"
        "f = open('filler', 'wb')\n"
        "try:\n"
        "    while True: f.write(b'x' * 4096); f.flush()\n"
        "except OSError: pass\n"
        + textwrap.dedent(_SAVE_BIG_MODEL.format(limit=""))
        + "import os; print(sorted(os.listdir('.')), open('model.json').read().strip())\n"
    )
    command = in_small_filesystem(tmp_path, 192, [sys.executable, "-c", script, "model.json"])
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == ["ENOSPC model.json", "['filler', 'model.json'] old"], result.stdout


_SLOW_WRITE = """
    import signal, sys, time
    from microgradnet import _files
    if sys.argv[2] == "handled":
        signal.signal(signal.SIGTERM, lambda signum, frame: print("handled", flush=True))
    with _files.atomic_file(sys.argv[1]) as file:
        file.write(b"the new file, half written")
        file.flush()
        print("writing", flush=True)
        time.sleep(float(sys.argv[3]))
    print("done", flush=True)
"""


def _write_and_signal(target: Path, signum: int, mode: str, sleep: float) -> tuple[int, str]:
    process = subprocess.Popen(
        _python(_SLOW_WRITE, str(target), mode, str(sleep)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "writing\n"
    assert len(os.listdir(target.parent)) == 2  # the temporary file is there
    process.send_signal(signum)
    out, _ = process.communicate(timeout=60)
    return process.returncode, out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_write_removes_its_temporary_file(tmp_path: Path, signum: int) -> None:
    target = tmp_path / "g.svg"
    target.write_bytes(OLD)
    status, out = _write_and_signal(target, signum, "default", 60)
    assert status == -signum  # the process still ends by the signal
    assert "done" not in out
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["g.svg"]


def test_a_handler_that_lets_the_program_go_on_lets_the_write_finish(tmp_path: Path) -> None:
    target = tmp_path / "g.svg"
    target.write_bytes(OLD)
    status, out = _write_and_signal(target, signal.SIGTERM, "handled", 1)
    assert status == 0 and out.split() == ["handled", "done"]
    assert target.read_bytes() == b"the new file, half written"
    assert os.listdir(tmp_path) == ["g.svg"]


def test_signal_handlers_are_given_back_after_a_write(tmp_path: Path) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with _files.atomic_file(tmp_path / "f") as file:
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
        file.write(b"x")
    assert {s: signal.getsignal(s) for s in before} == before


# ----- every write goes through the one helper -----
_PATH_WRITERS = {"write_text", "write_bytes"}  # Path's methods (ours are plain functions)
_OS_WRITERS = {"open", "replace", "rename", "move", "copy", "copyfile", "copy2"}
_TEMPORARY_FILES = {"mkstemp", "NamedTemporaryFile", "TemporaryFile"}


def _writes_outside_the_helper(tree: ast.AST) -> list[str]:
    """Calls that write a file other than through ``_files``: open() for writing, Path's
    writers, temporary files, renames, and ``savefig`` to anything but an atomic file."""
    atomic = {
        item.optional_vars.id
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.optional_vars, ast.Name)
        and isinstance(item.context_expr, ast.Call)
        and getattr(item.context_expr.func, "id", None) == "atomic_file"
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
        if name == "open" and isinstance(func, ast.Name):
            mode = node.args[1] if len(node.args) > 1 else None
            mode = next((k.value for k in node.keywords if k.arg == "mode"), mode)
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+"):
                found.append(f"line {node.lineno}: open(..., {mode.value!r})")
        elif owner in ("os", "shutil") and name in _OS_WRITERS:
            found.append(f"line {node.lineno}: {owner}.{name}")
        elif (
            isinstance(func, ast.Attribute) and name in _PATH_WRITERS
        ) or name in _TEMPORARY_FILES:
            found.append(f"line {node.lineno}: {name}")
        elif name == "savefig":
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Name) and first.id in atomic):
                found.append(f"line {node.lineno}: savefig to a path")
    return found


def test_no_file_is_written_but_through_the_atomic_helper() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_files.py":
            continue
        found = _writes_outside_the_helper(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offenders[str(path.relative_to(PACKAGE))] = found
    assert offenders == {}


def test_the_scan_finds_each_kind_of_direct_write() -> None:
    source = """
def f(p, fig, text):
    open(p, "w").write(text)
    open(p, mode="ab")
    p.write_text(text)
    os.open(p, 0)
    os.replace(p, p)
    tempfile.mkstemp()
    text.replace("a", "b")
    write_text(p, text)
    fig.savefig(p)
    with atomic_file(p) as file:
        fig.savefig(file)
    open(p)
"""
    found = _writes_outside_the_helper(ast.parse(source))
    assert sorted(line.split(": ")[1] for line in found) == [
        "mkstemp",
        "open(..., 'ab')",
        "open(..., 'w')",
        "os.open",
        "os.replace",
        "savefig to a path",
        "write_text",
    ]
