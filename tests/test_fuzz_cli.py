"""Fuzzing the command line's arguments, in process: any argv gives a clean exit, or one line on
stderr and a non-zero exit, never a traceback; a command that fails leaves no file or folder.

Training is replaced by a stand-in that stops the command where it would start training (the
arguments were all accepted by then): the fuzzing is of argument handling, not of training.
Run long with ``HYPOTHESIS_PROFILE=fuzz``; the ``ci`` profile runs a few dozen cases of each.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import microgradnet.train
from microgradnet.cli import _train, main
from microgradnet.expression import FUNCTIONS


class _WouldTrain(Exception):
    """Raised where the command would start training."""


def _stop(*args: object, **kwargs: object) -> None:
    raise _WouldTrain


@contextlib.contextmanager
def _sandbox() -> Iterator[str]:
    """A fresh working folder, and training replaced by the stand-in."""
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(microgradnet.train, "fit", _stop)
        patch.setattr(_train, "train_digits", _stop)
        yield folder


def run(argv: list[str]) -> None:
    with _sandbox() as folder:
        out, err = io.StringIO(), io.StringIO()
        status: int | str | None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exit_:  # argparse: --help, or a refused argument
                status = exit_.code
            except _WouldTrain:
                status = "would train"
        left = sorted(os.listdir(folder))
    errors = err.getvalue()
    assert "Traceback" not in errors
    if status in (0, "would train"):
        assert errors == "", errors
    else:
        assert status == 2, (status, errors)
        assert errors.count("\n") == 1 and errors.startswith("microgradnet"), errors
        assert len(errors) < 1000
    if status != 0:
        assert left == [], left  # nothing made by a command that did not finish
    elif argv[0] == "graph" and "--out" in argv and not out.getvalue().startswith("usage:"):
        assert len(left) == 1, left  # the drawing, and nothing else


# ----- argument values: numbers of every size, text, paths -----
numbers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=2**31).map(str),
    st.floats().map(repr),
    st.sampled_from(["0", "-1", "4294967295", "4294967296", "1e3", "0x10", "1_0", " 7 ", "٣"]),
)
texts = st.text(st.characters(codec="utf-8", exclude_characters="/"), max_size=20)
names = st.one_of(
    texts.filter(lambda s: s not in ("", ".", "..")),
    st.sampled_from(["out", "a" * 255, "a" * 256, "é" * 200, "x\x00y", "-", "--out", " "]),
)
paths = st.lists(names, min_size=1, max_size=3).map("/".join)
values = st.one_of(numbers, texts, paths)


def _options(options: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
    """Options in any order, some repeated, some without a value, some unknown."""
    pair = st.sampled_from(sorted(options)).flatmap(
        lambda name: st.tuples(st.just(name), options[name]).map(list)
    )
    stray = st.one_of(st.sampled_from(["--bogus", "-x", "--", "--help"]), values).map(lambda s: [s])
    return st.lists(st.one_of(pair, pair, pair, stray), max_size=5).map(
        lambda parts: [token for part in parts for token in part]
    )


DEMO = {"--out": st.one_of(paths, values), "--epochs": numbers, "--seed": numbers}
TRAIN = {
    "--model": st.sampled_from(["mlp", "cnn", "rnn", ""]),
    "--dataset": st.sampled_from(["digits", "mnist"]),
    "--epochs": numbers,
    "--seed": numbers,
    "--limit": numbers,
    "--out": st.one_of(paths, values),
}
expressions = st.one_of(
    st.lists(st.sampled_from(["a", "b", "*", "+", "(", ")", "2", *FUNCTIONS]), max_size=8).map(
        " ".join
    ),
    texts,
)
GRAPH = {
    "--var": st.one_of(
        st.tuples(st.sampled_from(["a", "b", "", "1x", "é"]), values).map("=".join), values
    ),
    "--out": st.one_of(
        st.tuples(names, st.sampled_from([".svg", ".html", ".PNG", ".txt", ""])).map("".join),
        paths,
    ),
    "--rankdir": st.sampled_from(["LR", "TB", "XY"]),
}


@given(_options(DEMO), st.booleans())
@example(["--out", "pictures", "--epochs", "99999999999999999999999"], False)
@example(["--out", "pictures", "--seed", "4294967296"], False)
@example(["--out", "a" * 300], False)
@example(["--out", "x\x00y"], False)
@example(["--out", "0", "a" * 255 + "/" + "a" * 255, "a" * 255], False)  # argparse lists them
def test_demo_arguments(options: list[str], quiet: bool) -> None:
    run(["demo", *options, *(["--no-progress"] if quiet else [])])


@given(_options(TRAIN))
@example(["--model", "mlp", "--epochs", "99999999999999999999999"])
@example(["--model", "mlp", "--out", "a/" + "b" * 256])
def test_train_arguments(options: list[str]) -> None:
    run(["train", *options])


@given(expressions, _options(GRAPH))
@example("a*b", ["--var", "a=1", "--var", "b=2", "--out", "a" * 300 + ".svg"])
@example("a*b", ["--var", "a=1", "--var", "b=1e999"])
def test_graph_arguments(expression: str, options: list[str]) -> None:
    run(["graph", expression, *options])
