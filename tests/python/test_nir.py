"""NIR in and out (snn.nir): a graph as snnTorch writes it loads into a
network that steps snnTorch's discrete update; models and networks export to
graphs that load back into the same network."""

import numpy as np
import pytest

import snn

nir = pytest.importorskip("nir")  # in tests/requirements.txt: CI always has it

DT = 1e-4


def snntorch_style_graph(w1, b1, w2, beta, threshold):
    """The graph snnTorch's exporter builds for Linear -> Leaky -> Linear ->
    Leaky (tau = dt / (1 - beta), r = tau / dt, v_leak = 0, v_reset = 0 at
    its dt of 1e-4), written out from the model's parameters here because
    snnTorch 1.0's own export_to_nir fails type inference on nir 1.0.8."""
    def lif(n):
        tau = np.full(n, DT / (1 - beta))
        return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(n), v_threshold=np.full(n, threshold), v_reset=np.zeros(n))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([w1.shape[1]])}),
        "fc1": nir.Affine(weight=w1, bias=b1),
        "lif1": lif(w1.shape[0]),
        "fc2": nir.Linear(weight=w2),
        "lif2": lif(w2.shape[0]),
        "output": nir.Output(output_type={"output": np.array([w2.shape[0]])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def snntorch_leaky(seq, layers, beta, threshold):
    """snnTorch's Leaky with reset_mechanism="zero", reset_delay=False (as
    its NIR importer builds it): v <- beta v + W x + b; spike if v >
    threshold; then v = 0. float64."""
    x = seq.astype(np.float64)
    for w, b in layers:
        v = np.zeros((x.shape[1], w.shape[0]))
        out = np.zeros((x.shape[0], x.shape[1], w.shape[0]))
        for t in range(x.shape[0]):
            v = beta * v + x[t] @ w.T + b
            s = v > threshold
            out[t] = s
            v = np.where(s, 0.0, v)
        x = out
    return x


def test_a_graph_written_as_snntorch_writes_it_steps_snntorchs_update(tmp_path):
    rng = np.random.default_rng(1)
    w1 = rng.normal(0.2, 0.5, (24, 16))
    b1 = rng.normal(0.05, 0.05, 24)
    w2 = rng.normal(0.2, 0.5, (5, 24))
    beta, threshold = 0.9, 1.0
    path = tmp_path / "snntorch.nir"
    nir.write(path, snntorch_style_graph(w1, b1, w2, beta, threshold))
    net = snn.nir.load(str(path), dt=DT, batch=6)
    seq = (rng.random((60, 6, 16)) < 0.3).astype(np.uint8)
    rec = net.run(60, inputs={"input": seq}, record=["lif1.spikes", "lif2.spikes", "lif1.v"])
    want = snntorch_leaky(seq, [(w1, b1)], beta, threshold)
    got = rec["lif1.spikes"].astype(np.float64)
    assert want.sum() > 500
    # float32 against float64: a spike moves only where v lands within rounding of the threshold.
    assert np.mean(got != want) < 0.002
    want2 = snntorch_leaky(seq, [(w1, b1), (w2, np.zeros(5))], beta, threshold)
    assert want2.sum() > 50
    assert np.mean(rec["lif2.spikes"] != want2) < 0.01
    # The potential itself, where no spike differs: the same update.
    same = (got == want).all(axis=(0, 2))
    v = np.zeros((6, 24))
    vs = []
    for t in range(60):
        v = beta * v + seq[t].astype(np.float64) @ w1.T + b1
        v = np.where(v > threshold, 0.0, v)
        vs.append(v.copy())
    np.testing.assert_allclose(rec["lif1.v"][:, same], np.array(vs)[:, same], rtol=1e-4, atol=1e-5)


def test_sequential_round_trip_gives_the_same_network(tmp_path):
    model = snn.Sequential(snn.Linear(12, 10, seed=1), snn.LIF(beta=0.85, reset="zero"),
                           snn.Linear(10, 3, seed=2), snn.LI(beta=0.9), dt=DT)
    model.layers[0].weight = model.layers[0].weight * 8
    graph = model.to_nir()
    assert [type(graph.nodes[k]).__name__ for k in ("input", "fc0", "layer0", "fc1", "layer1")] == \
        ["Input", "Affine", "LIF", "Affine", "LI"]
    np.testing.assert_allclose(graph.nodes["fc0"].weight, model.layers[0].weight, rtol=1e-6)
    path = tmp_path / "model.nir"
    nir.write(path, graph)
    net = snn.nir.load(str(path), dt=DT, batch=4)
    seq = (np.random.default_rng(3).random((40, 4, 12)) < 0.4).astype(np.uint8)
    out = model.forward(seq)
    rec = net.run(40, inputs={"input": seq}, record=["layer0.spikes", "layer1.v"])
    assert rec["layer0.spikes"].sum() > 50
    np.testing.assert_allclose(rec["layer1.v"], out, rtol=1e-5, atol=1e-6)
    # Weights come back as they went out.
    np.testing.assert_allclose(net.weights("fc0"), model.network.weights("fc0"), rtol=1e-6)


def test_network_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    net = snn.Network(dt=1e-3)
    net.population("x", 8, "spike_source")
    net.population("h", 6, "lif", tau_mem=20e-3, v_rest=0.0, v_reset=0.0, v_th=0.5)
    net.population("i", 4, "if", v_reset=0.0, v_th=0.3)
    net.connect("x", "h", weights=rng.normal(0.2, 0.3, (8, 6)).astype(np.float32), delay=0, synapse="delta")
    net.connect("h", "i", weights=rng.normal(0.2, 0.3, (6, 4)).astype(np.float32), delay=0, synapse="delta")
    back = snn.nir.load(net.to_nir(), dt=1e-3)
    seq = (rng.random((50, 1, 8)) < 0.4).astype(np.uint8)
    a = net.run(50, inputs={"x": seq}, record=["h.v", "i.spikes"])
    b = back.run(50, inputs={"x": seq}, record=["h.v", "i.spikes"])
    assert a["i.spikes"].sum() > 5
    np.testing.assert_array_equal(a["i.spikes"], b["i.spikes"])
    np.testing.assert_allclose(a["h.v"], b["h.v"], rtol=1e-5, atol=1e-7)


def test_what_cannot_be_expressed_is_named():
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                                "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                      padding=np.array([0, 0])),
                                "output": nir.Output(output_type={"output": np.array([3])})},
                         edges=[("input", "pool"), ("pool", "output")])
    with pytest.raises(snn.UnsupportedError, match="'pool': SumPool2d"):
        snn.nir.load(graph)
    net = snn.Network(dt=1e-3)
    net.population("x", 2, "spike_source")
    net.population("y", 2, "lif", reset="subtract")
    net.connect("x", "y", weights=np.ones((2, 2), np.float32), delay=0)
    with pytest.raises(snn.UnsupportedError, match="subtract"):
        net.to_nir()
    net = snn.Network(dt=1e-3)
    net.population("x", 2, "spike_source")
    net.population("y", 2, "lif")
    net.connect("x", "y", weights=np.ones((2, 2), np.float32), delay=1, synapse="exp")
    with pytest.raises(snn.UnsupportedError, match="delay 0"):
        net.to_nir()
    with pytest.raises(snn.InvalidArgumentError, match="tau must exceed dt"):
        g = snntorch_style_graph(np.ones((2, 2)), np.zeros(2), np.ones((1, 2)), 0.9, 1.0)
        snn.nir.load(g, dt=1.0)
