#!/usr/bin/env python3
"""Writes network.snn, the network every language runs in the cross-language
test (see README.md here). Run it again only when the file format changes:
the committed file is what the runners load."""

from pathlib import Path

import numpy as np
import snn

rng = np.random.default_rng(7)
net = snn.Network(dt=1e-3, batch=2, seed=11)
inp = net.population("in", 32, "spike_source")
hid = net.population("hid", 64, "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0, t_ref=2e-3)
out = net.population("out", 16, "lif", tau_mem=20e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
net.connect(inp, hid, rng.uniform(0.0, 0.4, (32, 64)).astype(np.float32), synapse="exp", tau=5e-3)
net.connect(hid, out, p=0.3, weight=0.08, seed=5, delay=2)
net.save(Path(__file__).with_name("network.snn"))
