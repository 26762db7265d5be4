"""The layer API (snn.Sequential and its layers), the encoders and the data
loaders: against NumPy references of their definitions."""

import gzip
import os

import numpy as np
import pytest

import snn


def numpy_lif_forward(seq, layers, beta, threshold=1.0):
    """v <- beta v + W x + b, spike if v > threshold, v -= threshold (float64)."""
    steps, batch, _ = seq.shape
    x = seq.astype(np.float64)
    for k, (w, b) in enumerate(layers):
        v = np.zeros((batch, w.shape[0]))
        out = np.zeros((steps, batch, w.shape[0]))
        for t in range(steps):
            v = beta * v + x[t] @ w.T.astype(np.float64) + b
            s = v > threshold
            out[t] = s
            v = np.where(s, v - threshold, v)
        x = out
    return x


def test_sequential_is_beta_v_plus_w_x():
    rng = np.random.default_rng(0)
    model = snn.Sequential(snn.Linear(20, 15, seed=1), snn.LIF(beta=0.8), snn.Linear(15, 6, seed=2), snn.LIF(beta=0.8))
    w1, b1, w2, b2 = model.layers[0].weight, model.layers[0].bias, model.layers[2].weight, model.layers[2].bias
    seq = (rng.random((30, 4, 20)) < 0.3).astype(np.uint8)
    # The weights read back are the ones given ([out, in], PyTorch's layout), up to float32 rounding of W / beta * beta.
    np.testing.assert_allclose(model.layers[0].weight, w1, rtol=1e-6)
    np.testing.assert_array_equal(model.network.weights("fc0").shape, (20, 15))
    # Scale the weights up so the layers spike, then compare with NumPy.
    model.layers[0].weight = w1 * 6
    model.layers[2].weight = w2 * 6
    model.layers[0].bias = b1 + 0.3
    model.layers[2].bias = b2 + 0.3
    got = model.forward(seq)
    want = numpy_lif_forward(seq, [(w1 * 6, b1 + 0.3), (w2 * 6, b2 + 0.3)], 0.8)
    assert want.sum() > 50
    # float32 against float64: a spike may move where v lands within rounding of the threshold.
    assert np.mean(got != want) < 0.01


def test_fit_learns_and_the_network_is_the_model():
    rng = np.random.default_rng(3)
    protos = rng.random((3, 40))
    y = rng.integers(0, 3, 600)
    x = np.clip(protos[y] + rng.normal(0, 0.15, (600, 40)), 0, 1).astype(np.float32)
    model = snn.Sequential(snn.Linear(40, 32, seed=0), snn.LIF(beta=0.9), snn.Linear(32, 3, seed=1), snn.LIF(beta=0.9))
    enc = snn.encode.rate(steps=20)
    history = model.fit(x[:500], y[:500], epochs=3, batch_size=50, optimizer=snn.Adam(lr=5e-3), encoder=enc,
                        progress=False)
    assert history[-1]["loss"] < history[0]["loss"]
    result = model.evaluate(x[500:], y[500:], encoder=enc)
    assert result["accuracy"] > 0.9, result
    assert (model.predict(x[500:], encoder=enc) == y[500:]).mean() > 0.9
    # The compiled network holds the trained weights: saved and run on its own, it gives the model's spikes.
    seq = enc(x[500:520], np.random.default_rng(5))
    out = model.forward(seq)
    net = snn.Network.from_bytes(model.network.to_bytes())
    net.set_batch(20)
    rec = net.run(20, inputs={"input": seq}, record=["layer1.spikes"])
    np.testing.assert_array_equal(rec["layer1.spikes"].astype(np.float32), out)


def test_readout_and_current_input():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    x = (np.where(y[:, None] == 1, 0.8, 0.2) + rng.normal(0, 0.1, (300, 10))).astype(np.float32)
    model = snn.Sequential(snn.Linear(10, 16, seed=0), snn.LIF(tau=10e-3), snn.Linear(16, 2, seed=1), snn.LI(beta=0.9))
    model.fit(x, y, epochs=4, batch_size=30, optimizer=snn.Adam(lr=1e-2), encoder=snn.encode.current(steps=15),
              progress=False)
    assert model.evaluate(x, y, encoder=snn.encode.current(steps=15))["accuracy"] > 0.9
    assert model.network.populations["input"].model == "current_source"


def test_layer_errors():
    with pytest.raises(snn.InvalidArgumentError, match="a neuron layer follows a Linear"):
        snn.Sequential(snn.LIF(beta=0.9))
    with pytest.raises(snn.ShapeError, match="takes 5 inputs"):
        snn.Sequential(snn.Linear(3, 4), snn.LIF(beta=0.9), snn.Linear(5, 2), snn.LIF(beta=0.9))
    with pytest.raises(snn.InvalidArgumentError, match="beta or tau"):
        snn.LIF()
    with pytest.raises(snn.InvalidArgumentError, match="beta"):
        snn.LIF(beta=1.5)
    with pytest.raises(snn.InvalidArgumentError, match="readout"):
        snn.Sequential(snn.Linear(3, 4), snn.LI(beta=0.9), snn.Linear(4, 2), snn.LIF(beta=0.9))
    with pytest.raises(snn.ShapeError):
        snn.Linear(3, 4, weight=np.zeros((3, 4)))
    model = snn.Sequential(snn.Linear(3, 2), snn.LIF(beta=0.9))
    with pytest.raises(snn.ShapeError, match="without an encoder"):
        model.forward(np.zeros((2, 3)))
    with pytest.raises(snn.ShapeError, match="labels"):
        model.fit(np.zeros((4, 3)), [0, 1], encoder=snn.encode.rate(steps=3), progress=False)


# ---------------------------------------------------------------------------
# Encoders

def test_rate_encoder_statistics():
    p = np.linspace(0, 1, 11, dtype=np.float32)[None].repeat(200, axis=0)
    spikes = snn.encode.rate(steps=400, seed=1)(p)
    assert spikes.shape == (400, 200, 11) and spikes.dtype == np.uint8
    rates = spikes.mean(axis=(0, 1))
    np.testing.assert_allclose(rates, p[0], atol=0.01)
    images = (p * 255).astype(np.uint8)  # bytes are read as value / 255
    np.testing.assert_allclose(snn.encode.rate(steps=400, seed=1)(images).mean(axis=(0, 1)), p[0], atol=0.01)


def test_latency_encoder_spike_times():
    x = np.array([[1.0, 0.5, 0.0, 0.005, 0.75]], dtype=np.float32)
    s = snn.encode.latency(steps=11)(x)
    assert s.shape == (11, 1, 5)
    assert s.sum(axis=0).tolist() == [[1, 1, 0, 0, 1]]
    assert [int(np.argmax(s[:, 0, j])) for j in (0, 1, 4)] == [0, 5, 2]  # round((1 - p) * 10)
    rc = snn.encode.latency(steps=50, tau=5.0, linear=False)(x)
    t = int(np.argmax(rc[:, 0, 1]))
    assert t == round(5.0 * np.log(0.5 / (0.5 - 0.01)))


def test_current_encoder():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    c = snn.encode.current(steps=4, gain=2.0)(x)
    assert c.shape == (4, 2, 3) and c.dtype == np.float32
    np.testing.assert_array_equal(c[3], x * 2)


# ---------------------------------------------------------------------------
# Data

def write_idx(path, array, compress):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


def test_read_idx_and_a_folder_of_fashion_mnist(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7).astype(np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, False)
    ints = np.arange(12, dtype=">i4").reshape(3, 4)
    write_idx(tmp_path / "ints.idx", ints, False)
    np.testing.assert_array_equal(snn.datasets.read_idx(str(tmp_path / "ints.idx")), ints)
    x, y = snn.datasets.fashion_mnist("test", folder=str(tmp_path))
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(snn.NotFoundError):
        snn.datasets.fashion_mnist("train", folder=str(tmp_path))
    (tmp_path / "bad").write_bytes(b"\x01\x02")
    with pytest.raises(snn.InvalidArgumentError, match="not an IDX"):
        snn.datasets.read_idx(str(tmp_path / "bad"))


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist is not installed (CI installs it)")
def test_fashion_mnist_from_the_debian_package():
    x, y = snn.datasets.fashion_mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert sorted(np.bincount(y).tolist()) == [1000] * 10
