"""state_dict, load_state_dict, save, load: round trips; failures leave everything as it was."""

from __future__ import annotations

import json
import os
from fractions import Fraction

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


@pytest.mark.parametrize("failing", ["json.dumps", "os.replace", "os.fsync"])
def test_a_save_failing_midway_leaves_the_old_file_intact(
    model: MLP, tmp_path, monkeypatch, failing
) -> None:
    path = tmp_path / "model.json"
    model.save(path)
    old = path.read_bytes()
    model.layers[0].neurons[0].b.data = 123.0

    def fail(*args, **kwargs):
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


def _tagged(parameters_json: str) -> str:
    return (
        '{"format": "microgradnet.state_dict", "version": 1, "parameters": ' + parameters_json + "}"
    )


MALFORMED = {
    "nesting bomb": "[" * 100_000 + "]" * 100_000,
    "nested parameters": _tagged('{"layers.0.neurons.0.b": ' + "[" * 50_000 + "]" * 50_000 + "}"),
    "400-digit integer": _tagged('{"layers.0.neurons.0.b": ' + "9" * 400 + "}"),
    "5000-digit integer": _tagged('{"layers.0.neurons.0.b": ' + "9" * 5000 + "}"),
    "huge exponent": _tagged('{"layers.0.neurons.0.b": 1e999999}'),
    "version true": _document(MLP(2, [3, 1], seed=0)).replace('"version": 1', '"version": true'),
    "version 1.0": _document(MLP(2, [3, 1], seed=0)).replace('"version": 1', '"version": 1.0'),
    "lone surrogate": _tagged('{"\\ud800": 1.0}'),
    "not UTF-8": '{"format": "\xff"}',
    "NUL bytes": "\x00" * 100,
}


@pytest.mark.parametrize("content", list(MALFORMED.values()), ids=list(MALFORMED))
def test_every_malformed_file_is_a_state_dict_error_naming_it(
    model: MLP, tmp_path, content: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    before = _snapshot(model)
    with pytest.raises(StateDictError) as info:
        model.load(path)
    assert str(path) in str(info.value)
    assert len(str(info.value)) < 1000
    assert _snapshot(model) == before


@pytest.mark.parametrize("key", ['"layers.0.neurons.0.b"', '"version"'])
def test_a_file_naming_a_key_twice_is_refused(model: MLP, tmp_path, key: str) -> None:
    # json.loads would keep the second value silently: the file is damaged, not ambiguous
    text = _document(model)
    assert text.count(key + ":") == 1
    path = tmp_path / "twice.json"
    path.write_text(text.replace(key + ":", f"{key}: 1.0, {key}:", 1))
    before = _snapshot(model)
    with pytest.raises(StateDictError, match="appears twice") as info:
        model.load(path)
    assert str(path) in str(info.value)
    assert _snapshot(model) == before


def test_messages_stay_short_whatever_the_file_holds(model: MLP, tmp_path) -> None:
    state = model.state_dict()
    state["k" * 20_000_000] = 1.0  # a 20 MB key
    for i in range(100_000):
        state[f"extra.{i}"] = 0.0
    state["layers.0.neurons.0.b"] = "v" * 1_000_000
    del state["layers.0.neurons.1.b"]
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert len(message) < 2000
    assert "kkkk" in message and "and 99991 more" in message and "layers.0.neurons.1.b" in message
    path = tmp_path / "big.json"
    path.write_text(
        _document(model, parameters=state, module="M" * 10_000_000, version="v" * 10**6)
    )
    with pytest.raises(StateDictError) as info:
        model.load(path)
    assert len(str(info.value)) < 1000 and "version" in str(info.value)
    path.write_text(_document(model, parameters=state, module="M" * 10_000_000))
    with pytest.raises(StateDictError) as info:
        model.load(path)
    assert len(str(info.value)) < 3000 and str(path) in str(info.value)


@pytest.mark.parametrize(
    "value",
    [10**400, -(10**5000), Fraction(10**400, 3), True, "1.0", [1.0], {"a": 1}, None, complex(1, 0)],
    ids=["400 digits", "5000 digits", "fraction", "bool", "str", "list", "dict", "None", "complex"],
)
def test_load_state_dict_refuses_values_that_are_not_finite_floats(model: MLP, value) -> None:
    state = {**model.state_dict(), "layers.0.neurons.0.b": value}
    before = _snapshot(model)
    with pytest.raises(StateDictError, match=r"layers\.0\.neurons\.0\.b"):
        model.load_state_dict(state)
    assert _snapshot(model) == before


def test_saving_through_a_symlink_keeps_the_link(model: MLP, tmp_path) -> None:
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "model-3.json"
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to("runs/model-3.json")
    model.save(link)
    assert link.is_symlink()
    assert MLP(2, [3, 1], seed=9).load(target).state_dict() == model.state_dict()


def test_a_model_of_another_shape_is_named_with_its_class(tmp_path) -> None:
    path = tmp_path / "m.json"
    MLP(2, [3, 1], seed=0).save(path)
    with pytest.raises(
        StateDictError, match=r"m\.json \(saved from an MLP\) does not fit this MLP"
    ):
        MLP(2, [4, 1], seed=0).load(path)
