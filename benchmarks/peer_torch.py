"""snnTorch, Norse and SpikingJelly side of the fully connected benchmark. Runs
in benchmarks/.venv (setup_peers.sh); run.py calls it once per (peer, case)
and reads the tagged JSON line it prints.

    python peer_torch.py --peer snntorch --data DIR --threads 2 --reps 5 --cap 300

DIR holds x.npy (the input, [steps, batch, n] float32: Gaussian currents or
0/1 spikes) and w.npy (the weights, [pre, post] float32), written by run.py,
so every library gets the same numbers. The layer is Linear n->n (no bias)
followed by a LIF layer with v <- beta * v + W x, threshold 1, reset to 0 in
the step of the spike; beta comes from --beta. Timed: one inference pass over
the whole input, from the input tensor to the stacked output spikes
[steps, batch, n], under torch.inference_mode(). Every peer applies the
Linear to all steps at once (one [steps*batch, n] x [n, n] product: what
SpikingJelly's multi-step mode does, and the fastest form for the other two)
and then scans the neurons step by step.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit, timed_reps  # noqa: E402


def make_layer(peer: str, w, beta: float, dt: float):
    """Returns (forward, version): forward(x) -> spikes [steps, batch, n]."""
    import torch

    n_pre, n_post = w.shape
    lin = torch.nn.Linear(n_pre, n_post, bias=False)
    weight = torch.from_numpy(w.T.copy())  # torch stores [out, in]

    if peer == "snntorch":
        import snntorch

        # reset_delay=False: reset in the step of the spike (snnTorch's default
        # delays it by one step); "zero": v = 0 (default: subtract threshold).
        lif = snntorch.Leaky(beta=beta, threshold=1.0, reset_mechanism="zero", reset_delay=False)
        lin.weight.data.copy_(weight)

        def forward(x):
            cur = lin(x)
            mem = torch.zeros_like(cur[0])
            out = []
            for t in range(cur.shape[0]):
                spk, mem = lif(cur[t], mem)
                out.append(spk)
            return torch.stack(out)

        return forward, snntorch.__version__

    if peer == "norse":
        import norse
        from norse.torch import LIFBoxCell, LIFBoxParameters

        # LIFBoxCell: a LIF without synaptic current (input enters v directly,
        # as our delta synapse), forward Euler: v <- v + dt/tau (v_leak - v + i),
        # i.e. beta = 1 - dt/tau and the input scaled by dt/tau; the weights
        # are scaled by tau/dt so that v <- beta v + W x as for the others.
        tau_mem_inv = (1.0 - beta) / dt
        p = LIFBoxParameters(tau_mem_inv=torch.as_tensor(tau_mem_inv), v_leak=torch.as_tensor(0.0),
                             v_th=torch.as_tensor(1.0), v_reset=torch.as_tensor(0.0))
        cell = LIFBoxCell(p, dt=dt)
        lin.weight.data.copy_(weight / (dt * tau_mem_inv))

        def forward(x):
            cur = lin(x)
            state = None
            out = []
            for t in range(cur.shape[0]):
                z, state = cell(cur[t], state)
                out.append(z)
            return torch.stack(out)

        return forward, norse.__version__

    if peer == "spikingjelly":
        import importlib.metadata

        from spikingjelly.activation_based import functional, layer, neuron

        # Multi-step mode; on the CPU SpikingJelly runs its torch implementation.
        # decay_input=False: v <- v - (v - v_reset)/tau + x = (1 - 1/tau) v + x.
        fc = layer.Linear(n_pre, n_post, bias=False, step_mode="m")
        fc.weight.data.copy_(weight)
        lif = neuron.LIFNode(tau=1.0 / (1.0 - beta), decay_input=False, v_threshold=1.0, v_reset=0.0,
                             step_mode="m")
        net = torch.nn.Sequential(fc, lif)

        def forward(x):
            functional.reset_net(net)
            return net(x)

        return forward, importlib.metadata.version("spikingjelly")

    raise SystemExit(f"unknown peer {peer!r}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=["snntorch", "norse", "spikingjelly"], required=True)
    ap.add_argument("--data", required=True, help="folder with x.npy and w.npy")
    ap.add_argument("--beta", type=float, default=0.9)
    ap.add_argument("--dt", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cap", type=float, default=300.0)
    args = ap.parse_args()

    result = {"peer": args.peer, "threads": args.threads}
    try:
        import numpy as np
        import torch

        torch.set_num_threads(args.threads)
        result["torch"] = torch.__version__
        x = torch.from_numpy(np.load(os.path.join(args.data, "x.npy")))
        w = np.load(os.path.join(args.data, "w.npy"))
        forward, version = make_layer(args.peer, w, args.beta, args.dt)
        result["version"] = version
        out = {}

        def run_once():
            with torch.inference_mode():
                out["spikes"] = forward(x)

        timing = timed_reps(run_once, args.reps, args.cap)
        result.update(timing)
        result["spike_fraction"] = float(out["spikes"].float().mean())
        result["torch_threads"] = torch.get_num_threads()
    except Exception as exc:  # reported, not raised: the suite goes on
        result.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    emit(result)


if __name__ == "__main__":
    main()
