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


def test_an_affine_feeding_two_populations_gives_two_connections():
    def lif():
        return nir.LIF(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2))

    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                                "fc": nir.Affine(weight=np.ones((2, 3)), bias=np.ones(2)), "a": lif(), "b": lif()},
                         edges=[("input", "fc"), ("fc", "a"), ("fc", "b")])
    net = snn.nir.load(graph, dt=1e-3)
    assert list(net.connections) == ["fc-a", "fc-a_bias", "fc-b", "fc-b_bias"]


def test_what_cannot_be_expressed_is_named():
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
                                "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                      padding=np.array([0, 0])),
                                "output": nir.Output(output_type={"output": np.array([1, 2, 2])})},
                         edges=[("input", "pool"), ("pool", "output")])
    with pytest.raises(snn.UnsupportedError, match="'pool': SumPool2d can be loaded only right after a Conv2d"):
        snn.nir.load(graph)
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                                "conv": nir.Conv1d(input_shape=3, weight=np.ones((1, 1, 1)), stride=1, padding=0,
                                                   dilation=1, groups=1, bias=np.zeros(1)),
                                "output": nir.Output(output_type={"output": np.array([3])})},
                         edges=[("input", "conv"), ("conv", "output")], type_check=False)
    with pytest.raises(snn.UnsupportedError, match="'conv': Conv1d cannot be loaded"):
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
    net.connect("x", "y", weights=np.ones((2, 2), np.float32), delay=1, synapse="cond_exp")
    with pytest.raises(snn.UnsupportedError, match="cond_exp synapse has no NIR node"):
        net.to_nir()
    with pytest.raises(snn.InvalidArgumentError, match="tau must exceed dt"):
        g = snntorch_style_graph(np.ones((2, 2)), np.zeros(2), np.ones((1, 2)), 0.9, 1.0)
        snn.nir.load(g, dt=1.0)


# -- convolutions ---------------------------------------------------------------


def conv_sequential(pool, seed=1):
    """Conv2d(2 -> 4, 3x3, padding 1) + pooling + LIF, Flatten, Linear, LIF
    (resets "zero": NIR resets to v_reset), on 2 x 8 x 8 inputs."""
    model = snn.Sequential(snn.Conv2d(2, 4, 3, padding=1, seed=seed), pool, snn.LIF(beta=0.8, reset="zero"),
                           snn.Flatten(), snn.Linear(4 * 4 * 4, 5, seed=seed + 1), snn.LIF(beta=0.9, reset="zero"),
                           dt=1e-3, input_shape=(2, 8, 8))
    model.layers[0].weight = model.layers[0].weight * 4
    model.layers[0].bias = np.linspace(-0.1, 0.2, 4)
    return model


@pytest.mark.parametrize("pool, node", [(snn.AvgPool2d(2), "AvgPool2d"), (snn.SumPool2d(2), "SumPool2d")])
def test_conv_sequential_round_trip_gives_the_same_network(tmp_path, pool, node):
    model = conv_sequential(pool)
    graph = model.to_nir()
    kinds = {k: type(v).__name__ for k, v in graph.nodes.items()}
    assert kinds == {"input": "Input", "fc0": "Conv2d", "fc0.pool": node, "layer0": "LIF", "layer0.flatten": "Flatten",
                     "fc1": "Affine", "layer1": "LIF", "layer1.output": "Output"}
    assert ("layer0", "layer0.flatten") in graph.edges and ("layer0.flatten", "fc1") in graph.edges
    conv = graph.nodes["fc0"]
    assert tuple(conv.input_shape) == (8, 8) and tuple(conv.input_type["input"]) == (2, 8, 8)
    assert tuple(graph.nodes["layer0"].input_type["input"]) == (4, 4, 4)
    np.testing.assert_allclose(conv.weight, model.layers[0].weight, rtol=1e-6)
    # NIR's Conv2d adds its bias before the pooling, libsnn after it: a sum pool adds it four times.
    cells = 4 if node == "SumPool2d" else 1
    np.testing.assert_allclose(conv.bias * cells, model.layers[0].bias, rtol=1e-6)
    path = tmp_path / "conv.nir"
    nir.write(path, graph)
    net = snn.nir.load(str(path), dt=1e-3, batch=3)
    assert net.populations["layer0"].shape == (4, 4, 4) and net.populations["input"].shape == (2, 8, 8)
    g = net.connections["fc0"].geometry
    assert (g["pool"], g["pool_height"], g["padding_y"], g["bias"]) == (node[:3].lower(), 2, 1, True)
    for name in ("fc0", "fc1", "fc1_bias"):
        np.testing.assert_allclose(net.weights(name), model.network.weights(name), rtol=1e-6, atol=1e-7)
    seq = (np.random.default_rng(3).random((30, 3, 2, 8, 8)) < 0.4).astype(np.uint8)
    out = model.forward(seq.reshape(30, 3, -1))
    ref = snn.load(model.network.to_bytes(), batch=3)
    want = ref.run(30, inputs={"input": seq}, record=["layer0.spikes", "layer1.spikes"])
    got = net.run(30, inputs={"input": seq}, record=["layer0.spikes", "layer1.spikes"])
    assert want["layer0.spikes"].sum() > 300 and want["layer1.spikes"].sum() > 5
    np.testing.assert_array_equal(got["layer0.spikes"], want["layer0.spikes"])
    np.testing.assert_array_equal(got["layer1.spikes"], want["layer1.spikes"])
    np.testing.assert_array_equal(got["layer1.spikes"], out)


def test_conv_network_round_trip_shapes_flat_populations(tmp_path):
    """A conv2d connection between flat populations (in_shape=): the graph
    gives the populations the convolution's shapes; non-square kernels,
    strides, no bias, IF neurons and an LI readout."""
    rng = np.random.default_rng(7)
    net = snn.Network(dt=1e-3)
    net.population("x", 63, "spike_source")
    net.population("h", 3 * 5 * 6, "if", v_reset=0.0, v_th=0.5)
    net.population("o", 2 * 4 * 5, "li", tau_mem=20e-3)
    net.conv2d("x", "h", rng.normal(0.3, 0.4, (3, 1, 3, 2)).astype(np.float32), None, stride=(2, 1), padding=(1, 0),
               in_shape=(1, 9, 7), delay=0, synapse="delta", name="c1")
    net.conv2d("h", "o", rng.normal(0.1, 0.4, (2, 3, 2, 2)).astype(np.float32), rng.normal(0, 0.1, 2).astype(np.float32),
               in_shape=(3, 5, 6), delay=0, synapse="delta", name="c2")
    graph = net.to_nir()
    assert tuple(graph.nodes["x"].output_type["output"]) == (1, 9, 7)
    assert tuple(graph.nodes["h"].input_type["input"]) == (3, 5, 6)
    assert tuple(graph.nodes["c1"].output_type["output"]) == (3, 5, 6)
    path = tmp_path / "flat.nir"
    nir.write(path, graph)
    back = snn.nir.load(path, dt=1e-3)  # nir.read's own type check fails on the 3 x 2 kernel in nir 1.0.8
    assert back.populations["h"].shape == (3, 5, 6)
    seq = (rng.random((25, 1, 63)) < 0.5).astype(np.uint8)
    a = net.run(25, inputs={"x": seq}, record=["h.spikes", "o.v"])
    b = back.run(25, inputs={"x": seq}, record=["h.spikes", "o.v"])
    assert a["h.spikes"].sum() > 50
    np.testing.assert_array_equal(a["h.spikes"], b["h.spikes"])
    np.testing.assert_allclose(a["o.v"], b["o.v"], rtol=1e-5, atol=1e-6)


def numpy_conv2d(x, w, b, stride, padding):
    """PyTorch's Conv2d (cross-correlation, zero padding) on [B, C, H, W], float64."""
    n, _, h, wd = x.shape
    out_c, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, out_c, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def numpy_sum_pool(x, k):
    n, c, h, w = x.shape
    return x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k).sum(axis=(3, 5))


def euler_lif(v, current, node, dt):
    """One forward-Euler step of a NIR LIF: v += dt/tau (v_leak - v + r I); spike and reset."""
    v = v + dt / node.tau * (node.v_leak - v + node.r * current)
    s = v > node.v_threshold
    return np.where(s, node.v_reset, v), s


def test_a_hand_built_conv_graph_steps_nirs_euler_update():
    dt = 1e-3
    rng = np.random.default_rng(11)
    kernel = rng.normal(0.05, 0.3, (3, 2, 3, 3))
    conv_bias = np.array([0.05, -0.02, 0.1])
    shape1 = (3, 5, 5)
    tau1 = np.broadcast_to(np.array([8e-3, 12e-3, 20e-3])[:, None, None], shape1).copy()  # per channel
    lif1 = nir.LIF(tau=tau1, r=np.full(shape1, 6.0), v_leak=np.full(shape1, 0.05), v_threshold=np.full(shape1, 1.0),
                   v_reset=np.full(shape1, -0.1))
    w2 = rng.normal(0.0, 0.3, (6, 75))
    b2 = rng.normal(0.1, 0.1, 6)
    lif2 = nir.LIF(tau=np.full(6, 10e-3), r=np.full(6, 2.0), v_leak=np.zeros(6), v_threshold=np.full(6, 0.8),
                   v_reset=np.zeros(6))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2, 10, 10])}),
        "conv": nir.Conv2d(input_shape=(10, 10), weight=kernel, stride=1, padding=1, dilation=1, groups=1, bias=conv_bias),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "lif1": lif1,
        "flat": nir.Flatten(input_type={"input": np.array(shape1)}, start_dim=0),
        "fc": nir.Affine(weight=w2, bias=b2),
        "lif2": lif2,
        "output": nir.Output(output_type={"output": np.array([6])}),
    }, edges=[("input", "conv"), ("conv", "pool"), ("pool", "lif1"), ("lif1", "flat"), ("flat", "fc"), ("fc", "lif2"),
              ("lif2", "output")])
    net = snn.nir.load(graph, dt=dt, batch=4)
    assert net.populations["lif1"].shape == shape1 and net.connections["conv"].kind == "conv2d"
    steps = 40
    seq = (rng.random((steps, 4, 2, 10, 10)) < 0.3).astype(np.uint8)
    rec = net.run(steps, inputs={"input": seq}, record=["lif1.spikes", "lif2.spikes"])
    # libsnn's lif starts at v_rest, which the loaded network sets to v_leak.
    v1, v2 = np.broadcast_to(lif1.v_leak, (4,) + shape1), np.zeros((4, 6))
    want1, want2 = [], []
    for t in range(steps):
        current = numpy_sum_pool(numpy_conv2d(seq[t].astype(np.float64), kernel, conv_bias, 1, 1), 2)
        v1, s1 = euler_lif(v1, current, lif1, dt)
        v2, s2 = euler_lif(v2, s1.reshape(4, -1) @ w2.T + b2, lif2, dt)
        want1.append(s1.reshape(4, -1))
        want2.append(s2)
    want1, want2 = np.array(want1), np.array(want2)
    assert 0.1 < want1.mean() < 0.6 and 20 < want2.sum() < 0.5 * want2.size
    np.testing.assert_array_equal(rec["lif1.spikes"], want1)
    np.testing.assert_array_equal(rec["lif2.spikes"], want2)


def conv_graph(**conv):
    args = dict(input_shape=(6, 6), weight=np.ones((2, 1, 3, 3)), stride=1, padding=0, dilation=1, groups=1,
                bias=np.zeros(2))
    args.update(conv)
    shape = (2, 4, 4) if args["dilation"] == 1 else (2, 2, 2)
    channels = args["weight"].shape[1] * args["groups"]
    return nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([channels, 6, 6])}),
                               "conv": nir.Conv2d(**args),
                               "lif": nir.LIF(tau=np.full(shape, 1e-2), r=np.ones(shape), v_leak=np.zeros(shape),
                                              v_threshold=np.ones(shape), v_reset=np.zeros(shape))},
                        edges=[("input", "conv"), ("conv", "lif")], type_check=False)


def test_conv_errors_are_named():
    assert snn.nir.load(conv_graph()).connections["conv"].kind == "conv2d"
    with pytest.raises(snn.UnsupportedError, match="'conv': Conv2d with dilation"):
        snn.nir.load(conv_graph(dilation=2))
    with pytest.raises(snn.UnsupportedError, match="'conv': Conv2d with groups"):
        snn.nir.load(conv_graph(groups=2, weight=np.ones((2, 1, 3, 3))))
    with pytest.raises(snn.UnsupportedError, match="'conv': Conv2d with padding 'same'"):
        snn.nir.load(conv_graph(padding="same"))
    graph = conv_graph()
    graph.nodes["lif"].tau[0, 0, 0] = 2e-2  # r dt / tau must be one number per output channel
    with pytest.raises(snn.UnsupportedError, match="within an output channel"):
        snn.nir.load(graph)
    graph = conv_graph()
    graph.nodes["pool"] = nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([1, 1]))
    graph.nodes["lif2"] = nir.LIF(tau=np.full((2, 3, 3), 1e-2), r=np.ones((2, 3, 3)), v_leak=np.zeros((2, 3, 3)),
                                  v_threshold=np.ones((2, 3, 3)), v_reset=np.zeros((2, 3, 3)))
    graph.edges += [("conv", "pool"), ("pool", "lif2")]
    with pytest.raises(snn.UnsupportedError, match="'pool': AvgPool2d with padding"):
        snn.nir.load(graph)
    model = snn.Sequential(snn.Conv2d(1, 2, 3), snn.MaxPool2d(2), snn.LIF(beta=0.9, reset="zero"), dt=1e-3,
                           input_shape=(1, 6, 6))
    with pytest.raises(snn.UnsupportedError, match="max pooling has no NIR node"):
        model.to_nir()


# -- NIR's Euler semantics in NumPy -------------------------------------------------------------------------------


def numpy_avg_pool(x, k):
    return numpy_sum_pool(x, k) / (k * k)


def euler_run(graph, inputs, dt, cuba="sequential"):
    """NIR's nodes stepped by forward Euler at dt, in float64, as snn.nir's
    docstring states them. A Delay of at least one step gives, at the start
    of a step, what it took in earlier steps; then the other nodes are
    evaluated from the Input nodes on in depth-first order, and an edge into
    a node evaluated before its source in the step (one that closes a cycle
    with no Delay) carries the source's output of the previous step. Delay
    lines and currents start at 0, a LIF / LI / CubaLIF / CubaLI at v_leak,
    an IF at v_reset. ``cuba``: "sequential" (v uses the current of this
    step) or "simultaneous" (of the previous step). Returns each node's
    output per step ([steps, batch, ...]) and ``"<node>.v"`` for neuron
    nodes."""
    nodes, edges = graph.nodes, graph.edges
    early = {k for k, n in nodes.items() if isinstance(n, nir.Delay) and np.min(n.delay) >= dt * 0.999}
    succ = {k: [b for a, b in edges if a == k and b not in early] for k in nodes}
    pred = {k: [a for a, b in edges if b == k] for k in nodes}
    order, seen = [], set()

    def visit(k):
        seen.add(k)
        for b in succ[k]:
            if b not in seen:
                visit(b)
        order.append(k)

    for k in [k for k, n in nodes.items() if isinstance(n, nir.Input)] + sorted(early) + list(nodes):
        if k not in seen:
            visit(k)
    order = [k for k in order[::-1] if k not in early]
    pos = {k: i for i, k in enumerate(order)}
    steps, batch = next(iter(inputs.values())).shape[:2]
    state, history, prev, rec = {}, {}, {}, {}
    for k, node in nodes.items():
        if isinstance(node, (nir.LIF, nir.LI, nir.CubaLIF, nir.CubaLI)):
            state[k] = {"v": np.broadcast_to(node.v_leak, (batch,) + np.shape(node.v_leak)).astype(np.float64),
                        "i": 0.0}
        elif isinstance(node, nir.IF):
            state[k] = {"v": np.broadcast_to(node.v_reset, (batch,) + np.shape(node.v_reset)).astype(np.float64)}
    def delayed(k, t):
        node = nodes[k]
        shape = np.shape(node.delay)
        lag = np.rint(np.ravel(node.delay) / dt).astype(int)
        y = np.array([history[k][t - d][:, e] if t >= d else np.zeros(batch) for e, d in enumerate(lag)]).T
        return y.reshape((batch,) + shape)

    for t in range(steps):
        out = {k: delayed(k, t) for k in early}
        for k in order:
            node = nodes[k]
            if isinstance(node, nir.Input):
                out[k] = inputs[k][t].astype(np.float64)
                continue
            x = sum(out[a] if a in early or pos[a] < pos[k] else prev.get(a, 0.0) for a in pred[k])
            if isinstance(node, nir.Output):
                y = x
            elif isinstance(node, (nir.Linear, nir.Affine)):
                y = x.reshape(batch, -1) @ node.weight.T + (node.bias if isinstance(node, nir.Affine) else 0)
            elif isinstance(node, nir.Scale):
                y = x.reshape((batch,) + np.shape(node.scale)) * node.scale
            elif isinstance(node, nir.Flatten):
                y = x.reshape(batch, -1)
            elif isinstance(node, nir.Conv2d):
                y = numpy_conv2d(x, node.weight, node.bias, int(np.ravel(node.stride)[0]),
                                 int(np.ravel(node.padding)[0]))
            elif isinstance(node, nir.SumPool2d):
                y = numpy_sum_pool(x, int(np.ravel(node.kernel_size)[0]))
            elif isinstance(node, nir.AvgPool2d):
                y = numpy_avg_pool(x, int(np.ravel(node.kernel_size)[0]))
            elif isinstance(node, nir.Delay):
                history.setdefault(k, []).append(np.broadcast_to(x, (batch,) + np.shape(node.delay)).reshape(batch, -1))
                y = delayed(k, t)
            elif isinstance(node, nir.Threshold):
                y = (x > node.threshold).astype(np.float64)
            elif isinstance(node, (nir.LIF, nir.LI)):
                s = state[k]
                s["v"] = s["v"] + dt / node.tau * (node.v_leak - s["v"] + node.r * x)
                y = s["v"]
                if isinstance(node, nir.LIF):
                    y = (s["v"] > node.v_threshold).astype(np.float64)
                    s["v"] = np.where(y > 0, node.v_reset, s["v"])
            elif isinstance(node, (nir.CubaLIF, nir.CubaLI)):
                s = state[k]
                old = s["i"]
                s["i"] = s["i"] + dt / node.tau_syn * (node.w_in * x - s["i"])
                current = s["i"] if cuba == "sequential" else old
                s["v"] = s["v"] + dt / node.tau_mem * (node.v_leak - s["v"] + node.r * current)
                y = s["v"]
                if isinstance(node, nir.CubaLIF):
                    y = (s["v"] > node.v_threshold).astype(np.float64)
                    s["v"] = np.where(y > 0, node.v_reset, s["v"])
            elif isinstance(node, nir.IF):
                s = state[k]
                s["v"] = s["v"] + dt * node.r * x
                y = (s["v"] > node.v_threshold).astype(np.float64)
                s["v"] = np.where(y > 0, node.v_reset, s["v"])
            else:
                raise NotImplementedError(type(node).__name__)
            out[k] = y
            rec.setdefault(k, []).append(np.array(y))
            if k in state:
                rec.setdefault(f"{k}.v", []).append(state[k]["v"].copy())
        for k in early:
            x = sum(out[a] for a in pred[k])
            history.setdefault(k, []).append(np.broadcast_to(x, (batch,) + np.shape(nodes[k].delay)).reshape(batch, -1))
        prev = out
    return {k: np.array(v) for k, v in rec.items()}


def lif_node(n, tau, r=1.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0):
    return nir.LIF(tau=np.broadcast_to(tau, (n,)).astype(np.float64), r=np.full(n, float(r)),
                   v_leak=np.full(n, float(v_leak)), v_threshold=np.full(n, float(v_threshold)),
                   v_reset=np.full(n, float(v_reset)))


def compare(net, graph, seq, dt, spikes=(), potentials=(), cuba="sequential", atol=1e-5, mismatch=0.0):
    """Runs the loaded network and NIR's Euler update on the same input and
    checks the spikes of ``spikes`` (population, node) and the potentials of
    ``potentials``."""
    steps, batch = seq.shape[:2]
    want = euler_run(graph, {"input": seq}, dt, cuba)
    record = [f"{p}.spikes" for p, _ in spikes] + [f"{p}.v" for p, _ in potentials]
    got = net.run(steps, inputs={"input": seq}, record=record)
    for pop, node in spikes:
        w = want[node].reshape(steps, batch, -1)
        assert w.sum() > 5, f"{node} hardly spikes"
        assert np.mean(got[f"{pop}.spikes"].reshape(w.shape) != w) <= mismatch, node
    for pop, node in potentials:
        v = want[node].reshape(steps, batch, -1)
        np.testing.assert_allclose(got[f"{pop}.v"].reshape(v.shape), v, rtol=1e-4, atol=atol)
    return want, got


# -- Scale, Delay, Threshold ------------------------------------------------------------------------------------


def scale_delay_graph(rng, dt):
    n_in, n1, n2, n3 = 6, 8, 5, 4
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "gain": nir.Scale(scale=rng.uniform(0.5, 1.5, n_in)),
        "lag": nir.Delay(delay=np.arange(n_in) % 4 * dt),  # 0..3 steps per input
        "fc": nir.Affine(weight=rng.normal(0.3, 0.5, (n1, n_in)), bias=rng.normal(0.05, 0.05, n1)),
        "gain2": nir.Scale(scale=rng.uniform(0.5, 1.5, n1)),
        "lif1": lif_node(n1, rng.uniform(8e-3, 20e-3, n1), r=6.0, v_leak=0.02, v_reset=-0.1),
        "fc2": nir.Linear(weight=rng.normal(0.3, 0.5, (n2, n1))),
        "lag2": nir.Delay(delay=np.full(n2, 2 * dt)),
        "lif2": lif_node(n2, 10e-3, r=12.0, v_threshold=0.8),
        "gain3": nir.Scale(scale=np.linspace(0.2, 0.6, n1)),
        "if3": nir.IF(r=np.full(n1, 1 / dt), v_threshold=np.full(n1, 0.5), v_reset=np.zeros(n1)),
        "fc4": nir.Affine(weight=rng.normal(0.1, 0.5, (n3, n1)), bias=np.full(n3, -0.05)),
        "spike": nir.Threshold(threshold=np.full(n3, 0.15)),
        "out": nir.Output(output_type={"output": np.array([n2])}),
        "out2": nir.Output(output_type={"output": np.array([n3])}),
    }
    edges = [("input", "gain"), ("gain", "lag"), ("lag", "fc"), ("fc", "gain2"), ("gain2", "lif1"),
             ("lif1", "fc2"), ("fc2", "lag2"), ("lag2", "lif2"), ("lif2", "out"),
             ("lif1", "gain3"), ("gain3", "if3"), ("lif1", "fc4"), ("fc4", "spike"), ("spike", "out2")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_scale_delay_and_threshold_step_nirs_update():
    """Scales fold into the weights, per-element delays become per-synapse
    delays, a Scale alone a one_to_one connection, and a Threshold of a
    current a population that keeps no state."""
    dt = 1e-3
    rng = np.random.default_rng(21)
    graph = scale_delay_graph(rng, dt)
    net = snn.nir.load(graph, dt=dt, batch=4)
    conns = net.connections
    assert conns["fc"].kind == "sparse" and sorted(set(net.synapses("fc")[2])) == [0, 1, 2, 3]
    assert (conns["fc_bias"].kind, conns["fc_bias"].delay) == ("dense", 0)
    assert (conns["fc2"].kind, conns["fc2"].delay) == ("dense", 2)
    assert conns["gain3"].kind == "one_to_one"
    assert conns["spike_euler"].synapse == "cond_exp" and conns["fc4"].synapse == "exp"
    seq = (rng.random((60, 4, 6)) < 0.4).astype(np.uint8)
    want, _ = compare(net, graph, seq, dt, spikes=[("lif1", "lif1"), ("lif2", "lif2"), ("if3", "if3"),
                                                   ("spike", "spike")],
                      potentials=[("lif1", "lif1.v"), ("if3", "if3.v")])
    # The Threshold spikes where this step's input passes it, and only there.
    assert 0.1 < want["spike"].mean() < 0.9


def test_threshold_after_an_li_is_a_lif_that_never_resets(tmp_path):
    dt = 1e-3
    rng = np.random.default_rng(5)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([5])}),
        "fc": nir.Linear(weight=rng.normal(0.2, 0.3, (4, 5))),
        "li": nir.LI(tau=np.full(4, 20e-3), r=np.full(4, 20.0), v_leak=np.full(4, 0.1)),
        "spike": nir.Threshold(threshold=np.full(4, 0.6)),
        "v": nir.Output(output_type={"output": np.array([4])}),
        "fc2": nir.Linear(weight=np.full((2, 4), 0.3)),
        "lif": lif_node(2, 10e-3, r=10.0),
        "out": nir.Output(output_type={"output": np.array([2])}),
    }, edges=[("input", "fc"), ("fc", "li"), ("li", "spike"), ("li", "v"), ("spike", "fc2"), ("fc2", "lif"),
              ("lif", "out")], type_check=False)
    net = snn.nir.load(graph, dt=dt, batch=3)
    assert net.populations["li"].model == "lif" and net.param("li", "reset") == "subtract"
    assert list(net.connections) == ["fc", "fc2"]
    seq = (rng.random((50, 3, 5)) < 0.5).astype(np.uint8)
    compare(net, graph, seq, dt, spikes=[("li", "spike"), ("lif", "lif")], potentials=[("li", "li.v")])
    net.reset()
    # It exports back as an LI and a Threshold.
    back = net.to_nir()
    assert type(back.nodes["li"]).__name__ == "LI" and type(back.nodes["li.threshold"]).__name__ == "Threshold"
    assert ("li", "li.threshold") in back.edges and ("li.threshold", "fc2") in back.edges
    path = tmp_path / "li.nir"
    nir.write(path, back)
    again = snn.nir.load(path, dt=dt, batch=3)
    a = net.run(50, inputs={"input": seq}, record=["li.spikes", "li.v"])
    net.reset()
    b = again.run(50, inputs={"input": seq}, record=["li.spikes", "li.v"])
    np.testing.assert_array_equal(a["li.spikes"], b["li.spikes"])
    np.testing.assert_allclose(a["li.v"], b["li.v"], rtol=1e-5, atol=1e-7)


def test_scale_and_delay_around_a_convolution():
    """A Scale per input channel before a Conv2d, per output channel after
    it, and a Delay after it, which delays the bias too: the bias comes
    through its own connection with the delay."""
    dt = 1e-3
    rng = np.random.default_rng(8)
    shape = (3, 4, 4)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2, 8, 8])}),
        "gain": nir.Scale(scale=np.broadcast_to(np.array([0.5, 1.5])[:, None, None], (2, 8, 8)).copy()),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0.05, 0.3, (3, 2, 3, 3)), stride=1, padding=1,
                           dilation=1, groups=1, bias=np.array([0.05, -0.02, 0.1])),
        "lag": nir.Delay(delay=np.full((3, 8, 8), 2 * dt)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "gain2": nir.Scale(scale=np.broadcast_to(np.array([1.0, 2.0, 0.5])[:, None, None], shape).copy()),
        "lif": nir.LIF(tau=np.full(shape, 10e-3), r=np.full(shape, 4.0), v_leak=np.zeros(shape),
                       v_threshold=np.ones(shape), v_reset=np.zeros(shape)),
        "out": nir.Output(output_type={"output": np.array(shape)}),
    }, edges=[("input", "gain"), ("gain", "conv"), ("conv", "lag"), ("lag", "pool"), ("pool", "gain2"),
              ("gain2", "lif"), ("lif", "out")], type_check=False)
    net = snn.nir.load(graph, dt=dt, batch=2)
    conv = net.connections["conv"]
    assert (conv.kind, conv.delay, conv.geometry["bias"]) == ("conv2d", 2, False)
    assert net.connections["conv_bias"].delay == 2
    seq = (rng.random((40, 2, 2, 8, 8)) < 0.3).astype(np.uint8)
    compare(net, graph, seq, dt, spikes=[("lif", "lif")])
    graph.nodes["gain2"] = nir.Scale(scale=rng.uniform(0.5, 1.5, shape))
    with pytest.raises(snn.UnsupportedError, match="'gain2': a Scale after a Conv2d must be one number per channel"):
        snn.nir.load(graph, dt=dt)


# -- CubaLIF and CubaLI ----------------------------------------------------------------------------------------------


def cuba_graph(rng, n_in=6, n1=10, n2=3):
    tau_mem = rng.uniform(8e-3, 20e-3, n1)
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc": nir.Affine(weight=rng.normal(0.3, 0.4, (n1, n_in)), bias=rng.normal(0.0, 0.05, n1)),
        "cuba": nir.CubaLIF(tau_syn=np.full(n1, 4e-3), tau_mem=tau_mem, r=rng.uniform(5.0, 8.0, n1),
                            v_leak=np.full(n1, 0.05), v_threshold=np.full(n1, 0.5), v_reset=np.full(n1, -0.05),
                            w_in=rng.uniform(0.8, 1.2, n1)),
        "fc2": nir.Linear(weight=rng.normal(0.2, 0.4, (n2, n1))),
        "readout": nir.CubaLI(tau_syn=np.full(n2, 10e-3), tau_mem=np.full(n2, 10e-3), r=np.full(n2, 5.0),
                              v_leak=np.zeros(n2), w_in=np.full(n2, 2.0)),
        "out": nir.Output(output_type={"output": np.array([n2])}),
    }, edges=[("input", "fc"), ("fc", "cuba"), ("cuba", "fc2"), ("fc2", "readout"), ("readout", "out")],
        type_check=False)


@pytest.mark.parametrize("cuba", ["sequential", "simultaneous"])
def test_cuba_nodes_step_nirs_update(cuba):
    """A CubaLIF / CubaLI is a lif / li fed through exp connections, exact in
    both readings of Euler's update (tau_syn == tau_mem included: the
    readout's gain takes the equal-time-constant form)."""
    dt = 1e-3
    rng = np.random.default_rng(3)
    graph = cuba_graph(rng)
    net = snn.nir.load(graph, dt=dt, batch=4, cuba=cuba)
    extra = 1 if cuba == "simultaneous" else 0
    for name in ("fc", "fc_bias", "fc2"):
        assert (net.connections[name].synapse, net.connections[name].delay) == ("exp", extra)
    assert net.populations["readout"].model == "li"
    seq = (rng.random((60, 4, 6)) < 0.4).astype(np.uint8)
    compare(net, graph, seq, dt, spikes=[("cuba", "cuba")], potentials=[("cuba", "cuba.v"), ("readout", "readout.v")],
            cuba=cuba)


def test_a_graph_written_as_snntorch_writes_synaptic_steps_its_update():
    """snnTorch's Synaptic: syn <- alpha syn + W x; mem <- beta mem + syn;
    spike if mem > threshold, then mem = 0 (reset "zero", reset_delay
    False). Its exporter writes tau_syn = dt / (1 - alpha), w_in = tau_syn /
    dt, tau_mem = dt / (1 - beta), r = tau_mem / dt."""
    rng = np.random.default_rng(9)
    alpha, beta, threshold = 0.8, 0.9, 1.0
    w = rng.normal(0.1, 0.3, (12, 8))
    tau_syn, tau_mem = DT / (1 - alpha), DT / (1 - beta)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([8])}),
        "fc": nir.Linear(weight=w),
        "syn": nir.CubaLIF(tau_syn=np.full(12, tau_syn), tau_mem=np.full(12, tau_mem), r=np.full(12, tau_mem / DT),
                           v_leak=np.zeros(12), v_threshold=np.full(12, threshold), v_reset=np.zeros(12),
                           w_in=np.full(12, tau_syn / DT)),
        "out": nir.Output(output_type={"output": np.array([12])}),
    }, edges=[("input", "fc"), ("fc", "syn"), ("syn", "out")])
    net = snn.nir.load(graph, dt=DT, batch=5)
    seq = (rng.random((80, 5, 8)) < 0.3).astype(np.uint8)
    rec = net.run(80, inputs={"input": seq}, record=["syn.spikes", "syn.v"])
    syn, mem = np.zeros((5, 12)), np.zeros((5, 12))
    spikes, mems = [], []
    for t in range(80):
        syn = alpha * syn + seq[t] @ w.T
        mem = beta * mem + syn
        s = mem > threshold
        mem = np.where(s, 0.0, mem)
        spikes.append(s)
        mems.append(mem)
    spikes = np.array(spikes)
    assert spikes.sum() > 100
    np.testing.assert_array_equal(rec["syn.spikes"], spikes)
    np.testing.assert_allclose(rec["syn.v"], np.array(mems), rtol=1e-4, atol=1e-5)


def test_neuron_nodes_with_single_numbers_take_the_size_of_their_input():
    """snnTorch's converter writes a layer with one beta as 0-d arrays."""
    beta = 0.9
    tau = np.array(DT / (1 - beta))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc": nir.Linear(weight=np.full((7, 4), 0.1)),
        "lif": nir.LIF(tau=tau, r=tau / DT, v_leak=np.array(0.0), v_threshold=np.array(1.0), v_reset=np.array(0.0)),
    }, edges=[("input", "fc"), ("fc", "lif")], type_check=False)
    net = snn.nir.load(graph, dt=DT)
    assert net.populations["lif"].size == 7
    rec = net.run(6, inputs={"input": np.ones((6, 1, 4), np.uint8)}, record=["lif.v"])
    v, vs = 0.0, []
    for _ in range(6):
        v = beta * v + 0.4
        v = 0.0 if v > 1.0 else v
        vs.append(v)
    np.testing.assert_allclose(rec["lif.v"][:, 0, 0], vs, rtol=1e-5, atol=1e-6)


# -- recurrent graphs ----------------------------------------------------------------------------------------------


def rleaky_graph(w_in, v_rec, w_out, beta, threshold, nested=True, b_rec=None):
    """Linear -> RLeaky -> Linear -> Leaky as snnTorch's exporter writes it:
    the RLeaky as a nested graph whose LIF reads its own spikes through an
    Affine (its recurrent nn.Linear; a Linear without ``b_rec``)."""
    n = w_in.shape[0]

    def lif(k):
        tau = np.full(k, DT / (1 - beta))
        return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(k), v_threshold=np.full(k, threshold), v_reset=np.zeros(k))

    w_rec = nir.Linear(weight=v_rec) if b_rec is None else nir.Affine(weight=v_rec, bias=b_rec)
    inner = {"input": nir.Input(input_type={"input": np.array([n])}), "lif": lif(n), "w_rec": w_rec,
             "output": nir.Output(output_type={"output": np.array([n])})}
    inner_edges = [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")]
    nodes = {"input": nir.Input(input_type={"input": np.array([w_in.shape[1]])}), "fc1": nir.Linear(weight=w_in)}
    if nested:
        nodes["rleaky"] = nir.NIRGraph(nodes=inner, edges=inner_edges, type_check=False)
        edges = [("input", "fc1"), ("fc1", "rleaky"), ("rleaky", "fc2")]
    else:
        nodes.update({"rleaky": lif(n), "w_rec": w_rec})
        edges = [("input", "fc1"), ("fc1", "rleaky"), ("rleaky", "w_rec"), ("w_rec", "rleaky"), ("rleaky", "fc2")]
    nodes.update({"fc2": nir.Linear(weight=w_out), "lif2": lif(w_out.shape[0]),
                  "output": nir.Output(output_type={"output": np.array([w_out.shape[0]])})})
    edges += [("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


@pytest.mark.parametrize("nested", [True, False])
def test_a_recurrent_graph_steps_snntorchs_rleaky(nested):
    """RLeaky (reset "zero", reset_delay False): mem <- beta mem + W x + V
    spk + b, with spk its spikes of the previous step. The cycle loads with
    delay 1 on the recurrent connection (its bias arrives from the first
    step, as snnTorch's recurrent nn.Linear adds it to zero spikes)."""
    rng = np.random.default_rng(13)
    w_in, v_rec, w_out = rng.normal(0.2, 0.4, (10, 6)), rng.normal(0.0, 0.4, (10, 10)), rng.normal(0.2, 0.4, (3, 10))
    b_rec = rng.normal(0.0, 0.05, 10) if nested else np.zeros(10)
    beta, threshold = 0.9, 1.0
    graph = rleaky_graph(w_in, v_rec, w_out, beta, threshold, nested, b_rec if nested else None)
    net = snn.nir.load(graph, dt=DT, batch=4)
    lif = "rleaky_lif" if nested else "rleaky"
    rec_name = "rleaky_w_rec" if nested else "w_rec"
    assert (net.connections[rec_name].pre.name, net.connections[rec_name].post.name) == (lif, lif)
    assert net.connections[rec_name].delay == 1 and net.connections["fc1"].delay == 0
    seq = (rng.random((70, 4, 6)) < 0.3).astype(np.uint8)
    rec = net.run(70, inputs={"input": seq}, record=[f"{lif}.spikes", f"{lif}.v", "lif2.spikes"])
    mem, spk, spikes, mems = np.zeros((4, 10)), np.zeros((4, 10)), [], []
    for t in range(70):
        mem = beta * mem + seq[t] @ w_in.T + spk @ v_rec.T + b_rec
        spk = (mem > threshold).astype(np.float64)
        mem = np.where(spk > 0, 0.0, mem)
        spikes.append(spk)
        mems.append(mem)
    spikes = np.array(spikes)
    assert spikes.sum() > 100
    np.testing.assert_array_equal(rec[f"{lif}.spikes"], spikes)
    np.testing.assert_allclose(rec[f"{lif}.v"], np.array(mems), rtol=1e-4, atol=1e-5)
    # Export writes the cycle back without a Delay node, and it loads into the same network.
    back = net.to_nir()
    assert (lif, rec_name) in back.edges and (rec_name, lif) in back.edges
    assert not any(isinstance(node, nir.Delay) for node in back.nodes.values())
    again = snn.nir.load(back, dt=DT, batch=4)
    assert again.connections[rec_name].delay == 1
    other = again.run(70, inputs={"input": seq}, record=[f"{lif}.spikes", "lif2.spikes"])
    np.testing.assert_array_equal(other[f"{lif}.spikes"], rec[f"{lif}.spikes"])
    np.testing.assert_array_equal(other["lif2.spikes"], rec["lif2.spikes"])


def test_a_cycle_with_a_delay_keeps_its_delay():
    """A Delay on a cycle is the cycle's delay: no step is added."""
    dt = 1e-3
    rng = np.random.default_rng(4)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc": nir.Linear(weight=rng.normal(0.3, 0.3, (6, 4))),
        "a": lif_node(6, 10e-3, r=10.0),
        "rec": nir.Linear(weight=rng.normal(0.0, 0.4, (6, 6))),
        "lag": nir.Delay(delay=np.full(6, 3 * dt)),
        "out": nir.Output(output_type={"output": np.array([6])}),
    }, edges=[("input", "fc"), ("fc", "a"), ("a", "rec"), ("rec", "lag"), ("lag", "a"), ("a", "out")],
        type_check=False)
    net = snn.nir.load(graph, dt=dt, batch=2)
    assert net.connections["rec"].delay == 3
    seq = (rng.random((50, 2, 4)) < 0.4).astype(np.uint8)
    compare(net, graph, seq, dt, spikes=[("a", "a")], potentials=[("a", "a.v")])


# -- export and round trips --------------------------------------------------------------------------------------


def feature_network(dt=1e-3):
    """A network with what the new nodes express: exp input (CubaLIF /
    CubaLI), a recurrent connection, delays (uniform, per postsynaptic
    neuron, per presynaptic neuron, mixed), a one_to_one connection, a lif
    that never resets and a conv2d with a delay and a bias."""
    rng = np.random.default_rng(17)
    net = snn.Network(dt=dt)
    net.population("x", (2, 6, 6), "spike_source")
    net.population("h", 12, "lif", tau_mem=15e-3, v_rest=0.0, v_reset=0.0, v_th=0.5)
    net.population("o", 5, "li", tau_mem=np.linspace(10e-3, 20e-3, 5).astype(np.float32), v_rest=0.0)
    net.population("t", 12, "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.4, v_th=0.4, reset="subtract")
    net.population("u", 12, "if", v_reset=0.0, v_th=0.3)
    net.population("c", (3, 2, 2), "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=0.3)
    net.conv2d("x", "c", rng.normal(0.1, 0.3, (3, 2, 3, 3)).astype(np.float32), np.array([0.02, 0.0, -0.01], np.float32),
               pool="avg", pool_size=2, in_shape=(2, 6, 6), delay=2, synapse="delta", name="conv")
    net.connect("x", "h", weights=rng.normal(0.05, 0.2, (72, 12)).astype(np.float32), delay=0, synapse="exp",
                tau=5e-3, name="fc")
    net.connect("h", "h", weights=rng.normal(0.0, 0.3, (12, 12)).astype(np.float32), delay=1, synapse="exp", tau=5e-3,
                name="rec")
    net.connect("h", "o", weights=rng.normal(0.1, 0.3, (12, 5)).astype(np.float32), delay=3, synapse="delta",
                name="ho")
    i, j = np.nonzero(rng.random((12, 12)) < 0.5)
    net.connect("h", "t", weights=rng.normal(0.2, 0.2, i.size).astype(np.float32), pairs=(i, j), delay=j % 3,
                synapse="delta", name="post_delays")
    net.connect("c", "t", weights=rng.normal(0.2, 0.2, (12, 12)).astype(np.float32), delay=0, synapse="delta",
                name="ct")
    i2, j2 = np.nonzero(rng.random((12, 12)) < 0.4)
    net.connect("h", "u", weights=rng.normal(0.2, 0.2, i2.size).astype(np.float32), pairs=(i2, j2),
                delay=(i2 + j2) % 3, synapse="delta", name="mixed")
    net.connect("t", "u", weights=np.linspace(0.1, 0.3, 12).astype(np.float32), one_to_one=True, delay=2,
                synapse="delta", name="tu")
    return net


def test_network_with_delays_cuba_and_recurrence_round_trips(tmp_path):
    net = feature_network()
    graph = net.to_nir()
    kinds = {k: type(v).__name__ for k, v in graph.nodes.items()}
    assert kinds["h"] == "CubaLIF" and kinds["o"] == "LI" and kinds["t"] == "LI" and kinds["t.threshold"] == "Threshold"
    assert kinds["tu"] == "Scale" and kinds["conv.delay"] == "Delay" and kinds["mixed.0"] == "Linear"
    assert ("h", "rec") in graph.edges and ("rec", "h") in graph.edges  # the implicit step of the cycle
    np.testing.assert_allclose(graph.nodes["ho.delay"].delay, np.full(5, 3e-3))
    np.testing.assert_allclose(graph.nodes["post_delays.delay"].delay * 1e3, np.arange(12) % 3, atol=1e-9)
    path = tmp_path / "features.nir"
    nir.write(path, graph)
    back = snn.nir.load(path, dt=1e-3)
    for name in ("fc", "rec", "ho", "tu", "conv"):
        assert back.connections[name].delay == net.connections[name].delay, name
    np.testing.assert_allclose(back.weights("fc"), net.weights("fc"), rtol=1e-5)
    np.testing.assert_allclose(back.weights("rec"), net.weights("rec"), rtol=1e-5, atol=1e-7)
    seq = (np.random.default_rng(2).random((60, 1, 2, 6, 6)) < 0.4).astype(np.uint8)
    record = ["h.spikes", "h.v", "o.v", "t.spikes", "u.spikes", "c.spikes"]
    a = net.run(60, inputs={"x": seq}, record=record)
    b = back.run(60, inputs={"x": seq}, record=record)
    for key in ("h.spikes", "t.spikes", "u.spikes", "c.spikes"):
        assert a[key].sum() > 10, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_allclose(a["h.v"], b["h.v"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a["o.v"], b["o.v"], rtol=1e-4, atol=1e-6)


def test_a_loaded_graph_exports_to_a_graph_that_loads_the_same(tmp_path):
    """graph -> network -> graph -> network: Affine biases (the loaded
    "<connection>_bias" connections), Scale, Delay, CubaLIF and Threshold
    come back."""
    dt = 1e-3
    rng = np.random.default_rng(23)
    for graph, record in ((cuba_graph(rng), ["cuba.spikes", "readout.v"]),
                          (scale_delay_graph(rng, dt), ["lif1.spikes", "lif2.spikes", "if3.spikes"])):
        net = snn.nir.load(graph, dt=dt, batch=2)
        out = net.to_nir()
        assert not any(isinstance(node, nir.Input) and name == "bias" for name, node in out.nodes.items())
        assert isinstance(out.nodes["fc"], nir.Affine)
        path = tmp_path / "again.nir"
        nir.write(path, out)
        again = snn.nir.load(path, dt=dt, batch=2)
        seq = (rng.random((50, 2, 6)) < 0.4).astype(np.uint8)
        a = net.run(50, inputs={"input": seq}, record=record)
        b = again.run(50, inputs={"input": seq}, record=record)
        for key in record:
            if key.endswith("spikes"):
                assert a[key].sum() > 5, key
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            else:
                np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_delay_before_or_after_an_affine_round_trips(where):
    """A Delay after an Affine delays its bias (0 in the first steps), one
    before it does not; export writes each back where it was."""
    dt = 1e-3
    rng = np.random.default_rng(41)
    lag = nir.Delay(delay=np.full(5 if where == "before" else 6, 2 * dt))
    affine = nir.Affine(weight=rng.normal(0.1, 0.3, (6, 5)), bias=np.full(6, 0.3))
    middle = {"lag": lag, "fc": affine} if where == "before" else {"fc": affine, "lag": lag}
    graph = small_graph(middle, post=lif_node(6, 10e-3, r=10.0), n=5)
    net = snn.nir.load(graph, dt=dt, batch=2)
    assert (net.connections["fc"].delay, net.connections["fc_bias"].delay) == (2, 0 if where == "before" else 2)
    seq = (rng.random((40, 2, 5)) < 0.4).astype(np.uint8)
    compare(net, graph, seq, dt, spikes=[("lif", "lif")], potentials=[("lif", "lif.v")])
    net.reset()
    back = net.to_nir()
    order = [a for a, b in back.edges if b in ("fc", "fc.delay", "lif")]
    assert order == (["input", "fc.delay", "fc"] if where == "before" else ["input", "fc", "fc.delay"])
    again = snn.nir.load(back, dt=dt, batch=2)
    a = net.run(40, inputs={"input": seq}, record=["lif.spikes", "lif.v"])
    b = again.run(40, inputs={"input": seq}, record=["lif.spikes", "lif.v"])
    np.testing.assert_array_equal(a["lif.spikes"], b["lif.spikes"])
    np.testing.assert_allclose(a["lif.v"], b["lif.v"], rtol=1e-5, atol=1e-7)


def test_a_cycle_through_two_populations_round_trips():
    """Where load would put the implicit step on another connection of a
    cycle than the network has it, export writes the delay as a Delay node."""
    rng = np.random.default_rng(31)
    for fed in ("a", "b"):
        net = snn.Network(dt=1e-3)
        net.population("x", 4, "spike_source")
        net.population("a", 6, "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=0.4)
        net.population("b", 6, "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=0.4)
        net.connect("x", fed, weights=rng.normal(0.3, 0.2, (4, 6)).astype(np.float32), delay=0, name="in")
        net.connect("a", "b", weights=rng.normal(0.2, 0.3, (6, 6)).astype(np.float32), delay=0, name="ab")
        net.connect("b", "a", weights=rng.normal(0.2, 0.3, (6, 6)).astype(np.float32), delay=1, name="ba")
        graph = net.to_nir()
        assert ("ba.delay" in graph.nodes) == (fed == "b")
        back = snn.nir.load(graph, dt=1e-3)
        assert (back.connections["ab"].delay, back.connections["ba"].delay) == (0, 1)
        seq = (rng.random((40, 1, 4)) < 0.5).astype(np.uint8)
        a = net.run(40, inputs={"x": seq}, record=["a.spikes", "b.spikes"])
        b = back.run(40, inputs={"x": seq}, record=["a.spikes", "b.spikes"])
        assert a["b.spikes"].sum() > 5
        np.testing.assert_array_equal(a["a.spikes"], b["a.spikes"])
        np.testing.assert_array_equal(a["b.spikes"], b["b.spikes"])


# -- refusals ----------------------------------------------------------------------------------------------------


def small_graph(middle, edges=None, post=None, n=3):
    nodes = {"input": nir.Input(input_type={"input": np.array([n])}), **middle,
             "lif": post if post is not None else lif_node(n, 1e-2)}
    chain = ["input"] + list(middle) + ["lif"]
    return nir.NIRGraph(nodes=nodes, edges=edges or list(zip(chain, chain[1:])), type_check=False)


def test_what_the_new_nodes_cannot_express_is_named():
    dt = 1e-3
    with pytest.raises(snn.UnsupportedError, match=r"'lag': a delay of 0.0015 s is not a whole number of steps"):
        snn.nir.load(small_graph({"lag": nir.Delay(delay=np.full(3, 1.5e-3))}), dt=dt)
    with pytest.raises(snn.InvalidArgumentError, match="not negative"):
        snn.nir.load(small_graph({"lag": nir.Delay(delay=np.full(3, -1e-3))}), dt=dt)
    with pytest.raises(snn.UnsupportedError, match="'b': a Linear after the Linear 'a' on one path"):
        snn.nir.load(small_graph({"a": nir.Linear(weight=np.ones((3, 3))), "b": nir.Linear(weight=np.ones((3, 3)))}),
                     dt=dt)
    cuba = nir.CubaLIF(tau_syn=np.array([2e-3, 3e-3, 2e-3]), tau_mem=np.full(3, 1e-2), r=np.ones(3), v_leak=np.zeros(3),
                       v_threshold=np.ones(3))
    with pytest.raises(snn.UnsupportedError, match="tau_syn differs between neurons"):
        snn.nir.load(small_graph({"fc": nir.Linear(weight=np.ones((3, 3)))}, post=cuba), dt=dt)
    li = nir.LI(tau=np.full(3, 1e-2), r=np.ones(3), v_leak=np.zeros(3))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}), "li": li,
                                "fc": nir.Linear(weight=np.ones((3, 3))), "lif": lif_node(3, 1e-2)},
                         edges=[("input", "li"), ("li", "fc"), ("fc", "lif")], type_check=False)
    with pytest.raises(snn.UnsupportedError, match="an LI gives its potential, not spikes"):
        snn.nir.load(graph, dt=dt)
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                                "other": nir.Input(input_type={"input": np.array([3])}),
                                "gain": nir.Scale(scale=np.ones(3)), "lif": lif_node(3, 1e-2)},
                         edges=[("input", "gain"), ("other", "gain"), ("gain", "lif")], type_check=False)
    with pytest.raises(snn.UnsupportedError, match="'gain': a Scale with 2 inputs"):
        snn.nir.load(graph, dt=dt)
    conv = nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 3, 3)), stride=1, padding=0, dilation=1, groups=1,
                      bias=np.zeros(1))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
                                "lag": nir.Delay(delay=np.arange(16.0).reshape(1, 4, 4) * dt), "conv": conv,
                                "lif": nir.LIF(tau=np.full((1, 2, 2), 1e-2), r=np.ones((1, 2, 2)),
                                               v_leak=np.zeros((1, 2, 2)), v_threshold=np.ones((1, 2, 2)),
                                               v_reset=np.zeros((1, 2, 2)))},
                         edges=[("input", "lag"), ("lag", "conv"), ("conv", "lif")], type_check=False)
    with pytest.raises(snn.UnsupportedError, match="per-element delays before a Conv2d"):
        snn.nir.load(graph, dt=dt)
    with pytest.raises(snn.InvalidArgumentError, match="cuba must be"):
        snn.nir.load(small_graph({}), cuba="implicit")


def test_what_export_cannot_express_is_named():
    def net_with(post_model, synapses, **params):
        net = snn.Network(dt=1e-3)
        net.population("x", 2, "spike_source")
        net.population("y", 2, post_model, **params)
        for k, (synapse, tau) in enumerate(synapses):
            net.connect("x", "y", weights=np.ones((2, 2), np.float32), delay=0, synapse=synapse, name=f"c{k}",
                        **({"tau": tau} if tau else {}))
        return net

    with pytest.raises(snn.UnsupportedError, match="both delta and exp input"):
        net_with("lif", [("delta", None), ("exp", 5e-3)]).to_nir()
    with pytest.raises(snn.UnsupportedError, match="exp input with several tau"):
        net_with("lif", [("exp", 5e-3), ("exp", 8e-3)]).to_nir()
    with pytest.raises(snn.UnsupportedError, match="an if with exp input has no NIR node"):
        net_with("if", [("exp", 5e-3)]).to_nir()
    with pytest.raises(snn.UnsupportedError, match="reset 'subtract' has no NIR equivalent"):
        net_with("lif", [("delta", None)], reset="subtract", v_th=0.5, v_reset=0.0).to_nir()
    graph = net_with("lif", [("exp", 5e-3), ("exp", 5e-3)]).to_nir()
    assert isinstance(graph.nodes["y"], nir.CubaLIF)
