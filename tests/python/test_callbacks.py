"""Spike callbacks: arguments, lifetime, exceptions, early stop, removal."""

import gc

import numpy as np
import pytest

import snn


def spike_net(batch=2, n=6):
    net = snn.Network(dt=1e-3, batch=batch, seed=2, backend="reference")
    src = net.population("src", n, "spike_source")
    return net, src


def pattern(steps=20, batch=2, n=6, seed=1):
    x = np.random.default_rng(seed).random((steps, batch, n)) < 0.3
    x[5, 1, 2] = True  # make sure something spikes
    return x


def test_callback_receives_step_instance_and_ids():
    net, src = spike_net()
    x = pattern()
    calls = []
    net.on_spike(src, lambda step, b, ids: calls.append((step, b, ids)))
    net.run(20, inputs={src: x})
    expected = [(k, b, np.flatnonzero(x[k, b])) for k in range(20) for b in range(2) if x[k, b].any()]
    assert [(s, b) for s, b, _ in calls] == [(s, b) for s, b, _ in expected]
    for (_, _, got), (_, _, want) in zip(calls, expected):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)


def test_callback_ids_are_copies():
    net, src = spike_net(batch=1)
    seen = []
    net.on_spike(src, lambda step, b, ids: seen.append(ids))
    net.run(3, inputs={src: np.ones((3, 1, 6), bool)})
    assert len(seen) == 3
    assert all(a.flags.owndata or a.base is not None for a in seen)
    for a in seen:
        np.testing.assert_array_equal(a, np.arange(6))
    assert not np.shares_memory(seen[0], seen[1])


def test_callback_with_step():
    net, src = spike_net(batch=1)
    calls = []
    net.on_spike(src, lambda *args: calls.append(args[:2]))
    net.step(inputs={src: np.array([0, 1, 0, 0, 0, 0], bool)})
    net.step()
    net.step(inputs={src: np.ones(6, bool)})
    assert calls == [(0, 0), (2, 0)]


def test_callback_kept_alive_while_registered():
    net, src = spike_net(batch=1)
    count = []

    def make():
        def fn(step, b, ids):
            count.append(step)
        return fn

    net.on_spike(src, make())  # no other reference to the callable
    gc.collect()
    net.run(4, inputs={src: np.ones((4, 1, 6), bool)})
    assert count == [0, 1, 2, 3]


def test_exception_in_callback_stops_run_and_propagates():
    net, src = spike_net(batch=1)

    class Boom(Exception):
        pass

    def fn(step, b, ids):
        if step == 3:
            raise Boom("at step 3")

    net.on_spike(src, fn)
    with pytest.raises(Boom, match="at step 3"):
        net.run(10, inputs={src: np.ones((10, 1, 6), bool)})
    # The step that ran the callback is complete; the run stopped after it.
    assert net.current_step == 4
    # The network stays usable, and the error does not leak into later calls.
    net.on_spike(src, None)
    net.run(2)
    assert net.current_step == 6


def test_exception_in_callback_from_step():
    net, src = spike_net(batch=1)
    net.on_spike(src, lambda step, b, ids: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        net.step(inputs={src: np.ones(6, bool)})
    assert net.current_step == 1
    net.step()  # no spikes, no callback
    assert net.current_step == 2


def test_returning_true_stops_the_run_early():
    net, src = spike_net(batch=1)
    net.on_spike(src, lambda step, b, ids: step >= 4)
    rec = net.run(10, inputs={src: np.ones((10, 1, 6), bool)}, record=["src.spikes"])
    assert net.current_step == 5
    assert rec.steps == 5
    assert rec["src.spikes"].shape == (5, 1, 6)


def test_decorator_and_removal():
    net, src = spike_net(batch=1)
    calls = []

    @net.on_spike(src)
    def fn(step, b, ids):
        calls.append(step)

    assert callable(fn)
    net.step(inputs={src: np.ones(6, bool)})
    net.remove_spike_callback(src)
    net.step(inputs={src: np.ones(6, bool)})
    net.on_spike("src", fn)
    net.step(inputs={src: np.ones(6, bool)})
    net.on_spike(src, None)
    net.step(inputs={src: np.ones(6, bool)})
    assert calls == [0, 2]
    with pytest.raises(snn.InvalidArgumentError):
        net.on_spike(src, 42)


def test_callbacks_on_several_populations_and_networks():
    net, src = spike_net(batch=1)
    other = net.population("other", 3, "spike_source")
    net2, src2 = spike_net(batch=1)
    log = []
    net.on_spike(src, lambda s, b, ids: log.append(("src", s)))
    net.on_spike(other, lambda s, b, ids: log.append(("other", s)))
    net2.on_spike(src2, lambda s, b, ids: log.append(("net2", s)))
    net.step(inputs={src: np.ones(6, bool), other: np.ones(3, bool)})
    net2.step(inputs={src2: np.ones(6, bool)})
    assert sorted(log) == [("net2", 0), ("other", 0), ("src", 0)]


def test_network_with_callback_is_collected():
    net, src = spike_net(batch=1)
    box = {"net": net}
    # A callback that refers to its own network forms a cycle.
    net.on_spike(src, lambda s, b, ids, box=box: box["net"].current_step)
    net.step(inputs={src: np.ones(6, bool)})
    del net, src, box
    gc.collect()
