"""Test setup: use the installed `snn` package if it imports; otherwise the
source tree's python/ with the library from $SNN_LIBRARY, $SNN_BUILD_DIR or
./build (e.g. after `cmake -S . -B build -G Ninja && cmake --build build`)."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _import_snn() -> None:
    try:
        importlib.import_module("snn")
        return
    except ImportError:
        pass
    sys.path.insert(0, str(ROOT / "python"))
    if not os.environ.get("SNN_LIBRARY"):
        header = (ROOT / "include" / "snn" / "snn.h").read_text()
        major = header.split("#define SNN_VERSION_MAJOR", 1)[1].split()[0]
        dirs = [Path(os.environ["SNN_BUILD_DIR"])] if os.environ.get("SNN_BUILD_DIR") else []
        dirs.append(ROOT / "build")
        for d in dirs:
            for name in (f"libsnn.so.{major}", f"libsnn.{major}.dylib", "snn.dll"):
                if (d / name).exists():
                    os.environ["SNN_LIBRARY"] = str(d / name)
                    break
            if os.environ.get("SNN_LIBRARY"):
                break
    importlib.import_module("snn")  # raises a clear ImportError if nothing was found


_import_snn()

import numpy as np  # noqa: E402

import snn  # noqa: E402


@pytest.fixture
def net() -> "snn.Network":
    """A small network on the reference backend: 'src' (4 spike sources),
    'out' (3 LIF neurons), connected densely."""
    n = snn.Network(dt=1e-3, batch=1, seed=7, backend="reference")
    src = n.population("src", 4, "spike_source")
    out = n.population("out", 3, "lif", tau_mem=10e-3, v_rest=-65e-3, v_reset=-65e-3, v_th=-50e-3)
    n.connect(src, out, np.full((4, 3), 4e-3, dtype=np.float32), name="w")
    return n


def build_cuba(batch: int = 2, seed: int = 1, n_exc: int = 80, n_inh: int = 20) -> "snn.Network":
    """A small recurrent network with Poisson drive: enough activity to make
    runs worth comparing."""
    n = snn.Network(dt=1e-4, batch=batch, seed=seed, backend="reference")
    src = n.population("src", 50, "poisson", rate=200.0)
    exc = n.population("exc", n_exc, "lif", tau_mem=20e-3, v_rest=-49e-3, v_reset=-60e-3,
                       v_th=-50e-3, t_ref=5e-3)
    inh = n.population("inh", n_inh, "lif", tau_mem=20e-3, v_rest=-49e-3, v_reset=-60e-3,
                       v_th=-50e-3, t_ref=5e-3)
    n.connect(src, exc, p=0.2, weight=2e-3, synapse="exp", tau=5e-3, seed=3)
    n.connect(exc, inh, p=0.1, weight=1.6e-3, synapse="exp", tau=5e-3, seed=4)
    n.connect(inh, exc, p=0.1, weight=-9e-3, synapse="exp", tau=10e-3, seed=5)
    n.randomize_state(exc, "v", "uniform", -60e-3, -50e-3, seed=11)
    return n


@pytest.fixture
def make_cuba():
    """The factory build_cuba(batch=2, seed=1, n_exc=80, n_inh=20)."""
    return build_cuba
