"""The libsnn side of every benchmark: network builders and measurements,
run in the interpreter that runs run.py, through the Python package."""
from __future__ import annotations

import math
import os
import subprocess
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

import snn
from _common import CapExceeded, median, quantile, timed_reps

MV = MS = 1e-3


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------

def build_cuba(n: int, backend: str, threads: int, seed: int = 1) -> snn.Network:
    """Brian2's examples/CUBA.py (examples/python/cuba.py) scaled to n neurons:
    80 % excitatory, p = 80 / n, so every neuron keeps about 80 inputs."""
    net = snn.Network(dt=0.1 * MS, seed=seed, backend=backend, threads=threads)
    n_exc = int(round(0.8 * n))
    lif = dict(tau_mem=20 * MS, v_rest=-49 * MV, v_reset=-60 * MV, v_th=-50 * MV, t_ref=5 * MS)
    exc = net.population("exc", n_exc, "lif", **lif)
    inh = net.population("inh", n - n_exc, "lif", **lif)
    we, wi = 60 * 0.27 / 10 * MV, -20 * 4.5 / 10 * MV
    p = 80.0 / n
    for k, (pre, post, w, tau) in enumerate([(exc, exc, we, 5 * MS), (exc, inh, we, 5 * MS),
                                             (inh, exc, wi, 10 * MS), (inh, inh, wi, 10 * MS)]):
        net.connect(pre, post, p=p, weight=w, synapse="exp", tau=tau, seed=seed * 4 + k)
    net.randomize_state(exc, "v", "uniform", -60 * MV, -50 * MV, seed=seed * 4)
    net.randomize_state(inh, "v", "uniform", -60 * MV, -50 * MV, seed=seed * 4 + 1)
    return net


def build_coba(n: int, backend: str, threads: int, seed: int = 1) -> snn.Network:
    """COBA as tests/fixtures/brian2_networks.json states it (examples/python/coba.py):
    v ~ normal(-65 mV, 5 mV), initial conductances normal and not clipped."""
    net = snn.Network(dt=0.1 * MS, seed=seed, backend=backend, threads=threads)
    n_exc = int(round(0.8 * n))
    lif = dict(tau_mem=20 * MS, v_rest=-60 * MV, v_reset=-60 * MV, v_th=-50 * MV, t_ref=5 * MS)
    exc = net.population("exc", n_exc, "lif", **lif)
    inh = net.population("inh", n - n_exc, "lif", **lif)
    excitatory = dict(weight=0.6, tau=5 * MS, e_rev=0 * MV)
    inhibitory = dict(weight=6.7, tau=10 * MS, e_rev=-80 * MV)
    p = 80.0 / n
    for k, (pre, post, syn, g0) in enumerate([(exc, exc, excitatory, (4, 1.5)), (exc, inh, excitatory, (4, 1.5)),
                                              (inh, exc, inhibitory, (20, 12)), (inh, inh, inhibitory, (20, 12))]):
        conn = net.connect(pre, post, p=p, synapse="cond_exp", seed=seed * 4 + k, **syn)
        net.randomize_state(conn, "g", "normal", *g0, seed=seed * 8 + k)
    net.randomize_state(exc, "v", "normal", -65 * MV, 5 * MV, seed=seed * 4)
    net.randomize_state(inh, "v", "normal", -65 * MV, 5 * MV, seed=seed * 4 + 1)
    return net


# The fully connected layer: v <- beta * v + W x, threshold 1, reset to 0.
FC_DT = 1e-3
FC_BETA = 0.9


def fc_data(n: int, batch: int, steps: int, kind: str, seed: int = 1):
    """Input [steps, batch, n] float32 (Gaussian N(0, 1), or 0/1 spikes with
    p = 0.05) and weights [pre, post] with std 0.3 / sqrt(active inputs)."""
    rng = np.random.default_rng(seed)
    if kind == "spikes":
        x = (rng.random((steps, batch, n), dtype=np.float32) < 0.05).astype(np.float32)
        active = 0.05 * n
    else:
        x = rng.standard_normal((steps, batch, n), dtype=np.float32)
        active = n
    w = (rng.standard_normal((n, n), dtype=np.float32) * np.float32(0.3 / math.sqrt(active)))
    return x, w


def build_fc(w: np.ndarray, batch: int, kind: str, backend: str, threads: int,
             weight_dtype: str = "float32") -> snn.Network:
    """Source -> dense connection (delay 0, delta) -> LIF. libsnn's exact
    decay multiplies the input too (v <- beta (v + W' x)), so the weights are
    W / beta to give v <- beta v + W x like the peers. weight_dtype
    "bfloat16" rounds the weights to bfloat16 (stored in 16 bits)."""
    n = w.shape[0]
    net = snn.Network(dt=FC_DT, batch=batch, seed=1, backend=backend, threads=threads)
    src = net.population("src", n, "spike_source" if kind == "spikes" else "current_source")
    tau = -FC_DT / math.log(FC_BETA)
    lif = net.population("lif", w.shape[1], "lif", tau_mem=tau, v_rest=0.0, v_reset=0.0, v_th=1.0)
    net.connect(src, lif, weights=(w / np.float32(FC_BETA)).astype(np.float32), delay=0, synapse="delta",
                weight_dtype=weight_dtype)
    return net


# The real-time network: 10 000 LIF, 100 random targets each (1 000 000
# synapses, delta, delay 1), driven one-to-one by 10 000 Poisson sources;
# about 3 % of the LIF neurons spike per step.
RT_N, RT_K = 10_000, 100
RT_RATE, RT_W_IN, RT_W_REC = 400.0, 0.3, -0.025


def build_realtime(backend: str, threads: int, seed: int = 1) -> snn.Network:
    rng = np.random.default_rng(seed)
    pre = np.repeat(np.arange(RT_N, dtype=np.int32), RT_K)
    post = np.sort(rng.integers(0, RT_N, size=(RT_N, RT_K), dtype=np.int32), axis=1).ravel()
    net = snn.Network(dt=1e-3, seed=seed, backend=backend, threads=threads)
    drive = net.population("drive", RT_N, "poisson", rate=RT_RATE)
    lif = net.population("lif", RT_N, "lif", tau_mem=20 * MS, v_rest=0.0, v_reset=0.0, v_th=1.0)
    net.connect(drive, lif, one_to_one=True, weight=RT_W_IN)
    net.connect(lif, lif, pairs=(pre, post), weight=RT_W_REC)
    return net


def build_single(backend: str, threads: int) -> snn.Network:
    """One LIF neuron: a step costs almost nothing, so Python's time per
    net.step() minus C's is the overhead of the Python call alone."""
    net = snn.Network(dt=1e-3, backend=backend, threads=threads)
    net.population("lif", 1, "lif")
    return net


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------

def _chunk_steps(neurons: int, steps: int) -> int:
    """Steps per chunk of the warm-up, so that a chunk's recording stays ~32 MB."""
    return int(max(1, min(steps, 1000, 32_000_000 // max(1, neurons))))


def time_network(net: snn.Network, steps: int, reps: int, cap_s: float,
                 inputs: Optional[Dict[str, np.ndarray]] = None,
                 count: Sequence[str] = (), record_output: Optional[str] = None) -> Dict[str, Any]:
    """Warm-up (run in chunks, recording the spikes of `count`, stopped as
    soon as warm-up plus repetitions would pass the cap), then `reps` runs of
    `steps` steps from the initial state (net.reset() before each, untimed).
    Timed: one net.run(steps) call, with the inputs bound for the whole run
    and `record_output` ("pop.spikes") recorded, as a user would get them."""
    pops = {name: net.populations[name] for name in count}
    n_batch = net.batch
    neurons = sum(p.size for p in pops.values()) * n_batch
    counts = {name: np.zeros(p.size, dtype=np.int64) for name, p in pops.items()}
    out: Dict[str, Any] = {}

    def warmup() -> float:
        net.reset()
        chunk = _chunk_steps(neurons, steps)
        t0 = time.perf_counter()
        done = 0
        while done < steps:
            k = min(chunk, steps - done)
            chunk_inputs = {name: x[done:done + k] for name, x in (inputs or {}).items()}
            rec = net.run(k, inputs=chunk_inputs, record=[f"{name}.spikes" for name in pops])
            for name in pops:
                counts[name] += rec[f"{name}.spikes"].sum(axis=(0, 1))
            done += k
            elapsed = time.perf_counter() - t0
            if done < steps and elapsed / done * steps * (reps + 1) > cap_s and elapsed > 2.0:
                out["projected_one_run_s"] = elapsed / done * steps
                raise CapExceeded(elapsed, cap_s)
        return time.perf_counter() - t0

    def run_once() -> None:
        rec = net.run(steps, inputs=inputs, record=[record_output] if record_output else None)
        if record_output:
            out["output"] = rec[record_output]

    try:
        result = timed_reps(run_once, reps, cap_s, warmup=warmup, prepare=net.reset)
    except CapExceeded:
        result = {"status": "skipped", "reason": f"> cap {cap_s:g} s",
                  "one_run_s": out.get("projected_one_run_s"), "projected": True}
        return result
    result["counts"] = counts
    if "output" in out:
        result["spike_fraction"] = float(out["output"].mean())
    result["backend"] = net.backend
    result["threads"] = net.context.threads
    return result


def events_delivered(net: snn.Network, counts: Dict[str, np.ndarray]) -> int:
    """Synaptic events of a run: for each connection, the spikes of each
    presynaptic neuron times its number of synapses on that connection."""
    total = 0
    for conn in net.connections.values():
        pre_name = conn.pre.name
        if pre_name not in counts:
            continue
        pre, _, _ = net.synapses(conn)
        outdeg = np.bincount(pre, minlength=conn.pre.size)
        total += int((counts[pre_name] * outdeg).sum())
    return total


def run_rates(counts: Dict[str, np.ndarray], duration_s: float) -> Dict[str, float]:
    total = sum(int(c.sum()) for c in counts.values())
    size = sum(c.size for c in counts.values())
    rates = {f"rate_{name}_hz": float(c.sum() / c.size / duration_s) for name, c in counts.items()}
    rates["rate_all_hz"] = total / size / duration_s
    rates["spikes"] = total
    return rates


class PythonStepper:
    """Times one net.step() call, as step_bench.c times snn_network_step: each
    repetition loads the network anew and warms it up, as a step_bench
    process does, so both time the same steps of the same trajectory."""

    def __init__(self, path: str, backend: str, threads: int, warmup: int) -> None:
        self.path = path
        self.warmup = warmup
        self.context = snn.Context(backend=backend, threads=threads)

    def repetition(self, steps: int) -> Dict[str, float]:
        net = snn.load(self.path, context=self.context)
        step = net.step
        for _ in range(self.warmup):
            step()
        clock = time.perf_counter_ns
        buf = [0] * steps
        for i in range(steps):
            t0 = clock()
            step()
            buf[i] = clock() - t0
        net.close()
        return {"median_ns": quantile(buf, 0.5), "p99_ns": quantile(buf, 0.99),
                "mean_ns": sum(buf) / steps, "max_ns": max(buf)}

    @staticmethod
    def timer_overhead(samples: int = 10000) -> float:
        clock = time.perf_counter_ns
        buf = [0] * samples
        for i in range(samples):
            t0 = clock()
            buf[i] = clock() - t0
        return quantile(buf, 0.5)

    def close(self) -> None:
        pass


def compile_step_bench(source: str, include_dir: str, library: str, out_dir: str) -> str:
    """Compiles step_bench.c with the system C compiler against include/ and
    the library the Python package loaded."""
    exe = os.path.join(out_dir, "step_bench")
    cc = os.environ.get("CC", "cc")
    lib_dir = os.path.dirname(os.path.abspath(library))
    cmd = [cc, "-O2", "-std=c99", "-I", include_dir, source, os.path.abspath(library),
           f"-Wl,-rpath,{lib_dir}", "-o", exe]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def summarize_steps(reps: List[Dict[str, float]]) -> Dict[str, float]:
    """Median over repetitions of each per-repetition statistic."""
    return {key: median([r[key] for r in reps]) for key in ("median_ns", "p99_ns", "mean_ns")}
