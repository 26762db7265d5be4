"""Encoders: static inputs (images, feature vectors) to time-major input
sequences ``[steps, batch, n]`` for training and inference.

Each encoder is a callable ``encoder(x, rng=None)`` taking ``x`` of shape
``[batch, ...]`` with values in [0, 1] (flattened to ``n`` features) and
returning ``[steps, batch, n]``; its ``kind`` is ``"spikes"`` (uint8 0/1, for
a ``spike_source``) or ``"current"`` (float32, for a ``current_source``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .errors import InvalidArgumentError

__all__ = ["rate", "latency", "rank_order", "current", "Encoder"]


def _flat(x) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim < 1:
        raise InvalidArgumentError("expected [batch, ...] inputs, got a scalar")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.dtype == np.uint8:  # images stored as bytes
        return arr.astype(np.float32) / np.float32(255.0)
    return arr.astype(np.float32, copy=False)


def _steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InvalidArgumentError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


class Encoder:
    kind = "spikes"

    def __init__(self, steps: int) -> None:
        self.steps = _steps(steps)

    def __call__(self, x, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"snn.encode.{type(self).__name__.lower()}({fields})"


class Rate(Encoder):
    """Bernoulli spikes: feature value ``p`` (times ``gain``, clipped to [0,
    1]) is the probability of a spike in each step (snnTorch's
    ``spikegen.rate``)."""

    def __init__(self, steps: int, gain: float = 1.0, seed: Optional[int] = None) -> None:
        super().__init__(steps)
        self.gain = float(gain)
        self.seed = seed

    def __call__(self, x, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        p = np.clip(_flat(x) * np.float32(self.gain), 0.0, 1.0)
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        return (rng.random((self.steps,) + p.shape, dtype=np.float32) < p[None]).astype(np.uint8)


class Latency(Encoder):
    """One spike per feature, earlier for larger values: value ``p`` spikes
    in step ``round((1 - p) * (steps - 1))`` (linear), or, with
    ``linear=False``, after ``tau * ln(p / (p - threshold))`` steps (the
    charging time of an RC circuit, as snnTorch's ``spikegen.latency``),
    clipped to the last step. Values at or below ``threshold`` never spike."""

    def __init__(self, steps: int, threshold: float = 0.01, tau: float = 5.0, linear: bool = True) -> None:
        super().__init__(steps)
        self.threshold = float(threshold)
        self.tau = float(tau)
        self.linear = bool(linear)

    def __call__(self, x, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        p = _flat(x).astype(np.float64)
        fires = p > self.threshold
        if self.linear:
            t = np.rint((1.0 - np.clip(p, 0.0, 1.0)) * (self.steps - 1))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.rint(self.tau * np.log(p / (p - self.threshold)))
        t = np.clip(np.nan_to_num(t, nan=self.steps - 1, posinf=self.steps - 1), 0, self.steps - 1).astype(np.int64)
        out = np.zeros((self.steps,) + p.shape, dtype=np.uint8)
        b, i = np.nonzero(fires)
        out[t[b, i], b, i] = 1
        return out


class RankOrder(Encoder):
    """One spike per feature in rank order (Kheradpisheh et al. 2018): per
    instance, the K features above ``threshold`` spike at step
    ``floor(r * steps / K)``, r = how many of them have a strictly greater
    value, so the spikes spread evenly over the steps whatever the values'
    scale (computed by libsnn's core: :func:`snn.vision.latency_encode`)."""

    def __init__(self, steps: int, threshold: float = 0.0) -> None:
        super().__init__(steps)
        self.threshold = float(threshold)

    def __call__(self, x, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        from .vision import latency_encode

        return latency_encode(_flat(x), self.steps, threshold=self.threshold, rule="rank")


class Current(Encoder):
    """Direct input: the feature values as a current, the same every step."""

    kind = "current"

    def __init__(self, steps: int, gain: float = 1.0) -> None:
        super().__init__(steps)
        self.gain = float(gain)

    def __call__(self, x, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        v = _flat(x) * np.float32(self.gain)
        return np.ascontiguousarray(np.broadcast_to(v[None], (self.steps,) + v.shape))


def rate(steps: int, gain: float = 1.0, seed: Optional[int] = None) -> Rate:
    return Rate(steps, gain, seed)


def latency(steps: int, threshold: float = 0.01, tau: float = 5.0, linear: bool = True) -> Latency:
    return Latency(steps, threshold, tau, linear)


def rank_order(steps: int, threshold: float = 0.0) -> RankOrder:
    return RankOrder(steps, threshold)


def current(steps: int, gain: float = 1.0) -> Current:
    return Current(steps, gain)
