"""Winner-take-all (docs/models.md, "Winner-take-all"): of the neurons that
cross their threshold in a step, only wta_k spike (per population, or per
position across channels): those with the largest margin (wta_pick="margin")
or drawn uniformly from the network's random stream (wta_pick="random"); the
others keep their membrane (wta_losers="keep") or are reset, held and adapted
without a spike (wta_losers="reset"). Checked against NumPy on every backend,
with batch > 1."""

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


def _step_general(v, a, held, params, k, groups, model, losers, reset, hold_steps, pick=None):
    """One step of a lif, alif or if population without input, with
    refractoriness, both reset modes and both wta_losers modes; pick(margin,
    b) gives instance b's winners (default: by margin)."""
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
    pick = pick or (lambda m, b: _winners(m, k, groups))
    spikes = np.stack([pick(margin[b], b) for b in range(len(v))])
    fired = spikes | (margin > 0) if losers == "reset" else spikes  # reset as after a spike
    v2 = np.where(fired, vreset if reset == "value" else v1 - (vt - vreset), v1)
    a2 = np.where(fired, a1 + F(params["delta_th"]), a1) if model == "alif" else a1
    held = np.where(fired, hold_steps, held)
    return spikes, v2, a2, held


def _reference_setup(model, mode, n, **extra):
    """The parameters of the NumPy reference tests below (v_reset 0.25,
    v_th 1, t_ref 3 ms; v_rest for lif/alif, adaptation for alif), all of the
    model's numeric parameters with those, and the winner-take-all groups
    of an (3, 2, 3)-like population of n neurons (6 positions)."""
    params = dict(extra, v_reset=0.25, v_th=1.0, t_ref=3e-3)
    if model != "if":
        params.update(v_rest=0.0)
    if model == "alif":
        params.update(tau_adapt=50e-3, delta_th=0.125)
    full = {**{name: info.default for name, info in snn.model_params(model).items() if info.kind == "number"}, **params}
    groups = [np.arange(n)] if mode == "population" else [np.arange(g, n, 6) for g in range(6)]
    return params, full, groups


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
    params, full, groups = _reference_setup(model, mode, n, tau_mem=20e-3)
    first = "keep" if losers == "switch" else losers
    net = snn.Network(dt=DT, batch=batch, backend=backend)
    pop = net.population("maps", shape, model=model, wta=mode, wta_k=str(k), wta_losers=first, reset=reset, **params)
    assert net.param(pop, "wta_losers") == first
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


def _learning_network(backend, threads, losers, pick):
    """Diehl & Cook in small: alif with wta, inhibition, STDP onto it."""
    net = snn.Network(dt=1e-3, seed=4, backend=backend, batch=2, threads=threads)
    net.population("inp", 64, model="poisson", rate=60.0)
    exc = net.population("exc", 12, model="alif", v_rest=-65e-3, v_reset=-60e-3, v_th=-52e-3, tau_mem=0.1, t_ref=5e-3,
                         tau_adapt=1e4, delta_th=0.5e-3, wta="population", wta_losers=losers,
                         wta_pick=pick)
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
@pytest.mark.parametrize("pick", ["margin", "random"])
def test_backends_and_threads_agree_when_learning(losers, pick):
    runs = {(b, t): _learning_network(b, t, losers, pick) for b in BACKENDS for t in (1, 2)}
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
    with pytest.raises(InvalidArgumentError, match=r'option "wta_pick" takes one of margin\|random \(got "first"\)'):
        net.set_param(flat, "wta_pick", "first")
    assert net.param(flat, "wta_pick") == "margin"
    net.set_param(flat, "wta_pick", "random")  # and how the winners are picked
    assert net.param(flat, "wta_pick") == "random"
    assert snn.model_params("alif")["wta_pick"].choices == ("margin", "random")


def _saved_run_continues(backend, tmp_path, batch, steps, **options):
    """Saves an IF (3, 2, 2) population with the winner-take-all options
    after 20 steps, plainly and with the current state: the plain file keeps
    the options, the running one continues bit for bit. Returns the run and
    the file with the current state."""
    net = snn.Network(dt=DT, seed=2, backend=backend, batch=batch)
    net.population("inp", 30, model="poisson", rate=200.0)
    exc = net.population("exc", (3, 2, 2), model="if", v_reset=0.0, v_th=0.5, t_ref=2e-3, wta="position", **options)
    net.connect("inp", exc, np.random.default_rng(0).uniform(0, 0.2, (30, 12)).astype(F))
    net.run(20)
    net.save(tmp_path / "plain.snn")
    net.save(tmp_path / "running.snn", current_state=True)
    plain, copy = snn.load(tmp_path / "plain.snn", backend=backend), snn.load(tmp_path / "running.snn", backend=backend)
    for name, value in options.items():
        assert plain.param("exc", name) == value and copy.param("exc", name) == value
    a = net.run(steps, record=["exc.spikes", "exc.v"])
    b = copy.run(steps, record=["exc.spikes", "exc.v"])
    for key in a:
        np.testing.assert_array_equal(b[key], a[key])
    return a, tmp_path / "running.snn"


@pytest.mark.parametrize("backend", BACKENDS)
def test_losers_option_round_trips(backend, tmp_path):
    a, _ = _saved_run_continues(backend, tmp_path, 1, 50, wta_losers="reset")
    assert a["exc.spikes"].sum() > 0


# -- wta_pick="random" ------------------------------------------------------------------

_MASK = 0xFFFFFFFF


def _philox(c, k):
    """Philox4x32-10 (src/core/rng.h), in Python integers."""
    c0, c1, c2, c3 = c
    k0, k1 = k
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & _MASK, (p0 >> 32) ^ c3 ^ k1, p0 & _MASK
        k0, k1 = (k0 + 0x9E3779B9) & _MASK, (k1 + 0xBB67AE85) & _MASK
    return c0, c1, c2, c3


def _pick_word(seed, pop_id, step, instance, j):
    """w[j] as docs/models.md states it: stream 4 + 256 * population id."""
    stream = 4 + 256 * pop_id
    key = (seed & _MASK, (seed >> 32) ^ ((stream * 0x85EBCA6B + 0x27D4EB2F) & _MASK))
    return _philox((j // 4, step & _MASK, step >> 32, instance), key)[j % 4]


def _random_winners(margin, k, groups, seed, pop_id, step, instance):
    """The statement of wta_pick="random": selection sampling over each
    group's candidates in ascending index (drawing for every candidate, where
    the library skips the draws whose outcome is known)."""
    win = np.zeros(margin.shape, bool)
    for idx in groups:
        candidates = sorted(int(j) for j in idx if margin[j] > 0)
        needed, left = min(k, len(candidates)), len(candidates)
        for j in candidates:
            if (_pick_word(seed, pop_id, step, instance, j) * left) >> 32 < needed:
                win[j] = True
                needed -= 1
            left -= 1
    return win


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["lif", "alif", "if"])
@pytest.mark.parametrize("mode,k", [("population", 1), ("population", 3), ("position", 2)])
@pytest.mark.parametrize("losers", ["keep", "reset"])
def test_random_pick_matches_numpy(backend, model, mode, k, losers):
    """The draw bit for bit as docs/models.md states it (a seed above 2^32, a
    population id of 1), switched from "margin" while running; winners are
    always candidates, exactly min(k, candidates) per group."""
    shape = (6, 2, 3)  # six channels: often more candidates than wta_k per position
    n = int(np.prod(shape))
    batch = 2
    seed = (5 << 32) + 11
    params, full, groups = _reference_setup(model, mode, n)
    net = snn.Network(dt=DT, batch=batch, seed=seed, backend=backend)
    net.population("first", 2, model="lif")
    pop = net.population("maps", shape, model=model, wta=mode, wta_k=str(k), wta_losers=losers, **params)
    assert net.param(pop, "wta_pick") == "margin"
    rng = np.random.default_rng(11)
    v = np.zeros((batch, n), F)
    a = np.zeros((batch, n), F)
    held = np.zeros((batch, n), np.int64)
    draws = not_largest = 0
    for step in range(24):
        random = step >= 2
        if step == 2:
            net.set_param(pop, "wta_pick", "random")  # takes effect in the next step
        if step % 2 == 0:
            v = rng.uniform(0.7, 1.6, (batch, n)).astype(F)
            net.set_state(pop, "v", v)
        margins = []

        def pick(m, b):
            margins.append(m)
            return _random_winners(m, k, groups, seed, 1, step, b) if random else _winners(m, k, groups)

        spikes, v, a, held = _step_general(v, a, held, full, k, groups, model, losers, "value", 2, pick)
        net.step()
        got = net.spikes(pop)
        np.testing.assert_array_equal(got, spikes, err_msg=f"step {step}")
        np.testing.assert_array_equal(net.state(pop, "v", copy=True), v, err_msg=f"step {step}")
        if model == "alif":
            np.testing.assert_array_equal(net.state(pop, "a", copy=True), a, err_msg=f"step {step}")
        for b, m in enumerate(margins):
            assert not (got[b] & (m <= 0)).any()  # winners are candidates
            for idx in groups:
                candidates = int((m[idx] > 0).sum())
                assert got[b, idx].sum() == min(k, candidates)
                if random and candidates > k:
                    draws += 1
                    not_largest += not np.array_equal(got[b, idx], _winners(m, k, groups)[idx])
    assert draws >= 10 and not_largest > 0  # real draws, not the margin's choice


def _always_crossing(backend, pick="random", k=1, seed=1, steps=4001, batch=2, mode="population"):
    """Four neurons (per position with mode "position") that all cross their
    threshold in every step from step 1 on, with different margins."""
    net = snn.Network(dt=DT, seed=seed, batch=batch, backend=backend)
    src = net.population("src", 1, model="spike_source")
    shape = 4 if mode == "population" else (4, 1, 2)
    pop = net.population("pop", shape, model="if", v_reset=0.0, v_th=1.0, wta=mode, wta_k=str(k), wta_losers="reset",
                         wta_pick=pick)
    w = np.array([1.5, 2.0, 3.0, 4.0], F) if mode == "population" else np.repeat(np.array([1.5, 2.0, 3.0, 4.0], F), 2)
    net.connect(src, pop, w[None, :])
    rec = net.run(steps, inputs={src: np.ones((batch, 1), F)}, record=["pop.spikes"])
    return net, rec["pop.spikes"][1:]


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_pick_is_uniform(backend):
    """4000 steps with the same four candidates: each wins about a quarter of
    them (Binomial(4000, 1/4): mean 1000, sd 27), whatever its margin, and
    independently of the step before and of the other instance. The seed is
    fixed, so this cannot flake; the bounds would hold for almost any seed."""
    _, s = _always_crossing(backend)
    assert (s.sum(axis=2) == 1).all()
    counts = s.sum(axis=0)  # [instance, neuron]
    assert (np.abs(counts - 1000) < 150).all(), counts
    chi2 = ((counts - 1000.0) ** 2 / 1000.0).sum(axis=1)
    assert (chi2 < 30).all(), chi2  # 3 degrees of freedom: P(chi2 > 30) ~ 1e-6
    w = s.argmax(axis=2)  # [step, instance]
    assert 0.2 < (w[1:] == w[:-1]).mean() < 0.3  # the same winner twice in a row: 1/4
    assert 0.2 < (w[:, 0] == w[:, 1]).mean() < 0.3  # both instances the same: 1/4
    _, by_margin = _always_crossing(backend, pick="margin", steps=51)
    assert by_margin[:, :, 3].all() and by_margin.sum() == 50 * 2  # the largest margin always wins


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_pick_of_two_is_uniform(backend):
    """wta_k = 2 of 4: each of the 6 pairs about a sixth of 3000 steps."""
    _, s = _always_crossing(backend, k=2, steps=3001)
    assert (s.sum(axis=2) == 2).all()
    pairs = {(i, j): 0 for i in range(4) for j in range(i + 1, 4)}
    for row in s.reshape(-1, 4):
        i, j = np.flatnonzero(row)
        pairs[(i, j)] += 1
    counts = np.array(list(pairs.values()))  # 6000 draws: mean 1000, sd 29
    assert (np.abs(counts - 1000) < 150).all(), pairs
    assert ((counts - 1000.0) ** 2 / 1000.0).sum() < 35  # 5 degrees of freedom: P ~ 2e-6


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_pick_by_position(backend):
    """Per position, one of the four channels, each about a quarter of the
    steps, drawn independently at the two positions."""
    _, s = _always_crossing(backend, mode="position", steps=2001)
    s = s.reshape(2000, 2, 4, 2)  # step, instance, channel, position
    assert (s.sum(axis=2) == 1).all()
    counts = s.sum(axis=0)  # [instance, channel, position]: Binomial(2000, 1/4), sd 19
    assert (np.abs(counts - 500) < 100).all(), counts
    w = s.argmax(axis=2)  # [step, instance, position]
    assert 0.2 < (w[:, :, 0] == w[:, :, 1]).mean() < 0.3


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_pick_follows_the_seed(backend):
    net, a = _always_crossing(backend, seed=1, steps=301)
    _, b = _always_crossing(backend, seed=1, steps=301)
    _, c = _always_crossing(backend, seed=2, steps=301)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any() and 0.15 < (a.argmax(axis=2) == c.argmax(axis=2)).mean() < 0.35
    net.reset()  # step 0 again: the same draws
    again = net.run(301, inputs={"src": np.ones((2, 1), F)}, record=["pop.spikes"])["pop.spikes"][1:]
    np.testing.assert_array_equal(again, a)


def _poisson_driven(backend, rates, batch, pick="random", threads=1):
    net = snn.Network(dt=DT, seed=5, batch=batch, backend=backend, threads=threads)
    inp = net.population("inp", 40, model="poisson")
    exc = net.population("exc", 10, model="if", v_reset=0.0, v_th=0.5, wta="population", wta_k="2", wta_pick=pick,
                         wta_losers="reset")
    net.connect(inp, exc, np.random.default_rng(3).uniform(0, 0.3, (40, 10)).astype(F))
    return net.run(200, inputs={inp: np.asarray(rates, F)}, record=["exc.spikes"])["exc.spikes"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_pick_ignores_other_instances(backend):
    """Instance 1's draws depend on its index, not on what the other
    instances do or how many there are."""
    rates = np.full((3, 40), 100.0, F)
    base = _poisson_driven(backend, rates, 3)
    assert (base.sum(axis=2) == 2).sum() > 50  # full draws of two
    other = rates.copy()
    other[0], other[2] = 40.0, 300.0
    changed = _poisson_driven(backend, other, 3)
    assert (changed[:, 0] != base[:, 0]).any()
    np.testing.assert_array_equal(changed[:, 1], base[:, 1])
    np.testing.assert_array_equal(_poisson_driven(backend, other[:2], 2)[:, 1], base[:, 1])
    assert (_poisson_driven(backend, rates, 3, pick="margin") != base).any()


def test_random_pick_backends_and_threads_agree():
    runs = {(b, t): _poisson_driven(b, np.full((3, 40), 100.0, F), 3, threads=t) for b in BACKENDS for t in (1, 2)}
    first = runs[("reference", 1)]
    for key, s in runs.items():
        np.testing.assert_array_equal(s, first, err_msg=str(key))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("losers", ["keep", "reset"])
def test_random_pick_round_trips(backend, losers, tmp_path):
    """A file saved with the current state continues the same draws (the
    step is saved; the stream is counter-based); a plain file keeps the
    option."""
    a, running = _saved_run_continues(backend, tmp_path, 2, 200, wta_losers=losers, wta_pick="random")
    assert a["exc.spikes"].sum() > 100
    copy = snn.load(running, backend=backend)
    copy.set_param("exc", "wta_pick", "margin")  # the draws mattered
    assert (copy.run(200, record=["exc.spikes"])["exc.spikes"] != a["exc.spikes"]).any()


