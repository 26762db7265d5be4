"""A network built in snnTorch, written to NIR by snnTorch's own converter
(its per-module one: snnTorch 1.0's export_to_nir fails type inference with
nir 1.0.8), loaded here, gives snnTorch's own output spikes on the same input.
Skipped where snnTorch is not installed (.ci/run installs it).
benchmarks/nir_peers.py runs these and Norse's cases by hand."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
snntorch = pytest.importorskip("snntorch")
nir = pytest.importorskip("nir")
pytest.importorskip("nirtorch")  # snnTorch's NIR converter imports it
from snntorch.export_nir import _extract_snntorch_module  # noqa: E402

import snn  # noqa: E402

DT = 1e-4  # snnTorch's converter writes tau = dt / (1 - beta) for this dt
N_IN, N_HID, N_OUT, STEPS, BATCH = 20, 24, 5, 60, 4
NIR_RESET = dict(reset_mechanism="zero", reset_delay=False)  # the update NIR's LIF states


def linear(rng, n_in, n_out, mean, std, bias=False):
    lin = torch.nn.Linear(n_in, n_out, bias=bias)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(rng.normal(mean, std, (n_out, n_in)).astype(np.float32)))
        if bias:
            lin.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.05, n_out).astype(np.float32)))
    return lin


def graph_of(parts):
    nodes = {"input": nir.Input(input_type={"input": np.array([N_IN])})}
    edges, prev = [], "input"
    for name, module in parts:
        nodes[name] = _extract_snntorch_module(module)
        edges.append((prev, name))
        prev = name
    nodes["output"] = nir.Output(output_type={"output": np.array([N_OUT])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def run_snntorch(x, layers):
    """Steps fc1, neurons, fc2, neurons; returns both neuron layers' spikes."""
    states = [None] * 4
    spikes = {1: [], 3: []}
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = torch.from_numpy(x[t])
            for k, layer in enumerate(layers):
                if k % 2 == 0:
                    h = layer(h)
                    continue
                if isinstance(layer, snntorch.RLeaky):
                    zero = torch.zeros_like(h)
                    spk, mem = layer(h, *(states[k] or (zero, zero)))
                    states[k], h = (spk, mem), spk
                elif isinstance(layer, snntorch.Synaptic):
                    zero = torch.zeros_like(h)
                    h, syn, mem = layer(h, *(states[k] or (zero, zero)))
                    states[k] = (syn, mem)
                else:
                    h, mem = layer(h, states[k] if states[k] is not None else torch.zeros_like(h))
                    states[k] = mem
                spikes[k].append(h.numpy().copy())
    return np.stack(spikes[1]), np.stack(spikes[3])


def full(n, value):  # per-neuron parameters (nir.write cannot store the converter's 0-d arrays)
    return torch.full((n,), value)


@pytest.mark.parametrize("kind", ["Leaky", "Synaptic", "RLeaky"])
def test_snntorch_networks_load_with_their_spikes(kind, tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = (rng.random((STEPS, BATCH, N_IN)) < 0.25).astype(np.float32)
    gain = 0.3 if kind == "Synaptic" else 1.0
    fc1 = linear(rng, N_IN, N_HID, 0.08 * gain, 0.25 * gain, bias=True)
    fc2 = linear(rng, N_HID, N_OUT, 0.08 * gain, 0.2 * gain)
    if kind == "Leaky":
        l1 = snntorch.Leaky(beta=full(N_HID, 0.9), threshold=full(N_HID, 1.0), **NIR_RESET)
    elif kind == "Synaptic":
        l1 = snntorch.Synaptic(alpha=full(N_HID, 0.8), beta=full(N_HID, 0.9), threshold=full(N_HID, 1.0), **NIR_RESET)
    else:
        l1 = snntorch.RLeaky(beta=0.9, linear_features=N_HID, **NIR_RESET)
        with torch.no_grad():
            l1.recurrent.weight.copy_(l1.recurrent.weight * 2)
    l2 = snntorch.Leaky(beta=full(N_OUT, 0.9), threshold=full(N_OUT, 1.0), **NIR_RESET)
    want1, want2 = run_snntorch(x, [fc1, l1, fc2, l2])
    assert want1.sum() > 100 and want2.sum() > 10

    path = tmp_path / "net.nir"
    nir.write(path, graph_of([("fc1", fc1), ("lif1", l1), ("fc2", fc2), ("lif2", l2)]))
    net = snn.nir.load(str(path), dt=DT, batch=BATCH)
    hidden = "lif1_lif" if kind == "RLeaky" else "lif1"  # the converter nests a recurrent layer
    rec = net.run(STEPS, inputs={"input": x}, record=[f"{hidden}.spikes", "lif2.spikes"])
    # float32 on both sides, but torch's matrix products sum in another order:
    # a spike may move where a membrane lands within rounding of the threshold.
    for got, want in ((rec[f"{hidden}.spikes"], want1), (rec["lif2.spikes"], want2)):
        assert (got == want).mean() >= 0.999, (got != want).sum()
