"""NIR (the Neuromorphic Intermediate Representation) in and out.

NIR states neurons as differential equations; a discrete-time framework picks
a step ``dt`` and steps them by forward Euler, as snnTorch and Norse do:

    LIF:  v <- (1 - dt/tau) v + (dt/tau) v_leak + (r dt/tau) I;  spike if v > v_threshold, then v = v_reset
    LI:   the same without spikes
    IF:   v <- v + r dt I;  spike and reset as LIF

with ``I`` the sum of the Affine / Linear nodes feeding the neuron. :func:`load`
builds a libsnn network that steps exactly these updates at the chosen ``dt``
(a ``lif`` whose exact decay ``exp(-dt/tau_mem)`` is ``1 - dt/tau``, and
weights scaled so each step adds ``(r dt/tau) W x``); :func:`export` writes a
network (or an :class:`snn.Sequential`) back so that :func:`load` at the same
``dt`` gives it again. Needs the ``nir`` package (``pip install nir``).

Supported now: Input, Output, Affine, Linear, LIF, LI, IF in graphs without
cycles. Other nodes (Conv, pooling, Flatten, Scale, Delay, Threshold,
CubaLIF, CubaLI) raise :class:`snn.UnsupportedError` naming the node.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .errors import InvalidArgumentError, ShapeError, UnsupportedError

__all__ = ["load", "export"]


def _nir():
    try:
        import nir
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnsupportedError("snn.nir needs the nir package (pip install nir)") from e
    return nir


def _vector(x, n: int, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.full(n, arr[0])
    if arr.size != n:
        raise ShapeError(f"{what}: {arr.size} values for {n} neurons")
    return arr


def _size(node) -> int:
    shape = None
    for key in ("output_type", "input_type"):
        types = getattr(node, key, None) or {}
        for value in types.values():
            if value is not None and np.size(value) > 0:
                shape = np.asarray(value).reshape(-1)
                break
        if shape is not None:
            break
    if shape is None or shape.size == 0:
        raise ShapeError(f"{type(node).__name__}: no shape")
    return int(np.prod(shape))


def load(graph: Any, dt: float = 1e-4, batch: int = 1, input: str = "spikes", backend: Optional[str] = None,
         threads: Optional[int] = None):
    """A :class:`snn.Network` from a NIR graph (an ``nir.NIRGraph`` or the
    path of a ``.nir`` file), stepped at ``dt`` seconds. Populations are
    named after the graph's nodes; Input nodes become ``spike_source``
    populations (``input="current"``: ``current_source``)."""
    from ._network import Network

    nir = _nir()
    if isinstance(graph, (str, bytes)) or hasattr(graph, "__fspath__"):
        graph = nir.read(graph)
    if not isinstance(graph, nir.NIRGraph):
        raise InvalidArgumentError(f"expected a nir.NIRGraph or a path, got {type(graph).__name__}")
    if input not in ("spikes", "current"):
        raise InvalidArgumentError(f"input must be 'spikes' or 'current', got {input!r}")
    dt = float(dt)
    nodes: Dict[str, Any] = dict(graph.nodes)
    preds: Dict[str, List[str]] = {name: [] for name in nodes}
    succs: Dict[str, List[str]] = {name: [] for name in nodes}
    for a, b in graph.edges:
        if a not in nodes or b not in nodes:
            raise InvalidArgumentError(f"edge {a} -> {b}: no such node")
        succs[a].append(b)
        preds[b].append(a)
    supported = (nir.Input, nir.Output, nir.Affine, nir.Linear, nir.LIF, nir.LI, nir.IF)
    for name, node in nodes.items():
        if not isinstance(node, supported):
            raise UnsupportedError(f"NIR node {name!r}: {type(node).__name__} cannot be loaded yet "
                                   "(Input, Output, Affine, Linear, LIF, LI and IF can)")
    order = _topological(nodes, succs)
    net = Network(dt=dt, batch=batch, backend=backend, threads=threads)
    populations: Dict[str, int] = {}  # node -> size, for nodes that are populations
    # Neuron parameters and each one's input scale (what one unit of I adds to v in a step, before libsnn's decay).
    scale: Dict[str, np.ndarray] = {}
    for name in order:
        node = nodes[name]
        if isinstance(node, nir.Input):
            n = _size(node)
            net.population(_clean(name), n, "spike_source" if input == "spikes" else "current_source")
            populations[name] = n
        elif isinstance(node, (nir.LIF, nir.LI)):
            tau = np.asarray(node.tau, dtype=np.float64).reshape(-1)
            n = tau.size
            if not np.all(tau > dt):
                raise InvalidArgumentError(f"NIR node {name!r}: tau must exceed dt = {dt} (Euler needs dt < tau)")
            decay = 1.0 - dt / tau  # Euler's factor, which libsnn's exp(-dt / tau_mem) must equal
            tau_mem = -dt / np.log(decay)
            r = _vector(node.r, n, f"{name}.r")
            params = dict(tau_mem=tau_mem.astype(np.float32), v_rest=_vector(node.v_leak, n, f"{name}.v_leak").astype(np.float32))
            if isinstance(node, nir.LIF):
                params.update(v_th=_vector(node.v_threshold, n, f"{name}.v_threshold").astype(np.float32),
                              v_reset=_vector(node.v_reset, n, f"{name}.v_reset").astype(np.float32), reset="value")
            net.population(_clean(name), n, "lif" if isinstance(node, nir.LIF) else "li", **_uniform(params))
            scale[name] = r * dt / tau / decay
            populations[name] = n
        elif isinstance(node, nir.IF):
            n = np.asarray(node.v_threshold).size
            r = _vector(node.r, n, f"{name}.r")
            net.population(_clean(name), n, "if", v_th=_vector(node.v_threshold, n, f"{name}.v_threshold").astype(np.float32),
                           v_reset=_vector(node.v_reset, n, f"{name}.v_reset").astype(np.float32), reset="value")
            scale[name] = r * dt
            populations[name] = n
    bias_source = None
    for name in order:
        node = nodes[name]
        if not isinstance(node, (nir.Affine, nir.Linear)):
            continue
        if len(preds[name]) != 1 or preds[name][0] not in populations:
            raise UnsupportedError(f"NIR node {name!r}: a Linear/Affine must have one input, an Input or a neuron node")
        pre = preds[name][0]
        weight = np.asarray(node.weight, dtype=np.float64)
        if weight.ndim != 2 or weight.shape[1] != populations[pre]:
            raise ShapeError(f"NIR node {name!r}: weight {weight.shape} does not take {populations[pre]} inputs")
        for post in succs[name]:
            if post not in scale:
                raise UnsupportedError(f"NIR edge {name} -> {post}: a Linear/Affine must feed LIF, LI or IF nodes")
            if weight.shape[0] != populations[post]:
                raise ShapeError(f"NIR node {name!r}: {weight.shape[0]} outputs for {populations[post]} neurons of {post!r}")
            s = scale[post]
            net.connect(_clean(pre), _clean(post), weights=(weight.T * s[None, :]).astype(np.float32), delay=0, synapse="delta",
                        name=f"{name}" if len(succs[name]) == 1 else f"{name}->{post}")
            if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
                if bias_source is None:
                    bias_source = "bias"
                    while bias_source in nodes or bias_source in {_clean(k) for k in nodes}:
                        bias_source += "_"
                    net.population(bias_source, 1, "current_source", current=1.0)
                bias = _vector(node.bias, populations[post], f"{name}.bias")
                net.connect(bias_source, _clean(post), weights=(bias * s)[None, :].astype(np.float32), delay=0, synapse="delta",
                            name=_clean(f"{name}_bias" if len(succs[name]) == 1 else f"{name}-{post}_bias"))
    for name, node in nodes.items():
        if isinstance(node, nir.Output) and not preds[name]:
            raise InvalidArgumentError(f"NIR node {name!r}: an Output without input")
        for post in succs[name]:
            if isinstance(node, (nir.Input, nir.LIF, nir.LI, nir.IF)) and not isinstance(nodes[post], (nir.Affine, nir.Linear, nir.Output)):
                raise UnsupportedError(f"NIR edge {name} -> {post}: populations connect through Linear/Affine nodes")
    return net


def _clean(name: str) -> str:
    """A NIR node name as a libsnn name (letters, digits, '_' and '-')."""
    out = "".join(c if c.isalnum() or c in "_-" else "_" for c in str(name))
    return out or "_"


def _uniform(params: Dict[str, Any]) -> Dict[str, Any]:
    """Per-neuron arrays that hold one value become that value."""
    out = {}
    for key, value in params.items():
        if isinstance(value, np.ndarray) and value.size > 0 and np.all(value == value.reshape(-1)[0]):
            out[key] = float(value.reshape(-1)[0])
        else:
            out[key] = value
    return out


def _topological(nodes: Dict[str, Any], succs: Dict[str, List[str]]) -> List[str]:
    state: Dict[str, int] = {}
    order: List[str] = []

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise UnsupportedError(f"NIR graph: a cycle through {name!r} (recurrent graphs cannot be loaded yet)")
        state[name] = 1
        for nxt in succs[name]:
            visit(nxt)
        state[name] = 2
        order.append(name)

    for name in nodes:
        visit(name)
    return order[::-1]


def export(model: Any, dt: Optional[float] = None):
    """A NIR graph of a :class:`snn.Network` or :class:`snn.Sequential`
    whose :func:`load` at the same ``dt`` (default: the network's) gives the
    same updates. Sources become Input nodes, dense ``delta`` connections with
    delay 0 Linear nodes (Affine with the bias of a Sequential), ``lif``,
    ``li`` and ``if`` populations LIF, LI and IF nodes, and populations that
    feed nothing Output nodes."""
    from ._layers import Sequential
    from ._network import Network

    nir = _nir()
    if isinstance(model, Sequential):
        net = model.network
        bias_of = {f"fc{k}": f"fc{k}_bias" for k, (lin, _) in enumerate(model._pairs) if lin.has_bias}
    elif isinstance(model, Network):
        net, bias_of = model, {}
    else:
        raise InvalidArgumentError(f"expected a Network or a Sequential, got {type(model).__name__}")
    dt = float(net.dt if dt is None else dt)
    pops = {name: net.populations[name] for name in net.populations}
    bias_conns = set(bias_of.values())
    nodes: Dict[str, Any] = {}
    edges: List[Tuple[str, str]] = []
    scale: Dict[str, np.ndarray] = {}
    for name, pop in pops.items():
        if any(net.connections[c].pre.name == name and c in bias_conns for c in net.connections):
            continue  # the constant source behind Sequential's biases
        n = pop.size
        if pop.model in ("spike_source", "current_source"):
            nodes[name] = nir.Input(input_type={"input": np.array([n])})
        elif pop.model in ("lif", "li"):
            tau_mem = np.broadcast_to(np.asarray(net.param(name, "tau_mem"), dtype=np.float64), (n,))
            decay = np.exp(-dt / tau_mem)
            tau = dt / (1.0 - decay)
            r = tau / dt  # r dt / tau = 1, as snnTorch writes and reads it: W is the input added per step
            v_leak = np.broadcast_to(np.asarray(net.param(name, "v_rest"), dtype=np.float64), (n,))
            if pop.model == "lif":
                _check_lif_export(net, name)
                nodes[name] = nir.LIF(tau=tau, r=r, v_leak=v_leak.copy(),
                                      v_threshold=np.broadcast_to(np.asarray(net.param(name, "v_th"), np.float64), (n,)).copy(),
                                      v_reset=np.broadcast_to(np.asarray(net.param(name, "v_reset"), np.float64), (n,)).copy())
            else:
                nodes[name] = nir.LI(tau=tau, r=r, v_leak=v_leak.copy())
            scale[name] = decay  # libsnn's step adds decay * w x: that is W x with W = decay * w
        elif pop.model == "if":
            _check_lif_export(net, name)
            nodes[name] = nir.IF(r=np.full(n, 1.0 / dt),
                                 v_threshold=np.broadcast_to(np.asarray(net.param(name, "v_th"), np.float64), (n,)).copy(),
                                 v_reset=np.broadcast_to(np.asarray(net.param(name, "v_reset"), np.float64), (n,)).copy())
            scale[name] = np.ones(n)
        else:
            raise UnsupportedError(f"population {name!r}: model {pop.model!r} has no NIR node here (lif, li, if and sources do)")
    for cname in net.connections:
        if cname in bias_conns:
            continue
        conn = net.connections[cname]
        if conn.kind != "dense" or conn.synapse != "delta" or conn.delay != 0:
            raise UnsupportedError(f"connection {cname!r}: only dense delta connections with delay 0 export to NIR yet "
                                   f"(this one is {conn.kind}, {conn.synapse}, delay {conn.delay})")
        s = scale[conn.post.name]
        w = net.weights(cname).astype(np.float64).T * s[:, None]  # [out, in]
        bias_name = next((b for c, b in bias_of.items() if c == cname), None)
        if bias_name is not None:
            nodes[cname] = nir.Affine(weight=w, bias=net.weights(bias_name)[0].astype(np.float64) * s)
        else:
            nodes[cname] = nir.Linear(weight=w)
        edges += [(conn.pre.name, cname), (cname, conn.post.name)]
    feeds = {a for a, _ in edges}
    for name in list(nodes):
        if name in pops and name not in feeds and pops[name].model not in ("spike_source", "current_source"):
            out = f"{name}.output"
            nodes[out] = nir.Output(output_type={"output": np.array([pops[name].size])})
            edges.append((name, out))
    graph = nir.NIRGraph(nodes=nodes, edges=edges)
    return graph


def _check_lif_export(net, name: str) -> None:
    if net.param(name, "t_ref") is not None and np.any(np.asarray(net.param(name, "t_ref")) >= 1.5 * net.dt):
        raise UnsupportedError(f"population {name!r}: a refractory period has no NIR equivalent")
    if net.param(name, "reset") != "value":
        raise UnsupportedError(f"population {name!r}: reset 'subtract' has no NIR equivalent (NIR resets to v_reset)")
