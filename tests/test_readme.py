"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example writing a file writes it here
    namespace: dict[str, object] = {"__name__": f"readme_example_{index}"}
    exec(compile(BLOCKS[index], f"README.md example {index}", "exec"), namespace)
    if "test_my_engine" in namespace:
        namespace["test_my_engine"]()  # the hypothesis example is a test: run it
