"""`microgradnet demo`: trains, reports accuracy, writes valid PNG, SVG and GIF files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import require_dot
from matplotlib.image import imread
from PIL import Image

from microgradnet.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_trains_and_writes_its_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    require_dot()
    out = tmp_path / "new" / "dir"  # created, parents included
    assert main(["demo", "--out", str(out), "--epochs", "20", "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    train = re.search(r"train accuracy: ([\d.]+)%", printed)
    held_out = re.search(r"held-out accuracy: ([\d.]+)%", printed)
    assert train is not None and held_out is not None, printed
    assert float(held_out.group(1)) >= 97.0
    assert float(train.group(1)) >= 97.0

    for name in ("loss.png", "decision_boundary.png"):
        path = out / name
        assert path.read_bytes()[:8] == PNG_MAGIC
        image = imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 200
        assert image.std() > 0.05  # a drawing, not a blank canvas
    svg = ET.parse(out / "neuron.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for label in ("w0", "w1", "x0", "x1", "b", "out", "relu"):
        assert re.search(rf"\b{label}\b", text), label
    # the trained network: a node per neuron and an edge per weight of MLP(2, [16, 16, 1])
    network = ET.parse(out / "network.svg").getroot()
    groups = [g.get("class") for g in network.iter("{http://www.w3.org/2000/svg}g")]
    assert groups.count("node") == 2 + 16 + 16 + 1
    assert groups.count("edge") == 2 * 16 + 16 * 16 + 16
    # the film: the untrained boundary, then every 2nd of the 20 epochs
    with Image.open(out / "training.gif") as film:
        assert film.format == "GIF" and film.n_frames == 1 + 10
    assert sorted(p.name for p in out.iterdir()) == [
        "decision_boundary.png",
        "loss.png",
        "network.svg",
        "neuron.svg",
        "training.gif",
    ]


def test_demo_refuses_a_file_as_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    existing = tmp_path / "taken.txt"
    existing.write_text("keep me")
    assert main(["demo", "--out", str(existing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "exists and is not a directory" in err and "Traceback" not in err
    assert existing.read_text() == "keep me"


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--epochs", "x"], ["--seed", "-1"]])
def test_demo_rejects_bad_numbers(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--out", str(tmp_path), *argv])
    assert exit_info.value.code == 2
    assert "error: argument" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
