"""Running: step, run, recording, inputs (per step and bound for a whole
run), determinism and reset."""

import numpy as np
import pytest

import snn


def spike_net(batch=2, n=5):
    net = snn.Network(dt=1e-3, batch=batch, seed=2, backend="reference")
    src = net.population("src", n, "spike_source")
    out = net.population("out", 3, "lif", tau_mem=10e-3, v_rest=-65e-3, v_reset=-65e-3, v_th=-50e-3)
    net.connect(src, out, np.full((n, 3), 6e-3, np.float32))
    return net, src, out


def random_spikes(steps, batch, n, p=0.3, seed=0):
    return np.random.default_rng(seed).random((steps, batch, n)) < p


def test_run_records_arrays(make_cuba):
    net = make_cuba(batch=2)
    exc = net.populations["exc"]
    rec = net.run(200, record=["exc.spikes", (exc, "v"), "inh.spikes"])
    assert isinstance(rec, snn.Recording) and rec.steps == 200
    assert set(rec) == {"exc.spikes", "exc.v", "inh.spikes"}
    spikes, v = rec["exc.spikes"], rec[(exc, "v")]
    assert spikes.shape == (200, 2, 80) and spikes.dtype == np.bool_
    assert v.shape == (200, 2, 80) and v.dtype == np.float32
    assert rec["exc", "v"] is v and ("exc", "spikes") in rec
    assert spikes.any(), "the Poisson drive should make the network spike"
    assert net.current_step == 200
    # The last recorded slice is the state after the last step.
    np.testing.assert_array_equal(v[-1], net.state(exc, "v"))
    np.testing.assert_array_equal(spikes[-1], net.spikes(exc))
    # Nothing stays bound after the run.
    net.run(10)
    assert net.current_step == 210
    assert net.run(0) == {}


def test_run_matches_stepping(make_cuba):
    a, b = make_cuba(batch=2), make_cuba(batch=2)
    rec = a.run(100, record=["exc.spikes", "exc.v"])
    spikes, vs = [], []
    for _ in range(100):
        b.step()
        spikes.append(b.spikes("exc"))
        vs.append(b.state("exc", "v", copy=True))
    np.testing.assert_array_equal(rec["exc.spikes"], np.stack(spikes))
    np.testing.assert_array_equal(rec["exc.v"], np.stack(vs))


def test_runs_are_deterministic_and_reset_replays(make_cuba):
    a, b = make_cuba(seed=5), make_cuba(seed=5)
    ra = a.run(150, record=["exc.spikes", "exc.v"])
    rb = b.run(150, record=["exc.spikes", "exc.v"])
    np.testing.assert_array_equal(ra["exc.v"], rb["exc.v"])
    a.reset()
    assert a.current_step == 0
    again = a.run(150, record=["exc.spikes", "exc.v"])
    np.testing.assert_array_equal(again["exc.spikes"], ra["exc.spikes"])
    np.testing.assert_array_equal(again["exc.v"], ra["exc.v"])
    c = make_cuba(seed=6)
    rc = c.run(150, record=["exc.v"])
    assert not np.array_equal(rc["exc.v"], ra["exc.v"])


def test_whole_run_inputs_are_read_per_step():
    net, src, out = spike_net(batch=2)
    x = random_spikes(50, 2, 5)
    rec = net.run(50, inputs={src: x}, record=["src.spikes", "out.v"])
    np.testing.assert_array_equal(rec["src.spikes"], x)
    # The same inputs given step by step give the same run.
    net2, src2, out2 = spike_net(batch=2)
    vs = []
    for k in range(50):
        net2.step(inputs={src2: x[k]})
        vs.append(net2.state(out2, "v", copy=True))
    np.testing.assert_array_equal(rec["out.v"], np.stack(vs))


@pytest.mark.parametrize("convert", [
    lambda x: x.astype(np.uint8),
    lambda x: x.astype(np.float32),
    lambda x: x.astype(np.float64),            # converted to float32
    lambda x: x.astype(np.int64),              # converted to float32
    lambda x: np.asfortranarray(x),            # not C-contiguous: copied
    lambda x: np.repeat(x, 2, axis=2)[:, :, ::2],  # a strided view: copied
])
def test_whole_run_input_dtypes_and_layouts(convert):
    x = random_spikes(30, 2, 5, seed=4)
    net, src, _ = spike_net(batch=2)
    rec = net.run(30, inputs={src: convert(x)}, record=["src.spikes"])
    np.testing.assert_array_equal(rec["src.spikes"], x)


def test_whole_run_input_shapes_are_checked():
    net, src, _ = spike_net(batch=2)
    with pytest.raises(snn.ShapeError) as info:
        net.run(10, inputs={src: np.zeros((9, 2, 5), bool)})
    assert isinstance(info.value, ValueError) and "[steps, batch, n]" in str(info.value)
    with pytest.raises(snn.ShapeError):
        net.run(10, inputs={src: np.zeros((10, 5, 2), bool)})
    with pytest.raises(snn.ShapeError):
        net.run(10, inputs={src: np.zeros((10, 5), bool)})  # batch 2: [steps, n] is ambiguous
    with pytest.raises(snn.InvalidArgumentError):
        net.run(10, inputs={src: np.zeros((10, 2, 5), complex)})
    assert net.current_step == 0


def test_per_step_input_held_for_a_run():
    net, src, _ = spike_net(batch=2)
    x = np.array([[1, 0, 0, 0, 1], [0, 1, 0, 0, 0]], bool)
    rec = net.run(4, inputs={src: x}, record=["src.spikes"])
    np.testing.assert_array_equal(rec["src.spikes"], np.broadcast_to(x, (4, 2, 5)))


def test_step_inputs_shapes():
    net, src, _ = spike_net(batch=1)
    net.step(inputs={src: np.array([1, 0, 1, 0, 0], bool)})  # [n] when batch == 1
    np.testing.assert_array_equal(net.spikes(src), [[1, 0, 1, 0, 0]])
    net.step(inputs={"src": [[0, 1, 0, 0, 0]]})  # names and nested lists work too
    np.testing.assert_array_equal(net.spikes(src), [[0, 1, 0, 0, 0]])
    net.step()  # no input: no spikes from a spike source
    assert not net.spikes(src).any()
    net.set_input(src, np.ones(5, np.float32))
    net.step()
    assert net.spikes(src).all()
    with pytest.raises(snn.ShapeError):
        net.step(inputs={src: np.zeros(4, bool)})
    net2, src2, _ = spike_net(batch=2)
    with pytest.raises(snn.ShapeError):
        net2.step(inputs={src2: np.zeros(5, bool)})  # [n] is refused when batch > 1


def test_input_to_non_source_is_refused():
    net, _, out = spike_net()
    with pytest.raises(snn.SnnError):
        net.step(inputs={out: np.zeros((2, 3), np.float32)})


def test_poisson_rate_inputs():
    net = snn.Network(dt=1e-3, batch=2, seed=1, backend="reference")
    src = net.population("src", 20, "poisson", rate=50.0)
    rates = np.zeros((100, 2, 20), np.float32)
    rates[:, 1, :] = 1000.0  # rate * dt = 1: a spike every step
    rec = net.run(100, inputs={src: rates}, record=["src.spikes"])
    assert not rec["src.spikes"][:, 0].any()
    assert rec["src.spikes"][:, 1].all()
    net.step(inputs={src: np.zeros((2, 20), np.float32)})
    assert not net.spikes(src).any()
    net.step(inputs={src: 1000.0})  # a scalar applies to every neuron and instance
    assert net.spikes(src).all()


def test_current_source_inputs():
    net = snn.Network(dt=1e-3, batch=1, seed=1, backend="reference")
    cur = net.population("cur", 2, "current_source")
    out = net.population("out", 2, "lif", tau_mem=10e-3, v_rest=-65e-3, v_reset=-65e-3, v_th=-50e-3)
    net.connect(cur, out, one_to_one=True, weight=1.0)
    rec = net.run(20, inputs={cur: np.tile(np.array([0.0, 5e-3], np.float32), (20, 1, 1))},
                  record=["out.v"])
    v = rec["out.v"][:, 0]
    np.testing.assert_allclose(v[:, 0], -65e-3, atol=1e-7)
    assert v[3, 1] > v[2, 1] > v[1, 1] > -65e-3  # delivered from step 1 on (delay 1)


def test_bind_input_is_zero_copy():
    net, src, _ = spike_net(batch=1)
    x = np.zeros((6, 1, 5), bool)
    net.bind_input(src, x)
    x[2, 0, 3] = True  # written after binding: seen because it is read in place
    spikes = []
    for _ in range(6):
        net.step()  # step reads slice 0
        spikes.append(net.spikes(src))
    assert not np.any(spikes)
    net.reset()
    rec = net.run(6, record=["src.spikes"])
    assert rec["src.spikes"][2, 0, 3] and rec["src.spikes"].sum() == 1
    net.unbind_input(src)
    rec = net.run(6, record=["src.spikes"])
    assert not rec["src.spikes"].any()


def test_bind_output_persistent():
    net, src, out = spike_net(batch=2)
    buf = np.zeros((2, 3), np.float32)
    net.bind_output(out, "v", buf)
    net.set_input(src, np.ones((2, 5), bool))
    net.step()
    net.step()
    np.testing.assert_array_equal(buf, net.state(out, "v"))
    assert buf.any()
    # run(record=...) on the same variable does not lose the persistent binding.
    net.run(3, record=["out.v"])
    net.step()
    np.testing.assert_array_equal(buf, net.state(out, "v"))
    net.unbind_output(out, "v")
    with pytest.raises(snn.InvalidArgumentError):
        net.bind_output(out, "v", np.zeros((3, 2), np.float32).T)


def test_record_errors():
    net, src, out = spike_net()
    with pytest.raises(snn.InvalidArgumentError):
        net.run(5, record=["outv"])
    with pytest.raises(snn.NotFoundError):
        net.run(5, record=["nope.v"])
    with pytest.raises(snn.SnnError):
        net.run(5, record=["out.no_such_var"])
    assert net.current_step == 0
    rec = net.run(3, record="out.spikes")
    assert rec["out.spikes"].shape == (3, 2, 3)


def test_negative_steps_refused():
    net, _, _ = spike_net()
    with pytest.raises(snn.InvalidArgumentError):
        net.run(-1)


def test_reused_input_buffer_filled_in_place():
    """The real-time pattern: one input array, refilled before every step."""
    net, src, _ = spike_net(batch=2)
    x = np.zeros((2, 5), bool)
    pattern = np.random.default_rng(3).random((8, 2, 5)) < 0.5
    for k in range(8):
        x[...] = pattern[k]
        net.step(inputs={src: x})
        np.testing.assert_array_equal(net.spikes(src), pattern[k])
    # Switching arrays, dtypes and layouts between steps works too.
    net.step(inputs={src: pattern[0].astype(np.float32)})
    np.testing.assert_array_equal(net.spikes(src), pattern[0])
    net.step(inputs={src: np.asfortranarray(pattern[1])})
    np.testing.assert_array_equal(net.spikes(src), pattern[1])
    net.step(inputs={src: x})
    np.testing.assert_array_equal(net.spikes(src), pattern[7])
