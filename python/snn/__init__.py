"""libsnn: a spiking neural network runtime.

The Python interface to libsnn's C library (loaded through cffi)::

    import numpy as np
    import snn

    net = snn.Network(dt=1e-4, batch=2, seed=1)
    src = net.population("src", 100, "poisson", rate=20.0)
    exc = net.population("exc", 3200, "lif", tau_mem=20e-3, v_th=-50e-3)
    net.connect(src, exc, p=0.1, weight=1e-3, synapse="exp", tau=5e-3, seed=3)
    rec = net.run(1000, record=["exc.spikes", "exc.v"])   # arrays [steps, batch, n]

Conventions: per-neuron arrays are ``[batch, n]``, whole-run arrays
``[steps, batch, n]`` (time-major), dense weights ``[pre, post]``; values are
float32 in SI units (seconds, volts, hertz); spikes are bool arrays.

The shared library is ``$SNN_LIBRARY`` if set, else the one packaged with
this module; its major version must match these bindings'.
"""

from ._lib import LIBRARY_PATH, ffi, lib
from ._cdef import HEADER_VERSION
from ._context import Context
from ._models import ParamInfo, backends, model_params, model_state_vars, models
from ._network import Connection, LearningEvent, Network, Population, Recording, load
from ._train import SGD, Adam, AdamW, Trainer
from ._layers import IF, LI, LIF, AvgPool2d, Conv2d, Flatten, Leaky, Linear, MaxPool2d, Sequential, SumPool2d
from . import datasets, encode, nir, vision
from . import errors as _errors
from .errors import (
    BackendError,
    CancelledError,
    FormatError,
    InternalError,
    InvalidArgumentError,
    NoMemoryError,
    NotFoundError,
    OutOfRangeError,
    ShapeError,
    SnnError,
    SnnIOError,
    StateError,
    UnsupportedError,
)

__version__: str = ffi.string(lib.snn_version_string()).decode("ascii")
"""The version of the loaded libsnn ("MAJOR.MINOR.PATCH")."""

__all__ = [
    "__version__",
    "HEADER_VERSION",
    "LIBRARY_PATH",
    "Context",
    "Network",
    "Population",
    "Connection",
    "Recording",
    "LearningEvent",
    "ParamInfo",
    "load",
    "models",
    "model_params",
    "model_state_vars",
    "backends",
    "Trainer",
    "SGD",
    "Adam",
    "AdamW",
    "Sequential",
    "Linear",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "SumPool2d",
    "Flatten",
    "LIF",
    "IF",
    "LI",
    "Leaky",
    "encode",
    "datasets",
    "nir",
    "vision",
    # The error classes, as errors.py lists them.
    *(name for name in _errors.__all__ if name != "error_class"),
]
