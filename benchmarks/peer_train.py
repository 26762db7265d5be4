"""One side of the training benchmark (benchmarks/train.py): a 784-1024-10
LIF network trained with surrogate gradients, timed per batch.

    python peer_train.py --lib snntorch --data DIR --threads 2 --reps 5

--lib is libsnn (run with libsnn's interpreter) or snntorch, norse,
spikingjelly (run in benchmarks/.venv). DIR holds x.npy ([steps, batch, 784]
float32: 0/1 spikes or direct currents), y.npy (labels [batch]) and w1.npy,
w2.npy ([pre, post] float32), written by train.py, so every library gets the
same numbers. Each side runs in a process of its own, so its peak RSS is its
own. Prints one tagged JSON line: the median forward time, the median
forward + backward time (loss included, optimizer step excluded), the peak
RSS of the process and its growth over the timed batches.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit  # noqa: E402

BETA = 0.9
DT = 1e-3


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def libsnn_side(x, y, w1, w2, threads):
    import math

    import snn

    ctx = snn.Context(backend="cpu", threads=threads)
    net = snn.Network(dt=DT, context=ctx)
    spikes = set(np.unique(x).tolist()) <= {0.0, 1.0}
    net.population("x", x.shape[2], "spike_source" if spikes else "current_source")
    tau = -DT / math.log(BETA)
    lif = dict(tau_mem=tau, v_rest=0.0, v_reset=0.0, v_th=1.0, reset="value")
    net.population("h", w1.shape[1], "lif", **lif)
    net.population("o", w2.shape[1], "lif", **lif)
    # libsnn's exact decay multiplies the input too: W / beta gives v <- beta v + W x.
    net.connect("x", "h", weights=(w1 / np.float32(BETA)).astype(np.float32), delay=0, synapse="delta")
    net.connect("h", "o", weights=(w2 / np.float32(BETA)).astype(np.float32), delay=0, synapse="delta")
    trainer = snn.Trainer(net)
    inputs = {"x": x.astype(np.uint8) if spikes else x}

    def forward():
        trainer.forward(inputs)

    def forward_backward():
        trainer.forward(inputs)
        trainer.loss("o", "ce_count", y)
        trainer.backward()

    def rate():
        return float(trainer.output("h").mean())

    return forward, forward_backward, rate, f"libsnn {snn.__version__}"


def torch_side(lib, x, y, w1, w2, threads):
    import torch

    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.int64))
    fc1 = torch.nn.Linear(w1.shape[0], w1.shape[1], bias=False)
    fc2 = torch.nn.Linear(w2.shape[0], w2.shape[1], bias=False)
    with torch.no_grad():
        fc1.weight.copy_(torch.from_numpy(w1.T.copy()))
        fc2.weight.copy_(torch.from_numpy(w2.T.copy()))
    last = {}

    if lib == "snntorch":
        import snntorch
        from snntorch import surrogate

        grad = surrogate.fast_sigmoid(slope=25)
        # Reset to 0 in the step of the spike, as the other libraries here.
        lif1 = snntorch.Leaky(beta=BETA, threshold=1.0, spike_grad=grad, reset_mechanism="zero", reset_delay=False)
        lif2 = snntorch.Leaky(beta=BETA, threshold=1.0, spike_grad=grad, reset_mechanism="zero", reset_delay=False)
        version = f"snntorch {snntorch.__version__}"

        def run(inp):
            cur1 = fc1(inp)  # every step at once: the fastest form
            mem1 = lif1.init_leaky()
            mem2 = lif2.init_leaky()
            out, hidden = [], []
            for t in range(inp.shape[0]):
                spk1, mem1 = lif1(cur1[t], mem1)
                spk2, mem2 = lif2(fc2(spk1), mem2)
                out.append(spk2)
                hidden.append(spk1)
            last["h"] = torch.stack(hidden)
            return torch.stack(out)
    elif lib == "norse":
        import norse
        from norse.torch import LIFBoxCell, LIFBoxParameters

        # v <- v + dt/tau (v_leak - v + i): with dt/tau = 1 - beta and i = W x / (1 - beta), v <- beta v + W x.
        params = LIFBoxParameters(tau_mem_inv=torch.tensor((1 - BETA) / DT), v_th=torch.tensor(1.0),
                                  v_reset=torch.tensor(0.0), v_leak=torch.tensor(0.0), alpha=torch.tensor(100.0))
        cell1 = LIFBoxCell(params, dt=DT)
        cell2 = LIFBoxCell(params, dt=DT)
        version = f"norse {norse.__version__}"

        def run(inp):
            cur1 = fc1(inp) / (1 - BETA)
            s1 = s2 = None
            out, hidden = [], []
            for t in range(inp.shape[0]):
                z1, s1 = cell1(cur1[t], s1)
                z2, s2 = cell2(fc2(z1) / (1 - BETA), s2)
                out.append(z2)
                hidden.append(z1)
            last["h"] = torch.stack(hidden)
            return torch.stack(out)
    else:
        from importlib.metadata import version as pkg_version
        from spikingjelly.activation_based import functional, neuron, surrogate

        # LIFNode with decay_input=False: v <- v - v / tau + x = beta v + x for tau = 1 / (1 - beta),
        # multi-step mode (its fastest on the CPU), reset to 0.
        kw = dict(tau=1.0 / (1 - BETA), decay_input=False, v_threshold=1.0, v_reset=0.0, step_mode="m",
                  surrogate_function=surrogate.Sigmoid())
        node1 = neuron.LIFNode(**kw)
        node2 = neuron.LIFNode(**kw)
        version = f"spikingjelly {pkg_version('spikingjelly')}"

        def run(inp):
            functional.reset_net(node1)
            functional.reset_net(node2)
            h = node1(fc1(inp))
            last["h"] = h
            return node2(fc2(h))

    def forward():
        run(xt)

    def forward_backward():
        fc1.zero_grad(set_to_none=True)
        fc2.zero_grad(set_to_none=True)
        out = run(xt)
        loss = torch.nn.functional.cross_entropy(out.sum(0), yt)
        loss.backward()

    def rate():
        with torch.no_grad():
            run(xt)
        return float(last["h"].float().mean())

    return forward, forward_backward, rate, version


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True, choices=["libsnn", "snntorch", "norse", "spikingjelly"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    x = np.load(os.path.join(args.data, "x.npy"))
    y = np.load(os.path.join(args.data, "y.npy"))
    w1 = np.load(os.path.join(args.data, "w1.npy"))
    w2 = np.load(os.path.join(args.data, "w2.npy"))
    if args.lib == "libsnn":
        forward, forward_backward, rate, version = libsnn_side(x, y, w1, w2, args.threads)
    else:
        forward, forward_backward, rate, version = torch_side(args.lib, x, y, w1, w2, args.threads)
    forward_backward()  # warm-up (allocations, lazy initialisation)
    before = rss_bytes()
    times = {}
    for name, fn in (("forward", forward), ("forward_backward", forward_backward)):
        samples = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        times[name] = statistics.median(samples)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    emit({"lib": args.lib, "version": version, "threads": args.threads, "forward_s": times["forward"],
          "forward_backward_s": times["forward_backward"], "peak_rss": peak, "rss_growth": max(0, peak - before),
          "hidden_rate": rate()})


if __name__ == "__main__":
    main()
