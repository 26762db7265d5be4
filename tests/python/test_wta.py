"""Winner-take-all (docs/models.md, "Winner-take-all"): of the neurons that
cross their threshold in a step, only the wta_k with the largest margin spike
(per population, or per position across channels); the others keep their
membrane (wta_losers="keep") or are reset, held and adapted without a spike
(wta_losers="reset"). Checked against NumPy on every backend, with batch > 1."""

import numpy as np
import pytest

import snn
from snn.errors import InvalidArgumentError, StateError, UnsupportedError

BACKENDS = snn.backends()
F = np.float32
DT = 1e-3


def _winners(margin, k, groups):
    """NumPy statement: per group (a list of index arrays), the k largest
    positive margins, ties to the lower index."""
    win = np.zeros(margin.shape, bool)
    for idx in groups:
        m = margin[idx]
        order = sorted(range(len(idx)), key=lambda q: (-m[q], q))
        taken = [idx[q] for q in order if m[q] > 0][:k]
        win[taken] = True
    return win


def _step_reference(v, a, params, k, groups, adaptive):
    decay = F(np.exp(-DT / float(F(params["tau_mem"]))))
    vr, vt, vreset = F(params["v_rest"]), F(params["v_th"]), F(params["v_reset"])
    v1 = vr + ((v - vr) * decay + F(0))
    a1 = a * F(np.exp(-DT / float(F(params["tau_adapt"])))) if adaptive else np.zeros_like(v)
    threshold = vt + a1 if adaptive else np.full_like(v, vt)
    margin = np.where(v1 > threshold, v1 - threshold, F(-1))
    spikes = np.stack([_winners(margin[b], k, groups) for b in range(len(v))])
    v2 = np.where(spikes, vreset, v1)
    a2 = np.where(spikes, a1 + F(params["delta_th"]), a1) if adaptive else a1
    return spikes, v2, a2


def _step_general(v, a, held, params, k, groups, model, losers, reset, hold_steps):
    """One step of a lif, alif or if population without input, with
    refractoriness, both reset modes and both wta_losers modes."""
    was_held = held > 0
    held = np.where(was_held, held - 1, held)
    vt, vreset = F(params["v_th"]), F(params["v_reset"])
    if model == "if":
        v1 = np.where(was_held, v, v + F(0))
    else:
        vr = F(params["v_rest"])
        decay = F(np.exp(-DT / float(F(params["tau_mem"]))))
        v1 = np.where(was_held, v, vr + ((v - vr) * decay + F(0)))
    if model == "alif":
        a1 = a * F(np.exp(-DT / float(F(params["tau_adapt"]))))
        threshold = vt + a1
    else:
        a1 = a
        threshold = np.full_like(v, vt)
    margin = np.where(~was_held & (v1 > threshold), v1 - threshold, F(-1))
    spikes = np.stack([_winners(margin[b], k, groups) for b in range(len(v))])
    fired = spikes | (margin > 0) if losers == "reset" else spikes  # reset as after a spike
    v2 = np.where(fired, vreset if reset == "value" else v1 - (vt - vreset), v1)
    a2 = np.where(fired, a1 + F(params["delta_th"]), a1) if model == "alif" else a1
    held = np.where(fired, hold_steps, held)
    return spikes, v2, a2, held


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["lif", "alif", "if"])
@pytest.mark.parametrize("mode,k", [("population", 1), ("position", 2)])
@pytest.mark.parametrize("losers", ["keep", "reset", "switch"])
@pytest.mark.parametrize("reset", ["value", "subtract"])
def test_losers_match_numpy(backend, model, mode, k, losers, reset):
    """Refractory neurons (t_ref 3 ms: held 2 steps), new membranes written
    every other step; "switch" turns wta_losers from keep to reset mid-run."""
    shape = (4, 2, 3)
    n = int(np.prod(shape))
    batch = 2
    params = dict(tau_mem=20e-3, v_reset=0.25, v_th=1.0, t_ref=3e-3)
    if model != "if":
        params.update(v_rest=0.0)
    if model == "alif":
        params.update(tau_adapt=50e-3, delta_th=0.125)
    first = "keep" if losers == "switch" else losers
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    pop = net.population("maps", shape, model=model, wta=mode, wta_k=str(k), wta_losers=first, reset=reset, **params)
    assert net.param(pop, "wta_losers") == first
    groups = [np.arange(n)] if mode == "population" else [np.arange(g, n, 6) for g in range(6)]
    full = {**{k2: i.default for k2, i in snn.model_params(model).items() if i.kind == "number"}, **params}
    rng = np.random.default_rng(7)
    v = np.zeros((batch, n), F)
    a = np.zeros((batch, n), F)
    held = np.zeros((batch, n), np.int64)
    seen_held = seen_loser = 0
    for step in range(10):
        now = first if step < 4 else losers.replace("switch", "reset")
        if step == 4 and losers == "switch":
            net.set_param(pop, "wta_losers", "reset")  # takes effect in the next step
        if step % 2 == 0:
            v = rng.uniform(0.5, 1.6, (batch, n)).astype(F)
            v[1, 2] = v[1, 8]  # a tie
            net.set_state(pop, "v", v)
        spikes, v2, a, held2 = _step_general(v, a, held, full, k, groups, model, now, reset, 2)
        seen_held += int(((held > 0) & (v > 1.0)).sum())
        seen_loser += int((held2 > held).sum() - spikes.sum()) if now == "reset" else 0
        v, held = v2, held2
        net.step()
        got = net.spikes(pop)
        np.testing.assert_array_equal(got, spikes, err_msg=f"step {step}")
        np.testing.assert_array_equal(net.state(pop, "v", copy=True), v, err_msg=f"step {step}")
        if model == "alif":
            np.testing.assert_array_equal(net.state(pop, "a", copy=True), a, err_msg=f"step {step}")
    assert seen_held > 0  # held neurons above the threshold neither spiked nor were reset
    if losers != "keep":
        assert seen_loser > 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["lif", "alif"])
@pytest.mark.parametrize("mode,k", [("population", 1), ("population", 3), ("position", 1), ("position", 2)])
def test_winners_match_numpy(backend, model, mode, k):
    shape = (4, 2, 3)  # C, H, W
    n = int(np.prod(shape))
    batch = 2
    params = dict(tau_mem=20e-3, v_rest=0.0, v_reset=0.0, v_th=1.0)
    if model == "alif":
        params.update(tau_adapt=50e-3, delta_th=0.25)
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    pop = net.population("maps", shape, model=model, wta=mode, wta_k=str(k), **params)
    rng = np.random.default_rng(5)
    v = rng.uniform(0.5, 1.6, (batch, n)).astype(F)
    v[0, 3] = v[0, 5]  # a tie: the lower index wins
    net.set_state(pop, "v", v)
    groups = [np.arange(n)] if mode == "population" else [np.arange(g, n, 6) for g in range(6)]
    full = {**{k2: i.default for k2, i in snn.model_params(model).items() if i.kind == "number"}, **params}
    a = np.zeros((batch, n), F)
    for step in range(4):  # losers stay above threshold and compete again
        spikes, v, a = _step_reference(v, a, full, k, groups, model == "alif")
        net.step()
        got = net.spikes(pop)
        np.testing.assert_array_equal(got, spikes, err_msg=f"step {step}")
        np.testing.assert_array_equal(net.state(pop, "v", copy=True), v)
        if model == "alif":
            np.testing.assert_array_equal(net.state(pop, "a", copy=True), a)
        for idx in groups:
            assert (got[:, idx].sum(axis=1) <= k).all()


def _learning_network(backend, threads, losers):
    """Diehl & Cook in small: alif with wta, inhibition, STDP onto it."""
    net = snn.Network(dt=1e-3, seed=4, backend=backend, batch=2, threads=threads)
    net.population("inp", 64, model="poisson", rate=60.0)
    exc = net.population("exc", 12, model="alif", v_rest=-65e-3, v_reset=-60e-3, v_th=-52e-3, tau_mem=0.1, t_ref=5e-3,
                         tau_adapt=1e4, delta_th=0.5e-3, wta="population", wta_losers=losers)
    inh = net.population("inh", 12, model="lif", v_rest=-60e-3, v_reset=-45e-3, v_th=-40e-3, tau_mem=0.01)
    w = np.random.default_rng(2).uniform(0, 4e-3, (64, 12)).astype(F)
    syn = net.connect("inp", exc, w, plasticity="stdp", a_plus=1e-4, a_minus=1e-5, w_min=0.0, w_max=1e-2)
    net.connect(exc, inh, one_to_one=True, weight=22.5e-3)
    lateral = np.full((12, 12), -20e-3, F)
    np.fill_diagonal(lateral, 0.0)
    net.connect(inh, exc, lateral)
    calls = []
    net.on_spike(exc, lambda step, b, ids: calls.append((step, b, ids.tolist())))
    rec = net.run(300, record=["exc.spikes", "exc.v", "exc.a"])
    return rec, net.weights(syn).copy(), calls


@pytest.mark.parametrize("losers", ["keep", "reset"])
def test_backends_and_threads_agree_when_learning(losers):
    runs = {(b, t): _learning_network(b, t, losers) for b in BACKENDS for t in (1, 2)}
    (rec, w, calls) = runs[("reference", 1)]
    s = rec["exc.spikes"]
    assert s.sum() > 50 and (s.sum(axis=2) <= 1).all()
    # The spike callback reports exactly the recorded (winning) spikes.
    assert calls == [(t, b, list(np.flatnonzero(s[t, b]))) for t in range(300) for b in range(2) if s[t, b].any()]
    a_jumps = (np.diff(rec["exc.a"], axis=0) > 0).sum()
    if losers == "reset":
        assert a_jumps > s[1:].sum()  # losers were adapted too
    else:
        assert a_jumps == s[1:].sum()
    for key, (other, w2, calls2) in runs.items():
        for var in rec:
            np.testing.assert_array_equal(other[var], rec[var], err_msg=f"{key} {var}")
        np.testing.assert_array_equal(w2, w, err_msg=str(key))
        assert calls2 == calls


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reset_loser_is_silent(backend):
    """Two neurons cross in the same step: both are reset and held, only the
    winner spikes, is reported and is potentiated by STDP."""
    net = snn.Network(dt=DT, backend=backend)
    src = net.population("src", 1, model="spike_source")
    pop = net.population("pop", 2, model="lif", v_rest=0.0, v_reset=0.0, v_th=1.0, t_ref=3e-3, wta="population",
                         wta_losers="reset")
    syn = net.connect(src, pop, np.array([[1.5, 1.2]], F), plasticity="stdp", a_plus=0.1, a_minus=0.0, w_min=0.0,
                      w_max=5.0)
    seen = []
    net.on_spike(pop, lambda step, b, ids: seen.append((step, ids.tolist())))
    x = np.zeros((6, 1, 1), F)
    x[0] = x[2] = 1.0  # the second input arrives (step 3) while both are held
    rec = net.run(6, inputs={src: x}, record=["pop.spikes", "pop.v"])
    assert rec["pop.spikes"][:, 0].tolist() == [[0, 0], [1, 0], [0, 0], [0, 0], [0, 0], [0, 0]]
    assert seen == [(1, [0])]
    np.testing.assert_array_equal(rec["pop.v"][1, 0], [0.0, 0.0])  # both reset
    np.testing.assert_array_equal(rec["pop.v"][2:, 0], 0.0)  # held, then nothing arrives
    w = net.weights(syn)
    assert w[0, 0] > 1.5 and w[0, 1] == F(1.2)


def test_backends_agree_in_a_network():
    outs = []
    for backend in BACKENDS:
        net = snn.Network(dt=1e-4, seed=3, backend=backend, batch=2)
        inp = net.population("inp", 200, model="poisson", rate=80.0)
        exc = net.population("exc", (8, 4, 4), model="lif", v_th=-55e-3, t_ref=2e-3, wta="position", wta_k="2")
        w = np.random.default_rng(1).uniform(0, 3e-3, (200, 128)).astype(F)
        net.connect(inp, exc, w)
        rec = net.run(400, record=["exc.spikes"])
        s = rec["exc.spikes"].reshape(400, 2, 8, 16)
        assert s.sum() > 100 and (s.sum(axis=2) <= 2).all()
        outs.append(s)
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_refusals():
    net = snn.Network()
    flat = net.population("flat", 10, model="lif")
    with pytest.raises(InvalidArgumentError, match="C, H, W"):
        net.set_param(flat, "wta", "position")
    with pytest.raises(InvalidArgumentError, match="wta_k"):
        net.set_param(flat, "wta_k", "0")
    with pytest.raises(InvalidArgumentError, match="wta_k"):
        net.set_param(flat, "wta_k", "two")
    net.set_param(flat, "wta", "population")
    src = net.population("src", 3, model="spike_source")
    net.connect(src, flat, np.ones((3, 10), F))
    with pytest.raises(UnsupportedError, match="winner-take-all"):
        snn.Trainer(net)
    net.step()
    with pytest.raises(StateError):
        net.set_param(flat, "wta", "none")
    net.set_param(flat, "wta_k", "3")  # k may change while running
    assert net.param(flat, "wta_k") == "3"
    with pytest.raises(InvalidArgumentError, match=r'option "wta_losers" takes one of keep\|reset \(got "drop"\)'):
        net.set_param(flat, "wta_losers", "drop")
    net.set_param(flat, "wta_losers", "reset")  # so may what happens to the losers
    assert net.param(flat, "wta_losers") == "reset"
    assert snn.model_params("if")["wta_losers"].choices == ("keep", "reset")


@pytest.mark.parametrize("backend", BACKENDS)
def test_losers_option_round_trips(backend, tmp_path):
    net = snn.Network(dt=DT, seed=2, backend=backend)
    net.population("inp", 30, model="poisson", rate=200.0)
    exc = net.population("exc", (3, 2, 2), model="if", v_reset=0.0, v_th=0.5, t_ref=2e-3, wta="position",
                         wta_losers="reset")
    net.connect("inp", exc, np.random.default_rng(0).uniform(0, 0.2, (30, 12)).astype(F))
    net.run(20)
    net.save(tmp_path / "plain.snn")
    net.save(tmp_path / "running.snn", current_state=True)
    assert snn.load(tmp_path / "plain.snn", backend=backend).param("exc", "wta_losers") == "reset"
    copy = snn.load(tmp_path / "running.snn", backend=backend)
    assert copy.param("exc", "wta_losers") == "reset"
    a = net.run(50, record=["exc.spikes", "exc.v"])
    b = copy.run(50, record=["exc.spikes", "exc.v"])
    assert a["exc.spikes"].sum() > 0
    for key in a:
        np.testing.assert_array_equal(b[key], a[key])
