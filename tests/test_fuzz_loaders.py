"""Fuzzing the loaders: any file, any state dict, gives the model it describes exactly, or one
StateDictError (naming the file) of bounded length, with the model left as it was.

Run long with ``HYPOTHESIS_PROFILE=fuzz``; the ``ci`` profile runs a few dozen cases of each.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from microgradnet.nn import MLP, StateDictError

MAX_MESSAGE = 3000  # characters, whatever the file holds
# Files go to memory where the machine has it: a save's fsync then costs nothing.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _model() -> MLP:
    return MLP(2, [2, 1], seed=0)  # 9 parameters: small enough to hit every name often


NAMES = [name for name, _ in _model().named_parameters()]
VALID = json.loads(json.dumps({"format": "microgradnet.state_dict", "version": 1}))


def _snapshot(model: MLP) -> list[tuple[str, float]]:
    return [(name, p.data) for name, p in model.named_parameters()]


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)  # compares -0.0 and 0.0 apart


@contextmanager
def _file(content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        path = Path(folder) / "model.json"
        path.write_bytes(content)
        yield path


def load_or_refuse(content: bytes) -> None:
    """Load ``content``: the model holds exactly the file's numbers, or is unchanged."""
    model = _model()
    before = _snapshot(model)
    with _file(content) as path:
        try:
            model.load(path)
        except StateDictError as error:
            message = str(error)
            assert str(path) in message and len(message) <= MAX_MESSAGE
            assert _snapshot(model) == before
            return
    parameters = json.loads(content)["parameters"]
    assert [(name, _bits(p.data)) for name, p in model.named_parameters()] == [
        (name, _bits(float(parameters[name]))) for name in NAMES
    ]


# ----- JSON of any shape, names and values that are nearly right -----
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=30))
numbers = st.one_of(
    st.floats(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, 2**53 + 1]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
parameters = st.one_of(
    st.dictionaries(names, st.one_of(numbers, json_values), max_size=12),
    st.fixed_dictionaries({name: numbers for name in NAMES}),  # every name: often loadable
    json_values,
)
documents = st.one_of(
    st.builds(lambda p: {**VALID, "parameters": p, "module": "MLP"}, parameters),
    st.dictionaries(
        st.sampled_from(["format", "version", "module", "parameters", "num_parameters"]),
        json_values,
    ),
    json_values,
)


def _dumps(document: object) -> bytes:
    # JSON allows numbers Python writes as NaN / Infinity only with allow_nan; keep them.
    return json.dumps(document).encode()


@given(documents)
def test_any_json_document_loads_exactly_or_is_refused(document: object) -> None:
    load_or_refuse(_dumps(document))


@given(st.binary(max_size=300))
@example(b"[" * 100_000)
@example(b'{"format": "microgradnet.state_dict", "version": 1, "parameters": {"a": ' + b"9" * 5000)
@example(b"\xef\xbb\xbf{}")  # a byte-order mark
@example(b"")
def test_any_bytes_are_refused(content: bytes) -> None:
    load_or_refuse(content)


def _saved() -> bytes:
    model = MLP(2, [2, 1], seed=1)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        path = Path(folder) / "m.json"
        model.save(path)
        return path.read_bytes()


SAVED = _saved()


@st.composite
def mutations(draw: st.DrawFn) -> bytes:
    """A saved file, cut, with bytes flipped, or with bytes put in."""
    content = bytearray(SAVED)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(content)))
        kind = draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
        if kind == "cut":
            del content[where:]
        elif kind == "flip" and where < len(content):
            content[where] = draw(st.integers(0, 255))
        elif kind == "insert":
            content[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif where < len(content):
            del content[where]
    return bytes(content)


@given(mutations())
def test_a_damaged_file_loads_exactly_what_it_says_or_is_refused(content: bytes) -> None:
    load_or_refuse(content)


# ----- load_state_dict, from Python -----
anything = st.one_of(json_values, st.complex_numbers(), st.fractions(), st.binary(max_size=4))


@given(st.dictionaries(st.one_of(names, st.integers(), st.none()), anything, max_size=12))
def test_any_mapping_loads_exactly_or_is_refused(state: dict[object, object]) -> None:
    model = _model()
    before = _snapshot(model)
    try:
        model.load_state_dict(state)  # type: ignore[arg-type]
    except StateDictError as error:
        assert len(str(error)) <= MAX_MESSAGE
        assert _snapshot(model) == before
        return
    assert [p.data for _, p in model.named_parameters()] == [float(state[n]) for n in NAMES]  # type: ignore[arg-type]
    assert all(math.isfinite(p.data) for p in model.parameters())


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=9, max_size=9))
def test_every_finite_float_survives_a_save_and_a_load_bit_for_bit(values: list[float]) -> None:
    model, other = _model(), MLP(2, [2, 1], seed=7)
    for p, x in zip(model.parameters(), values, strict=True):
        p.data = x
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        path = os.path.join(folder, "m.json")
        model.save(path)
        other.load(path)
    assert [_bits(p.data) for p in other.parameters()] == [_bits(x) for x in values]
