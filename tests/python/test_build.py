"""Building networks and introspecting them: populations, connections,
parameters, weights, contexts, the model registry."""

import numpy as np
import pytest

import snn


def test_version_and_registry():
    assert snn.__version__.count(".") == 2
    assert int(snn.__version__.split(".")[0]) == snn.HEADER_VERSION[0]
    assert "reference" in snn.backends()
    neurons = snn.models()
    assert {"lif", "poisson", "spike_source"} <= set(neurons)
    assert snn.models("neuron") == neurons
    assert "exp" in snn.models("synapse")
    with pytest.raises(snn.InvalidArgumentError):
        snn.models("dendrite")


def test_model_params():
    params = snn.model_params("lif")
    assert "tau_mem" in params and "v_th" in params
    tau = params["tau_mem"]
    assert isinstance(tau, snn.ParamInfo)
    assert tau.kind == "number" and isinstance(tau.default, float) and tau.unit == "s"
    strings = [p for p in params.values() if p.kind == "string"]
    for p in strings:
        assert isinstance(p.default, str) and (p.default in p.choices or not p.choices)  # no choices: free-form
    assert snn.model_params("exp") == snn.model_params("exp", kind="synapse")
    assert "v" in snn.model_state_vars("lif")
    with pytest.raises(snn.NotFoundError):
        snn.model_params("no_such_model")


def test_population_handles():
    net = snn.Network(dt=1e-4, batch=2, seed=1, backend="reference")
    src = net.population("src", 100, "poisson", rate=20.0)
    exc = net.population("exc", 3200, "lif", tau_mem=20e-3, v_rest=-49e-3, v_reset=-60e-3,
                         v_th=-50e-3, t_ref=5e-3)
    img = net.population("img", (2, 3, 4), "lif")
    assert (src.id, exc.id, img.id) == (0, 1, 2)
    assert src.name == "src" and src.model == "poisson" and src.size == 100 and src.shape == (100,)
    assert src.is_input and not exc.is_input
    assert img.size == 24 and img.shape == (2, 3, 4) and len(img) == 24
    assert repr(exc) == "Population('exc', 3200, 'lif', id=1)"
    assert "(2, 3, 4)" in repr(img)
    assert list(net.populations) == ["src", "exc", "img"]
    assert net.populations["exc"] == exc and len(net.populations) == 3
    assert "img" in net.populations and "nope" not in net.populations
    with pytest.raises(KeyError):
        net.populations["nope"]
    # Parameters given as keywords were applied.
    np.testing.assert_allclose(net.param(exc, "tau_mem"), np.full(3200, 20e-3, np.float32))
    np.testing.assert_allclose(net.param("src", "rate"), 20.0)


def test_network_properties_and_repr():
    net = snn.Network(dt=2e-4, batch=3, seed=42, backend="reference")
    assert net.dt == pytest.approx(2e-4)
    assert net.batch == 3
    assert net.seed == 42
    assert net.current_step == 0
    assert net.backend == "reference"
    a = net.population("a", 5, "spike_source")
    b = net.population("b", 5, "lif")
    net.connect(a, b, one_to_one=True, weight=1e-3)
    text = repr(net)
    assert text.startswith("Network(") and "a: spike_source[5]" in text and "b: lif[5]" in text
    assert "one_to_one" in text


def test_parameters_scalar_array_option():
    net = snn.Network(backend="reference")
    pop = net.population("p", 6, "lif", tau_mem=np.linspace(10e-3, 20e-3, 6), reset="subtract")
    np.testing.assert_allclose(net.param(pop, "tau_mem"), np.linspace(10e-3, 20e-3, 6).astype(np.float32))
    assert net.param(pop, "reset") == "subtract"
    net.set_param(pop, "v_th", -45e-3)
    np.testing.assert_allclose(net.param(pop, "v_th"), -45e-3)
    net.set_param(pop, "reset", "value")
    params = net.params(pop)
    assert set(params) == set(snn.model_params("lif"))
    assert params["reset"] == "value"
    assert params["tau_mem"].dtype == np.float32 and params["tau_mem"].shape == (6,)
    # Defaults come from the registry.
    v_rest = snn.model_params("lif")["v_rest"].default
    np.testing.assert_allclose(params["v_rest"], v_rest)
    with pytest.raises(snn.ShapeError):
        net.set_param(pop, "tau_mem", np.ones(5))
    with pytest.raises(snn.SnnError):
        net.set_param(pop, "no_such_param", 1.0)
    with pytest.raises(snn.InvalidArgumentError):
        net.set_param(pop, "tau_mem", np.array(["a"] * 6))


def test_shaped_population_param_array():
    net = snn.Network(backend="reference")
    pop = net.population("img", (2, 3), "lif", v_th=np.full((2, 3), -40e-3))
    np.testing.assert_allclose(net.param(pop, "v_th"), np.full(6, -40e-3, np.float32))


def test_connect_dense(net):
    src, out = net.populations["src"], net.populations["out"]
    conn = net.connections["w"]
    assert conn.kind == "dense" and conn.pre == src and conn.post == out
    assert conn.nnz == 12 and conn.shape == (4, 3) and conn.delay == 1 and conn.synapse == "delta"
    w = net.weights(conn)
    assert w.shape == (4, 3) and w.dtype == np.float32
    np.testing.assert_allclose(w, 4e-3)
    new = np.arange(12, dtype=np.float32).reshape(4, 3)
    net.set_weights(conn, new)
    np.testing.assert_array_equal(net.weights("w"), new)
    net.set_weights(conn, new.ravel() * 2)
    np.testing.assert_array_equal(net.weights(conn), new * 2)
    with pytest.raises(snn.ShapeError):
        net.set_weights(conn, np.zeros((3, 4)))
    pre, post, delay = net.synapses(conn)
    np.testing.assert_array_equal(pre, np.repeat(np.arange(4), 3))
    np.testing.assert_array_equal(post, np.tile(np.arange(3), 4))
    np.testing.assert_array_equal(delay, 1)
    assert "'w'" in repr(conn) and "dense" in repr(conn)


def test_connect_dense_wrong_shape_is_refused():
    net = snn.Network(backend="reference")
    a = net.population("a", 4, "spike_source")
    b = net.population("b", 3, "lif")
    with pytest.raises(snn.ShapeError) as info:
        net.connect(a, b, weights=np.zeros((3, 4)))
    assert isinstance(info.value, ValueError)
    assert "[pre, post]" in str(info.value)


def test_connect_random_is_reproducible():
    def build():
        net = snn.Network(backend="reference")
        a = net.population("a", 50, "poisson")
        b = net.population("b", 40, "lif")
        c = net.connect(a, b, p=0.2, weight=1e-3, synapse="exp", tau=5e-3, seed=3)
        return net, c

    (n1, c1), (n2, c2) = build(), build()
    assert c1.kind == "sparse" and c1.synapse == "exp"
    assert 0 < c1.nnz < 50 * 40
    for x, y in zip(n1.synapses(c1), n2.synapses(c2)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(n1.weights(c1), 1e-3)
    assert n1.param(c1, "tau") == pytest.approx(5e-3)
    assert n1.params(c1) == {"tau": pytest.approx(5e-3), "weight_dtype": "float32", "plasticity": "none"}
    dense = n1.weights(c1, dense=True)
    assert dense.shape == (50, 40) and np.count_nonzero(dense) == c1.nnz


def test_connect_scipy_sparse_with_delays():
    sp = pytest.importorskip("scipy.sparse")
    net = snn.Network(backend="reference")
    a = net.population("a", 3, "spike_source")
    b = net.population("b", 4, "lif")
    rows, cols = np.array([0, 0, 2]), np.array([1, 3, 0])
    vals = np.array([1.0, 2.0, 3.0])
    w = sp.coo_matrix((vals, (rows, cols)), shape=(3, 4))
    conn = net.connect(a, b, weights=w, delay=np.array([1, 2, 3]), name="sp")
    assert conn.kind == "sparse" and conn.nnz == 3 and conn.has_synapse_delays and conn.delay == 3
    pre, post, delay = net.synapses(conn)
    np.testing.assert_array_equal(pre, rows)
    np.testing.assert_array_equal(post, cols)
    np.testing.assert_array_equal(delay, [1, 2, 3])
    np.testing.assert_array_equal(net.weights(conn), vals.astype(np.float32))
    np.testing.assert_array_equal(net.weights(conn, dense=True), w.toarray().astype(np.float32))
    with pytest.raises(snn.ShapeError):
        net.connect(a, b, weights=sp.csr_matrix((4, 3)))
    with pytest.raises(snn.ShapeError):
        net.connect(a, b, weights=w, delay=np.array([1, 2]))


def test_connect_one_to_one_and_pairs():
    net = snn.Network(backend="reference")
    a = net.population("a", 4, "spike_source")
    b = net.population("b", 4, "lif")
    c1 = net.connect(a, b, one_to_one=True, weight=2e-3)
    assert c1.kind == "one_to_one" and c1.nnz == 4
    np.testing.assert_allclose(net.weights(c1), 2e-3)
    c2 = net.connect(a, b, one_to_one=True, weights=[1, 2, 3, 4], name="o2o")
    np.testing.assert_array_equal(net.weights(c2), [1, 2, 3, 4])
    np.testing.assert_array_equal(net.weights(c2, dense=True), np.diag([1, 2, 3, 4]).astype(np.float32))
    c3 = net.connect(a, b, pairs=([3, 0, 3], [1, 2, 0]), weights=[1.0, 2.0, 3.0], delay=[2, 1, 3])
    pre, post, delay = net.synapses(c3)
    # Stored in CSR order: by presynaptic neuron, the given order within a row.
    np.testing.assert_array_equal(pre, [0, 3, 3])
    np.testing.assert_array_equal(post, [2, 1, 0])
    np.testing.assert_array_equal(delay, [1, 2, 3])
    np.testing.assert_array_equal(net.weights(c3), [2.0, 1.0, 3.0])
    assert [c.name for c in net.connections.values()][1] == "o2o"
    with pytest.raises(snn.InvalidArgumentError):
        net.connect(a, b, pairs=([4], [0]), weight=1.0)
    with pytest.raises(snn.InvalidArgumentError):
        net.connect(a, b, p=0.1, weight=1.0, one_to_one=True)
    with pytest.raises(snn.InvalidArgumentError):
        net.connect(a, b, p=0.1)
    with pytest.raises(snn.InvalidArgumentError):
        net.connect(a, b, np.zeros((4, 4)), delay=np.ones((4, 4)))


def test_connection_names_are_unique():
    net = snn.Network(backend="reference")
    a = net.population("a", 2, "spike_source")
    b = net.population("b", 2, "lif")
    c1 = net.connect(a, b, one_to_one=True, weight=1.0)
    c2 = net.connect(a, b, one_to_one=True, weight=1.0)
    assert c1.name != c2.name
    assert list(net.connections) == [c1.name, c2.name]
    with pytest.raises(snn.SnnError):
        net.connect(a, b, one_to_one=True, weight=1.0, name=c1.name)


def test_synapse_params_from_keywords():
    net = snn.Network(backend="reference")
    a = net.population("a", 2, "spike_source")
    b = net.population("b", 2, "lif")
    c = net.connect(a, b, one_to_one=True, weight=1e-9, synapse="cond_exp", tau=7e-3, e_rev=-80e-3)
    assert net.param(c, "tau") == pytest.approx(7e-3)
    assert net.param(c, "e_rev") == pytest.approx(-80e-3)
    with pytest.raises(snn.SnnError):
        net.connect(a, b, one_to_one=True, weight=1.0, synapse="exp", no_such=1.0)


def test_foreign_handles_are_refused():
    n1 = snn.Network(backend="reference")
    n2 = snn.Network(backend="reference")
    a1 = n1.population("a", 2, "lif")
    n2.population("a", 2, "lif")
    with pytest.raises(snn.InvalidArgumentError, match="another network"):
        n2.state(a1, "v")
    with pytest.raises(snn.NotFoundError):
        n1.state(5, "v")


def test_structure_frozen_after_first_step(net):
    net.step()
    with pytest.raises(snn.StateError):
        net.population("late", 2, "lif")
    with pytest.raises(snn.StateError):
        net.connect("src", "out", np.zeros((4, 3)))
    # Parameters and weights stay writable.
    net.set_param("out", "tau_mem", 5e-3)
    net.set_weights("w", np.ones((4, 3)))


def test_contexts():
    ctx = snn.Context(backend="reference", threads=1)
    assert ctx.backend == "reference" and ctx.threads == 1
    assert "reference" in repr(ctx)
    net = snn.Network(context=ctx)
    assert net.context is ctx and net.backend == "reference"
    # Networks that name no context share a default one per (backend, threads).
    a = snn.Network(backend="reference")
    b = snn.Network(backend="reference")
    assert a.context is b.context is snn.Context.default("reference")
    auto = snn.Network()
    assert auto.backend in snn.backends()
    with pytest.raises(snn.InvalidArgumentError):
        snn.Network(context=ctx, threads=3)
    with pytest.raises(snn.SnnError):
        snn.Context(backend="no_such_backend")
    # A context outlives the networks created on it.
    del ctx
    net.population("p", 2, "lif")
    net.step()


def test_bad_arguments_are_snn_errors():
    with pytest.raises(snn.InvalidArgumentError):
        snn.Network(batch=0)
    with pytest.raises(snn.InvalidArgumentError):
        snn.Network(seed=-1)
    net = snn.Network(backend="reference")
    with pytest.raises(snn.InvalidArgumentError):
        net.population("p", "ten", "lif")
    with pytest.raises(snn.InvalidArgumentError):
        net.population("p", (), "lif")
    with pytest.raises(snn.SnnError):
        net.population("bad name!", 3, "lif")
    with pytest.raises(snn.SnnError):
        net.population("p", 3, "no_such_model")
    net.population("p", 3, "lif")
    with pytest.raises(snn.SnnError):
        net.population("p", 3, "lif")
    with pytest.raises(snn.InvalidArgumentError):
        net.state(3.5, "v")


def test_close_and_context_manager():
    with snn.Network(backend="reference") as net:
        net.population("p", 2, "lif")
        v = net.state("p", "v")
    assert "closed" in repr(net)
    # A live view keeps the memory valid after close.
    v[:] = 1.0
    assert float(v.sum()) == 2.0
    del v


def test_delay_forms():
    net = snn.Network(backend="reference")
    a = net.population("a", 2, "spike_source")
    b = net.population("b", 2, "lif")
    assert net.connect(a, b, one_to_one=True, weight=1.0, delay=3).delay == 3
    assert net.connect(a, b, one_to_one=True, weight=1.0, delay=np.int64(2)).delay == 2
    assert net.connect(a, b, one_to_one=True, weight=1.0, delay=4.0).delay == 4
    with pytest.raises(snn.InvalidArgumentError):
        net.connect(a, b, one_to_one=True, weight=1.0, delay=1.5)
    with pytest.raises(snn.InvalidArgumentError):
        net.connect(a, b, one_to_one=True, weight=1.0, delay=True)
    with pytest.raises(snn.SnnError):
        net.connect(a, b, one_to_one=True, weight=1.0, delay=-1)


def test_unknown_keywords_create_nothing():
    net = snn.Network(backend="reference")
    with pytest.raises(snn.InvalidArgumentError, match="tau_membrane"):
        net.population("p", 3, "lif", tau_membrane=1e-3)
    assert "p" not in net.populations
    p = net.population("p", 3, "lif")  # the name is still free
    q = net.population("q", 3, "spike_source")
    with pytest.raises(snn.InvalidArgumentError, match="tau"):
        net.connect(q, p, one_to_one=True, weight=1.0, tau=5e-3)  # delta synapses have no tau
    assert len(net.connections) == 0


def test_bfloat16_weights_round_trip_and_run_like_reference(tmp_path):
    """weight_dtype="bfloat16": weights become bfloat16 numbers (the upper 16
    bits of float32, rounded to nearest even), the option survives a save and
    a load, and the "cpu" backend (storing them in 16 bits) runs bit for bit
    like "reference" on a spike-driven dense layer."""
    rng = np.random.default_rng(3)
    w = rng.normal(0.0, 0.3, (40, 30)).astype(np.float32)
    # NumPy reference of the rounding: add 0x7fff plus the lowest kept bit, cut the low half.
    bits = w.view(np.uint32).astype(np.uint64)
    expected = (((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)).view(np.float32)
    x = (rng.random((50, 2, 40)) < 0.2).astype(np.uint8)
    runs = {}
    for backend in ("reference", "cpu"):
        net = snn.Network(batch=2, backend=backend)
        src = net.population("src", 40, "spike_source")
        out = net.population("out", 30, "lif", tau_mem=5e-3, v_rest=0.0, v_reset=0.0, v_th=0.5)
        c = net.connect(src, out, w, delay=0, synapse="exp", tau=2e-3, weight_dtype="bfloat16")
        assert net.param(c, "weight_dtype") == "bfloat16"
        assert net.params(c)["weight_dtype"] == "bfloat16"
        np.testing.assert_array_equal(net.weights(c).view(np.uint32), expected.view(np.uint32))
        path = tmp_path / f"{backend}.snn"
        net.save(path)
        loaded = snn.load(path, backend=backend)
        assert loaded.param("src_to_out", "weight_dtype") == "bfloat16"
        np.testing.assert_array_equal(loaded.weights("src_to_out"), expected)
        runs[backend] = loaded.run(50, inputs={"src": x}, record=["out.v", "out.spikes"])
        net.set_param(c, "weight_dtype", "float32")
        net.set_weights(c, w)
        np.testing.assert_array_equal(net.weights(c), w)
        with pytest.raises(snn.InvalidArgumentError, match="float32|bfloat16"):
            net.set_param(c, "weight_dtype", "half")
    assert runs["cpu"]["out.spikes"].sum() > 0
    for key in runs["cpu"]:
        np.testing.assert_array_equal(runs["cpu"][key], runs["reference"][key])
