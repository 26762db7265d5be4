"""Learning rules (docs/models.md, "Plasticity") against a NumPy statement of
their equations, run on the spike trains the network itself produced: the
weights and traces must come out bit for bit on every backend, with batch > 1
and delays. Plus the modulator model, freezing, reset, set_batch, files and
the errors."""

import numpy as np
import pytest

import snn
from snn.errors import InvalidArgumentError, NotFoundError, StateError, UnsupportedError

BACKENDS = snn.backends()
F = np.float32
DT = 1e-3


# ---------------------------------------------------------------------------
# The NumPy statement of phase 5


def _decay(tau):
    return F(np.exp(-DT / float(F(tau))))


def _factor(distance, rng, mu):
    mu = F(mu)
    if mu == 0:
        return np.ones_like(distance)
    x = np.maximum(distance / rng, F(0))
    return x if mu == 1 else np.power(x, mu)


def _learning_spikes(post_spikes, once, limit, channel_size=1):
    """The postsynaptic spikes that learn under learn_once / learn_limit
    (per instance, neurons ascending, until the next reset), [T, B, n]."""
    steps, batch, n = post_spikes.shape
    out = np.zeros_like(post_spikes)
    for b in range(batch):
        seen, count = set(), 0
        for t in range(steps):
            for j in np.flatnonzero(post_spikes[t, b]):
                group = j if once == "neuron" else j // channel_size
                if (once != "none" and group in seen) or (limit and count >= limit):
                    continue
                seen.add(group)
                count += 1
                out[t, b, j] = True
    return out


def reference(rule, p, syn_pre, syn_post, w0, pre_spikes, post_spikes, delay, pairing="all_to_all",
              modulation=None, learning=True, normalize="none", learning_spikes=None):
    """Runs phase 5 over recorded spikes. syn_pre/syn_post: the synapses in
    the connection's order; spikes [T, B, n] bool; modulation [T, B, n_mod]."""
    p = {k: F(v) for k, v in p.items()}
    steps, batch, n_pre = pre_spikes.shape
    n_post = post_spikes.shape[2]
    nnz = syn_pre.size
    w = w0.astype(F).ravel().copy()
    w_min, w_max = p.get("w_min", F(0)), p.get("w_max", F(1))
    rng = F(w_max - w_min)
    lag = max(delay - 1, 0)
    nearest = pairing == "nearest"
    triplet = rule == "triplet"
    reward = rule == "rstdp"
    sign = rule == "stdp_sign"
    if sign:  # x_pre: spiked since the reset (no decay); no x_post
        nearest = True
    tp, tm = (F(np.inf), F(np.inf)) if sign else (p["tau_plus"], p["tau_minus"])
    pre1 = np.zeros((batch, n_pre), F)
    pre2 = np.zeros((batch, n_pre), F)
    post1 = np.zeros((batch, n_post), F)
    post2 = np.zeros((batch, n_post), F)
    elig = np.zeros((batch, nnz), F)

    def bump(x):
        return np.ones_like(x) if nearest else x + F(1)

    for t in range(steps):
        pre1 *= _decay(tp)
        post1 *= _decay(tm)
        if triplet:
            pre2 *= _decay(p["tau_x"])
            post2 *= _decay(p["tau_y"])
        if reward:
            elig *= _decay(p["tau_e"])
        # presynaptic events
        acc = np.zeros(nnz, F)
        touched = np.zeros(nnz, bool)
        for b in range(batch):
            fired = pre_spikes[t - lag, b] if t - lag >= 0 else np.zeros(n_pre, bool)
            on = fired[syn_pre]
            if learning and not reward and not sign:
                if triplet:
                    factor = p["a2_minus"] + p["a3_minus"] * pre2[b, syn_pre]
                    d = -(post1[b, syn_post] * factor)
                else:
                    d = -((p["a_minus"] * _factor(w - w_min, rng, p["mu_minus"])) * post1[b, syn_post])
                acc[on] = acc[on] + d[on]
                touched |= on
            elif reward:
                e = elig[b]
                e[on] = e[on] + (-(p["a_minus"] * post1[b, syn_post]))[on]
            pre1[b, fired] = bump(pre1[b, fired])
            if triplet:
                pre2[b, fired] = bump(pre2[b, fired])
        w[touched] = np.clip(w[touched] + acc[touched], w_min, w_max)
        # postsynaptic events
        acc = np.zeros(nnz, F)
        touched = np.zeros(nnz, bool)
        for b in range(batch):
            fired = post_spikes[t, b]
            on = (fired if learning_spikes is None else learning_spikes[t, b])[syn_post]
            if learning and not reward:
                if sign:
                    d = np.where(pre1[b, syn_pre] > 0, p["a_plus"], -p["a_minus"]).astype(F) * \
                        (((w - w_min) * (w_max - w)) / rng)
                elif triplet:
                    factor = p["a2_plus"] + p["a3_plus"] * post2[b, syn_post]
                    d = pre1[b, syn_pre] * factor
                else:
                    d = (p["a_plus"] * _factor(w_max - w, rng, p["mu_plus"])) * pre1[b, syn_pre]
                acc[on] = acc[on] + d[on]
                touched |= on
            elif reward:
                e = elig[b]
                e[on] = e[on] + (p["a_plus"] * pre1[b, syn_pre])[on]
            if not sign:
                post1[b, fired] = bump(post1[b, fired])
            if triplet:
                post2[b, fired] = bump(post2[b, fired])
        w[touched] = np.clip(w[touched] + acc[touched], w_min, w_max)
        if reward and learning:
            m = modulation[t]
            if np.any(m != 0):
                j = syn_post if m.shape[1] > 1 else np.zeros(nnz, int)
                s = np.zeros(nnz, F)
                for b in range(batch):
                    s = s + m[b, j] * elig[b]
                w = np.clip(w + p["eta"] * s, w_min, w_max)
        if learning and normalize != "none" and p.get("norm", 0) > 0 and (t + 1) % int(p["norm_interval"]) == 0:
            side = syn_post if normalize == "post" else syn_pre
            sums = np.zeros(n_post if normalize == "post" else n_pre, F)
            for k in range(nnz):  # the connection's order: ascending presynaptic neuron
                sums[side[k]] = sums[side[k]] + w[k]
            factor = np.where(sums != 0, p["norm"] / np.where(sums != 0, sums, F(1)), F(1)).astype(F)
            w = np.clip(w * factor[side], w_min, w_max)
    traces = {"pre1": pre1, "pre2": pre2, "post1": post1, "post2": post2, "eligibility": elig}
    return w, traces


# ---------------------------------------------------------------------------
# Networks that produce rich spike trains: pre is driven by random input
# spikes, post by a strong drive of its own plus the plastic connection.


def _network(backend, batch, n_pre, n_post, kind, delay, rule, params, seed=1, modulator=None, steps=120):
    rng = np.random.default_rng(seed)
    net = snn.Network(dt=DT, batch=batch, backend=backend, seed=seed)
    pre = net.population("pre", n_pre, model="spike_source")
    drive = net.population("drive", n_post, model="spike_source")
    post = net.population("post", n_post, model="lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
    net.connect(drive, post, one_to_one=True, weight=1.5)
    extra = dict(params)
    if modulator is not None:
        extra["modulator"] = modulator
        net.population(modulator, 1, model="modulator", tau=0.0)
    if kind == "dense":
        w0 = rng.uniform(0.2, 0.8, (n_pre, n_post)).astype(F)
        conn = net.connect(pre, post, w0, delay=delay, plasticity=rule, **extra)
    elif kind == "sparse":
        import scipy.sparse as sp
        dense = rng.uniform(0.2, 0.8, (n_pre, n_post)).astype(F) * (rng.random((n_pre, n_post)) < 0.4)
        conn = net.connect(pre, post, sp.csr_matrix(dense), delay=delay, plasticity=rule, **extra)
    else:
        conn = net.connect(pre, post, rng.uniform(0.2, 0.8, n_pre).astype(F), one_to_one=True, delay=delay,
                           plasticity=rule, **extra)
    inputs = {"pre": rng.random((steps, batch, n_pre)) < 0.15, "drive": rng.random((steps, batch, n_post)) < 0.1}
    return net, conn, inputs


def _synapses(net, conn):
    pre_ids, post_ids, _ = net.synapses(conn)
    return pre_ids.astype(np.int64), post_ids.astype(np.int64)


CASES = [
    # (rule, kind, delay, pairing, params)
    ("stdp", "dense", 1, "all_to_all", dict(a_plus=0.02, a_minus=0.021, tau_plus=15e-3, tau_minus=25e-3)),
    ("stdp", "sparse", 3, "nearest", dict(a_plus=0.03, a_minus=0.02, mu_plus=1.0, mu_minus=1.0, w_min=0.1, w_max=0.9)),
    ("stdp", "one_to_one", 0, "all_to_all", dict(a_plus=0.05, a_minus=0.04, mu_minus=1.0)),
    ("triplet", "dense", 2, "all_to_all", dict(a2_plus=5e-3, a3_plus=6e-3, a2_minus=7e-3, a3_minus=2e-3)),
    ("triplet", "sparse", 1, "nearest", dict(a2_plus=0.01, a3_plus=0.02, a2_minus=0.01, a3_minus=0.005)),
    ("stdp_sign", "dense", 2, None, dict(a_plus=0.05, a_minus=0.04)),
    ("stdp_sign", "sparse", 1, None, dict(a_plus=0.03, a_minus=0.05, w_min=0.1, w_max=0.9)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule,kind,delay,pairing,params", CASES)
def test_rule_matches_numpy(backend, rule, kind, delay, pairing, params):
    batch, steps = 3, 120
    n_pre = 6 if kind == "one_to_one" else 9
    extra = dict(params) if pairing is None else dict(params, pairing=pairing)
    net, conn, inputs = _network(backend, batch, n_pre, 6, kind, delay, rule, extra, steps=steps)
    syn_pre, syn_post = _synapses(net, conn)
    w0 = net.weights(conn)
    rec = net.run(steps, inputs=inputs, record=["pre.spikes", "post.spikes"])
    assert rec["post.spikes"].sum() > 20 and rec["pre.spikes"].sum() > 50
    full = {**{k: v.default for k, v in snn.model_params(rule, "plasticity").items() if v.kind == "number"}, **params}
    w, traces = reference(rule, full, syn_pre, syn_post, w0, rec["pre.spikes"], rec["post.spikes"], delay,
                          pairing or "all_to_all")
    got = net.weights(conn).ravel()
    assert not np.array_equal(got, w0.ravel())  # it learned
    np.testing.assert_array_equal(got, w)
    names = {"triplet": ["r1", "r2", "o1", "o2"], "stdp_sign": ["x_pre", None, None, None]}.get(
        rule, ["x_pre", None, "x_post", None])
    for name, key in zip(names, ["pre1", "pre2", "post1", "post2"]):
        if name:
            np.testing.assert_array_equal(net.state(conn, name), traces[key], err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind,mode", [("dense", "post"), ("sparse", "pre"), ("sparse", "post")])
def test_normalisation(backend, kind, mode):
    # Every 7 steps each neuron's incoming (post) or outgoing (pre) weights
    # are scaled to sum to norm, as Diehl & Cook 2015 keep the input to each
    # excitatory neuron constant.
    params = dict(a_plus=0.02, a_minus=0.021, norm=2.5, norm_interval=7, w_max=3.0)
    net, conn, inputs = _network(backend, 2, 9, 6, kind, 1, "stdp", dict(params, normalize=mode))
    syn_pre, syn_post = _synapses(net, conn)
    w0 = net.weights(conn).ravel()
    rec = net.run(119, inputs={k: v[:119] for k, v in inputs.items()}, record=["pre.spikes", "post.spikes"])
    full = {**{k: v.default for k, v in snn.model_params("stdp", "plasticity").items() if v.kind == "number"}, **params}
    w, _ = reference("stdp", full, syn_pre, syn_post, w0, rec["pre.spikes"], rec["post.spikes"], 1, normalize=mode)
    np.testing.assert_array_equal(net.weights(conn).ravel(), w)
    # The last of the 119 steps (118) normalised: every sum is norm.
    side = syn_post if mode == "post" else syn_pre
    sums = np.bincount(side, weights=w.astype(np.float64))
    np.testing.assert_allclose(sums[sums > 0], 2.5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fractional_weight_dependence(backend):
    # mu in (0, 1) goes through powf: equal to NumPy's power within an ulp or two.
    params = dict(a_plus=0.02, a_minus=0.02, mu_plus=0.5, mu_minus=0.3)
    net, conn, inputs = _network(backend, 2, 8, 5, "dense", 1, "stdp", params)
    syn_pre, syn_post = _synapses(net, conn)
    w0 = net.weights(conn)
    rec = net.run(120, inputs=inputs, record=["pre.spikes", "post.spikes"])
    full = {**{k: v.default for k, v in snn.model_params("stdp", "plasticity").items() if v.kind == "number"}, **params}
    w, _ = reference("stdp", full, syn_pre, syn_post, w0, rec["pre.spikes"], rec["post.spikes"], 1)
    np.testing.assert_allclose(net.weights(conn).ravel(), w, rtol=1e-5, atol=1e-7)


def test_backends_agree_bit_for_bit():
    weights = []
    for backend in BACKENDS:
        net, conn, inputs = _network(backend, 4, 30, 12, "dense", 2, "stdp", dict(a_plus=0.02, a_minus=0.021), steps=150)
        net.run(150, inputs=inputs)
        weights.append(net.weights(conn))
    for w in weights[1:]:
        np.testing.assert_array_equal(w, weights[0])


# ---------------------------------------------------------------------------
# rstdp and the modulator


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("per_neuron,delay", [(False, 1), (True, 1), (True, 3)])
def test_rstdp_with_host_reward(backend, per_neuron, delay):
    batch, steps, n_pre, n_post = 3, 150, 8, 5
    rng = np.random.default_rng(7)
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    pre = net.population("pre", n_pre, model="spike_source")
    drive = net.population("drive", n_post, model="spike_source")
    post = net.population("post", n_post, model="lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
    net.population("reward", n_post if per_neuron else 1, model="modulator", tau=20e-3)
    net.connect(drive, post, one_to_one=True, weight=1.5)
    w0 = rng.uniform(0.2, 0.8, (n_pre, n_post)).astype(F)
    params = dict(a_plus=1.0, a_minus=1.2, tau_e=50e-3, eta=0.01)
    conn = net.connect(pre, post, w0, delay=delay, plasticity="rstdp", modulator="reward", **params)
    n_mod = n_post if per_neuron else 1
    reward = np.where(rng.random((steps, batch, n_mod)) < 0.05, rng.normal(0, 1, (steps, batch, n_mod)), 0).astype(F)
    inputs = {"pre": rng.random((steps, batch, n_pre)) < 0.15, "drive": rng.random((steps, batch, n_post)) < 0.1,
              "reward": reward}
    rec = net.run(steps, inputs=inputs, record=["pre.spikes", "post.spikes", "reward.m"])
    # The modulator: m <- m * exp(-dt/tau) + input.
    m = np.zeros((batch, n_mod), F)
    for t in range(steps):
        m = m * _decay(20e-3) + reward[t]
        np.testing.assert_array_equal(rec["reward.m"][t], m)
    syn_pre, syn_post = _synapses(net, conn)
    full = {**{k: v.default for k, v in snn.model_params("rstdp", "plasticity").items() if v.kind == "number"}, **params}
    w, traces = reference("rstdp", full, syn_pre, syn_post, w0.ravel(), rec["pre.spikes"], rec["post.spikes"], delay,
                          modulation=rec["reward.m"])
    got = net.weights(conn)
    assert not np.array_equal(got, w0)
    np.testing.assert_array_equal(got, w.reshape(n_pre, n_post))
    np.testing.assert_array_equal(net.state(conn, "eligibility"), traces["eligibility"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_dopamine_arrives_through_a_delayed_connection(backend):
    # A modulatory population's spikes reach the modulator 7 steps later,
    # scaled by the connection's weight; learning follows m.
    batch, steps = 2, 100
    rng = np.random.default_rng(3)
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    pre = net.population("pre", 6, model="spike_source")
    drive = net.population("drive", 4, model="spike_source")
    post = net.population("post", 4, model="lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
    da = net.population("da", 3, model="spike_source")
    net.population("dopamine", 1, model="modulator", tau=0.1)
    net.connect(drive, post, one_to_one=True, weight=1.5)
    net.connect(da, "dopamine", np.full((3, 1), 0.5, F), delay=7)
    w0 = rng.uniform(0.2, 0.8, (6, 4)).astype(F)
    conn = net.connect(pre, post, w0, plasticity="rstdp", modulator="dopamine", eta=0.05, tau_e=0.2)
    da_spikes = rng.random((steps, batch, 3)) < 0.05
    rec = net.run(steps, inputs={"pre": rng.random((steps, batch, 6)) < 0.2, "drive": rng.random((steps, batch, 4)) < 0.1,
                                 "da": da_spikes},
                  record=["pre.spikes", "post.spikes", "dopamine.m"])
    m = np.zeros((batch, 1), F)
    for t in range(steps):
        arrived = np.zeros((batch, 1), F)
        if t >= 7:
            for b in range(batch):
                for i in np.flatnonzero(da_spikes[t - 7, b]):
                    arrived[b, 0] = arrived[b, 0] + F(0.5)
        m = m * _decay(0.1) + arrived
        np.testing.assert_array_equal(rec["dopamine.m"][t], m)
    assert rec["dopamine.m"][:7].max() == 0 and rec["dopamine.m"].max() > 0
    syn_pre, syn_post = _synapses(net, conn)
    full = {**{k: v.default for k, v in snn.model_params("rstdp", "plasticity").items() if v.kind == "number"},
            "eta": 0.05, "tau_e": 0.2}
    w, _ = reference("rstdp", full, syn_pre, syn_post, w0.ravel(), rec["pre.spikes"], rec["post.spikes"], 1,
                     modulation=rec["dopamine.m"])
    np.testing.assert_array_equal(net.weights(conn), w.reshape(6, 4))


# ---------------------------------------------------------------------------
# Run-time control, state, files


@pytest.mark.parametrize("backend", BACKENDS)
def test_freezing_keeps_weights_and_runs_traces(backend):
    params = dict(a_plus=0.02, a_minus=0.021)
    net, conn, inputs = _network(backend, 2, 8, 5, "dense", 1, "stdp", params, steps=120)
    syn_pre, syn_post = _synapses(net, conn)
    w0 = net.weights(conn)
    net.set_param(conn, "learning", "off")
    assert net.param(conn, "learning") == "off"
    rec = net.run(120, inputs=inputs, record=["pre.spikes", "post.spikes"])
    np.testing.assert_array_equal(net.weights(conn), w0)
    full = {**{k: v.default for k, v in snn.model_params("stdp", "plasticity").items() if v.kind == "number"}, **params}
    _, traces = reference("stdp", full, syn_pre, syn_post, w0.ravel(), rec["pre.spikes"], rec["post.spikes"], 1,
                          learning=False)
    np.testing.assert_array_equal(net.state(conn, "x_pre"), traces["pre1"])
    net.set_param(conn, "learning", "on")
    net.run(120, inputs=inputs)
    assert not np.array_equal(net.weights(conn), w0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_zeroes_traces_and_keeps_weights(backend):
    net, conn, inputs = _network(backend, 2, 8, 5, "dense", 1, "stdp", dict(a_plus=0.02))
    net.run(120, inputs=inputs)
    learned = net.weights(conn)
    assert net.state(conn, "x_pre").any()
    net.reset()
    assert not net.state(conn, "x_pre").any() and not net.state(conn, "x_post").any()
    np.testing.assert_array_equal(net.weights(conn), learned)


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_batch_keeps_running_traces(backend):
    net, conn, inputs = _network(backend, 2, 8, 5, "dense", 1, "stdp", dict(a_plus=0.02))
    net.run(60, inputs={k: v[:60] for k, v in inputs.items()})
    x = net.state(conn, "x_pre")
    net.set_batch(5)  # rebuilds the engine (larger capacity)
    y = net.state(conn, "x_pre")
    np.testing.assert_array_equal(y[:2], x)
    assert not y[2:].any()
    net.set_batch(1)
    np.testing.assert_array_equal(net.state(conn, "x_pre"), x[:1])


def test_traces_are_writable_after_the_first_step():
    net, conn, _ = _network("reference", 2, 4, 3, "dense", 1, "stdp", {})
    with pytest.raises(StateError, match="first step"):
        net.set_state(conn, "x_pre", np.ones(4))
    assert net.state(conn, "x_pre").shape == (2, 4) and not net.state(conn, "x_pre").any()
    net.run(1)
    net.set_state(conn, "x_pre", np.arange(8, dtype=F).reshape(2, 4))
    np.testing.assert_array_equal(net.state(conn, "x_pre"), np.arange(8, dtype=F).reshape(2, 4))
    assert net.state(conn, "x_post").shape == (2, 3)


def test_file_round_trip_keeps_rule_and_learned_weights(tmp_path):
    params = dict(a_plus=0.02, a_minus=0.021, tau_plus=15e-3, mu_minus=1.0, w_max=0.95, pairing="nearest")
    net, conn, inputs = _network("cpu", 2, 8, 5, "sparse", 2, "stdp", params)
    net.run(80, inputs={k: v[:80] for k, v in inputs.items()})
    path = tmp_path / "plastic.snn"
    net.save(path)
    loaded = snn.load(path)
    lconn = loaded.connections[conn.name]
    np.testing.assert_array_equal(loaded.weights(lconn), net.weights(conn))
    assert loaded.params(lconn) == net.params(conn)
    # Both continue to learn the same way from the same (reset) state.
    net.reset()
    loaded.reset()
    rest = {k: v[80:] for k, v in inputs.items()}
    net.run(40, inputs=rest)
    loaded.run(40, inputs=rest)
    np.testing.assert_array_equal(loaded.weights(lconn), net.weights(conn))


def test_registry_lists_the_rules():
    assert {"stdp", "triplet", "rstdp"} <= set(snn.models("plasticity"))
    assert "modulator" in snn.models("neuron")
    info = snn.model_params("stdp", "plasticity")
    assert info["a_plus"].default == pytest.approx(0.01) and info["pairing"].choices == ("all_to_all", "nearest")
    assert snn.model_state_vars("triplet", "plasticity") == ["r1", "r2", "o1", "o2"]


def test_errors():
    net = snn.Network(dt=DT)
    pre = net.population("pre", 4, model="spike_source")
    cur = net.population("cur", 4, model="current_source")
    post = net.population("post", 3, model="lif")
    img = net.population("img", (1, 4, 4), model="spike_source")
    fmap = net.population("fmap", (2, 2, 2), model="lif")
    with pytest.raises(NotFoundError, match="plasticity rule"):
        net.connect(pre, post, np.ones((4, 3), F), plasticity="hebb")
    with pytest.raises(InvalidArgumentError, match="does not spike"):
        net.connect(cur, post, np.ones((4, 3), F), plasticity="stdp")
    pooled = net.population("pooled", (2, 1, 1), model="lif")
    conv = net.conv2d(img, pooled, np.ones((2, 1, 3, 3), F), pool="max", pool_size=2)
    with pytest.raises(UnsupportedError, match="pools"):
        net.set_param(conv, "plasticity", "stdp")
    plain_conv = net.conv2d(img, fmap, np.ones((2, 1, 3, 3), F))
    net.set_param(plain_conv, "plasticity", "rstdp")
    net.population("reward2", 8, model="modulator")
    with pytest.raises(InvalidArgumentError, match="model \"modulator\""):
        net.set_param(plain_conv, "modulator", "reward2")  # conv2d: one value per instance only
    c = net.connect(pre, post, np.ones((4, 3), F) * 0.5, plasticity="stdp")
    with pytest.raises(InvalidArgumentError, match="all_to_all\\|nearest"):
        net.set_param(c, "pairing", "sometimes")
    with pytest.raises(InvalidArgumentError, match="w_min"):
        net.set_param(c, "w_min", 2.0)
    with pytest.raises(InvalidArgumentError, match="tau_plus"):
        net.set_param(c, "tau_plus", 0.0)
    with pytest.raises(InvalidArgumentError, match="norm_interval"):
        net.set_param(c, "norm_interval", 2.5)
    with pytest.raises(InvalidArgumentError, match="none\\|post\\|pre"):
        net.set_param(c, "normalize", "columns")
    with pytest.raises(InvalidArgumentError, match="float32"):
        net.set_param(c, "weight_dtype", "bfloat16")
    with pytest.raises(NotFoundError, match="no parameter"):
        net.set_param(c, "a2_plus", 1.0)
    with pytest.raises(InvalidArgumentError, match="on\\|off"):
        net.set_param(c, "learning", "maybe")
    plain = net.connect(pre, post, np.ones((4, 3), F))
    with pytest.raises(NotFoundError, match="no option"):
        net.set_param(plain, "learning", "off")
    r = net.connect(pre, post, np.ones((4, 3), F), plasticity="rstdp")
    with pytest.raises(NotFoundError, match="no population"):
        net.set_param(r, "modulator", "nowhere")
    with pytest.raises(InvalidArgumentError, match="model \"modulator\""):
        net.set_param(r, "modulator", "post")
    with pytest.raises(StateError, match="modulator"):
        net.run(1)  # rstdp without its modulator


def test_trainer_refuses_plastic_connections():
    net = snn.Network(dt=DT)
    pre = net.population("pre", 4, model="spike_source")
    post = net.population("post", 3, model="lif")
    net.connect(pre, post, np.ones((4, 3), F), plasticity="stdp")
    with pytest.raises(UnsupportedError, match="learning rule"):
        snn.Trainer(net)


def test_rule_is_fixed_after_the_first_step():
    net = snn.Network(dt=DT)
    pre = net.population("pre", 4, model="spike_source")
    post = net.population("post", 3, model="lif")
    c = net.connect(pre, post, np.ones((4, 3), F), plasticity="stdp")
    net.run(2)
    with pytest.raises(StateError):
        net.set_param(c, "plasticity", "none")
    with pytest.raises(StateError):
        net.set_param(c, "pairing", "nearest")
    net.set_param(c, "a_plus", 0.5)  # numbers stay writable
    assert net.param(c, "a_plus") == 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_learning_callback_reports_each_change(backend):
    # The events' counts and totals against the weights before and after each step.
    net, conn, inputs = _network(backend, 2, 8, 5, "dense", 1, "stdp", dict(a_plus=0.02, a_minus=0.021), steps=60)
    events, before = [], [net.weights(conn).copy()]

    def on_learn(e):
        w = net.weights(conn)
        events.append((e, before[0], w.copy()))
        before[0] = w.copy()

    net.on_learn(conn, on_learn)
    for t in range(60):
        net.step(inputs={k: v[t] for k, v in inputs.items()})
        if not events or events[-1][0].step != t:  # no event: nothing changed in step t
            np.testing.assert_array_equal(net.weights(conn), before[0])
            before[0] = net.weights(conn).copy()
    assert len(events) > 5
    exact = 0
    for e, w0, w1 in events:
        changed = w0 != w1
        assert not e.all and e.synapses_changed >= changed.sum() > 0
        net_change = np.abs(w1.astype(np.float64) - w0).sum()
        assert e.total_change >= net_change * (1 - 1e-12)
        # Every changed weight lies in a reported row or column.
        touched = np.zeros_like(changed)
        touched[e.rows, :] = True
        touched[:, e.columns] = True
        assert not (changed & ~touched).any()
        if e.rows.size == 0 or e.columns.size == 0:  # one phase: each synapse updated once
            exact += 1
            assert e.synapses_changed == changed.sum()
            assert e.total_change == pytest.approx(net_change, rel=1e-12)
    assert exact > 0


def test_learning_callback_stops_and_raises():
    net, conn, inputs = _network("cpu", 1, 8, 5, "dense", 1, "stdp", dict(a_plus=0.02), steps=100)
    seen = []
    net.on_learn(conn, lambda e: seen.append(e.step) or True)  # stop at the first change
    rec = net.run(100, inputs=inputs, record=["post.spikes"])
    assert len(seen) == 1 and rec["post.spikes"].shape[0] == seen[0] + 1
    net.on_learn(conn, None)
    net.reset()

    def boom(e):
        raise RuntimeError("from the callback")

    net.on_learn(conn, boom)
    with pytest.raises(RuntimeError, match="from the callback"):
        net.run(100, inputs=inputs)
    plain = net.connections["drive_to_post"]
    with pytest.raises(InvalidArgumentError, match="no learning rule"):
        net.on_learn(plain, lambda e: None)


# ---------------------------------------------------------------------------
# conv2d: the kernel's elements are shared by many synapses


def _conv_synapses(in_shape, out_c, kh, kw, stride, pad):
    """The synapses of a conv2d connection from the definition of the
    convolution (PyTorch's conv2d: out[o, y, x] sums in[c, y*s + ky - p,
    x*s + kx - p] * K[o, c, ky, kx]): the columns (per postsynaptic neuron,
    (k, i) in the order c, ky, kx) and, inverted from them, the rows (per
    presynaptic neuron, (k, j)). Each kernel element appears at most once per
    row or column, so the order inside one does not change any sum."""
    c_in, h, w_ = in_shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w_ + 2 * pad - kw) // stride + 1
    rows = [[] for _ in range(c_in * h * w_)]
    cols = [[] for _ in range(out_c * oh * ow)]
    for j in range(out_c * oh * ow):
        o, y, x = j // (oh * ow), j // ow % oh, j % ow
        for c in range(c_in):
            for ky in range(kh):
                yi = y * stride + ky - pad
                if not 0 <= yi < h:
                    continue
                for kx in range(kw):
                    xi = x * stride + kx - pad
                    if 0 <= xi < w_:
                        k, i = ((o * c_in + c) * kh + ky) * kw + kx, (c * h + yi) * w_ + xi
                        cols[j].append((k, i))
                        rows[i].append((k, j))
    return rows, cols, (out_c, oh, ow)


def reference_conv(rule, p, rows, cols, kernel0, pre_spikes, post_spikes, delay):
    p = {k: F(v) for k, v in p.items()}
    steps, batch, n_pre = pre_spikes.shape
    n_post = post_spikes.shape[2]
    w = kernel0.astype(F).ravel().copy()
    w_min, w_max = p["w_min"], p["w_max"]
    rng = F(w_max - w_min)
    lag = max(delay - 1, 0)
    sign, triplet = rule == "stdp_sign", rule == "triplet"
    x = np.zeros((batch, n_pre), F)
    x2 = np.zeros((batch, n_pre), F)
    y = np.zeros((batch, n_post), F)
    y2 = np.zeros((batch, n_post), F)
    for t in range(steps):
        if not sign:
            x *= _decay(p["tau_plus"])
            y *= _decay(p["tau_minus"])
        if triplet:
            x2 *= _decay(p["tau_x"])
            y2 *= _decay(p["tau_y"])
        events = pre_spikes[t - lag] if t - lag >= 0 else np.zeros((batch, n_pre), bool)
        if not sign:
            acc, touched = np.zeros(w.size, F), np.zeros(w.size, bool)
            for b in range(batch):
                for i in np.flatnonzero(events[b]):
                    for k, j in rows[i]:
                        if triplet:
                            d = -(y[b, j] * (p["a2_minus"] + p["a3_minus"] * x2[b, i]))
                        else:
                            d = -((p["a_minus"] * _factor(np.array([w[k] - w_min], F), rng, p["mu_minus"])[0]) * y[b, j])
                        acc[k] = acc[k] + F(d)
                        touched[k] = True
            w[touched] = np.clip(w[touched] + acc[touched], w_min, w_max)
        x[events] = F(1) if (sign or p.get("nearest")) else x[events] + F(1)
        if triplet:
            x2[events] = x2[events] + F(1)
        acc, touched = np.zeros(w.size, F), np.zeros(w.size, bool)
        for b in range(batch):
            for j in np.flatnonzero(post_spikes[t, b]):
                for k, i in cols[j]:
                    if sign:
                        d = (p["a_plus"] if x[b, i] > 0 else -p["a_minus"]) * (((w[k] - w_min) * (w_max - w[k])) / rng)
                    elif triplet:
                        d = x[b, i] * (p["a2_plus"] + p["a3_plus"] * y2[b, j])
                    else:
                        d = (p["a_plus"] * _factor(np.array([w_max - w[k]], F), rng, p["mu_plus"])[0]) * x[b, i]
                    acc[k] = acc[k] + F(d)
                    touched[k] = True
        w[touched] = np.clip(w[touched] + acc[touched], w_min, w_max)
        if not sign:
            y[post_spikes[t]] = y[post_spikes[t]] + F(1)
            if triplet:
                y2[post_spikes[t]] = y2[post_spikes[t]] + F(1)
    return w, x


CONV_CASES = [
    ("stdp", 1, 1, 1, dict(a_plus=0.02, a_minus=0.021)),
    ("stdp_sign", 2, 1, 0, dict(a_plus=0.05, a_minus=0.04)),
    ("triplet", 1, 2, 1, dict(a2_plus=5e-3, a3_plus=6e-3, a2_minus=7e-3, a3_minus=2e-3)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule,delay,stride,pad,params", CONV_CASES)
def test_conv2d_rules_match_numpy(backend, rule, delay, stride, pad, params):
    batch, steps, in_shape, out_c, k = 2, 50, (2, 6, 6), 3, 3
    rows, cols, out_shape = _conv_synapses(in_shape, out_c, k, k, stride, pad)
    rng = np.random.default_rng(11)
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    img = net.population("img", in_shape, model="spike_source")
    maps = net.population("maps", out_shape, model="lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
    kernel = rng.uniform(0.2, 0.8, (out_c, in_shape[0], k, k)).astype(F)
    conv = net.conv2d(img, maps, kernel, stride=stride, padding=pad, delay=delay)
    net.set_param(conv, "plasticity", rule)
    for key, value in params.items():
        net.set_param(conv, key, value)
    spikes = rng.random((steps, batch, int(np.prod(in_shape)))) < 0.3
    rec = net.run(steps, inputs={"img": spikes}, record=["img.spikes", "maps.spikes"])
    assert rec["maps.spikes"].sum() > 20
    full = {**{k2: v.default for k2, v in snn.model_params(rule, "plasticity").items() if v.kind == "number"}, **params}
    w, x = reference_conv(rule, full, rows, cols, kernel, rec["img.spikes"], rec["maps.spikes"], delay)
    got = net.weights(conv)
    assert not np.array_equal(got, kernel.ravel())
    np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(net.state(conv, "x_pre" if rule != "triplet" else "r1"), x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv2d_normalisation_per_map(backend):
    net = snn.Network(dt=DT, batch=1, backend=backend)
    img = net.population("img", (2, 5, 5), model="spike_source")
    maps = net.population("maps", (3, 3, 3), model="lif", v_rest=0.0, v_reset=0.0, v_th=1.0)
    kernel = np.random.default_rng(2).uniform(0.1, 0.5, (3, 2, 3, 3)).astype(F)
    conv = net.conv2d(img, maps, kernel)
    net.set_param(conv, "plasticity", "stdp_sign")
    for key, value in dict(normalize="post", norm=4.0, norm_interval=5, a_plus=0.1, a_minus=0.05).items():
        net.set_param(conv, key, value)
    net.run(10, inputs={"img": np.random.default_rng(3).random((10, 1, 50)) < 0.5})
    sums = net.weights(conv).reshape(3, -1).astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(sums, 4.0, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule,delay", [("stdp", 3), ("triplet", 2), ("rstdp", 4)])
def test_saved_running_state_continues_learning_exactly(tmp_path, backend, rule, delay):
    # Traces, eligibility and the presynaptic events still in flight travel
    # with SNN_SAVE_CURRENT_STATE: the copy learns on exactly as the original.
    extra = dict(a_plus=0.02) if rule != "triplet" else dict(a2_plus=0.01, a3_plus=0.01)
    net, conn, inputs = _network(backend, 2, 8, 5, "dense", delay, rule, extra, steps=120,
                                 modulator="dopamine" if rule == "rstdp" else None)
    feed = dict(inputs)
    if rule == "rstdp":
        feed["dopamine"] = np.where(np.random.default_rng(4).random((120, 2, 1)) < 0.1, 1.0, 0.0).astype(F)
    first = {k: v[:70] for k, v in feed.items()}
    rest = {k: v[70:] for k, v in feed.items()}
    net.run(70, inputs=first)
    path = tmp_path / "running.snn"
    net.save(path, current_state=True)
    copy = snn.load(path)
    net.run(50, inputs=rest)
    copy.run(50, inputs=rest)
    c2 = copy.connections[conn.name]
    np.testing.assert_array_equal(copy.weights(c2), net.weights(conn))
    for var in snn.model_state_vars(rule, "plasticity"):
        np.testing.assert_array_equal(copy.state(c2, var), net.state(conn, var), err_msg=var)



@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule,once,limit", [("stdp", "neuron", 0), ("stdp_sign", "none", 3), ("rstdp", "neuron", 2)])
def test_learning_limits(backend, rule, once, limit):
    # Only a neuron's first spike (learn_once="neuron") and / or the first
    # `limit` spikes of an instance learn until the next reset; traces still
    # take every spike.
    extra = {"learn_once": once, "learn_limit": limit, "a_plus": 0.05}
    net, conn, inputs = _network(backend, 2, 9, 6, "dense", 1, rule, extra, steps=80,
                                 modulator="dopamine" if rule == "rstdp" else None)
    feed = dict(inputs)
    reward = np.where(np.random.default_rng(8).random((80, 2, 1)) < 0.2, 1.0, 0.0).astype(F)
    if rule == "rstdp":
        feed["dopamine"] = reward
    syn_pre, syn_post = _synapses(net, conn)
    w0 = net.weights(conn).ravel()
    rec = net.run(80, inputs=feed, record=["pre.spikes", "post.spikes"])
    learning_spikes = _learning_spikes(rec["post.spikes"], once, limit)
    assert 0 < learning_spikes.sum() < rec["post.spikes"].sum()
    full = {**{k: v.default for k, v in snn.model_params(rule, "plasticity").items() if v.kind == "number"},
            **{k: v for k, v in extra.items() if not isinstance(v, str)}}
    w, traces = reference(rule, full, syn_pre, syn_post, w0, rec["pre.spikes"], rec["post.spikes"], 1,
                          modulation=reward if rule == "rstdp" else None, learning_spikes=learning_spikes)
    np.testing.assert_array_equal(net.weights(conn).ravel(), w)
    # After a reset the limits start over.
    net.reset()
    before = net.weights(conn).copy()
    net.run(80, inputs=feed)
    assert not np.array_equal(net.weights(conn), before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv2d_one_winner_per_map(backend):
    batch, steps, in_shape, out_c = 2, 40, (2, 6, 6), 3
    rows, cols, out_shape = _conv_synapses(in_shape, out_c, 3, 3, 1, 0)
    rng = np.random.default_rng(13)
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    net.population("img", in_shape, model="spike_source")
    maps = net.population("maps", out_shape, model="lif", tau_mem=10e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
    kernel = rng.uniform(0.2, 0.8, (out_c, 2, 3, 3)).astype(F)
    conv = net.conv2d("img", maps, kernel)
    for key, value in dict(plasticity="stdp_sign", learn_once="channel", learn_limit=2, a_plus=0.05).items():
        net.set_param(conv, key, value)
    spikes = rng.random((steps, batch, 72)) < 0.3
    rec = net.run(steps, inputs={"img": spikes}, record=["img.spikes", "maps.spikes"])
    learning_spikes = _learning_spikes(rec["maps.spikes"], "channel", 2, channel_size=16)
    assert learning_spikes.sum() == 4 and rec["maps.spikes"].sum() > 10
    full = {**{k: v.default for k, v in snn.model_params("stdp_sign", "plasticity").items() if v.kind == "number"},
            "a_plus": 0.05}
    w, _ = reference_conv("stdp_sign", full, rows, cols, kernel, rec["img.spikes"], learning_spikes, 1)
    np.testing.assert_array_equal(net.weights(conv), w)
