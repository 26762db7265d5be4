"""The leaky model (snnTorch's Leaky, step for step; docs/models.md): its
steps against snnTorch's update written in NumPy (and against snnTorch
itself where it is installed), on every backend, bit for bit; with exp
synapses as snnTorch's Synaptic; its training gradients against PyTorch's
autograd of the same update (reset detached, as snnTorch, and not)."""

import math

import numpy as np
import pytest

import snn

DT = 1e-3


def snntorch_steps(x, beta, threshold, reset, alpha=None):
    """snnTorch's Leaky (Synaptic with alpha) in float32: returns spikes and
    membranes [T, B, n] for inputs x [T, B, n], from mem = syn = 0."""
    f32 = np.float32
    beta, threshold = f32(beta), f32(threshold)
    mem = np.zeros(x.shape[1:], f32)
    syn = np.zeros(x.shape[1:], f32)
    spikes, mems = [], []
    for t in range(x.shape[0]):
        r = (mem > threshold).astype(f32)  # the last step's spike, detached
        if alpha is not None:
            syn = f32(alpha) * syn + x[t]
            inp = syn
        else:
            inp = x[t]
        if reset == "subtract":
            mem = (beta * mem + inp) - r * threshold
        elif reset == "zero":
            mem = beta * ((f32(1) - r) * mem) + inp
        else:
            mem = beta * mem + inp
        spikes.append((mem > threshold).astype(f32))
        mems.append(mem.copy())
    return np.array(spikes), np.array(mems)


def leaky_net(n, batch, reset, beta=0.9, threshold=1.0, backend="reference", synapse="delta", tau=None):
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    net.population("x", n, "current_source")
    net.population("y", n, "leaky", beta=beta, v_th=threshold, reset=reset)
    kwargs = {"tau": tau} if tau else {}
    net.connect("x", "y", one_to_one=True, weight=1.0, delay=0, synapse=synapse, name="in", **kwargs)
    return net


def currents(steps, batch, n, seed=0):
    r = np.random.default_rng(seed)
    return (r.normal(0.35, 0.5, (steps, batch, n))).astype(np.float32)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_steps_are_snntorchs(backend, reset):
    steps, batch, n = 60, 3, 40
    x = currents(steps, batch, n)
    net = leaky_net(n, batch, reset, beta=0.85, threshold=0.9, backend=backend)
    rec = net.run(steps, inputs={"x": x}, record=["y.spikes", "y.v"])
    want_s, want_v = snntorch_steps(x, 0.85, 0.9, reset)
    assert want_s.sum() > 100
    np.testing.assert_array_equal(rec["y.spikes"], want_s)
    np.testing.assert_array_equal(rec["y.v"], want_v)
    # The trainer's forward pass gives the same bits.
    trainer = snn.Trainer(leaky_net(n, batch, reset, beta=0.85, threshold=0.9, backend=backend))
    trainer.forward({"x": x})
    np.testing.assert_array_equal(trainer.output("y"), want_s)
    np.testing.assert_array_equal(trainer.output("y", "v"), want_v)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_exp_synapses_are_snntorchs_synaptic(backend):
    steps, batch, n = 50, 2, 30
    x = currents(steps, batch, n, seed=1) * np.float32(0.5)
    tau = 4e-3
    alpha = np.float32(math.exp(-DT / tau))
    net = leaky_net(n, batch, "subtract", beta=0.8, backend=backend, synapse="exp", tau=tau)
    rec = net.run(steps, inputs={"x": x}, record=["y.spikes", "y.v"])
    want_s, want_v = snntorch_steps(x, 0.8, 1.0, "subtract", alpha=alpha)
    assert want_s.sum() > 50
    np.testing.assert_array_equal(rec["y.spikes"], want_s)
    np.testing.assert_array_equal(rec["y.v"], want_v)


def test_snntorch_itself():
    torch = pytest.importorskip("torch")
    snntorch = pytest.importorskip("snntorch")
    steps, batch, n = 40, 2, 25
    x = currents(steps, batch, n, seed=2)
    for reset in ("subtract", "zero", "none"):
        lif = snntorch.Leaky(beta=0.9, threshold=1.0, reset_mechanism=reset)
        mem = lif.init_leaky()
        spikes, mems = [], []
        for t in range(steps):
            spk, mem = lif(torch.from_numpy(x[t]), mem)
            spikes.append(spk.detach().numpy())
            mems.append(mem.detach().numpy())
        net = leaky_net(n, batch, reset, backend="cpu")
        rec = net.run(steps, inputs={"x": x}, record=["y.spikes", "y.v"])
        np.testing.assert_array_equal(rec["y.spikes"], np.array(spikes), err_msg=reset)
        np.testing.assert_array_equal(rec["y.v"], np.array(mems), err_msg=reset)


def torch_leaky_grads(x, w, g_spk, beta, threshold, reset, detach, scale):
    """PyTorch autograd of snnTorch's update (arctan surrogate), through a
    dense layer: returns dL/dw and dL/dx for L = sum(spikes * g_spk)."""
    torch = pytest.importorskip("torch")

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return (u > 0).float()

        @staticmethod
        def backward(ctx, g):
            (u,) = ctx.saved_tensors
            return g * (scale / 2) / (1 + (math.pi / 2 * scale * u) ** 2)

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    mem = torch.zeros(x.shape[1], w.shape[1])
    loss = 0
    for t in range(x.shape[0]):
        r = Spike.apply(mem - threshold)
        if detach:
            r = r.detach()
        inp = xt[t] @ wt
        if reset == "subtract":
            mem = beta * mem + inp - r * threshold
        elif reset == "zero":
            mem = beta * ((1 - r) * mem) + inp
        else:
            mem = beta * mem + inp
        loss = loss + (Spike.apply(mem - threshold) * torch.from_numpy(g_spk[t])).sum()
    loss.backward()
    return wt.grad.numpy(), xt.grad.numpy()


@pytest.mark.parametrize("reset,detach", [("subtract", True), ("zero", True), ("subtract", False), ("zero", False),
                                          ("none", False)])
def test_gradients_match_autograd(reset, detach):
    pytest.importorskip("torch")
    steps, batch, n_in, n = 30, 3, 12, 9
    r = np.random.default_rng(7)
    x = (r.normal(0.3, 0.6, (steps, batch, n_in))).astype(np.float32)
    w = r.normal(0.1, 0.4, (n_in, n)).astype(np.float32)
    g_spk = r.normal(0, 1, (steps, batch, n)).astype(np.float32)
    net = snn.Network(dt=DT, batch=batch, backend="cpu")
    net.population("x", n_in, "current_source")
    net.population("y", n, "leaky", beta=0.9, v_th=1.0, reset=reset)
    net.connect("x", "y", weights=w, delay=0, name="w")
    trainer = snn.Trainer(net, detach_reset=detach, input_grads=True)
    trainer.forward({"x": x})
    assert 20 < trainer.output("y").sum() < steps * batch * n - 20
    trainer.add_output_grad("y", "spikes", g_spk)
    trainer.backward()
    want_w, want_x = torch_leaky_grads(x, w, g_spk, 0.9, 1.0, reset, detach, 2.0)
    np.testing.assert_allclose(trainer.grad("w"), want_w, rtol=2e-4, atol=2e-5 * np.abs(want_w).max())
    np.testing.assert_allclose(trainer.input_grad("x"), want_x, rtol=2e-4, atol=2e-5 * np.abs(want_x).max())


def test_a_leaky_sequential_learns_and_saves(tmp_path):
    r = np.random.default_rng(3)
    n = 240
    labels = r.integers(0, 3, n)
    protos = r.random((3, 30)) < 0.3
    x = (r.random((n, 30)) < np.where(protos[labels], 0.6, 0.05)).astype(np.float32)
    model = snn.Sequential(snn.Linear(30, 20, seed=1), snn.Leaky(beta=0.9), snn.Linear(20, 3, seed=2),
                           snn.Leaky(beta=0.9), dt=DT)
    enc = snn.encode.rate(steps=15)
    history = model.fit(x, labels, epochs=6, batch_size=40, optimizer=snn.Adam(lr=1e-2), encoder=enc, progress=False)
    assert history[-1]["accuracy"] > 0.8
    path = tmp_path / "leaky.snn"
    model.save(path)
    seq = enc(x[:40], np.random.default_rng(1))
    net = snn.load(path, batch=40)
    rec = net.run(seq.shape[0], inputs={"input": seq}, record=["layer1.spikes"])
    np.testing.assert_array_equal(rec["layer1.spikes"], model.forward(seq))


def test_errors():
    net = snn.Network(dt=DT)
    net.population("x", 3, "spike_source")
    net.population("y", 3, "leaky")
    with pytest.raises(snn.InvalidArgumentError, match="beta"):
        net.set_param("y", "beta", 1.5)
    with pytest.raises(snn.InvalidArgumentError, match="cond_exp"):
        net.connect("x", "y", one_to_one=True, weight=1.0, synapse="cond_exp")
    with pytest.raises(snn.InvalidArgumentError):
        net.set_param("y", "reset", "value")
    with pytest.raises(snn.InvalidArgumentError, match="reset"):
        snn.Leaky(reset="value")


def test_a_leaky_sequential_detaches_the_reset_as_snntorch():
    leaky = snn.Sequential(snn.Linear(4, 3), snn.Leaky(beta=0.9))
    lif = snn.Sequential(snn.Linear(4, 3), snn.LIF(beta=0.9))
    assert leaky.detach_reset and not lif.detach_reset
    assert not snn.Sequential(snn.Linear(4, 3), snn.Leaky(beta=0.9), detach_reset=False).detach_reset
