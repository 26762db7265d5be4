"""State variables: live views without copies, writes, randomisation,
connection state, batch changes and reset."""

import gc

import numpy as np
import pytest

import snn


def make(batch=2):
    net = snn.Network(dt=1e-3, batch=batch, seed=3, backend="reference")
    src = net.population("src", 4, "spike_source")
    out = net.population("out", 3, "lif", tau_mem=10e-3, v_rest=-65e-3, v_reset=-65e-3, v_th=-50e-3)
    conn = net.connect(src, out, np.full((4, 3), 1e-3, np.float32), synapse="exp", tau=5e-3, name="c")
    return net, src, out, conn


def test_state_is_a_live_view_without_copy():
    net, _, out, _ = make()
    v = net.state(out, "v")
    assert v.shape == (2, 3) and v.dtype == np.float32
    assert not v.flags.owndata and v.flags.writeable
    again = net.state(out, "v")
    assert np.shares_memory(v, again)
    # Writing through the view changes the network's state...
    v[1, 2] = -0.055
    np.testing.assert_array_equal(net.state(out, "v", copy=True)[1, 2], np.float32(-0.055))
    # ...and the view follows the network as it steps (v relaxes toward v_rest).
    before = v.copy()
    net.step()
    assert v[1, 2] != before[1, 2]
    np.testing.assert_array_equal(v, net.state(out, "v", copy=True))


def test_copy_is_not_live():
    net, _, out, _ = make()
    c = net.state(out, "v", copy=True)
    assert c.flags.owndata
    net.set_state(out, "v", -0.06)
    assert c[0, 0] != np.float32(-0.06)


def test_set_state_per_neuron_and_per_instance():
    net, _, out, _ = make(batch=2)
    net.set_state(out, "v", [-0.060, -0.061, -0.062])
    np.testing.assert_array_equal(net.state(out, "v"), np.array([[-0.060, -0.061, -0.062]] * 2, np.float32))
    values = np.array([[-0.050, -0.051, -0.052], [-0.070, -0.071, -0.072]])
    net.set_state(out, "v", values)
    np.testing.assert_array_equal(net.state(out, "v"), values.astype(np.float32))
    net.set_state(out, "v", -0.066)
    np.testing.assert_array_equal(net.state(out, "v"), np.float32(-0.066))
    # Non-contiguous input is converted explicitly.
    wide = np.zeros((2, 6))
    wide[:, ::2] = values
    net.set_state(out, "v", wide[:, ::2])
    np.testing.assert_array_equal(net.state(out, "v"), values.astype(np.float32))
    with pytest.raises(snn.ShapeError):
        net.set_state(out, "v", np.zeros(4))
    with pytest.raises(snn.ShapeError):
        net.set_state(out, "v", np.zeros((3, 3)))
    with pytest.raises(snn.NotFoundError):
        net.set_state(out, "nope", 0.0)
    with pytest.raises(snn.InvalidArgumentError):
        net.set_state(out, "v", np.array(["x", "y", "z"]))


def test_set_state_before_first_step_is_the_initial_state():
    net, _, out, _ = make(batch=1)
    net.set_state(out, "v", [-0.060, -0.055, -0.058])
    net.run(5)
    assert net.current_step == 5
    net.reset()
    assert net.current_step == 0
    np.testing.assert_allclose(net.state(out, "v"), [[-0.060, -0.055, -0.058]])


def test_randomize_state():
    net, _, out, _ = make(batch=2)
    net.randomize_state(out, "v", "uniform", -0.07, -0.05, seed=5)
    v = net.state(out, "v", copy=True)
    assert np.all((v >= -0.07) & (v < -0.05))
    assert not np.all(v[0] == v[1])  # independent per instance
    net2, _, out2, _ = make(batch=2)
    net2.randomize_state(out2, "v", "uniform", -0.07, -0.05, seed=5)
    np.testing.assert_array_equal(net2.state(out2, "v"), v)
    net.randomize_state(out, "v", "normal", -0.06, 0.0, seed=1)
    np.testing.assert_allclose(net.state(out, "v"), -0.06)
    with pytest.raises(snn.InvalidArgumentError):
        net.randomize_state(out, "v", "poisson", 0, 1)


def test_connection_state():
    net, src, out, conn = make(batch=2)
    current = net.state(conn, "I")
    assert current.shape == (2, 3) and current.dtype == np.float32
    np.testing.assert_array_equal(current, 0.0)
    net.set_state(conn, "I", [1e-3, 2e-3, 3e-3])
    np.testing.assert_allclose(net.state("c", "I"), [[1e-3, 2e-3, 3e-3]] * 2)
    net.randomize_state(conn, "I", "uniform", 0.0, 1e-3, seed=2)
    i = net.state(conn, "I")
    assert np.all((i >= 0) & (i < 1e-3))
    with pytest.raises(snn.NotFoundError):
        net.state(conn, "g")


def test_spikes_state():
    net, src, out, _ = make(batch=2)
    net.step(inputs={src: np.array([[1, 0, 0, 1], [0, 0, 0, 0]], np.uint8)})
    s = net.state(src, "spikes")
    assert s.dtype == np.bool_ and s.shape == (2, 4)
    np.testing.assert_array_equal(s, [[True, False, False, True], [False] * 4])
    np.testing.assert_array_equal(net.spikes(src), s)


def test_set_batch_and_views():
    net, src, out, _ = make(batch=2)
    v = net.state(out, "v")
    with pytest.raises(snn.StateError, match="view"):
        net.set_batch(4)
    view_of_view = v[0]
    del v
    gc.collect()
    with pytest.raises(snn.StateError):
        net.set_batch(4)  # a slice keeps the view alive
    del view_of_view
    gc.collect()
    net.set_batch(4)
    assert net.batch == 4
    assert net.state(out, "v").shape == (4, 3)
    net.batch = 1
    assert net.batch == 1
    net.step(inputs={src: np.ones(4, np.float32)})  # [n] is accepted when batch == 1
    with pytest.raises(snn.InvalidArgumentError):
        net.set_batch(0)


def test_set_batch_new_instances_start_from_initial_state():
    net, src, out, _ = make(batch=1)
    net.set_state(out, "v", -0.055)
    net.run(3, inputs={src: np.ones((3, 1, 4), bool)})
    net.set_batch(3)
    np.testing.assert_allclose(net.state(out, "v")[1:], -0.055)


def test_view_keeps_network_alive():
    net, _, out, _ = make()
    v = net.state(out, "v")
    del net
    gc.collect()
    v[:] = 0.5
    assert float(v.sum()) == pytest.approx(3.0)
    del v
    gc.collect()


def test_garbage_cycles_with_views_callbacks_and_contexts():
    """Networks, their views, callbacks and explicit contexts in reference
    cycles are freed in a safe order whatever order the collector picks."""
    for i in range(20):
        ctx = snn.Context(backend="reference", threads=1)
        net, src, out, conn = make(batch=2) if i % 2 else (None, None, None, None)
        if net is None:
            net = snn.Network(dt=1e-3, batch=2, context=ctx)
            src = net.population("src", 4, "spike_source")
            out = net.population("out", 3, "lif")
            net.connect(src, out, one_to_one=False, p=0.5, weight=1e-3, seed=i)
        box = {"net": net, "views": [net.state(out, "v"), net.state(out, "v")[1:]], "ctx": ctx}
        net.on_spike(src, lambda s, b, ids, box=box: box["net"].current_step)
        box["self"] = box
        net.step(inputs={src: np.ones((2, 4), bool)})
        del net, src, out, conn, box, ctx
        if i % 3 == 0:
            gc.collect()
    gc.collect()
