"""State-dict validation and the JSON file format behind ``Module.save`` / ``Module.load``.

A file looks like::

    {"format": "microgradnet.state_dict", "version": 1, "module": "MLP",
     "num_parameters": 337, "parameters": {"layers.0.neurons.0.w.0": 0.12, ...}}

Nothing here mutates a model: callers validate first, then assign.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._files import write_text

__all__ = ["FORMAT", "VERSION", "StateDictError", "checked_state", "read_state", "write_state"]

FORMAT = "microgradnet.state_dict"
VERSION = 1
# A message stays short whatever the file holds: at most this many names (the rest are counted),
# each shown to at most _MAX_SHOWN_CHARS characters.
_MAX_SHOWN_NAMES = 10
_MAX_SHOWN_CHARS = 80


class StateDictError(ValueError):
    """A state dict or a saved file that does not fit the model; the model was left unchanged."""


def _short(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN_CHARS else text[: _MAX_SHOWN_CHARS - 1] + "…"


def _shown(x: object) -> str:
    """``repr(x)`` of a name or a number, shortened; a long string is cut before its repr."""
    if isinstance(x, str):
        return _short(repr(x[:_MAX_SHOWN_CHARS]))
    if isinstance(x, int | float | None):
        return _short(repr(x)) if not isinstance(x, int) or x.bit_length() < 256 else "a huge int"
    return type(x).__name__  # never the repr of a container: it may be nested thousands deep


def _listed(items: Sequence[str], total: int) -> str:
    more = total - len(items)
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


def _names(keys: Sequence[object]) -> str:
    return _listed([_shown(k) for k in keys[:_MAX_SHOWN_NAMES]], len(keys))


def _problem(name: str, raw: object) -> str | None:
    """What is wrong with ``raw`` as a parameter's value, or ``None``."""
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        shown = f" {_shown(raw)}" if isinstance(raw, str) else ""
        return f"{_shown(name)} is {type(raw).__name__}{shown}, expected a real number"
    try:
        value = float(raw)
    except (OverflowError, ValueError, TypeError):  # e.g. an integer of 400 digits
        return f"{_shown(name)} is a number too large for a float ({type(raw).__name__})"
    if not math.isfinite(value):
        return f"{_shown(name)} is {value!r}, expected a finite number"
    return None


def checked_state(names: list[str], state: object, owner: str) -> dict[str, float]:
    """``state`` as ``{name: float}`` for exactly ``names``, or one error listing every problem.

    Args:
        names: the model's parameter names, in order.
        state: the candidate state dict.
        owner: what is being loaded into (``"MLP"``), for the message.

    Raises:
        TypeError: ``state`` is not a mapping.
        StateDictError: missing or unexpected keys, or values that are not finite real numbers.
    """
    if not isinstance(state, Mapping):
        raise TypeError(
            f"state dict for {owner} must be a mapping of names to numbers, "
            f"got {type(state).__name__}"
        )
    expected = set(names)
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in expected]
    values: dict[str, float] = {}
    bad: list[str] = []
    n_bad = 0
    for name in names:
        if name not in state:
            continue
        raw = state[name]
        problem = _problem(name, raw)
        if problem is None:
            values[name] = float(raw)
            continue
        n_bad += 1
        if len(bad) < _MAX_SHOWN_NAMES:
            bad.append(problem)
    problems = []
    if missing:
        problems.append(f"missing key(s): {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected key(s): {_names(unexpected)}")
    if bad:
        more = f" and {n_bad - len(bad)} more" if n_bad > len(bad) else ""
        problems.append(f"bad value(s): {'; '.join(bad)}{more}")
    if problems:
        raise StateDictError(
            f"error(s) loading state dict into {owner} ({len(names)} parameters); "
            f"the model is unchanged: " + " | ".join(problems)
        )
    return values


def write_state(path: str | os.PathLike[str], module: str, state: Mapping[str, float]) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file, then ``os.replace``.

    Raises:
        ValueError: a parameter is NaN or infinite (JSON cannot hold it); nothing is written.
        OSError: the directory is missing or not writable; an existing file is left intact.
    """
    not_finite = [name for name, x in state.items() if not math.isfinite(x)]
    if not_finite:
        raise ValueError(
            f"cannot save {module} to {os.fspath(path)}: parameter(s) {_names(not_finite)} "
            f"are not finite"
        )
    document = {
        "format": FORMAT,
        "version": VERSION,
        "module": module,
        "num_parameters": len(state),
        "parameters": dict(state),
    }
    # The one atomic write (Note [atomic writes] in _files): a symlink's target is replaced.
    write_text(path, json.dumps(document, indent=1, allow_nan=False) + "\n")


class _DuplicateKey(Exception):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; a file naming a parameter twice is damaged.
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(f"the key {_shown(key)} appears twice")
        document[key] = value
    return document


def read_state(path: str | os.PathLike[str]) -> tuple[Mapping[str, Any], str]:
    """The ``parameters`` mapping and the saving module's name from a file written by ``save``.

    Raises:
        OSError: the file cannot be read (its message names the path).
        StateDictError: the file is not JSON, or not a microgradnet state dict of a known version.
    """
    where = os.fspath(path)
    with open(where, "rb") as file:
        content = file.read()
    try:
        document = json.loads(content.decode("utf-8"), object_pairs_hook=_object)
    except _DuplicateKey as error:
        raise StateDictError(f"{where}: not a valid state dict ({error})") from None
    except UnicodeDecodeError:
        raise StateDictError(f"{where}: not a text (JSON) file") from None
    except json.JSONDecodeError as error:
        raise StateDictError(f"{where}: not a valid JSON file ({error})") from None
    except RecursionError:
        raise StateDictError(f"{where}: not a state dict (JSON nested too deeply)") from None
    except ValueError as error:  # an integer of more digits than Python converts
        raise StateDictError(f"{where}: not a valid JSON file ({_short(str(error))})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateDictError(f"{where}: not a microgradnet state dict (no format {FORMAT!r} tag)")
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        raise StateDictError(
            f"{where}: unsupported format version {_shown(version)}; this microgradnet reads "
            f"version {VERSION}"
        )
    parameters = document.get("parameters")
    if not isinstance(parameters, dict):
        raise StateDictError(f"{where}: 'parameters' must be a JSON object of names to numbers")
    module = document.get("module")
    return parameters, _short(module) if isinstance(module, str) else "?"
