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

__all__ = ["Layer", "Linear", "LIF", "IF", "LI", "Sequential"]


class Layer:
    """Base of the layers of :class:`Sequential`."""


class Linear(Layer):
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
        w = rng.uniform(-bound, bound, (self.out_features, self.in_features)) if weight is None else weight
        self._weight = self._checked(w, (self.out_features, self.in_features), "weight")
        self.has_bias = bool(bias)
        self._bias = None
        if self.has_bias:
            b = rng.uniform(-bound, bound, self.out_features) if bias_values is None else bias_values
            self._bias = self._checked(b, (self.out_features,), "bias")
        self._model: Optional["Sequential"] = None
        self._index = -1

    @staticmethod
    def _checked(values, shape, what) -> np.ndarray:
        arr = np.array(values, dtype=np.float32)
        if arr.shape != shape:
            raise ShapeError(f"{what}: expected shape {shape}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise InvalidArgumentError(f"{what}: values must be finite")
        return arr

    @property
    def weight(self) -> np.ndarray:
        """``[out, in]`` float32 (a copy; assign to change it)."""
        if self._model is not None and self._model._net is not None:
            return self._model._read_weight(self._index)
        return self._weight.copy()

    @weight.setter
    def weight(self, values) -> None:
        self._weight = self._checked(values, (self.out_features, self.in_features), "weight")
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
            raise InvalidArgumentError("this Linear has no bias")
        self._bias = self._checked(values, (self.out_features,), "bias")
        if self._model is not None and self._model._net is not None:
            self._model._write_weight(self._index, None, self._bias)

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.has_bias})"


class _Neurons(Layer):
    model = ""
    decay_input = True  # the exact propagator decays the step's input (lif, li)

    def __init__(self, beta: Optional[float], tau: Optional[float]) -> None:
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
    ``beta`` or ``tau`` (seconds; ``beta = exp(-dt / tau)``)."""

    model = "lif"

    def __init__(self, beta: Optional[float] = None, tau: Optional[float] = None, threshold: float = 1.0,
                 reset: str = "subtract", surrogate: str = "fast_sigmoid", surrogate_scale: float = 0.0) -> None:
        super().__init__(beta, tau)
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
                 surrogate_scale: float = 0.0) -> None:
        if reset not in ("subtract", "zero"):
            raise InvalidArgumentError(f"reset must be 'subtract' or 'zero', got {reset!r}")
        self.threshold, self.reset = float(threshold), reset
        self.surrogate, self.surrogate_scale = surrogate, float(surrogate_scale)

    def beta(self, dt: float) -> float:
        return 1.0

    def params(self, dt: float) -> Dict[str, Any]:
        return dict(v_reset=0.0, v_th=self.threshold, reset="subtract" if self.reset == "subtract" else "value",
                    surrogate=self.surrogate, surrogate_scale=self.surrogate_scale)

    def __repr__(self) -> str:
        return f"IF(threshold={self.threshold}, reset={self.reset!r})"


class LI(_Neurons):
    """A leaky integrator readout (no spikes): ``v <- beta v + input``."""

    model = "li"

    def __init__(self, beta: Optional[float] = None, tau: Optional[float] = None) -> None:
        super().__init__(beta, tau)

    def params(self, dt: float) -> Dict[str, Any]:
        return dict(tau_mem=self.tau(dt), v_rest=0.0)

    def __repr__(self) -> str:
        decay = f"beta={self.beta_value}" if self.beta_value is not None else f"tau={self.tau_value}"
        return f"LI({decay})"


class Sequential:
    """Layers in order, alternating :class:`Linear` and a neuron layer
    (:class:`LIF`, :class:`IF`, or an :class:`LI` readout last). Compiled to
    one :class:`snn.Network` (``model.network``) on first use: an input
    population (``spike_source``, or ``current_source`` for current input),
    one population per neuron layer, a dense connection per Linear (delay 0,
    as snnTorch), and for biases a constant ``current_source`` of one neuron.
    """

    def __init__(self, *layers: Layer, dt: float = 1e-3, backend: Optional[str] = None, threads: Optional[int] = None,
                 seed: int = 0) -> None:
        if not layers:
            raise InvalidArgumentError("Sequential needs layers")
        self.layers: List[Layer] = list(layers)
        pairs = []
        for k in range(0, len(layers), 2):
            lin = layers[k]
            neurons = layers[k + 1] if k + 1 < len(layers) else None
            if not isinstance(lin, Linear) or not isinstance(neurons, (LIF, IF, LI)):
                raise InvalidArgumentError(
                    f"layers must alternate Linear and LIF/IF/LI; got {layers[k]!r} then {neurons!r} at position {k}")
            if pairs and pairs[-1][0].out_features != lin.in_features:
                raise ShapeError(f"{lin!r} takes {lin.in_features} inputs; the layer before gives {pairs[-1][0].out_features}")
            if isinstance(neurons, LI) and k + 2 < len(layers):
                raise InvalidArgumentError("an LI readout emits no spikes: it can only be the last layer")
            if lin._model is not None:
                raise InvalidArgumentError(f"{lin!r} already belongs to a model")
            lin._model, lin._index = self, len(pairs)
            pairs.append((lin, neurons))
        self._pairs = pairs
        self.dt, self.backend, self.threads, self.seed = float(dt), backend, threads, int(seed)
        self._net: Optional[Network] = None
        self._input_kind: Optional[str] = None
        self._trainer: Optional[Trainer] = None
        self._optimizer: Optional[_Optimizer] = None

    # -- the compiled network --------------------------------------------------

    @property
    def in_features(self) -> int:
        return self._pairs[0][0].in_features

    @property
    def out_features(self) -> int:
        return self._pairs[-1][0].out_features

    @property
    def network(self) -> Network:
        """The compiled network (compiled for spike input if not yet)."""
        return self._net if self._net is not None else self._compile("spikes")

    def _compile(self, kind: str) -> Network:
        if self._net is not None:
            if kind != self._input_kind:
                raise StateError(f"the model was compiled for {self._input_kind} input; got {kind} input")
            return self._net
        net = Network(dt=self.dt, seed=self.seed, backend=self.backend, threads=self.threads)
        net.population("input", self.in_features, "spike_source" if kind == "spikes" else "current_source")
        if any(lin.has_bias for lin, _ in self._pairs):
            net.population("bias", 1, "current_source", current=1.0)
        self._net, self._input_kind = net, kind
        for k, (lin, neurons) in enumerate(self._pairs):
            name = f"layer{k}"
            net.population(name, lin.out_features, neurons.model, **neurons.params(self.dt))
            pre = "input" if k == 0 else f"layer{k - 1}"
            net.connect(pre, name, weights=np.zeros((lin.in_features, lin.out_features), np.float32), delay=0,
                        synapse="delta", name=f"fc{k}")
            if lin.has_bias:
                net.connect("bias", name, weights=np.zeros((1, lin.out_features), np.float32), delay=0, synapse="delta",
                            name=f"fc{k}_bias")
            self._write_weight(k, lin._weight, lin._bias)
        return net

    def _scale(self, k: int) -> float:
        neurons = self._pairs[k][1]
        return neurons.beta(self.dt) if neurons.decay_input else 1.0

    def _read_weight(self, k: int) -> np.ndarray:
        return (self._net.weights(f"fc{k}") * np.float32(self._scale(k))).T.copy()

    def _read_bias(self, k: int) -> np.ndarray:
        return (self._net.weights(f"fc{k}_bias")[0] * np.float32(self._scale(k))).copy()

    def _write_weight(self, k: int, weight, bias) -> None:
        scale = np.float32(self._scale(k))
        if weight is not None:
            self._net.set_weights(f"fc{k}", np.ascontiguousarray((weight / scale).T, dtype=np.float32))
        if bias is not None:
            self._net.set_weights(f"fc{k}_bias", (bias / scale).astype(np.float32)[None, :])

    def _output(self) -> str:
        return f"layer{len(self._pairs) - 1}"

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
            self._trainer = Trainer(net, optimizer=self._optimizer or Adam())
        return self._trainer

    def forward(self, x, encoder=None, rng=None) -> np.ndarray:
        """The output over time, ``[steps, batch, out]``: spikes of a spiking
        last layer, ``v`` of an LI readout."""
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
