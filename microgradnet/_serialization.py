"""State-dict validation and the JSON file format behind ``Module.save`` / ``Module.load``.

A file looks like::

    {"format": "microgradnet.state_dict", "version": 1, "module": "MLP",
     "num_parameters": 337, "parameters": {"layers.0.neurons.0.w.0": 0.12, ...}}

Nothing here mutates a model: callers validate first, then assign.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FORMAT", "VERSION", "StateDictError", "checked_state", "read_state", "write_state"]

FORMAT = "microgradnet.state_dict"
VERSION = 1


class StateDictError(ValueError):
    """A state dict or a saved file that does not fit the model; the model was left unchanged."""


def _number_or_none(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    return float(x)


def _names(keys: Iterable[object]) -> str:
    return ", ".join(repr(k) for k in keys)


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
    for name in names:
        if name not in state:
            continue
        raw = state[name]
        value = _number_or_none(raw)
        if value is None:
            bad.append(f"{name!r} is {type(raw).__name__} {raw!r:.40}, expected a real number")
        elif not math.isfinite(value):
            bad.append(f"{name!r} is {value!r}, expected a finite number")
        else:
            values[name] = value
    problems = []
    if missing:
        problems.append(f"missing key(s): {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected key(s): {_names(unexpected)}")
    if bad:
        problems.append(f"bad value(s): {'; '.join(bad)}")
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
    target = os.path.abspath(os.fspath(path))
    directory, filename = os.path.split(target)
    fd, temporary = tempfile.mkstemp(prefix=f".{filename}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=1, allow_nan=False)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        # mkstemp creates the file private (0600); a saved model is an ordinary file.
        mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_state(path: str | os.PathLike[str]) -> tuple[Mapping[str, Any], str]:
    """The ``parameters`` mapping and the saving module's name from a file written by ``save``.

    Raises:
        OSError: the file cannot be read (its message names the path).
        StateDictError: the file is not JSON, or not a microgradnet state dict of a known version.
    """
    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as file:
            document = json.load(file)
    except json.JSONDecodeError as error:
        raise StateDictError(f"{where}: not a valid JSON file ({error})") from None
    except UnicodeDecodeError:
        raise StateDictError(f"{where}: not a text (JSON) file") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateDictError(f"{where}: not a microgradnet state dict (no format {FORMAT!r} tag)")
    version = document.get("version")
    if version != VERSION:
        raise StateDictError(
            f"{where}: unsupported format version {version!r}; this microgradnet reads "
            f"version {VERSION}"
        )
    parameters = document.get("parameters")
    if not isinstance(parameters, dict):
        raise StateDictError(f"{where}: 'parameters' must be a JSON object of names to numbers")
    module = document.get("module")
    return parameters, module if isinstance(module, str) else "?"
