"""Training speed of a convolutional SNN: Conv2d(1, 12, 5) - MaxPool2d(2) -
LIF - Conv2d(12, 64, 5) - MaxPool2d(2) - LIF - Flatten - Linear(1024, 10) -
LIF (beta 0.9, threshold 1, reset by subtraction), T = 25, batch 128 of
rate-coded Fashion-MNIST images, in libsnn and in snnTorch, Norse and
SpikingJelly, on 1 and 2 threads (benchmarks/README.md).

    python benchmarks/train_conv.py [--reps 5] [--threads 1,2] [--markdown FILE]

Each library runs in a process of its own (this file with --worker; the peers
in benchmarks/.venv) on the same input spikes, labels and initial weights
(libsnn's initialisation, copied into the peers' layers). Prints the median
time per batch of the training forward pass and of forward + loss +
backward, the ratios to the fastest peer, each process's peak RSS and the
spike rates of both hidden layers (equal rates: the same work was done).

The model builders here are shared with parity_conv.py. This file imports
only NumPy and the standard library at the top, so both interpreters can
load it; snn and torch are imported where they are used.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import append_section, emit, machine, run_worker  # noqa: E402

STEPS, BATCH, BETA, THRESHOLD, SLOPE = 25, 128, 0.9, 1.0, 25.0
DT = 1e-3
# The neurons: "lif" (v <- beta v + W x, spike if v > 1, v -= 1 in the step of
# the spike: libsnn's LIF; snnTorch's Leaky with reset_delay=False), or
# "leaky" (snnTorch's Leaky with its defaults, the reset in the next step:
# libsnn's Leaky). parity_conv.py sets it for its workers (--neuron).
NEURON = os.environ.get("SNN_CONV_NEURON", "lif")
# The torch peers and their forms: by default every layer runs in each time
# step (snnTorch's and Norse's tutorial form); "+layers" applies each
# connection to all steps at once ([T * B, ...]) and then scans its neurons
# over time; "+explicit" (snnTorch) writes the reset out (torch_model).
PEERS = ("snntorch", "snntorch+explicit", "snntorch+explicit+layers", "norse", "norse+layers", "spikingjelly")
PARAMS = ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias")


# -- shared by train_conv.py and parity_conv.py --------------------------------

def initial_weights(seed: int = 0) -> Dict[str, np.ndarray]:
    """libsnn's initialisation of the three connection layers (PyTorch's
    layout and bounds), as float32 arrays named as the torch modules'."""
    import snn

    layers = (snn.Conv2d(1, 12, 5, seed=seed), snn.Conv2d(12, 64, 5, seed=seed + 1),
              snn.Linear(64 * 4 * 4, 10, seed=seed + 2))
    out = {}
    for name, layer in zip(("conv1", "conv2", "fc"), layers):
        out[f"{name}.weight"] = layer.weight
        out[f"{name}.bias"] = layer.bias
    return out


def rate_spikes(images: np.ndarray, rng: np.random.Generator, steps: int = STEPS) -> np.ndarray:
    """Bernoulli spikes ``[steps, batch, 784]`` uint8 with p = pixel / 255:
    the operations of snn.encode.rate, for the interpreter without snn."""
    p = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0)
    return (rng.random((steps,) + p.shape, dtype=np.float32) < p[None]).astype(np.uint8)


def libsnn_model(weights: Dict[str, np.ndarray], threads: int):
    """The network as an snn.Sequential with the given weights."""
    import snn

    def lif():
        if NEURON == "leaky":
            return snn.Leaky(beta=BETA, threshold=THRESHOLD, reset="subtract", surrogate="fast_sigmoid",
                             surrogate_scale=SLOPE)
        return snn.LIF(beta=BETA, threshold=THRESHOLD, reset="subtract", surrogate="fast_sigmoid",
                       surrogate_scale=SLOPE)

    w = weights
    return snn.Sequential(
        snn.Conv2d(1, 12, 5, weight=w["conv1.weight"], bias_values=w["conv1.bias"]), snn.MaxPool2d(2), lif(),
        snn.Conv2d(12, 64, 5, weight=w["conv2.weight"], bias_values=w["conv2.bias"]), snn.MaxPool2d(2), lif(),
        snn.Flatten(), snn.Linear(64 * 4 * 4, 10, weight=w["fc.weight"], bias_values=w["fc.bias"]), lif(),
        backend="cpu", threads=threads, input_shape=(1, 28, 28))


def libsnn_grads(trainer) -> Dict[str, np.ndarray]:
    """The trainer's weight gradients in the torch modules' layout. The
    connections store W / beta (Sequential's convention), so dL/dW is the
    stored weights' gradient divided by beta."""
    out = {}
    beta = np.float32(BETA if NEURON == "lif" else 1.0)  # (Leaky stores W itself)
    for k, (name, shape) in enumerate((("conv1", (12, 1, 5, 5)), ("conv2", (64, 12, 5, 5)))):
        g = trainer.grad(f"fc{k}") / beta
        size = int(np.prod(shape))
        out[f"{name}.weight"] = g[:size].reshape(shape)
        out[f"{name}.bias"] = g[size:]
    out["fc.weight"] = (trainer.grad("fc2") / beta).T.copy()
    out["fc.bias"] = trainer.grad("fc2_bias")[0] / beta
    return out


def torch_model(lib: str, weights: Dict[str, np.ndarray]):
    """The network in a torch peer. Returns (run, parameters, version):
    ``run(x)`` takes ``[T, B, 1, 28, 28]`` float32 spikes and returns the
    output spikes ``[T, B, 10]`` and the spikes of both hidden layers."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    base, *options = lib.split("+")
    form = "layers" if "layers" in options else "steps"
    explicit = "explicit" in options
    conv1, conv2, fc = nn.Conv2d(1, 12, 5), nn.Conv2d(12, 64, 5), nn.Linear(64 * 4 * 4, 10)
    with torch.no_grad():
        for module, name in ((conv1, "conv1"), (conv2, "conv2"), (fc, "fc")):
            module.weight.copy_(torch.from_numpy(weights[f"{name}.weight"]))
            module.bias.copy_(torch.from_numpy(weights[f"{name}.bias"]))
    params = [*conv1.parameters(), *conv2.parameters(), *fc.parameters()]

    if base == "spikingjelly":
        from importlib.metadata import version as pkg_version

        from spikingjelly.activation_based import functional, layer, neuron
        from spikingjelly.activation_based import surrogate as sj_surrogate

        # Multi-step mode (its fastest on the CPU): each layer over all steps
        # at once. LIFNode with decay_input=False and tau = 1 / (1 - beta):
        # v <- beta v + x; v_reset=None: reset by subtraction.
        def node():
            return neuron.LIFNode(tau=1.0 / (1 - BETA), decay_input=False, v_threshold=THRESHOLD, v_reset=None,
                                  surrogate_function=sj_surrogate.Sigmoid(), step_mode="m")

        c1, c2, lin = (layer.Conv2d(1, 12, 5, step_mode="m"), layer.Conv2d(12, 64, 5, step_mode="m"),
                       layer.Linear(64 * 4 * 4, 10, step_mode="m"))
        for mine, src in ((c1, conv1), (c2, conv2), (lin, fc)):
            mine.load_state_dict(src.state_dict())
        p1, p2, flat = layer.MaxPool2d(2, step_mode="m"), layer.MaxPool2d(2, step_mode="m"), layer.Flatten(step_mode="m")
        n1, n2, n3 = node(), node(), node()
        params = [*c1.parameters(), *c2.parameters(), *lin.parameters()]

        def run(x):
            for n in (n1, n2, n3):
                functional.reset_net(n)
            s1 = n1(p1(c1(x)))
            s2 = n2(p2(c2(s1)))
            return n3(lin(flat(s2))), (s1, s2)

        return run, params, f"spikingjelly {pkg_version('spikingjelly')}"

    if base == "snntorch":
        import snntorch
        from snntorch import surrogate

        grad = surrogate.fast_sigmoid(slope=SLOPE)
        # Leaky(reset_mechanism="subtract", reset_delay=False) tests a step's
        # spike on v - threshold when the previous step left v above the
        # threshold after its subtraction, so such a neuron needs v > 2
        # thresholds to spike again (README: the parity benchmark). With
        # "+explicit", Leaky(reset_mechanism="none") and the subtraction
        # written out: v <- beta v + x, spike if v > 1, v -= spike, the
        # gradient flowing through the reset as in Leaky and libsnn.
        if NEURON == "leaky":  # snnTorch's defaults (its tutorial's neurons)
            cells = [snntorch.Leaky(beta=BETA, threshold=THRESHOLD, spike_grad=grad) for _ in range(3)]
            explicit = False
        else:
            cells = [snntorch.Leaky(beta=BETA, threshold=THRESHOLD, spike_grad=grad,
                                    reset_mechanism="none" if explicit else "subtract", reset_delay=False)
                     for _ in range(3)]
        version = f"snntorch {snntorch.__version__}" + (", explicit reset" if explicit else "")

        def init(cell):
            return cell.init_leaky()

        if explicit:
            def step(cell, cur, state):
                spk, mem = cell(cur, state)
                return spk, mem - spk * THRESHOLD
        else:
            def step(cell, cur, state):
                return cell(cur, state)
    else:
        import norse
        from norse.torch import LIFBoxCell, LIFBoxParameters
        from norse.torch.functional.reset import reset_subtract

        # v <- v + dt/tau (v_leak - v + i): dt/tau = 1 - beta and i = W x / (1 - beta) give v <- beta v + W x.
        p = LIFBoxParameters(tau_mem_inv=torch.tensor((1 - BETA) / DT), v_th=torch.tensor(THRESHOLD),
                             v_reset=torch.tensor(0.0), v_leak=torch.tensor(0.0), reset_method=reset_subtract)
        cells = [LIFBoxCell(p, dt=DT) for _ in range(3)]
        version = f"norse {norse.__version__}"
        gain = 1.0 / (1 - BETA)

        def init(cell):
            return None

        def step(cell, cur, state):
            return cell(cur * gain, state)

    if form == "steps":
        def run(x):
            states = [init(c) for c in cells]
            out, h1, h2 = [], [], []
            for t in range(x.shape[0]):
                s1, states[0] = step(cells[0], F.max_pool2d(conv1(x[t]), 2), states[0])
                s2, states[1] = step(cells[1], F.max_pool2d(conv2(s1), 2), states[1])
                s3, states[2] = step(cells[2], fc(s2.flatten(1)), states[2])
                out.append(s3)
                h1.append(s1)
                h2.append(s2)
            return torch.stack(out), (torch.stack(h1), torch.stack(h2))
    else:
        def scan(cell, cur):
            state = init(cell)
            out = []
            for t in range(cur.shape[0]):
                s, state = step(cell, cur[t], state)
                out.append(s)
            return torch.stack(out)

        def run(x):
            t, b = x.shape[:2]
            s1 = scan(cells[0], F.max_pool2d(conv1(x.flatten(0, 1)), 2).unflatten(0, (t, b)))
            s2 = scan(cells[1], F.max_pool2d(conv2(s1.flatten(0, 1)), 2).unflatten(0, (t, b)))
            return scan(cells[2], fc(s2.flatten(2))), (s1, s2)

    return run, params, version + (" (layer by layer)" if form == "layers" else "")


# -- worker: one library in its own process ------------------------------------

def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(lib: str, folder: str, threads: int, reps: int) -> None:
    x = np.load(os.path.join(folder, "x.npy"))  # [T, B, 784] uint8
    y = np.load(os.path.join(folder, "y.npy"))
    weights = dict(np.load(os.path.join(folder, "weights.npz")))
    if lib == "libsnn":
        import snn

        model = libsnn_model(weights, threads)
        trainer = snn.Trainer(model.network)
        inputs = {"input": x}

        def forward():
            trainer.forward(inputs)

        def forward_backward():
            trainer.forward(inputs)
            trainer.loss("layer2", "ce_count", y)
            trainer.backward()
            trainer.zero_grad()  # as the peers' zero_grad before their backward

        def rates():
            trainer.forward(inputs)
            return [float(trainer.output(f"layer{k}").mean()) for k in (0, 1)]

        version = f"libsnn {snn.__version__}"
    else:
        import torch

        torch.set_num_threads(threads)
        run, params, version = torch_model(lib, weights)
        xt = torch.from_numpy(x.astype(np.float32)).reshape(x.shape[0], x.shape[1], 1, 28, 28)
        yt = torch.from_numpy(y.astype(np.int64))

        def forward():
            run(xt)

        def forward_backward():
            for p in params:
                p.grad = None
            out, _ = run(xt)
            torch.nn.functional.cross_entropy(out.sum(0), yt).backward()

        def rates():
            with torch.no_grad():
                _, hidden = run(xt)
            return [float(h.float().mean()) for h in hidden]

    forward_backward()  # warm-up (allocations, lazy initialisation)
    before = rss_bytes()
    times = {}
    for name, fn in (("forward", forward), ("forward_backward", forward_backward)):
        samples = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        times[name] = statistics.median(samples)
    peak = peak_rss()
    emit({"lib": lib, "version": version, "threads": threads, "forward_s": times["forward"],
          "forward_backward_s": times["forward_backward"], "peak_rss": peak, "rss_growth": max(0, peak - before),
          "hidden_rates": rates()})


# -- driver --------------------------------------------------------------------

def write_data(folder: str, seed: int = 1) -> None:
    import snn

    x, y = snn.datasets.fashion_mnist("train")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), BATCH, replace=False)
    np.save(os.path.join(folder, "x.npy"), rate_spikes(x[idx], rng))
    np.save(os.path.join(folder, "y.npy"), y[idx].astype(np.int64))
    np.savez(os.path.join(folder, "weights.npz"), **initial_weights())


def peer_env(lib: str) -> Dict[str, str]:
    env = dict(os.environ)
    if lib == "libsnn":
        env["OPENBLAS_NUM_THREADS"] = "1"  # NumPy's BLAS threads would only spin beside libsnn's
    else:
        env.pop("PYTHONPATH", None)
    return env


def run_side(lib: str, folder: str, threads: int, reps: int, peers_python: str) -> Dict[str, Any]:
    python = sys.executable if lib == "libsnn" else peers_python
    if not os.path.exists(python):
        return {"status": "missing"}
    return run_worker([python, os.path.abspath(__file__), "--worker", lib, "--data", folder, "--threads", str(threads),
                       "--reps", str(reps)], peer_env(lib))


def ms(s: float) -> str:
    return f"{s * 1e3:.0f} ms"


def mib(b: float) -> str:
    return f"{b / 2**20:.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--peers-python", default=os.path.join(HERE, ".venv", "bin", "python"))
    ap.add_argument("--markdown", default=None, help="append the section to this file")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.data, int(args.threads), args.reps)
        return
    m = machine()
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines: List[str] = [
        "## Training speed: convolutional SNN", "",
        "Written by `python benchmarks/train_conv.py`; benchmarks/README.md defines it.", "",
        f"- command: `{' '.join(['python', 'benchmarks/train_conv.py'] + sys.argv[1:])}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; libsnn commit {commit or 'unknown'}",
        f"- CPU: {m.get('cpu', '?')}, {m.get('usable_cpus')} usable CPUs, {m.get('memory_gib', '?')} GiB; "
        f"SIMD: {m.get('simd', '')}; load average at the start {load:.2f}",
        f"- protocol: one warm-up batch, then the median of {args.reps} batches per measure", "",
        f"### 1x28x28-12C5-MP2-64C5-MP2-10 LIF, T = {STEPS}, batch {BATCH}, rate-coded Fashion-MNIST, time per batch",
        "",
        "| threads | library | forward | forward + backward | fastest peer / libsnn (fwd, fwd+bwd) | "
        "peak RSS (growth over the timed batches) | spikes per neuron-step (hidden 1, hidden 2) |",
        "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        write_data(folder)
        for threads in [int(t) for t in args.threads.split(",")]:
            results = {}
            for lib in ("libsnn",) + tuple(p for p in args.peers.split(",") if p):
                results[lib] = run_side(lib, folder, threads, args.reps, args.peers_python)
                print(f"[{threads} thread(s)] {lib}: {results[lib]}", file=sys.stderr)
            done = [r for lib, r in results.items() if lib != "libsnn" and "forward_s" in r]
            best_f = min((r["forward_s"] for r in done), default=None)
            best_fb = min((r["forward_backward_s"] for r in done), default=None)
            for lib, r in results.items():
                if "forward_s" not in r:
                    lines.append(f"| {threads} | {lib} | {r.get('status')}: {r.get('reason', '')} | | | | |")
                    continue
                ratio = ""
                if lib == "libsnn" and best_f:
                    ratio = f"{best_f / r['forward_s']:.2f} / {best_fb / r['forward_backward_s']:.2f}"
                h1, h2 = r["hidden_rates"]
                lines.append(f"| {threads} | {r['version']} | {ms(r['forward_s'])} | {ms(r['forward_backward_s'])} | "
                             f"{ratio} | {mib(r['peak_rss'])} ({mib(r['rss_growth'])}) | "
                             f"{h1 * 100:.2f} %, {h2 * 100:.2f} % |")
    lines += ["", "Forward: the training-mode forward pass (libsnn records its tape; the peers build their autograd "
              "graph). Forward + backward: forward, cross-entropy of the output spike counts, backward to all six "
              "weight and bias tensors (no optimizer step). Each library in its own process, with the same input "
              "spikes (one batch of 128 training images, p = pixel / 255 per step), labels and initial weights "
              "(libsnn's initialisation). snnTorch and Norse in two forms: every layer in each time step (their "
              "tutorials' form), and layer by layer (each convolution over all 25 steps at once, then the neurons "
              "scanned over time); SpikingJelly in its multi-step mode (layer by layer). Surrogates: libsnn and "
              "snnTorch fast sigmoid (slope 25), Norse SuperSpike, SpikingJelly sigmoid (the same cost; only the "
              "gradient values differ). Ratios > 1: libsnn is faster. Equal hidden spike rates show that every "
              "library did the same work."]
    append_section("\n".join(lines), args.markdown)


if __name__ == "__main__":
    main()
