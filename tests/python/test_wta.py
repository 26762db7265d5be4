"""Winner-take-all (docs/models.md, "Winner-take-all"): of the neurons that
cross their threshold in a step, only the wta_k with the largest margin spike
(per population, or per position across channels); the others keep their
membrane. Checked against NumPy on every backend, with batch > 1."""

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
