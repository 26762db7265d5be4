#!/usr/bin/env python3
"""Reference fixtures for libsnn, computed with Brian2.

Runs Brian2 on

  * single neurons of every model Brian2 can express (lif, if, alif,
    izhikevich, li) driven through delta / exp / cond_exp connections, and
  * the CUBA and COBA benchmark networks (5 seeds each),

and writes

  * tests/fixtures/brian2_single_neurons.json
  * tests/fixtures/brian2_networks.json

Every single-neuron case is also simulated by a small NumPy implementation of
docs/models.md (`simulate_spec` below); the script refuses to write the
fixture if the spike steps of the two disagree in any case.

Run it with the interpreter of a virtual environment that has Brian2
(tools/README.md):

    /tmp/brian2-venv/bin/python tools/brian2_oracle.py            # everything
    /tmp/brian2-venv/bin/python tools/brian2_oracle.py --only single
    /tmp/brian2-venv/bin/python tools/brian2_oracle.py --only networks --seeds 1

Units are SI throughout (seconds, volts, hertz); conductances of cond_exp
synapses are dimensionless (in units of the leak conductance).
"""

import argparse
import json
import math
import os
import platform
import re
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
DT = 1e-4

# Parameter defaults of docs/models.md, in libsnn's names and SI units.
NEURON_DEFAULTS = {
    "lif": {"tau_mem": 20e-3, "v_rest": -65e-3, "v_reset": -65e-3, "v_th": -50e-3, "t_ref": 0.0},
    "if": {"tau_mem": 20e-3, "v_reset": -65e-3, "v_th": -50e-3, "t_ref": 0.0},
    "alif": {"tau_mem": 20e-3, "v_rest": -65e-3, "v_reset": -65e-3, "v_th": -50e-3, "t_ref": 0.0,
             "tau_adapt": 100e-3, "delta_th": 1e-3},
    "izhikevich": {"a": 20.0, "b": 200.0, "c": -65e-3, "d": 8.0, "v_peak": 30e-3, "i_offset": 0.0,
                   "tau_mem": 1e-3, "t_ref": 0.0},
    "li": {"tau_mem": 20e-3, "v_rest": 0.0},
}
NEURON_OPTIONS = {"lif": {"reset": "value"}, "if": {"reset": "value"}, "alif": {"reset": "value"},
                  "izhikevich": {}, "li": {}}
SYNAPSE_DEFAULTS = {"delta": {}, "exp": {"tau": 5e-3}, "cond_exp": {"tau": 5e-3, "e_rev": 0.0}}

SINGLE_DESCRIPTION = (
    "Single-neuron reference traces computed with Brian2 (float64) by tools/brian2_oracle.py; "
    "the model definitions are docs/models.md. Conventions: steps count from 0 and dt is in "
    "seconds. Each case is one neuron of `model` with all its parameters listed in `params` "
    "(SI units, libsnn names) and its string options in `options`. Each entry of `connections` "
    "is a separate one-neuron spike_source connected to the neuron by one connection of the "
    "given `synapse` model, synapse `params`, `weight` (volts for delta and exp, dimensionless "
    "for cond_exp) and delay 1 step (the default). `input_steps` are the steps in which that "
    "spike_source emits a spike (its per-step input is nonzero in exactly those steps); a spike "
    "emitted in step s is delivered (phase 1) in step s+1. The network is run for `steps` steps. "
    "`spike_steps` are the steps in which the neuron spiked (the step whose phase 3 crossed the "
    "threshold). `v[k]` is the membrane potential after step k (after phase 3 of step k, i.e. "
    "after a reset), for k = 0 .. steps-1, so v has `steps` entries and the initial value is not "
    "included. In Brian2 terms: a spike at Brian2 time t has step round(t/dt), v[k] is recorded "
    "in the 'end' slot of Brian2 time step k, input spikes are SpikeGeneratorGroup spikes at "
    "time s*dt, and synaptic pathways (delay 0) run in the 'start' slot, so an input spike of "
    "Brian2 step s acts at the start of Brian2 step s+1 = libsnn step s+1. `brian2` describes "
    "how the case was expressed in Brian2; `numpy_reference` compares with an independent "
    "NumPy implementation of docs/models.md (float64), whose spike steps must be equal; "
    "`brian2_default_schedule` says whether Brian2's default scheduling (pathway in the "
    "'synapses' slot, delta synapse as v_post += w*int(not_refractory_post)) gives the same "
    "spike steps."
)


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

def poisson_steps(rate_hz, steps, seed, start=0, stop=None):
    """Deterministic Poisson-like input: the steps whose uniform draw is < rate*dt."""
    rng = np.random.default_rng(seed)
    u = rng.random(steps)
    stop = steps - 1 if stop is None else stop
    return [int(k) for k in np.nonzero(u < rate_hz * DT)[0] if start <= k < stop]


def regular_steps(first, period, steps):
    return list(range(first, steps - 1, period))


def conn(synapse, weight, input_steps, **params):
    p = dict(SYNAPSE_DEFAULTS[synapse])
    p.update(params)
    return {"synapse": synapse, "params": p, "weight": float(weight), "input_steps": list(input_steps)}


def case(name, model, connections, steps, params=None, options=None, note=""):
    p = dict(NEURON_DEFAULTS[model])
    p.update(params or {})
    o = dict(NEURON_OPTIONS[model])
    o.update(options or {})
    return {"name": name, "model": model, "note": note, "params": p, "options": o,
            "connections": connections, "dt": DT, "steps": steps}


def make_cases():
    c = []
    n = 3000
    c.append(case(
        "lif_delta", "lif",
        [conn("delta", 3e-3, poisson_steps(600, n, 1)),
         conn("delta", -2e-3, poisson_steps(200, n, 2))],
        n, note="delta input, excitatory and inhibitory; dense enough that inputs arrive "
                "in the step right after output spikes (added to v_reset, t_ref = 0)"))
    c.append(case(
        "lif_delta_refractory", "lif",
        [conn("delta", 3e-3, poisson_steps(800, n, 3)),
         conn("delta", -2e-3, poisson_steps(200, n, 4))],
        n, params={"t_ref": 2e-3},
        note="delta input discarded while refractory (R = 20 steps)"))
    c.append(case(
        "lif_exp", "lif",
        [conn("exp", 12e-3, poisson_steps(700, n, 5), tau=5e-3),
         conn("exp", -10e-3, poisson_steps(150, n, 6), tau=10e-3)],
        n, note="exponential current synapses, tau_syn != tau_mem"))
    c.append(case(
        "lif_exp_equal_tau", "lif",
        [conn("exp", 4e-3, poisson_steps(700, n, 7), tau=20e-3)],
        n, note="tau_syn == tau_mem: the degenerate propagator (dt/tau_mem) e^(-dt/tau_mem)"))
    c.append(case(
        "lif_cond_exp", "lif",
        [conn("cond_exp", 0.5, poisson_steps(500, n, 8), tau=5e-3, e_rev=0.0),
         conn("cond_exp", 1.0, poisson_steps(150, n, 9), tau=10e-3, e_rev=-80e-3)],
        n, params={"v_rest": -60e-3, "v_reset": -60e-3},
        note="conductance synapses, excitatory (e_rev 0 V) and inhibitory (e_rev -80 mV); "
             "exponential Euler"))
    c.append(case(
        "lif_exp_and_cond_exp", "lif",
        [conn("exp", 15e-3, poisson_steps(700, n, 10), tau=5e-3),
         conn("cond_exp", 1.0, poisson_steps(150, n, 11), tau=10e-3, e_rev=-80e-3)],
        n, note="an exp current and a cond_exp conductance together: the whole membrane uses "
                "exponential Euler with I frozen over the step"))
    c.append(case(
        "lif_refractory_subtract", "lif",
        [conn("exp", 15e-3, poisson_steps(900, n, 12), tau=5e-3),
         conn("exp", -10e-3, poisson_steps(150, n, 13), tau=10e-3)],
        n, params={"t_ref": 2e-3, "v_reset": -70e-3}, options={"reset": "subtract"},
        note="t_ref = 2 ms (held 19 steps after the spike step), reset by subtracting "
             "v_th - v_reset = 20 mV"))
    c.append(case(
        "if_exp", "if",
        [conn("exp", 8e-3, poisson_steps(500, n, 14), tau=5e-3),
         conn("exp", -6e-3, poisson_steps(200, n, 15), tau=10e-3)],
        n, note="non-leaky integrate-and-fire with exp currents"))
    c.append(case(
        "alif_exp", "alif",
        [conn("exp", 12e-3, poisson_steps(800, n, 16), tau=5e-3),
         conn("exp", -10e-3, poisson_steps(150, n, 17), tau=10e-3)],
        n, params={"delta_th": 3e-3, "tau_adapt": 100e-3},
        note="adaptive threshold v_th + a, a += 3 mV per spike, tau_adapt 100 ms"))
    c.append(case(
        "izhikevich_rs_constant", "izhikevich", [], 5000,
        params={"i_offset": 10.0},
        note="regular spiking (a=0.02/ms, b=0.2/ms, c=-65 mV, d=8 mV/ms) driven by "
             "i_offset = 10 mV/ms; forward Euler"))
    c.append(case(
        "izhikevich_delta", "izhikevich",
        [conn("delta", 6e-3, poisson_steps(1000, n, 18)),
         conn("delta", -3e-3, poisson_steps(100, n, 19))],
        n, note="regular spiking Izhikevich neuron driven by delta input only"))
    c.append(case(
        "izhikevich_exp", "izhikevich",
        [conn("exp", 3e-3, poisson_steps(500, n, 20), tau=5e-3)],
        n, note="exp current into Izhikevich: enters dv/dt as I/tau_mem (tau_mem = 1 ms); the "
                "synaptic state decays exactly, v and u use forward Euler"))
    c.append(case(
        "izhikevich_refractory", "izhikevich", [], 3000,
        params={"i_offset": 15.0, "t_ref": 2e-3},
        note="t_ref = 2 ms: v and u are held (not integrated) for 19 steps after a spike"))
    c.append(case(
        "li_exp", "li",
        [conn("exp", 20e-3, poisson_steps(300, n, 21), tau=5e-3),
         conn("exp", -15e-3, poisson_steps(150, n, 22), tau=10e-3)],
        n, note="leaky integrator readout (v_rest 0): no spikes, compare the v trace"))
    c.append(case(
        "li_delta", "li",
        [conn("delta", 1e-3, poisson_steps(300, n, 23))],
        n, note="leaky integrator with delta input"))
    return c


# ---------------------------------------------------------------------------
# NumPy implementation of docs/models.md (float64)
# ---------------------------------------------------------------------------

def simulate_spec(c, f32=False):
    """Steps the neuron of case `c` as docs/models.md says. Returns (spike_steps, v).

    f32=False: everything in float64. f32=True: as docs/models.md's Precision section asks
    of the engine: state and parameters float32, parameter-only coefficients computed in
    double and rounded to float32 once, all per-step arithmetic in float32."""
    F = np.float32 if f32 else float
    expm1 = np.expm1 if f32 else math.expm1
    model, dt, steps = c["model"], c["dt"], c["steps"]
    p = {k: F(v) for k, v in c["params"].items()}
    pd = {k: float(F(v)) for k, v in c["params"].items()}  # stored values, as doubles
    conns = c["connections"]
    R = int(math.floor(pd.get("t_ref", 0.0) / dt + 0.5))
    inputs = [set(k["input_steps"]) for k in conns]
    weights = [F(k["weight"]) for k in conns]
    taus = [float(F(k["params"].get("tau", 1.0))) for k in conns]
    erevs = [F(k["params"].get("e_rev", 0.0)) for k in conns]
    syn = [F(0.0)] * len(conns)
    decays = [F(math.exp(-dt / t)) for t in taus]
    any_cond = any(k["synapse"] == "cond_exp" for k in conns)
    leak = model != "if"
    if model == "izhikevich":
        dtF = F(dt)
        k2, k1, k0 = F(4e4), F(5e3), F(140.0)
    else:
        tm = pd["tau_mem"]
        em = math.exp(-dt / tm)
        EM = F(em)
        coefs = []
        for k, cn in enumerate(conns):
            ts = taus[k]
            es = math.exp(-dt / ts)
            if not leak:
                coefs.append(F(ts / tm * (1.0 - es)))
            elif ts == tm:
                coefs.append(F(dt / tm * em))
            else:
                coefs.append(F(ts / (ts - tm) * (es - em)))
        inv_tm = F(1.0 / tm)
    if model == "alif":
        a_decay = F(math.exp(-dt / pd["tau_adapt"]))
    if model in ("lif", "alif", "li"):
        v = p["v_rest"]
    elif model == "if":
        v = p["v_reset"]
    else:
        v = p["c"]
        u = F(pd["b"] * pd["c"])
    a = F(0.0)
    last = None
    spikes, trace = [], []
    for n in range(steps):
        held = last is not None and 1 <= n - last <= R - 1
        # phase 1: deliver what the sources emitted in step n - 1 (delay 1)
        for k, cn in enumerate(conns):
            if (n - 1) not in inputs[k]:
                continue
            if cn["synapse"] == "delta":
                if not held:
                    v = v + weights[k]
            else:
                syn[k] = syn[k] + weights[k]
        # phase 2: integrate
        if model == "izhikevich":
            drive = F(0.0)
            for k, cn in enumerate(conns):
                if cn["synapse"] == "exp":
                    drive = drive + syn[k]
                elif cn["synapse"] == "cond_exp":
                    drive = drive + syn[k] * (erevs[k] - v)
            dv = k2 * v * v + k1 * v + k0 - u + p["i_offset"] + drive / p["tau_mem"]
            du = p["a"] * (p["b"] * v - u)
            if not held:
                v = v + dtF * dv
                u = u + dtF * du
        elif not held:
            if any_cond:
                a_num = p["v_rest"] if leak else F(0.0)
                b_coef = F(-1.0) if leak else F(0.0)
                for k, cn in enumerate(conns):
                    if cn["synapse"] == "exp":
                        a_num = a_num + syn[k]
                    elif cn["synapse"] == "cond_exp":
                        a_num = a_num + syn[k] * erevs[k]
                        b_coef = b_coef - syn[k]
                A, B = a_num * inv_tm, b_coef * inv_tm
                if B == 0.0:
                    v = v + A * F(dt)
                else:
                    v = v + (A + B * v) * (expm1(B * F(dt)) / B)
            else:
                nv = (p["v_rest"] + (v - p["v_rest"]) * EM) if leak else v
                for k, cn in enumerate(conns):
                    if cn["synapse"] == "exp":
                        nv = nv + syn[k] * coefs[k]
                v = nv
        for k, cn in enumerate(conns):
            if cn["synapse"] != "delta":
                syn[k] = syn[k] * decays[k]
        if model == "alif":
            a = a * a_decay
        # phase 3: threshold, reset
        if model != "li" and not held:
            if model == "izhikevich":
                fired = v > p["v_peak"]
            elif model == "alif":
                fired = v > p["v_th"] + a
            else:
                fired = v > p["v_th"]
            if fired:
                spikes.append(n)
                last = n
                if model == "izhikevich":
                    v = p["c"]
                    u = u + p["d"]
                else:
                    if c["options"]["reset"] == "subtract":
                        v = v - (p["v_th"] - p["v_reset"])
                    else:
                        v = p["v_reset"]
                    if model == "alif":
                        a = a + p["delta_th"]
        trace.append(float(v))
    return spikes, np.array(trace)


# ---------------------------------------------------------------------------
# Brian2, single neurons
# ---------------------------------------------------------------------------

def brian2_single(c, schedule="spec"):
    """Runs case `c` in Brian2 and returns (spike_steps, v, description).

    schedule "spec": synaptic pathways run in the 'start' slot (libsnn's phase 1) and, where
    a delta synapse meets a refractory neuron, refractoriness is written out by hand (see
    below) so that the delivery tests the step it is delivered into, as docs/models.md says.
    schedule "default": Brian2's usual formulation (pathways in the 'synapses' slot, Brian2's
    own refractoriness), kept to report where the two differ."""
    import brian2 as b2
    from brian2 import second, volt

    b2.start_scope()
    model, p, dt, steps = c["model"], c["params"], c["dt"], c["steps"]
    conns = c["connections"]
    b2.defaultclock.dt = dt * second
    ns = {}
    R = int(round(p.get("t_ref", 0.0) / dt))
    # R <= 1 holds no step, so such neurons need no refractoriness in Brian2 at all. (Giving
    # Brian2 one anyway breaks 'exact' when tau_syn == tau_mem: the int(not_refractory)
    # factor makes the two time constants differ symbolically, and the solution divides by
    # their difference.)
    refractory = model != "li" and R >= 2
    has_delta = any(k["synapse"] == "delta" for k in conns)
    manual_ref = refractory and has_delta and schedule == "spec"
    any_cond = any(k["synapse"] == "cond_exp" for k in conns)
    if model == "izhikevich":
        method = "euler"
    elif any_cond:
        method = "exponential_euler"
    else:
        method = "exact"

    terms, syn_eqs, decay = [], [], []
    for k, cn in enumerate(conns):
        if cn["synapse"] == "delta":
            continue
        var = ("I%d" if cn["synapse"] == "exp" else "g%d") % k
        unit = "volt" if cn["synapse"] == "exp" else "1"
        tau_name = "tau%d" % k
        if model != "izhikevich" and cn["params"]["tau"] == p["tau_mem"]:
            tau_name = "tau_mem"  # the same symbol, so that 'exact' finds the degenerate case
        else:
            ns[tau_name] = cn["params"]["tau"] * second
        if cn["synapse"] == "exp":
            terms.append(var)
        else:
            ns["E%d" % k] = cn["params"]["e_rev"] * volt
            terms.append("%s*(E%d - v)" % (var, k))
        if model == "izhikevich":
            # v, u: forward Euler; synaptic state: exact decay after the update
            syn_eqs.append("%s : %s" % (var, unit))
            decay.append("%s *= exp(-dt/%s)" % (var, tau_name))
        else:
            syn_eqs.append("d%s/dt = -%s/%s : %s" % (var, var, tau_name, unit))
    syn_sum = " + ".join(terms) if terms else "0*volt"
    if manual_ref:
        gate, flag = "int(active)*", ""
    else:
        gate, flag = "", (" (unless refractory)" if refractory else "")
    ns["tau_mem"] = p["tau_mem"] * second
    if model in ("lif", "alif", "li"):
        ns["v_rest"] = p["v_rest"] * volt
        v_eq = "dv/dt = %s(v_rest - v + %s)/tau_mem : volt%s" % (gate, syn_sum, flag)
    elif model == "if":
        # Brian2's 'exact' refuses the leak-free system (its matrix is singular), so the
        # oracle adds a leak towards 0 V with a time constant of 1e9 s: per 1e4 steps it
        # moves v by less than 1e-11 V (see numpy_reference.v_max_abs_diff).
        ns["tau_leak"] = 1e9 * second
        v_eq = "dv/dt = %s((%s)/tau_mem - v/tau_leak) : volt%s" % (gate, syn_sum, flag)
    else:
        for name in ("a", "b"):
            ns[name] = p[name] / second
        ns["c"] = p["c"] * volt
        ns["d"] = p["d"] * volt / second
        ns["v_peak"] = p["v_peak"] * volt
        ns["i_offset"] = p["i_offset"] * volt / second
        v_eq = ("dv/dt = %s(4e4/volt/second*v**2 + 5e3/second*v + 140*volt/second - u + i_offset"
                " + (%s)/tau_mem) : volt%s\ndu/dt = %sa*(b*v - u) : volt/second%s"
                % (gate, syn_sum, flag, gate, flag))
    eqs = [v_eq] + syn_eqs
    if model == "alif":
        ns["tau_adapt"] = p["tau_adapt"] * second
        ns["delta_th"] = p["delta_th"] * volt
        eqs.append("da/dt = -a/tau_adapt : volt")
    if manual_ref:
        eqs += ["active : boolean", "lastspike_step : integer"]
        ns["R_steps"] = R
    eqs = "\n".join(eqs)

    kw = {}
    if model != "li":
        ns["v_th"] = p.get("v_th", 0.0) * volt
        ns["v_reset"] = p.get("v_reset", 0.0) * volt
        if model == "izhikevich":
            threshold = "v > v_peak"
            reset = "v = c\nu += d"
        else:
            threshold = "v > v_th + a" if model == "alif" else "v > v_th"
            if c["options"]["reset"] == "subtract":
                reset = "v -= v_th - v_reset"
            else:
                reset = "v = v_reset"
            if model == "alif":
                reset += "\na += delta_th"
        if manual_ref:
            threshold = "(%s) and active" % threshold
            reset += "\nlastspike_step = timestep(t, dt)"
        elif refractory:
            kw["refractory"] = p["t_ref"] * second
        kw["threshold"], kw["reset"] = threshold, reset
    G = b2.NeuronGroup(1, eqs, method=method, namespace=ns, **kw)
    if model in ("lif", "alif", "li"):
        G.v = p["v_rest"] * volt
    elif model == "if":
        G.v = p["v_reset"] * volt
    else:
        G.v = p["c"] * volt
        G.u = p["b"] * p["c"] * volt / second
    objects = [G]
    if manual_ref:
        G.active = True
        G.lastspike_step = -10 ** 8
        # Held in step n iff 1 <= n - lastspike_step <= R - 1; decided before delivery.
        objects.append(G.run_regularly("active = timestep(t, dt) - lastspike_step >= R_steps",
                                       when="start", order=-10))
    if decay:
        objects.append(G.run_regularly("\n".join(decay), when="after_groups"))

    on_pre_desc = []
    for k, cn in enumerate(conns):
        times = np.array(cn["input_steps"], dtype=float) * dt * second
        src = b2.SpikeGeneratorGroup(1, np.zeros(len(cn["input_steps"]), dtype=int), times)
        unit = 1 if cn["synapse"] == "cond_exp" else volt
        sns = {"w": cn["weight"] * unit}
        if cn["synapse"] == "delta":
            # With Brian2's own refractoriness, v is written only where not_refractory is
            # true (a "conditional write"), so the plain form discards refractory input.
            code = "v_post += w*int(active_post)" if manual_ref else "v_post += w"
        elif cn["synapse"] == "exp":
            code = "I%d_post += w" % k
        else:
            code = "g%d_post += w" % k
        S = b2.Synapses(src, G, on_pre=code, namespace=sns)
        S.connect(i=0, j=0)
        if schedule == "spec":
            S.pre.when = "start"
        on_pre_desc.append(code)
        objects += [src, S]
    vmon = b2.StateMonitor(G, "v", record=0, when="end", order=10)
    smon = b2.SpikeMonitor(G) if model != "li" else None
    objects += [vmon] + ([smon] if smon is not None else [])
    net = b2.Network(*objects)
    net.run(steps * dt * second, namespace={})
    rec_steps = np.round(np.asarray(vmon.t / second) / dt).astype(int)
    assert len(rec_steps) == steps and (rec_steps == np.arange(steps)).all(), "monitor steps"
    spk = [] if smon is None else [int(round(float(t) / dt)) for t in np.asarray(smon.t / second)]
    v = np.asarray(vmon.v[0] / volt, dtype=float)
    if manual_ref:
        ref_desc = ("by hand: boolean 'active' set in the 'start' slot (before delivery) to "
                    "timestep(t, dt) - lastspike_step >= %d; dv/dt (and du/dt) multiplied by "
                    "int(active); "
                    "threshold requires active; reset stores lastspike_step" % R)
    elif refractory:
        ref_desc = ("Brian2 refractory=%g s with (unless refractory) on dv/dt (and du/dt)"
                    % p["t_ref"])
    else:
        ref_desc = "none (R = round(t_ref/dt) <= 1 holds no step)"
    desc = {"method": method, "equations": eqs, "threshold": kw.get("threshold"),
            "reset": kw.get("reset"), "refractoriness": ref_desc, "on_pre": on_pre_desc,
            "synaptic_pathway_slot": "start" if schedule == "spec" else "synapses",
            "state_monitor_slot": "end"}
    if decay:
        desc["run_regularly_after_groups"] = "\n".join(decay)
    return spk, v, desc


def write_json(path, doc):
    """indent=1, but with arrays of numbers kept on one line."""
    text = json.dumps(doc, indent=1)
    num = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
    text = re.sub(r"\[\s*(%s(?:,\s*%s)*)\s*\]" % (num, num),
                  lambda m: "[" + re.sub(r",\s*", ", ", m.group(1)) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def sig(x, digits=10):
    return float("%.*g" % (digits, x))


def run_single(args):
    import brian2 as b2
    b2.prefs.codegen.target = args.single_target
    out_cases, problems = [], []
    for c in make_cases():
        t0 = time.time()
        spk_b, v_b, desc = brian2_single(c, "spec")
        spk_d, v_d, _ = brian2_single(c, "default")
        spk_n, v_n = simulate_spec(c)
        spk_f, v_f = simulate_spec(c, f32=True)
        wall = time.time() - t0
        ok = spk_b == spk_n
        vdiff = float(np.max(np.abs(v_b - v_n)))
        default_ok = spk_d == spk_b
        first_diff = None
        if not default_ok:
            a, b = set(spk_b), set(spk_d)
            first_diff = min(a ^ b)
        print("%-24s %-17s spikes brian2=%3d numpy=%3d equal=%s max|dv|=%.1e  float32: equal=%s "
              "max|dv|=%.1e  default schedule: equal=%s%s  (%.1fs)"
              % (c["name"], desc["method"], len(spk_b), len(spk_n), ok, vdiff, spk_f == spk_b,
                 float(np.max(np.abs(v_f - v_b))), default_ok,
                 "" if default_ok else " (first difference at step %d)" % first_diff, wall))
        if not ok:
            problems.append(c["name"])
        if c["model"] != "li" and len(spk_b) < 3:
            problems.append(c["name"] + " (fewer than 3 spikes)")
        c = dict(c)
        c["spike_steps"] = spk_b
        c["v"] = [sig(x) for x in v_b]
        c["brian2"] = desc
        c["numpy_reference"] = {"spike_steps_equal": ok, "spike_steps": spk_n,
                                "v_max_abs_diff": vdiff}
        c["numpy_float32"] = {"spike_steps_equal": spk_f == spk_b, "spike_steps": spk_f,
                              "v_max_abs_diff": float(np.max(np.abs(v_f - v_b)))}
        c["brian2_default_schedule"] = {
            "spike_steps_equal": default_ok, "spike_steps": spk_d,
            "v_max_abs_diff": float(np.max(np.abs(v_d - v_b)))}
        out_cases.append(c)
    if problems:
        print("NOT writing the single-neuron fixture: %s" % ", ".join(problems))
        return False
    doc = {"description": SINGLE_DESCRIPTION, "generator": "tools/brian2_oracle.py",
           "brian2_version": b2.__version__, "numpy_version": np.__version__,
           "python_version": platform.python_version(), "codegen_target": args.single_target,
           "dtype": "float64", "dt": DT, "cases": out_cases}
    path = os.path.join(FIXTURES, "brian2_single_neurons.json")
    write_json(path, doc)
    print("wrote %s (%d cases)" % (path, len(out_cases)))
    return True


# ---------------------------------------------------------------------------
# Brian2, networks
# ---------------------------------------------------------------------------

N_E, N_I = 3200, 800

CUBA = {
    "name": "CUBA",
    "source": "Brian2's examples/CUBA.py (Brette et al. 2007, benchmark 2), unchanged except "
              "for seed(s)",
    "dt": DT, "steps": 10000, "duration_s": 1.0,
    "populations": [
        {"name": "exc", "model": "lif", "size": N_E,
         "params": {"tau_mem": 20e-3, "v_rest": -49e-3, "v_reset": -60e-3, "v_th": -50e-3,
                    "t_ref": 5e-3}, "options": {"reset": "value"}},
        {"name": "inh", "model": "lif", "size": N_I,
         "params": {"tau_mem": 20e-3, "v_rest": -49e-3, "v_reset": -60e-3, "v_th": -50e-3,
                    "t_ref": 5e-3}, "options": {"reset": "value"}},
    ],
    "connections": [
        {"pre": pre, "post": post, "kind": "random", "p": 0.02, "synapse": "exp",
         "params": {"tau": tau}, "weight": w, "delay": 1}
        for pre, tau, w in (("exc", 5e-3, 60 * 0.27 / 10 * 1e-3), ("inh", 10e-3, -20 * 4.5 / 10 * 1e-3))
        for post in ("exc", "inh")
    ],
    "initial_state": [
        {"population": "exc", "var": "v", "distribution": "uniform", "a": -60e-3, "b": -50e-3},
        {"population": "inh", "var": "v", "distribution": "uniform", "a": -60e-3, "b": -50e-3},
    ],
    "notes": "Brian2 builds one group of 4000 (0..3199 excitatory) with Synapses "
             "Ce.connect('i<3200', p=0.02), Ci.connect('i>=3200', p=0.02) (self-connections "
             "allowed) and on_pre 'ge += we' / 'gi += wi' with zero delay (= libsnn delay 1). "
             "In libsnn terms: two lif populations and four fixed-probability exp connections; "
             "a post neuron's exc->(post) and inh->(post) currents are its ge and gi. "
             "ge = gi = 0 initially; v uniform in [v_reset, v_th). Method 'exact'.",
}

def coba(name, v_mean, clip, note):
    """Brette et al. 2007 benchmark 1 with initial v ~ normal(v_mean, 5 mV); clip: whether
    the initial conductances are clipped at 0."""
    g_init = [
        dict({"connection": pre + "->" + post, "var": "g", "distribution": "normal", "a": mean,
              "b": sd}, **({"clip_min": 0.0} if clip else {}))
        for pre, mean, sd in (("exc", 4.0, 1.5), ("inh", 20.0, 12.0)) for post in ("exc", "inh")
    ]
    lif = {"tau_mem": 20e-3, "v_rest": -60e-3, "v_reset": -60e-3, "v_th": -50e-3, "t_ref": 5e-3}
    if clip:
        brian_init = {"v": "(randn()*5 - %g)*mV" % -(v_mean * 1e3),
                      "ge": "clip(randn()*1.5 + 4, 0, inf)*10*nS",
                      "gi": "clip(randn()*12 + 20, 0, inf)*10*nS"}
    else:
        brian_init = {"v": "(randn()*5 - %g)*mV" % -(v_mean * 1e3),
                      "ge": "(randn()*1.5 + 4)*10*nS",
                      "gi": "(randn()*12 + 20)*10*nS"}
    return {
        "name": name,
        "source": "Brette et al. 2007 benchmark 1 (conductance-based LIF), as in Brian's "
                  "Brette_2007 COBA script and the COBA part of Brian2's COBAHH example, "
                  "method 'exponential_euler'",
        "dt": DT, "steps": 10000, "duration_s": 1.0,
        "populations": [
            {"name": "exc", "model": "lif", "size": N_E, "params": dict(lif),
             "options": {"reset": "value"}},
            {"name": "inh", "model": "lif", "size": N_I, "params": dict(lif),
             "options": {"reset": "value"}},
        ],
        "connections": [
            {"pre": pre, "post": post, "kind": "random", "p": 0.02, "synapse": "cond_exp",
             "params": {"tau": tau, "e_rev": erev}, "weight": w, "delay": 1}
            for pre, tau, erev, w in (("exc", 5e-3, 0.0, 0.6), ("inh", 10e-3, -80e-3, 6.7))
            for post in ("exc", "inh")
        ],
        "initial_state": [
            {"population": pop, "var": "v", "distribution": "normal", "a": v_mean, "b": 5e-3}
            for pop in ("exc", "inh")
        ] + g_init,
        "brian2_initialisation": brian_init,
        "notes": note + " Brian2 model: dv/dt = (gL*(El - v) + ge*(Ee - v) + gi*(Ei - v))/Cm "
                 "(unless refractory), dge/dt = -ge/taue, dgi/dt = -gi/taui (siemens), Cm 200 "
                 "pF, gL 10 nS (tau_mem = Cm/gL = 20 ms), El -60 mV, Vt -50 mV, Vr -60 mV, "
                 "refractory 5 ms, Ee 0 mV, Ei -80 mV, taue 5 ms, taui 10 ms, we 6 nS, wi 67 nS, "
                 "one group of 4000 with Ce.connect('i<3200', p=0.02), Ci.connect('i>=3200', "
                 "p=0.02) (self-connections allowed), zero synaptic delay (= libsnn delay 1). "
                 "In libsnn units a conductance is relative to gL: weights 0.6 and 6.7, initial "
                 "g = ge/gL, gi/gL. Each post neuron's initial ge belongs to the connection "
                 "exc->(its population) and its gi to inh->(its population); the other "
                 "connections start at 0. A clipped normal draw has to be written with "
                 "write_state (randomize_state has no clip). The network has no external "
                 "input: whether it sustains irregular activity (about 19 Hz) for the whole "
                 "second or falls silent after the initial transient depends on the initial "
                 "state (see the variants), so compare the per-seed rates, and "
                 "rate_all_second_half_hz, not only the mean.",
    }


COBA = coba(
    "COBA", -65e-3, False,
    "The original initialisation of Brette's Brian script and of Brian2's COBAHH example: "
    "v = El + (randn()*5 - 5) mV = (randn()*5 - 65) mV, ge = (randn()*1.5 + 4)*gL, "
    "gi = (randn()*12 + 20)*gL, not clipped (about 4.8 % of the neurons start with a "
    "negative gi, 0.4 % with a negative ge). Sustained activity for all 5 seeds.")
COBA_CLIPPED = coba(
    "COBA_clipped", -65e-3, True,
    "Variant: as COBA but the initial conductances are clipped at 0. Without the "
    "depolarising effect of the negative gi draws the initial inhibition is stronger and "
    "the network falls silent after about 50 ms for some seeds (2 of 5), so its mean over "
    "seeds is not a useful target.")
COBA_V55 = coba(
    "COBA_v55", -55e-3, True,
    "Variant: initial v = (randn()*5 - 55) mV (5 mV above rest instead of 5 mV below), "
    "conductances clipped. Almost every neuron fires within the first few ms, the resulting "
    "inhibition silences the network, and the rate stays near 0.2 Hz for every seed.")


def brian2_network(spec, seed):
    import brian2 as b2
    from brian2 import ms, mV, nS, pF, second

    b2.start_scope()
    b2.seed(seed)
    b2.defaultclock.dt = spec["dt"] * second
    t0 = time.time()
    if spec["name"] == "CUBA":
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV,
                  we=(60 * 0.27 / 10) * mV, wi=(-20 * 4.5 / 10) * mV)
        eqs = """
        dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        P = b2.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                           method="exact", namespace=ns)
        P.v = "Vr + rand() * (Vt - Vr)"
        P.ge = 0 * mV
        P.gi = 0 * mV
    else:
        ns = dict(Cm=200 * pF, gL=10 * nS, El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, Ee=0 * mV,
                  Ei=-80 * mV, taue=5 * ms, taui=10 * ms, we=6 * nS, wi=67 * nS)
        eqs = """
        dv/dt = (gL*(El - v) + ge*(Ee - v) + gi*(Ei - v))/Cm : volt (unless refractory)
        dge/dt = -ge/taue : siemens
        dgi/dt = -gi/taui : siemens
        """
        P = b2.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                           method="exponential_euler", namespace=ns)
        P.v = spec["brian2_initialisation"]["v"]
        P.ge = spec["brian2_initialisation"]["ge"]
        P.gi = spec["brian2_initialisation"]["gi"]
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns)
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=ns)
    Ce.connect("i<3200", p=0.02)
    Ci.connect("i>=3200", p=0.02)
    smon = b2.SpikeMonitor(P)
    net = b2.Network(P, Ce, Ci, smon)
    t1 = time.time()
    net.run(spec["steps"] * spec["dt"] * second, namespace={})
    t2 = time.time()
    counts = np.asarray(smon.count[:])
    late = int(np.sum(np.asarray(smon.t / second) >= spec["duration_s"] / 2))
    target = type(P.thresholder["spike"].codeobj).__name__
    return {
        "seed": seed,
        "rate_exc_hz": float(counts[:N_E].sum() / N_E / spec["duration_s"]),
        "rate_inh_hz": float(counts[N_E:].sum() / N_I / spec["duration_s"]),
        "rate_all_hz": float(counts.sum() / 4000 / spec["duration_s"]),
        "spikes": int(counts.sum()),
        "rate_all_second_half_hz": float(late / 4000 / (spec["duration_s"] / 2)),
        "synapses_exc": int(len(Ce)), "synapses_inh": int(len(Ci)),
        "build_wall_s": round(t1 - t0, 3), "run_wall_s": round(t2 - t1, 3),
        "code_object_class": target,
    }


def run_networks(args):
    import brian2 as b2
    b2.prefs.codegen.target = args.network_target
    nets = []
    for spec in (CUBA, COBA, COBA_CLIPPED, COBA_V55):
        per_seed = []
        for s in range(1, args.seeds + 1):
            r = brian2_network(spec, s)
            print("%s seed %d: exc %.3f Hz, inh %.3f Hz, all %.3f Hz, second half %.3f Hz  "
                  "(build %.1fs, run %.1fs, %s)"
                  % (spec["name"], s, r["rate_exc_hz"], r["rate_inh_hz"], r["rate_all_hz"],
                     r["rate_all_second_half_hz"],
                     r["build_wall_s"], r["run_wall_s"], r["code_object_class"]))
            per_seed.append(r)
        d = dict(spec)
        d["seeds"] = per_seed
        for key in ("rate_exc_hz", "rate_inh_hz", "rate_all_hz"):
            vals = np.array([r[key] for r in per_seed])
            d["mean_" + key] = float(vals.mean())
            d["std_" + key] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        d["mean_run_wall_s"] = float(np.mean([r["run_wall_s"] for r in per_seed]))
        print("%s mean over %d seeds: exc %.3f Hz, inh %.3f Hz, all %.3f Hz"
              % (spec["name"], len(per_seed), d["mean_rate_exc_hz"], d["mean_rate_inh_hz"],
                 d["mean_rate_all_hz"]))
        nets.append(d)
    doc = {
        "description": (
            "Mean firing rates of the CUBA and COBA benchmark networks (4000 LIF neurons, "
            "3200 excitatory then 800 inhibitory, p = 0.02, dt = 1e-4 s, 1 s = 10000 steps) "
            "simulated by Brian2 (float64) with Brian2's seed(s) for each seed s, computed by "
            "tools/brian2_oracle.py. rate_*_hz = spikes of the group / (neurons * duration); "
            "rate_all_second_half_hz counts the spikes at t >= 0.5 s only (sustained activity). "
            "CUBA and COBA are the fixtures; COBA_clipped and COBA_v55 are variants kept for reference. "
            "build_wall_s includes Cython compilation where Brian2 had not cached it yet. "
            "Brian2's random numbers cannot be reproduced by libsnn, so only the statistics "
            "(rates, means over seeds) are comparable. `populations`, `connections` and "
            "`initial_state` state each network in libsnn's models, parameter names and SI "
            "units (weights: volts for exp, relative to the leak conductance for cond_exp; "
            "delay in steps; distribution 'uniform' a = low, b = high; 'normal' a = mean, "
            "b = standard deviation). Wall times are Brian2's, for information only."),
        "generator": "tools/brian2_oracle.py",
        "brian2_version": b2.__version__, "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "codegen_target_preference": args.network_target,
        "codegen_target_used": nets[0]["seeds"][0]["code_object_class"],
        "machine": "%s, %d CPUs" % (platform.machine(), os.cpu_count() or 0),
        "networks": nets,
    }
    path = os.path.join(FIXTURES, "brian2_networks.json")
    write_json(path, doc)
    print("wrote %s" % path)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("single", "networks"), help="run one part only")
    ap.add_argument("--seeds", type=int, default=5, help="network seeds 1..N (default 5)")
    ap.add_argument("--single-target", default="numpy",
                    help="Brian2 codegen target for single neurons (default numpy)")
    ap.add_argument("--network-target", default="auto",
                    help="Brian2 codegen target for networks (default auto: cython if it "
                         "compiles, else numpy)")
    args = ap.parse_args()
    os.makedirs(FIXTURES, exist_ok=True)
    ok = True
    if args.only in (None, "single"):
        ok = run_single(args) and ok
    if args.only in (None, "networks"):
        ok = run_networks(args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
