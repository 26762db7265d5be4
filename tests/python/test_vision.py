"""snn.vision against NumPy statements of docs/vision.md: filter kernels,
filtering (the same float32 bits as a NumPy loop in the documented order, and
SciPy's correlation), ZCA (identity covariance, NumPy's eigh), latency coding
and its decoders, the readers on files written here, and every refusal."""

import gzip
import struct
import zlib

import numpy as np
import pytest
import scipy.signal

import snn
import snn.vision as V
from snn.errors import FormatError, InvalidArgumentError, ShapeError, StateError, UnsupportedError


# --------------------------------------------------------------------------
# NumPy statements of the equations


def grid(size):
    r = (size - 1) // 2
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    return x, y


def np_dog(size, s1, s2, zero_mean=True):
    x, y = grid(size)
    g = lambda s: np.exp(-(x * x + y * y) / (2 * s * s)) / (2 * np.pi * s * s)
    k = g(s1) - g(s2)
    return (k - k.mean() if zero_mean else k)[None]


def np_log(size, s, zero_mean=True):
    x, y = grid(size)
    r2 = x * x + y * y
    k = (1 - r2 / (2 * s * s)) * np.exp(-r2 / (2 * s * s)) / (np.pi * s ** 4)
    return (k - k.mean() if zero_mean else k)[None]


def np_gabor(size, lam, s, gamma, psi, thetas, zero_mean=True):
    x, y = grid(size)
    out = []
    for t in thetas:
        xr = x * np.cos(t) + y * np.sin(t)
        yr = -x * np.sin(t) + y * np.cos(t)
        k = np.exp(-(xr ** 2 + gamma ** 2 * yr ** 2) / (2 * s * s)) * np.cos(2 * np.pi * xr / lam + psi)
        out.append(k - k.mean() if zero_mean else k)
    return np.stack(out)


def close_kernels(got, want):
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=1e-7 * np.abs(want).max())


def np_filter_f32(images, kernels, padding):
    """The documented order: float32, from 0, over (c, i, j); padding taps skipped
    (adding 0 * k changes no sum, so a zero-padded image gives the same)."""
    b, c, h, w = images.shape
    f, _, kh, kw = kernels.shape
    if padding == "same":
        py, px = (kh - 1) // 2, (kw - 1) // 2
        images = np.pad(images, ((0, 0), (0, 0), (py, py), (px, px)))
        oh, ow = h, w
    else:
        oh, ow = h - kh + 1, w - kw + 1
    out = np.zeros((b, f, oh, ow), dtype=np.float32)
    for ci in range(c):
        for i in range(kh):
            for j in range(kw):
                patch = images[:, ci, i:i + oh, j:j + ow]  # [b, oh, ow]
                out += kernels[None, :, ci, i, j, None, None] * patch[:, None]
    return out


def np_rank_steps(values, steps, threshold):
    b, n = values.shape
    out = np.full((b, n), -1, dtype=np.int32)
    for k in range(b):
        v = values[k].astype(np.float64)
        fires = v > threshold
        K = int(fires.sum())
        for i in np.flatnonzero(fires):
            r = int(np.sum(v[fires] > v[i]))
            out[k, i] = r * steps // K
    return out


# --------------------------------------------------------------------------
# Kernels


@pytest.mark.parametrize("size,s1,s2", [(7, 1.0, 2.0), (5, 0.5, 1.5), (11, 1.3, 4.0), (1, 1.0, 2.0)])
@pytest.mark.parametrize("zero_mean", [True, False])
def test_dog_kernels(size, s1, s2, zero_mean):
    close_kernels(V.dog_kernels(size, s1, s2, zero_mean=zero_mean), np_dog(size, s1, s2, zero_mean))


def test_dog_defaults_are_kheradpisheh():
    k = V.dog_kernels()
    close_kernels(k, np_dog(7, 1.0, 2.0))
    assert abs(float(k.sum(dtype=np.float64))) < 1e-6
    assert k[0, 3, 3] > 0 and k[0, 0, 0] < 0  # on-centre
    np.testing.assert_array_equal(V.kernels("dog"), k)


@pytest.mark.parametrize("size,s", [(7, 1.0), (9, 1.4), (3, 0.7)])
@pytest.mark.parametrize("zero_mean", [True, False])
def test_log_kernels(size, s, zero_mean):
    k = V.log_kernels(size, s, zero_mean=zero_mean)
    close_kernels(k, np_log(size, s, zero_mean))
    assert k[0, size // 2, size // 2] > 0


@pytest.mark.parametrize("zero_mean", [True, False])
def test_gabor_kernels(zero_mean):
    k = V.gabor_kernels(9, wavelength=5.0, sigma=2.0, gamma=0.3, psi=0.4, thetas=4, zero_mean=zero_mean)
    close_kernels(k, np_gabor(9, 5.0, 2.0, 0.3, 0.4, np.arange(4) * np.pi / 4, zero_mean))
    angles = [0.1, 1.0, -2.0]
    k = V.gabor_kernels(7, thetas=angles, zero_mean=zero_mean)
    close_kernels(k, np_gabor(7, 4.0, 1.0, 0.5, 0.0, angles, zero_mean))
    assert V.gabor_kernels(5, thetas=6).shape == (6, 5, 5)


def test_kernel_refusals():
    with pytest.raises(InvalidArgumentError, match="options.size"):
        V.dog_kernels(6)
    with pytest.raises(InvalidArgumentError, match="options.size"):
        V.dog_kernels(0)
    with pytest.raises(InvalidArgumentError, match="sigma1"):
        V.dog_kernels(7, 2.0, 1.0)
    with pytest.raises(InvalidArgumentError, match="options.sigma1"):
        V.dog_kernels(7, 0.0, 1.0)
    with pytest.raises(InvalidArgumentError, match="options.sigma"):
        V.log_kernels(7, -1.0)
    with pytest.raises(InvalidArgumentError, match="options.sigma"):
        V.log_kernels(7, float("nan"))
    with pytest.raises(InvalidArgumentError, match="options.wavelength"):
        V.gabor_kernels(7, wavelength=0.0)
    with pytest.raises(InvalidArgumentError, match="options.gamma"):
        V.gabor_kernels(7, gamma=0.0)
    with pytest.raises(InvalidArgumentError, match="options.orientations"):
        V.gabor_kernels(7, thetas=0)
    with pytest.raises(InvalidArgumentError, match="thetas"):
        V.gabor_kernels(7, thetas=[0.0, float("inf")])
    with pytest.raises(InvalidArgumentError, match="options.filter"):
        V.kernels("sobel")
    with pytest.raises(InvalidArgumentError, match="size"):
        V.kernels("dog", size=7.5)


# --------------------------------------------------------------------------
# Filtering


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("channels", [1, 3])
def test_filter_matches_numpy_bits_and_scipy(padding, channels):
    rng = np.random.default_rng(channels)
    images = rng.random((3, channels, 12, 10), dtype=np.float32)
    k = rng.standard_normal((4, channels, 5, 3)).astype(np.float32)
    out = V.filter_images(images, k, padding=padding)
    want = np_filter_f32(images, k, padding)
    assert out.shape == want.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, want)  # same float32 operations, same order
    for b in range(3):
        for f in range(4):
            ref = sum(scipy.signal.correlate(images[b, c].astype(np.float64), k[f, c].astype(np.float64),
                                             mode=padding) for c in range(channels))
            np.testing.assert_allclose(out[b, f], ref, rtol=1e-5, atol=1e-5)


def test_filter_2d_kernels_repeat_over_channels_and_uint8():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (2, 3, 9, 9), dtype=np.uint8)
    k = V.gabor_kernels(5, thetas=2)
    out = V.filter_images(images, k, padding="same")
    x = images.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(out, np_filter_f32(x, np.repeat(k[:, None], 3, axis=1), "same"))
    gray = rng.random((2, 9, 9), dtype=np.float32)
    np.testing.assert_array_equal(V.filter_images(gray, k), V.filter_images(gray[:, None], k[:, None]))


def test_filter_on_off_split():
    rng = np.random.default_rng(4)
    images = rng.random((2, 16, 16), dtype=np.float32)
    k = np.concatenate([V.dog_kernels(), V.log_kernels()])
    plain = V.filter_images(images, k, padding="same")
    split = V.filter_images(images, k, padding="same", on_off=True)
    assert split.shape == (2, 4, 16, 16)
    np.testing.assert_array_equal(split[:, 0::2], np.maximum(plain, 0))
    np.testing.assert_array_equal(split[:, 1::2], np.maximum(-plain, 0))
    assert (split[:, 0::2] > 0).any() and (split[:, 1::2] > 0).any()
    # A uniform image gives nothing with zero-mean kernels (valid region).
    flat = V.filter_images(np.full((1, 10, 10), 0.7, np.float32), V.dog_kernels(), on_off=True)
    assert np.abs(flat).max() < 1e-6


def test_filter_refusals():
    img = np.zeros((1, 5, 5), np.float32)
    with pytest.raises(ShapeError, match="kernel"):
        V.filter_images(img, np.zeros((1, 7, 7), np.float32))
    with pytest.raises(InvalidArgumentError, match="odd"):
        V.filter_images(img, np.zeros((1, 2, 2), np.float32), padding="same")
    with pytest.raises(InvalidArgumentError, match="padding"):
        V.filter_images(img, np.zeros((1, 3, 3), np.float32), padding="full")
    with pytest.raises(ShapeError, match="images"):
        V.filter_images(np.zeros((5, 5), np.float32), np.zeros((1, 3, 3), np.float32))
    with pytest.raises(ShapeError, match="kernels"):
        V.filter_images(img, np.zeros((3, 3), np.float32))
    with pytest.raises(ShapeError, match="channels"):
        V.filter_images(np.zeros((1, 2, 5, 5), np.float32), np.zeros((1, 3, 3, 3), np.float32))
    with pytest.raises(InvalidArgumentError, match="geometry.batch"):
        V.filter_images(np.zeros((0, 5, 5), np.float32), np.zeros((1, 3, 3), np.float32))
    with pytest.raises(InvalidArgumentError, match="real numbers"):
        V.filter_images(np.array([["a"]]), np.zeros((1, 1, 1), np.float32))


# --------------------------------------------------------------------------
# ZCA


def np_zca(x, eps):
    x = x.astype(np.float64)
    m = x.mean(axis=0)
    c = (x - m).T @ (x - m) / x.shape[0]
    lam, u = np.linalg.eigh(c)
    return m, u @ np.diag(1.0 / np.sqrt(np.maximum(lam, 0) + eps)) @ u.T


@pytest.mark.parametrize("d", [1, 2, 7, 24])
def test_zca_whitens_and_matches_eigh(d):
    rng = np.random.default_rng(d)
    mix = rng.standard_normal((d, d))
    x = (rng.standard_normal((400, d)) @ mix + rng.standard_normal(d) * 3).astype(np.float32)
    mean, w = V.zca_fit(x, epsilon=0.0)
    assert mean.dtype == w.dtype == np.float32 and w.shape == (d, d)
    m_ref, w_ref = np_zca(x, 0.0)
    np.testing.assert_allclose(mean, m_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w, w_ref, rtol=1e-4, atol=1e-4 * np.abs(w_ref).max())
    np.testing.assert_array_equal(w, w.T)
    y = V.zca_apply(x, mean, w).astype(np.float64)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(np.cov(y, rowvar=False, bias=True).reshape(d, d), np.eye(d), atol=2e-4)
    # With epsilon, against the same NumPy statement.
    mean, w = V.zca_fit(x, epsilon=0.5)
    np.testing.assert_allclose(w, np_zca(x, 0.5)[1], rtol=1e-4, atol=1e-5)


def test_zca_on_image_patches_and_class():
    rng = np.random.default_rng(9)
    images = rng.random((50, 4, 4), dtype=np.float32)
    images[:, :, 1:] += images[:, :, :-1]  # correlated neighbours
    z = V.ZCA(epsilon=1e-3)
    with pytest.raises(StateError, match="fit"):
        z.transform(images)
    y = z.fit_transform(images)
    assert y.shape == images.shape
    m_ref, w_ref = np_zca(images.reshape(50, 16), 1e-3)
    y_ref = (images.reshape(50, 16) - m_ref) @ w_ref.T
    np.testing.assert_allclose(y.reshape(50, 16), y_ref, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(V.zca_apply(images, z.mean, z.whitening), y)


def test_zca_refusals():
    x = np.ones((5, 3), np.float32)
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        V.zca_fit(x, epsilon=0.0)  # a constant: singular covariance
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        V.zca_fit(np.random.default_rng(0).random((5, 3)), epsilon=-1.0)
    with pytest.raises(InvalidArgumentError, match="rows"):
        V.zca_fit(x[:1], epsilon=0.1)
    with pytest.raises(InvalidArgumentError, match="columns"):
        V.zca_fit(np.zeros((4, 0), np.float32))
    with pytest.raises(InvalidArgumentError, match="data"):
        V.zca_fit(np.array([[1.0, np.nan], [2.0, 3.0]]), epsilon=0.1)
    with pytest.raises(ShapeError, match="data"):
        V.zca_fit(np.zeros(4))
    mean, w = V.zca_fit(np.random.default_rng(0).random((6, 3)), epsilon=0.1)
    with pytest.raises(ShapeError, match="mean"):
        V.zca_apply(np.zeros((2, 3)), mean[:2], w)
    with pytest.raises(ShapeError, match="whitening"):
        V.zca_apply(np.zeros((2, 3)), mean, w[:2])


# --------------------------------------------------------------------------
# Latency coding and decoders


@pytest.mark.parametrize("steps", [1, 4, 15, 100])
@pytest.mark.parametrize("threshold", [0.0, 0.3])
def test_rank_order_matches_numpy(steps, threshold):
    rng = np.random.default_rng(steps)
    values = rng.integers(-2, 8, (3, 40)).astype(np.float32) / 7  # many ties, some below the threshold
    first, spikes = V.latency_encode(values, steps, threshold=threshold, output="both")
    want = np_rank_steps(values, steps, threshold)
    np.testing.assert_array_equal(first, want)
    assert spikes.shape == (steps, 3, 40) and spikes.dtype == np.uint8
    t, b, i = np.nonzero(spikes)
    np.testing.assert_array_equal(t, want[b, i])
    assert spikes.sum() == (want >= 0).sum()
    np.testing.assert_array_equal(V.first_spike_steps(spikes), first)
    np.testing.assert_array_equal(V.spike_counts(spikes), (first >= 0).astype(np.int32))
    np.testing.assert_array_equal(V.latency_encode(values, steps, threshold=threshold, output="steps"), first)


def test_rank_order_spreads_and_orders():
    values = np.linspace(1, 0.01, 100, dtype=np.float32)[None]
    first = V.latency_encode(values, 10, output="steps")[0]
    np.testing.assert_array_equal(first, np.arange(100) // 10)  # 10 per step, largest first
    np.testing.assert_array_equal(V.latency_encode(values * 1000, 10, output="steps")[0], first)  # scale-free
    nan = np.array([[np.nan, 1.0, 0.0, -1.0]], np.float32)
    np.testing.assert_array_equal(V.latency_encode(nan, 4, output="steps"), [[-1, 0, -1, -1]])


def test_linear_rule_matches_encode_latency():
    rng = np.random.default_rng(5)
    x = rng.random((4, 30), dtype=np.float32)
    x[0, :5] = 0.0
    ours = V.latency_encode(x, 20, threshold=0.01, rule="linear")
    np.testing.assert_array_equal(ours, snn.encode.latency(20, threshold=0.01)(x))


def test_encode_rank_order_and_images():
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, (2, 5, 5), dtype=np.uint8)
    enc = snn.encode.rank_order(8)
    spikes = enc(images)
    assert spikes.shape == (8, 2, 25) and enc.kind == "spikes"
    np.testing.assert_array_equal(V.first_spike_steps(spikes), np_rank_steps(images.reshape(2, 25) / 255.0, 8, 0.0))


def test_latency_spikes_drive_a_spike_source():
    rng = np.random.default_rng(7)
    values = rng.random((2, 12), dtype=np.float32)
    spikes = V.latency_encode(values, 6)
    net = snn.Network(batch=2)
    net.population("src", 12, "spike_source")
    rec = net.run(6, inputs={"src": spikes}, record=["src.spikes"])
    np.testing.assert_array_equal(np.asarray(rec["src.spikes"]).astype(np.uint8), spikes)
    np.testing.assert_array_equal(V.first_spike_steps(rec["src.spikes"]), V.latency_encode(values, 6, output="steps"))


def test_decoders_on_random_spikes():
    rng = np.random.default_rng(8)
    s = rng.random((9, 3, 2, 5)) < 0.2  # [steps, batch, 2, 5] bool
    flat = s.reshape(9, 3, 10)
    counts = V.spike_counts(s)
    np.testing.assert_array_equal(counts, flat.sum(axis=0))
    first = V.first_spike_steps(s.astype(np.float32))
    want = np.where(flat.any(axis=0), flat.argmax(axis=0), -1)
    np.testing.assert_array_equal(first, want)


def test_latency_refusals():
    v = np.ones((2, 3), np.float32)
    with pytest.raises(InvalidArgumentError, match="steps"):
        V.latency_encode(v, 0)
    with pytest.raises(InvalidArgumentError, match="steps"):
        V.latency_encode(v, 2.5)
    with pytest.raises(InvalidArgumentError, match="rule"):
        V.latency_encode(v, 4, rule="log")
    with pytest.raises(InvalidArgumentError, match="output"):
        V.latency_encode(v, 4, output="times")
    with pytest.raises(InvalidArgumentError, match="threshold"):
        V.latency_encode(v, 4, threshold=float("nan"))
    with pytest.raises(InvalidArgumentError, match="neurons"):
        V.latency_encode(np.zeros((2, 0), np.float32), 4)
    with pytest.raises(ShapeError, match="spikes"):
        V.spike_counts(np.zeros(5, np.uint8))
    with pytest.raises(InvalidArgumentError, match="steps"):
        V.first_spike_steps(np.zeros((0, 2, 3), np.uint8))


def test_poisson_rates_diehl_cook():
    img = np.array([[[0, 128], [255, 4]]], dtype=np.uint8)
    rates = V.poisson_rates(img)
    assert rates.shape == (1, 4) and rates.dtype == np.float32
    np.testing.assert_allclose(rates, img.reshape(1, 4) / 4.0, rtol=1e-6)
    np.testing.assert_allclose(V.poisson_rates(np.array([[2.0, -1.0, 0.5]]), max_rate=100.0), [[100.0, 0.0, 50.0]])


# --------------------------------------------------------------------------
# Readers


def test_read_idx(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2, 3, 4) + images.tobytes()
    (tmp_path / "a.idx").write_bytes(raw)
    with gzip.open(tmp_path / "a.idx.gz", "wb") as f:
        f.write(raw)
    np.testing.assert_array_equal(V.read_idx(str(tmp_path / "a.idx")), images)
    np.testing.assert_array_equal(V.read_idx(str(tmp_path / "a.idx.gz")), images)
    assert V.read_idx is snn.datasets.read_idx


def test_read_csv(tmp_path):
    p = tmp_path / "mnist.csv"
    p.write_text("label,p0,p1,p2,p3\n7,0,255,3,4\n2,1,2,3,200\n")
    images, labels = V.read_csv(str(p), shape=(2, 2), label_column=0)
    assert images.dtype == np.uint8 and images.shape == (2, 2, 2)
    np.testing.assert_array_equal(labels, [7, 2])
    np.testing.assert_array_equal(images[0], [[0, 255], [3, 4]])
    q = tmp_path / "floats.csv"
    q.write_text("0.5;0.25\n1.5;-1\n")
    images, labels = V.read_csv(str(q), delimiter=";")
    assert labels is None and images.dtype == np.float32
    np.testing.assert_array_equal(images, [[0.5, 0.25], [1.5, -1]])
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5\n")
    with pytest.raises(FormatError, match="row 2"):
        V.read_csv(str(bad))
    bad.write_text("1,2\n3,x\n")
    with pytest.raises(FormatError, match="line 2"):
        V.read_csv(str(bad))
    with pytest.raises(ShapeError, match="shape"):
        V.read_csv(str(p), shape=(3, 3), label_column=0)


def test_read_pnm(tmp_path):
    rng = np.random.default_rng(10)
    gray = rng.integers(0, 256, (3, 5), dtype=np.uint8)
    rgb = rng.integers(0, 256, (4, 2, 3), dtype=np.uint8)
    (tmp_path / "g.pgm").write_bytes(b"P5\n# a comment\n5 3\n255\n" + gray.tobytes())
    (tmp_path / "c.ppm").write_bytes(b"P6 2 4 255\n" + rgb.tobytes())
    (tmp_path / "g2.pgm").write_text("P2\n5 3\n# c\n255\n" + " ".join(map(str, gray.ravel())) + "\n")
    (tmp_path / "c3.ppm").write_text("P3 2 4 255\n" + "\n".join(map(str, rgb.ravel())))
    wide = rng.integers(0, 1000, (2, 3)).astype(np.uint16)
    (tmp_path / "w.pgm").write_bytes(b"P5 3 2 1000\n" + wide.astype(">u2").tobytes())
    np.testing.assert_array_equal(V.read_pnm(str(tmp_path / "g.pgm")), gray)
    np.testing.assert_array_equal(V.read_pnm(str(tmp_path / "g2.pgm")), gray)
    np.testing.assert_array_equal(V.read_pnm(str(tmp_path / "c.ppm")), rgb)
    np.testing.assert_array_equal(V.read_image(str(tmp_path / "c3.ppm")), rgb)
    w = V.read_pnm(str(tmp_path / "w.pgm"))
    assert w.dtype == np.uint16
    np.testing.assert_array_equal(w, wide)
    (tmp_path / "t.pgm").write_bytes(b"P5 5 3 255\n" + gray.tobytes()[:-1])
    with pytest.raises(FormatError, match="bytes"):
        V.read_pnm(str(tmp_path / "t.pgm"))
    (tmp_path / "b.pbm").write_bytes(b"P4 8 1\n\x00")
    with pytest.raises(UnsupportedError):
        V.read_pnm(str(tmp_path / "b.pbm"))


def png_bytes(pixels, color, filters=(0,), depth=8, interlace=0, corrupt=False):
    """A PNG writer for the tests: each row with the next filter of `filters`."""
    h, w = pixels.shape[:2]
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    rows = pixels.reshape(h, w * bpp).astype(np.int64)
    raw = bytearray()
    prev = np.zeros(w * bpp, np.int64)
    for y in range(h):
        kind = filters[y % len(filters)]
        cur = rows[y]
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])
        if kind == 0:
            pred = np.zeros_like(cur)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = prev
        elif kind == 3:
            pred = (left + prev) // 2
        else:
            est = left + prev - upleft
            pa, pb, pc = np.abs(est - left), np.abs(est - prev), np.abs(est - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        raw.append(kind)
        raw += ((cur - pred) & 0xFF).astype(np.uint8).tobytes()
        prev = cur

    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc ^ (1 if corrupt and kind == b"IDAT" else 0))

    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    data = zlib.compress(bytes(raw))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"k\x00v") + chunk(b"IDAT", data[:7])
            + chunk(b"IDAT", data[7:]) + chunk(b"IEND", b""))


@pytest.mark.parametrize("color,shape", [(0, (6, 7)), (2, (5, 4, 3)), (4, (3, 5, 2)), (6, (4, 6, 4))])
def test_read_png_every_filter(tmp_path, color, shape):
    rng = np.random.default_rng(color)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    p = tmp_path / "i.png"
    p.write_bytes(png_bytes(pixels, color, filters=(0, 1, 2, 3, 4)))
    np.testing.assert_array_equal(V.read_png(str(p)), pixels)
    np.testing.assert_array_equal(V.read_image(str(p)), pixels)


def test_read_png_refusals(tmp_path):
    pixels = np.zeros((2, 2), np.uint8)
    p = tmp_path / "i.png"
    p.write_bytes(png_bytes(pixels, 0, corrupt=True))
    with pytest.raises(FormatError, match="CRC"):
        V.read_png(str(p))
    p.write_bytes(png_bytes(pixels, 0)[:-10])
    with pytest.raises(FormatError, match="truncated"):
        V.read_png(str(p))
    p.write_bytes(png_bytes(pixels, 0, depth=16))
    with pytest.raises(UnsupportedError, match="bit depth 16"):
        V.read_png(str(p))
    p.write_bytes(png_bytes(pixels, 0, interlace=1))
    with pytest.raises(UnsupportedError, match="interlaced"):
        V.read_png(str(p))
    p.write_bytes(b"not an image at all")
    with pytest.raises(FormatError):
        V.read_png(str(p))
    with pytest.raises(FormatError, match="neither"):
        V.read_image(str(p))
