"""Conv2d connections (docs/models.md, "Convolution"): one step against a
NumPy convolution and pooling, the backends against each other bit for bit,
files, training gradients against the connection's dense equivalent and
against finite differences, and the errors."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import snn

DT = 1e-3


def numpy_conv(x, kernel, bias=None, stride=(1, 1), padding=(0, 0), pool=None, pool_size=(2, 2), pool_stride=None):
    """x [B, C, H, W] -> [B, O, h, w] in float64: cross-correlation (as
    PyTorch's Conv2d), then pooling, then the bias per channel."""
    x = np.asarray(x, np.float64)
    k = np.asarray(kernel, np.float64)
    B, C, H, W = x.shape
    O, _, kh, kw = k.shape
    (sy, sx), (py, px) = stride, padding
    xp = np.zeros((B, C, H + 2 * py, W + 2 * px))
    xp[:, :, py:py + H, px:px + W] = x
    ch, cw = (H + 2 * py - kh) // sy + 1, (W + 2 * px - kw) // sx + 1
    conv = np.zeros((B, O, ch, cw))
    for oy, ox in itertools.product(range(ch), range(cw)):
        patch = xp[:, :, oy * sy:oy * sy + kh, ox * sx:ox * sx + kw]
        conv[:, :, oy, ox] = np.einsum("bcyx,ocyx->bo", patch, k)
    if pool is not None:
        (ph, pw) = pool_size
        (qy, qx) = pool_stride or pool_size
        oh, ow = (ch - ph) // qy + 1, (cw - pw) // qx + 1
        pooled = np.zeros((B, O, oh, ow))
        for y, xx in itertools.product(range(oh), range(ow)):
            win = conv[:, :, y * qy:y * qy + ph, xx * qx:xx * qx + pw].reshape(B, O, -1)
            pooled[:, :, y, xx] = {"max": win.max(axis=2), "avg": win.mean(axis=2), "sum": win.sum(axis=2)}[pool]
        conv = pooled
    if bias is not None:
        conv = conv + np.asarray(bias, np.float64)[None, :, None, None]
    return conv


CASES = [  # (in C, H, W), out channels, kernel, stride, padding, pool, pool size, pool stride, bias
    ((1, 8, 8), 3, (3, 3), (1, 1), (0, 0), None, None, None, False),
    ((2, 9, 7), 4, (3, 2), (2, 1), (1, 1), None, None, None, True),
    ((2, 10, 10), 3, (5, 5), (1, 1), (0, 0), "max", (2, 2), None, True),
    ((3, 8, 8), 2, (3, 3), (1, 1), (1, 1), "avg", (2, 2), None, False),
    ((2, 9, 9), 2, (2, 3), (1, 2), (0, 1), "sum", (3, 2), (2, 1), True),
    ((1, 7, 7), 2, (3, 3), (1, 1), (0, 0), "max", (3, 3), (1, 1), False),  # overlapping windows
]


def out_shape(case):
    (c, h, w), o, (kh, kw), (sy, sx), (py, px), pool, ps, pst, _ = case
    ch, cw = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1
    if pool is not None:
        (ph, pw), (qy, qx) = ps, pst or ps
        ch, cw = (ch - ph) // qy + 1, (cw - pw) // qx + 1
    return (o, ch, cw)


def conv_net(case, kernel, bias, backend="reference", batch=1, source="spike_source", post="if", threads=None,
             delay=0, **post_params):
    (c, h, w), o, _, stride, padding, pool, ps, pst, _ = case
    net = snn.Network(dt=DT, batch=batch, backend=backend, threads=threads)
    net.population("x", (c, h, w), source)
    if post == "if" and not post_params:
        post_params = dict(v_th=1e9, v_reset=0.0)
    net.population("y", out_shape(case), post, **post_params)
    net.conv2d("x", "y", kernel, bias, stride=stride, padding=padding, pool=pool, pool_size=ps or 2, pool_stride=pst,
               delay=delay, name="conv")
    return net


def params_of(case, seed):
    r = np.random.default_rng(seed)
    (c, _, _), o, (kh, kw) = case[0], case[1], case[2]
    kernel = r.normal(0, 0.5, (o, c, kh, kw)).astype(np.float32)
    bias = r.normal(0, 0.3, o).astype(np.float32) if case[8] else None
    return kernel, bias


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("source", ["spike_source", "current_source"])
def test_one_step_is_numpys_convolution(backend, case, source):
    spec = CASES[case]
    kernel, bias = params_of(spec, case)
    batch = 3
    r = np.random.default_rng(100 + case)
    shape = (batch,) + spec[0]
    x = (r.random(shape) < 0.3).astype(np.float32)
    if source == "current_source":
        x = (x * r.normal(0, 1, shape)).astype(np.float32)
    net = conv_net(spec, kernel, bias, backend, batch=batch, source=source)
    net.run(1, inputs={"x": x.reshape(1, batch, -1)})
    got = net.state("y", "v", copy=True).reshape((batch,) + out_shape(spec))
    want = numpy_conv(x, kernel, bias, spec[3], spec[4], spec[5], spec[6], spec[7])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_padding_reaches_every_edge():
    """A 1-channel 3x3 kernel of ones with padding 1 counts each pixel's
    spiking neighbours, edges and corners included."""
    spec = ((1, 5, 6), 1, (3, 3), (1, 1), (1, 1), None, None, None, False)
    x = np.ones((1, 1, 5, 6), np.float32)
    net = conv_net(spec, np.ones((1, 1, 3, 3), np.float32), None)
    net.run(1, inputs={"x": x.reshape(1, 1, -1)})
    v = net.state("y", "v").reshape(5, 6)
    assert v[0, 0] == 4 and v[0, 3] == 6 and v[2, 3] == 9 and v[4, 5] == 4


@pytest.mark.parametrize("case", [0, 2, 4, 5])
def test_backends_agree_bit_for_bit_over_many_steps(case):
    """LIF neurons behind the convolution, exp synapses, delay 2, batch 3:
    every backend, SIMD level and thread count gives the reference's bits."""
    spec = CASES[case]
    kernel, bias = params_of(spec, case)
    steps, batch = 30, 3
    r = np.random.default_rng(case)
    x = (r.random((steps, batch, int(np.prod(spec[0])))) < 0.25).astype(np.float32)
    lif = dict(tau_mem=10e-3, v_th=0.6, v_reset=0.0, v_rest=0.0)

    def run(backend, threads=None):
        net = snn.Network(dt=DT, batch=batch, backend=backend, threads=threads)
        net.population("x", spec[0], "spike_source")
        net.population("y", out_shape(spec), "lif", **lif)
        net.conv2d("x", "y", kernel * 4, bias, stride=spec[3], padding=spec[4], pool=spec[5], pool_size=spec[6] or 2,
                   pool_stride=spec[7], delay=2, synapse="exp", tau=4e-3)
        result = net.run(steps, inputs={"x": x}, record=["y.spikes", "y.v"])
        return result["y.spikes"], result["y.v"]

    ref_spikes, ref_v = run("reference")
    assert ref_spikes.sum() > 20, "the test needs spikes"
    for threads in (1, 2):
        spikes, v = run("cpu", threads)
        np.testing.assert_array_equal(spikes, ref_spikes)
        np.testing.assert_array_equal(v, ref_v)


def test_save_and_load_keep_the_geometry(tmp_path):
    spec = CASES[4]
    kernel, bias = params_of(spec, 4)
    net = conv_net(spec, kernel, bias, backend="cpu", post="lif", tau_mem=5e-3, v_th=0.5, v_reset=0.0, v_rest=0.0)
    path = tmp_path / "conv.snn"
    net.save(path)
    loaded = snn.load(path, backend="cpu")
    assert loaded.connections["conv"].geometry == net.connections["conv"].geometry
    assert loaded.connections["conv"].kind == "conv2d"
    np.testing.assert_array_equal(loaded.weights("conv"), np.concatenate([kernel.ravel(), bias]))
    x = (np.random.default_rng(3).random((20, 1, int(np.prod(spec[0])))) < 0.4).astype(np.float32)
    a = net.run(20, inputs={"x": x}, record="y.v")["y.v"]
    b = loaded.run(20, inputs={"x": x}, record="y.v")["y.v"]
    np.testing.assert_array_equal(a, b)


def dense_equivalent(spec, kernel):
    """The [pre, post] matrix of the convolution and pooling (linear pools
    only), and for each kernel weight the matrix of d(M)/d(weight)."""
    n_pre = int(np.prod(spec[0]))
    basis = np.eye(n_pre).reshape((n_pre,) + spec[0])

    def matrix(k):
        return numpy_conv(basis, k, None, spec[3], spec[4], spec[5], spec[6] or (2, 2), spec[7]).reshape(n_pre, -1)

    taps = []
    for idx in np.ndindex(*kernel.shape):
        unit = np.zeros(kernel.shape)
        unit[idx] = 1.0
        taps.append(matrix(unit))
    return matrix(kernel).astype(np.float32), np.stack(taps)


@pytest.mark.parametrize("case", [1, 3, 4])
def test_gradients_equal_the_dense_equivalents(case):
    """spike_source -> dense -> LIF [C, H, W] -> conv2d (linear pooling) ->
    LI readout, against the same network with the convolution written out
    as a dense matrix and its biases as a constant source: the kernel
    gradient is the dense gradient summed over the pairs each weight
    serves, and the gradient reaching the LIF layer through the
    convolution trains the first layer alike."""
    spec = CASES[case]
    kernel, bias = params_of(spec, case)
    n_pre, n_out = int(np.prod(spec[0])), int(np.prod(out_shape(spec)))
    steps, batch, n_in = 20, 3, 10
    r = np.random.default_rng(40 + case)
    w_in = r.normal(0.3, 0.4, (n_in, n_pre)).astype(np.float32)
    x = {"src": (r.random((steps, batch, n_in)) < 0.3).astype(np.float32)}
    labels = r.integers(0, n_out, batch)
    dense, taps = dense_equivalent(spec, kernel)

    def run(as_conv):
        net = snn.Network(dt=DT, batch=batch, backend="cpu")
        net.population("src", n_in, "spike_source")
        net.population("hid", spec[0], "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
        net.population("out", out_shape(spec), "li", tau_mem=20e-3, v_rest=0.0)
        net.connect("src", "hid", weights=w_in, delay=0, name="in")
        if as_conv:
            net.conv2d("hid", "out", kernel, bias, stride=spec[3], padding=spec[4], pool=spec[5],
                       pool_size=spec[6] or 2, pool_stride=spec[7], delay=1, synapse="exp", tau=5e-3, name="conv")
        else:
            net.connect("hid", "out", weights=dense, delay=1, synapse="exp", tau=5e-3, name="conv")
            if bias is not None:
                net.population("one", 1, "current_source", current=1.0)
                per_position = np.repeat(bias, n_out // len(bias))[None, :]
                # (delay 0: the biases arrive from the first step on, as the connection's do)
                net.connect("one", "out", weights=per_position, delay=0, synapse="exp", tau=5e-3, name="bias")
        trainer = snn.Trainer(net)
        trainer.forward(x)
        loss = trainer.loss("out", "ce_mean_v", labels)
        trainer.backward()
        return trainer, loss

    conv, loss_c = run(True)
    ref, loss_r = run(False)
    np.testing.assert_array_equal(conv.output("hid"), ref.output("hid"))
    assert conv.output("hid").sum() > 20
    assert loss_c == pytest.approx(loss_r, rel=1e-5)
    g = conv.grad("conv")
    k = kernel.size
    want_kernel = np.einsum("tij,ij->t", taps, ref.grad("conv").astype(np.float64))
    np.testing.assert_allclose(g[:k], want_kernel, rtol=1e-4, atol=1e-5 * np.abs(want_kernel).max())
    if bias is not None:
        want_bias = ref.grad("bias").reshape(len(bias), -1).sum(axis=1)
        np.testing.assert_allclose(g[k:], want_bias, rtol=1e-4, atol=1e-6)
    want_in = ref.grad("in")
    assert np.abs(want_in).max() > 1e-4
    np.testing.assert_allclose(conv.grad("in"), want_in, rtol=1e-3, atol=1e-4 * np.abs(want_in).max())


WIDE = [  # more channels than one vector of 16 floats: the gradient kernels' register tiles, chunks and tails
    ((6, 6, 6), 17, (5, 5), (1, 1), (2, 2), None, None, None, False),
    ((5, 7, 6), 20, (3, 4), (2, 1), (1, 0), None, None, None, False),
    ((6, 6, 6), 33, (5, 5), (1, 1), (0, 0), "max", (2, 2), None, True),  # (biases: bits only)
    # delivery only: more than 64 channels (blocks of four vectors and a
    # tail), rows wider than the cpu's gather of 64 columns, stride 2 taps
    ((2, 5, 70), 70, (3, 3), (1, 1), (1, 1), None, None, None, False),
    ((3, 7, 9), 70, (3, 5), (1, 2), (1, 2), None, None, None, False),
    # the cpu's tiles of one column by groups of input channels (about 48 KiB
    # of kernel rows each: here 6 of 14), the sums carried between groups
    ((14, 6, 7), 64, (5, 5), (1, 1), (2, 2), None, None, None, False),
]


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("case", [0, 1, 3, 4, 5])
@pytest.mark.parametrize("source", ["spike_source", "current_source"])
def test_wide_delivery_adds_in_ascending_presynaptic_order(backend, case, source):
    """With more output channels than one vector (rows of whole vectors and
    a tail), each output cell receives its terms one at a time in ascending
    presynaptic order, as float32 additions (emulated here in NumPy), on
    both backends and at every SIMD level."""
    spec = WIDE[case]
    kernel, _ = params_of(spec, 70 + case)
    (c, h, w), o, (kh, kw), (sy, sx), (py, px) = spec[:5]
    _, ch, cw = out_shape(spec)
    batch = 2
    r = np.random.default_rng(80 + case)
    x = (r.random((batch, c, h, w)) < 0.4).astype(np.float32)
    if source == "current_source":
        x = (x * r.normal(0, 1, x.shape)).astype(np.float32)
    want = np.zeros((batch, o, ch, cw), np.float32)
    for b, ci, iy, ix in itertools.product(range(batch), range(c), range(h), range(w)):
        if x[b, ci, iy, ix] == 0:
            continue
        for ky, kx in itertools.product(range(kh), range(kw)):
            ny, nx = iy + py - ky, ix + px - kx
            if ny >= 0 and nx >= 0 and ny % sy == 0 and nx % sx == 0 and ny // sy < ch and nx // sx < cw:
                term = kernel[:, ci, ky, kx] if source == "spike_source" else kernel[:, ci, ky, kx] * x[b, ci, iy, ix]
                want[b, :, ny // sy, nx // sx] += term
    for simd in (["auto"] if backend == "reference" else ["generic", "avx2", "avx512"]):
        try:
            context = snn.Context(backend=backend, simd=simd)
        except snn.UnsupportedError:
            continue
        net = snn.Network(dt=DT, batch=batch, context=context)
        net.population("x", spec[0], source)
        net.population("y", out_shape(spec), "if", v_th=1e9, v_reset=0.0)
        net.conv2d("x", "y", kernel, None, stride=spec[3], padding=spec[4], delay=0, name="conv")
        net.run(1, inputs={"x": x.reshape(1, batch, -1)})
        np.testing.assert_array_equal(net.state("y", "v", copy=True).reshape(want.shape), want, err_msg=simd)


def kernel_grad_of(spec, g_dense):
    """The kernel gradient of a convolution without pooling from the
    gradient [pre, post] of its dense matrix: each weight's sum over the
    pairs it serves."""
    (c, h, w), o, (kh, kw), (sy, sx), (py, px) = spec[:5]
    _, ch, cw = out_shape(spec)
    g = g_dense.astype(np.float64).reshape(c, h, w, o, ch, cw)
    want = np.zeros((o, c, kh, kw))
    for ky, kx, oy, ox in itertools.product(range(kh), range(kw), range(ch), range(cw)):
        iy, ix = oy * sy - py + ky, ox * sx - px + kx
        if 0 <= iy < h and 0 <= ix < w:
            want[:, :, ky, kx] += g[:, iy, ix, :, oy, ox].T
    return want


@pytest.mark.parametrize("case", range(3))
def test_wide_layers_give_the_dense_gradients_and_the_same_bits_everywhere(case):
    """spike_source -> dense -> LIF [C, H, W] -> conv2d -> LI with tens of
    channels: the kernel gradient and the gradient reaching the LIF layer
    equal those of the dense equivalent (without pooling), and every SIMD
    level and thread count gives the same bits (Decision 5)."""
    spec = WIDE[case]
    kernel, bias = params_of(spec, 50 + case)
    kernel *= 0.3
    n_pre, n_out = int(np.prod(spec[0])), int(np.prod(out_shape(spec)))
    steps, batch, n_in = 12, 3, 10
    r = np.random.default_rng(60 + case)
    w_in = r.normal(0.3, 0.4, (n_in, n_pre)).astype(np.float32)
    x = {"src": (r.random((steps, batch, n_in)) < 0.3).astype(np.float32)}
    labels = r.integers(0, n_out, batch)

    def run(as_conv, threads=1, simd="auto"):
        try:
            context = snn.Context(backend="cpu", threads=threads, simd=simd)
        except snn.UnsupportedError:
            return None  # this CPU lacks the level
        net = snn.Network(dt=DT, batch=batch, context=context)
        net.population("src", n_in, "spike_source")
        net.population("hid", spec[0], "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
        net.population("out", out_shape(spec), "li", tau_mem=20e-3, v_rest=0.0)
        net.connect("src", "hid", weights=w_in, delay=0, name="in")
        if as_conv:
            net.conv2d("hid", "out", kernel, bias, stride=spec[3], padding=spec[4], pool=spec[5], pool_size=spec[6] or 2,
                       delay=1, name="conv")
        else:
            dense = numpy_conv(np.eye(n_pre).reshape((n_pre,) + spec[0]), kernel, None, spec[3], spec[4])
            net.connect("hid", "out", weights=dense.reshape(n_pre, -1).astype(np.float32), delay=1, name="conv")
        trainer = snn.Trainer(net)
        trainer.forward(x)
        trainer.loss("out", "ce_mean_v", labels)
        trainer.backward()
        return trainer

    conv = run(True)
    assert conv.output("hid").mean() > 0.05
    grads = [conv.grad("conv"), conv.grad("in")]
    assert np.abs(grads[0]).max() > 0 and np.abs(grads[1]).max() > 0
    for variant in ((2, "auto"), (3, "auto"), (1, "generic"), (2, "avx2"), (3, "avx512")):
        got = run(True, *variant)
        if got is not None:
            for a, b in zip([got.grad("conv"), got.grad("in")], grads):
                np.testing.assert_array_equal(a, b, err_msg=str(variant))
    if spec[5] is not None:
        return
    ref = run(False)
    np.testing.assert_array_equal(conv.output("hid"), ref.output("hid"))
    want = kernel_grad_of(spec, ref.grad("conv")).ravel()
    k = kernel.size
    np.testing.assert_allclose(grads[0][:k], want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    want_in = ref.grad("in")
    np.testing.assert_allclose(grads[1], want_in, rtol=1e-3, atol=1e-4 * np.abs(want_in).max())


@pytest.mark.parametrize("case", range(2))
def test_max_pooled_spike_layers_sum_their_kernel_gradient_by_windows(case):
    """Spikes into a max-pooled layer of at most 16 channels (a first
    layer): the kernel gradient sums, per tap and channel, the terms of the
    pooling windows in order (conv::grad_by_windows), not of the output
    positions. The same 0/1 inputs as currents take the order by positions:
    both equal within float32 rounding, and the window order gives the same
    bits on every backend, SIMD level and thread count (Decision 5)."""
    (c, h, w), o, k, pad, pool = [((1, 16, 16), 12, (5, 5), (1, 1), (2, 2)), ((2, 13, 11), 5, (3, 4), (2, 0), (3, 3))][case]
    r = np.random.default_rng(70 + case)
    kernel = r.normal(0, 0.25, (o, c) + k).astype(np.float32)
    bias = r.normal(0.0, 0.1, o).astype(np.float32)
    steps, batch = 10, 3
    x = (r.random((steps, batch, c * h * w)) < 0.35).astype(np.float32)
    hid = (o, (h + 2 * pad[0] - k[0] + 1) // pool[0], (w + 2 * pad[1] - k[1] + 1) // pool[1])
    w_out = r.normal(0, 0.4, (int(np.prod(hid)), 4)).astype(np.float32)
    labels = r.integers(0, 4, batch)

    def run(source, backend="cpu", threads=1, simd="auto"):
        try:
            context = snn.Context(backend=backend, threads=threads, simd=simd)
        except snn.UnsupportedError:
            return None  # this CPU lacks the level
        net = snn.Network(dt=DT, batch=batch, context=context)
        net.population("x", (c, h, w), source)
        net.population("h", hid, "lif", tau_mem=10e-3, v_th=1.0, v_reset=0.0, v_rest=0.0, reset="subtract")
        net.population("y", 4, "li", tau_mem=10e-3)
        net.conv2d("x", "h", kernel, bias, padding=pad, pool="max", pool_size=pool, delay=0, name="conv")
        net.connect("h", "y", weights=w_out, delay=0, name="fc")
        trainer = snn.Trainer(net)
        trainer.forward({"x": x})
        trainer.loss("y", "ce_mean_v", labels)
        trainer.backward()
        return trainer

    spikes = run("spike_source")
    assert 0.05 < spikes.output("h").mean() < 0.7
    got = spikes.grad("conv")
    currents = run("current_source")
    np.testing.assert_array_equal(currents.output("h"), spikes.output("h"))
    want = currents.grad("conv")
    assert not np.array_equal(got, want)  # (the orders differ somewhere)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())
    for variant in (("reference", 1), ("reference", 2), ("cpu", 2), ("cpu", 1, "generic"), ("cpu", 3, "avx2"),
                    ("cpu", 2, "avx512")):
        other = run("spike_source", *variant)
        if other is not None:
            np.testing.assert_array_equal(other.grad("conv"), got, err_msg=str(variant))


PARTS_SCRIPT = """
import sys
import numpy as np
import snn
r = np.random.default_rng(90)
steps, batch = 8, 19
net = snn.Network(dt=1e-3, batch=batch, context=snn.Context(backend="cpu", threads=int(sys.argv[2])))
net.population("x", (1, 14, 14), "spike_source")
net.population("h1", (6, 5, 5), "lif", tau_mem=10e-3, v_th=1.0, v_reset=0.0, v_rest=0.0, reset="subtract")
net.population("h2", (8, 3, 3), "lif", tau_mem=10e-3, v_th=1.0, v_reset=0.0, v_rest=0.0, reset="subtract")
net.population("y", 3, "li", tau_mem=10e-3)
net.conv2d("x", "h1", r.normal(0, 0.4, (6, 1, 5, 5)).astype(np.float32), r.normal(0, 0.1, 6).astype(np.float32),
           pool="max", pool_size=2, delay=0, name="c1")
net.conv2d("h1", "h2", r.normal(0, 0.4, (8, 6, 3, 3)).astype(np.float32), None, pool="max", pool_size=1, delay=0, name="c2")
net.connect("h2", "y", weights=r.normal(0, 0.5, (72, 3)).astype(np.float32), delay=0, name="fc")
trainer = snn.Trainer(net, input_grads=True)
trainer.forward({"x": (r.random((steps, batch, 196)) < 0.3).astype(np.float32)})
trainer.loss("y", "ce_mean_v", r.integers(0, 3, batch))
trainer.backward()
np.savez(sys.argv[1], h1=trainer.output("h1"), h2=trainer.output("h2"), c1=trainer.grad("c1"), c2=trainer.grad("c2"),
         fc=trainer.grad("fc"), x=trainer.input_grad("x"))
"""


def test_backward_parts_of_the_batch_give_the_same_bits_on_any_threads(tmp_path):
    """The trainer's conv2d backward splits the batch into parts (at most 8,
    their sizes uneven here), each with its own kernel-gradient sums added
    in part order: every thread count gives the same bits."""
    script = tmp_path / "parts.py"
    script.write_text(PARTS_SCRIPT)
    results = []
    for threads in (1, 2, 3):
        out = tmp_path / f"t{threads}.npz"
        done = subprocess.run([sys.executable, str(script), str(out), str(threads)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        results.append(dict(np.load(out)))
    whole = results[0]
    assert whole["h1"].mean() > 0.05 and whole["h2"].mean() > 0.02 and np.abs(whole["c1"]).max() > 0 and np.abs(whole["x"]).max() > 0
    for other in results[1:]:
        for name in whole:
            np.testing.assert_array_equal(other[name], whole[name], err_msg=name)


def test_max_pooling_gradient_matches_finite_differences():
    """current_source -> conv2d (max pool, bias) -> LI: the loss is
    piecewise smooth in the weights; small steps stay on one piece."""
    spec = ((2, 8, 8), 3, (3, 3), (1, 1), (0, 0), "max", (2, 2), None, True)
    kernel, bias = params_of(spec, 9)
    steps, batch = 8, 2
    r = np.random.default_rng(10)
    xs = {"x": (r.normal(0, 1, (steps, batch, 128)) * (r.random((steps, batch, 128)) < 0.5)).astype(np.float32)}
    labels = np.array([4, 20])

    def loss_of(weights):
        net = snn.Network(dt=DT, batch=batch, backend="cpu")
        net.population("x", spec[0], "current_source")
        net.population("y", out_shape(spec), "li", tau_mem=10e-3)
        k, b = weights[:kernel.size].reshape(kernel.shape), weights[kernel.size:]
        net.conv2d("x", "y", k, b, pool="max", pool_size=2, delay=0, name="conv")
        trainer = snn.Trainer(net)
        trainer.forward(xs)
        return trainer, trainer.loss("y", "ce_mean_v", labels)

    w = np.concatenate([kernel.ravel(), bias]).astype(np.float32)
    trainer, _ = loss_of(w)
    trainer.backward()
    got = trainer.grad("conv")
    eps = 1e-3
    for q in list(range(0, kernel.size, 5)) + [kernel.size, kernel.size + 2]:
        up, down = w.copy(), w.copy()
        up[q] += eps
        down[q] -= eps
        numeric = (loss_of(up)[1] - loss_of(down)[1]) / (2 * eps)
        assert got[q] == pytest.approx(numeric, rel=2e-2, abs=2e-4), q


def test_training_gives_the_same_bits_everywhere():
    """Decision 5: the trainer's forward pass and gradients through a conv2d
    connection (max pooling, biases, spike and current inputs) are the same
    bits on "reference" and "cpu", at every SIMD level and thread count."""
    spec = CASES[2]
    kernel, bias = params_of(spec, 2)
    steps, batch = 15, 4
    r = np.random.default_rng(12)
    n_in = int(np.prod(spec[0]))
    n_hid = int(np.prod(out_shape(spec)))
    x = {"x": (r.random((steps, batch, n_in)) < 0.3).astype(np.float32),
         "c": (r.normal(0, 1, (steps, batch, n_in)) * (r.random((steps, batch, n_in)) < 0.2)).astype(np.float32)}
    w_fc = r.normal(0, 0.5, (n_hid, 4)).astype(np.float32)

    def run(backend, threads, simd):
        try:
            context = snn.Context(backend=backend, threads=threads, simd=simd)
        except snn.UnsupportedError:
            return None  # this CPU lacks the level
        net = snn.Network(dt=DT, batch=batch, context=context)
        net.population("x", spec[0], "spike_source")
        net.population("c", spec[0], "current_source")
        net.population("h", out_shape(spec), "lif", tau_mem=10e-3, v_th=0.5, v_reset=0.0, v_rest=0.0)
        net.population("y", 4, "li", tau_mem=10e-3)
        net.conv2d("x", "h", kernel * 2, bias, pool="max", pool_size=2, delay=0, name="conv")
        net.conv2d("c", "h", kernel[::-1].copy(), None, pool="avg", pool_size=2, delay=1, synapse="exp", tau=3e-3,
                   name="conv_c")
        net.connect("h", "y", weights=w_fc, delay=0, name="fc")
        trainer = snn.Trainer(net, input_grads=True)
        trainer.forward(x)
        loss = trainer.loss("y", "ce_mean_v", np.array([0, 1, 2, 3]))
        trainer.backward()
        assert trainer.output("h").sum() > 10
        return [loss, trainer.output("h"), trainer.output("y", "v"), trainer.grad("conv"), trainer.grad("conv_c"),
                trainer.grad("fc"), trainer.input_grad("x"), trainer.input_grad("c")]

    reference = run("reference", 1, "auto")
    assert np.abs(reference[3]).max() > 0 and np.abs(reference[4]).max() > 0 and np.abs(reference[6]).max() > 0
    for variant in (("reference", 2, "auto"), ("cpu", 1, "generic"), ("cpu", 2, "avx2"), ("cpu", 3, "avx512"),
                    ("cpu", 2, "auto")):
        got = run(*variant)
        if got is None:
            continue
        for a, b in zip(got, reference):
            np.testing.assert_array_equal(a, b, err_msg=str(variant))


def test_carry_state_crosses_the_cuts():
    """Truncated BPTT through conv2d connections with delays 2 and 3 (one
    from a current source, one between spiking layers), a leaky layer and
    biases: a sequence in three pieces runs as one pass."""
    spec = CASES[2]
    kernel, bias = params_of(spec, 2)
    steps, batch = 45, 2
    r = np.random.default_rng(14)
    n_in = int(np.prod(spec[0]))
    x = {"x": (r.normal(0, 1, (steps, batch, n_in)) * (r.random((steps, batch, n_in)) < 0.3)).astype(np.float32)}

    def build():
        net = snn.Network(dt=DT, batch=batch, backend="cpu")
        net.population("x", spec[0], "current_source")
        net.population("h", out_shape(spec), "lif", tau_mem=10e-3, v_th=0.5, v_reset=0.0, v_rest=0.0)
        net.population("k", (2, 3, 3), "leaky", beta=0.8, v_th=0.7)
        net.conv2d("x", "h", kernel * 2, bias, pool="max", pool_size=2, delay=2, name="conv")
        net.conv2d("h", "k", r2.normal(0.2, 0.5, (2, 3, 1, 1)).astype(np.float32), np.array([0.1, -0.05], np.float32),
                   pool="avg", pool_size=(1, 1), delay=3, synapse="exp", tau=4e-3, name="conv2")
        return net

    r2 = np.random.default_rng(15)
    whole = snn.Trainer(build())
    whole.forward(x)
    r2 = np.random.default_rng(15)
    pieces = snn.Trainer(build(), carry_state=True)
    outs = {"h": [], "k": []}
    for k in range(3):
        pieces.forward({"x": x["x"][15 * k:15 * (k + 1)]})
        for name in outs:
            outs[name].append(pieces.output(name, "v"))
    assert whole.output("k").sum() > 5
    for name in outs:
        np.testing.assert_array_equal(np.concatenate(outs[name]), whole.output(name, "v"), err_msg=name)


def test_errors_are_clear():
    net = snn.Network(dt=DT)
    net.population("x", (2, 8, 8), "spike_source")
    net.population("y", (3, 6, 6), "if")
    net.population("flat", 128, "spike_source")
    k = np.zeros((3, 2, 3, 3), np.float32)
    with pytest.raises(snn.ShapeError, match="population \"y\""):
        net.conv2d("x", "y", k, pool="max")  # 3 x 3 x 3 after pooling
    with pytest.raises(snn.ShapeError, match="input channels"):
        net.conv2d("x", "y", np.zeros((3, 1, 3, 3), np.float32))
    with pytest.raises(snn.ShapeError, match="in_shape"):
        net.conv2d("flat", "y", k)
    with pytest.raises(snn.InvalidArgumentError, match="pool"):
        net.conv2d("x", "y", k, pool="median")
    with pytest.raises(snn.ShapeError, match="bias"):
        net.conv2d("x", "y", k, bias=np.zeros(2, np.float32))
    with pytest.raises(snn.InvalidArgumentError, match="finite"):
        net.conv2d("x", "y", k * np.nan)
    with pytest.raises(snn.InvalidArgumentError, match="padding"):
        net.conv2d("x", "y", k, padding=3)
    with pytest.raises(snn.InvalidArgumentError, match="stride"):
        net.conv2d("x", "y", k, stride=0)
    c = net.conv2d("flat", "y", k, in_shape=(2, 8, 8))
    with pytest.raises(snn.UnsupportedError, match="shared among pairs"):
        net.synapses(c)
    with pytest.raises(snn.InvalidArgumentError, match="shares its weights"):
        net.weights(c, dense=True)
    with pytest.raises(snn.ShapeError):
        net.set_weights(c, np.zeros(5, np.float32))


@pytest.mark.parametrize("method", ["arrivals", "outputs", "masks"])
def test_both_ways_of_the_cpu_delivery_give_the_same_bits(method):
    """The cpu backend convolves either by arrivals or by output tiles,
    whichever is cheaper for the step's count ($SNN_CPU_CONV forces one):
    the bit-for-bit tests above pass with each."""
    if os.environ.get("SNN_CPU_CONV"):
        pytest.skip("already forced")
    tests = ["test_one_step_is_numpys_convolution", "test_backends_agree_bit_for_bit_over_many_steps",
             "test_wide_delivery_adds_in_ascending_presynaptic_order", "test_training_gives_the_same_bits_everywhere",
             "test_wide_layers_give_the_dense_gradients_and_the_same_bits_everywhere",
             "test_max_pooled_spike_layers_sum_their_kernel_gradient_by_windows"]
    env = dict(os.environ, SNN_CPU_CONV=method)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", " or ".join(tests)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
