"""snn.torch: a libsnn network inside a PyTorch model. Its gradients are the
trainer's, PyTorch's autograd carries them through the layers around it, and
a PyTorch optimizer trains it."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import snn  # noqa: E402
import snn.torch  # noqa: E402

DT = 1e-3


def network(batch=1):
    r = np.random.default_rng(3)
    net = snn.Network(dt=DT, batch=batch, backend="cpu")
    net.population("x", (1, 6, 6), "current_source")
    net.population("h", (3, 2, 2), "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=0.5)
    net.population("y", 4, "li", tau_mem=10e-3)
    net.conv2d("x", "h", r.normal(0.4, 0.5, (3, 1, 3, 3)).astype(np.float32), np.full(3, 0.05, np.float32),
               pool="max", pool_size=2, delay=0, name="conv")
    net.connect("h", "y", weights=r.normal(0, 0.5, (12, 4)).astype(np.float32), delay=0, name="fc")
    net.connect("h", "h", weights=r.normal(0, 0.2, (12, 12)).astype(np.float32), delay=1, name="rec")
    return net


def test_gradients_are_the_trainers():
    steps, batch = 12, 3
    r = np.random.default_rng(4)
    x = r.normal(0.5, 0.5, (steps, batch, 36)).astype(np.float32)
    g = r.normal(0, 1, (steps, batch, 4)).astype(np.float32)

    block = snn.torch.Module(network(), input="x", output="y", var="v")
    xt = torch.tensor(x, requires_grad=True)
    out = block(xt)
    (out * torch.from_numpy(g)).sum().backward()

    trainer = snn.Trainer(network(), input_grads=True)
    trainer.forward({"x": x})
    np.testing.assert_array_equal(out.detach().numpy(), trainer.output("y", "v"))
    trainer.add_output_grad("y", "v", g)
    trainer.backward()
    for name in ("conv", "fc", "rec"):
        got = block.weights[name].grad.numpy()
        assert np.abs(got).max() > 0, name
        np.testing.assert_array_equal(got, trainer.grad(name), err_msg=name)
    np.testing.assert_array_equal(xt.grad.numpy(), trainer.input_grad("x"))


def test_a_torch_optimizer_trains_the_block_inside_a_torch_model():
    """torch.nn.Linear -> (current over steps) -> libsnn conv2d/LIF -> counts:
    cross-entropy falls, both the torch layer and the libsnn weights move,
    and the network keeps what was trained."""
    torch.manual_seed(0)
    steps, batch = 10, 16
    r = np.random.default_rng(5)
    features = torch.tensor(r.normal(0, 1, (64, 8)).astype(np.float32))
    labels = (features[:, 0] > 0).long() * 2 + (features[:, 1] > 0).long()

    net = network()
    block = snn.torch.Module(net, input="x", output="y", var="v")
    encoder = torch.nn.Linear(8, 36)
    before = net.weights("conv").copy()
    opt = torch.optim.Adam(list(encoder.parameters()) + list(block.parameters()), lr=2e-2)
    losses = []
    for epoch in range(15):
        for start in range(0, 64, batch):
            xb, yb = features[start:start + batch], labels[start:start + batch]
            current = torch.sigmoid(encoder(xb)).unsqueeze(0).expand(steps, -1, -1)
            logits = block(current).mean(dim=0)
            loss = torch.nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-4:]) < 0.6 * np.mean(losses[:4])
    assert encoder.weight.grad is not None and encoder.weight.grad.abs().max() > 0
    block(torch.zeros(steps, batch, 36))  # writes the trained weights into the network
    np.testing.assert_array_equal(net.weights("conv"), block.weights["conv"].detach().numpy())
    assert not np.array_equal(net.weights("conv"), before)


def test_a_sequential_becomes_a_module():
    model = snn.Sequential(snn.Linear(10, 8, seed=1), snn.LIF(beta=0.9), snn.Linear(8, 3, seed=2), snn.LI(beta=0.8))
    x = (np.random.default_rng(1).random((15, 4, 10)) < 0.3).astype(np.uint8)
    want = model.forward(x)
    block = snn.torch.Module(model)
    assert block.var == "v" and block.output == model.output_population
    out = block(torch.from_numpy(x))
    np.testing.assert_array_equal(out.detach().numpy(), want)
    out.sum().backward()
    assert block.weights["fc0"].grad.abs().max() > 0


def test_only_the_latest_pass_backpropagates():
    block = snn.torch.Module(network(), input="x", output="y", var="v")
    a = block(torch.ones(5, 2, 36))
    block(torch.ones(5, 2, 36))
    with pytest.raises(snn.StateError, match="latest forward"):
        a.sum().backward()
    with pytest.raises(snn.InvalidArgumentError, match="steps, batch"):
        block(torch.ones(2, 36))
    with pytest.raises(snn.InvalidArgumentError, match="input="):
        snn.torch.Module(network())
