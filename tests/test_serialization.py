"""state_dict, load_state_dict, save, load: round trips; failures leave everything as it was."""

from __future__ import annotations

import json
import os

import pytest

from microgradnet.nn import MLP, StateDictError


def _snapshot(model: MLP) -> list[tuple[str, float, float]]:
    return [(name, p.data, p.grad) for name, p in model.named_parameters()]


@pytest.fixture
def model() -> MLP:
    return MLP(2, [3, 1], seed=0)


def test_state_dict_round_trip(model: MLP) -> None:
    other = MLP(2, [3, 1], seed=1)
    assert other.state_dict() != model.state_dict()
    other.load_state_dict(model.state_dict())
    assert other.state_dict() == model.state_dict()
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert all(type(v) is float for v in state.values())


def test_save_load_round_trip_is_exact(model: MLP, tmp_path) -> None:
    model.layers[0].neurons[0].w[0].data = 0.1 + 0.2  # not representable in short decimal
    path = tmp_path / "model.json"
    model.save(path)
    other = MLP(2, [3, 1], seed=1)
    assert other.load(path) is other
    assert other.state_dict() == model.state_dict()
    document = json.loads(path.read_text())
    assert document["format"] == "microgradnet.state_dict"
    assert document["version"] == 1
    assert document["module"] == "MLP"
    assert document["num_parameters"] == 13
    model.save(str(path))  # str paths too, overwriting
    assert MLP(2, [3, 1], seed=2).load(str(path)).state_dict() == model.state_dict()


def _state_with(model: MLP, **changes) -> dict:
    state = model.state_dict()
    for key, value in changes.items():
        state[key.replace("__", ".")] = value
    return state


@pytest.mark.parametrize(
    ("make_state", "words"),
    [
        (
            lambda s: {k: v for k, v in s.items() if k != "layers.1.neurons.0.b"},
            ["missing", "layers.1.neurons.0.b"],
        ),
        (lambda s: {**s, "layers.2.neurons.0.b": 1.0}, ["unexpected", "layers.2.neurons.0.b"]),
        (lambda s: {**s, "layers.0.neurons.0.b": "0.5"}, ["layers.0.neurons.0.b", "str"]),
        (lambda s: {**s, "layers.0.neurons.0.b": None}, ["layers.0.neurons.0.b", "NoneType"]),
        (lambda s: {**s, "layers.0.neurons.0.b": True}, ["layers.0.neurons.0.b", "bool"]),
        (lambda s: {**s, "layers.0.neurons.0.b": [1.0]}, ["layers.0.neurons.0.b", "list"]),
        (lambda s: {**s, "layers.0.neurons.0.b": float("nan")}, ["layers.0.neurons.0.b", "nan"]),
        (lambda s: {**s, "layers.0.neurons.0.b": float("inf")}, ["layers.0.neurons.0.b", "inf"]),
        (lambda s: {**s, 7: 1.0}, ["unexpected", "7"]),
        (
            lambda s: MLP(2, [4, 1], seed=0).state_dict(),
            ["unexpected", "layers.0.neurons.3.w.0", "layers.1.neurons.0.w.3"],
        ),
        (
            lambda s: MLP(2, [2, 1], seed=0).state_dict(),
            ["missing", "layers.0.neurons.2.w.0", "layers.1.neurons.0.w.2"],
        ),
        (
            lambda s: MLP(3, [3, 1], seed=0).state_dict(),
            ["unexpected", "layers.0.neurons.0.w.2"],
        ),
    ],
)
def test_load_state_dict_failures_leave_model_unchanged(model: MLP, make_state, words) -> None:
    model.layers[0].neurons[0].w[0].grad = 0.5
    before = _snapshot(model)
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(make_state(model.state_dict()))
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)
    assert _snapshot(model) == before


def test_one_error_lists_every_problem(model: MLP) -> None:
    state = model.state_dict()
    del state["layers.0.neurons.0.w.0"]
    del state["layers.0.neurons.2.b"]
    state["layers.0.neurons.1.b"] = "x"
    state["layers.1.neurons.0.w.2"] = float("nan")
    state["extra.one"] = 1.0
    state["extra.two"] = 2.0
    before = _snapshot(model)
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    for name in (
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.2.b",
        "layers.0.neurons.1.b",
        "layers.1.neurons.0.w.2",
        "extra.one",
        "extra.two",
    ):
        assert name in message
    assert _snapshot(model) == before


def test_non_mapping_state_is_a_type_error(model: MLP) -> None:
    before = _snapshot(model)
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([("layers.0.neurons.0.b", 1.0)])
    assert _snapshot(model) == before


def _write(path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _document(model: MLP, **overrides) -> str:
    document = {
        "format": "microgradnet.state_dict",
        "version": 1,
        "module": "MLP",
        "num_parameters": model.num_parameters(),
        "parameters": model.state_dict(),
    }
    document.update(overrides)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            lambda m: '{"format": "microgradnet.state_dict", "version": 1, "param',
            ["not a valid JSON"],
        ),
        (lambda m: "", ["not a valid JSON"]),
        (lambda m: "[1, 2, 3]", ["not a microgradnet state dict"]),
        (lambda m: json.dumps({"weights": m.state_dict()}), ["not a microgradnet state dict"]),
        (lambda m: _document(m, format="torch"), ["not a microgradnet state dict"]),
        (lambda m: _document(m, version=2), ["version 2"]),
        (lambda m: _document(m, parameters=[1.0, 2.0]), ["'parameters'"]),
        (
            lambda m: _document(m, parameters={**m.state_dict(), "layers.0.neurons.0.b": "x"}),
            ["layers.0.neurons.0.b"],
        ),
        (
            lambda m: _document(m, parameters=MLP(2, [5, 1], seed=0).state_dict()),
            ["unexpected", "layers.0.neurons.4.b"],
        ),
        (lambda m: _document(m).replace("0.0", "NaN", 1), ["nan"]),
    ],
)
def test_load_failures_name_the_path_and_leave_model_unchanged(
    model: MLP, tmp_path, content, words
) -> None:
    path = tmp_path / "bad.json"
    _write(path, content(model))
    before = _snapshot(model)
    with pytest.raises(StateDictError) as info:
        model.load(path)
    assert str(path) in str(info.value)
    for word in words:
        assert word in str(info.value)
    assert _snapshot(model) == before


def test_load_of_binary_or_missing_file(model: MLP, tmp_path) -> None:
    before = _snapshot(model)
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x80\x04\x95 pickle-like \xff")
    with pytest.raises(StateDictError, match=r"model\.bin"):
        model.load(path)
    with pytest.raises(FileNotFoundError, match=r"absent\.json"):
        model.load(tmp_path / "absent.json")
    assert _snapshot(model) == before


@pytest.mark.parametrize("failing", ["json.dump", "os.replace", "os.fsync"])
def test_a_save_failing_midway_leaves_the_old_file_intact(
    model: MLP, tmp_path, monkeypatch, failing
) -> None:
    path = tmp_path / "model.json"
    model.save(path)
    old = path.read_bytes()
    model.layers[0].neurons[0].b.data = 123.0

    def fail(*args, **kwargs):
        if failing == "json.dump" and len(args) > 1:
            args[1].write('{"format": "microgradnet.state_dict", "ver')  # a partial write
        raise OSError(f"simulated failure in {failing}")

    module_name, attribute = failing.split(".")
    monkeypatch.setattr(f"microgradnet._serialization.{module_name}.{attribute}", fail)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.json"]  # no temporary file left behind


def test_save_refuses_non_finite_parameters_without_touching_the_file(model: MLP, tmp_path) -> None:
    path = tmp_path / "model.json"
    model.save(path)
    old = path.read_bytes()
    model.layers[1].neurons[0].b.data = float("nan")
    with pytest.raises(ValueError, match=r"layers\.1\.neurons\.0\.b"):
        model.save(path)
    assert path.read_bytes() == old


def test_save_into_missing_directory_raises(model: MLP, tmp_path) -> None:
    with pytest.raises(OSError):
        model.save(tmp_path / "no" / "such" / "dir.json")


def test_saved_file_is_readable_by_others(model: MLP, tmp_path) -> None:
    path = tmp_path / "model.json"
    model.save(path)
    assert path.stat().st_mode & 0o644 == 0o644
