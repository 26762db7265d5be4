"""Networks: populations joined by connections, run in batches of instances."""

from __future__ import annotations

import collections.abc
import os
from typing import (
    Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union,
)

import numpy as np

from ._context import Context, _ContextHandle
from ._lib import NULL, as_array, check, ffi, lib, name_bytes, raise_status, to_str
from ._models import model_params as _model_params
from .errors import (
    InvalidArgumentError, NotFoundError, ShapeError, StateError,
)

__all__ = ["Network", "Population", "Connection", "Recording", "LearningEvent", "load"]

ArrayLike = Any  # numpy.typing.ArrayLike, without requiring numpy >= 1.20 at import
PathLike = Union[str, "os.PathLike[str]"]
SpikeCallback = Callable[[int, int, np.ndarray], Optional[bool]]

# Cached C entry points used on hot paths.
_c_step = lib.snn_network_step
_c_run = lib.snn_network_run
_c_set_input = lib.snn_population_set_input
_from_buffer = ffi.from_buffer
_MISSING: Any = object()

_OK = lib.SNN_OK
_CANCELLED = lib.SNN_CANCELLED
_UNSUPPORTED = lib.SNN_UNSUPPORTED

_DTYPE_CODES: Dict[np.dtype, int] = {
    np.dtype(np.float32): lib.SNN_DTYPE_FLOAT32,
    np.dtype(np.float64): lib.SNN_DTYPE_FLOAT64,
    np.dtype(np.uint8): lib.SNN_DTYPE_UINT8,
    np.dtype(np.int32): lib.SNN_DTYPE_INT32,
    np.dtype(np.int64): lib.SNN_DTYPE_INT64,
    np.dtype(np.bool_): lib.SNN_DTYPE_BOOL,
}
_CODE_DTYPES: Dict[int, np.dtype] = {code: dt for dt, code in _DTYPE_CODES.items()}
# Input dtypes passed to libsnn as they are; anything else real-valued is
# converted to float32 (a copy).
_INPUT_DTYPES = (np.dtype(np.float32), np.dtype(np.uint8), np.dtype(np.bool_))
_INPUT_CODES = {dt: _DTYPE_CODES[dt] for dt in _INPUT_DTYPES}
_CDECLS = {
    np.dtype(np.float32): "float[]",
    np.dtype(np.float64): "double[]",
    np.dtype(np.uint8): "uint8_t[]",
    np.dtype(np.bool_): "uint8_t[]",
    np.dtype(np.int32): "int32_t[]",
    np.dtype(np.int64): "int64_t[]",
}


def _buf(arr: np.ndarray, writable: bool = False):
    """A typed cffi pointer to a C-contiguous array's memory (no copy); it
    keeps the array alive."""
    return _from_buffer(_CDECLS[arr.dtype], arr, require_writable=writable)

_CONNECTION_KINDS = {
    lib.SNN_CONNECTION_DENSE: "dense",
    lib.SNN_CONNECTION_SPARSE: "sparse",
    lib.SNN_CONNECTION_ONE_TO_ONE: "one_to_one",
    lib.SNN_CONNECTION_CONV2D: "conv2d",
}
_POOLS = {None: lib.SNN_POOL_NONE, "max": lib.SNN_POOL_MAX, "avg": lib.SNN_POOL_AVG, "sum": lib.SNN_POOL_SUM}
_GEOMETRY_FIELDS = ("in_channels", "in_height", "in_width", "out_channels", "kernel_height", "kernel_width",
                    "stride_y", "stride_x", "padding_y", "padding_x", "bias", "pool", "pool_height", "pool_width",
                    "pool_stride_y", "pool_stride_x")


def _pair(value: Any, what: str, low: int) -> Tuple[int, int]:
    """An int or a pair of ints (PyTorch's convention for sizes and strides)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise InvalidArgumentError(f"{what} must be an int or a pair of ints, got {value!r}")
    return (_int_scalar(items[0], what, low), _int_scalar(items[1], what, low))
_DISTRIBUTIONS = {"uniform": lib.SNN_DIST_UNIFORM, "normal": lib.SNN_DIST_NORMAL}


# --------------------------------------------------------------------------
# Ownership of the C network and of what it borrows
# --------------------------------------------------------------------------

class _NetHandle:
    """Owns an snn_network*, the context it lives on, the buffers bound to it
    and the callback trampoline's user data.

    The network is destroyed when the handle is closed and no exported view is
    alive, in whichever order the garbage collector finalizes them; the
    context is released after the network.
    """

    _destroy = lib.snn_network_destroy

    def __init__(self, ptr, ctx: _ContextHandle) -> None:
        self.ptr = ptr
        self.ctx = ctx
        ctx.acquire()
        self.views = 0
        self.closed = False
        # (kind, population id[, var]) -> objects that must outlive the binding.
        self.bound: Dict[tuple, tuple] = {}
        self.callbacks = _Callbacks()
        self.callback_handle = ffi.new_handle(self.callbacks)

    def close(self) -> None:
        self.closed = True
        self._maybe_destroy()

    def view_released(self) -> None:
        self.views -= 1
        self._maybe_destroy()

    def _maybe_destroy(self) -> None:
        if self.closed and self.views <= 0 and self.ptr is not None:
            ptr, self.ptr = self.ptr, None
            self._destroy(ptr)
            self.bound.clear()
            self.ctx.release()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


class _ViewOwner:
    """The base object of an array that views libsnn's memory: releases the
    exported tensor when the last array using it is garbage-collected."""

    _release = lib.snn_tensor_release

    def __init__(self, net: _NetHandle, tensor, interface: Dict[str, Any]) -> None:
        self._net = net
        self._tensor = tensor
        self.__array_interface__ = interface
        net.views += 1

    def __del__(self) -> None:
        tensor, self._tensor = self._tensor, None
        if tensor is not None:
            try:
                self._release(tensor)
            finally:
                self._net.view_released()


class _Callbacks:
    """Python callbacks of one network: spike callbacks keyed by population
    id, learning callbacks keyed by connection id."""

    __slots__ = ("fns", "learn", "error", "stop")

    def __init__(self) -> None:
        self.fns: Dict[int, SpikeCallback] = {}
        self.learn: Dict[int, Callable[["LearningEvent"], Any]] = {}
        self.error: Optional[BaseException] = None
        self.stop = False


class LearningEvent(NamedTuple):
    """What learning changed on a plastic connection in one step
    (:meth:`Network.on_learn`)."""

    connection: int
    step: int
    synapses_changed: int
    """Updates that changed a weight (a synapse changed at a presynaptic and at
    a postsynaptic event in the same step counts twice)."""
    total_change: float
    """The sum of ``|new - old|`` over those updates."""
    all: bool
    """Any synapse may have changed (rstdp, normalisation); rows and columns are then empty."""
    rows: np.ndarray
    """Presynaptic neurons whose synapses changed at their events (int32, a copy)."""
    columns: np.ndarray
    """Postsynaptic neurons whose synapses changed at their spikes (int32, a copy)."""


def _ids(ptr, count: int) -> np.ndarray:
    if count <= 0:
        return np.empty(0, dtype=np.int32)
    return np.frombuffer(ffi.buffer(ptr, 4 * count), dtype=np.int32).copy()


def _call_back(cbs: "_Callbacks", call: Callable[[], Any]) -> int:
    """Runs a Python callback for C: True from it stops the run (1); an
    exception is kept for run/step to raise and also stops it."""
    try:
        if call() is True:
            cbs.stop = True
            return 1
        return 0
    except BaseException as exc:  # noqa: BLE001 - nothing may cross into C
        if cbs.error is None:
            cbs.error = exc
        return 1


def _spike_trampoline(population, step, batch_index, count, neuron_ids, user_data):
    cbs = ffi.from_handle(user_data)
    return _call_back(cbs, lambda: cbs.fns[population](int(step), int(batch_index), _ids(neuron_ids, count)))


def _learning_trampoline(event, user_data):
    cbs = ffi.from_handle(user_data)

    def call():
        e = event[0]
        info = LearningEvent(int(e.connection), int(e.step), int(e.synapses_changed), float(e.total_change),
                             bool(e.all), _ids(e.rows, e.row_count), _ids(e.columns, e.column_count))
        return cbs.learn[info.connection](info)

    return _call_back(cbs, call)


_learning_callback = None


def _get_learning_trampoline():
    global _learning_callback
    if _learning_callback is None:
        _learning_callback = ffi.callback("snn_learning_fn", _learning_trampoline, onerror=lambda *a: 1)
    return _learning_callback




_trampoline = None


def _get_trampoline():
    global _trampoline
    if _trampoline is None:
        _trampoline = ffi.callback("snn_spike_fn", _spike_trampoline, onerror=lambda *a: 1)
    return _trampoline


# --------------------------------------------------------------------------
# Handles for populations and connections
# --------------------------------------------------------------------------

class Population:
    """A group of neurons of one model inside a :class:`Network`.

    A small handle: ``id`` (0, 1, ... in creation order), ``name``, ``model``,
    ``size`` (number of neurons), ``shape`` (``(n,)`` or e.g. ``(C, H, W)``)
    and ``is_input`` (a source that takes per-step inputs). Get them from
    :meth:`Network.population` or ``net.populations[name]``.
    """

    __slots__ = ("_owner", "id", "name", "model", "size", "shape", "is_input")

    def __init__(self, owner: _NetHandle, pid: int, name: str, model: str, size: int,
                 shape: Tuple[int, ...], is_input: bool) -> None:
        self._owner = owner
        self.id = pid
        self.name = name
        self.model = model
        self.size = size
        self.shape = shape
        self.is_input = is_input

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        shape = self.size if len(self.shape) == 1 else self.shape
        return f"Population({self.name!r}, {shape}, {self.model!r}, id={self.id})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Population) and other._owner is self._owner and other.id == self.id

    def __hash__(self) -> int:
        return hash((id(self._owner), "population", self.id))


class Connection:
    """Synapses from one population to another inside a :class:`Network`.

    A small handle: ``id``, ``name``, ``pre`` and ``post`` (:class:`Population`),
    ``synapse`` (``"delta"``, ``"exp"``, ``"cond_exp"`` ...), ``kind``
    (``"dense"``, ``"sparse"``, ``"one_to_one"`` or ``"conv2d"``), ``delay`` (steps; the
    largest one where delays are per synapse), ``nnz`` (number of weights) and
    ``has_synapse_delays``.
    """

    __slots__ = ("_owner", "id", "name", "pre", "post", "synapse", "kind", "delay", "nnz",
                 "has_synapse_delays", "geometry")

    def __init__(self, owner: _NetHandle, cid: int, name: str, pre: Population, post: Population,
                 synapse: str, kind: str, delay: int, nnz: int, has_synapse_delays: bool,
                 geometry: Optional[Dict[str, Any]] = None) -> None:
        self._owner = owner
        self.id = cid
        self.name = name
        self.pre = pre
        self.post = post
        self.synapse = synapse
        self.kind = kind
        self.delay = delay
        self.nnz = nnz
        self.has_synapse_delays = has_synapse_delays
        #: conv2d connections: the geometry (``in_channels``, ``kernel_height``,
        #: ``pool`` as None/"max"/"avg"/"sum", ...); None for the others.
        self.geometry = geometry

    @property
    def shape(self) -> Tuple[int, int]:
        """``(pre.size, post.size)``: the shape of the dense weight matrix."""
        return (self.pre.size, self.post.size)

    def __repr__(self) -> str:
        return (f"Connection({self.name!r}, {self.pre.name!r} -> {self.post.name!r}, "
                f"{self.kind}, synapse={self.synapse!r}, nnz={self.nnz}, delay={self.delay}, id={self.id})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Connection) and other._owner is self._owner and other.id == self.id

    def __hash__(self) -> int:
        return hash((id(self._owner), "connection", self.id))


class _ByName(collections.abc.Mapping):
    """A read-only mapping name -> handle, iterating in id order."""

    def __init__(self, items: List[Any], what: str) -> None:
        self._items = items
        self._what = what

    def __getitem__(self, name: str) -> Any:
        for item in self._items:
            if item.name == name:
                return item
        raise NotFoundError(f"no {self._what} named {name!r}; have {[i.name for i in self._items]}")

    def __iter__(self) -> Iterator[str]:
        return (item.name for item in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{i.name!r}: {i!r}" for i in self._items) + "}"


class Recording(dict):
    """What :meth:`Network.run` recorded: ``"pop.var"`` -> array ``[steps, batch, n]``.

    Keys may also be given as ``(population, var)`` tuples when reading.
    Spikes are ``bool`` arrays, state variables ``float32``. ``steps`` is the
    number of steps that ran (fewer than asked if a callback stopped the run).
    """

    steps: int = 0

    @staticmethod
    def _key(key: Any) -> Any:
        if isinstance(key, tuple) and len(key) == 2:
            pop, var = key
            name = pop.name if isinstance(pop, Population) else pop
            return f"{name}.{var}"
        return key

    def __getitem__(self, key: Any) -> np.ndarray:
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, self._key(key), default)


# --------------------------------------------------------------------------
# Array helpers
# --------------------------------------------------------------------------

def _real_array(values: ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind not in "biuf":
        raise InvalidArgumentError(f"{what}: cannot use an array of dtype {a.dtype} as numbers")
    return a


def _f32(values: ArrayLike, what: str) -> np.ndarray:
    """A C-contiguous float32 array (no copy if it already is one)."""
    return np.asarray(_real_array(values, what), dtype=np.float32, order="C")


def _int_scalar(value: Any, what: str, low: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{what} must be an int, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise InvalidArgumentError(f"{what} must be >= {low}, got {value}")
    return value


def _shape_tuple(shape: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    dims: Tuple[int, ...]
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        dims = (int(shape),)
    else:
        try:
            dims = tuple(_int_scalar(d, "shape") for d in shape)  # type: ignore[union-attr]
        except TypeError:
            raise InvalidArgumentError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if not 1 <= len(dims) <= 8:
        raise InvalidArgumentError(f"shape must have 1 to 8 dimensions, got {dims}")
    return dims


def _new_tensor(arr: np.ndarray, shape: Tuple[int, ...], writable: bool = False):
    """An snn_tensor describing a C-contiguous array. Returns the objects that
    must stay alive as long as libsnn may read the descriptor."""
    t = ffi.new("snn_tensor*")
    buf = _from_buffer(arr, require_writable=writable)
    dims = ffi.new("int64_t[]", list(shape))
    t.data = buf
    t.dtype = _DTYPE_CODES[arr.dtype]
    t.ndim = len(shape)
    t.shape = dims
    t.strides = NULL
    t.device_type = lib.SNN_DEVICE_CPU
    t.device_id = 0
    return t, (arr, t, buf, dims)


# --------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------

PopulationRef = Union[Population, str, int]
ConnectionRef = Union[Connection, str, int]
Target = Union[Population, Connection, str]


class Network:
    """A spiking network: populations joined by connections, with the state of
    ``batch`` independent instances that share parameters and weights.

    Args:
        dt: step length in seconds.
        batch: number of instances run side by side.
        seed: seed of the network's random streams (Poisson sources, noise).
        backend: ``"auto"``, ``"reference"`` ...; with no ``context``, the
            network uses the shared default context of this backend.
        threads: worker threads of that default context (0: one per core).
        context: an explicit :class:`Context` (then ``backend``/``threads``
            must be left out or agree with it).

    Example::

        net = snn.Network(dt=1e-4, batch=2, seed=1, backend="reference")
        src = net.population("src", 100, "poisson", rate=20.0)
        exc = net.population("exc", 3200, "lif", tau_mem=20e-3, v_th=-50e-3)
        net.connect(src, exc, p=0.1, weight=1e-3, synapse="exp", tau=5e-3, seed=3)
        rec = net.run(1000, record=["exc.spikes", "exc.v"])
        rec["exc.spikes"].shape      # (1000, 2, 3200), bool

    A network is used by one thread at a time. Structure (populations,
    connections) is frozen by the first step; parameters, weights and state
    stay writable. Networks pickle as their ``.snn`` bytes with the current
    state (:meth:`to_bytes`); callbacks and bound arrays are not kept.
    """

    def __init__(self, dt: float = 1e-4, batch: int = 1, seed: int = 0, backend: Optional[str] = None,
                 threads: Optional[int] = None, context: Optional[Context] = None) -> None:
        ctx = _pick_context(backend, threads, context)
        batch = _int_scalar(batch, "batch", 1)
        seed = _int_scalar(seed, "seed", 0)
        opts = ffi.new("snn_network_options*")
        check(lib.snn_network_options_init(opts, ffi.sizeof("snn_network_options")))
        opts.dt = float(dt)
        opts.seed = seed
        opts.batch = batch
        out = ffi.new("snn_network**")
        check(lib.snn_network_create(ctx._h.ptr, opts, out), "cannot create the network")
        self._adopt(out[0], ctx)

    # -- construction helpers ------------------------------------------------

    def _adopt(self, ptr, ctx: Context) -> None:
        self._h = _NetHandle(ptr, ctx._h)
        self._ptr = ptr
        self._context = ctx
        self._pops: List[Population] = []
        self._conns: List[Connection] = []
        # population id -> the input descriptor reused by step(inputs=...).
        self._input_cache: Dict[int, list] = {}
        self._callbacks = self._h.callbacks
        self._refresh()

    def _refresh(self) -> None:
        count = ffi.new("int32_t*")
        check(lib.snn_network_population_count(self._ptr, count))
        self._pops = [self._population_handle(i) for i in range(count[0])]
        check(lib.snn_network_connection_count(self._ptr, count))
        self._conns = [self._connection_handle(i) for i in range(count[0])]
        self._input_cache.clear()

    def _population_handle(self, pid: int) -> Population:
        info = ffi.new("snn_population_info*")
        info.struct_size = ffi.sizeof("snn_population_info")
        check(lib.snn_population_info_get(self._ptr, pid, info))
        shape = tuple(int(info.shape[i]) for i in range(info.ndim))
        return Population(self._h, pid, to_str(info.name), to_str(info.model), int(info.size), shape,
                          bool(info.is_input))

    def _connection_handle(self, cid: int) -> Connection:
        info = ffi.new("snn_connection_info*")
        info.struct_size = ffi.sizeof("snn_connection_info")
        check(lib.snn_connection_info_get(self._ptr, cid, info))
        geometry = None
        if info.kind == lib.SNN_CONNECTION_CONV2D:
            g = ffi.new("snn_conv2d_geometry*")
            g.struct_size = ffi.sizeof("snn_conv2d_geometry")
            check(lib.snn_connection_conv2d_get(self._ptr, cid, g))
            geometry = {field: int(getattr(g, field)) for field in _GEOMETRY_FIELDS}
            geometry["bias"] = bool(geometry["bias"])
            geometry["pool"] = {v: k for k, v in _POOLS.items()}[geometry["pool"]]
        return Connection(self._h, cid, to_str(info.name), self._pops[info.pre], self._pops[info.post],
                          to_str(info.synapse), _CONNECTION_KINDS.get(info.kind, str(info.kind)),
                          int(info.delay), int(info.nnz), bool(info.has_synapse_delays), geometry)

    def _fail(self, status: int, context: str = "") -> None:
        """Raises for a failed call; turns a callback's exception or stop
        request back into Python behaviour. Returns for a requested stop."""
        cbs = self._callbacks
        if status == _CANCELLED and (cbs.error is not None or cbs.stop):
            error, cbs.error, cbs.stop = cbs.error, None, False
            lib.snn_clear_error()
            if error is not None:
                raise error
            return
        if self._h.closed:
            raise StateError("the network is closed")
        raise_status(status, context)

    def _query(self, fn, ctype: str):
        out = ffi.new(ctype)
        status = fn(self._ptr, out)
        if status:
            self._fail(status)
        return out[0]

    def _resolve(self, ref: Any, cls: type, items: List[Any], by_name: Mapping[str, Any], what: str) -> Any:
        """A Population or Connection of this network from itself, its name or its id."""
        if isinstance(ref, cls):
            if ref._owner is not self._h:
                raise InvalidArgumentError(f"{ref!r} belongs to another network")
            return ref
        if isinstance(ref, str):
            return by_name[ref]
        if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
            if 0 <= ref < len(items):
                return items[ref]
            raise NotFoundError(f"no {what} with id {ref}")
        raise InvalidArgumentError(f"expected a {cls.__name__}, its name or id, got {ref!r}")

    def _pop(self, ref: PopulationRef) -> Population:
        return self._resolve(ref, Population, self._pops, self.populations, "population")

    def _conn(self, ref: ConnectionRef) -> Connection:
        return self._resolve(ref, Connection, self._conns, self.connections, "connection")

    def _target(self, ref: Target) -> Union[Population, Connection]:
        if isinstance(ref, (Population, Connection)):
            return self._pop(ref) if isinstance(ref, Population) else self._conn(ref)
        if isinstance(ref, str):
            for p in self._pops:
                if p.name == ref:
                    return p
            for c in self._conns:
                if c.name == ref:
                    return c
            raise NotFoundError(f"no population or connection named {ref!r}")
        if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
            return self._pop(ref)  # a bare id names a population
        raise InvalidArgumentError(f"expected a Population or Connection, got {ref!r}")

    # -- properties ------------------------------------------------------------

    @property
    def populations(self) -> Mapping[str, Population]:
        """The populations by name, in creation (id) order."""
        return _ByName(self._pops, "population")

    @property
    def connections(self) -> Mapping[str, Connection]:
        """The connections by name, in creation (id) order."""
        return _ByName(self._conns, "connection")

    @property
    def context(self) -> Context:
        """The context this network runs on."""
        return self._context

    @property
    def backend(self) -> str:
        """The name of the backend that runs this network."""
        return self._context.backend

    @property
    def dt(self) -> float:
        """The step length in seconds."""
        return float(self._query(lib.snn_network_dt, "double*"))

    @property
    def seed(self) -> int:
        """The seed of the network's random streams."""
        return int(self._query(lib.snn_network_seed, "uint64_t*"))

    @property
    def current_step(self) -> int:
        """Steps completed since creation or the last :meth:`reset`."""
        return int(self._query(lib.snn_network_current_step, "int64_t*"))

    @property
    def batch(self) -> int:
        """The number of instances; change it with :meth:`set_batch`."""
        return int(self._query(lib.snn_network_batch, "int32_t*"))

    @batch.setter
    def batch(self, value: int) -> None:
        self.set_batch(value)

    def set_batch(self, batch: int) -> None:
        """Changes the number of instances. Instances that exist keep their
        state; new ones start from the initial state (instance i from instance
        i mod the old batch). Raises :class:`StateError` while any array
        returned by :meth:`state` as a view is alive (delete those first)."""
        batch = _int_scalar(batch, "batch", 1)
        status = lib.snn_network_set_batch(self._ptr, batch)
        if status:
            live = self._h.views
            hint = f" ({live} state view(s) still alive: delete them first)" if live else ""
            raise_status(status, f"set_batch({batch}){hint}")
        self._input_cache.clear()

    # -- building ----------------------------------------------------------------

    def population(self, name: str, shape: Union[int, Sequence[int]], model: str = "lif",
                   **params: Any) -> Population:
        """Adds a population of neurons.

        Args:
            name: unique within the network, 1..255 characters of
                ``[A-Za-z0-9_-]``.
            shape: the number of neurons, or a shape such as ``(C, H, W)``.
            model: a neuron model from :func:`snn.models`, e.g. ``"lif"``,
                ``"poisson"``, ``"spike_source"``, ``"current_source"``.
            **params: model parameters (:func:`snn.model_params` lists them).
                A number sets the parameter for every neuron; an array of
                ``size`` numbers (or of ``shape``) sets it per neuron; a string
                sets an option such as ``reset="subtract"``.

        Raises:
            StateError: after the first step (the structure is frozen).
        """
        dims = _shape_tuple(shape)
        _check_keywords("neuron", model, params, f"population({name!r})")
        cshape = ffi.new("int64_t[]", list(dims))
        out = ffi.new("int32_t*")
        status = lib.snn_network_add_population(self._ptr, name_bytes(name), name_bytes(model, "model"),
                                                len(dims), cshape, out)
        if status:
            self._fail(status, f"population({name!r})")
        pop = self._population_handle(out[0])
        self._pops.append(pop)
        for key, value in params.items():
            self.set_param(pop, key, value)
        return pop

    def connect(self, pre: PopulationRef, post: PopulationRef, weights: Optional[ArrayLike] = None, *,
                p: Optional[float] = None, weight: Optional[float] = None, one_to_one: bool = False,
                pairs: Optional[Tuple[ArrayLike, ArrayLike]] = None, delay: Union[int, ArrayLike] = 1,
                synapse: Optional[str] = None, name: Optional[str] = None, seed: int = 0,
                weight_dtype: Optional[str] = None, plasticity: Optional[str] = None,
                **params: Union[float, str]) -> Connection:
        """Connects two populations. Exactly one way of giving the synapses:

        * ``weights=W``: a dense NumPy array ``[pre.size, post.size]`` (stored
          dense), or a ``scipy.sparse`` matrix of that shape (converted to CSR
          and stored sparse; explicit zeros are kept as synapses).
        * ``p=0.1, weight=w``: each pair connected with probability ``p``,
          drawn by libsnn's generator keyed by ``seed`` (the same synapses on
          every platform), all with weight ``w``.
        * ``one_to_one=True`` with ``weight=w`` or ``weights=[n]``: neuron i to
          neuron i (``pre.size == post.size``).
        * ``pairs=(pre_ids, post_ids)`` with ``weight=w`` or ``weights=[m]``:
          an explicit list of synapses (stored sparse; duplicates add up).

        Args:
            delay: steps from emission to delivery (default 1, which equals
                Brian2's zero synaptic delay; 0 only where it forms no cycle).
                Sparse connections (scipy matrices, ``pairs``) also take one
                delay per synapse: an int array in the order of the weights
                (for a scipy matrix, the order of ``W.tocsr()``'s data).
            synapse: ``"delta"`` (default), ``"exp"``, ``"cond_exp"`` ...
            name: the connection's name (default: made from the two
                population names, unique within the network).
            seed: the seed of ``p=`` connections.
            weight_dtype: ``"float32"`` (default) or ``"bfloat16"``: the
                weights are rounded to bfloat16 numbers, which the "cpu"
                backend stores in half the memory (the option can also be
                changed later with ``set_param(conn, "weight_dtype", ...)``).
            plasticity: a learning rule for the weights (``"stdp"``,
                ``"triplet"``, ``"rstdp"``; ``snn.models("plasticity")``), run
                after every step (docs/models.md, "Plasticity"). Its
                parameters and options go in ``**params`` as well, e.g.
                ``a_plus=1e-4, w_max=0.01, pairing="nearest"``.
            **params: synapse parameters such as ``tau=5e-3`` or ``e_rev=0.0``,
                and the learning rule's.

        Weights are float32; current-synapse weights are in volts (a spike
        adds w to I), see docs/models.md.
        """
        pre_p, post_p = self._pop(pre), self._pop(post)
        label0 = f"connect({pre_p.name!r}, {post_p.name!r})"
        rule_params: Dict[str, Any] = {}
        if plasticity is not None and isinstance(plasticity, str) and plasticity != "none":
            try:
                known = _model_params(plasticity, "plasticity")
            except NotFoundError:
                raise NotFoundError(f"{label0}: unknown plasticity rule {plasticity!r}; "
                                    f"see snn.models('plasticity')") from None
            rule_params = {k: params.pop(k) for k in list(params) if k in known}
        _check_keywords("synapse", synapse or "delta", params, label0)
        opts = ffi.new("snn_connection_options*")
        check(lib.snn_connection_options_init(opts, ffi.sizeof("snn_connection_options")))
        keep = []
        if name is not None:
            keep.append(ffi.new("char[]", name_bytes(name)))
            opts.name = keep[-1]
        if synapse is not None:
            keep.append(ffi.new("char[]", name_bytes(synapse, "synapse")))
            opts.synapse = keep[-1]
        if weight_dtype is not None:
            keep.append(ffi.new("char[]", name_bytes(weight_dtype, "weight_dtype")))
            opts.weight_dtype = keep[-1]
        delays = None
        d = _real_array(delay, "delay")
        if d.dtype.kind == "b" or (d.dtype.kind == "f" and not np.all(d == np.round(d))):
            raise InvalidArgumentError(f"delay is counted in whole steps, got {delay!r}")
        if d.ndim == 0:
            opts.delay = int(d)
        else:
            delays = np.ascontiguousarray(d, dtype=np.int32).ravel()
            opts.delay = int(delays.max()) if delays.size else 1
        out = ffi.new("int32_t*")
        modes = sum([weights is not None and not one_to_one and pairs is None, p is not None,
                     bool(one_to_one), pairs is not None])
        if modes != 1:
            raise InvalidArgumentError(
                "connect() takes exactly one of weights=, p= (with weight=), one_to_one=True or pairs=")
        n_pre, n_post = pre_p.size, post_p.size
        label = f"connect({pre_p.name!r}, {post_p.name!r})"

        if p is not None:
            if weight is None:
                raise InvalidArgumentError(f"{label}: p= needs weight=")
            if delays is not None:
                raise InvalidArgumentError(f"{label}: p= connections take one int delay")
            status = lib.snn_network_connect_random(self._ptr, pre_p.id, post_p.id, float(p), float(weight),
                                                    _int_scalar(seed, "seed", 0), opts, out)
        elif one_to_one:
            if delays is not None:
                raise InvalidArgumentError(f"{label}: one_to_one connections take one int delay")
            if weights is not None:
                w = _f32(weights, "weights").ravel()
                status = lib.snn_network_connect_one_to_one(self._ptr, pre_p.id, post_p.id, _buf(w),
                                                            w.size, 0.0, opts, out)
            else:
                if weight is None:
                    raise InvalidArgumentError(f"{label}: one_to_one=True needs weight= or weights=")
                status = lib.snn_network_connect_one_to_one(self._ptr, pre_p.id, post_p.id, NULL, 0,
                                                            float(weight), opts, out)
        elif pairs is not None:
            status = self._connect_pairs(pre_p, post_p, pairs, weights, weight, delays, opts, out, label)
        elif _is_scipy_sparse(weights):
            if weight is not None:
                raise InvalidArgumentError(f"{label}: give weights= or weight=, not both")
            status = self._connect_scipy(pre_p, post_p, weights, delays, opts, out, label)
        else:
            if weight is not None:
                raise InvalidArgumentError(f"{label}: give weights= or weight=, not both")
            if delays is not None:
                raise InvalidArgumentError(f"{label}: dense connections take one int delay "
                                           "(use a scipy.sparse matrix or pairs= for per-synapse delays)")
            w = _f32(weights, "weights")
            if w.shape != (n_pre, n_post):
                raise ShapeError(f"{label}: dense weights must have shape [pre, post] = "
                                 f"({n_pre}, {n_post}), got {w.shape}")
            status = lib.snn_network_connect_dense(self._ptr, pre_p.id, post_p.id, _buf(w), w.size,
                                                   opts, out)
        conn = self._added_connection(status, out, label, params)
        if plasticity is not None:
            self._set_plasticity(conn, plasticity, rule_params)
        return conn

    def _set_plasticity(self, conn: Connection, rule: str, params: Mapping[str, Any]) -> None:
        """Attaches a learning rule and sets its options, then its numbers
        (the bounds in an order that never crosses them)."""
        self.set_param(conn, "plasticity", rule)
        numbers = {k: v for k, v in params.items() if not isinstance(v, str)}
        for key, value in params.items():
            if isinstance(value, str):
                self.set_param(conn, key, value)
        if "w_min" in numbers and "w_max" in numbers and not float(numbers["w_min"]) < self.param(conn, "w_max"):
            order = ["w_max", "w_min"]
        else:
            order = ["w_min", "w_max"]
        for key in order + [k for k in numbers if k not in ("w_min", "w_max")]:
            if key in numbers:
                self.set_param(conn, key, numbers[key])

    def conv2d(self, pre: PopulationRef, post: PopulationRef, kernel: ArrayLike, bias: Optional[ArrayLike] = None, *,
               stride: Any = 1, padding: Any = 0, pool: Optional[str] = None, pool_size: Any = 2,
               pool_stride: Any = None, in_shape: Optional[Sequence[int]] = None, delay: int = 1,
               synapse: Optional[str] = None, name: Optional[str] = None, weight_dtype: Optional[str] = None,
               **params: float) -> Connection:
        """A 2-D convolution from ``pre`` to ``post``, as PyTorch's ``Conv2d``
        followed by an optional pooling (docs/models.md, "Convolution").

        ``kernel`` is ``[out_channels, in_channels, kh, kw]`` and ``bias``
        (optional) ``[out_channels]``. ``pre`` is read as ``[C, H, W]``: its
        shape, or ``in_shape`` when it was made flat. ``post`` must hold
        ``out_channels x out_h x out_w`` neurons, where the convolution gives
        ``(H + 2 padding - kh) // stride + 1`` rows and the pooling (``pool``:
        ``"max"``, ``"avg"``, ``"sum"`` or None) ``(rows - pool_size) //
        pool_stride + 1`` (``pool_stride`` defaults to ``pool_size``).
        ``stride``, ``padding``, ``pool_size`` and ``pool_stride`` are ints or
        ``(y, x)`` pairs. Each step the connection adds
        ``pool(conv(x)) + bias`` to its targets.

        The weights (:meth:`weights`) are the kernel, flattened, followed by
        the biases.
        """
        pre_p, post_p = self._pop(pre), self._pop(post)
        label = f"conv2d({pre_p.name!r}, {post_p.name!r})"
        _check_keywords("synapse", synapse or "delta", params, label)
        k = _f32(kernel, "kernel")
        if k.ndim != 4:
            raise ShapeError(f"{label}: kernel must be [out_channels, in_channels, kh, kw], got shape {k.shape}")
        shape = tuple(in_shape) if in_shape is not None else pre_p.shape
        if len(shape) != 3:
            raise ShapeError(f"{label}: pre {pre_p.name!r} has shape {pre_p.shape}; give in_shape=(C, H, W)")
        if pool not in _POOLS:
            raise InvalidArgumentError(f"{label}: pool must be 'max', 'avg', 'sum' or None, got {pool!r}")
        g = ffi.new("snn_conv2d_geometry*")
        check(lib.snn_conv2d_geometry_init(g, ffi.sizeof("snn_conv2d_geometry")))
        g.in_channels, g.in_height, g.in_width = (_int_scalar(v, "in_shape", 1) for v in shape)
        g.out_channels, _, g.kernel_height, g.kernel_width = k.shape
        if k.shape[1] != g.in_channels:
            raise ShapeError(f"{label}: the kernel takes {k.shape[1]} input channels; the input has {g.in_channels}")
        g.stride_y, g.stride_x = _pair(stride, "stride", 1)
        g.padding_y, g.padding_x = _pair(padding, "padding", 0)
        g.pool = _POOLS[pool]
        if pool is not None:
            g.pool_height, g.pool_width = _pair(pool_size, "pool_size", 1)
            g.pool_stride_y, g.pool_stride_x = _pair(pool_stride if pool_stride is not None else pool_size,
                                                     "pool_stride", 1)
        weights = k.ravel()
        if bias is not None:
            b = _f32(bias, "bias")
            if b.shape != (k.shape[0],):
                raise ShapeError(f"{label}: bias must be [{k.shape[0]}], got shape {b.shape}")
            g.bias = 1
            weights = np.concatenate([weights, b])
        opts = ffi.new("snn_connection_options*")
        check(lib.snn_connection_options_init(opts, ffi.sizeof("snn_connection_options")))
        keep = []
        for field, value, what in (("name", name, "name"), ("synapse", synapse, "synapse"),
                                   ("weight_dtype", weight_dtype, "weight_dtype")):
            if value is not None:
                keep.append(ffi.new("char[]", name_bytes(value, what)))
                setattr(opts, field, keep[-1])
        opts.delay = _int_scalar(delay, "delay", 0)
        out = ffi.new("int32_t*")
        status = lib.snn_network_connect_conv2d(self._ptr, pre_p.id, post_p.id, g, _buf(weights), weights.size, opts, out)
        return self._added_connection(status, out, label, params)

    def _added_connection(self, status: int, out, label: str, params: Mapping[str, float]) -> Connection:
        """The connection a connect call made (raising for its status), with
        its synapse parameters set."""
        if status:
            self._fail(status, label)
        conn = self._connection_handle(out[0])
        self._conns.append(conn)
        for key, value in params.items():
            self.set_param(conn, key, value)
        return conn

    def _connect_sparse(self, pre: Population, post: Population, row_ptr: np.ndarray, post_index: np.ndarray,
                        w: np.ndarray, delays: Optional[np.ndarray], opts, out, label: str) -> int:
        nnz = w.size
        if delays is not None and delays.size != nnz:
            raise ShapeError(f"{label}: {delays.size} per-synapse delays for {nnz} synapses")
        return lib.snn_network_connect_sparse(
            self._ptr, pre.id, post.id, nnz, _buf(row_ptr), _buf(post_index), _buf(w),
            _buf(delays) if delays is not None else NULL, opts, out)

    def _connect_scipy(self, pre: Population, post: Population, matrix: Any, delays, opts, out,
                       label: str) -> int:
        csr = matrix.tocsr()
        if csr.shape != (pre.size, post.size):
            raise ShapeError(f"{label}: sparse weights must have shape [pre, post] = "
                             f"({pre.size}, {post.size}), got {csr.shape}")
        row_ptr = np.ascontiguousarray(csr.indptr, dtype=np.int64)
        post_index = np.ascontiguousarray(csr.indices, dtype=np.int32)
        w = _f32(csr.data, "weights")
        return self._connect_sparse(pre, post, row_ptr, post_index, w, delays, opts, out, label)

    def _connect_pairs(self, pre: Population, post: Population, pairs: Tuple[ArrayLike, ArrayLike],
                       weights: Optional[ArrayLike], weight: Optional[float], delays, opts, out, label: str) -> int:
        try:
            i, j = pairs
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"{label}: pairs must be (pre_ids, post_ids)") from None
        i = _real_array(i, "pairs").ravel()
        j = _real_array(j, "pairs").ravel()
        if i.dtype.kind == "f" or j.dtype.kind == "f":
            raise InvalidArgumentError(f"{label}: pairs must be integer indices")
        if i.size != j.size:
            raise ShapeError(f"{label}: {i.size} pre ids but {j.size} post ids")
        m = i.size
        if weights is not None:
            if weight is not None:
                raise InvalidArgumentError(f"{label}: give weights= or weight=, not both")
            w = _f32(weights, "weights").ravel()
            if w.size != m:
                raise ShapeError(f"{label}: {w.size} weights for {m} pairs")
        elif weight is not None:
            w = np.full(m, weight, dtype=np.float32)
        else:
            raise InvalidArgumentError(f"{label}: pairs= needs weights= or weight=")
        if m and (i.min() < 0 or i.max() >= pre.size):
            raise InvalidArgumentError(f"{label}: pre ids must be in [0, {pre.size})")
        if m and (j.min() < 0 or j.max() >= post.size):
            raise InvalidArgumentError(f"{label}: post ids must be in [0, {post.size})")
        if delays is not None and delays.size != m:
            raise ShapeError(f"{label}: {delays.size} per-synapse delays for {m} pairs")
        order = np.argsort(i, kind="stable")
        i_sorted = i[order]
        row_ptr = np.zeros(pre.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(i_sorted, minlength=pre.size), out=row_ptr[1:])
        post_index = np.ascontiguousarray(j[order], dtype=np.int32)
        w = np.ascontiguousarray(w[order])
        if delays is not None:
            delays = np.ascontiguousarray(delays[order])
        return self._connect_sparse(pre, post, row_ptr, post_index, w, delays, opts, out, label)

    # -- parameters ------------------------------------------------------------------

    def set_param(self, target: Target, name: str, value: Union[float, str, ArrayLike]) -> None:
        """Sets a parameter of a population (a number for all neurons, an array
        of one number per neuron, or a string option) or of a connection (a
        number for its synapse model, or a string option: ``weight_dtype``)."""
        item = self._target(target)
        cname = name_bytes(name, "parameter name")
        if isinstance(item, Connection) and isinstance(value, str):
            status = lib.snn_connection_set_option(self._ptr, item.id, cname, name_bytes(value, name))
        elif isinstance(item, Connection):
            if np.ndim(value) != 0:
                raise InvalidArgumentError(f"synapse parameter {name!r} of {item.name!r} takes one number")
            status = lib.snn_connection_set_param(self._ptr, item.id, cname, float(value))
        elif isinstance(value, str):
            status = lib.snn_population_set_option(self._ptr, item.id, cname, name_bytes(value, name))
        elif np.ndim(value) == 0:
            status = lib.snn_population_set_param(self._ptr, item.id, cname, float(_real_array(value, name)))
        else:
            arr = _f32(value, name)
            if arr.shape not in ((item.size,), item.shape):
                raise ShapeError(f"parameter {name!r} of {item.name!r}: expected one value per neuron "
                                 f"({item.size},), got shape {arr.shape}")
            status = lib.snn_population_set_param_array(self._ptr, item.id, cname, _buf(arr), arr.size)
        if status:
            self._fail(status, f"{item.name}.{name}")

    def param(self, target: Target, name: str) -> Union[np.ndarray, float, str]:
        """A parameter's value: a float32 array ``[n]`` (per neuron) for a
        population's numbers, a str for its options, a float for a synapse
        parameter of a connection, a str for a connection's option."""
        item = self._target(target)
        cname = name_bytes(name, "parameter name")
        if isinstance(item, Connection) and name in self._connection_options(item):
            s = ffi.new("const char**")
            status = lib.snn_connection_get_option(self._ptr, item.id, cname, s)
            if status:
                self._fail(status, f"{item.name}.{name}")
            return to_str(s[0])
        if isinstance(item, Connection):
            d = ffi.new("double*")
            status = lib.snn_connection_get_param(self._ptr, item.id, cname, d)
            if status:
                self._fail(status, f"{item.name}.{name}")
            return float(d[0])
        kind = None
        info = _model_params(item.model, "neuron").get(name)
        if info is not None:
            kind = info.kind
        if kind == "string":
            s = ffi.new("const char**")
            status = lib.snn_population_get_option(self._ptr, item.id, cname, s)
            if status:
                self._fail(status, f"{item.name}.{name}")
            return to_str(s[0])
        out = np.empty(item.size, dtype=np.float32)
        count = ffi.new("int64_t*")
        status = lib.snn_population_get_param(self._ptr, item.id, cname, _buf(out, True),
                                              out.size, count)
        if status:
            self._fail(status, f"{item.name}.{name}")
        return out[: count[0]]

    def _connection_options(self, conn: Connection) -> List[str]:
        """The string options of a connection: weight_dtype, plasticity, and
        for a plastic one learning and its rule's options."""
        names = ["weight_dtype", "plasticity"]
        s = ffi.new("const char**")
        check(lib.snn_connection_get_option(self._ptr, conn.id, b"plasticity", s))
        rule = to_str(s[0])
        if rule != "none":
            names.append("learning")
            names += [k for k, info in _model_params(rule, "plasticity").items() if info.kind == "string"]
        return names

    def params(self, target: Target) -> Dict[str, Union[np.ndarray, float, str]]:
        """All parameters of a population's neuron model or a connection's
        synapse model, by name (see :meth:`param` for the value types)."""
        item = self._target(target)
        if isinstance(item, Connection):
            names = list(_model_params(item.synapse, "synapse")) + list(self._connection_options(item))
            rule = self.param(item, "plasticity")
            if rule != "none":
                names += [k for k in _model_params(rule, "plasticity") if k not in names]
        else:
            names = list(_model_params(item.model, "neuron"))
        return {name: self.param(item, name) for name in names}

    # -- state -------------------------------------------------------------------------

    def _conn_state_size(self, conn: Connection, cvar) -> int:
        """Values per instance of a connection's state variable: post.size for
        synaptic state, pre.size / post.size / nnz for a learning rule's traces."""
        count = ffi.new("int64_t*")
        status = lib.snn_connection_read_state(self._ptr, conn.id, cvar, NULL, 0, count)
        if status:
            self._fail(status, f"{conn.name}.{cvar.decode()}")
        return int(count[0]) // self.batch

    def _state_values(self, item: Union[Population, Connection], values: ArrayLike, what: str,
                      n: Optional[int] = None) -> np.ndarray:
        if n is None:
            n = item.size if isinstance(item, Population) else item.post.size
        shape = item.shape if isinstance(item, Population) else (n,)
        arr = _f32(values, what)
        if arr.ndim == 0:
            return np.full(n, arr, dtype=np.float32)
        batch = self.batch
        if arr.shape in ((n,), shape):
            return arr.reshape(n)
        if arr.shape in ((batch, n), (batch,) + shape):
            return arr.reshape(batch * n)
        raise ShapeError(f"{what}: expected shape ({n},) or ({batch}, {n}) [batch, n], got {arr.shape}")

    def set_state(self, target: Target, var: str, values: ArrayLike) -> None:
        """Writes a state variable: a scalar, ``[n]`` (the same for every
        instance) or ``[batch, n]``. ``target`` is a population (``"v"``, ``"u"``
        ...) or a connection (synaptic state such as ``"I"`` or ``"g"``, with
        n = post.size; a learning rule's traces, with n = pre.size, post.size
        or nnz, after the first step). Before the first step this also sets
        the initial state that :meth:`reset` restores."""
        item = self._target(target)
        cvar = name_bytes(var, "variable")
        n = self._conn_state_size(item, cvar) if isinstance(item, Connection) else None
        arr = self._state_values(item, values, f"{item.name}.{var}", n)
        if isinstance(item, Population):
            status = lib.snn_population_write_state(self._ptr, item.id, cvar, _buf(arr), arr.size)
        else:
            status = lib.snn_connection_write_state(self._ptr, item.id, cvar, _buf(arr), arr.size)
        if status:
            self._fail(status, f"set_state({item.name!r}, {var!r})")

    def state(self, target: Target, var: str, copy: bool = False) -> np.ndarray:
        """A state variable as an array ``[batch, n]``.

        For a population's float32 variables this is a **live view** of the
        network's own memory (no copy): it changes as the network steps, and
        writing into it changes the state. The view keeps the network alive;
        while any view exists :meth:`set_batch` raises StateError. Where the
        backend's memory is not host memory in the logical layout (a device
        backend), and with ``copy=True``, it is a copy instead.

        ``"spikes"`` gives the last step's spikes as a bool copy; a
        connection's synaptic state (``"I"``, ``"g"``) is a float32 copy, as
        are its learning rule's traces (``"x_pre"`` ``[batch, pre.size]``,
        ``"x_post"`` ``[batch, post.size]``, ``"eligibility"`` ``[batch, nnz]``
        ...; docs/models.md, "Plasticity").
        """
        item = self._target(target)
        cvar = name_bytes(var, "variable")
        if isinstance(item, Connection):
            return self._read(lib.snn_connection_read_state, item, cvar, np.float32,
                              self._conn_state_size(item, cvar), f"state({item.name!r}, {var!r})")
        if var == "spikes":
            arr = self._read(lib.snn_population_read_spikes, item, None, np.uint8, item.size,
                             f"state({item.name!r}, 'spikes')")
            return arr.view(np.bool_)
        if not copy:
            view = ffi.new("snn_tensor**")
            status = lib.snn_population_view_state(self._ptr, item.id, cvar, view)
            if status == _OK:
                live = self._view_array(view[0])
                if live is not None:
                    return live
            elif status != _UNSUPPORTED:
                self._fail(status, f"state({item.name!r}, {var!r})")
            else:
                lib.snn_clear_error()
        return self._read(lib.snn_population_read_state, item, cvar, np.float32, item.size,
                          f"state({item.name!r}, {var!r})")

    def spikes(self, population: PopulationRef) -> np.ndarray:
        """The spikes of the last step, a bool array ``[batch, n]`` (a copy)."""
        return self.state(self._pop(population), "spikes")

    def _read(self, fn, item, cvar, dtype, n: int, label: str) -> np.ndarray:
        batch = self.batch
        out = np.empty((batch, n), dtype=dtype)
        count = ffi.new("int64_t*")
        buf = _buf(out, True)
        if cvar is None:
            status = fn(self._ptr, item.id, buf, out.size, count)
        else:
            status = fn(self._ptr, item.id, cvar, buf, out.size, count)
        if status:
            self._fail(status, label)
        if count[0] != out.size:
            raise ShapeError(f"{label}: libsnn reported {count[0]} values, expected {batch} x {n}")
        return out

    def _view_array(self, tensor) -> Optional[np.ndarray]:
        """Wraps an exported tensor as a NumPy array that releases it when
        garbage-collected. None (tensor released) if it is not host memory."""
        release = lib.snn_tensor_release
        if tensor.device_type != lib.SNN_DEVICE_CPU or tensor.dtype not in _CODE_DTYPES:
            release(tensor)
            return None
        dtype = _CODE_DTYPES[tensor.dtype]
        shape = tuple(int(tensor.shape[i]) for i in range(tensor.ndim))
        strides = None
        if tensor.strides != NULL:
            strides = tuple(int(tensor.strides[i]) * dtype.itemsize for i in range(tensor.ndim))
        if tensor.data == NULL or 0 in shape:
            release(tensor)
            return np.zeros(shape, dtype=dtype)
        interface = {
            "version": 3,
            "shape": shape,
            "typestr": dtype.str,
            "data": (int(ffi.cast("uintptr_t", tensor.data)), False),
            "strides": strides,
        }
        return np.asarray(_ViewOwner(self._h, tensor, interface))

    def randomize_state(self, target: Target, var: str, distribution: str = "uniform", a: float = 0.0,
                        b: float = 1.0, seed: int = 0) -> None:
        """Draws a state variable independently per instance and neuron from
        ``"uniform"`` (values in [a, b)) or ``"normal"`` (mean a, standard
        deviation b), with its own seed (libsnn's generator: the same values
        on every platform)."""
        item = self._target(target)
        try:
            dist = _DISTRIBUTIONS[distribution]
        except (KeyError, TypeError):
            raise InvalidArgumentError(
                f"distribution must be 'uniform' or 'normal', got {distribution!r}") from None
        fn = lib.snn_population_randomize_state if isinstance(item, Population) else \
            lib.snn_connection_randomize_state
        status = fn(self._ptr, item.id, name_bytes(var, "variable"), dist, float(a), float(b),
                    _int_scalar(seed, "seed", 0))
        if status:
            self._fail(status, f"randomize_state({item.name!r}, {var!r})")

    # -- weights ------------------------------------------------------------------------

    def weights(self, connection: ConnectionRef, dense: bool = False) -> np.ndarray:
        """A copy of a connection's weights (float32).

        Dense connections give ``[pre, post]``. Sparse and one-to-one
        connections give ``[nnz]`` in the connection's order (CSR order; by
        neuron), the order of :meth:`synapses`; with ``dense=True`` any
        connection is expanded to ``[pre, post]`` (duplicates added up).
        Conv2d connections give ``[nnz]``: the kernel, flattened, then any
        biases (``dense=True`` is refused: the weights are shared).
        """
        conn = self._conn(connection)
        out = np.empty(conn.nnz, dtype=np.float32)
        count = ffi.new("int64_t*")
        status = lib.snn_connection_get_weights(self._ptr, conn.id, _buf(out, True),
                                                out.size, count)
        if status:
            self._fail(status, f"weights({conn.name!r})")
        if conn.kind == "dense":
            return out.reshape(conn.shape)
        if not dense:
            return out
        if conn.kind == "conv2d":
            raise InvalidArgumentError(f"weights({conn.name!r}, dense=True): a conv2d connection shares its weights")
        pre, post, _ = self.synapses(conn)
        full = np.zeros(conn.shape, dtype=np.float32)
        np.add.at(full, (pre, post), out)
        return full

    def set_weights(self, connection: ConnectionRef, weights: ArrayLike) -> None:
        """Overwrites a connection's weights: ``[pre, post]`` for a dense
        connection, or ``[nnz]`` in the order :meth:`weights` returns."""
        conn = self._conn(connection)
        w = _f32(weights, "weights")
        allowed = [(conn.nnz,)] + ([conn.shape] if conn.kind == "dense" else [])
        if w.shape not in allowed:
            raise ShapeError(f"set_weights({conn.name!r}): expected shape "
                             f"{' or '.join(map(str, allowed))}, got {w.shape}")
        status = lib.snn_connection_set_weights(self._ptr, conn.id, _buf(w), w.size)
        if status:
            self._fail(status, f"set_weights({conn.name!r})")

    def synapses(self, connection: ConnectionRef) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(pre, post, delay)`` int32 arrays ``[nnz]``, in the order of the weights."""
        conn = self._conn(connection)
        arrays = [np.empty(conn.nnz, dtype=np.int32) for _ in range(3)]
        bufs = [_buf(a, True) for a in arrays]
        count = ffi.new("int64_t*")
        status = lib.snn_connection_get_synapses(self._ptr, conn.id, bufs[0], bufs[1], bufs[2], conn.nnz, count)
        if status:
            self._fail(status, f"synapses({conn.name!r})")
        return arrays[0], arrays[1], arrays[2]

    # -- inputs, outputs, callbacks -------------------------------------------------------

    def _input_array(self, pop: Population, x: ArrayLike, batch: int, whole_run: Optional[int]) -> np.ndarray:
        """Checks and converts an input to a C-contiguous [batch, n] or
        [steps, batch, n] array; float32, uint8 and bool pass unchanged,
        other real dtypes become float32. DLPack tensors (PyTorch, ...) on the
        CPU are read without a copy."""
        a = as_array(x)
        if a.dtype not in _INPUT_DTYPES:
            if a.dtype.kind not in "biuf":
                raise InvalidArgumentError(f"input of {pop.name!r}: cannot use dtype {a.dtype}")
            a = a.astype(np.float32)
        n = pop.size
        if a.ndim == 0:
            return np.full((batch, n), a, dtype=a.dtype)
        a = np.ascontiguousarray(a)
        per_step = {(batch, n), (batch,) + pop.shape}
        if batch == 1:
            per_step |= {(n,), pop.shape}
        if a.shape in per_step:
            return a.reshape(batch, n)
        if whole_run is not None and a.shape in {(whole_run, batch, n), (whole_run, batch) + pop.shape}:
            return a.reshape(whole_run, batch, n)
        expected = f"[batch, n] = ({batch}, {n})"
        if batch == 1:
            expected += f" or [n] = ({n},)"
        if whole_run is not None:
            expected = f"[steps, batch, n] = ({whole_run}, {batch}, {n}), or " + expected + \
                " (held for every step)"
        raise ShapeError(f"input of {pop.name!r}: expected {expected}, got {a.shape}")

    def _set_input(self, key: PopulationRef, x: ArrayLike) -> None:
        # Hot path of step(inputs=...): a few attribute checks and one C call
        # when x is a C-contiguous [batch, n] array of a dtype libsnn takes;
        # passing the same array every step (filled in place) also skips
        # taking a new buffer reference.
        pop = key if (type(key) is Population and key._owner is self._h) else self._pop(key)
        entry = self._input_cache.get(pop.id)
        if entry is None:
            entry = self._input_entry(pop)
        t = entry[0]
        if x is not entry[2]:
            buf = None
            if type(x) is np.ndarray and x.shape == entry[1]:
                code = _INPUT_CODES.get(x.dtype)
                if code is not None:
                    try:
                        buf = _from_buffer(x)  # refuses arrays that are not C-contiguous
                    except (ValueError, BufferError):
                        buf = None
            if buf is None:
                a = self._input_array(pop, x, entry[1][0], None)
                code = _INPUT_CODES[a.dtype]
                buf = _from_buffer(a)
                x = None  # a converted copy is never reused
            t.data = buf
            t.dtype = code
            entry[2] = x
            entry[3] = buf
        status = _c_set_input(self._ptr, pop.id, t)
        if status:
            self._fail(status, f"input of {pop.name!r}")

    def _input_entry(self, pop: Population) -> list:
        """The reusable [batch, n] tensor descriptor of a population's input:
        [snn_tensor*, (batch, n), last array, its buffer, int64_t[2] shape]."""
        shape = (self.batch, pop.size)
        t = ffi.new("snn_tensor*")
        dims = ffi.new("int64_t[2]", list(shape))
        t.ndim = 2
        t.shape = dims
        t.strides = NULL
        t.device_type = lib.SNN_DEVICE_CPU
        entry = self._input_cache[pop.id] = [t, shape, None, None, dims]
        return entry

    def set_input(self, population: PopulationRef, values: ArrayLike) -> None:
        """Gives a source population its input for the next step (copied):
        spikes for ``"spike_source"`` (bool, uint8 or float32; nonzero is a
        spike), values for ``"current_source"``, rates in Hz for ``"poisson"``
        (replacing ``rate`` for that step). Shape ``[batch, n]``, or ``[n]``
        when batch == 1; a scalar is used for every neuron. Other real dtypes
        are converted to float32."""
        self._set_input(population, values)

    def bind_input(self, population: PopulationRef, buffer: ArrayLike) -> None:
        """Binds an array that libsnn reads in place (no copy): ``[batch, n]``
        read every step, or ``[steps, batch, n]`` where step k of each
        :meth:`run` reads slice k. The array is kept alive until
        :meth:`unbind_input`. Arrays that are not C-contiguous float32, uint8
        or bool are copied first (then later writes to yours are not seen)."""
        pop = self._pop(population)
        a = np.asarray(buffer)
        arr = self._input_array(pop, a, self.batch, a.shape[0] if a.ndim >= 3 else None)
        self._bind_input(pop, arr)

    def _bind_input(self, pop: Population, arr: np.ndarray) -> None:
        t, keep = _new_tensor(arr, arr.shape)
        status = lib.snn_population_bind_input(self._ptr, pop.id, t)
        if status:
            self._fail(status, f"bind_input({pop.name!r})")
        self._h.bound[("in", pop.id)] = keep

    def unbind_input(self, population: PopulationRef) -> None:
        """Stops reading a bound input array."""
        pop = self._pop(population)
        status = lib.snn_population_unbind_input(self._ptr, pop.id)
        self._h.bound.pop(("in", pop.id), None)
        if status:
            self._fail(status, f"unbind_input({pop.name!r})")

    def bind_output(self, population: PopulationRef, var: str, buffer: np.ndarray) -> None:
        """Binds a writable, C-contiguous array that each step writes in place:
        ``var`` is ``"spikes"`` (bool, uint8 or float32) or a state variable
        (float32); shape ``[batch, n]`` (overwritten every step) or
        ``[steps, batch, n]`` (step k of a run writes slice k). Kept alive
        until :meth:`unbind_output`."""
        pop = self._pop(population)
        if not isinstance(buffer, np.ndarray):
            raise InvalidArgumentError("bind_output needs a numpy array to write into")
        if not buffer.flags.c_contiguous or not buffer.flags.writeable:
            raise InvalidArgumentError(f"bind_output({pop.name!r}, {var!r}): the array must be "
                                       "C-contiguous and writable (use np.ascontiguousarray)")
        if buffer.dtype not in _DTYPE_CODES:
            raise InvalidArgumentError(f"bind_output({pop.name!r}, {var!r}): unsupported dtype {buffer.dtype}")
        self._bind_output(pop, var, buffer)

    def _bind_output(self, pop: Population, var: str, arr: np.ndarray) -> None:
        t, keep = _new_tensor(arr, arr.shape, writable=True)
        status = lib.snn_population_bind_output(self._ptr, pop.id, name_bytes(var, "variable"), t)
        if status:
            self._fail(status, f"record {pop.name}.{var}")
        self._h.bound[("out", pop.id, var)] = keep

    def unbind_output(self, population: PopulationRef, var: str) -> None:
        """Stops writing a bound output array."""
        pop = self._pop(population)
        status = lib.snn_population_unbind_output(self._ptr, pop.id, name_bytes(var, "variable"))
        self._h.bound.pop(("out", pop.id, var), None)
        if status:
            self._fail(status, f"unbind_output({pop.name!r}, {var!r})")

    def on_spike(self, population: PopulationRef, fn: Optional[SpikeCallback] = _MISSING) -> Any:
        """Calls ``fn(step, batch_index, ids)`` after each step in which the
        population spiked, once per instance, with the ascending ids of the
        neurons that spiked (an int32 array, a copy). It runs on the thread
        that called :meth:`step`/:meth:`run`.

        If ``fn`` returns ``True`` the run stops after the current step and
        :meth:`run` returns normally. If it raises, the run stops after the
        current step and the exception propagates from :meth:`step`/:meth:`run`.
        ``fn=None`` removes the callback. Without ``fn`` this returns a
        decorator: ``@net.on_spike(exc)``.
        """
        pop = self._pop(population)

        def register(callback: Optional[SpikeCallback]) -> Optional[SpikeCallback]:
            if callback is not None and not callable(callback):
                raise InvalidArgumentError("on_spike needs a callable or None")
            if callback is None:
                status = lib.snn_population_set_spike_callback(self._ptr, pop.id, NULL, NULL)
                if status:
                    self._fail(status, f"on_spike({pop.name!r})")
                self._callbacks.fns.pop(pop.id, None)
            else:
                self._callbacks.fns[pop.id] = callback
                status = lib.snn_population_set_spike_callback(self._ptr, pop.id, _get_trampoline(),
                                                               self._h.callback_handle)
                if status:
                    self._callbacks.fns.pop(pop.id, None)
                    self._fail(status, f"on_spike({pop.name!r})")
            return callback

        return register if fn is _MISSING else register(fn)

    def on_learn(self, connection: ConnectionRef, fn: Optional[Callable[[LearningEvent], Any]] = _MISSING) -> Any:
        """Calls ``fn(event)`` after each step in which learning changed the
        weights of a plastic connection, with a :class:`LearningEvent` (how
        many weights changed, by how much in total, which rows and columns).
        ``fn`` may read ``net.weights(conn)``. Returning ``True`` stops the run
        after the step; an exception stops it and propagates. ``fn=None``
        removes it; without ``fn`` this returns a decorator."""
        conn = self._conn(connection)

        def register(callback):
            if callback is not None and not callable(callback):
                raise InvalidArgumentError("on_learn needs a callable or None")
            if callback is None:
                status = lib.snn_connection_set_learning_callback(self._ptr, conn.id, NULL, NULL)
                self._callbacks.learn.pop(conn.id, None)
            else:
                self._callbacks.learn[conn.id] = callback
                status = lib.snn_connection_set_learning_callback(self._ptr, conn.id, _get_learning_trampoline(),
                                                                  self._h.callback_handle)
                if status:
                    self._callbacks.learn.pop(conn.id, None)
            if status:
                self._fail(status, f"on_learn({conn.name!r})")
            return callback

        return register if fn is _MISSING else register(fn)

    def remove_spike_callback(self, population: PopulationRef) -> None:
        """Removes the population's spike callback (same as ``on_spike(pop, None)``)."""
        pop = self._pop(population)
        status = lib.snn_population_set_spike_callback(self._ptr, pop.id, NULL, NULL)
        if status:
            self._fail(status, f"on_spike({pop.name!r})")
        self._callbacks.fns.pop(pop.id, None)

    # -- running --------------------------------------------------------------------------

    def step(self, inputs: Optional[Mapping[PopulationRef, ArrayLike]] = None) -> None:
        """Advances one step. ``inputs`` maps source populations to this step's
        input (see :meth:`set_input`): ``{src: x}`` with x ``[batch, n]``.

        Made for real-time loops: with no inputs this is one C call. State
        views from :meth:`state` show the new values afterwards.
        """
        if inputs:
            for key, x in inputs.items():
                self._set_input(key, x)
        status = _c_step(self._ptr)
        if status:
            self._fail(status, "step")

    def run(self, steps: int, inputs: Optional[Mapping[PopulationRef, ArrayLike]] = None,
            record: Optional[Union[str, Sequence[Union[str, Tuple[PopulationRef, str]]]]] = None) -> Recording:
        """Runs ``steps`` steps in one C call and returns what was recorded.

        Args:
            steps: the number of steps.
            inputs: source population -> ``[steps, batch, n]`` array (step k
                reads slice k), or a per-step ``[batch, n]`` array held for
                every step. Bound in place for the run (no copy) when the
                array is C-contiguous float32, uint8 or bool; otherwise
                converted to float32 first. Wrong shapes raise ShapeError.
            record: ``"pop.var"`` strings or ``(population, var)`` tuples;
                var is ``"spikes"`` or a state variable. Each is recorded into
                a new array ``[steps, batch, n]`` -- bool for spikes, float32
                for state -- written by libsnn directly (no per-step Python).

        Returns:
            A :class:`Recording` (a dict ``"pop.var"`` -> array); empty when
            nothing was recorded. If a spike callback returned True, the run
            stopped early and the arrays hold only the steps that ran.
        """
        steps = _int_scalar(steps, "steps", 0)
        batch = self.batch
        plan: List[Tuple[str, Population, Optional[str], np.ndarray]] = []
        for key, x in (inputs or {}).items():
            pop = self._pop(key)
            plan.append(("in", pop, None, self._input_array(pop, x, batch, steps)))
        recording = Recording()
        if isinstance(record, str):
            record = [record]
        for entry in record or ():
            rpop, rvar = self._record_key(entry)
            out: np.ndarray = np.zeros((steps, batch, rpop.size),
                                       dtype=np.bool_ if rvar == "spikes" else np.float32)
            recording[f"{rpop.name}.{rvar}"] = out
            plan.append(("out", rpop, rvar, out))
        start = self.current_step
        bound = self._h.bound
        done: List[Tuple[str, Population, Optional[str], Optional[tuple]]] = []
        try:
            for kind, bpop, bvar, arr in plan:
                bkey: tuple = ("in", bpop.id) if bvar is None else ("out", bpop.id, bvar)
                previous = bound.get(bkey)
                if bvar is None:
                    self._bind_input(bpop, arr)
                else:
                    self._bind_output(bpop, bvar, arr)
                done.append((kind, bpop, bvar, previous))
            if steps:
                status = _c_run(self._ptr, steps)
                if status:
                    self._fail(status, f"run({steps})")
        finally:
            self._unbind_run(done)
        ran = self.current_step - start
        recording.steps = ran
        if ran < steps:
            for k in list(recording):
                dict.__setitem__(recording, k, recording[k][:ran])
        return recording

    def _unbind_run(self, done) -> None:
        """Unbinds what run() bound, restoring bindings made before it."""
        error = None
        key: tuple
        for kind, pop, var, previous in reversed(done):
            if kind == "in":
                status = lib.snn_population_unbind_input(self._ptr, pop.id)
                key = ("in", pop.id)
            else:
                status = lib.snn_population_unbind_output(self._ptr, pop.id, name_bytes(var))
                key = ("out", pop.id, var)
            self._h.bound.pop(key, None)
            if status and error is None:
                error = status
            if previous is not None:
                t = previous[1]
                if kind == "in":
                    status = lib.snn_population_bind_input(self._ptr, pop.id, t)
                else:
                    status = lib.snn_population_bind_output(self._ptr, pop.id, name_bytes(var), t)
                if status == _OK:
                    self._h.bound[key] = previous
                elif error is None:
                    error = status
        if error is not None:
            raise_status(error, "releasing the buffers bound for run()")

    def _record_key(self, item: Union[str, Tuple[PopulationRef, str]]) -> Tuple[Population, str]:
        if isinstance(item, str):
            if "." not in item:
                raise InvalidArgumentError(f"record entries are 'population.variable', got {item!r}")
            name, var = item.rsplit(".", 1)
            return self._pop(name), var
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
            return self._pop(item[0]), item[1]
        raise InvalidArgumentError(f"record entries are 'pop.var' or (population, var), got {item!r}")

    def reset(self) -> None:
        """Restores the initial state (each variable as it was at the first
        step), step 0 and the random streams' start. Copied inputs are cleared;
        bound arrays and callbacks stay."""
        status = lib.snn_network_reset(self._ptr)
        if status:
            self._fail(status, "reset")

    # -- files ------------------------------------------------------------------------------

    def save(self, path: PathLike, current_state: bool = False) -> None:
        """Writes the network to a ``.snn`` file (a safetensors container that
        other tools can open). With ``current_state=True`` the current state,
        step and random-stream position are stored too, so a loaded copy
        continues where this one is."""
        flags = lib.SNN_SAVE_CURRENT_STATE if current_state else lib.SNN_SAVE_DEFAULT
        status = lib.snn_network_save(self._ptr, os.fsencode(path), flags)
        if status:
            self._fail(status, f"save({os.fspath(path)!r})")

    def to_bytes(self, current_state: bool = False) -> bytes:
        """The ``.snn`` file's bytes (see :meth:`save`); :func:`snn.load` takes them."""
        flags = lib.SNN_SAVE_CURRENT_STATE if current_state else lib.SNN_SAVE_DEFAULT
        size = ffi.new("int64_t*")
        status = lib.snn_network_save_to_memory(self._ptr, flags, NULL, 0, size)
        if status:
            self._fail(status, "to_bytes")
        buf = bytearray(size[0])
        status = lib.snn_network_save_to_memory(self._ptr, flags, _from_buffer(buf), len(buf), size)
        if status:
            self._fail(status, "to_bytes")
        return bytes(buf[: size[0]])

    def to_nir(self, dt: Optional[float] = None):
        """The network as a NIR graph (snn.nir.export): sources as Input
        nodes, dense delta connections with delay 0 as Linear nodes, lif,
        li and if populations as LIF, LI and IF nodes."""
        from . import nir

        return nir.export(self, dt)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], batch: Optional[int] = None,
                   context: Optional[Context] = None) -> "Network":
        """Loads a network from ``.snn`` bytes (as :func:`snn.load`)."""
        return load(data, batch=batch, context=context)

    def __reduce__(self):
        return (_from_pickle, (self.to_bytes(current_state=True),))

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the network now (otherwise the garbage collector does). Live
        state views keep its memory until they are gone."""
        self._callbacks.fns.clear()
        self._h.close()
        self._ptr = NULL

    def __enter__(self) -> "Network":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._h.closed:
            return "Network(<closed>)"
        pops = ", ".join(
            f"{p.name}: {p.model}[{p.size if len(p.shape) == 1 else 'x'.join(map(str, p.shape))}]"
            for p in self._pops)
        conns = ", ".join(f"{c.name}: {c.kind} {c.synapse} nnz={c.nnz}" for c in self._conns)
        return (f"Network(dt={self.dt:g}, batch={self.batch}, seed={self.seed}, backend={self.backend!r}, "
                f"step={self.current_step}, populations=[{pops}], connections=[{conns}])")


def _check_keywords(kind: str, model: str, params: Mapping[str, Any], label: str) -> None:
    """Refuses unknown parameter names before anything is created, so a typo
    does not leave a half-configured population or connection behind."""
    if not params or not isinstance(model, str):
        return
    try:
        known = _model_params(model, kind)
    except (NotFoundError, InvalidArgumentError):
        return  # an unknown model: the C call reports it
    unknown = [k for k in params if k not in known]
    if unknown:
        raise InvalidArgumentError(
            f"{label}: {kind} model {model!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {', '.join(known) or 'none'}")


def _is_scipy_sparse(x: Any) -> bool:
    if x is None or isinstance(x, np.ndarray):
        return False
    try:
        import scipy.sparse as sp
    except ImportError:
        return False
    return sp.issparse(x)


def _pick_context(backend: Optional[str], threads: Optional[int], context: Optional[Context]) -> Context:
    if context is None:
        return Context.default(backend, threads)
    if not isinstance(context, Context):
        raise InvalidArgumentError(f"context must be an snn.Context, got {context!r}")
    if backend not in (None, "auto") and backend != context.backend:
        raise InvalidArgumentError(f"backend={backend!r} disagrees with the context's {context.backend!r}")
    if threads is not None and threads != context.threads:
        raise InvalidArgumentError(f"threads={threads} disagrees with the context's {context.threads}")
    return context


def load(source: Union[PathLike, bytes, bytearray, memoryview], batch: Optional[int] = None,
         context: Optional[Context] = None, backend: Optional[str] = None,
         threads: Optional[int] = None) -> Network:
    """Loads a network from a ``.snn`` file path or from its bytes.

    Args:
        source: a path (str or os.PathLike) or the file's bytes.
        batch: the number of instances; default the batch it was saved with.
        context, backend, threads: where to run it, as for :class:`Network`.

    Raises:
        FormatError: the data is not a valid ``.snn`` (truncated, corrupted...).
        SnnIOError: the file cannot be read (also an OSError).
    """
    ctx = _pick_context(backend, threads, context)
    opts = ffi.new("snn_load_options*")
    check(lib.snn_load_options_init(opts, ffi.sizeof("snn_load_options")))
    if batch is not None:
        opts.batch = _int_scalar(batch, "batch", 1)
    out = ffi.new("snn_network**")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = _from_buffer(source)
        check(lib.snn_network_load_from_memory(ctx._h.ptr, data, len(data), opts, out), "load(<bytes>)")
    else:
        try:
            path = os.fsencode(source)
        except TypeError:
            raise InvalidArgumentError(f"load() takes a path or bytes, got {type(source).__name__}") from None
        check(lib.snn_network_load(ctx._h.ptr, path, opts, out), f"load({os.fsdecode(path)!r})")
    net = Network.__new__(Network)
    net._adopt(out[0], ctx)
    return net


def _from_pickle(data: bytes) -> Network:
    return load(data)
