"""The model registry: which neuron and synapse models exist and their parameters."""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple, Union

from ._lib import check, ffi, lib, name_bytes, to_str
from .errors import InvalidArgumentError, NotFoundError

__all__ = ["ParamInfo", "models", "model_params", "model_state_vars", "backends"]

_KINDS = {"neuron": lib.SNN_MODEL_NEURON, "synapse": lib.SNN_MODEL_SYNAPSE, "plasticity": lib.SNN_MODEL_PLASTICITY}


class ParamInfo(NamedTuple):
    """One parameter of a model, as the registry describes it."""

    name: str
    """The keyword, e.g. ``"tau_mem"``."""
    kind: str
    """``"number"`` (set with a float or a per-neuron array) or ``"string"`` (a choice)."""
    default: Union[float, str]
    """The value an omitted keyword takes."""
    unit: str
    """SI unit of numbers (``"s"``, ``"V"``, ``"Hz"``, ``"1"``); ``""`` for strings."""
    choices: Tuple[str, ...]
    """The allowed values of a string parameter; empty for numbers."""
    description: str
    """One line of explanation."""


def _kind_code(kind: str) -> int:
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"model kind must be 'neuron', 'synapse' or 'plasticity', got {kind!r}") from None


def _string_list(fn, *args) -> List[str]:
    """Runs a two-call `(…, const char** out, int32 capacity, int32* out_count)` query."""
    count = ffi.new("int32_t*")
    check(fn(*args, ffi.NULL, 0, count))
    n = count[0]
    if n == 0:
        return []
    names = ffi.new("const char*[]", n)
    check(fn(*args, names, n, count))
    return [to_str(names[i]) for i in range(min(n, count[0]))]


def models(kind: str = "neuron") -> List[str]:
    """Names of the registered models of a kind: ``"neuron"`` (default),
    ``"synapse"`` or ``"plasticity"`` (learning rules of connections).

    >>> "lif" in snn.models()
    True
    """
    return _string_list(lib.snn_model_list, _kind_code(kind))


def _resolve_kind(model: str, kind: Optional[str]) -> int:
    if kind is not None:
        return _kind_code(kind)
    for code in (lib.SNN_MODEL_NEURON, lib.SNN_MODEL_SYNAPSE, lib.SNN_MODEL_PLASTICITY):
        if model in _string_list(lib.snn_model_list, code):
            return code
    raise NotFoundError(f"no neuron, synapse or plasticity model named {model!r}; see snn.models()")


def model_params(model: str, kind: Optional[str] = None) -> Dict[str, ParamInfo]:
    """The parameters of a model, by name, in the registry's order.

    Args:
        model: a model name, e.g. ``"lif"`` or ``"exp"``.
        kind: ``"neuron"``, ``"synapse"`` or ``"plasticity"``; ``None`` looks
            in all three (in that order).
    """
    code = _resolve_kind(model, kind)
    mname = name_bytes(model, "model")
    count = ffi.new("int32_t*")
    check(lib.snn_model_params(code, mname, ffi.NULL, 0, count))
    n = count[0]
    if n == 0:
        return {}
    infos = ffi.new("snn_param_info[]", n)
    size = ffi.sizeof("snn_param_info")
    for i in range(n):
        infos[i].struct_size = size
    check(lib.snn_model_params(code, mname, infos, n, count))
    out: Dict[str, ParamInfo] = {}
    for i in range(min(n, count[0])):
        p = infos[i]
        is_number = p.kind == lib.SNN_PARAM_NUMBER
        choices = to_str(p.choices)
        out[to_str(p.name)] = ParamInfo(
            name=to_str(p.name),
            kind="number" if is_number else "string",
            default=float(p.default_number) if is_number else to_str(p.default_string),
            unit=to_str(p.unit),
            choices=tuple(c for c in choices.split("|") if c) if choices else (),
            description=to_str(p.description),
        )
    return out


def model_state_vars(model: str, kind: Optional[str] = None) -> List[str]:
    """Names of a model's state variables (``"v"``, ``"u"``, ``"I"``, ``"g"`` ...)."""
    code = _resolve_kind(model, kind)
    return _string_list(lib.snn_model_state_vars, code, name_bytes(model, "model"))


def backends() -> List[str]:
    """The backends this build of libsnn can run, in order of preference
    (``"auto"`` picks the first)."""
    return _string_list(lib.snn_backend_list)
