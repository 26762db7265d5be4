"""A PyTorch-like layer API that compiles to one core network and trains it
with the core's trainer (docs/training.md, docs/python.md).

>>> model = snn.Sequential(snn.Linear(784, 128), snn.LIF(beta=0.9),
...                        snn.Linear(128, 10), snn.LIF(beta=0.9))
>>> model.fit(x_train, y_train, epochs=1, batch_size=128, optimizer=snn.Adam(lr=2e-3),
...           encoder=snn.encode.rate(steps=25))
>>> model.evaluate(x_test, y_test, encoder=snn.encode.rate(steps=25))

Weights follow PyTorch: ``Linear.weight`` is ``[out, in]`` (the core's
connections are ``[pre, post]``; the conversion is explicit here). A ``LIF``
or ``LI`` layer with decay ``beta`` behaves as ``v <- beta v + W x`` (the
core's exact propagator decays the input of the step too, so the connection
stores ``W / beta``; the ``weight`` property undoes it).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import numpy as np

from . import encode as _encode
from ._lib import as_array
from ._network import Network
from ._train import Adam, Trainer, _Optimizer
from .errors import InvalidArgumentError, ShapeError, StateError

__all__ = ["Layer", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "SumPool2d", "Flatten", "LIF", "IF", "LI",
           "Leaky", "Sequential"]


class Layer:
    """Base of the layers of :class:`Sequential`."""


class _Weighted(Layer):
    """A connection layer: weights and optional biases, kept here until the
    model is compiled and in its network after."""

    has_bias = False
    _bias: Optional[np.ndarray] = None
    _model: Optional["Sequential"] = None
    _index = -1

    @staticmethod
    def _checked(values, shape, what) -> np.ndarray:
        arr = np.array(values, dtype=np.float32)
        if arr.shape != tuple(shape):
            raise ShapeError(f"{what}: expected shape {tuple(shape)}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise InvalidArgumentError(f"{what}: values must be finite")
        return arr

    @property
    def weight(self) -> np.ndarray:
        """The weights in PyTorch's layout, float32 (a copy; assign to change them)."""
        if self._model is not None and self._model._net is not None:
            return self._model._read_weight(self._index)
        return self._weight.copy()

    @weight.setter
    def weight(self, values) -> None:
        self._weight = self._checked(values, self.weight_shape, "weight")
        if self._model is not None and self._model._net is not None:
            self._model._write_weight(self._index, self._weight, None)

    @property
    def bias(self) -> Optional[np.ndarray]:
        if not self.has_bias:
            return None
        if self._model is not None and self._model._net is not None:
            return self._model._read_bias(self._index)
        return self._bias.copy()

    @bias.setter
    def bias(self, values) -> None:
        if not self.has_bias:
            raise InvalidArgumentError(f"this {type(self).__name__} has no bias")
        self._bias = self._checked(values, self.weight_shape[:1], "bias")
        if self._model is not None and self._model._net is not None:
            self._model._write_weight(self._index, None, self._bias)


class Linear(_Weighted):
    """A dense connection ``in_features -> out_features``: ``weight`` ``[out,
    in]`` and an optional ``bias`` ``[out]``, initialised as PyTorch's
    ``nn.Linear`` (uniform in +-1/sqrt(in_features)) unless given."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, weight=None, bias_values=None,
                 seed: Optional[int] = None) -> None:
        if in_features < 1 or out_features < 1:
            raise InvalidArgumentError(f"Linear({in_features}, {out_features}): sizes must be positive")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(self.in_features)
        w = rng.uniform(-bound, bound, self.weight_shape) if weight is None else weight
        self._weight = self._checked(w, self.weight_shape, "weight")
        self.has_bias = bool(bias)
        if self.has_bias:
            b = rng.uniform(-bound, bound, self.out_features) if bias_values is None else bias_values
            self._bias = self._checked(b, (self.out_features,), "bias")

    @property
    def weight_shape(self):
        return (self.out_features, self.in_features)

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.has_bias})"


def _pair(value, what: str, low: int):
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low for v in items):
        raise InvalidArgumentError(f"{what} must be an int >= {low} or a pair of them, got {value!r}")
    return (int(items[0]), int(items[1]))


class Conv2d(_Weighted):
    """A 2-D convolution ``in_channels -> out_channels`` as PyTorch's
    ``nn.Conv2d`` (cross-correlation): ``weight`` ``[out, in, kh, kw]`` and an
    optional ``bias`` ``[out]``, initialised as PyTorch does (uniform in
    +-1/sqrt(in * kh * kw)) unless given. A pooling layer right after it
    (:class:`MaxPool2d`, :class:`AvgPool2d`, :class:`SumPool2d`) pools its
    output before the neurons, as in snnTorch's convolutional networks; the
    two become one conv2d connection of the core."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = True,
                 weight=None, bias_values=None, seed: Optional[int] = None) -> None:
        if in_channels < 1 or out_channels < 1:
            raise InvalidArgumentError(f"Conv2d({in_channels}, {out_channels}): channel counts must be positive")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(fan_in)
        shape = (self.out_channels, self.in_channels, kh, kw)
        w = rng.uniform(-bound, bound, shape) if weight is None else weight
        self._weight = self._checked(w, shape, "weight")
        self.has_bias = bool(bias)
        if self.has_bias:
            b = rng.uniform(-bound, bound, self.out_channels) if bias_values is None else bias_values
            self._bias = self._checked(b, (self.out_channels,), "bias")
        self.pool: Optional["_Pool2d"] = None

    @property
    def weight_shape(self):
        return (self.out_channels, self.in_channels) + self.kernel_size

    def output_shape(self, shape):
        """``(C, H, W)`` after the convolution and any pooling."""
        c, h, w = shape
        (kh, kw), (sy, sx), (py, px) = self.kernel_size, self.stride, self.padding
        if c != self.in_channels:
            raise ShapeError(f"{self!r} takes {self.in_channels} channels; its input has shape {tuple(shape)}")
        if h + 2 * py < kh or w + 2 * px < kw:
            raise ShapeError(f"{self!r}: the kernel does not fit the input of shape {tuple(shape)}")
        h, w = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1
        if self.pool is not None:
            (ph, pw), (qy, qx) = self.pool.kernel_size, self.pool.stride
            if ph > h or pw > w:
                raise ShapeError(f"{self.pool!r} does not fit the convolution's {h} x {w} output")
            h, w = (h - ph) // qy + 1, (w - pw) // qx + 1
        return (self.out_channels, h, w)

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.has_bias})")


class _Pool2d(Layer):
    mode = ""

    def __init__(self, kernel_size, stride=None) -> None:
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride if stride is not None else kernel_size, "stride", 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    """The largest value of each window of the convolution before it (as
    PyTorch's ``nn.MaxPool2d``; ``stride`` defaults to ``kernel_size``)."""

    mode = "max"


class AvgPool2d(_Pool2d):
    """The mean of each window of the convolution before it."""

    mode = "avg"


class SumPool2d(_Pool2d):
    """The sum of each window of the convolution before it (NIR's SumPool2d)."""

    mode = "sum"


class Flatten(Layer):
    """Marks the change from ``[C, H, W]`` to a flat vector before a
    :class:`Linear` (the neurons are already stored in that order: nothing
    is computed)."""

    def __repr__(self) -> str:
        return "Flatten()"


class _Neurons(Layer):
    model = ""
    decay_input = True  # the exact propagator decays the step's input (lif, li)

    def __init__(self, beta: Optional[float], tau: Optional[float], learn_beta: bool = False) -> None:
        self.learn_beta = bool(learn_beta)
        if (beta is None) == (tau is None):
            raise InvalidArgumentError(f"{type(self).__name__}: give beta or tau (seconds), not both or neither")
        if beta is not None and not 0.0 < beta < 1.0:
            raise InvalidArgumentError(f"beta must be in (0, 1), got {beta}")
        if tau is not None and not tau > 0.0:
            raise InvalidArgumentError(f"tau must be positive, got {tau}")
        self.beta_value, self.tau_value = beta, tau

    def beta(self, dt: float) -> float:
        return self.beta_value if self.beta_value is not None else math.exp(-dt / self.tau_value)

    def tau(self, dt: float) -> float:
        return self.tau_value if self.tau_value is not None else -dt / math.log(self.beta_value)


class LIF(_Neurons):
    """Leaky integrate-and-fire: ``v <- beta v + input``; a spike when ``v >
    threshold``, then ``reset`` "subtract" (``v -= threshold``) or "zero".
    ``learn_threshold`` / ``learn_beta`` train the threshold / the time
    constant per neuron beside the weights (as snnTorch's flags; ``beta``
    here multiplies the stored input weight too, so ``weight`` follows it).
    ``beta`` or ``tau`` (seconds; ``beta = exp(-dt / tau)``)."""

    model = "lif"

    def __init__(self, beta: Optional[float] = None, tau: Optional[float] = None, threshold: float = 1.0,
                 reset: str = "subtract", surrogate: str = "fast_sigmoid", surrogate_scale: float = 0.0,
                 learn_beta: bool = False, learn_threshold: bool = False) -> None:
        super().__init__(beta, tau, learn_beta)
        self.learn_threshold = bool(learn_threshold)
        if reset not in ("subtract", "zero"):
            raise InvalidArgumentError(f"reset must be 'subtract' or 'zero', got {reset!r}")
        self.threshold, self.reset = float(threshold), reset
        self.surrogate, self.surrogate_scale = surrogate, float(surrogate_scale)

    def params(self, dt: float) -> Dict[str, Any]:
        return dict(tau_mem=self.tau(dt), v_rest=0.0, v_reset=0.0, v_th=self.threshold,
                    reset="subtract" if self.reset == "subtract" else "value", surrogate=self.surrogate,
                    surrogate_scale=self.surrogate_scale)

    def __repr__(self) -> str:
        decay = f"beta={self.beta_value}" if self.beta_value is not None else f"tau={self.tau_value}"
        return f"LIF({decay}, threshold={self.threshold}, reset={self.reset!r}, surrogate={self.surrogate!r})"


class IF(Layer):
    """Integrate-and-fire without leak: ``v <- v + input``."""

    model = "if"
    decay_input = False

    def __init__(self, threshold: float = 1.0, reset: str = "subtract", surrogate: str = "fast_sigmoid",
                 surrogate_scale: float = 0.0, learn_threshold: bool = False) -> None:
        if reset not in ("subtract", "zero"):
            raise InvalidArgumentError(f"reset must be 'subtract' or 'zero', got {reset!r}")
        self.threshold, self.reset = float(threshold), reset
        self.learn_threshold = bool(learn_threshold)
        self.surrogate, self.surrogate_scale = surrogate, float(surrogate_scale)

    def beta(self, dt: float) -> float:
        return 1.0

    def params(self, dt: float) -> Dict[str, Any]:
        return dict(v_reset=0.0, v_th=self.threshold, reset="subtract" if self.reset == "subtract" else "value",
                    surrogate=self.surrogate, surrogate_scale=self.surrogate_scale)

    def __repr__(self) -> str:
        return f"IF(threshold={self.threshold}, reset={self.reset!r})"


class Leaky(Layer):
    """snnTorch's ``Leaky`` step for step (the core's ``leaky`` model,
    docs/models.md): ``v <- beta v + input - reset``, a spike when ``v >
    threshold``, where the reset of a spike applies in the next step
    (``"subtract"``: ``threshold`` is subtracted; ``"zero"``: the next step
    starts from 0; ``"none"``). The input is added undecayed, and the
    surrogate defaults to snnTorch's (arctan, ``surrogate_scale`` 2). A port
    of ``snntorch.Leaky(beta, threshold, reset_mechanism=...)`` gives its
    spikes; snnTorch detaches the reset from the gradient, so train with
    ``detach_reset=True`` for its gradients."""

    model = "leaky"
    decay_input = False

    def __init__(self, beta: float = 0.9, threshold: float = 1.0, reset: str = "subtract", surrogate: str = "arctan",
                 surrogate_scale: float = 0.0, learn_beta: bool = False, learn_threshold: bool = False) -> None:
        self.learn_beta, self.learn_threshold = bool(learn_beta), bool(learn_threshold)
        if not 0.0 <= beta <= 1.0:
            raise InvalidArgumentError(f"beta must be in [0, 1], got {beta}")
        if reset not in ("subtract", "zero", "none"):
            raise InvalidArgumentError(f"reset must be 'subtract', 'zero' or 'none', got {reset!r}")
        self.beta_value, self.threshold, self.reset = float(beta), float(threshold), reset
        self.surrogate, self.surrogate_scale = surrogate, float(surrogate_scale)

    def beta(self, dt: float) -> float:
        return self.beta_value

    def params(self, dt: float) -> Dict[str, Any]:
        return dict(beta=self.beta_value, v_th=self.threshold, reset=self.reset, surrogate=self.surrogate,
                    surrogate_scale=self.surrogate_scale)

    def __repr__(self) -> str:
        return f"Leaky(beta={self.beta_value}, threshold={self.threshold}, reset={self.reset!r})"


class LI(_Neurons):
    """A leaky integrator readout (no spikes): ``v <- beta v + input``."""

    model = "li"

    def __init__(self, beta: Optional[float] = None, tau: Optional[float] = None, learn_beta: bool = False) -> None:
        super().__init__(beta, tau, learn_beta)

    def params(self, dt: float) -> Dict[str, Any]:
        return dict(tau_mem=self.tau(dt), v_rest=0.0)

    def __repr__(self) -> str:
        decay = f"beta={self.beta_value}" if self.beta_value is not None else f"tau={self.tau_value}"
        return f"LI({decay})"


class Sequential:
    """Layers in order: a connection layer (:class:`Linear`, or
    :class:`Conv2d` optionally followed by a pooling layer), then a neuron
    layer (:class:`LIF`, :class:`IF`, or an :class:`LI` readout last), and so
    on; :class:`Flatten` before a Linear that follows a Conv2d. Compiled to
    one :class:`snn.Network` (``model.network``) on first use: an input
    population (``spike_source``, or ``current_source`` for current input),
    one population per neuron layer, one connection per connection layer
    (delay 0, as snnTorch), and for the biases of Linear layers a constant
    ``current_source`` of one neuron (a Conv2d keeps its biases in its
    connection).

    ``input_shape`` (``(C, H, W)`` for a first Conv2d) is taken from the
    first data the model sees when not given: ``[N, H, W]`` images for one
    channel, or ``[N, C, H, W]``. ``detach_reset`` (default: True when a
    layer is a :class:`Leaky`, as snnTorch trains it, else False) drops the
    reset from the gradient.
    """

    def __init__(self, *layers: Layer, dt: float = 1e-3, backend: Optional[str] = None, threads: Optional[int] = None,
                 seed: int = 0, input_shape=None, detach_reset: Optional[bool] = None) -> None:
        if not layers:
            raise InvalidArgumentError("Sequential needs layers")
        self.layers: List[Layer] = list(layers)
        pairs = []
        pending = None
        for k, layer in enumerate(layers):
            if isinstance(layer, _Weighted):
                if pending is not None:
                    raise InvalidArgumentError(f"{pending!r} is followed by {layer!r}: each connection layer needs a neuron "
                                               "layer (LIF, IF or LI) after it")
                if layer._model is not None:
                    raise InvalidArgumentError(f"{layer!r} already belongs to a model")
                if pairs and isinstance(pairs[-1][1], LI):
                    raise InvalidArgumentError("an LI readout emits no spikes: it can only be the last layer")
                pending = layer
            elif isinstance(layer, _Pool2d):
                if not isinstance(pending, Conv2d) or pending.pool is not None:
                    raise InvalidArgumentError(f"{layer!r} at position {k}: a pooling layer follows a Conv2d (pooling its "
                                               "output before the neurons, as snnTorch's convolutional networks do)")
                pending.pool = layer
            elif isinstance(layer, Flatten):
                if pending is not None:
                    raise InvalidArgumentError(f"Flatten at position {k}: put it after the neuron layer, before the Linear")
            elif isinstance(layer, (LIF, IF, LI, Leaky)):
                if pending is None:
                    raise InvalidArgumentError(f"{layer!r} at position {k}: a neuron layer follows a Linear or Conv2d")
                if isinstance(pending, Conv2d) and getattr(layer, "decay_input", False) and layer.learn_beta:
                    raise InvalidArgumentError(f"{layer!r} with learn_beta after a Conv2d: its shared kernel cannot follow "
                                               "per-neuron time constants; use Leaky(learn_beta=True)")
                pending._model, pending._index = self, len(pairs)
                pairs.append((pending, layer))
                pending = None
            else:
                raise InvalidArgumentError(f"{layer!r} is not a layer Sequential knows")
        if pending is not None or not pairs:
            raise InvalidArgumentError("the last layer must be a neuron layer (LIF, IF or LI)")
        self._pairs = pairs
        self.dt, self.backend, self.threads, self.seed = float(dt), backend, threads, int(seed)
        self.input_shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
        if self.input_shape is None and isinstance(pairs[0][0], Linear):
            self.input_shape = (pairs[0][0].in_features,)
        self._shapes: Optional[List[tuple]] = None
        if self.input_shape is not None:
            self._shapes = self._infer_shapes(self.input_shape)
        # snnTorch detaches the reset from the gradient: so do models of its Leaky.
        self.detach_reset = (any(isinstance(n, Leaky) for _, n in pairs) if detach_reset is None else bool(detach_reset))
        self._net: Optional[Network] = None
        self._input_kind: Optional[str] = None
        self._trainer: Optional[Trainer] = None
        self._optimizer: Optional[_Optimizer] = None

    def _infer_shapes(self, input_shape) -> List[tuple]:
        """The shape of the input and of each neuron layer."""
        shapes = [tuple(input_shape)]
        shape = shapes[0]
        for lin, _ in self._pairs:
            if isinstance(lin, Conv2d):
                if len(shape) != 3:
                    raise ShapeError(f"{lin!r} needs [C, H, W] input; it gets {shape}")
                shape = lin.output_shape(shape)
            else:
                n = int(np.prod(shape))
                if n != lin.in_features:
                    raise ShapeError(f"{lin!r} takes {lin.in_features} inputs; the layer before gives {n} "
                                     f"(shape {shape})")
                shape = (lin.out_features,)
            shapes.append(shape)
        return shapes

    def _see_input(self, x, encoder) -> None:
        """Takes the input shape from the first data, when it was not given."""
        if self._shapes is not None:
            return
        first = self._pairs[0][0]
        arr = as_array(x)
        dims = arr.shape[1:] if encoder is not None else None
        if dims is not None and len(dims) == 2 and first.in_channels == 1:
            shape = (1,) + tuple(dims)
        elif dims is not None and len(dims) == 3:
            shape = tuple(dims)
        else:
            raise ShapeError(f"Sequential: give input_shape=(C, H, W) for a first {first!r} "
                             f"(the data's shape {arr.shape} does not say it)")
        self.input_shape = tuple(int(v) for v in shape)
        self._shapes = self._infer_shapes(self.input_shape)

    # -- the compiled network --------------------------------------------------

    @property
    def in_features(self) -> int:
        if self.input_shape is None:
            raise StateError("the input shape is not known yet (give input_shape= or data)")
        return int(np.prod(self.input_shape))

    @property
    def out_features(self) -> int:
        lin = self._pairs[-1][0]
        if self._shapes is None and not isinstance(lin, Linear):
            raise StateError("the input shape is not known yet (give input_shape= or data)")
        return int(np.prod(self._shapes[-1])) if self._shapes is not None else lin.out_features

    @property
    def network(self) -> Network:
        """The compiled network (compiled for spike input if not yet)."""
        return self._net if self._net is not None else self._compile("spikes")

    def _compile(self, kind: str) -> Network:
        if self._net is not None:
            if kind != self._input_kind:
                raise StateError(f"the model was compiled for {self._input_kind} input; got {kind} input")
            return self._net
        if self._shapes is None:
            raise StateError("the input shape is not known yet (give input_shape= or data)")
        net = Network(dt=self.dt, seed=self.seed, backend=self.backend, threads=self.threads)
        net.population("input", self._shapes[0], "spike_source" if kind == "spikes" else "current_source")
        if any(lin.has_bias and not isinstance(lin, Conv2d) for lin, _ in self._pairs):
            net.population("bias", 1, "current_source", current=1.0)
        self._net, self._input_kind = net, kind
        for k, (lin, neurons) in enumerate(self._pairs):
            name = f"layer{k}"
            net.population(name, self._shapes[k + 1], neurons.model, **neurons.params(self.dt))
            pre = "input" if k == 0 else f"layer{k - 1}"
            if isinstance(lin, Conv2d):
                pool = lin.pool
                net.conv2d(pre, name, np.zeros(lin.weight_shape, np.float32),
                           np.zeros(lin.out_channels, np.float32) if lin.has_bias else None, stride=lin.stride,
                           padding=lin.padding, pool=pool.mode if pool is not None else None,
                           pool_size=pool.kernel_size if pool is not None else 2,
                           pool_stride=pool.stride if pool is not None else None, delay=0, synapse="delta",
                           name=f"fc{k}")
            else:
                net.connect(pre, name, weights=np.zeros((lin.in_features, lin.out_features), np.float32), delay=0,
                            synapse="delta", name=f"fc{k}")
                if lin.has_bias:
                    net.connect("bias", name, weights=np.zeros((1, lin.out_features), np.float32), delay=0,
                                synapse="delta", name=f"fc{k}_bias")
            self._write_weight(k, lin._weight, lin._bias)
        return net

    def _scale(self, k: int):
        """What the core's step multiplies a stored input weight by: the
        layer's decay (one value, or per neuron when it is trained)."""
        neurons = self._pairs[k][1]
        if not neurons.decay_input:
            return np.float32(1.0)
        if neurons.learn_beta and self._net is not None:
            tau = np.asarray(self._net.param(f"layer{k}", "tau_mem"), np.float64)
            return np.exp(-self.dt / tau).astype(np.float32)
        return np.float32(neurons.beta(self.dt))

    def _read_weight(self, k: int) -> np.ndarray:
        lin = self._pairs[k][0]
        w = self._net.weights(f"fc{k}") * self._scale(k)
        if isinstance(lin, Conv2d):
            return w[:int(np.prod(lin.weight_shape))].reshape(lin.weight_shape)
        return w.T.copy()

    def _read_bias(self, k: int) -> np.ndarray:
        lin = self._pairs[k][0]
        if isinstance(lin, Conv2d):
            w = self._net.weights(f"fc{k}")
            return (w[-lin.out_channels:] * self._scale(k)).copy()
        return (self._net.weights(f"fc{k}_bias")[0] * self._scale(k)).copy()

    def _write_weight(self, k: int, weight, bias) -> None:
        scale = self._scale(k)
        lin = self._pairs[k][0]
        if isinstance(lin, Conv2d):  # one array: the kernel, then the biases
            w = self._net.weights(f"fc{k}")
            kernel = int(np.prod(lin.weight_shape))
            if weight is not None:
                w[:kernel] = (np.asarray(weight, np.float32) / scale).ravel()
            if bias is not None:
                w[kernel:] = np.asarray(bias, np.float32) / scale
            self._net.set_weights(f"fc{k}", w)
            return
        if weight is not None:  # [out, in] over each output neuron's scale
            self._net.set_weights(f"fc{k}", np.ascontiguousarray((weight / np.reshape(scale, (-1, 1))).T, dtype=np.float32))
        if bias is not None:
            self._net.set_weights(f"fc{k}_bias", (bias / scale).astype(np.float32)[None, :])

    def _output(self) -> str:
        return f"layer{len(self._pairs) - 1}"

    @property
    def output_population(self) -> str:
        """The name of the last layer's population in :attr:`network`."""
        return self._output()

    def _readout(self) -> bool:
        return isinstance(self._pairs[-1][1], LI)

    # -- running ---------------------------------------------------------------

    def _sequences(self, x, encoder, rng) -> np.ndarray:
        if encoder is not None:
            return encoder(x, rng)
        arr = as_array(x)
        if arr.ndim != 3 or arr.shape[2] != self.in_features:
            raise ShapeError(f"without an encoder, give [steps, batch, {self.in_features}] inputs; got shape {arr.shape}")
        return arr

    def _kind(self, encoder, seq: np.ndarray) -> str:
        if encoder is not None:
            return encoder.kind
        return "spikes" if seq.dtype in (np.uint8, np.bool_) else "current"

    def _get_trainer(self, kind: str) -> Trainer:
        net = self._compile(kind)
        if self._trainer is None:
            self._trainer = Trainer(net, optimizer=self._optimizer or Adam(), detach_reset=self.detach_reset)
            for k, (_, neurons) in enumerate(self._pairs):
                if getattr(neurons, "learn_threshold", False):
                    self._trainer.train_param(f"layer{k}", "v_th")
                if getattr(neurons, "learn_beta", False):
                    self._trainer.train_param(f"layer{k}", "beta")  # the decay per step, as snnTorch trains it
        return self._trainer

    def forward(self, x, encoder=None, rng=None) -> np.ndarray:
        """The output over time, ``[steps, batch, out]``: spikes of a spiking
        last layer, ``v`` of an LI readout."""
        self._see_input(x, encoder)
        seq = self._sequences(x, encoder, rng)
        trainer = self._get_trainer(self._kind(encoder, seq))
        trainer.forward({"input": seq})
        return trainer.output(self._output(), "v" if self._readout() else "spikes")

    __call__ = forward

    def _logits(self, out: np.ndarray) -> np.ndarray:
        return out.mean(axis=0) if self._readout() else out.sum(axis=0)

    def _batches(self, n: int, batch_size: int, shuffle: bool, rng):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]

    def _split(self, x, idx, encoder):
        # Static inputs are [N, ...]; sequences without an encoder are [steps, N, n].
        return as_array(x)[idx] if encoder is not None else as_array(x)[:, idx]

    def _count(self, x, encoder) -> int:
        return len(x) if encoder is not None else as_array(x).shape[1]

    def fit(self, x, y, epochs: int = 1, batch_size: int = 128, optimizer: Optional[_Optimizer] = None,
            encoder: Optional[_encode.Encoder] = None, loss: Optional[str] = None, shuffle: bool = True,
            seed: int = 0, progress: bool = True) -> List[Dict[str, float]]:
        """Trains on ``x`` (``[N, ...]`` in [0, 1] with an encoder, else
        ``[steps, N, in]`` sequences) and labels ``y`` ``[N]``; returns per
        epoch the mean loss and the training accuracy. ``loss`` defaults to
        "ce_count" (spiking output) or "ce_mean_v" (LI readout)."""
        y = np.asarray(y).astype(np.int64)
        n = self._count(x, encoder)
        if y.shape != (n,):
            raise ShapeError(f"y: expected [{n}] labels, got shape {y.shape}")
        if optimizer is not None:
            self._optimizer = optimizer
            if self._trainer is not None:
                self._trainer.optimizer = optimizer
        loss = loss or ("ce_mean_v" if self._readout() else "ce_count")
        self._see_input(x, encoder)
        rng = np.random.default_rng(seed)
        history = []
        for epoch in range(int(epochs)):
            batches = list(self._batches(n, int(batch_size), shuffle, rng))
            bar = _progress(len(batches), f"epoch {epoch + 1}/{epochs}") if progress else None
            total, correct = 0.0, 0
            for idx in batches:
                seq = self._sequences(self._split(x, idx, encoder), encoder, rng)
                trainer = self._get_trainer(self._kind(encoder, seq))
                trainer.forward({"input": seq})
                value = trainer.loss(self._output(), loss, y[idx])
                trainer.backward()
                trainer.step()
                trainer.zero_grad()
                out = trainer.output(self._output(), "v" if self._readout() else "spikes")
                correct += int((self._logits(out).argmax(axis=1) == y[idx]).sum())
                total += value * len(idx)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{value:.4f}")
            if bar is not None:
                bar.close()
            history.append({"loss": total / n, "accuracy": correct / n})
        return history

    def evaluate(self, x, y, batch_size: int = 256, encoder: Optional[_encode.Encoder] = None,
                 loss: Optional[str] = None, seed: int = 1) -> Dict[str, float]:
        """Mean loss and accuracy on ``x``, ``y`` (no training)."""
        y = np.asarray(y).astype(np.int64)
        n = self._count(x, encoder)
        loss = loss or ("ce_mean_v" if self._readout() else "ce_count")
        self._see_input(x, encoder)
        rng = np.random.default_rng(seed)
        total, correct = 0.0, 0
        for idx in self._batches(n, int(batch_size), False, rng):
            seq = self._sequences(self._split(x, idx, encoder), encoder, rng)
            trainer = self._get_trainer(self._kind(encoder, seq))
            trainer.forward({"input": seq})
            total += trainer.loss(self._output(), loss, y[idx]) * len(idx)
            out = trainer.output(self._output(), "v" if self._readout() else "spikes")
            correct += int((self._logits(out).argmax(axis=1) == y[idx]).sum())
        return {"loss": total / n, "accuracy": correct / n}

    def predict(self, x, batch_size: int = 256, encoder: Optional[_encode.Encoder] = None, seed: int = 1) -> np.ndarray:
        """Class per input: the output neuron with the most spikes (or the
        highest mean ``v`` of an LI readout)."""
        n = self._count(x, encoder)
        rng = np.random.default_rng(seed)
        out = []
        for idx in self._batches(n, int(batch_size), False, rng):
            out.append(self._logits(self.forward(self._split(x, idx, encoder), encoder, rng)).argmax(axis=1))
        return np.concatenate(out)

    def to_nir(self, dt: Optional[float] = None):
        """The model as a NIR graph (snn.nir.export)."""
        from . import nir

        return nir.export(self, dt)

    def save(self, path) -> None:
        """Saves the compiled network as a ``.snn`` file."""
        self.network.save(path)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


def _progress(total: int, description: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, leave=False)
