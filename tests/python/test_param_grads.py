"""Trained neuron parameters (Trainer.train_param; docs/training.md): the
gradients of thresholds, membrane time constants and leaky's beta against
PyTorch's autograd of the same updates, the optimizer moving them within
their bounds, and the errors."""

import math

import numpy as np
import pytest

import snn

torch = pytest.importorskip("torch")

DT = 1e-3


class Fast(torch.autograd.Function):
    """H(u) with the fast-sigmoid surrogate of slope k (the core's default)."""

    k = 25.0

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g / (1 + Fast.k * u.abs()) ** 2


def lif_network(w1, w2, th, tau, reset, batch):
    net = snn.Network(dt=DT, batch=batch, backend="cpu")
    net.population("x", w1.shape[0], "spike_source")
    net.population("h", w1.shape[1], "lif", tau_mem=tau, v_rest=0.1, v_reset=0.0, v_th=th, reset=reset)
    net.population("y", w2.shape[1], "li", tau_mem=tau[:w2.shape[1]] * 2, v_rest=0.0)
    net.connect("x", "h", weights=w1, delay=0, name="w1")
    net.connect("h", "y", weights=w2, delay=0, name="w2")
    return net


@pytest.mark.parametrize("reset,detach", [("subtract", False), ("value", False), ("subtract", True), ("value", True)])
def test_lif_threshold_and_time_constant_gradients_match_autograd(reset, detach):
    steps, batch, n_in, n_h, n_out = 25, 3, 14, 10, 4
    r = np.random.default_rng(8)
    x = (r.random((steps, batch, n_in)) < 0.3).astype(np.float32)
    w1 = r.normal(0.35, 0.3, (n_in, n_h)).astype(np.float32)
    w2 = r.normal(0.0, 0.6, (n_h, n_out)).astype(np.float32)
    th = r.uniform(0.8, 1.2, n_h).astype(np.float32)
    tau = r.uniform(5e-3, 20e-3, n_h).astype(np.float32)
    g_out = r.normal(0, 1, (steps, batch, n_out)).astype(np.float32)

    net = lif_network(w1, w2, th, tau, reset, batch)
    trainer = snn.Trainer(net, detach_reset=detach)
    for pop, name in (("h", "v_th"), ("h", "tau_mem"), ("y", "tau_mem")):
        trainer.train_param(pop, name)
    trainer.forward({"x": x})
    spikes = trainer.output("h")
    assert 30 < spikes.sum() < spikes.size - 30
    trainer.add_output_grad("y", "v", g_out)
    trainer.backward()

    # The same updates in PyTorch, from the core's float32 decays.
    def decay(t):
        return np.float32(np.exp(-DT / t.astype(np.float64)))

    E_h = torch.tensor(decay(tau), requires_grad=True)
    E_y = torch.tensor(decay(tau[:n_out] * 2), requires_grad=True)
    th_t = torch.tensor(th, requires_grad=True)
    v = torch.full((batch, n_h), 0.1)
    vy = torch.zeros(batch, n_out)
    loss = 0
    for t in range(steps):
        u = v + torch.from_numpy(x[t]) @ torch.from_numpy(w1)
        m = 0.1 + (u - 0.1) * E_h
        s = Fast.apply(m - th_t)
        sr = s.detach() if detach else s  # the spike as the reset sees it
        v = m - sr * th_t if reset == "subtract" else m * (1 - sr)  # (v_reset = 0)
        uy = vy + s @ torch.from_numpy(w2)
        vy = uy * E_y
        loss = loss + (vy * torch.from_numpy(g_out[t])).sum()
    loss.backward()
    np.testing.assert_allclose(trainer.param_grad("h", "v_th"), th_t.grad.numpy(), rtol=1e-3,
                               atol=1e-4 * np.abs(th_t.grad.numpy()).max())
    for pop, E, taus in (("h", E_h, tau), ("y", E_y, tau[:n_out] * 2)):
        want = E.grad.numpy().astype(np.float64) * decay(taus) * DT / taus.astype(np.float64) ** 2
        got = trainer.param_grad(pop, "tau_mem")
        assert np.abs(want).max() > 0
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * np.abs(want).max(), err_msg=pop)


@pytest.mark.parametrize("reset,detach", [("subtract", True), ("subtract", False), ("zero", True), ("zero", False)])
def test_leaky_beta_and_threshold_gradients_match_autograd(reset, detach):
    steps, batch, n_in, n = 30, 3, 12, 9
    r = np.random.default_rng(9)
    x = r.normal(0.3, 0.6, (steps, batch, n_in)).astype(np.float32)
    w = r.normal(0.1, 0.4, (n_in, n)).astype(np.float32)
    beta = r.uniform(0.7, 0.95, n).astype(np.float32)
    th = r.uniform(0.8, 1.2, n).astype(np.float32)
    g_spk = r.normal(0, 1, (steps, batch, n)).astype(np.float32)
    net = snn.Network(dt=DT, batch=batch, backend="cpu")
    net.population("x", n_in, "current_source")
    net.population("y", n, "leaky", beta=beta, v_th=th, reset=reset, surrogate="fast_sigmoid")
    net.connect("x", "y", weights=w, delay=0, name="w")
    trainer = snn.Trainer(net, detach_reset=detach)
    trainer.train_param("y", "beta")
    trainer.train_param("y", "v_th")
    trainer.forward({"x": x})
    trainer.add_output_grad("y", "spikes", g_spk)
    trainer.backward()

    bt = torch.tensor(beta, requires_grad=True)
    tt = torch.tensor(th, requires_grad=True)
    mem = torch.zeros(batch, n)
    loss = 0
    for t in range(steps):
        rr = Fast.apply(mem - tt)
        if detach:
            rr = rr.detach()
        inp = torch.from_numpy(x[t]) @ torch.from_numpy(w)
        if reset == "subtract":
            mem = bt * mem + inp - rr * tt
        else:
            mem = bt * ((1 - rr) * mem) + inp
        loss = loss + (Fast.apply(mem - tt) * torch.from_numpy(g_spk[t])).sum()
    loss.backward()
    for name, want in (("beta", bt.grad.numpy()), ("v_th", tt.grad.numpy())):
        assert np.abs(want).max() > 0, name
        np.testing.assert_allclose(trainer.param_grad("y", name), want, rtol=1e-3, atol=1e-4 * np.abs(want).max(),
                                   err_msg=name)


def test_the_optimizer_moves_parameters_within_bounds():
    net = snn.Network(dt=DT, batch=2, backend="cpu")
    net.population("x", 6, "current_source")
    net.population("y", 4, "leaky", beta=0.98, v_th=1.0)
    net.population("z", 3, "li", tau_mem=10e-3)
    net.connect("x", "y", weights=np.full((6, 4), 0.5, np.float32), delay=0, name="a")
    net.connect("y", "z", weights=np.full((4, 3), 0.5, np.float32), delay=0, name="b")
    trainer = snn.Trainer(net, optimizer=snn.SGD(lr=1e3))
    trainer.train_param("y", "beta")
    trainer.train_param("z", "tau_mem")
    x = np.ones((10, 2, 6), np.float32)
    trainer.forward({"x": x})
    trainer.add_output_grad("z", "v", -np.ones((10, 2, 3), np.float32))  # raise v: longer tau, larger beta
    trainer.add_output_grad("y", "spikes", -np.ones((10, 2, 4), np.float32))
    trainer.backward()
    assert (trainer.param_grad("z", "tau_mem") < 0).all()
    before = np.asarray(net.param("z", "tau_mem")).copy()
    trainer.step()
    assert (np.asarray(net.param("z", "tau_mem")) > before).all()
    assert (np.asarray(net.param("y", "beta")) <= 1.0).all()
    trainer.zero_grad()
    assert not trainer.param_grad("y", "beta").any()
    trainer.add_output_grad("z", "v", np.ones((10, 2, 3), np.float32) * 1e3)  # drive tau_mem down hard
    trainer.forward({"x": x})
    trainer.add_output_grad("z", "v", np.ones((10, 2, 3), np.float32) * 1e3)
    trainer.backward()
    trainer.step()
    assert (np.asarray(net.param("z", "tau_mem")) >= DT / 1000 * 0.999).all()


def test_errors():
    net = snn.Network(dt=DT)
    net.population("x", 3, "spike_source")
    net.population("h", 3, "lif")
    net.population("e", 3, "lif")
    net.connect("x", "h", one_to_one=True, weight=1.0, delay=0)
    net.connect("x", "e", one_to_one=True, weight=1.0, delay=0, synapse="exp")
    trainer = snn.Trainer(net)
    with pytest.raises(snn.InvalidArgumentError, match="cannot be trained"):
        trainer.train_param("h", "v_rest")
    with pytest.raises(snn.InvalidArgumentError, match="cannot be trained"):
        trainer.train_param("x", "v_th")
    with pytest.raises(snn.UnsupportedError, match="delta synapse"):
        trainer.train_param("e", "tau_mem")
    with pytest.raises(snn.UnsupportedError, match="delta synapse"):
        trainer.train_param("e", "beta")
    with pytest.raises(snn.StateError, match="not trained"):
        trainer.param_grad("h", "v_th")
    trainer.forward({"x": np.ones((4, 1, 3), np.float32)})
    trainer.train_param("h", "v_th")
    trainer.loss("h", "ce_count", np.array([0]))
    with pytest.raises(snn.StateError, match="run it again"):
        trainer.backward()


def test_sequential_layers_learn_their_parameters():
    """LIF(learn_beta, learn_threshold), Leaky(learn_beta) and LI(learn_beta):
    fit moves the time constants and thresholds, and a Linear's weight
    (stored over the decay) still reads back what was written."""
    r = np.random.default_rng(3)
    n = 200
    labels = r.integers(0, 3, n)
    protos = r.random((3, 24)) < 0.3
    x = (r.random((n, 24)) < np.where(protos[labels], 0.6, 0.05)).astype(np.float32)
    model = snn.Sequential(snn.Linear(24, 16, seed=1), snn.LIF(beta=0.9, learn_beta=True, learn_threshold=True),
                           snn.Linear(16, 12, seed=2), snn.Leaky(beta=0.9, learn_beta=True, learn_threshold=True),
                           snn.Linear(12, 3, seed=3), snn.LI(beta=0.8, learn_beta=True), dt=DT)
    enc = snn.encode.rate(steps=12)
    model.fit(x, labels, epochs=1, batch_size=50, optimizer=snn.Adam(lr=5e-2), encoder=enc, progress=False)
    net = model.network
    tau0 = -DT / math.log(0.9)
    assert not np.allclose(np.asarray(net.param("layer0", "tau_mem")), tau0, rtol=1e-6)
    assert not np.allclose(np.asarray(net.param("layer0", "v_th")), 1.0)
    assert not np.allclose(np.asarray(net.param("layer1", "beta")), 0.9)
    assert not np.allclose(np.asarray(net.param("layer2", "tau_mem")), -DT / math.log(0.8), rtol=1e-6)
    w = r.normal(0, 0.3, (16, 24)).astype(np.float32)
    model.layers[0].weight = w
    np.testing.assert_allclose(model.layers[0].weight, w, rtol=1e-6, atol=1e-7)
    with pytest.raises(snn.InvalidArgumentError, match="learn_beta after a Conv2d"):
        snn.Sequential(snn.Conv2d(1, 2, 3), snn.LIF(beta=0.9, learn_beta=True))
