"""Every neuron and synapse model against docs/models.md.

The reference below (`Spec.reference`) is a direct NumPy transcription of
docs/models.md: the four phases of a step, delivery with delays, the
refractory rules, and the integration schemes (exact propagator, exponential
Euler, forward Euler). It is written for reading, not speed. Each test states
a network once (`Spec`), builds it with the library and runs both, batch > 1
with different inputs per instance, reading every state variable (v, u, a, and
the synaptic I and g) after every step.

Precision. The reference keeps its state in float64; its parameters are the
float32 values the library stores, and its step coefficients (E_m, E_k, c_k,
tau_k/tau_mem (1 - E_k), exp(-dt/tau_adapt), R) are computed in double from
them and rounded to float32 once, as the "Precision" section of
docs/models.md prescribes. What remains is the float32 rounding of the
library's state, about half an ulp per step: 3.7e-9 V at 65 mV (ulp 7.5e-9).
Two comparisons follow from that:

* Free-running: |got - expected| <= atol + rtol * peak (TOL), peak being the
  largest |expected| of that neuron's trace. A leaky membrane forgets an error
  over tau_mem / dt steps (200 at 20 ms), so the error stays below
  200 * 3.7e-9 = 7.5e-7 V even if every rounding went the same way (in practice
  a random walk of a few 1e-8 V); rtol = 1e-5 of the peak (6.5e-7 V at 65 mV)
  plus atol = 1e-7 V covers it. Measured here: at most 1e-6 of the peak for
  linear models, 4e-6 for a 50 ms membrane. Synaptic states are only scaled and
  added to (measured below 1e-6 of the peak). Taking the peak, not the current
  value, keeps inputs of both signs that cancel near 0 from failing on their
  terms' rounding. Izhikevich's upstroke amplifies rounding differences
  (dt (8e4 v + 5e3) per step, 1.7x near v_peak) until the reset discards them,
  so TOL_IZH is loose (measured: up to 1e-3 of the peak).
* One step: every step of the library against the reference's prediction from
  the library's own state after the previous step (TOL_ONE_STEP: 1e-6 of the
  peak, about 8 float32 ulps; measured at most 2e-7). This is the tight check
  of every update, Izhikevich's included.

Spike steps are compared exactly. The only legitimate difference is a
threshold comparison that the float64 reference decides by less than the
tolerance of v (|v - threshold| <= tolerance). In the free-running comparison
the instance is then compared up to that step only, with a warning (the test
fails if that leaves less than half of the run); in the one-step comparison
that neuron's step is skipped, with a warning. The inputs below are chosen so
that neither happens with the reference backend. Any other difference fails
with the case, instance, neuron, step, expected and observed values.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest

import snn

DT = 1e-4
BACKENDS = snn.backends()

# --------------------------------------------------------------------------
# docs/models.md, transcribed: parameters and their defaults, state variables
# --------------------------------------------------------------------------

NEURON_PARAMS: Dict[str, Dict[str, float]] = {
    "spike_source": {},
    "current_source": {"current": 0.0},
    "poisson": {"rate": 10.0},
    "lif": {"tau_mem": 20e-3, "v_rest": -65e-3, "v_reset": -65e-3, "v_th": -50e-3, "t_ref": 0.0,
            "surrogate_scale": 0.0},
    "if": {"tau_mem": 20e-3, "v_reset": -65e-3, "v_th": -50e-3, "t_ref": 0.0, "surrogate_scale": 0.0},
    "alif": {"tau_mem": 20e-3, "v_rest": -65e-3, "v_reset": -65e-3, "v_th": -50e-3, "t_ref": 0.0,
             "tau_adapt": 100e-3, "delta_th": 1e-3, "surrogate_scale": 0.0},
    "izhikevich": {"a": 20.0, "b": 200.0, "c": -65e-3, "d": 8.0, "v_peak": 30e-3, "i_offset": 0.0,
                   "tau_mem": 1e-3, "t_ref": 0.0},
    "li": {"tau_mem": 20e-3, "v_rest": 0.0},
}
NEURON_OPTIONS: Dict[str, Dict[str, str]] = {
    **{m: {"reset": "value", "surrogate": "fast_sigmoid", "wta": "none", "wta_k": "1",
        "wta_losers": "keep", "wta_pick": "margin"} for m in ("lif", "if", "alif")},
}
NEURON_STATE: Dict[str, List[str]] = {
    "spike_source": [], "current_source": [], "poisson": [],
    "lif": ["v"], "if": ["v"], "alif": ["v", "a"], "izhikevich": ["v", "u"], "li": ["v"],
}
SYNAPSE_PARAMS: Dict[str, Dict[str, float]] = {
    "delta": {}, "exp": {"tau": 5e-3}, "cond_exp": {"tau": 5e-3, "e_rev": 0.0},
}
SYNAPSE_STATE: Dict[str, List[str]] = {"delta": [], "exp": ["I"], "cond_exp": ["g"]}
SOURCES = ("spike_source", "current_source", "poisson")
SPIKING = ("lif", "if", "alif", "izhikevich")

# Tolerances per state variable: |got - expected| <= atol + rtol * peak, where
# peak is the largest |expected| of that neuron's (or synapse's) trace in the
# run. Rounding errors scale with the magnitude of the terms that are added
# (ulps of the values the variable takes), not with the current value, which
# may be near 0 after inputs of both signs cancel. See the module docstring.
TOL: Dict[str, Tuple[float, float]] = {
    "v": (1e-7, 1e-5),   # V: 7.5e-7 V for a trace that reaches 65 mV
    "a": (1e-10, 1e-5),  # V: only decays and jumps by delta_th
    "I": (1e-10, 1e-5),  # V: only decays and jumps by the delivered sums
    "g": (1e-9, 1e-5),   # dimensionless: as I
}
# Izhikevich: the upstroke amplifies the float32 rounding of earlier steps
# (module docstring) until v passes v_peak and the reset discards it: a loose
# bound on the free-running trace (measured: up to 1e-3 of the peak); the
# one-step comparison (TOL_IZH_ONE_STEP) is the tight check of every update.
TOL_IZH: Dict[str, Tuple[float, float]] = {"v": (1e-7, 5e-3), "u": (1e-6, 1e-3)}
# One step from the library's own state: only that step's float32 rounding.
TOL_ONE_STEP: Dict[str, Tuple[float, float]] = {
    "v": (1e-9, 1e-6), "a": (1e-12, 1e-6), "I": (1e-12, 1e-6), "g": (1e-12, 1e-6)}
TOL_IZH_ONE_STEP: Dict[str, Tuple[float, float]] = {"v": (1e-9, 1e-6), "u": (1e-9, 1e-6)}


def f32(x) -> np.ndarray:
    """Values as the library stores them (float32), then widened to float64."""
    return np.asarray(np.asarray(x, dtype=np.float32), dtype=np.float64)


def coef(x) -> np.ndarray:
    """A step coefficient: computed in double, rounded to float32 once."""
    return f32(x)


def steps_of(t_ref: np.ndarray, dt: float) -> np.ndarray:
    """R = round(t_ref / dt), nearest integer with halves away from zero."""
    x = t_ref / dt
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


# --------------------------------------------------------------------------
# A network stated once, built as an snn.Network and as the NumPy reference
# --------------------------------------------------------------------------

class Spec:
    """Populations and connections, with every parameter resolved (defaults
    from docs/models.md), so that the same description builds the library's
    network (`build`) and runs the reference (`reference`)."""

    def __init__(self, batch: int, dt: float = DT) -> None:
        self.batch = batch
        self.dt = dt
        self.pops: Dict[str, dict] = {}
        self.conns: Dict[str, dict] = {}

    # -- description ---------------------------------------------------------

    def pop(self, name: str, model: str, n: int, **given) -> str:
        params, raw = {}, {}
        for key, default in NEURON_PARAMS[model].items():
            if key in given:
                raw[key] = given[key]
            value = given.pop(key, default)
            params[key] = np.broadcast_to(f32(value), (n,)).copy()
        options = dict(NEURON_OPTIONS.get(model, {}))
        for key in list(given):
            if key in options:
                options[key] = raw[key] = given.pop(key)
        assert not given, f"unknown parameters {given} for {model}"
        # params: float32 as stored, for the reference; raw: as given, for the library.
        self.pops[name] = dict(name=name, model=model, n=n, params=params, options=options, raw=raw)
        return name

    def connect(self, name: str, pre: str, post: str, synapse: str = "delta", *,
                W: Optional[np.ndarray] = None, one_to_one: Optional[np.ndarray] = None,
                pairs: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None,
                delay=1, **given) -> str:
        """One of W (dense [pre, post]), one_to_one (weights [n]) or pairs
        (pre ids, post ids, weights); delay is an int, or for pairs an int
        array (one delay per synapse)."""
        params, raw = {}, {}
        for key, default in SYNAPSE_PARAMS[synapse].items():
            if key in given:
                raw[key] = float(given[key])
            params[key] = float(f32(given.pop(key, default)))
        assert not given, f"unknown parameters {given} for {synapse}"
        n_pre, n_post = self.pops[pre]["n"], self.pops[post]["n"]
        if W is not None:
            kind = "dense"
            W = np.asarray(W, dtype=np.float32)
            assert W.shape == (n_pre, n_post)
            i, j = np.nonzero(np.ones_like(W, dtype=bool))
            w = W[i, j]
        elif one_to_one is not None:
            kind = "one_to_one"
            w = np.asarray(one_to_one, dtype=np.float32)
            i = j = np.arange(n_pre)
        else:
            kind = "sparse"
            i, j, w = (np.asarray(a) for a in pairs)
            w = w.astype(np.float32)
        d = np.broadcast_to(np.asarray(delay, dtype=np.int64), w.shape)
        # The reference's weights: one dense float64 matrix per distinct delay
        # (duplicate synapses add up).
        by_delay = {}
        for dd in np.unique(d):
            M = np.zeros((n_pre, n_post))
            sel = d == dd
            np.add.at(M, (i[sel], j[sel]), w[sel].astype(np.float64))
            by_delay[int(dd)] = M
        self.conns[name] = dict(name=name, pre=pre, post=post, synapse=synapse, params=params,
                                kind=kind, W=W, w=w, i=i, j=j, delay=delay, by_delay=by_delay,
                                raw=raw)
        return name

    # -- the library ---------------------------------------------------------

    def build(self, backend: str = "reference", seed: int = 0) -> snn.Network:
        net = snn.Network(dt=self.dt, batch=self.batch, seed=seed, backend=backend)
        for p in self.pops.values():
            net.population(p["name"], p["n"], p["model"], **p["raw"])
        for c in self.conns.values():
            common = dict(synapse=c["synapse"], name=c["name"], **c["raw"])
            if c["kind"] == "dense":
                net.connect(c["pre"], c["post"], c["W"], delay=int(c["delay"]), **common)
            elif c["kind"] == "one_to_one":
                net.connect(c["pre"], c["post"], weights=c["w"], one_to_one=True,
                            delay=int(c["delay"]), **common)
            else:
                net.connect(c["pre"], c["post"], weights=c["w"], pairs=(c["i"], c["j"]),
                            delay=c["delay"], **common)
        return net

    def run_library(self, steps: int, inputs: Dict[str, np.ndarray],
                    absent: Optional[Dict[str, np.ndarray]] = None,
                    backend: str = "reference") -> Dict[str, np.ndarray]:
        """Steps the library network one step at a time, reading every state
        variable (synaptic state included) after each step."""
        absent = absent or {}
        net = self.build(backend)
        out: Dict[str, np.ndarray] = {}
        B = self.batch
        for p in self.pops.values():
            if p["model"] in SOURCES:
                continue
            for var in NEURON_STATE[p["model"]] + ["spikes"]:
                out[f"{p['name']}.{var}"] = np.zeros((steps, B, p["n"]),
                                                     dtype=bool if var == "spikes" else np.float32)
        for c in self.conns.values():
            for var in SYNAPSE_STATE[c["synapse"]]:
                out[f"{c['name']}.{var}"] = np.zeros((steps, B, self.pops[c["post"]]["n"]), np.float32)
        readers = []
        for key in out:
            name, var = key.rsplit(".", 1)
            if var == "spikes":
                readers.append((out[key], lambda name=name: net.spikes(name)))
            elif name in self.pops:
                readers.append((out[key], lambda name=name, var=var: net.state(name, var, copy=True)))
            else:
                readers.append((out[key], lambda name=name, var=var: net.state(name, var)))
        for t in range(steps):
            feed = {name: np.ascontiguousarray(x[t]) for name, x in inputs.items()
                    if name not in absent or not absent[name][t]}
            net.step(inputs=feed)
            for arr, read in readers:
                arr[t] = read()
        net.close()
        return out

    # -- the reference (docs/models.md) -----------------------------------------

    def update_order(self) -> List[str]:
        """Populations in a topological order of the zero-delay connections,
        ties by id (creation order) -- docs/architecture.md, Decision 1."""
        names = list(self.pops)
        edges = [(c["pre"], c["post"]) for c in self.conns.values() if 0 in c["by_delay"]]
        order: List[str] = []
        while len(order) < len(names):
            ready = [p for p in names if p not in order
                     and all(pre in order for pre, post in edges if post == p)]
            order.append(ready[0])
        return order

    def reference(self, steps: int, inputs: Dict[str, np.ndarray],
                  absent: Optional[Dict[str, np.ndarray]] = None,
                  restart_from: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, np.ndarray]:
        """The run, step by step. With `restart_from` (a recording of the
        library), every step starts from the library's state after the
        previous step (its state variables, synaptic states and spikes), so
        that each step is an independent one-step prediction."""
        absent = absent or {}
        dt, B = self.dt, self.batch
        rec: Dict[str, np.ndarray] = {}
        emitted = {name: np.zeros((steps, B, p["n"])) for name, p in self.pops.items()}  # out_i(m)
        state: Dict[str, Dict[str, np.ndarray]] = {}
        last: Dict[str, np.ndarray] = {}
        R: Dict[str, np.ndarray] = {}
        for name, p in self.pops.items():
            P, n, model = p["params"], p["n"], p["model"]
            init = {"lif": {"v": P.get("v_rest")}, "alif": {"v": P.get("v_rest"), "a": 0.0},
                    "li": {"v": P.get("v_rest")}, "if": {"v": P.get("v_reset")},
                    "izhikevich": {"v": P.get("c"), "u": P.get("b", 0) * P.get("c", 0)}}.get(model, {})
            state[name] = {var: np.broadcast_to(np.asarray(val, dtype=np.float64), (B, n)).copy()
                           for var, val in init.items()}
            last[name] = np.full((B, n), -10 ** 9, dtype=np.int64)
            R[name] = steps_of(P["t_ref"], dt) if "t_ref" in P else np.zeros(n, np.int64)
            for var in NEURON_STATE[model]:
                rec[f"{name}.{var}"] = np.zeros((steps, B, n))
            if model not in SOURCES:
                rec[f"{name}.spikes"] = np.zeros((steps, B, n), dtype=bool)
                rec[f"{name}.margin"] = np.full((steps, B, n), np.inf)  # v - threshold where compared
        syn = {}
        for name, c in self.conns.items():
            if SYNAPSE_STATE[c["synapse"]]:
                syn[name] = np.zeros((B, self.pops[c["post"]]["n"]))
                rec[f"{name}.{SYNAPSE_STATE[c['synapse']][0]}"] = np.zeros((steps, B, self.pops[c["post"]]["n"]))
        incoming = {name: [c for c in self.conns.values() if c["post"] == name] for name in self.pops}
        order = self.update_order()

        for t in range(steps):
            if restart_from is not None and t > 0:
                for name, p in self.pops.items():
                    if p["model"] in SOURCES:
                        continue
                    for var in NEURON_STATE[p["model"]]:
                        state[name][var][...] = restart_from[f"{name}.{var}"][t - 1]
                    spiked_before = restart_from[f"{name}.spikes"][t - 1]
                    emitted[name][t - 1] = spiked_before
                    last[name] = np.where(spiked_before, t - 1, last[name])
                for name in syn:
                    var = SYNAPSE_STATE[self.conns[name]["synapse"]][0]
                    syn[name][...] = restart_from[f"{name}.{var}"][t - 1]
            for name in order:
                p = self.pops[name]
                P, model, n = p["params"], p["model"], p["n"]
                given = name in inputs and not (name in absent and absent[name][t])
                # Sources: phase 4 only.
                if model == "spike_source":
                    emitted[name][t] = (inputs[name][t] != 0) if given else 0.0
                    continue
                if model == "current_source":
                    emitted[name][t] = f32(inputs[name][t]) if given else P["current"]
                    continue
                assert model != "poisson", "the reference has no Poisson generator"
                S = state[name]
                v = S["v"]
                since = t - last[name]
                held = (since >= 1) & (since <= R[name] - 1)
                if model == "li":
                    held = np.zeros_like(held)
                # Phase 1: deliver, connections in ascending id (creation) order.
                for c in incoming[name]:
                    s = np.zeros((B, n))
                    for d, M in c["by_delay"].items():
                        if t - d >= 0:
                            s += emitted[c["pre"]][t - d] @ M
                    if c["synapse"] == "delta":
                        v += np.where(held, 0.0, s)
                    else:
                        syn[c["name"]] += s
                # Phase 2: integrate, with I_k and g_k as phase 1 left them.
                exp_in = [c for c in incoming[name] if c["synapse"] == "exp"]
                cond_in = [c for c in incoming[name] if c["synapse"] == "cond_exp"]
                sum_I = sum((syn[c["name"]] for c in exp_in), np.zeros((B, n)))
                sum_g = sum((syn[c["name"]] for c in cond_in), np.zeros((B, n)))
                sum_ge = sum((syn[c["name"]] * c["params"]["e_rev"] for c in cond_in), np.zeros((B, n)))
                if model in ("lif", "alif", "li", "if"):
                    tau_m = P["tau_mem"]
                    leaky = model != "if"
                    if cond_in:  # exponential Euler for the whole membrane
                        A = ((P["v_rest"] if leaky else 0.0) + sum_I + sum_ge) / tau_m
                        Bc = -((1.0 if leaky else 0.0) + sum_g) / tau_m
                        with np.errstate(divide="ignore", invalid="ignore"):
                            factor = np.where(Bc == 0, dt, np.expm1(Bc * dt) / Bc)
                        new_v = v + (A + Bc * v) * factor
                    elif leaky:  # exact propagator
                        E_m = coef(np.exp(-dt / tau_m))
                        new_v = P["v_rest"] + (v - P["v_rest"]) * E_m
                        for c in exp_in:
                            tau_k = c["params"]["tau"]
                            with np.errstate(divide="ignore", invalid="ignore"):
                                general = tau_k / (tau_k - tau_m) * (np.exp(-dt / tau_k) - np.exp(-dt / tau_m))
                            c_k = coef(np.where(tau_k == tau_m, dt / tau_m * np.exp(-dt / tau_m), general))
                            new_v = new_v + syn[c["name"]] * c_k
                    else:  # if, exact
                        new_v = v.copy()
                        for c in exp_in:
                            tau_k = c["params"]["tau"]
                            new_v = new_v + syn[c["name"]] * coef(tau_k / tau_m * (1 - np.exp(-dt / tau_k)))
                    v[...] = np.where(held, v, new_v)
                elif model == "izhikevich":
                    u = S["u"]
                    f_v = (4e4 * v * v + 5e3 * v + 140.0 - u + P["i_offset"]
                           + (sum_I + sum_ge - sum_g * v) / P["tau_mem"])
                    f_u = P["a"] * (P["b"] * v - u)
                    v[...] = np.where(held, v, v + dt * f_v)
                    u[...] = np.where(held, u, u + dt * f_u)  # from the old v; both held alike
                for c in exp_in + cond_in:
                    syn[c["name"]] *= coef(np.exp(-dt / c["params"]["tau"]))
                if model == "alif":
                    S["a"] *= coef(np.exp(-dt / P["tau_adapt"]))
                # Phase 3: threshold (strictly greater), reset, refractory.
                if model in SPIKING:
                    if model == "izhikevich":
                        threshold = P["v_peak"] + 0 * v
                    elif model == "alif":
                        threshold = P["v_th"] + S["a"]
                    else:
                        threshold = P["v_th"] + 0 * v
                    margin = v - threshold
                    spiked = ~held & (margin > 0)
                    rec[f"{name}.margin"][t] = np.where(held, np.inf, margin)
                    if model == "izhikevich":
                        v[...] = np.where(spiked, P["c"], v)
                        S["u"] += np.where(spiked, P["d"], 0.0)
                    elif p["options"]["reset"] == "value":
                        v[...] = np.where(spiked, P["v_reset"], v)
                    else:
                        v[...] = np.where(spiked, v - (P["v_th"] - P["v_reset"]), v)
                    if model == "alif":
                        S["a"] += np.where(spiked, P["delta_th"], 0.0)
                    last[name] = np.where(spiked, t, last[name])
                else:
                    spiked = np.zeros((B, n), dtype=bool)
                # Phase 4: emit.
                emitted[name][t] = spiked
                rec[f"{name}.spikes"][t] = spiked
                for var in NEURON_STATE[model]:
                    rec[f"{name}.{var}"][t] = S[var]
                for c in incoming[name]:
                    if c["name"] in syn:
                        rec[f"{c['name']}.{SYNAPSE_STATE[c['synapse']][0]}"][t] = syn[c["name"]]
        return rec

    # -- both, compared ----------------------------------------------------------------

    def check(self, label: str, steps: int, inputs: Dict[str, np.ndarray],
              absent: Optional[Dict[str, np.ndarray]] = None, backend: str = "reference",
              min_spikes: int = 1, one_step: bool = True) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        """Runs both and compares every recorded variable at every step (see
        compare()); then (one_step) compares every step of the library with
        the reference's prediction from the library's own previous state,
        within the much smaller TOL_ONE_STEP. Returns (expected, got)."""
        expected = self.reference(steps, inputs, absent)
        got = self.run_library(steps, inputs, absent, backend)
        if one_step:
            compare_one_step(label, self, self.reference(steps, inputs, absent, restart_from=got), got)
        compare(label, self, expected, got)
        counts = {name: int(expected[f"{name}.spikes"].sum())
                  for name, p in self.pops.items() if p["model"] in SPIKING}
        assert sum(counts.values()) >= min_spikes, f"{label}: the case should spike more: {counts}"
        return expected, got


def _tol(spec: Spec, key: str) -> Tuple[float, float]:
    name, var = key.rsplit(".", 1)
    if name in spec.pops and spec.pops[name]["model"] == "izhikevich":
        return TOL_IZH[var]
    return TOL[var]


def compare(label: str, spec: Spec, expected: Dict[str, np.ndarray], got: Dict[str, np.ndarray],
            max_cut: float = 0.5) -> None:
    """Compares every variable and the spikes of every step.

    Per instance, finds the first step where anything disagrees. A spike
    difference is accepted only where every differing neuron's threshold
    comparison was within the tolerance of v (a near-threshold crossing that
    float32 may decide either way); the instance is then compared up to that
    step only. Anything else fails with the details of the first disagreement.
    """
    steps, B = next(iter(got.values())).shape[:2]
    value_keys = [k for k in got if not k.endswith(".spikes")]
    spike_keys = [k for k in got if k.endswith(".spikes")]
    for b in range(B):
        first_bad = steps
        why = None
        for key in value_keys:
            atol, rtol = _tol(spec, key)
            e, g = expected[key][:, b], got[key][:, b].astype(np.float64)
            peak = np.abs(e).max(axis=0)
            bad = ~(np.abs(g - e) <= atol + rtol * peak)
            if bad.any():
                t = int(np.argmax(bad.any(axis=1)))
                if t < first_bad:
                    j = int(np.argmax(bad[t]))
                    first_bad, why = t, ("value", key, j, atol, rtol)
        for key in spike_keys:
            diff = expected[key][:, b] != got[key][:, b]
            if diff.any():
                t = int(np.argmax(diff.any(axis=1)))
                if t <= first_bad:  # a spike difference explains a value difference in its step
                    first_bad, why = t, ("spikes", key, None, None, None)
        if why is None:
            continue
        t = first_bad
        kind, key, j, atol, rtol = why
        name = key.rsplit(".", 1)[0]
        if kind == "spikes":
            # Near-threshold? All differing neurons of all populations in this step.
            near = True
            details = []
            for skey in spike_keys:
                pname = skey.rsplit(".", 1)[0]
                diff = np.nonzero(expected[skey][t, b] != got[skey][t, b])[0]
                atol_v, rtol_v = _tol(spec, f"{pname}.v")
                for jj in diff:
                    margin = expected[f"{pname}.margin"][t, b, jj]
                    tolerance = atol_v + rtol_v * np.abs(expected[f"{pname}.v"][:, b, jj]).max()
                    if spec.pops[pname]["model"] == "alif":
                        tolerance += TOL["a"][0] + TOL["a"][1] * np.abs(expected[f"{pname}.a"][:, b, jj]).max()
                    details.append(f"{pname}[{jj}]: expected spike={bool(expected[skey][t, b, jj])} "
                                   f"got spike={bool(got[skey][t, b, jj])}, v - threshold in the "
                                   f"reference = {margin:.3e} V (tolerance {tolerance:.1e})")
                    near &= abs(margin) <= tolerance
            if near:
                warnings.warn(f"{label}: instance {b} compared up to step {t} only: near-threshold "
                              f"crossing decided differently in float32: " + "; ".join(details))
                assert t >= (1 - max_cut) * steps, (
                    f"{label}: instance {b} has a near-threshold crossing at step {t} of {steps}; "
                    f"choose inputs that do not graze the threshold")
                continue
            ref_steps = np.nonzero(expected[key][:, b].any(axis=1))[0]
            got_steps = np.nonzero(got[key][:, b].any(axis=1))[0]
            raise AssertionError(
                f"{label}: spikes of {name} differ in instance {b} at step {t}: " + "; ".join(details)
                + f"\n  expected spike steps (any neuron) near it: {ref_steps[(ref_steps > t - 50) & (ref_steps < t + 50)]}"
                + f"\n  observed spike steps (any neuron) near it: {got_steps[(got_steps > t - 50) & (got_steps < t + 50)]}"
                + _context(expected, got, name, b, t))
        e = expected[key][t, b, j]
        g = got[key][t, b, j]
        raise AssertionError(
            f"{label}: {key} of instance {b}, neuron {j} differs at step {t}: expected {e:.9g}, got {g:.9g} "
            f"(|diff| = {abs(g - e):.3g} > {atol:g} + {rtol:g} * {np.abs(expected[key][:, b, j]).max():.3g}, "
            f"the largest |expected| of the trace)"
            + _context(expected, got, name if name in spec.pops else spec.conns[name]["post"], b, t, j))


def compare_one_step(label: str, spec: Spec, predicted: Dict[str, np.ndarray],
                     got: Dict[str, np.ndarray]) -> None:
    """Every step of the library against the reference's one-step prediction
    from the library's state after the previous step (TOL_ONE_STEP; a spike
    may differ only where the prediction is within that tolerance of the
    threshold)."""
    for key, g in got.items():
        name, var = key.rsplit(".", 1)
        if var == "spikes":
            diff = predicted[key] != g
            if diff.any():
                atol, rtol = TOL_ONE_STEP["v"]
                peak = np.abs(predicted[f"{name}.v"]).max(axis=0)
                near = np.abs(predicted[f"{name}.margin"]) <= atol + rtol * peak
                far = diff & ~near
                if far.any():
                    t, b, j = (int(k[0]) for k in np.nonzero(far))
                    raise AssertionError(
                        f"{label} (one step from the library's state): {name} neuron {j} of instance {b} "
                        f"spiked={bool(g[t, b, j])} in step {t}, expected {bool(predicted[key][t, b, j])} "
                        f"(v - threshold = {predicted[f'{name}.margin'][t, b, j]:.3e} V)")
                warnings.warn(f"{label}: {int(diff.sum())} near-threshold spike decision(s) differ in "
                              "the one-step comparison")
            continue
        atol, rtol = (TOL_IZH_ONE_STEP if name in spec.pops and spec.pops[name]["model"] == "izhikevich"
                      else TOL_ONE_STEP)[var]
        e = predicted[key]
        peak = np.abs(e).max(axis=0)
        bad = ~(np.abs(g.astype(np.float64) - e) <= atol + rtol * peak)
        # A spike decision that differed near the threshold makes that step's value differ.
        spike_key = f"{name}.spikes" if name in spec.pops else f"{spec.conns[name]['post']}.spikes"
        if spike_key in got:
            bad &= ~(got[spike_key] != predicted[spike_key])
        if bad.any():
            t, b, j = (int(k[0]) for k in np.nonzero(bad))
            raise AssertionError(
                f"{label} (one step from the library's state): {key} of instance {b}, neuron {j} at step "
                f"{t}: expected {e[t, b, j]:.9g}, got {g[t, b, j]:.9g} (|diff| = {abs(g[t, b, j] - e[t, b, j]):.3g}"
                f" > {atol:g} + {rtol:g} * {peak[b, j]:.3g}); {int(bad.sum())} values differ")


def _context(expected, got, pop: str, b: int, t: int, j: Optional[int] = None) -> str:
    """A few steps of v and spikes around step t, for failure messages."""
    if f"{pop}.v" not in got:
        return ""
    lines = []
    for s in range(max(0, t - 3), min(t + 2, got[f"{pop}.v"].shape[0])):
        if j is None:
            jj = int(np.argmax(expected[f"{pop}.spikes"][t, b] != got[f"{pop}.spikes"][t, b]))
        else:
            jj = j
        lines.append(f"    step {s}: {pop}.v[{jj}] expected {expected[f'{pop}.v'][s, b, jj]:.9g} "
                     f"got {got[f'{pop}.v'][s, b, jj]:.9g}; spike expected "
                     f"{bool(expected[f'{pop}.spikes'][s, b, jj])} got {bool(got[f'{pop}.spikes'][s, b, jj])}")
    return "\n" + "\n".join(lines)


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def spike_trains(rng: np.random.Generator, steps: int, batch: int, n: int, rate_hz) -> np.ndarray:
    """Bernoulli spike trains [steps, batch, n] (bool), rate per neuron or scalar."""
    p = np.broadcast_to(np.asarray(rate_hz, dtype=np.float64) * DT, (n,))
    return rng.random((steps, batch, n)) < p


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


# --------------------------------------------------------------------------
# The registry states what docs/models.md states
# --------------------------------------------------------------------------

def test_registry_matches_docs():
    assert set(snn.models("neuron")) >= set(NEURON_PARAMS)
    assert set(snn.models("synapse")) >= set(SYNAPSE_PARAMS)
    for model, params in NEURON_PARAMS.items():
        info = snn.model_params(model, "neuron")
        numbers = {k: p.default for k, p in info.items() if p.kind == "number"}
        strings = {k: p.default for k, p in info.items() if p.kind == "string"}
        assert set(numbers) == set(params), f"{model}: parameters {sorted(numbers)} vs docs {sorted(params)}"
        for k, default in params.items():
            assert numbers[k] == pytest.approx(default, rel=1e-12, abs=0), f"{model}.{k} default"
        assert strings == NEURON_OPTIONS.get(model, {}), f"{model}: options"
        if "reset" in info:
            assert set(info["reset"].choices) == {"value", "subtract"}
        assert snn.model_state_vars(model, "neuron") == NEURON_STATE[model], f"{model}: state variables"
    for model, params in SYNAPSE_PARAMS.items():
        info = snn.model_params(model, "synapse")
        assert {k: p.default for k, p in info.items()} == pytest.approx(params), f"{model} defaults"
        assert snn.model_state_vars(model, "synapse") == SYNAPSE_STATE[model]


def test_initial_state_per_neuron_params(backend):
    """Initial values: lif/alif/li v = v_rest, if v = v_reset, alif a = 0,
    izhikevich v = c and u = b * c; per-neuron parameter arrays."""
    spec = Spec(batch=3)
    n = 4
    spec.pop("lif", "lif", n, v_rest=[-0.07, -0.065, -0.06, -0.055])
    spec.pop("if", "if", n, v_reset=[-0.07, -0.065, -0.06, -0.055])
    spec.pop("alif", "alif", n, v_rest=[-0.071, -0.066, -0.061, -0.056])
    spec.pop("izh", "izhikevich", n, b=[200.0, 250.0, 100.0, 200.0], c=[-0.065, -0.05, -0.07, -0.055])
    spec.pop("li", "li", n, v_rest=[0.0, 0.01, -0.02, 0.5])
    net = spec.build(backend)
    expected = {
        ("lif", "v"): spec.pops["lif"]["params"]["v_rest"],
        ("if", "v"): spec.pops["if"]["params"]["v_reset"],
        ("alif", "v"): spec.pops["alif"]["params"]["v_rest"],
        ("alif", "a"): np.zeros(n),
        ("izh", "v"): spec.pops["izh"]["params"]["c"],
        ("izh", "u"): spec.pops["izh"]["params"]["b"] * spec.pops["izh"]["params"]["c"],
        ("li", "v"): spec.pops["li"]["params"]["v_rest"],
    }
    for (pop, var), values in expected.items():
        got = net.state(pop, var, copy=True)
        assert got.shape == (3, n)
        np.testing.assert_allclose(got, np.broadcast_to(values, (3, n)), rtol=1e-6, atol=0,
                                   err_msg=f"initial {pop}.{var}")
        # Per-neuron parameters read back as stored.
    np.testing.assert_array_equal(net.param("izh", "b"), np.float32([200.0, 250.0, 100.0, 200.0]))


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------

def test_spike_source_emits_nonzero_input(backend):
    """Nonzero entries (any value, any dtype) are spikes; a step without input
    emits nothing. Observed through spikes() and through delta connections
    into non-leaky neurons, whose v adds up exactly the delivered weights."""
    rng = np.random.default_rng(1)
    steps, B, n = 400, 3, 6
    x = rng.choice(np.float32([0, 0, 0, 1, 0.5, -2.0]), size=(steps, B, n))
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n)
    spec.pop("out", "if", 3, v_reset=0.0, v_th=1e3)  # never spikes: v sums the input
    spec.connect("w", "src", "out", "delta", W=rng.uniform(-1e-3, 1e-3, (n, 3)))
    absent = {"src": np.zeros(steps, bool)}
    absent["src"][::7] = True  # every 7th step has no input
    spec.check("spike_source", steps, {"src": x}, absent, backend, min_spikes=0)

    net = spec.build(backend)
    for t in range(30):
        if absent["src"][t]:
            net.step()
            assert not net.spikes("src").any(), f"step {t} without input emitted spikes"
        else:
            dtype = [np.float32, np.uint8, np.bool_][t % 3]
            net.step(inputs={"src": (x[t] != 0).astype(dtype) if dtype is not np.float32 else x[t]})
            np.testing.assert_array_equal(net.spikes("src"), x[t] != 0, err_msg=f"step {t}")


def test_current_source_graded_through_dense_connections(backend):
    """A current_source emits its input (or `current` in steps without one);
    connections deliver w * out: to v (delta) and to I (exp)."""
    rng = np.random.default_rng(2)
    steps, B, n = 1500, 3, 4
    x = rng.normal(0.0, 1.0, (steps, B, n)).astype(np.float32)
    absent = {"cur": rng.random(steps) < 0.2}
    spec = Spec(batch=B)
    spec.pop("cur", "current_source", n, current=[0.5, -0.25, 1.5, 0.0])
    spec.pop("lif", "lif", 5, v_rest=-0.06, v_th=-0.05, t_ref=1e-3)
    spec.pop("li", "li", 2, tau_mem=10e-3)
    spec.connect("cur_lif", "cur", "lif", "exp", W=rng.uniform(0.0, 4e-3, (n, 5)), tau=5e-3)
    spec.connect("cur_li", "cur", "li", "delta", W=rng.uniform(-1e-3, 1e-3, (n, 2)))
    spec.check("current_source", steps, {"cur": x}, absent, backend)


@pytest.mark.parametrize("seed", [3, 11])
def test_poisson_statistics(seed, backend):
    """Mean counts within 6 standard deviations of rate * dt * steps; neither
    adjacent steps nor neurons correlated; instances and neurons differ."""
    steps, B, n = 4000, 4, 250
    rates = np.float32(np.linspace(5.0, 400.0, n))
    net = snn.Network(dt=DT, batch=B, seed=seed, backend=backend)
    net.population("src", n, "poisson", rate=rates)
    spikes = net.run(steps, record="src.spikes")["src.spikes"]
    p = f32(rates) * DT
    counts = spikes.sum(axis=0)  # [B, n]
    mean, sd = steps * p, np.sqrt(steps * p * (1 - p))
    z = (counts - mean) / sd
    assert np.abs(z).max() < 6, f"count off by {np.abs(z).max():.1f} sd (neuron {np.unravel_index(np.abs(z).argmax(), z.shape)})"
    # All B*n counts together: the total is very tightly determined.
    total_z = (counts.sum() - B * mean.sum()) / np.sqrt(B * (sd ** 2).sum())
    assert abs(total_z) < 5, f"total count off by {total_z:.1f} sd"
    # Independence between consecutive steps: P(spike at t and t+1) = p^2.
    both = (spikes[1:] & spikes[:-1]).sum(axis=(0, 1))
    exp_both = B * (steps - 1) * p * p
    assert abs(both.sum() - exp_both.sum()) < 6 * np.sqrt(exp_both.sum()) + 1
    # Instances are different draws (not copies), so are neurons with equal rates.
    for b in range(1, B):
        assert not np.array_equal(spikes[:, 0], spikes[:, b]), f"instance {b} repeats instance 0"
    net2 = snn.Network(dt=DT, batch=1, seed=seed, backend=backend)
    net2.population("src", 2, "poisson", rate=200.0)
    s2 = net2.run(3000, record="src.spikes")["src.spikes"]
    assert not np.array_equal(s2[:, 0, 0], s2[:, 0, 1])


def test_poisson_determinism_and_seeds(backend):
    def run(seed, batch=2):
        net = snn.Network(dt=DT, batch=batch, seed=seed, backend=backend)
        net.population("src", 50, "poisson", rate=100.0)
        return net, net.run(1000, record="src.spikes")["src.spikes"]

    net_a, a = run(5)
    _, b = run(5)
    _, c = run(6)
    np.testing.assert_array_equal(a, b, err_msg="the same seed must give the same spikes")
    assert not np.array_equal(a, c), "different seeds must give different spikes"
    net_a.reset()
    again = net_a.run(1000, record="src.spikes")["src.spikes"]
    np.testing.assert_array_equal(a, again, err_msg="reset must replay the random stream")


def test_poisson_draws_are_the_same_at_every_simd_level():
    """The cpu kernels draw 64 neurons at a time at AVX-512 (16 Philox blocks
    side by side): the same words and comparisons as the reference's one
    block at a time, for whole and partial groups, per-neuron rates, batch 2
    and a seed above 2^32."""
    steps, B, n = 300, 2, 3 * 64 + 7
    rate = np.random.default_rng(3).uniform(0.0, 0.6 / DT, (steps, B, n)).astype(np.float32)  # probabilities 0 to 0.6

    def run(backend, simd="auto"):
        try:
            context = snn.Context(backend=backend, simd=simd)
        except snn.UnsupportedError:
            return None
        net = snn.Network(dt=DT, batch=B, seed=(7 << 32) + 5, context=context)
        net.population("src", n, "poisson", rate=50.0)
        return net.run(steps, inputs={"src": rate}, record="src.spikes")["src.spikes"]

    want = run("reference")
    assert 0.05 < want.mean() < 0.5
    for simd in ("generic", "avx2", "avx512"):
        got = run("cpu", simd)
        if got is not None:
            np.testing.assert_array_equal(got, want, err_msg=simd)


def test_poisson_per_step_rate_input(backend):
    """A per-step [batch, n] rate replaces `rate` for that step: 0 Hz never
    spikes, rate * dt >= 1 always spikes (u < 1), intermediate rates follow
    their own probability, steps without input use `rate`."""
    steps, B, n = 3000, 2, 200
    net = snn.Network(dt=DT, batch=B, seed=9, backend=backend)
    net.population("src", n, "poisson", rate=50.0)
    rate = np.zeros((steps, B, n), np.float32)
    rate[:, :, 50:100] = 1.0 / DT        # probability 1
    rate[:, :, 100:150] = 2000.0          # probability 0.2
    rate[:, 1, 150:200] = 500.0           # instance 1 only: probability 0.05
    rate[1000:2000] = rate[1000:2000][:, ::-1]  # swap instances in the middle third
    sp = net.run(steps, inputs={"src": rate}, record="src.spikes")["src.spikes"]
    assert not sp[rate == 0].any(), "0 Hz input spiked"
    assert sp[rate == np.float32(1.0 / DT)].all(), "rate * dt = 1 must spike every step"
    for r in (2000.0, 500.0):
        sel = rate == np.float32(r)
        p, m = r * DT, sel.sum()
        k = sp[sel].sum()
        assert abs(k - m * p) < 6 * math.sqrt(m * p * (1 - p)), f"{r} Hz: {k} spikes in {m} draws"
    # Per-step input through step(): input in even steps only; odd steps use rate = 50 Hz.
    net2 = snn.Network(dt=DT, batch=B, seed=9, backend=backend)
    net2.population("src", n, "poisson", rate=50.0)
    zeros = np.zeros((B, n), np.float32)
    odd = np.zeros((B, n), np.int64)
    for t in range(2000):
        if t % 2 == 0:
            net2.step(inputs={"src": zeros})
            assert not net2.spikes("src").any(), f"step {t}: 0 Hz input spiked"
        else:
            net2.step()
            odd += net2.spikes("src")
    m, p = 1000 * B * n, 50.0 * DT
    assert abs(odd.sum() - m * p) < 6 * math.sqrt(m * p), f"steps without input: {odd.sum()} spikes"


# --------------------------------------------------------------------------
# Step coefficients: computed in double from the stored values, rounded once
# --------------------------------------------------------------------------

def test_step_coefficients_are_float32_of_double(backend):
    """docs/models.md, Precision and Exact propagator: E_m, E_k, c_k (general
    and tau_k == tau_mem forms), tau_k/tau_mem (1 - E_k) for `if`, and
    exp(-dt/tau_adapt) are the float32 rounding of their double values
    computed from the float32-stored parameters. Observed where the state is
    exactly one coefficient: v = 1 decaying for one step (E_m), I = 1
    decaying (E_k), a unit current entering v = 0 (c_k), a = 1 decaying.
    The synapse tau is given as a plain number (20e-3), as a user writes it;
    tau_mem = 20e-3 is then equal to it as stored (float32)."""
    tau_mem = np.array([20e-3, 10e-3, 5e-3, 30e-3, 20e-3])
    n, tau_syn, tau_adapt = tau_mem.size, 20e-3, np.array([100e-3, 20e-3, 7e-3, 1.0, 0.05])
    net = snn.Network(dt=DT, batch=2, seed=0, backend=backend)
    net.population("src", 1, "spike_source")
    net.population("lif", n, "lif", tau_mem=tau_mem, v_rest=0.0, v_reset=0.0, v_th=1e3)
    net.population("if", n, "if", tau_mem=tau_mem, v_reset=0.0, v_th=1e3)
    net.population("alif", n, "alif", tau_mem=tau_mem, v_rest=0.0, v_reset=0.0, v_th=1e3,
                   tau_adapt=tau_adapt)
    net.population("li", n, "li", tau_mem=tau_mem, v_rest=0.0)
    conns = {p: net.connect("src", p, np.ones((1, n), np.float32), synapse="exp", tau=tau_syn, name=f"I_{p}")
             for p in ("lif", "if", "li")}
    net.set_state("alif", "a", 1.0)
    net.set_state("li", "v", 1.0)
    net.step(inputs={"src": np.ones((2, 1), np.float32)})  # step 0: only decay; the spike acts in step 1
    tm = f32(tau_mem)
    ts = float(f32(tau_syn))
    E_m = coef(np.exp(-DT / tm))
    assert_ulp(net.state("li", "v", copy=True)[0], E_m, "li: v = 1 after one step is E_m")
    assert_ulp(net.state("alif", "a", copy=True)[0], coef(np.exp(-DT / f32(tau_adapt))),
               "alif: a = 1 after one step is exp(-dt/tau_adapt)")
    net.step()  # step 1: I = 1 delivered, enters v through c_k, then decays
    E_k = coef(np.exp(-DT / ts))
    for p, conn in conns.items():
        assert_ulp(net.state(conn, "I")[0], np.full(n, E_k), f"{p}: I = 1 after one step is E_k")
    with np.errstate(divide="ignore", invalid="ignore"):
        general = ts / (ts - tm) * (np.exp(-DT / ts) - np.exp(-DT / tm))
    c_k = coef(np.where(ts == tm, DT / tm * np.exp(-DT / tm), general))
    assert (ts == tm).sum() == 2  # neurons 0 and 4 use the tau_k == tau_mem form
    assert_ulp(net.state("lif", "v", copy=True)[0], c_k,
               f"lif: v after a unit current is c_k (tau_mem {tau_mem.tolist()}, tau_syn {tau_syn}; equal as "
               f"stored for neurons 0 and 4: the form (dt/tau_mem) E_m)")
    assert_ulp(net.state("li", "v", copy=True)[0], E_m * E_m + c_k, "li: v = E_m^2 + c_k", maxulp=2)
    assert_ulp(net.state("if", "v", copy=True)[0], coef(ts / tm * (1 - np.exp(-DT / ts))),
               "if: v after a unit current is tau_k/tau_mem (1 - E_k)")


def assert_ulp(got: np.ndarray, expected: np.ndarray, what: str, maxulp: int = 1) -> None:
    """float32 values within maxulp units in the last place."""
    g = np.asarray(got, np.float32)
    e = np.asarray(expected, np.float32)
    apart = np.abs(g.view(np.int32).astype(np.int64) - e.view(np.int32).astype(np.int64))
    assert (apart <= maxulp).all(), (
        f"{what}: got {g.tolist()}, expected the float32 values {e.tolist()} "
        f"({apart.tolist()} ulp apart, at most {maxulp} allowed)")


# --------------------------------------------------------------------------
# Spiking neurons against the reference
# --------------------------------------------------------------------------

def test_lif_exp_reset_value_and_subtract(backend):
    """lif with exc and inh exp currents (tau_syn != tau_mem), per-neuron
    parameters, reset by value and by subtraction, batch 3 with different
    inputs per instance."""
    rng = np.random.default_rng(10)
    steps, B, n_in, n = 3000, 3, 20, 6
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    tau_mem = [20e-3, 10e-3, 30e-3, 20e-3, 15e-3, 25e-3]
    for name, reset in (("val", "value"), ("sub", "subtract")):
        spec.pop(name, "lif", n, tau_mem=tau_mem, v_rest=rng.uniform(-0.066, -0.06, n),
                 v_reset=rng.uniform(-0.07, -0.062, n), v_th=rng.uniform(-0.052, -0.048, n), reset=reset)
        spec.connect(f"exc_{name}", "src", name, "exp", W=rng.uniform(0, 1e-2, (n_in, n)), tau=5e-3)
        spec.connect(f"inh_{name}", "src", name, "exp", W=rng.uniform(-2e-3, 0, (n_in, n)), tau=10e-3)
    x = spike_trains(rng, steps, B, n_in, rng.uniform(20, 80, n_in))
    _, got = spec.check("lif exp", steps, {"src": x}, backend=backend, min_spikes=50)
    # The subtractive reset keeps the overshoot: v after a spike is above v_reset.
    v_reset = np.float32(spec.pops["sub"]["params"]["v_reset"])
    spiked = got["sub.spikes"]
    assert (got["sub.v"][spiked] > np.broadcast_to(v_reset, spiked.shape)[spiked]).all()


def test_lif_exp_equal_time_constants(backend):
    """tau_syn == tau_mem (the degenerate propagator (dt/tau_mem) E_m) next to
    neurons where they differ (tau_mem per neuron), and a tau_syn that
    differs from tau_mem by a little (the general form, continuous)."""
    rng = np.random.default_rng(12)
    steps, B, n_in = 3000, 2, 10
    tau_mem = np.array([20e-3, 10e-3, 20e-3, 5e-3, 19.9e-3, 20e-3])
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("lif", "lif", tau_mem.size, tau_mem=tau_mem, v_th=-0.052)
    spec.connect("syn20", "src", "lif", "exp", W=rng.uniform(0, 3e-3, (n_in, tau_mem.size)), tau=20e-3)
    spec.connect("syn10", "src", "lif", "exp", W=rng.uniform(0, 3e-3, (n_in, tau_mem.size)), tau=10e-3)
    x = spike_trains(rng, steps, B, n_in, 40.0)
    spec.check("lif exp tau_syn == tau_mem", steps, {"src": x}, backend=backend, min_spikes=20)


def test_lif_cond_exp_excitatory_and_inhibitory(backend):
    """Exponential Euler with an excitatory (e_rev 0) and an inhibitory
    (e_rev -80 mV) conductance, plus an exp current on some neurons."""
    rng = np.random.default_rng(13)
    steps, B, n_in, n = 3000, 3, 16, 5
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("lif", "lif", n, tau_mem=[20e-3, 20e-3, 10e-3, 30e-3, 20e-3], v_rest=-0.06, v_reset=-0.06,
             v_th=-0.05, t_ref=[0.0, 5e-3, 2e-3, 0.0, 1e-3])
    spec.connect("ge", "src", "lif", "cond_exp", W=rng.uniform(0, 1.0, (n_in, n)), tau=5e-3, e_rev=0.0)
    spec.connect("gi", "src", "lif", "cond_exp", W=rng.uniform(0, 0.4, (n_in, n)), tau=10e-3, e_rev=-0.08)
    spec.connect("I", "src", "lif", "exp", W=rng.uniform(0, 2e-3, (n_in, n)) * (np.arange(n) % 2), tau=5e-3)
    x = spike_trains(rng, steps, B, n_in, 60.0)
    spec.check("lif cond_exp", steps, {"src": x}, backend=backend, min_spikes=50)


def test_lif_refractory_rules_against_reference(backend):
    """Per-neuron t_ref: 0 (R=0), dt (R=1), 1.4 dt (R=1), 1.6 dt (R=2), 3 dt,
    2 ms (R=20), 5 ms, with dense delta input (discarded while held) and exp
    input (kept while held)."""
    rng = np.random.default_rng(14)
    steps, B, n_in = 3000, 3, 12
    t_ref = np.array([0.0, 1e-4, 1.4e-4, 1.6e-4, 3e-4, 2e-3, 5e-3])
    n = t_ref.size
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    for name, reset in (("val", "value"), ("sub", "subtract")):
        spec.pop(name, "lif", n, t_ref=t_ref, v_reset=-0.068, v_rest=-0.06, reset=reset)
        spec.connect(f"d_{name}", "src", name, "delta", W=rng.uniform(-1e-3, 4e-3, (n_in, n)))
        spec.connect(f"e_{name}", "src", name, "exp", W=rng.uniform(0, 3e-3, (n_in, n)), tau=5e-3)
    x = spike_trains(rng, steps, B, n_in, 100.0)
    spec.check("lif refractory", steps, {"src": x}, backend=backend, min_spikes=100)


@pytest.mark.parametrize("model", ["lif", "if", "alif", "izhikevich"])
def test_refractory_steps_exactly(model, backend):
    """docs/models.md, Refractoriness: after a spike in step t, steps
    t+1 .. t+R-1 are held (v and Izhikevich's u unchanged, delta input
    discarded, alif's a still decays), step t+R integrates and takes delta
    input again. t_ref = 5 dt
    (R = 5). A large delta input forces a spike in step t; then a small delta
    input is delivered in every step from t+1 on (instance 0), from t+2 on
    (instance 1), from t+R+1 on (instance 2), or never (instance 3)."""
    R, B, t = 5, 4, 10
    steps = t + R + 6
    kick, small = 0.2, 1e-3
    params = dict(t_ref=R * DT)
    if model != "izhikevich":
        params.update(v_reset=-0.07, v_th=-0.05)
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", 2)
    spec.pop("n", model, 1, **params)
    spec.connect("w", "src", "n", "delta", W=[[kick], [small]])
    x = np.zeros((steps, B, 2), np.float32)
    x[t - 1, :, 0] = 1  # emitted in step t-1, delivered in step t
    for b, first in ((0, t + 1), (1, t + 2), (2, t + R + 1)):
        x[first - 1:, b, 1] = 1  # delivered from step `first` on
    expected, got = spec.check(f"{model} refractory", steps, {"src": x}, backend=backend)
    # The same, stated directly (independently of the reference).
    v = got["n.v"][:, :, 0]
    for b in range(B):
        spike_steps = list(np.nonzero(got["n.spikes"][:, b, 0])[0])
        assert spike_steps[:1] == [t], f"{model}, instance {b}: spike steps {spike_steps}, expected {t} first"
        for s in range(t + 1, t + R):
            assert v[s, b] == v[t, b], (
                f"{model}, instance {b}: step {s} = t+{s - t} is held (R = {R}): v must stay "
                f"{v[t, b]:.9g} (after the reset), got {v[s, b]:.9g}")
        if model != "if" or b < 2:  # (a leak-free `if` without input has nothing to integrate)
            assert v[t + R, b] != v[t, b], f"{model}, instance {b}: step t+R = {t + R} must integrate again"
    assert v[t + R, 0] == v[t + R, 1], (
        f"{model}: delta input delivered in held steps must be discarded: v at step t+R differs "
        f"({v[t + R, 0]:.9g} with inputs from t+1, {v[t + R, 1]:.9g} with inputs from t+2)")
    assert v[t + R, 2] == v[t + R, 3], f"{model}: instance 2 has no input until step t+R+1"
    added = float(v[t + R, 0]) - float(v[t + R, 2])
    assert added == pytest.approx(small, rel=0.05), (
        f"{model}: the delta input delivered in step t+R = {t + R}, the first step that is not held, "
        f"must be added to v (docs/models.md, Refractoriness): v at t+R is {v[t + R, 0]:.9g} with it "
        f"and {v[t + R, 2]:.9g} without it (difference {added:.3g}, expected about {small:g})")
    if model == "izhikevich":
        u = got["n.u"][:, :, 0]
        for s in range(t + 1, t + R):
            assert (u[s] == u[t]).all(), f"izhikevich: u must stay unchanged in held step {s}: {u[s]} vs {u[t]}"
        assert (u[t + R] != u[t]).all(), "izhikevich: u must integrate again in step t+R"
    if model == "alif":
        a = got["n.a"][:, 0, 0]
        assert a[t + 1] < a[t] and a[t + 2] < a[t + 1], "alif: a must keep decaying while held"


def test_if_exp_and_cond_exp(backend):
    """`if` (no leak): exact propagator with exp currents; exponential Euler
    with conductances, including the B == 0 limit (no conductance yet,
    v += A dt) and B dt so small that only expm1 keeps its digits."""
    rng = np.random.default_rng(15)
    steps, B, n_in, n = 3000, 3, 12, 4
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("ife", "if", n, tau_mem=[20e-3, 10e-3, 40e-3, 20e-3], v_th=[-0.05, -0.05, -0.055, -0.045],
             reset="subtract", t_ref=[0.0, 1e-3, 0.0, 3e-4])
    spec.connect("exc", "src", "ife", "exp", W=rng.uniform(0, 3e-3, (n_in, n)), tau=5e-3)
    spec.connect("inh", "src", "ife", "exp", W=rng.uniform(-1.5e-3, 0, (n_in, n)), tau=10e-3)
    spec.pop("ifc", "if", n, v_reset=-0.065, v_th=-0.05, t_ref=[0.0, 2e-3, 0.0, 1e-3])
    spec.connect("gc", "src", "ifc", "cond_exp", W=rng.uniform(0, 0.02, (n_in, n)), tau=5e-3, e_rev=0.0)
    spec.connect("Ic", "src", "ifc", "exp", W=rng.uniform(0, 1e-3, (n_in, n)), tau=5e-3)
    # Tiny conductances: B dt down to -1e-10, where exp(B dt) - 1 would lose
    # every digit in float32 (docs/models.md, Precision: the expm1 form).
    spec.pop("ift", "if", n, v_reset=-0.065, v_th=-0.05)
    spec.connect("gt", "src", "ift", "cond_exp", W=np.outer(np.ones(n_in), [1e-8, 1e-6, 1e-4, 1e-2]),
                 tau=5e-3, e_rev=0.0)
    spec.connect("It", "src", "ift", "exp", W=np.random.default_rng(151).uniform(0, 1e-3, (n_in, n)), tau=5e-3)
    x = spike_trains(rng, steps, B, n_in, 50.0)
    x[:200] = False  # B == 0 and A == 0 at first, then B == 0 with A != 0 once I arrives
    x[200:260, :, 0] = True
    spec.check("if", steps, {"src": x}, backend=backend, min_spikes=20)


def test_alif(backend):
    """alif: threshold v_th + a with a decayed in this step, a += delta_th
    after the reset, subtract reset without a, refractory, per-neuron
    tau_adapt and delta_th."""
    rng = np.random.default_rng(16)
    steps, B, n_in, n = 3000, 3, 16, 5
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("val", "alif", n, tau_adapt=[100e-3, 50e-3, 200e-3, 100e-3, 20e-3],
             delta_th=[1e-3, 3e-3, 0.5e-3, 2e-3, 1e-3], t_ref=[0.0, 0.0, 2e-3, 1e-3, 0.0])
    spec.pop("sub", "alif", n, tau_adapt=[100e-3, 50e-3, 200e-3, 100e-3, 20e-3],
             delta_th=[1e-3, 3e-3, 0.5e-3, 2e-3, 1e-3], v_reset=-0.07, reset="subtract")
    for name in ("val", "sub"):
        spec.connect(f"e_{name}", "src", name, "exp", W=rng.uniform(0, 1.2e-2, (n_in, n)), tau=5e-3)
        spec.connect(f"i_{name}", "src", name, "exp", W=rng.uniform(-2e-3, 0, (n_in, n)), tau=10e-3)
    x = spike_trains(rng, steps, B, n_in, 60.0)
    expected, _ = spec.check("alif", steps, {"src": x}, backend=backend, min_spikes=50)
    assert expected["val.a"].max() > 2e-3, "adaptation should build up"


def test_izhikevich(backend):
    """Forward Euler for v and u, per-neuron i_offset, a, d and tau_mem;
    delta, exp (I/tau_mem) and cond_exp (g (e_rev - v)/tau_mem) input."""
    rng = np.random.default_rng(17)
    steps, B, n_in = 3000, 3, 10
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("rs", "izhikevich", 4, i_offset=[10.0, 0.0, 5.0, 0.0], d=[8.0, 8.0, 2.0, 6.0])
    spec.pop("fs", "izhikevich", 3, a=[100.0, 20.0, 100.0], b=200.0, c=[-0.065, -0.05, -0.065], d=2.0,
             i_offset=[0.0, 8.0, 3.0], tau_mem=[1e-3, 2e-3, 1e-3])
    spec.connect("d", "src", "rs", "delta", W=rng.uniform(-1e-3, 4e-3, (n_in, 4)))
    spec.connect("e", "src", "rs", "exp", W=rng.uniform(0, 2e-3, (n_in, 4)), tau=5e-3)
    spec.connect("g", "src", "fs", "cond_exp", W=rng.uniform(0, 0.1, (n_in, 3)), tau=5e-3, e_rev=0.0)
    spec.connect("gi", "src", "fs", "cond_exp", W=rng.uniform(0, 0.1, (n_in, 3)), tau=10e-3, e_rev=-0.08)
    x = spike_trains(rng, steps, B, n_in, 40.0)
    spec.check("izhikevich", steps, {"src": x}, backend=backend, min_spikes=20)


def test_izhikevich_refractory(backend):
    """Izhikevich with t_ref (per neuron): v and u held, delta input
    discarded while held, exp input kept."""
    rng = np.random.default_rng(19)
    steps, B, n_in = 3000, 3, 10
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("izh", "izhikevich", 4, i_offset=[15.0, 0.0, 5.0, 0.0], t_ref=[2e-3, 1e-3, 5e-4, 3e-3])
    spec.connect("d", "src", "izh", "delta", W=rng.uniform(-1e-3, 4e-3, (n_in, 4)))
    spec.connect("e", "src", "izh", "exp", W=rng.uniform(0, 2e-3, (n_in, 4)), tau=5e-3)
    x = spike_trains(rng, steps, B, n_in, 40.0)
    spec.check("izhikevich refractory", steps, {"src": x}, backend=backend, min_spikes=20)


def test_li_never_held_never_spikes(backend):
    """li: exp and delta input (always added), cond_exp in a second
    population; never spikes."""
    rng = np.random.default_rng(18)
    steps, B, n_in, n = 2000, 3, 10, 4
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("li", "li", n, tau_mem=[20e-3, 5e-3, 50e-3, 20e-3], v_rest=[0.0, 0.0, -0.01, 0.02])
    spec.pop("lic", "li", n, v_rest=-0.06)
    spec.connect("e", "src", "li", "exp", W=rng.uniform(-0.02, 0.03, (n_in, n)), tau=5e-3)
    spec.connect("d", "src", "li", "delta", W=rng.uniform(-0.01, 0.01, (n_in, n)))
    spec.connect("g", "src", "lic", "cond_exp", W=rng.uniform(0, 0.5, (n_in, n)), tau=5e-3)
    x = spike_trains(rng, steps, B, n_in, 80.0)
    _, got = spec.check("li", steps, {"src": x}, backend=backend, min_spikes=0)
    assert not got["li.spikes"].any() and not got["lic.spikes"].any()


# --------------------------------------------------------------------------
# Delivery: delays, connection kinds, several connections
# --------------------------------------------------------------------------

def test_delays_zero_one_and_more(backend):
    """Delay 0 delivers in the same step, through a chain created in an order
    that needs the topological update order (the target created before its
    source); delays 1, 2 and 7."""
    rng = np.random.default_rng(20)
    steps, B, n_in = 1500, 2, 8
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("c", "lif", 3, v_reset=-0.07)           # created first, fed through b with delay 0
    spec.pop("b", "lif", 4, v_reset=-0.07)
    spec.pop("d", "if", 6, v_reset=0.0, v_th=1e3)     # sums: one neuron per delay
    spec.connect("src_b", "src", "b", "delta", W=rng.uniform(0, 8e-3, (n_in, 4)), delay=0)
    spec.connect("b_c", "b", "c", "delta", W=rng.uniform(0, 10e-3, (4, 3)), delay=0)
    spec.connect("src_c", "src", "c", "exp", W=rng.uniform(0, 3e-3, (n_in, 3)), delay=2)
    for k, d in enumerate([0, 1, 2, 7]):
        W = np.zeros((n_in, 6), np.float32)
        W[:, k] = rng.uniform(0.5, 1.0, n_in)
        spec.connect(f"delay{d}", "src", "d", "delta", W=W, delay=d)
    spec.connect("c_d", "c", "d", "delta", W=np.eye(3, 6, 4, dtype=np.float32)[:, :6] + 0, delay=3)
    x = spike_trains(rng, steps, B, n_in, 60.0)
    expected, got = spec.check("delays", steps, {"src": x}, backend=backend, min_spikes=10)
    # Direct check of the timing on the counting neurons (independent of the reference).
    for k, d in enumerate([0, 1, 2, 7]):
        w = spec.conns[f"delay{d}"]["W"][:, k].astype(np.float64)
        per_step = x.astype(np.float64) @ w  # [steps, B]
        shifted = np.zeros_like(per_step)
        shifted[d:] = per_step[: steps - d]
        np.testing.assert_allclose(got["d.v"][:, :, k], np.cumsum(shifted, axis=0), rtol=1e-5, atol=1e-5,
                                   err_msg=f"delay {d}: a spike emitted in step m acts in step m + {d}")


def test_per_synapse_delays_sparse(backend):
    """Sparse connections with one delay per synapse (pairs=, and a scipy
    matrix), duplicates adding up, next to one_to_one and dense connections
    onto the same population."""
    rng = np.random.default_rng(21)
    steps, B, n_in, n = 1500, 3, 10, 10
    spec = Spec(batch=B)
    spec.pop("src", "spike_source", n_in)
    spec.pop("lif", "lif", n, v_reset=-0.07, v_rest=-0.06)
    m = 40
    i = rng.integers(0, n_in, m)
    j = rng.integers(0, n, m)
    i[:3], j[:3] = 2, 5  # duplicates
    w = rng.uniform(0, 6e-3, m)
    d = rng.integers(0, 6, m)  # some zero delays
    spec.connect("sparse_delays", "src", "lif", "delta", pairs=(i, j, w), delay=d)
    spec.connect("sparse_exp", "src", "lif", "exp", pairs=(j[::-1] % n_in, i, w / 2), delay=d[::-1] + 1, tau=8e-3)
    spec.connect("one", "src", "lif", "exp", one_to_one=rng.uniform(0, 4e-3, n), delay=4, tau=5e-3)
    spec.connect("dense", "src", "lif", "delta", W=rng.uniform(-2e-3, 1e-3, (n_in, n)), delay=2)
    x = spike_trains(rng, steps, B, n_in, 50.0)
    spec.check("per-synapse delays", steps, {"src": x}, backend=backend, min_spikes=30)
    # The same synapses given as a scipy CSR matrix (duplicates kept, delays in CSR order).
    sp = pytest.importorskip("scipy.sparse")
    order = np.lexsort((j, i))
    indptr = np.searchsorted(i[order], np.arange(n_in + 1))
    csr = sp.csr_matrix((np.float32(w[order]), j[order], indptr), shape=(n_in, n))
    nets = []
    for use_scipy in (False, True):
        net = snn.Network(dt=DT, batch=B, seed=0, backend=backend)
        net.population("src", n_in, "spike_source")
        net.population("lif", n, "lif", v_reset=-0.07, v_rest=-0.06)
        if use_scipy:
            conn = net.connect("src", "lif", csr, delay=d[order], synapse="delta")
        else:
            conn = net.connect("src", "lif", weights=w, pairs=(i, j), delay=d, synapse="delta")
        assert conn.has_synapse_delays and conn.kind == "sparse" and conn.nnz == m
        nets.append(net.run(steps, inputs={"src": x}, record=["lif.v", "lif.spikes"]))
    np.testing.assert_array_equal(nets[0]["lif.spikes"], nets[1]["lif.spikes"])
    np.testing.assert_allclose(nets[0]["lif.v"], nets[1]["lif.v"], rtol=0, atol=1e-8)


def test_sum_order_ascending_presynaptic_then_connection_id(backend):
    """docs/models.md: s_k[j] sums w_ij out_i in ascending i, starting from
    zero; the connections onto a population are applied in ascending id.
    Checked where float32 rounding makes the order visible: terms 2^60, 1,
    -2^60 and 0.5 (2^60 + 1 rounds to 2^60 in float32 and in double alike),
    one postsynaptic neuron per ordering of the four terms, into `if` neurons
    (no leak, threshold out of reach) whose v is exactly what was delivered.
    Any order of summation other than ascending (up to swapping the first
    two terms, which no rounding can tell apart) gives other values."""
    big = 2.0 ** 60
    values = np.float32([big, 1.0, -big, 0.5])
    perms = list(itertools.permutations(range(4)))
    W = np.stack([values[list(p)] for p in perms], axis=1)  # [4 pre, 24 post]

    def ordered_sum(terms, order):
        acc = np.float32(0.0)
        for i in order:
            acc = np.float32(acc + terms[i])
        return acc

    def sums(order):
        return np.float32([ordered_sum(W[:, j], order) for j in range(W.shape[1])])

    ascending = sums((0, 1, 2, 3))
    for order in perms:
        if order[2:] != (2, 3):
            assert not np.array_equal(sums(order), ascending), order  # the test can tell them apart
    net = snn.Network(dt=DT, batch=2, seed=0, backend=backend)
    net.population("src", 4, "spike_source")
    net.population("sum", W.shape[1], "if", v_reset=0.0, v_th=2.0 ** 100)
    net.population("acc", W.shape[1], "if", v_reset=0.0, v_th=2.0 ** 100)
    net.connect("src", "sum", W, synapse="delta")
    # Connection k carries, to post neuron j, the k-th term of column j alone.
    for k in range(4):
        Wk = np.zeros_like(W)
        Wk[k] = W[k]
        net.connect("src", "acc", Wk, synapse="delta", name=f"c{k}")
    x = np.zeros((2, 2, 4), np.float32)
    x[0, 0] = 1  # instance 0: all four spike in step 0, delivered in step 1
    net.run(2, inputs={"src": x})
    got = net.state("sum", "v", copy=True)
    np.testing.assert_array_equal(got[0], ascending,
                                  err_msg="presynaptic sums must run in ascending presynaptic order from 0")
    np.testing.assert_array_equal(got[1], 0)
    got = net.state("acc", "v", copy=True)
    np.testing.assert_array_equal(got[0], ascending,
                                  err_msg="connections must be added to v in ascending id order")


def test_several_connections_and_kinds_in_one_population(backend):
    """One population fed by dense, sparse and one_to_one connections of all
    three synapse models, from two source populations and from itself
    (recurrent, delay 1), per-neuron parameters; batch 4."""
    rng = np.random.default_rng(22)
    steps, B, n_a, n_b, n = 2500, 4, 12, 6, 6
    spec = Spec(batch=B)
    spec.pop("a", "spike_source", n_a)
    spec.pop("cur", "current_source", n_b)
    spec.pop("lif", "lif", n, tau_mem=rng.uniform(10e-3, 30e-3, n), v_th=rng.uniform(-0.052, -0.048, n))
    spec.connect("a_dense_exp", "a", "lif", "exp", W=rng.uniform(0, 3e-3, (n_a, n)), tau=5e-3)
    spec.connect("a_sparse_cond", "a", "lif", "cond_exp",
                 pairs=(rng.integers(0, n_a, 30), rng.integers(0, n, 30), rng.uniform(0, 0.3, 30)),
                 tau=3e-3, e_rev=0.0)
    spec.connect("cur_one", "cur", "lif", "delta", one_to_one=rng.uniform(0, 1e-3, n))
    spec.connect("rec_inh", "lif", "lif", "cond_exp", W=rng.uniform(0, 0.5, (n, n)), tau=10e-3, e_rev=-0.08)
    spec.connect("a_delta", "a", "lif", "delta", W=rng.uniform(-1e-3, 2e-3, (n_a, n)), delay=3)
    x = spike_trains(rng, steps, B, n_a, 40.0)
    cur = rng.uniform(0, 2, (steps, B, n_b)).astype(np.float32)
    spec.check("several connections", steps, {"a": x, "cur": cur}, backend=backend, min_spikes=50)


def test_cpu_simd_levels_agree_bit_for_bit_with_reference():
    """Decision 5: every SIMD level of "cpu" and "reference" give the same bits."""
    if "cpu" not in snn.backends():
        pytest.skip("no cpu backend in this build")

    def run(context):
        net = snn.Network(dt=1e-4, batch=2, seed=5, context=context)
        src = net.population("src", 80, "poisson", rate=120.0)
        exc = net.population("exc", 120, "alif", t_ref=1e-3)
        net.connect(src, exc, p=0.3, weight=3e-3, synapse="exp", seed=1)
        net.connect(exc, exc, p=0.1, weight=0.05, synapse="cond_exp", e_rev=-70e-3, seed=2, delay=2)
        net.randomize_state(exc, "v", "uniform", -65e-3, -50e-3, seed=3)
        return net.run(300, record=["exc.v", "exc.a", "exc.spikes"])

    expected = run(snn.Context(backend="reference"))
    assert expected["exc.spikes"].sum() > 100
    for level in ("generic", "avx2", "avx512"):
        try:
            context = snn.Context(backend="cpu", simd=level)
        except snn.UnsupportedError:
            continue  # this CPU lacks the level
        assert context.simd == level
        got = run(context)
        for key in expected:
            assert np.array_equal(got[key].view(np.uint8), expected[key].view(np.uint8)), (level, key)
