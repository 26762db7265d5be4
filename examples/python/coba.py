"""COBA: benchmark 1 of Brette et al. 2007 (Vogels & Abbott 2005) in libsnn.
4000 LIF neurons, 80 % excitatory, random connections with probability 0.02,
exponential conductance synapses, 1 s at dt = 0.1 ms. Conductances are
relative to the leak (gL = 10 nS): we = 6 nS -> 0.6, wi = 67 nS -> 6.7.

    python examples/python/coba.py [--seeds 5] [--backend auto]
"""
import snn
from _report import main

MV, MS = 1e-3, 1e-3


def build(seed: int, backend: str = "auto") -> snn.Network:
    net = snn.Network(dt=0.1 * MS, seed=seed, backend=backend)
    lif = dict(tau_mem=20 * MS, v_rest=-60 * MV, v_reset=-60 * MV, v_th=-50 * MV, t_ref=5 * MS)
    exc = net.population("exc", 3200, "lif", **lif)
    inh = net.population("inh", 800, "lif", **lif)
    # (pre, post, weight, tau, reversal potential, initial g mean and sd relative to gL)
    excitatory = dict(weight=0.6, tau=5 * MS, e_rev=0 * MV)
    inhibitory = dict(weight=6.7, tau=10 * MS, e_rev=-80 * MV)
    for k, (pre, post, syn, g0) in enumerate([(exc, exc, excitatory, (4, 1.5)), (exc, inh, excitatory, (4, 1.5)),
                                              (inh, exc, inhibitory, (20, 12)), (inh, inh, inhibitory, (20, 12))]):
        conn = net.connect(pre, post, p=0.02, synapse="cond_exp", seed=seed * 4 + k, **syn)
        net.randomize_state(conn, "g", "normal", *g0, seed=seed * 8 + k)
    # v = El + (randn() * 5 - 5) mV, as in the benchmark's script
    net.randomize_state(exc, "v", "normal", -65 * MV, 5 * MV, seed=seed * 4)
    net.randomize_state(inh, "v", "normal", -65 * MV, 5 * MV, seed=seed * 4 + 1)
    return net


if __name__ == "__main__":
    main("COBA", build, tolerance=0.20)
