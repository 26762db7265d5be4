"""Training (docs/training.md): the trainer's forward pass against the
"reference" backend, its gradients against a NumPy BPTT of the equations in
docs/training.md and against finite differences, the optimizers against
their formulas, learning on a small task, and the errors."""

import math

import numpy as np
import pytest

import snn

DT = 1e-3
RNG = np.random.default_rng(7)


def build(batch=1, reset="value", surrogate="fast_sigmoid", backend="reference"):
    """spike_source(12) -> lif(16) (delta, delay 0) and current_source(5) ->
    lif (exp, delay 1); lif -> lif2(9, subtract or value reset; exp, delay 2)
    and lif -> out (li, 4; delta, delay 0); lif2 -> out (exp, delay 1).
    Dimensionless voltages (threshold 1), as in snnTorch."""
    net = snn.Network(dt=DT, batch=batch, seed=3, backend=backend)
    src = net.population("src", 12, "spike_source")
    cur = net.population("cur", 5, "current_source")
    hid = net.population("hid", 16, "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0, reset=reset,
                         surrogate=surrogate)
    hid2 = net.population("hid2", 9, "if", v_reset=0.0, v_th=0.6, reset="subtract", surrogate=surrogate,
                          surrogate_scale=4.0)
    out = net.population("out", 4, "li", tau_mem=20e-3, v_rest=0.0)
    r = np.random.default_rng(11)
    net.connect(src, hid, weights=r.normal(0.5, 0.4, (12, 16)).astype(np.float32), delay=0, synapse="delta", name="w1")
    net.connect(cur, hid, weights=r.normal(0.0, 0.8, (5, 16)).astype(np.float32), delay=1, synapse="exp", tau=5e-3,
                name="w2")
    net.connect(hid, hid2, weights=r.normal(0.3, 0.5, (16, 9)).astype(np.float32), delay=2, synapse="exp", tau=8e-3,
                name="w3")
    net.connect(hid, out, weights=r.normal(0.0, 0.5, (16, 4)).astype(np.float32), delay=0, synapse="delta", name="w4")
    net.connect(hid2, out, weights=r.normal(0.0, 0.5, (9, 4)).astype(np.float32), delay=1, synapse="exp", tau=10e-3,
                name="w5")
    return net


def inputs(steps, batch, seed=5):
    r = np.random.default_rng(seed)
    return {"src": (r.random((steps, batch, 12)) < 0.3).astype(np.float32),
            "cur": r.normal(0.0, 1.0, (steps, batch, 5)).astype(np.float32) * (r.random((steps, batch, 5)) < 0.7)}


def test_forward_is_what_the_network_computes():
    steps, batch = 40, 3
    x = inputs(steps, batch)
    for reset in ("value", "subtract"):
        net = build(batch, reset=reset)
        trainer = snn.Trainer(net)
        trainer.forward(x)
        rec = build(batch, reset=reset).run(steps, inputs=x, record=["hid.spikes", "hid.v", "hid2.spikes", "hid2.v",
                                                                      "out.v"])
        assert rec["hid.spikes"].sum() > 50 and rec["hid2.spikes"].sum() > 20, "the layers must be active"
        np.testing.assert_array_equal(trainer.output("hid"), rec["hid.spikes"].astype(np.float32))
        np.testing.assert_array_equal(trainer.output("hid2"), rec["hid2.spikes"].astype(np.float32))
        # Bit for bit: the same operations in the same order as "reference".
        np.testing.assert_array_equal(trainer.output("hid", "v"), rec["hid.v"])
        np.testing.assert_array_equal(trainer.output("hid2", "v"), rec["hid2.v"])
        np.testing.assert_array_equal(trainer.output("out", "v"), rec["out.v"])


# ---------------------------------------------------------------------------
# A NumPy reference: the forward pass in float32 (operations as in
# docs/models.md) and the backward pass of docs/training.md in float64.

def surrogate(name, k, x):
    x = np.asarray(x, dtype=np.float64)
    if name == "fast_sigmoid":
        return 1.0 / (1.0 + k * np.abs(x)) ** 2
    if name == "arctan":
        return (k / 2.0) / (1.0 + (math.pi / 2.0 * k * x) ** 2)
    return np.maximum(0.0, 1.0 - k * np.abs(x))


def numpy_bptt(net_spec, weights, x, grad_out, detach, input_grads=None):
    """net_spec: populations (dicts) in update order and connections; returns
    spikes per population and dL/dW per connection for the given
    dL/d(output) of every population."""
    pops, conns = net_spec
    T, B = next(iter(x.values())).shape[:2]
    f32 = np.float32
    out = {}  # name -> [T, B, n] output (spikes, graded, or v of li)
    mem = {}  # name -> [T, B, n] membrane before the threshold
    v = {p["name"]: np.full((B, p["n"]), p.get("v0", 0.0), f32) for p in pops if p["kind"] != "source"}
    a = {p["name"]: np.zeros((B, p["n"]), f32) for p in pops if p["kind"] == "alif"}
    a_step = {p["name"]: np.zeros((T, B, p["n"]), f32) for p in pops if p["kind"] == "alif"}
    I = {c["name"]: np.zeros((B, pops_by(pops, c["post"])["n"]), f32) for c in conns if c["exp"]}
    for p in pops:
        if p["kind"] == "source":
            out[p["name"]] = x[p["name"]].astype(f32)
        else:
            out[p["name"]] = np.zeros((T, B, p["n"]), f32)
            mem[p["name"]] = np.zeros((T, B, p["n"]), f32)
    for t in range(T):
        for p in pops:
            if p["kind"] == "source":
                continue
            name = p["name"]
            for c in [c for c in conns if c["post"] == name]:
                tp = t - c["delay"]
                if tp < 0:
                    continue
                target = I[c["name"]] if c["exp"] else v[name]
                pre_out = out[c["pre"]][tp]
                W = weights[c["name"]]
                for b in range(B):
                    if c["graded"]:
                        rows = np.nonzero(pre_out[b])[0]
                        if len(rows):
                            sums = np.zeros(W.shape[1], f32)
                            for i in rows:
                                sums += W[i] * pre_out[b, i]
                            target[b] += sums
                    else:
                        for i in np.nonzero(pre_out[b])[0]:
                            target[b] += W[i]
            exact = np.zeros_like(v[name])
            for c in [c for c in conns if c["post"] == name and c["exp"]]:
                exact = exact + I[c["name"]] * c["gain"]
            if p["kind"] == "if":
                v[name] = v[name] + exact
            else:
                v[name] = f32(p["v_rest"]) + ((v[name] - f32(p["v_rest"])) * p["decay"] + exact)
            mem[name][t] = v[name]
            if p["kind"] == "li":
                out[name][t] = v[name]
            else:
                threshold = f32(p["v_th"])
                if p["kind"] == "alif":
                    a[name] = a[name] * p["adapt_decay"]
                    a_step[name][t] = a[name]
                    threshold = f32(p["v_th"]) + a[name]
                s = v[name] > threshold
                out[name][t] = s
                if p["kind"] == "alif":
                    a[name] = np.where(s, a[name] + f32(p["delta_th"]), a[name])
                if p["reset"] == "subtract":
                    v[name] = np.where(s, v[name] - (f32(p["v_th"]) - f32(p["v_reset"])), v[name])
                else:
                    v[name] = np.where(s, f32(p["v_reset"]), v[name])
            for c in [c for c in conns if c["post"] == name and c["exp"]]:
                I[c["name"]] = I[c["name"]] * c["E"]
    # Backward, float64.
    g_out = {p["name"]: np.array(grad_out.get(p["name"], np.zeros_like(out[p["name"]])), np.float64)
             for p in pops if p["kind"] != "source" or input_grads is not None}
    gv = {name: np.zeros(val.shape) for name, val in v.items()}
    gI = {name: np.zeros(val.shape) for name, val in I.items()}
    ga = {name: np.zeros(val.shape) for name, val in a.items()}
    gW = {c["name"]: np.zeros(weights[c["name"]].shape) for c in conns}
    for t in reversed(range(T)):
        for p in reversed(pops):
            if p["kind"] == "source":
                continue
            name = p["name"]
            if p["kind"] == "li":
                gm = gv[name] + g_out[name][t]
            else:
                m = mem[name][t].astype(np.float64)
                s = out[name][t].astype(np.float64)
                gs = g_out[name][t].copy()
                threshold = float(p["v_th"])
                if p["kind"] == "alif":
                    gs += ga[name] * float(p["delta_th"])
                    threshold = f32(p["v_th"]) + a_step[name][t].astype(np.float64)
                if p["reset"] == "subtract":
                    gm = gv[name].copy()
                    if not detach:
                        gs -= gv[name] * (p["v_th"] - p["v_reset"])
                else:
                    gm = gv[name] * (1.0 - s)
                    if not detach:
                        gs += gv[name] * (p["v_reset"] - m)
                slope = gs * surrogate(p["surrogate"], p["scale"], m - threshold)
                gm = gm + slope
                if p["kind"] == "alif":
                    ga[name] = (ga[name] - slope) * float(p["adapt_decay"])
            gu = gm if p["kind"] == "if" else gm * p["decay"]
            arrival = {}
            for c in [c for c in conns if c["post"] == name]:
                if c["exp"]:
                    gI[c["name"]] = gI[c["name"]] * c["E"] + gm * c["gain"]
                    arrival[c["name"]] = gI[c["name"]]
                else:
                    arrival[c["name"]] = gu
            gv[name] = gu
            for c in [c for c in conns if c["post"] == name]:
                tp = t - c["delay"]
                if tp < 0:
                    continue
                pre_out = out[c["pre"]][tp].astype(np.float64)
                gW[c["name"]] += pre_out.T @ arrival[c["name"]]
                if c["pre"] in g_out:
                    g_out[c["pre"]][tp] += arrival[c["name"]] @ weights[c["name"]].astype(np.float64).T
    if input_grads is not None:
        input_grads.update({p["name"]: g_out[p["name"]] for p in pops if p["kind"] == "source"})
    return out, gW


def pops_by(pops, name):
    return next(p for p in pops if p["name"] == name)


def spec_of(reset="value", surrogate_name="fast_sigmoid"):
    """build()'s network as numpy_bptt takes it; coefficients as
    docs/models.md computes them (in double, rounded to float32)."""
    f32 = np.float32

    def decay(tau):
        return f32(math.exp(-DT / tau))

    def gain(tau_syn, tau_mem, kind):
        if kind == "if":
            return f32(tau_syn / tau_mem * (1.0 - math.exp(-DT / tau_syn)))
        return f32(tau_syn / (tau_syn - tau_mem) * (math.exp(-DT / tau_syn) - math.exp(-DT / tau_mem)))

    default_scale = {"fast_sigmoid": 25.0, "arctan": 2.0, "triangle": 1.0}[surrogate_name]
    pops = [
        dict(name="src", kind="source", n=12),
        dict(name="cur", kind="source", n=5),
        dict(name="hid", kind="lif", n=16, v_rest=0.0, v_reset=0.0, v_th=1.0, reset=reset, decay=decay(10e-3),
             surrogate=surrogate_name, scale=default_scale),
        dict(name="hid2", kind="if", n=9, v_reset=0.0, v_th=float(f32(0.6)), reset="subtract", surrogate=surrogate_name,
             scale=4.0),
        dict(name="out", kind="li", n=4, v_rest=0.0, decay=decay(20e-3)),
    ]
    conns = [
        dict(name="w1", pre="src", post="hid", delay=0, exp=False, graded=False),
        dict(name="w2", pre="cur", post="hid", delay=1, exp=True, graded=True, E=decay(5e-3),
             gain=gain(5e-3, 10e-3, "lif")),
        dict(name="w3", pre="hid", post="hid2", delay=2, exp=True, graded=False, E=decay(8e-3),
             gain=gain(8e-3, 20e-3, "if")),
        dict(name="w4", pre="hid", post="out", delay=0, exp=False, graded=False),
        dict(name="w5", pre="hid2", post="out", delay=1, exp=True, graded=False, E=decay(10e-3),
             gain=gain(10e-3, 20e-3, "lif")),
    ]
    return pops, conns


@pytest.mark.parametrize("reset,surrogate_name,detach", [
    ("value", "fast_sigmoid", False), ("subtract", "arctan", False), ("value", "triangle", True),
    ("subtract", "fast_sigmoid", True)])
def test_gradients_match_a_numpy_bptt(reset, surrogate_name, detach):
    steps, batch = 30, 4
    x = inputs(steps, batch, seed=9)
    net = build(batch, reset=reset, surrogate=surrogate_name)
    trainer = snn.Trainer(net, detach_reset=detach)
    trainer.forward(x)
    r = np.random.default_rng(2)
    grads_out = {"out": r.normal(0, 1, (steps, batch, 4)).astype(np.float32),
                 "hid": r.normal(0, 0.3, (steps, batch, 16)).astype(np.float32)}
    trainer.add_output_grad("out", "v", grads_out["out"])
    trainer.add_output_grad("hid", "spikes", grads_out["hid"])
    trainer.backward()
    weights = {name: net.weights(name) for name in net.connections}
    out, expected = numpy_bptt(spec_of(reset, surrogate_name), weights, x, grads_out, detach)
    np.testing.assert_array_equal(trainer.output("hid"), out["hid"])
    np.testing.assert_array_equal(trainer.output("hid2"), out["hid2"])
    for name, g in expected.items():
        got = trainer.grad(name)
        assert np.abs(g).max() > 1e-3, f"{name}: the gradient must not vanish for the test to mean something"
        np.testing.assert_allclose(got, g, rtol=2e-4, atol=2e-5 * np.abs(g).max(), err_msg=name)


def test_gradients_accumulate_until_zero_grad():
    steps, batch = 20, 2
    x = inputs(steps, batch)
    trainer = snn.Trainer(build(batch))
    labels = np.array([1, 3])
    trainer.forward(x)
    trainer.loss("out", "ce_mean_v", labels)
    trainer.backward()
    once = trainer.grad("w4")
    trainer.forward(x)
    trainer.loss("out", "ce_mean_v", labels)
    trainer.backward()
    np.testing.assert_allclose(trainer.grad("w4"), 2 * once, rtol=1e-6)
    trainer.zero_grad()
    assert not trainer.grad("w4").any()


def test_readout_gradient_matches_finite_differences():
    """current_source -> li (delta and exp): no spikes, so the loss is smooth
    and the exact gradient is the derivative."""
    steps, batch = 25, 3
    r = np.random.default_rng(4)
    xs = r.normal(0, 1, (steps, batch, 6)).astype(np.float32)
    labels = np.array([0, 2, 1])
    w_delta = r.normal(0, 0.5, (6, 3)).astype(np.float32)
    w_exp = r.normal(0, 0.5, (6, 3)).astype(np.float32)

    def make(wd, we):
        net = snn.Network(dt=DT, backend="reference")
        net.population("x", 6, "current_source")
        net.population("y", 3, "li", tau_mem=10e-3)
        net.connect("x", "y", weights=wd, delay=0, synapse="delta", name="d")
        net.connect("x", "y", weights=we, delay=1, synapse="exp", tau=4e-3, name="e")
        return net

    for loss in ("ce_mean_v", "ce_max_v"):
        trainer = snn.Trainer(make(w_delta, w_exp))
        trainer.forward({"x": xs})
        trainer.loss("y", loss, labels)
        trainer.backward()
        for name, w, other in (("d", w_delta, w_exp), ("e", w_exp, w_delta)):
            got = trainer.grad(name)
            numeric = np.zeros_like(w, dtype=np.float64)
            eps = 1e-2 if loss == "ce_mean_v" else 1e-3  # small enough that no maximum moves to another step
            for idx in np.ndindex(*w.shape):
                values = []
                for sign in (1, -1):
                    w2 = w.copy()
                    w2[idx] += sign * eps
                    t2 = snn.Trainer(make(w2, other) if name == "d" else make(other, w2))
                    t2.forward({"x": xs})
                    values.append(t2.loss("y", loss, labels))
                numeric[idx] = (values[0] - values[1]) / (2 * eps)
            np.testing.assert_allclose(got, numeric, rtol=2e-2, atol=2e-4, err_msg=f"{loss} {name}")


def test_count_losses_against_numpy():
    steps, batch = 30, 4
    x = inputs(steps, batch)
    trainer = snn.Trainer(build(batch))
    trainer.forward(x)
    counts = trainer.output("hid").sum(axis=0).astype(np.float64)  # [batch, 16]
    labels = np.array([3, 0, 15, 7])
    z = counts - counts.max(axis=1, keepdims=True)
    expected = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(batch), labels])
    assert trainer.loss("hid", "ce_count", labels) == pytest.approx(expected, rel=1e-9)
    target = np.random.default_rng(1).integers(0, 5, (batch, 16)).astype(np.float32)
    assert trainer.loss("hid", "mse_count", target) == pytest.approx(np.mean((counts - target) ** 2), rel=1e-9)
    v = trainer.output("out", "v").astype(np.float64)
    for loss, logits in (("ce_max_v", v.max(axis=0)), ("ce_mean_v", v.mean(axis=0))):
        z = logits - logits.max(axis=1, keepdims=True)
        want = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(batch), labels % 4])
        assert trainer.loss("out", loss, labels % 4) == pytest.approx(want, rel=1e-6)


# ---------------------------------------------------------------------------
# Optimizers: one step from a given gradient against the formulas (those of
# torch.optim, docs/training.md).

def one_layer(w):
    net = snn.Network(dt=DT, backend="reference")
    net.population("x", w.shape[0], "spike_source")
    net.population("y", w.shape[1], "li")
    net.connect("x", "y", weights=w, delay=0, synapse="delta", name="w")
    return net


@pytest.mark.parametrize("opt", ["sgd", "sgd_momentum", "adam", "adam_l2", "adamw", "clip"])
def test_optimizer_steps_follow_their_formulas(opt):
    r = np.random.default_rng(3)
    w = r.normal(0, 1, (5, 7)).astype(np.float32)
    grads = [r.normal(0, 1, w.shape).astype(np.float32) for _ in range(3)]
    net = one_layer(w)
    optimizer = {"sgd": snn.SGD(lr=0.1), "sgd_momentum": snn.SGD(lr=0.1, momentum=0.9, weight_decay=0.01),
                 "adam": snn.Adam(lr=0.01), "adam_l2": snn.Adam(lr=0.01, weight_decay=0.1),
                 "adamw": snn.AdamW(lr=0.01, weight_decay=0.1), "clip": snn.SGD(lr=0.5, clip_norm=1.0)}[opt]
    trainer = snn.Trainer(net, optimizer=optimizer)
    x = w.astype(np.float64)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for k, g in enumerate(grads, start=1):
        trainer.set_grad("w", g)
        trainer.step()
        g = g.astype(np.float64)
        if opt == "clip":
            norm = np.sqrt((g ** 2).sum())
            g = g * min(1.0, 1.0 / (norm + 1e-6))
            x = x - 0.5 * g
        elif opt.startswith("sgd"):
            if opt == "sgd_momentum":
                g = g + 0.01 * x
                m = 0.9 * m + g
                g = m
            x = x - 0.1 * g
        else:
            if opt == "adamw":
                x = x * (1 - 0.01 * 0.1)
            if opt == "adam_l2":
                g = g + 0.1 * x
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            x = x - 0.01 / (1 - 0.9 ** k) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** k) + 1e-8)
        np.testing.assert_allclose(net.weights("w"), x, rtol=2e-5, atol=2e-6, err_msg=f"{opt} step {k}")


def test_training_learns_to_classify_spike_patterns():
    """Two classes of noisy spike patterns; a hidden LIF layer and a LIF
    output trained on ce_count reach high accuracy, and the trained weights
    are the network's: a plain run classifies the same way."""
    r = np.random.default_rng(0)
    steps, n_in = 20, 30
    protos = (r.random((2, n_in)) < 0.3)

    def batch_of(size):
        y = r.integers(0, 2, size)
        x = (r.random((steps, size, n_in)) < 0.05) | (protos[y][None] & (r.random((steps, size, n_in)) < 0.6))
        return x.astype(np.uint8), y

    net = snn.Network(dt=DT, backend="cpu")
    net.population("x", n_in, "spike_source")
    net.population("h", 20, "lif", tau_mem=20e-3, v_rest=0.0, v_reset=0.0, v_th=1.0, reset="subtract")
    net.population("y", 2, "lif", tau_mem=20e-3, v_rest=0.0, v_reset=0.0, v_th=1.0, reset="subtract")
    net.connect("x", "h", weights=r.normal(0.1, 0.2, (n_in, 20)).astype(np.float32), delay=0, synapse="delta")
    net.connect("h", "y", weights=r.normal(0.1, 0.3, (20, 2)).astype(np.float32), delay=0, synapse="delta")
    trainer = snn.Trainer(net, optimizer=snn.Adam(lr=2e-2))
    losses = []
    for _ in range(60):
        x, y = batch_of(16)
        trainer.forward({"x": x})
        losses.append(trainer.loss("y", "ce_count", y))
        trainer.backward()
        trainer.step()
        trainer.zero_grad()
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    x, y = batch_of(64)
    trainer.forward({"x": x})
    predicted = trainer.output("y").sum(axis=0).argmax(axis=1)
    assert (predicted == y).mean() > 0.9
    run = snn.Network.from_bytes(net.to_bytes())
    run.set_batch(64)
    rec = run.run(steps, inputs={"x": x}, record=["y.spikes"])
    np.testing.assert_array_equal(rec["y.spikes"].astype(np.float32), trainer.output("y"))


def test_tape_is_bits_for_spikes():
    trainer = snn.Trainer(build(2))
    steps = 10
    trainer.forward(inputs(steps, 2))
    # spikes: 64-bit words per row; membranes of spiking layers and li outputs as float32; graded inputs as float32.
    words = lambda n: (n + 63) // 64 * 8
    expected = steps * 2 * (words(12) + 5 * 4 + (words(16) + 16 * 4) + (words(9) + 9 * 4) + 4 * 4)
    assert trainer.tape_bytes == expected


# ---------------------------------------------------------------------------
# Errors: typed exceptions with the core's message, nothing crashes.

def test_errors_are_clear():
    net = snn.Network(dt=DT, backend="reference")
    net.population("p", 3, "poisson")
    net.population("y", 2, "lif")
    net.connect("p", "y", weights=np.ones((3, 2), np.float32))
    with pytest.raises(snn.UnsupportedError, match="poisson"):
        snn.Trainer(net)

    net = snn.Network(dt=DT, backend="reference")
    net.population("x", 3, "spike_source")
    net.population("y", 2, "izhikevich")
    with pytest.raises(snn.UnsupportedError, match="izhikevich"):
        snn.Trainer(net)

    net = snn.Network(dt=DT, backend="reference")
    net.population("x", 3, "spike_source")
    net.population("y", 2, "lif", t_ref=5e-3)
    net.connect("x", "y", weights=np.ones((3, 2), np.float32))
    trainer = snn.Trainer(net)
    with pytest.raises(snn.UnsupportedError, match="t_ref"):
        trainer.forward({"x": np.zeros((4, 1, 3), np.float32)})

    net = one_layer(np.ones((3, 2), np.float32))
    trainer = snn.Trainer(net)
    with pytest.raises(snn.StateError, match="no forward pass"):
        trainer.loss("y", "ce_mean_v", [0])
    with pytest.raises(snn.ShapeError):
        trainer.forward({"x": np.zeros((4, 1, 5), np.float32)})
    with pytest.raises(snn.InvalidArgumentError, match="not a source"):
        trainer.forward({"y": np.zeros((4, 1, 2), np.float32)})
    trainer.forward({"x": np.ones((4, 2, 3), np.float32)})
    with pytest.raises(snn.StateError, match="nothing to backpropagate"):
        trainer.backward()
    with pytest.raises(snn.OutOfRangeError, match="label 5"):
        trainer.loss("y", "ce_mean_v", [0, 5])
    with pytest.raises(snn.InvalidArgumentError, match="expected ce_count"):
        trainer.loss("y", "hinge", [0, 1])
    with pytest.raises(snn.InvalidArgumentError, match="li readout|spiking"):
        trainer.loss("y", "ce_count", [0, 1])
    with pytest.raises(snn.ShapeError):
        trainer.set_grad("w", np.zeros((2, 2)))
    with pytest.raises(snn.InvalidArgumentError, match="finite"):
        trainer.set_grad("w", np.full((3, 2), np.nan))
    with pytest.raises(snn.InvalidArgumentError, match="learning_rate"):
        trainer.optimizer = snn.SGD(lr=-1.0)
    with pytest.raises(snn.InvalidArgumentError, match="beta1"):
        trainer.optimizer = snn.Adam(betas=(1.0, 0.9))
    net.population("late", 2, "li")
    with pytest.raises(snn.StateError, match="new trainer"):
        trainer.forward({"x": np.ones((4, 2, 3), np.float32)})


def run_variant(backend, threads, simd, steps=25, batch=5):
    x = inputs(steps, batch, seed=4)
    try:
        context = snn.Context(backend=backend, threads=threads, simd=simd or "auto")
    except snn.UnsupportedError:
        return None  # this CPU lacks the level
    net = snn.Network.from_bytes(build(batch).to_bytes(), context=context)
    trainer = snn.Trainer(net)
    trainer.forward(x)
    loss = trainer.loss("out", "ce_mean_v", np.array([0, 1, 2, 3, 1]))
    trainer.backward()
    return loss, trainer.output("hid"), trainer.output("out", "v"), [trainer.grad(name) for name in ("w1", "w2", "w3", "w4", "w5")]


def assert_same(a, b):
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
    for got, want in zip(a[3], b[3]):
        np.testing.assert_array_equal(got, want)


def test_results_do_not_depend_on_threads_or_simd_level():
    """Decision 5: the same bits on any number of threads; at the generic
    level the cpu backend's trainer computes the reference's bits; at the
    levels with fused multiply-add the dense product (the current source
    "cur" through "w2") stays within float32 rounding of them."""
    reference = run_variant("reference", 1, None)
    for variant in (("reference", 2, None), ("cpu", 1, "generic"), ("cpu", 3, "generic")):
        assert_same(run_variant(*variant), reference)
    for level in ("avx2", "avx512", None):
        one = run_variant("cpu", 1, level)
        if one is None:
            continue
        assert_same(run_variant("cpu", 2, level), one)
        np.testing.assert_array_equal(one[1], reference[1])  # no spike moved
        np.testing.assert_allclose(one[2], reference[2], rtol=1e-5, atol=1e-6)
        for got, want in zip(one[3], reference[3]):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_recurrent_gradients_match_a_numpy_bptt():
    """A recurrent layer (a dense connection onto itself, delay 1, as
    snnTorch's RLeaky) and a readout: BPTT through the loop."""
    steps, batch = 40, 3
    r = np.random.default_rng(12)
    net = snn.Network(dt=DT, batch=batch, seed=3, backend="reference")
    net.population("src", 12, "spike_source")
    net.population("hid", 16, "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0, reset="subtract")
    net.population("out", 4, "li", tau_mem=20e-3, v_rest=0.0)
    net.connect("src", "hid", weights=r.normal(0.4, 0.4, (12, 16)).astype(np.float32), delay=0, synapse="delta", name="w1")
    net.connect("hid", "hid", weights=r.normal(0.0, 0.3, (16, 16)).astype(np.float32), delay=1, synapse="delta", name="rec")
    net.connect("hid", "out", weights=r.normal(0.0, 0.5, (16, 4)).astype(np.float32), delay=0, synapse="delta", name="w2")
    x = {"src": (r.random((steps, batch, 12)) < 0.3).astype(np.float32)}
    trainer = snn.Trainer(net)
    trainer.forward(x)
    g = {"out": r.normal(0, 1, (steps, batch, 4)).astype(np.float32)}
    trainer.add_output_grad("out", "v", g["out"])
    trainer.backward()
    f32 = np.float32
    pops = [dict(name="src", kind="source", n=12),
            dict(name="hid", kind="lif", n=16, v_rest=0.0, v_reset=0.0, v_th=1.0, reset="subtract",
                 decay=f32(math.exp(-DT / 10e-3)), surrogate="fast_sigmoid", scale=25.0),
            dict(name="out", kind="li", n=4, v_rest=0.0, decay=f32(math.exp(-DT / 20e-3)))]
    conns = [dict(name="w1", pre="src", post="hid", delay=0, exp=False, graded=False),
             dict(name="rec", pre="hid", post="hid", delay=1, exp=False, graded=False),
             dict(name="w2", pre="hid", post="out", delay=0, exp=False, graded=False)]
    weights = {name: net.weights(name) for name in net.connections}
    out, expected = numpy_bptt((pops, conns), weights, x, g, detach=False)
    np.testing.assert_array_equal(trainer.output("hid"), out["hid"])
    assert out["hid"].sum() > 100
    for name, want in expected.items():
        assert np.abs(want).max() > 1e-3, name
        np.testing.assert_allclose(trainer.grad(name), want, rtol=2e-4, atol=2e-5 * np.abs(want).max(), err_msg=name)


def test_sparse_and_one_to_one_connections_train_as_their_dense_equivalent():
    """A sparse connection's gradient is the dense gradient at its synapses,
    bit for bit (the same additions in the same order; a dense zero adds
    nothing), and so are its spikes: here a sparse input layer with exp
    synapses, a sparse recurrent connection and a one-to-one connection."""
    steps, batch = 30, 3
    r = np.random.default_rng(21)
    n_in, n_h = 14, 12
    mask = r.random((n_in, n_h)) < 0.3
    rec_mask = (r.random((n_h, n_h)) < 0.25) & ~np.eye(n_h, dtype=bool)
    w_in = np.where(mask, r.normal(0.8, 0.4, (n_in, n_h)), 0).astype(np.float32)
    w_rec = np.where(rec_mask, r.normal(0.0, 0.4, (n_h, n_h)), 0).astype(np.float32)
    w_diag = r.normal(0.3, 0.2, n_h).astype(np.float32)
    x = {"src": (r.random((steps, batch, n_in)) < 0.35).astype(np.float32)}

    def run(sparse):
        net = snn.Network(dt=DT, batch=batch, backend="reference")
        net.population("src", n_in, "spike_source")
        net.population("hid", n_h, "lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
        net.population("out", n_h, "li", tau_mem=20e-3, v_rest=0.0)
        if sparse:
            i, j = np.nonzero(mask)
            net.connect("src", "hid", pairs=(i, j), weights=w_in[i, j], delay=1, synapse="exp", tau=5e-3, name="a")
            i, j = np.nonzero(rec_mask)
            net.connect("hid", "hid", pairs=(i, j), weights=w_rec[i, j], delay=1, synapse="delta", name="b")
            net.connect("hid", "out", one_to_one=True, weights=w_diag, delay=0, synapse="delta", name="c")
        else:
            net.connect("src", "hid", weights=w_in, delay=1, synapse="exp", tau=5e-3, name="a")
            net.connect("hid", "hid", weights=w_rec, delay=1, synapse="delta", name="b")
            net.connect("hid", "out", weights=np.diag(w_diag).astype(np.float32), delay=0, synapse="delta", name="c")
        trainer = snn.Trainer(net)
        trainer.forward(x)
        loss = trainer.loss("out", "ce_mean_v", np.array([1, 5, 9]))
        trainer.backward()
        return trainer, net, loss

    sparse, sparse_net, loss_s = run(True)
    dense, _, loss_d = run(False)
    assert loss_s == loss_d
    np.testing.assert_array_equal(sparse.output("hid"), dense.output("hid"))
    assert sparse.output("hid").sum() > 50
    for name, m in (("a", mask), ("b", rec_mask), ("c", np.eye(n_h, dtype=bool))):
        pre, post, _ = sparse_net.synapses(name)
        got = sparse.grad(name)
        assert got.shape == (m.sum(),)
        want = dense.grad(name)[pre, post]
        assert np.abs(want).max() > 1e-4, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    # An optimizer step moves the sparse weights as it moves the dense ones at the synapses.
    sparse.step()
    dense.step()
    pre, post, _ = sparse_net.synapses("b")
    np.testing.assert_array_equal(sparse_net.weights("b"), dense.network.weights("b")[pre, post])


def test_adaptive_lif_gradients_match_a_numpy_bptt():
    """alif: the threshold v_th + a rises by delta_th per spike and decays;
    BPTT runs through a as well as v."""
    steps, batch = 40, 3
    r = np.random.default_rng(31)
    net = snn.Network(dt=DT, batch=batch, backend="reference")
    net.population("src", 10, "spike_source")
    net.population("hid", 14, "alif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0, tau_adapt=30e-3, delta_th=0.3,
                   reset="subtract", surrogate="arctan")
    net.population("out", 3, "li", tau_mem=20e-3, v_rest=0.0)
    net.connect("src", "hid", weights=r.normal(0.6, 0.4, (10, 14)).astype(np.float32), delay=0, synapse="delta", name="w1")
    net.connect("hid", "out", weights=r.normal(0.0, 0.5, (14, 3)).astype(np.float32), delay=0, synapse="delta", name="w2")
    x = {"src": (r.random((steps, batch, 10)) < 0.4).astype(np.float32)}
    trainer = snn.Trainer(net)
    trainer.forward(x)
    g = {"out": r.normal(0, 1, (steps, batch, 3)).astype(np.float32)}
    trainer.add_output_grad("out", "v", g["out"])
    trainer.backward()
    f32 = np.float32
    pops = [dict(name="src", kind="source", n=10),
            dict(name="hid", kind="alif", n=14, v_rest=0.0, v_reset=0.0, v_th=1.0, reset="subtract",
                 decay=f32(math.exp(-DT / 10e-3)), adapt_decay=f32(math.exp(-DT / 30e-3)), delta_th=f32(0.3),
                 surrogate="arctan", scale=2.0),
            dict(name="out", kind="li", n=3, v_rest=0.0, decay=f32(math.exp(-DT / 20e-3)))]
    conns = [dict(name="w1", pre="src", post="hid", delay=0, exp=False, graded=False),
             dict(name="w2", pre="hid", post="out", delay=0, exp=False, graded=False)]
    weights = {name: net.weights(name) for name in net.connections}
    out, expected = numpy_bptt((pops, conns), weights, x, g, detach=False)
    np.testing.assert_array_equal(trainer.output("hid"), out["hid"])
    assert out["hid"].sum() > 80
    rec = snn.Network.from_bytes(net.to_bytes()).run(steps, inputs=x, record=["hid.spikes"])
    np.testing.assert_array_equal(rec["hid.spikes"].astype(np.float32), out["hid"])  # the adaptation is the network's
    for name, want in expected.items():
        assert np.abs(want).max() > 1e-3, name
        np.testing.assert_allclose(trainer.grad(name), want, rtol=2e-4, atol=2e-5 * np.abs(want).max(), err_msg=name)


def test_carry_state_cuts_a_sequence_into_pieces():
    """Truncated BPTT: a 60-step sequence given as three passes of 20 with
    carry_state runs exactly as one pass of 60 (state, delayed spikes and
    delayed currents cross the cuts); backward works on each piece; a new
    sequence starts with reset_state."""
    steps, batch = 60, 3
    x = inputs(steps, batch, seed=13)
    whole = snn.Trainer(build(batch))
    whole.forward(x)
    pieces = snn.Trainer(build(batch), carry_state=True)
    outs = {"hid": [], "hid2": [], "out": []}
    for k in range(3):
        part = {name: v[20 * k:20 * (k + 1)] for name, v in x.items()}
        pieces.forward(part)
        for name in outs:
            outs[name].append(pieces.output(name, "v"))
        pieces.loss("out", "ce_mean_v", np.array([0, 1, 2]))
        pieces.backward()
        assert np.isfinite(pieces.grad("w3")).all() and np.abs(pieces.grad("w3")).max() > 0
        pieces.zero_grad()
    for name in outs:
        np.testing.assert_array_equal(np.concatenate(outs[name]), whole.output(name, "v"), err_msg=name)
    with pytest.raises(snn.StateError, match="batch"):
        pieces.forward({name: v[:20, :2] for name, v in x.items()})
    pieces.reset_state()
    pieces.forward({name: v[:20] for name, v in x.items()})
    np.testing.assert_array_equal(pieces.output("hid2", "v"), whole.output("hid2", "v")[:20])


def test_input_gradients_match_a_numpy_bptt():
    """input_grads: dL/d(input) of the sources (spikes through delta, delay
    0; a current through exp synapses, delay 1: the dense product)."""
    steps, batch = 30, 4
    x = inputs(steps, batch, seed=17)
    net = build(batch)
    trainer = snn.Trainer(net, input_grads=True)
    with pytest.raises(snn.StateError, match="backward"):
        trainer.input_grad("src")
    trainer.forward(x)
    r = np.random.default_rng(3)
    g = {"out": r.normal(0, 1, (steps, batch, 4)).astype(np.float32)}
    trainer.add_output_grad("out", "v", g["out"])
    trainer.backward()
    weights = {name: net.weights(name) for name in net.connections}
    got_inputs = {}
    numpy_bptt(spec_of(), weights, x, g, False, input_grads=got_inputs)
    for name in ("src", "cur"):
        want = got_inputs[name]
        assert np.abs(want).max() > 1e-3, name
        np.testing.assert_allclose(trainer.input_grad(name), want, rtol=2e-4, atol=2e-5 * np.abs(want).max(), err_msg=name)
    with pytest.raises(snn.InvalidArgumentError, match="not a source"):
        trainer.input_grad("hid")
    with pytest.raises(snn.StateError, match="input_grads"):
        plain = snn.Trainer(build(batch))
        plain.forward(x)
        plain.add_output_grad("out", "v", g["out"])
        plain.backward()
        plain.input_grad("src")


class DLPackOnly:
    """A tensor that offers only the DLPack protocol (as a PyTorch CPU tensor
    does), to check that inputs are read through it without a copy."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_dlpack_inputs_are_read_without_a_copy():
    steps, batch = 12, 2
    x = inputs(steps, batch)
    a = snn.Trainer(build(batch))
    a.forward(x)
    b = snn.Trainer(build(batch))
    b.forward({name: DLPackOnly(v) for name, v in x.items()})
    np.testing.assert_array_equal(a.output("out", "v"), b.output("out", "v"))
    assert np.shares_memory(snn._lib.as_array(DLPackOnly(x["cur"])), x["cur"])
    # Outputs are NumPy arrays, which speak DLPack: torch.from_dlpack(out) shares their memory.
    assert hasattr(a.output("hid"), "__dlpack__")


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_passes_do_not_leak_gradients_into_each_other(backend):
    """The gradients reaching each population are zeroed as the backward
    pass reads them, and a forward pass clears what a loss added without a
    backward pass: repeated passes, and a loss left behind, give the
    gradients of one clean pass bit for bit."""
    steps, batch = 20, 3
    x = inputs(steps, batch, seed=9)
    labels = np.array([0, 2, 1])

    def clean():
        trainer = snn.Trainer(build(batch, backend=backend))
        trainer.forward(x)
        trainer.loss("out", "ce_mean_v", labels)
        trainer.backward()
        return [trainer.grad(name).copy() for name in ("w1", "w2", "w3", "w4", "w5")]

    want = clean()
    assert all(np.abs(g).max() > 0 for g in want)
    trainer = snn.Trainer(build(batch, backend=backend))
    trainer.forward(x)
    trainer.loss("out", "ce_mean_v", np.array([3, 3, 3]))  # left behind: the next forward pass drops it
    trainer.forward(x)
    trainer.loss("out", "ce_mean_v", labels)
    trainer.backward()
    for _ in range(2):  # and again after a backward pass
        got = [trainer.grad(name).copy() for name in ("w1", "w2", "w3", "w4", "w5")]
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
        trainer.zero_grad()
        trainer.forward(x)
        trainer.loss("out", "ce_mean_v", labels)
        trainer.backward()
