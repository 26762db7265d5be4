"""CUBA: Brian2's examples/CUBA.py (Vogels & Abbott 2005; Brette et al. 2007,
benchmark 2) in libsnn. 4000 LIF neurons, 80 % excitatory, random connections
with probability 0.02, exponential current synapses, 1 s at dt = 0.1 ms.

    python examples/python/cuba.py [--seeds 5] [--backend auto]
"""
import snn
from _report import main

MV, MS = 1e-3, 1e-3


def build(seed: int, backend: str = "auto") -> snn.Network:
    net = snn.Network(dt=0.1 * MS, seed=seed, backend=backend)
    lif = dict(tau_mem=20 * MS, v_rest=-49 * MV, v_reset=-60 * MV, v_th=-50 * MV, t_ref=5 * MS)
    exc = net.population("exc", 3200, "lif", **lif)
    inh = net.population("inh", 800, "lif", **lif)
    we = 60 * 0.27 / 10 * MV  # a spike adds we to the synaptic current (in volts)
    wi = -20 * 4.5 / 10 * MV
    for k, (pre, post, w, tau) in enumerate([(exc, exc, we, 5 * MS), (exc, inh, we, 5 * MS),
                                             (inh, exc, wi, 10 * MS), (inh, inh, wi, 10 * MS)]):
        net.connect(pre, post, p=0.02, weight=w, synapse="exp", tau=tau, seed=seed * 4 + k)
    # v = Vr + rand() * (Vt - Vr)
    net.randomize_state(exc, "v", "uniform", -60 * MV, -50 * MV, seed=seed * 4)
    net.randomize_state(inh, "v", "uniform", -60 * MV, -50 * MV, seed=seed * 4 + 1)
    return net


if __name__ == "__main__":
    main("CUBA", build, tolerance=0.10)
