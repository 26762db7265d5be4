"""Training a network with surrogate gradients (docs/training.md).

:class:`Trainer` is the core's trainer as it is: forward over a batch of
sequences, a loss, backward, an optimizer step, all in C. The optimizers
(:class:`SGD`, :class:`Adam`, :class:`AdamW`) are plain settings objects.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Union

import numpy as np

from ._lib import as_array, check, ffi, lib, name_bytes
from ._network import Connection, Network, Population, _DTYPE_CODES, _buf, _new_tensor
from .errors import InvalidArgumentError, ShapeError

__all__ = ["Trainer", "SGD", "Adam", "AdamW"]

PopulationRef = Union[Population, str, int]
ConnectionRef = Union[Connection, str, int]

# Looked up once here: the release callback may run inside the garbage
# collector while cffi holds its own lock (e.g. during ffi.new), and a first
# attribute lookup on `lib` there would wait for that lock forever.
_c_trainer_destroy = lib.snn_trainer_destroy


class _Optimizer:
    kind = 0

    def __init__(self, **settings: float) -> None:
        self.settings = settings

    def _fill(self, opts) -> None:
        opts.kind = self.kind
        for key, value in self.settings.items():
            setattr(opts, key, float(value))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({args})"


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``
    (``weight_decay`` adds ``weight_decay * w`` to the gradient)."""

    kind = lib.SNN_OPTIMIZER_SGD

    def __init__(self, lr: float = 1e-2, momentum: float = 0.0, weight_decay: float = 0.0,
                 clip_norm: float = 0.0) -> None:
        super().__init__(learning_rate=lr, momentum=momentum, weight_decay=weight_decay, clip_norm=clip_norm)


class Adam(_Optimizer):
    """Adam, as ``torch.optim.Adam`` (``weight_decay`` as L2 in the gradient)."""

    kind = lib.SNN_OPTIMIZER_ADAM

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 clip_norm: float = 0.0) -> None:
        super().__init__(learning_rate=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay,
                         clip_norm=clip_norm)


class AdamW(_Optimizer):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``."""

    kind = lib.SNN_OPTIMIZER_ADAMW

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 clip_norm: float = 0.0) -> None:
        super().__init__(learning_rate=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay,
                         clip_norm=clip_norm)


class Trainer:
    """Backpropagation through time on a network's dense connections.

    >>> trainer = snn.Trainer(net, optimizer=snn.Adam(lr=2e-3))
    >>> trainer.forward({"in": spikes})            # [steps, batch, n]
    >>> loss = trainer.loss("out", "ce_count", labels)
    >>> trainer.backward(); trainer.step(); trainer.zero_grad()

    The forward pass starts every sequence from the network's initial state
    and computes what the network computes when it runs (the "reference"
    backend's operations). With ``carry_state=True`` each pass continues the
    previous one instead (truncated BPTT over a long sequence given in
    pieces; :meth:`reset_state` starts anew). The weights trained are the
    network's own. The trainer keeps its network alive.
    """

    def __init__(self, net: Network, optimizer: Optional[_Optimizer] = None, detach_reset: bool = False,
                 carry_state: bool = False, input_grads: bool = False) -> None:
        if not isinstance(net, Network):
            raise InvalidArgumentError(f"expected a Network, got {type(net).__name__}")
        opts = ffi.new("snn_trainer_options*")
        check(lib.snn_trainer_options_init(opts, ffi.sizeof("snn_trainer_options")))
        opts.detach_reset = 1 if detach_reset else 0
        opts.carry_state = 1 if carry_state else 0
        opts.input_grads = 1 if input_grads else 0
        out = ffi.new("snn_trainer**")
        check(lib.snn_trainer_create(net._ptr, opts, out), "cannot create the trainer")
        self._net = net
        self._net_handle = net._h
        self._net_handle.views += 1  # the network outlives the trainer
        handle = self._net_handle

        def release(ptr) -> None:  # holds no reference to the trainer, so no cycle delays it
            _c_trainer_destroy(ptr)
            handle.view_released()

        self._ptr = ffi.gc(out[0], release)
        self._shape = (0, 0)
        self.optimizer = optimizer if optimizer is not None else Adam()

    @property
    def network(self) -> Network:
        return self._net

    @property
    def optimizer(self) -> _Optimizer:
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer: _Optimizer) -> None:
        if not isinstance(optimizer, _Optimizer):
            raise InvalidArgumentError(f"expected snn.SGD, snn.Adam or snn.AdamW, got {optimizer!r}")
        opts = ffi.new("snn_optimizer_options*")
        check(lib.snn_optimizer_options_init(opts, ffi.sizeof("snn_optimizer_options")))
        optimizer._fill(opts)
        check(lib.snn_trainer_set_optimizer(self._ptr, opts), "optimizer")
        self._optimizer = optimizer

    def forward(self, inputs: Mapping[PopulationRef, Any], steps: Optional[int] = None,
                batch: Optional[int] = None) -> None:
        """Runs the network over ``[steps, batch, n]`` inputs (one per source
        population: float32, uint8 or bool, any strides; other dtypes are
        converted to float32; NumPy arrays or any DLPack tensor on the CPU,
        e.g. PyTorch's, read without a copy) and records the tape. ``steps`` and ``batch``
        default to the inputs' first two dimensions."""
        arrays: List[np.ndarray] = []
        ids: List[int] = []
        for ref, x in inputs.items():
            pop = self._net._pop(ref)
            arr = as_array(x)
            if arr.dtype not in (np.float32, np.uint8, np.bool_):
                arr = arr.astype(np.float32)
            if arr.ndim != 3:
                raise ShapeError(f"input of {pop.name!r}: expected [steps, batch, {pop.size}], got shape {arr.shape}")
            arrays.append(arr)
            ids.append(pop.id)
        if steps is None or batch is None:
            if not arrays:
                raise InvalidArgumentError("give steps and batch when there are no inputs")
            steps = arrays[0].shape[0] if steps is None else steps
            batch = arrays[0].shape[1] if batch is None else batch
        tensors = ffi.new("snn_tensor[]", max(1, len(arrays)))
        keep = []
        for k, arr in enumerate(arrays):
            shape = ffi.new("int64_t[3]", list(arr.shape))
            strides = ffi.new("int64_t[3]", [s // arr.itemsize for s in arr.strides])
            # The address of element [0, 0, 0]; with the strides it reaches
            # every element of a view (arr stays alive in `keep`).
            raw = ffi.cast("void*", arr.__array_interface__["data"][0])
            t = tensors[k]
            t.data = raw
            t.dtype = _DTYPE_CODES[arr.dtype]
            t.ndim = 3
            t.shape = shape
            t.strides = strides
            t.device_type = lib.SNN_DEVICE_CPU
            keep.append((arr, shape, strides, raw))
        pops = ffi.new("int32_t[]", ids or [0])
        check(lib.snn_trainer_forward(self._ptr, int(steps), int(batch), len(arrays), pops, tensors), "forward")
        self._shape = (int(steps), int(batch))
        del keep

    def output(self, population: PopulationRef, var: str = "spikes") -> np.ndarray:
        """``spikes`` (0/1) or ``v`` of a population in the last forward pass,
        ``[steps, batch, n]`` float32."""
        pop = self._net._pop(population)
        out = np.empty(self._shape + (pop.size,), dtype=np.float32)
        check(lib.snn_trainer_read_output(self._ptr, pop.id, name_bytes(var, "var"), _buf(out, True), out.size),
              f"output({pop.name!r}, {var!r})")
        return out

    def loss(self, population: PopulationRef, loss: str, target: Any) -> float:
        """A built-in loss of the last forward pass (``ce_count``,
        ``mse_count``, ``ce_max_v``, ``ce_mean_v``), averaged over the batch;
        its gradient is what the next :meth:`backward` propagates (with any
        other loss or output gradient given since the forward pass)."""
        pop = self._net._pop(population)
        arr = as_array(target)
        if loss == "mse_count":
            arr = np.ascontiguousarray(arr, dtype=np.float32)
        else:
            if arr.dtype.kind not in "iu":
                raise InvalidArgumentError(f"{loss}: target must be integer class labels, got dtype {arr.dtype}")
            arr = np.ascontiguousarray(arr, dtype=np.int64)
        t, keep = _new_tensor(arr, arr.shape)
        value = ffi.new("double*")
        check(lib.snn_trainer_loss(self._ptr, pop.id, name_bytes(loss, "loss"), t, value), f"loss({pop.name!r}, {loss!r})")
        del keep
        return float(value[0])

    def add_output_grad(self, population: PopulationRef, var: str, grad: Any) -> None:
        """Adds dL/d(output) of your own loss: ``[steps, batch, n]``."""
        pop = self._net._pop(population)
        g = np.ascontiguousarray(as_array(grad), dtype=np.float32)
        check(lib.snn_trainer_add_output_grad(self._ptr, pop.id, name_bytes(var, "var"), _buf(g), g.size),
              f"add_output_grad({pop.name!r})")

    def backward(self) -> None:
        check(lib.snn_trainer_backward(self._ptr), "backward")

    def input_grad(self, population: PopulationRef) -> np.ndarray:
        """With ``input_grads=True``: dL/d(input) of a source population in
        the last backward pass, ``[steps, batch, n]`` float32."""
        pop = self._net._pop(population)
        out = np.empty(self._shape + (pop.size,), dtype=np.float32)
        check(lib.snn_trainer_read_input_grad(self._ptr, pop.id, _buf(out, True), out.size), f"input_grad({pop.name!r})")
        return out

    def zero_grad(self) -> None:
        check(lib.snn_trainer_zero_grad(self._ptr))

    def train_param(self, population: PopulationRef, name: str, trainable: bool = True) -> None:
        """Trains a neuron parameter beside the weights, one value per neuron:
        ``"v_th"`` (spiking layers), ``"tau_mem"`` or ``"beta"`` (``lif``,
        ``alif``, ``li`` fed by delta synapses; ``"beta"`` is the decay per
        step ``exp(-dt / tau_mem)``, stored back as ``tau_mem``), ``"beta"``
        (``leaky``). From the next forward pass on, :meth:`backward` computes
        its gradient (:meth:`param_grad`) and :meth:`step` updates it
        (tau_mem kept >= dt / 1000, decays within [1e-6, 1 - 1e-6], leaky's
        beta in [0, 1])."""
        pop = self._net._pop(population)
        check(lib.snn_trainer_train_param(self._ptr, pop.id, name_bytes(name, "name"), 1 if trainable else 0),
              f"train_param({pop.name!r}, {name!r})")

    def param_grad(self, population: PopulationRef, name: str) -> np.ndarray:
        """A trained parameter's gradient, ``[n]`` float32."""
        pop = self._net._pop(population)
        out = np.empty(pop.size, dtype=np.float32)
        check(lib.snn_trainer_read_param_grad(self._ptr, pop.id, name_bytes(name, "name"), _buf(out, True), out.size),
              f"param_grad({pop.name!r}, {name!r})")
        return out

    def grad(self, connection: ConnectionRef) -> np.ndarray:
        """A connection's weight gradient, shaped as :meth:`Network.weights`
        gives its weights: ``[pre, post]`` (dense) or ``[nnz]``."""
        conn = self._net._conn(connection)
        out = np.empty((conn.pre.size, conn.post.size) if conn.kind == "dense" else (conn.nnz,), dtype=np.float32)
        check(lib.snn_trainer_read_grad(self._ptr, conn.id, _buf(out, True), out.size), f"grad({conn.name!r})")
        return out

    def set_grad(self, connection: ConnectionRef, grad: Any) -> None:
        conn = self._net._conn(connection)
        g = np.ascontiguousarray(as_array(grad), dtype=np.float32)
        check(lib.snn_trainer_write_grad(self._ptr, conn.id, _buf(g), g.size), f"set_grad({conn.name!r})")

    def reset_state(self) -> None:
        """With ``carry_state=True``: the next forward pass starts a new
        sequence from the initial state."""
        check(lib.snn_trainer_reset_state(self._ptr))

    def step(self) -> None:
        """One optimizer step on the network's weights."""
        check(lib.snn_trainer_step(self._ptr), "step")

    @property
    def tape_bytes(self) -> int:
        out = ffi.new("int64_t*")
        check(lib.snn_trainer_tape_bytes(self._ptr, out))
        return int(out[0])

    def __repr__(self) -> str:
        return f"<snn.Trainer of {self._net!r}, {self._optimizer!r}>"
