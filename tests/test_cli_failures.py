"""The command line under failure: one line on stderr, a non-zero exit, never a traceback, and no
output folder left behind by a command that failed. Signals are real (sent to a subprocess), and
so is a full disk where a small tmpfs can be mounted."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import in_small_filesystem

from microgradnet import _files
from microgradnet.cli import main

LONG = "a" * 300  # a file name longer than the 255 bytes file systems allow
QUICK_TRAIN = ["train", "--model", "mlp", "--epochs", "1", "--limit", "16", "--no-progress"]
QUICK_DEMO = ["demo", "--epochs", "1", "--no-progress"]


def _one_line_error(err: str, command: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"microgradnet {command}: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["graph", "a*b", "--var", "a=1", "--var", "b=2", "--out", f"{LONG}.svg"], "too long"),
        ([*QUICK_TRAIN, "--out", LONG], "too long"),
        ([*QUICK_DEMO, "--out", f"{LONG}/sub"], "too long"),
    ],
)
def test_an_out_name_longer_than_the_file_system_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv, words
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert words in _one_line_error(captured.err, argv[0])
    assert len(captured.err) < 300  # the name is shown shortened
    assert "trained" not in captured.out
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "mlp", "--epochs", "99999999999999999999999"], "at most 1000000"),
        (["train", "--model", "mlp", "--epochs", "1000001"], "must be at most 1000000"),
        (["train", "--model", "mlp", "--seed", "4294967296"], "must be at most 4294967295"),
        (["demo", "--out", "x", "--seed", "4294967296"], "must be at most 4294967295"),
        (["demo", "--out", "x", "--epochs", "9" * 5000], "too large"),
        (["train", "--model", "mlp", "--limit", "1e3"], "'1e3' is not an integer"),
        (["train", "--model", "mlp", "--limit", "--5"], "expected one argument"),
        (["graph"], "the following arguments are required: EXPR"),
    ],
)
def test_out_of_range_numbers_are_one_line_refusals(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv,
    message,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert f"(see microgradnet {argv[0]} --help)" in err
    assert os.listdir(tmp_path) == []


def test_the_largest_seed_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main([*QUICK_TRAIN, "--seed", "4294967295", "--out", str(out)]) == 0
    assert (out / "digits-mlp.json").is_file()


def _unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that refuses new files (EACCES), whoever runs the tests (root ignores modes)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    create = _files._create_temporary

    def refuse(directory: str) -> tuple[int, str]:
        if Path(directory).resolve().is_relative_to(folder.resolve()):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), directory)
        return create(directory)

    monkeypatch.setattr(_files, "_create_temporary", refuse)
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        [*QUICK_TRAIN, "--out", "{folder}"],
        [*QUICK_TRAIN, "--out", "{folder}/new/sub"],
        [*QUICK_DEMO, "--out", "{folder}"],
        ["graph", "a*b", "--var", "a=1", "--var", "b=2", "--out", "{folder}/g.svg"],
    ],
)
def test_an_unwritable_folder_is_refused_before_any_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv
) -> None:
    folder = _unwritable(tmp_path, monkeypatch)
    argv = [a.format(folder=folder) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Permission denied" in _one_line_error(captured.err, argv[0])
    assert "trained" not in captured.out and "out = " not in captured.out
    folder.chmod(0o755)
    assert os.listdir(folder) == []


def test_a_disk_full_after_training_is_one_line_and_the_new_folder_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The folder is writable when checked, then the disk fills up while the demo trains:
    # the second picture cannot be written.
    replace = os.replace

    def full_disk(source: str, target: str) -> None:
        if target.endswith("decision_boundary.png"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        replace(source, target)

    monkeypatch.setattr(_files.os, "replace", full_disk)
    out = tmp_path / "new" / "out"
    assert main([*QUICK_DEMO, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = _one_line_error(captured.err, "demo")
    assert "No space left on device" in err and "decision_boundary.png" in err
    assert "train accuracy" in captured.out
    assert os.listdir(tmp_path) == []  # loss.png, out and new were the command's: all removed


def test_a_failure_in_an_existing_folder_keeps_the_folder_and_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    (tmp_path / "decision_boundary.png").write_bytes(b"old picture")
    monkeypatch.setattr(_files.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "full")))
    assert main([*QUICK_DEMO, "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "demo")
    assert sorted(os.listdir(tmp_path)) == ["decision_boundary.png", "mine.txt"]
    assert (tmp_path / "decision_boundary.png").read_bytes() == b"old picture"


def test_a_really_full_disk_is_found_before_training(tmp_path: Path) -> None:
    # A tmpfs of 64 KiB, filled up; then `train --out` a folder on it.
    fill = "head -c 1000000 /dev/zero > filler 2>/dev/null; "
    command = [
        "sh",
        "-c",
        fill + 'exec "$@"',
        "sh",
        sys.executable,
        "-m",
        "microgradnet",
        *QUICK_TRAIN,
        "--out",
        "models",
    ]
    result = subprocess.run(
        in_small_filesystem(tmp_path, 64, command),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "No space left on device" in _one_line_error(result.stderr, "train")
    assert "trained" not in result.stdout


def _start(argv: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "microgradnet", *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(("digits:", "two moons:"))  # training started
    return process


@pytest.mark.parametrize("gap", [0.0, 0.01, 0.05])
def test_two_quick_ctrl_cs_are_one_line_and_leave_nothing(tmp_path: Path, gap: float) -> None:
    argv = ["train", "--model", "mlp", "--epochs", "1000", "--no-progress", "--out", "new/models"]
    process = _start(argv, tmp_path)
    process.send_signal(signal.SIGINT)
    time.sleep(gap)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert err == "microgradnet: interrupted\n"
    # Ended by SIGINT itself, every time (a shell reports 130, and a loop running it stops)
    assert process.returncode == -signal.SIGINT
    assert os.listdir(tmp_path) == []


def test_sigterm_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    process = _start(["demo", "--epochs", "1000", "--no-progress", "--out", "pictures"], tmp_path)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert err == "microgradnet: terminated\n"
    assert process.returncode == 143
    assert os.listdir(tmp_path) == []


def test_handlers_are_given_back_after_main(capsys: pytest.CaptureFixture[str]) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    assert main(["graph", "a*b", "--var", "a=1", "--var", "b=2"]) == 0
    assert {s: signal.getsignal(s) for s in before} == before


@pytest.mark.parametrize(
    ("signum", "status", "line"),
    [
        (signal.SIGTERM, 143, "microgradnet: terminated\n"),
        (signal.SIGINT, 130, "microgradnet: interrupted\n"),
    ],
)
def test_a_signal_turned_into_another_error_still_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signum: int,
    status: int,
    line: str,
) -> None:
    # A signal landing in an import of a C extension comes out as that import's own error
    # ("initialization failed"), not as the exception the handler raised.
    from microgradnet.cli import _graph

    def run(args: object) -> int:
        try:
            signal.raise_signal(signum)
        except BaseException as error:
            raise ImportError("numpy._core.multiarray failed to import") from error
        return 0

    monkeypatch.setattr(_graph, "run", run)
    assert main(["graph", "a", "--var", "a=1"]) == status
    assert capsys.readouterr().err == line
