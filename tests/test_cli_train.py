"""`microgradnet train`: a quick run writes a model that loads back; refusals exit non-zero."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from microgradnet import data
from microgradnet.cli import main
from microgradnet.cli._train import build_model
from microgradnet.train import evaluate


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_quick_run_writes_a_loadable_model(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["train", "--model", model, "--epochs", "2", "--limit", "64", "--out", str(out)]
    status = main([*argv, "--seed", "3", "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0
    assert "64 training and 450 held-out images" in printed
    assert "held-out accuracy:" in printed
    path = out / f"digits-{model}.json"
    assert path.is_file()
    saved = json.loads(path.read_text())
    assert saved["format"] == "microgradnet.state_dict"

    fresh = build_model(model, seed=99)
    before = fresh.state_dict()
    fresh.load(path)
    assert fresh.state_dict() != before
    assert fresh.state_dict() == saved["parameters"]
    # the loaded model scores what the command printed
    _, X_test, _, y_test = data.load_digits_split(images=model == "cnn")
    accuracy = evaluate(fresh, X_test, y_test)["accuracy"]
    assert f"held-out accuracy: {accuracy:.1%} ({round(accuracy * 450)}/450 images)" in printed
    # training moved the parameters away from their initial values (same seed)
    assert saved["parameters"] != build_model(model, seed=3).state_dict()


def test_same_seed_same_model(tmp_path: Path) -> None:
    for name in ("a", "b"):
        argv = ["train", "--model", "mlp", "--epochs", "1", "--limit", "32"]
        assert main([*argv, "--out", str(tmp_path / name), "--no-progress"]) == 0
    a = json.loads((tmp_path / "a" / "digits-mlp.json").read_text())
    b = json.loads((tmp_path / "b" / "digits-mlp.json").read_text())
    assert a["parameters"] == b["parameters"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "rnn"], "invalid choice: 'rnn'"),
        (["--model", "mlp", "--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["--model", "mlp", "--epochs", "0"], "must be at least 1, got 0"),
        (["--model", "mlp", "--limit", "x"], "'x' is not an integer"),
        (["--model", "mlp", "--seed", "-1"], "must be >= 0, got -1"),
        ([], "the following arguments are required: --model"),
    ],
)
def test_bad_arguments_are_refused(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_out_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["train", "--model", "mlp", "--limit", "8", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("microgradnet train: error: --out") and "is not a directory" in err
    assert "Traceback" not in err


def test_runs_as_a_subprocess(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "microgradnet", "train", "--model", "mlp", "--epochs", "1"]
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}  # show the bar
    result = subprocess.run(
        [*command, "--limit", "16", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "held-out accuracy:" in result.stdout
    assert (tmp_path / "digits-mlp.json").is_file()
    assert "training" in result.stderr  # the progress bar
