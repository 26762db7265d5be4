"""The .snn file: save/load round trips give identical runs; the file is a
safetensors container other tools can open."""

import json
import pickle

import numpy as np
import pytest

import snn

RECORD = ["exc.spikes", "exc.v", "inh.v"]


def assert_same_run(a, b, steps=150):
    ra = a.run(steps, record=RECORD)
    rb = b.run(steps, record=RECORD)
    assert ra["exc.spikes"].any()
    for key in RECORD:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)


def assert_same_structure(a, b):
    assert list(a.populations) == list(b.populations)
    assert list(a.connections) == list(b.connections)
    assert a.dt == b.dt and a.seed == b.seed
    for pa, pb in zip(a.populations.values(), b.populations.values()):
        assert (pa.model, pa.shape) == (pb.model, pb.shape)
        for name, value in a.params(pa).items():
            if isinstance(value, str):
                assert b.param(pb, name) == value
            else:
                np.testing.assert_array_equal(b.param(pb, name), value)
    for ca, cb in zip(a.connections.values(), b.connections.values()):
        assert (ca.pre.name, ca.post.name, ca.kind, ca.synapse, ca.nnz, ca.delay) == \
            (cb.pre.name, cb.post.name, cb.kind, cb.synapse, cb.nnz, cb.delay)
        np.testing.assert_array_equal(a.weights(ca), b.weights(cb))
        for x, y in zip(a.synapses(ca), b.synapses(cb)):
            np.testing.assert_array_equal(x, y)
        assert a.params(ca) == b.params(cb)


def test_save_load_round_trip(tmp_path, make_cuba):
    net = make_cuba(batch=2)
    path = tmp_path / "net.snn"
    net.save(path)
    loaded = snn.load(path)
    assert loaded.batch == 2 and loaded.current_step == 0
    assert_same_structure(net, loaded)
    assert_same_run(net, loaded)
    # Reset replays the same run in both.
    net.reset()
    loaded.reset()
    assert_same_run(net, loaded)


def test_save_after_run_stores_the_initial_state(tmp_path, make_cuba):
    net = make_cuba(batch=2)
    first = net.run(100, record=RECORD)
    net.save(str(tmp_path / "after.snn"))
    loaded = snn.load(str(tmp_path / "after.snn"))
    again = loaded.run(100, record=RECORD)
    for key in RECORD:
        np.testing.assert_array_equal(first[key], again[key], err_msg=key)


def test_bytes_round_trip(make_cuba):
    net = make_cuba(batch=2)
    data = net.to_bytes()
    assert isinstance(data, bytes) and len(data) > 8
    assert_same_run(net, snn.load(data))
    net.reset()
    assert_same_run(net, snn.Network.from_bytes(bytearray(data)))
    net.reset()
    assert_same_run(net, snn.load(memoryview(data)))


def test_load_with_another_batch_and_context(make_cuba):
    net = make_cuba(batch=2)
    ctx = snn.Context(backend="reference", threads=1)
    loaded = snn.load(net.to_bytes(), batch=3, context=ctx)
    assert loaded.batch == 3 and loaded.context is ctx
    loaded.run(10)


def test_current_state_continues_the_run(tmp_path, make_cuba):
    net = make_cuba(batch=2)
    net.run(60)
    path = tmp_path / "now.snn"
    net.save(path, current_state=True)
    loaded = snn.load(path)
    assert loaded.current_step == 60
    np.testing.assert_array_equal(loaded.state("exc", "v"), net.state("exc", "v"))
    assert_same_run(net, loaded, steps=100)
    # Reset still goes back to the initial state of step 0.
    net.reset()
    loaded.reset()
    assert loaded.current_step == 0
    assert_same_run(net, loaded, steps=50)


def test_pickle_keeps_the_current_state(make_cuba):
    net = make_cuba(batch=1)
    net.run(30)
    copy = pickle.loads(pickle.dumps(net))
    assert copy.current_step == 30
    assert_same_run(net, copy, steps=50)


def test_file_is_safetensors(tmp_path, make_cuba):
    safetensors = pytest.importorskip("safetensors")
    from safetensors.numpy import load_file

    net = make_cuba(batch=2)
    path = tmp_path / "net.snn"
    net.save(path)
    tensors = load_file(str(path))
    with safetensors.safe_open(str(path), framework="np") as f:
        meta = f.metadata()
    major, minor = meta["snn.format"].split(".")
    assert int(major) >= 0 and int(minor) >= 0
    assert int(meta["snn.batch"]) == 2
    graph = json.loads(meta["snn.graph"])
    assert isinstance(graph, dict)
    names = set(tensors)
    assert all(n.startswith(("pop/", "conn/")) for n in names), names
    for pop in net.populations.values():
        assert any(n.startswith(f"pop/{pop.name}/") for n in names) or pop.is_input
    # Every connection's weights are readable as they are.
    for conn in net.connections.values():
        mine = [t for n, t in tensors.items() if n.startswith(f"conn/{conn.name}/")]
        w = net.weights(conn).ravel()
        assert any(t.dtype == np.float32 and t.size == w.size and np.array_equal(t.ravel(), w) for t in mine), \
            f"no tensor under conn/{conn.name}/ holds its weights"


def test_load_errors(tmp_path, make_cuba):
    with pytest.raises(snn.FormatError) as info:
        snn.load(b"definitely not a safetensors file")
    assert isinstance(info.value, ValueError) and info.value.status == -6 and str(info.value)
    data = make_cuba().to_bytes()
    with pytest.raises(snn.FormatError):
        snn.load(data[: len(data) // 2])
    bad = tmp_path / "truncated.snn"
    bad.write_bytes(data[:40])
    with pytest.raises(snn.FormatError):
        snn.load(bad)
    with pytest.raises(snn.SnnIOError) as info:
        snn.load(tmp_path / "missing.snn")
    assert isinstance(info.value, OSError)
    with pytest.raises(OSError):
        make_cuba().save(tmp_path / "no_such_dir" / "x.snn")
    with pytest.raises(snn.InvalidArgumentError):
        snn.load(12345)
