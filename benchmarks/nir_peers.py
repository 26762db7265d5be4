"""NIR graphs of snnTorch and Norse models, loaded into libsnn: do the loaded
networks spike as the peers' own models do? Run by hand (not a test):

    SNN_LIBRARY=build/rel/libsnn.so.0 PYTHONPATH=python python3 benchmarks/nir_peers.py

The script runs in two interpreters. The peer side (``--peer DIR``, run as a
subprocess with benchmarks/.venv/bin/python, or ``--peers-python PATH``)
builds small networks in snnTorch and Norse, writes each one's NIR graph
(the peer's own exporter where it works, else the graph its per-module
converter writes, or for what no converter covers, the graph built from the
model's parameters by the formulas below), and runs the model on one fixed
input, saving its spikes (and a readout's potential). The libsnn side loads
every graph with snn.nir.load at the peer's dt, runs it on the same input
and prints one row per model: the fraction of output spikes that agree.

Discrete updates of the peers, and the NIR node each one is:

- snnTorch (its exporter assumes dt = 1e-4): Leaky ``v <- beta v + W x``
  = LIF(tau = dt/(1-beta), r = tau/dt); Synaptic ``I <- alpha I + W x;
  v <- beta v + I`` = CubaLIF(tau_syn = dt/(1-alpha), w_in = tau_syn/dt,
  tau_mem = dt/(1-beta), r = tau_mem/dt); RLeaky / RSynaptic add ``V s`` of
  the previous step's spikes (a Linear / Affine in a cycle). With
  ``reset_mechanism="zero"`` and ``reset_delay=False`` they reset as NIR
  does (v = 0 in the step of the spike); snnTorch's defaults (subtract,
  reset one step late) are another update, which its exporter writes as the
  same LIF: the control row shows that difference.
- Norse (dt = 1e-3): LIFBoxCell ``v <- v + dt/tau (v_leak - v + x)`` = LIF(r =
  1); LIFCell ``i <- i + x; v <- v + dt/tau_mem (v_leak - v + i); i <- (1 -
  dt/tau_syn) i`` = CubaLIF(r = 1, w_in = tau_syn/dt) in snn.nir's sequential
  reading; LICell the same without spikes = CubaLI; LIFRecurrentCell adds
  ``W_rec z`` of the previous step to ``i``. Norse's exporter writes LIFCell
  with w_in = 1 (its input then enters I scaled by dt/tau_syn): the row
  "as Norse writes it" shows what that graph means, the next row the graph
  with w_in = tau_syn/dt.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS, BATCH, N_IN, N_HID, N_OUT = 100, 8, 20, 32, 6


# -- peer side (benchmarks/.venv) ----------------------------------------------------------------------------------


def peer_side(out_dir: str) -> None:
    import nir
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = (rng.random((STEPS, BATCH, N_IN)) < 0.25).astype(np.float32)
    np.save(os.path.join(out_dir, "input.npy"), x)
    xt = torch.from_numpy(x)
    cases = []

    def linear(n_in, n_out, mean, std, bias=False):
        lin = torch.nn.Linear(n_in, n_out, bias=bias)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(rng.normal(mean, std, (n_out, n_in)).astype(np.float32)))
            if bias:
                lin.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.05, n_out).astype(np.float32)))
        return lin

    def save(peer, model, graph, dt, source, outputs, notes=""):
        """dt: the step at which to load the graph."""
        key = f"case{len(cases)}"
        nir.write(os.path.join(out_dir, key + ".nir"), graph)
        arrays = {f"{node}.{var}": np.asarray(value, dtype=np.float32) for (node, var), value in outputs.items()}
        np.savez(os.path.join(out_dir, key + ".npz"), **arrays)
        cases.append(dict(key=key, peer=peer, model=model, dt=dt, source=source, notes=notes,
                          outputs=[f"{node}.{var}" for node, var in outputs]))

    def sequential(parts):
        """Input -> parts... -> Output, named as given."""
        nodes = {"input": nir.Input(input_type={"input": np.array([N_IN])})}
        edges, prev = [], "input"
        for name, node in parts:
            nodes[name] = node
            edges.append((prev, name))
            prev = name
        nodes["output"] = nir.Output(output_type={"output": np.array([N_OUT])})
        edges.append((prev, "output"))
        return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)

    snntorch_cases(nir, torch, xt, linear, save, sequential)
    norse_cases(nir, torch, xt, linear, save, sequential)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


def snntorch_cases(nir, torch, xt, linear, save, sequential) -> None:
    import snntorch
    from snntorch.export_nir import _extract_snntorch_module, export_to_nir

    dt = 1e-4  # snnTorch's exporter writes tau = dt / (1 - beta) with this dt
    version = f"snnTorch {snntorch.__version__}"

    def own_export(model):
        try:
            return export_to_nir(model, torch.zeros(1, N_IN)), "export_to_nir"
        except Exception as e:  # noqa: BLE001 - reported in the table
            return None, f"export_to_nir failed ({type(e).__name__}: {str(e)[:60]})"

    def run(layers, kinds):
        """Steps the layers one step at a time; returns each neuron layer's spikes."""
        states = [None] * len(layers)
        rec = {k: [] for k, kind in enumerate(kinds) if kind != "linear"}
        with torch.no_grad():
            for t in range(xt.shape[0]):
                h = xt[t]
                for k, (layer, kind) in enumerate(zip(layers, kinds)):
                    if kind == "linear":
                        h = layer(h)
                    elif kind == "leaky":
                        h, states[k] = layer(h, states[k] if states[k] is not None else torch.zeros_like(h))
                    elif kind == "rleaky":
                        zero = torch.zeros_like(h)
                        spk, mem = layer(h, *(states[k] if states[k] is not None else (zero, zero)))
                        states[k] = (spk, mem)
                        h = spk
                    elif kind == "synaptic":
                        zero = torch.zeros_like(h)
                        h, syn, mem = layer(h, *(states[k] if states[k] is not None else (zero, zero)))
                        states[k] = (syn, mem)
                    elif kind == "rsynaptic":
                        zero = torch.zeros_like(h)
                        spk, syn, mem = layer(h, *(states[k] if states[k] is not None else (zero, zero, zero)))
                        states[k] = (spk, syn, mem)
                        h = spk
                    if k in rec:
                        rec[k].append(h.numpy().copy())
        return {k: np.stack(v) for k, v in rec.items()}

    # Parameters per neuron: the converter writes a scalar beta as 0-d arrays, which nir.write cannot store (and a
    # scalar threshold next to per-neuron arrays fails NIR's shape check).
    def full(n, value):
        return torch.full((n,), value)

    nir_ok = dict(reset_mechanism="zero", reset_delay=False)
    for model, make, kinds in (
        ("Leaky", lambda n, **k: snntorch.Leaky(beta=full(n, 0.9), threshold=full(n, 1.0), **nir_ok, **k),
         ("linear", "leaky")),
        ("Leaky, defaults (control)", lambda n, **k: snntorch.Leaky(beta=full(n, 0.9), threshold=full(n, 1.0), **k),
         ("linear", "leaky")),
        ("Synaptic", lambda n, **k: snntorch.Synaptic(alpha=full(n, 0.8), beta=full(n, 0.9), threshold=full(n, 1.0),
                                                      **nir_ok, **k), ("linear", "synaptic")),
    ):
        gain = 0.3 if kinds[1] == "synaptic" else 1.0  # Synaptic sums about 1 / (1 - alpha) steps of input
        fc1 = linear(N_IN, N_HID, 0.08 * gain, 0.25 * gain, bias=True)
        fc2 = linear(N_HID, N_OUT, 0.08 * gain, 0.2 * gain)
        l1, l2 = make(N_HID), make(N_OUT)
        out = run([fc1, l1, fc2, l2], ["linear", kinds[1], "linear", kinds[1]])
        # The exporter traces a model of init_hidden layers (one input, one output each).
        graph, source = own_export(torch.nn.Sequential(fc1, make(N_HID, init_hidden=True), fc2,
                                                       make(N_OUT, init_hidden=True)))
        if graph is None:
            graph = sequential([("fc1", _extract_snntorch_module(fc1)), ("lif1", _extract_snntorch_module(l1)),
                                ("fc2", _extract_snntorch_module(fc2)), ("lif2", _extract_snntorch_module(l2))])
            source += "; graph from snnTorch's per-module converter"
        notes = "snnTorch resets by subtraction, one step late: not NIR's update" if "control" in model else ""
        save(version, model, graph, dt, source, {("lif1", "spikes"): out[1], ("lif2", "spikes"): out[3]}, notes)

    for model, make, kind, note in (
        ("RLeaky", lambda **k: snntorch.RLeaky(beta=0.9, linear_features=N_HID, **nir_ok, **k), "rleaky", ""),
        ("RSynaptic", lambda **k: snntorch.RSynaptic(alpha=0.8, beta=0.9, linear_features=N_HID, **nir_ok, **k),
         "rsynaptic", "snnTorch 1.0's RSynaptic ignores reset_delay=False (its forward resets local copies of spk and "
         "mem), so it resets one step late, as its defaults do: not NIR's update"),
    ):
        gain = 0.3 if kind == "rsynaptic" else 1.0
        fc1 = linear(N_IN, N_HID, 0.08 * gain, 0.25 * gain, bias=True)
        fc2 = linear(N_HID, N_OUT, 0.1, 0.2)
        rec = make()
        with torch.no_grad():
            rec.recurrent.weight.copy_(rec.recurrent.weight * 2)
        l2 = snntorch.Leaky(beta=full(N_OUT, 0.9), threshold=full(N_OUT, 1.0), **nir_ok)
        out = run([fc1, rec, fc2, l2], ["linear", kind, "linear", "leaky"])
        traced = make(init_hidden=True)
        traced.recurrent.load_state_dict(rec.recurrent.state_dict())
        graph, source = own_export(torch.nn.Sequential(fc1, traced, fc2, snntorch.Leaky(
            beta=full(N_OUT, 0.9), threshold=full(N_OUT, 1.0), init_hidden=True, **nir_ok)))
        if graph is None:
            # The converter writes the recurrent layer as a nested graph (input -> lif <-> w_rec, lif -> output).
            graph = sequential([("fc1", _extract_snntorch_module(fc1)), ("rec", _extract_snntorch_module(rec)),
                                ("fc2", _extract_snntorch_module(fc2)), ("lif2", _extract_snntorch_module(l2))])
            source += "; graph from snnTorch's per-module converter (nested recurrent graph)"
        save(version, model, graph, dt, source, {("rec.lif", "spikes"): out[1], ("lif2", "spikes"): out[3]},
             note or "V s of the previous step: delay 1 on the back edge")


def norse_cases(nir, torch, xt, linear, save, sequential) -> None:
    import norse
    from norse.torch import (LIBoxCell, LIBoxParameters, LICell, LIFBoxCell, LIFBoxParameters, LIFCell,
                             LIFParameters, LIFRecurrentCell, LIParameters)
    from norse.torch.functional.lif import LIFState
    from norse.torch.utils.export_nir import _extract_norse_module

    dt = 1e-3
    version = f"Norse {norse.__version__}"
    # Parameters per neuron: the converter writes 0-d tensors as they are, which nir.write cannot store.
    def full(n, value):
        return torch.full((n,), value)

    def p_box(n):
        return LIFBoxParameters(tau_mem_inv=full(n, 1 / 1e-2), v_leak=full(n, 0.0), v_th=full(n, 1.0))

    def p_lif(n):
        return LIFParameters(tau_syn_inv=full(n, 1 / 5e-3), tau_mem_inv=full(n, 1 / 1e-2), v_leak=full(n, 0.0),
                             v_th=full(n, 1.0))

    def p_li(n):
        return LIParameters(tau_syn_inv=full(n, 1 / 5e-3), tau_mem_inv=full(n, 1 / 1e-2), v_leak=full(n, 0.0))

    def run(layers):
        states = [None] * len(layers)
        rec = {}
        with torch.no_grad():
            for t in range(xt.shape[0]):
                h = xt[t]
                for k, layer in enumerate(layers):
                    if isinstance(layer, torch.nn.Linear):
                        h = layer(h)
                    else:
                        if states[k] is None and isinstance(layer, LIFRecurrentCell):  # its own start fails on
                            zero = torch.zeros(h.shape[0], layer.hidden_size)             # per-neuron parameters
                            states[k] = LIFState(z=zero, v=zero.clone(), i=zero.clone())
                        h, states[k] = layer(h, states[k])
                        rec.setdefault(k, []).append(h.numpy().copy())
        return {k: np.stack(v) for k, v in rec.items()}

    def own_export(model):
        try:
            return norse.torch.to_nir(model, torch.zeros(1, N_IN), dt=dt), "norse.torch.to_nir"
        except Exception as e:  # noqa: BLE001 - reported in the table
            return None, f"to_nir failed ({type(e).__name__}: {str(e)[:60]})"

    def per_neuron(value, n):
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()

    def box(cell, n):
        """A LIFBoxCell's LIF with tau in seconds (1 / tau_mem_inv)."""
        p = cell.p
        return nir.LIF(tau=1 / per_neuron(p.tau_mem_inv, n), r=np.ones(n), v_leak=per_neuron(p.v_leak, n),
                       v_threshold=per_neuron(p.v_th, n), v_reset=per_neuron(p.v_reset, n))

    def cuba(cell, n, spiking=True):
        """A LIFCell / LICell / LIFRecurrentCell as CubaLIF / CubaLI: tau in
        seconds, r = 1, w_in = tau_syn / dt (Norse adds its input to i as it is)."""
        p = cell.p
        tau_syn = 1 / per_neuron(p.tau_syn_inv, n)
        args = dict(tau_syn=tau_syn, tau_mem=1 / per_neuron(p.tau_mem_inv, n), r=np.ones(n),
                    v_leak=per_neuron(p.v_leak, n), w_in=tau_syn / dt)
        if spiking:
            return nir.CubaLIF(v_threshold=per_neuron(p.v_th, n), v_reset=per_neuron(p.v_reset, n), **args)
        return nir.CubaLI(**args)

    scaled = (f"Norse's converter writes tau = dt / tau_inv (the time constant times dt), so the graph is loaded at "
              f"dt^2 = {dt * dt:g} s, where dt / tau is Norse's factor")

    def converted(layers, names):
        """The converter's graph and the names of the layers in it."""
        graph, source = own_export(norse.torch.SequentialState(*layers))
        if graph is not None and all(str(k) in graph.nodes for k in range(len(layers))):
            return graph, source, [str(k) for k in range(len(layers))]
        if graph is not None:
            source = "to_nir names the layers otherwise"
        graph = sequential([(name, _extract_norse_module(layer, dt)) for name, layer in zip(names, layers)])
        return graph, source + "; graph from Norse's per-module converter", names

    # LIFBoxCell, as the converter writes it and with tau in seconds.
    fc1, fc2 = linear(N_IN, N_HID, 0.6, 1.2), linear(N_HID, N_OUT, 0.6, 1.2)
    l1, l2 = LIFBoxCell(p_box(N_HID), dt=dt), LIFBoxCell(p_box(N_OUT), dt=dt)
    out = run([fc1, l1, fc2, l2])
    graph, source, names = converted([fc1, l1, fc2, l2], ["fc1", "lif1", "fc2", "lif2"])
    save(version, "LIFBoxCell, as Norse writes it", graph, dt * dt, source,
         {(names[1], "spikes"): out[1], (names[3], "spikes"): out[3]}, scaled)
    spikes = {("lif1", "spikes"): out[1], ("lif2", "spikes"): out[3]}
    graph = sequential([("fc1", _extract_norse_module(fc1, dt)), ("lif1", box(l1, N_HID)),
                        ("fc2", _extract_norse_module(fc2, dt)), ("lif2", box(l2, N_OUT))])
    save(version, "LIFBoxCell", graph, dt, "Norse's converter for the Linears; LIF with tau = 1 / tau_mem_inv", spikes)

    # LIFCell: the converter writes CubaLIF with w_in = 1.
    fc1, fc2 = linear(N_IN, N_HID, 0.12, 0.25), linear(N_HID, N_OUT, 0.2, 0.3)
    l1, l2 = LIFCell(p_lif(N_HID), dt=dt), LIFCell(p_lif(N_OUT), dt=dt)
    out = run([fc1, l1, fc2, l2])
    graph, source, names = converted([fc1, l1, fc2, l2], ["fc1", "lif1", "fc2", "lif2"])
    spikes = {("lif1", "spikes"): out[1], ("lif2", "spikes"): out[3]}
    save(version, "LIFCell, as Norse writes it", graph, dt * dt, source,
         {(names[1], "spikes"): out[1], (names[3], "spikes"): out[3]},
         scaled + "; and w_in = 1 feeds I dt/tau_syn = 0.2 of the input Norse adds: another network")
    graph = sequential([("fc1", _extract_norse_module(fc1, dt)), ("lif1", cuba(l1, N_HID)),
                        ("fc2", _extract_norse_module(fc2, dt)), ("lif2", cuba(l2, N_OUT))])
    save(version, "LIFCell", graph, dt, "Norse's converter for the Linears; CubaLIF with w_in = tau_syn / dt", spikes)

    # LIFCell + LICell readout: spikes and the readout's potential.
    fc1, fc2 = linear(N_IN, N_HID, 0.12, 0.25), linear(N_HID, N_OUT, 0.2, 0.3)
    l1, ro = LIFCell(p_lif(N_HID), dt=dt), LICell(p_li(N_OUT), dt=dt)
    out = run([fc1, l1, fc2, ro])
    graph = sequential([("fc1", _extract_norse_module(fc1, dt)), ("lif1", cuba(l1, N_HID)),
                        ("fc2", _extract_norse_module(fc2, dt)), ("li", cuba(ro, N_OUT, False))])
    save(version, "LIFCell + LICell readout", graph, dt, "from the parameters (no converter for LICell)",
         {("lif1", "spikes"): out[1], ("li", "v"): out[3]})

    # LIFBoxCell + LIBoxCell readout, as the converter writes them.
    fc1, fc2 = linear(N_IN, N_HID, 0.6, 1.2), linear(N_HID, N_OUT, 0.6, 1.2)
    l1 = LIFBoxCell(p_box(N_HID), dt=dt)
    ro = LIBoxCell(LIBoxParameters(tau_mem_inv=full(N_OUT, 1 / 1e-2), v_leak=full(N_OUT, 0.0)), dt=dt)
    out = run([fc1, l1, fc2, ro])
    graph, source, names = converted([fc1, l1, fc2, ro], ["fc1", "lif1", "fc2", "li"])
    save(version, "LIFBoxCell + LIBoxCell readout, as Norse writes them", graph, dt * dt, source,
         {(names[1], "spikes"): out[1], (names[3], "v"): out[3]}, scaled)

    # LIFRecurrentCell: no converter; CubaLIF with an input Linear and a recurrent one.
    rec = LIFRecurrentCell(N_IN, N_HID, p=p_lif(N_HID), dt=dt, autapses=False)
    with torch.no_grad():
        rec.input_weights.copy_(torch.from_numpy(np.random.default_rng(5).normal(0.12, 0.25, (N_HID, N_IN))))
        rec.recurrent_weights.copy_(torch.from_numpy(np.random.default_rng(6).normal(0.0, 0.3, (N_HID, N_HID))))
        rec.recurrent_weights.fill_diagonal_(0.0)
    fc2 = linear(N_HID, N_OUT, 0.2, 0.3)
    l2 = LIFCell(p_lif(N_OUT), dt=dt)
    out = run([rec, fc2, l2])
    nodes = {"input": nir.Input(input_type={"input": np.array([N_IN])}),
             "w_in": nir.Linear(weight=rec.input_weights.detach().numpy().astype(np.float64)),
             "lif1": cuba(rec, N_HID),
             "w_rec": nir.Linear(weight=rec.recurrent_weights.detach().numpy().astype(np.float64)),
             "fc2": _extract_norse_module(fc2, dt), "lif2": cuba(l2, N_OUT),
             "output": nir.Output(output_type={"output": np.array([N_OUT])})}
    edges = [("input", "w_in"), ("w_in", "lif1"), ("lif1", "w_rec"), ("w_rec", "lif1"), ("lif1", "fc2"),
             ("fc2", "lif2"), ("lif2", "output")]
    save(version, "LIFRecurrentCell", nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), dt,
         "from the parameters (no converter)", {("lif1", "spikes"): out[0], ("lif2", "spikes"): out[2]},
         "W_rec z of the previous step: delay 1 on the back edge")


# -- libsnn side ---------------------------------------------------------------------------------------------------


def libsnn_side(data: str) -> list:
    import snn

    x = np.load(os.path.join(data, "input.npy"))
    with open(os.path.join(data, "cases.json")) as f:
        cases = json.load(f)
    rows = []
    for case in cases:
        want = np.load(os.path.join(data, case["key"] + ".npz"))
        try:
            net = snn.nir.load(os.path.join(data, case["key"] + ".nir"), dt=case["dt"], batch=x.shape[1])
        except snn.SnnError as e:
            rows.append((case["peer"], case["model"], "-", f"load failed: {e}"))
            continue
        names = {k: k.rsplit(".", 1) for k in case["outputs"]}
        record = [f"{snn.nir._clean(node)}.{var}" for node, var in names.values()]
        got = net.run(x.shape[0], inputs={"input": (x > 0).astype(np.uint8)}, record=record)
        equal, total, spikes, notes = 0, 0, 0, []
        for key, rec in zip(case["outputs"], record):
            w = want[key].reshape(x.shape[0], x.shape[1], -1)
            g = got[rec].reshape(w.shape).astype(np.float64)
            if key.endswith(".spikes"):
                equal += int(np.sum(g == w))
                total += w.size
                spikes += int(w.sum())
            else:
                err = float(np.max(np.abs(g - w)))
                notes.append(f"readout v: largest difference {err:.1e} (largest v {float(np.max(np.abs(w))):.2f})")
        frac = f"{equal / total:.4f}" if total else "-"
        notes.insert(0, f"{spikes} peer spikes")
        if case["notes"]:
            notes.append(case["notes"])
        notes.append(case["source"])
        rows.append((case["peer"], case["model"], frac, "; ".join(notes)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", metavar="DIR", help="run the peer side only, writing into DIR")
    parser.add_argument("--peers-python", default=os.path.join(HERE, ".venv", "bin", "python"))
    parser.add_argument("--keep", metavar="DIR", help="write the graphs and spikes into DIR (default: a temporary one)")
    args = parser.parse_args()
    if args.peer:
        peer_side(args.peer)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or tmp
        os.makedirs(data, exist_ok=True)
        subprocess.run([args.peers_python, os.path.abspath(__file__), "--peer", data], check=True)
        rows = libsnn_side(data)
    print("| peer | model | equal output spikes | notes |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
