"""NIR (the Neuromorphic Intermediate Representation) in and out.

NIR states neurons as differential equations; a discrete-time framework picks
a step ``dt`` and steps them by forward Euler, as snnTorch and Norse do. With
``u`` what a node's inputs deliver in the step (the sum over its input paths
of Linear / Affine / Conv2d outputs, scaled by Scale and shifted by Delay
nodes), one step is:

    LIF:       v <- (1 - dt/tau) v + (dt/tau) v_leak + (r dt/tau) u;  spike if v > v_threshold, then v = v_reset
    LI:        the same without spikes
    IF:        v <- v + r dt u;  spike and reset as LIF
    CubaLIF:   I <- (1 - dt/tau_syn) I + (dt/tau_syn) w_in u;  then, with this new I,
               v <- (1 - dt/tau_mem) v + (dt/tau_mem) v_leak + (r dt/tau_mem) I;  spike and reset as LIF
    CubaLI:    the same without spikes
    Threshold: spike if u > threshold (no state); after an LI / CubaLI: spike if its v > threshold
    Delay:     y = x of ``delay / dt`` steps earlier (0 before the first step)

:func:`load` builds a libsnn network that steps exactly these updates at the
chosen ``dt`` (up to float32 rounding):

- LIF / LI: a ``lif`` / ``li`` whose exact decay ``exp(-dt/tau_mem)`` is
  ``1 - dt/tau``, its delta connections scaled so each step adds
  ``(r dt/tau) W x``; IF: an ``if``, connections scaled by ``r dt``.
- CubaLIF / CubaLI: a ``lif`` / ``li`` fed through ``exp`` connections whose
  decay ``exp(-dt/tau)`` is ``1 - dt/tau_syn``. libsnn adds a step's input to
  ``I``, moves ``v`` with that ``I`` through the gain ``c`` of its exact
  propagator, then decays ``I``: the order of the update above, so weights
  scaled by ``(dt/tau_mem) r (dt/tau_syn) w_in / c`` make it exact.
  ``cuba="simultaneous"`` instead reads textbook forward Euler, where ``v``
  uses the ``I`` of the previous step: every connection into the node then
  takes one more step of delay, which is again exact.
- Threshold after an LI / CubaLI (and nothing else but Output nodes after
  that LI): a ``lif`` with reset ``"subtract"`` and ``v_reset = v_th``, which
  spikes and never resets. A Threshold anywhere else: a ``lif`` that keeps no
  state (``tau_mem`` and its ``exp`` connections' ``tau`` 1/1000 of ``dt``,
  and a zero ``cond_exp`` connection that makes libsnn integrate it by
  exponential Euler, which then sets ``v`` to the step's input), so it
  spikes when the step's input exceeds the threshold.
- Delay: connection delays in whole steps (``delay / dt`` must be a whole
  number): one delay for a uniform Delay node, per-synapse delays (a sparse
  connection) for per-element delays on a Linear / Affine path.
- Scale: folded into the weights (before a Linear: its columns; after: its
  rows and bias; before a Conv2d only one factor per input channel, after it
  one per output channel); a Scale or Delay straight from a population to a
  neuron node becomes a ``one_to_one`` connection.
- Recurrent graphs: a cycle needs one step of delay. Where none of its paths
  has a Delay, the path that closes it (the back edge of a depth-first walk
  from the Input nodes, the other nodes in graph order, a node's paths in the
  order of their targets in the graph) takes delay 1, as snnTorch's RLeaky
  and RSynaptic read their own spikes of the previous step; a Delay on a
  cycle is the cycle's delay (no step is added). A nested graph (snnTorch
  writes RLeaky as one) is flattened first.
- A neuron node whose parameters are single numbers (as snnTorch writes a
  layer with one beta) takes the size of its input.

A Conv2d node (stride, zero padding, a bias per output channel; no dilation
or groups), optionally followed by a SumPool2d or AvgPool2d without padding,
becomes one ``conv2d`` connection into the neurons after it, its kernel and
bias scaled per output channel exactly as a Linear's weights (so ``r dt /
tau`` must be uniform over each channel); libsnn adds the bias after the
pooling, so a bias before a SumPool2d is stored multiplied by the pool's
cells. A Flatten changes nothing (libsnn stores ``(C, H, W)`` populations
flat in that order).

:func:`export` writes a network (or an :class:`snn.Sequential`) so that
:func:`load` at the same ``dt`` gives it again: sources as Input nodes,
``lif`` / ``li`` / ``if`` populations as LIF / LI / IF nodes (CubaLIF / CubaLI
where all their input comes through ``exp`` connections of one ``tau``; an LI
/ CubaLI plus a Threshold for a ``lif`` that never resets, a Threshold for
the stateless ``lif`` load makes of one), dense and sparse
connections as Linear nodes (Affine with their ``"<connection>_bias"``
connection from a one-neuron constant ``current_source``, as Sequential and
:func:`load` make them), ``one_to_one`` ones as Scale nodes, ``conv2d`` ones as
Conv2d (+ SumPool2d / AvgPool2d), delays as Delay nodes except the one step
of a recurrent connection that load would give it anyway. Needs the ``nir``
package (``pip install nir``).

Conv1d, pooling anywhere but after a Conv2d, two Linear / Affine / Conv2d
nodes on one path, per-element delays or scales that a convolution cannot
hold, and linear nodes with several inputs raise :class:`snn.UnsupportedError`
saying why.
"""

from __future__ import annotations

import heapq
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from .errors import InvalidArgumentError, ShapeError, UnsupportedError

__all__ = ["load", "export"]

# Time constants of a stateless Threshold population, as a fraction of dt: exp(-1000) is 0 even in double.
_TINY = 1e-3
_CUBA = ("sequential", "simultaneous")


def _nir():
    try:
        import nir
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnsupportedError("snn.nir needs the nir package (pip install nir)") from e
    return nir


class _Pass:
    """The Input or Output node of a nested graph: it passes its input on."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


def _vector(x, n: int, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.full(n, arr[0])
    if arr.size != n:
        raise ShapeError(f"{what}: {arr.size} values for {n} neurons")
    return arr


def _shape(node) -> Tuple[int, ...]:
    """The shape of an Input node's data."""
    value = (getattr(node, "input_type", None) or {}).get("input")
    if value is None or np.size(value) == 0:
        raise ShapeError(f"{type(node).__name__}: no shape")
    return tuple(int(v) for v in np.asarray(value).reshape(-1))


def _pair(value, what: str) -> Tuple[int, int]:
    """An int or a pair of ints (a NIR attribute) as a pair."""
    if isinstance(value, (str, bytes)):
        raise UnsupportedError(f"{what}: {value!r} (only numbers can be loaded)")
    arr = np.asarray(value).reshape(-1)
    if arr.dtype.kind not in "iuf" or arr.size not in (1, 2) or np.any(arr != np.round(arr)):
        raise InvalidArgumentError(f"{what}: expected an int or a pair of ints, got {value!r}")
    arr = arr.astype(np.int64)
    return (int(arr[0]), int(arr[-1]))


def _conv_out(h: int, w: int, kernel, stride, padding) -> Tuple[int, int]:
    return ((h + 2 * padding[0] - kernel[0]) // stride[0] + 1, (w + 2 * padding[1] - kernel[1]) // stride[1] + 1)


def _gain(dt: float, tau_mem, tau_syn) -> np.ndarray:
    """The gain ``c`` of an exp current in libsnn's exact propagator of a
    ``lif`` / ``li`` (docs/models.md), from the stored float32 time
    constants, in double, rounded to float32 once as libsnn does."""
    tm = np.asarray(tau_mem, dtype=np.float32).astype(np.float64)
    tk = np.broadcast_to(np.asarray(tau_syn, dtype=np.float32).astype(np.float64), tm.shape)
    em, ek = np.exp(-dt / tm), np.exp(-dt / tk)
    same = tm == tk
    c = np.where(same, dt / tm * em, tk / np.where(same, 1.0, tk - tm) * (ek - em))
    return c.astype(np.float32).astype(np.float64)


def _steps(node, name: str, n: int, dt: float) -> np.ndarray:
    """A Delay node's delays in whole steps, per element."""
    d = _vector(node.delay, n, f"NIR node {name!r}: delay")
    if np.any(d < 0) or not np.all(np.isfinite(d)):
        raise InvalidArgumentError(f"NIR node {name!r}: delays must be finite and not negative")
    steps = d / dt
    k = np.round(steps)
    if np.any(np.abs(steps - k) > 1e-6 * np.maximum(1.0, k)):
        bad = d[np.argmax(np.abs(steps - k))]
        raise UnsupportedError(f"NIR node {name!r}: a delay of {bad:g} s is not a whole number of steps of "
                               f"dt = {dt:g} s (libsnn delays spikes by whole steps)")
    return k.astype(np.int64)


def _flat_graph(nir, graph) -> Tuple[Dict[str, Any], List[Tuple[str, str]]]:
    """The graph's nodes and edges with nested graphs expanded: node ``b``
    of a nested graph ``a`` becomes ``a.b``; an edge to (from) ``a`` goes to
    its Input (from its Output) node, which passes its input on."""
    nodes: Dict[str, Any] = {}
    edges: List[Tuple[str, str]] = []
    ends: Dict[str, Tuple[List[str], List[str]]] = {}

    def resolve(name: str, side: int) -> str:
        while name in ends:
            group = ends[name][side]
            if len(group) != 1:
                raise UnsupportedError(f"NIR graph: an edge {'to' if side == 0 else 'from'} the nested graph {name!r}, "
                                       f"which has {len(group)} {'Input' if side == 0 else 'Output'} nodes (name one)")
            name = group[0]
        return name

    def walk(g, prefix: str, top: bool) -> None:
        for key, node in g.nodes.items():
            full = prefix + str(key)
            if isinstance(node, nir.NIRGraph):
                walk(node, full + ".", False)
                ends[full] = ([f"{full}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Input)],
                              [f"{full}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Output)])
            elif not top and isinstance(node, (nir.Input, nir.Output)):
                nodes[full] = _Pass(type(node).__name__)
            else:
                nodes[full] = node
        for a, b in g.edges:
            edges.append((resolve(prefix + str(a), 1), resolve(prefix + str(b), 0)))

    walk(graph, "", True)
    return nodes, edges


def load(graph: Any, dt: float = 1e-4, batch: int = 1, input: str = "spikes", backend: Optional[str] = None,
         threads: Optional[int] = None, cuba: str = "sequential"):
    """A :class:`snn.Network` from a NIR graph (an ``nir.NIRGraph`` or the
    path of a ``.nir`` file), stepped at ``dt`` seconds. Populations are
    named after the graph's neuron and Input nodes (``(C, H, W)``-shaped
    where the node is; an LI followed by a Threshold after the LI); Input
    nodes become ``spike_source`` populations (``input="current"``:
    ``current_source``). Each path of linear nodes from a population to a
    neuron node becomes a connection named after its Linear / Affine /
    Conv2d node (else its first node; ``"<name>-<post>"`` where one node
    starts several paths), an Affine's bias a ``"<connection>_bias"``
    connection from a one-neuron constant source ``"bias"``. ``cuba``:
    ``"sequential"`` (the membrane uses the synaptic current of this step:
    snnTorch's Synaptic, Norse's LIFCell and both tools' NIR import) or
    ``"simultaneous"`` (textbook forward Euler: the current of the previous
    step). A file is read without NIR's own type check (which rejects
    non-square kernels in nir 1.0.8); the shapes this needs are checked here.
    NIR does not say where a neuron starts: a loaded ``lif`` / ``li`` starts
    at ``v_leak`` (libsnn's ``v_rest``), an ``if`` at ``v_reset``, currents
    and delay lines at 0."""
    from ._network import Network

    nir = _nir()
    if isinstance(graph, (str, bytes)) or hasattr(graph, "__fspath__"):
        graph = nir.read(graph, type_check=False)
    if not isinstance(graph, nir.NIRGraph):
        raise InvalidArgumentError(f"expected a nir.NIRGraph or a path, got {type(graph).__name__}")
    if input not in ("spikes", "current"):
        raise InvalidArgumentError(f"input must be 'spikes' or 'current', got {input!r}")
    if cuba not in _CUBA:
        raise InvalidArgumentError(f"cuba must be 'sequential' or 'simultaneous', got {cuba!r}")
    dt = float(dt)
    pops, specs = _plan(nir, graph, dt, input, cuba)
    net = Network(dt=dt, batch=batch, backend=backend, threads=threads)
    for key, pop in pops.items():
        shape = pop["shape"]
        net.population(_clean(key), shape if len(shape) == 3 else int(np.prod(shape)), pop["model"],
                       **_uniform(pop["params"]))
    bias_source = None
    if any(spec["pre"] is None for spec in specs):
        bias_source = "bias"
        while bias_source in pops or bias_source in {_clean(k) for k in pops}:
            bias_source += "_"
        net.population(bias_source, 1, "current_source", current=1.0)
    for spec in specs:
        pre = bias_source if spec["pre"] is None else _clean(spec["pre"])
        post = _clean(spec["post"])
        opts: Dict[str, Any] = dict(synapse=spec["synapse"], name=_clean(spec["name"]))
        if spec["synapse"] != "delta":
            opts["tau"] = spec["tau"]
        kind, delay = spec["kind"], spec["delay"]
        if kind == "conv2d":
            net.conv2d(pre, post, spec["kernel"].astype(np.float32),
                       None if spec["bias"] is None else spec["bias"].astype(np.float32), delay=int(delay),
                       **spec["geometry"], **opts)
        elif kind == "dense":
            net.connect(pre, post, weights=spec["weights"].astype(np.float32), delay=int(delay), **opts)
        elif kind == "one_to_one":
            net.connect(pre, post, weights=spec["weights"].astype(np.float32), one_to_one=True, delay=int(delay),
                        **opts)
        else:
            net.connect(pre, post, weights=spec["weights"].astype(np.float32), pairs=spec["pairs"],
                        delay=np.asarray(delay, dtype=np.int64), **opts)
    return net


def _plan(nir, graph, dt: float, input: str, cuba: str):
    """The populations (ordered so that delay-0 connections run forward) and
    the connections a graph loads as."""
    nodes, edges = _flat_graph(nir, graph)
    preds: Dict[str, List[str]] = {name: [] for name in nodes}
    succs: Dict[str, List[str]] = {name: [] for name in nodes}
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise InvalidArgumentError(f"edge {a} -> {b}: no such node")
        succs[a].append(b)
        preds[b].append(a)
    neurons = (nir.LIF, nir.LI, nir.IF, nir.CubaLIF, nir.CubaLI)
    pools = (nir.SumPool2d, nir.AvgPool2d)
    linear = (nir.Affine, nir.Linear, nir.Conv2d, nir.Flatten, nir.Scale, nir.Delay, _Pass) + pools
    supported = (nir.Input, nir.Output, nir.Threshold) + neurons + linear
    for name, node in nodes.items():
        if not isinstance(node, supported):
            raise UnsupportedError(f"NIR node {name!r}: {type(node).__name__} cannot be loaded (Input, Output, Affine, "
                                   "Linear, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale, Delay, Threshold, LIF, LI, "
                                   "IF, CubaLIF and CubaLI can)")
    # Where the nodes that are no populations may stand.
    for name, node in nodes.items():
        kind = type(node).__name__
        for post in succs[name]:
            if isinstance(nodes[post], nir.Input):
                raise InvalidArgumentError(f"NIR edge {name} -> {post}: an edge into an Input node")
        if isinstance(node, nir.Output) and not preds[name]:
            raise InvalidArgumentError(f"NIR node {name!r}: an Output without input")
        if not isinstance(node, linear):
            continue
        kind = node.kind if isinstance(node, _Pass) else kind
        if len(preds[name]) != 1:
            raise UnsupportedError(f"NIR node {name!r}: a {kind} with {len(preds[name])} inputs (libsnn loads a "
                                   f"{kind} with one input; several inputs add up only at a neuron node)")
        if isinstance(node, pools):
            before = preds[name][0]
            while isinstance(nodes[before], (nir.Scale, nir.Delay, _Pass)) and len(preds[before]) == 1:
                before = preds[before][0]
            if not isinstance(nodes[before], nir.Conv2d):
                raise UnsupportedError(f"NIR node {name!r}: {kind} can be loaded only right after a Conv2d (pooling "
                                       "the convolution's output before the neurons)")
            if np.any(np.asarray(node.padding) != 0):
                raise UnsupportedError(f"NIR node {name!r}: {kind} with padding {np.asarray(node.padding).tolist()} "
                                       "(pooling without padding can be loaded)")
    # Thresholds right after an LI / CubaLI that feeds nothing else make it a lif that never resets.
    merged: Dict[str, str] = {}
    for name, node in nodes.items():
        if isinstance(node, nir.Threshold) and len(preds[name]) == 1:
            li = preds[name][0]
            if isinstance(nodes[li], (nir.LI, nir.CubaLI)) and \
                    all(s == name or isinstance(nodes[s], nir.Output) for s in succs[li]):
                merged[li] = name
    pops: Dict[str, Dict[str, Any]] = {}
    emits: Dict[str, str] = {}  # population -> the node whose successors receive its output
    for name, node in nodes.items():
        if isinstance(node, nir.Input):
            shape = _shape(node)
            pops[name] = dict(shape=shape, size=int(np.prod(shape)), params={},
                              model="spike_source" if input == "spikes" else "current_source")
            emits[name] = name
        elif isinstance(node, neurons):
            pops[name] = _neuron(nir, name, node, nodes.get(merged.get(name, "")), dt, cuba,
                                 _input_shape(nir, name, nodes, preds))
            emits[name] = merged.get(name, name)
            if isinstance(node, (nir.LI, nir.CubaLI)) and name not in merged:
                for post in succs[name]:
                    if not isinstance(nodes[post], nir.Output):
                        raise UnsupportedError(
                            f"NIR edge {name} -> {post}: an {type(node).__name__} gives its potential, not spikes, "
                            "and libsnn's li cannot feed connections (a Threshold after it, and nothing else but "
                            "Output nodes, makes it a lif that spikes)")
        elif isinstance(node, nir.Threshold) and name not in merged.values():
            pops[name] = _stateless(name, node, dt, _input_shape(nir, name, nodes, preds))
            emits[name] = name
    # Every path of linear nodes from a population to a neuron node.
    paths: List[Tuple[str, str, List[str]]] = []

    def walk(pre: str, at: str, path: List[str]) -> None:
        for nxt in succs[at]:
            node = nodes[nxt]
            if nxt in pops:
                paths.append((pre, nxt, path))
            elif isinstance(node, linear):
                if nxt in path:
                    raise UnsupportedError(f"NIR node {nxt!r}: a cycle through linear nodes only (a cycle must pass "
                                           "through a neuron node)")
                walk(pre, nxt, path + [nxt])

    for key in pops:
        walk(key, emits[key], [])
    base_count: Dict[str, int] = {}
    bases = []
    for pre, post, path in paths:
        matrix = [p for p in path if isinstance(nodes[p], (nir.Linear, nir.Affine, nir.Conv2d))]
        base = matrix[0] if matrix else path[0] if path else f"{pre}-{post}"
        bases.append(base)
        base_count[base] = base_count.get(base, 0) + 1
    specs: List[Dict[str, Any]] = []
    used: Set[str] = set()
    for (pre, post, path), base in zip(paths, bases):
        name = base if base_count[base] == 1 else f"{base}-{post}"
        k = 1
        while _clean(name) in used:
            k += 1
            name = f"{base}-{post}-{k}"
        used.add(_clean(name))
        made = _compose(nir, dt, nodes, pops, pre, post, path, name)
        specs += made
        used.update(_clean(s["name"]) for s in made)
    for key, pop in pops.items():
        if pop.get("stateless"):
            name = f"{key}_euler"
            specs.append(dict(name=name, pre=None, post=key, kind="dense", weights=np.zeros((1, pop["size"])),
                              delay=0, synapse="cond_exp", tau=pop["tau"]))
    # A cycle with no delay takes one step on the path that closes it.
    order = [k for k in pops if isinstance(nodes[k], nir.Input)] + [k for k in pops if not isinstance(nodes[k], nir.Input)]
    arcs = [(s["pre"], s["post"], i) for i, s in enumerate(specs) if s["pre"] is not None and _min_delay(s) == 0]
    back, topo = _back_arcs(order, arcs)
    for i in back:
        s = specs[i]
        s["delay"] = np.maximum(s["delay"], 1) if isinstance(s["delay"], np.ndarray) else max(int(s["delay"]), 1)
    return {k: pops[k] for k in topo}, specs


def _min_delay(spec) -> int:
    d = spec["delay"]
    return int(np.min(d)) if isinstance(d, np.ndarray) else int(d)


def _back_arcs(order: Sequence[str], arcs: Sequence[Tuple[str, str, Any]]) -> Tuple[Set[Any], List[str]]:
    """The arcs a depth-first walk finds closing a cycle (from the nodes in
    ``order``; each node's arcs in the order of their targets in ``order``),
    and the nodes in an order in which every other arc runs forward."""
    index = {p: k for k, p in enumerate(order)}
    out: Dict[str, List[Tuple[int, str, Any]]] = {p: [] for p in order}
    for pre, post, key in arcs:
        out[pre].append((index[post], post, key))
    for p in out:
        out[p].sort(key=lambda t: t[0])
    state: Dict[str, int] = {}
    back: Set[Any] = set()
    for root in order:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, it = stack[-1]
            for _, nxt, key in it:
                seen = state.get(nxt)
                if seen == 1:
                    back.add(key)
                elif seen is None:
                    state[nxt] = 1
                    stack.append((nxt, iter(out[nxt])))
                    break
            else:
                state[node] = 2
                stack.pop()
    # The nodes in their order where the remaining arcs allow it.
    indegree = {p: 0 for p in order}
    for pre, post, key in arcs:
        if key not in back:
            indegree[post] += 1
    ready = [index[p] for p in order if indegree[p] == 0]
    heapq.heapify(ready)
    topo: List[str] = []
    while ready:
        p = order[heapq.heappop(ready)]
        topo.append(p)
        for _, post, key in out[p]:
            if key not in back:
                indegree[post] -= 1
                if indegree[post] == 0:
                    heapq.heappush(ready, index[post])
    return back, topo


def _input_shape(nir, name: str, nodes, preds) -> Optional[Tuple[int, ...]]:
    """The shape of what a node takes, as the nodes before it give it (for
    neuron nodes with scalar parameters, as snnTorch writes a layer with one
    beta); None where that is not known."""
    seen = {name}
    at = list(preds[name])
    while at:
        p = at.pop(0)
        node = nodes[p]
        if p in seen:
            continue
        seen.add(p)
        if isinstance(node, (nir.Linear, nir.Affine)):
            return (int(np.shape(node.weight)[0]),)
        if isinstance(node, nir.Input):
            return _shape(node)
        for key in ("scale", "delay", "threshold"):
            value = getattr(node, key, None)
            if value is not None and np.size(value) > 1:
                return tuple(np.shape(value))
        if isinstance(node, (_Pass, nir.Scale, nir.Delay)):
            at += preds[p]
    return None


def _shape_of(values, hint) -> Tuple[int, ...]:
    shape = tuple(np.shape(values))
    return tuple(hint) if int(np.prod(shape)) == 1 and hint is not None else shape


def _neuron(nir, name: str, node, threshold, dt: float, cuba: str, hint=None) -> Dict[str, Any]:
    """A neuron node (and the Threshold after an LI / CubaLI) as a libsnn
    population: model, parameters, and how its input connections are made
    (synapse, tau, the scale of their weights, extra delay). A node whose
    parameters are single numbers takes the shape ``hint``."""
    if isinstance(node, nir.IF):
        shape = _shape_of(node.v_threshold, hint)
        n = int(np.prod(shape))
        params = dict(v_th=_vector(node.v_threshold, n, f"{name}.v_threshold").astype(np.float32),
                      v_reset=_vector(node.v_reset, n, f"{name}.v_reset").astype(np.float32), reset="value")
        return dict(shape=shape, size=n, model="if", params=params, scale=_vector(node.r, n, f"{name}.r") * dt,
                    synapse="delta", tau=None, extra=0)
    cubas = isinstance(node, (nir.CubaLIF, nir.CubaLI))
    tau = np.asarray(node.tau_mem if cubas else node.tau, dtype=np.float64)
    shape = _shape_of(tau, hint)
    tau = np.broadcast_to(tau.reshape(-1), (int(np.prod(shape)),))
    n = tau.size
    if not np.all(tau > dt):
        raise InvalidArgumentError(f"NIR node {name!r}: tau{'_mem' if cubas else ''} must exceed dt = {dt} "
                                   "(Euler needs dt < tau)")
    decay = 1.0 - dt / tau  # Euler's factor, which libsnn's exp(-dt / tau_mem) must equal
    tau_mem = (-dt / np.log(decay)).astype(np.float32)
    r = _vector(node.r, n, f"{name}.r")
    params: Dict[str, Any] = dict(tau_mem=tau_mem, v_rest=_vector(node.v_leak, n, f"{name}.v_leak").astype(np.float32))
    spiking = isinstance(node, (nir.LIF, nir.CubaLIF))
    if spiking:
        params.update(v_th=_vector(node.v_threshold, n, f"{name}.v_threshold").astype(np.float32),
                      v_reset=_vector(node.v_reset, n, f"{name}.v_reset").astype(np.float32), reset="value")
    elif threshold is not None:  # spikes, never resets
        th = _vector(threshold.threshold, n, f"{name}'s Threshold").astype(np.float32)
        params.update(v_th=th, v_reset=th, reset="subtract")
    model = "lif" if spiking or threshold is not None else "li"
    if not cubas:
        return dict(shape=shape, size=n, model=model, params=params, scale=r * dt / tau / decay, synapse="delta",
                    tau=None, extra=0)
    tau_syn = _vector(node.tau_syn, n, f"{name}.tau_syn")
    if np.any(tau_syn != tau_syn[0]):
        raise UnsupportedError(f"NIR node {name!r}: tau_syn differs between neurons (libsnn's exp synapse has one tau "
                               "per connection)")
    if not tau_syn[0] > dt:
        raise InvalidArgumentError(f"NIR node {name!r}: tau_syn must exceed dt = {dt} (Euler needs dt < tau)")
    b = dt / tau_syn[0]
    tau_k = np.float32(-dt / np.log(1.0 - b))  # exp(-dt / tau_k) = 1 - dt / tau_syn
    w_in = _vector(node.w_in if node.w_in is not None else 1.0, n, f"{name}.w_in")
    scale = (dt / tau) * r * b * w_in / _gain(dt, tau_mem, tau_k)
    return dict(shape=shape, size=n, model=model, params=params, scale=scale, synapse="exp", tau=float(tau_k),
                extra=1 if cuba == "simultaneous" else 0)


def _stateless(name: str, node, dt: float, hint=None) -> Dict[str, Any]:
    """A Threshold of its input as a lif that keeps nothing from one step to
    the next: exp currents that vanish after each step, and (through a zero
    cond_exp connection) exponential Euler with ``dt / tau_mem = 1000``,
    which sets ``v`` to ``v_rest + I``."""
    shape = _shape_of(node.threshold, hint)
    n = int(np.prod(shape))
    tiny = float(np.float32(dt * _TINY))
    params = dict(tau_mem=tiny, v_rest=0.0, v_th=_vector(node.threshold, n, f"{name}.threshold").astype(np.float32),
                  v_reset=0.0, reset="value")
    return dict(shape=shape, size=n, model="lif", params=params, scale=np.ones(n), synapse="exp", tau=tiny, extra=0,
                stateless=True)


def _compose(nir, dt: float, nodes, pops, pre: str, post: str, path: List[str], name: str) -> List[Dict[str, Any]]:
    """The connection (and the bias connection) of one path of linear nodes
    from population ``pre`` to population ``post``."""
    src, dst = pops[pre], pops[post]
    size = src["size"]
    col = np.ones(size)  # Scale before the weights, per input
    dpre = np.zeros(size, dtype=np.int64)  # Delay before the weights, per input
    matrix: Optional[str] = None
    weight = bias = row = dpost = None
    conv: Optional[Dict[str, Any]] = None
    for at in path:
        node = nodes[at]
        kind = type(node).__name__
        if isinstance(node, nir.Scale):
            s = _vector(node.scale, size, f"NIR node {at!r}: scale")
            if matrix is None:
                col = col * s
            elif conv is None:
                row = row * s
            else:
                conv["factor"] = conv["factor"] * _per_channel(s, conv["out_c"], at, "a Scale after a Conv2d")
        elif isinstance(node, nir.Delay):
            d = _steps(node, at, size, dt)
            if matrix is None:
                dpre = dpre + d
            elif conv is None:
                dpost = dpost + d
            else:
                if np.any(d != d[0]):
                    raise UnsupportedError(f"NIR node {at!r}: per-element delays after a Conv2d (a conv2d connection "
                                           "has one delay)")
                conv["dpost"] += int(d[0])
        elif isinstance(node, (nir.Linear, nir.Affine, nir.Conv2d)):
            if matrix is not None:
                raise UnsupportedError(f"NIR node {at!r}: a {kind} after the {type(nodes[matrix]).__name__} "
                                       f"{matrix!r} on one path (libsnn loads one Linear, Affine or Conv2d between "
                                       "two neuron nodes)")
            matrix = at
            if isinstance(node, nir.Conv2d):
                conv = _conv_geometry(nir, at, node, src, size)
                size = int(np.prod(conv["out_shape"]))
                continue
            weight = np.asarray(node.weight, dtype=np.float64)
            if weight.ndim != 2 or weight.shape[1] != size:
                raise ShapeError(f"NIR node {at!r}: weight {weight.shape} does not take {size} inputs")
            size = weight.shape[0]
            row, dpost = np.ones(size), np.zeros(size, dtype=np.int64)
            if isinstance(node, nir.Affine) and node.bias is not None and np.any(np.asarray(node.bias) != 0):
                bias = _vector(node.bias, size, f"NIR node {at!r}: bias")
        elif isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
            if conv is None or conv["pool"] is not None:
                raise UnsupportedError(f"NIR node {at!r}: {kind} can be loaded only right after a Conv2d (pooling "
                                       "the convolution's output before the neurons)")
            _pool(at, node, conv)
            size = int(np.prod(conv["out_shape"]))
    s = dst["scale"]
    extra = dst["extra"]
    common = dict(pre=pre, post=post, synapse=dst["synapse"], tau=dst["tau"])
    if conv is not None:
        return _conv_specs(conv, matrix, pre, post, dst, col, dpre, name, common, extra)
    if size != dst["size"]:
        raise ShapeError(f"NIR path {' -> '.join([pre] + path + [post])}: {size} outputs for the {dst['size']} "
                         f"neurons of {post!r}")
    if matrix is None:  # element by element
        w = col * s
        d = dpre + extra
        if np.all(d == d[0]):
            return [dict(name=name, kind="one_to_one", weights=w, delay=int(d[0]), **common)]
        idx = np.arange(size)
        return [dict(name=name, kind="pairs", weights=w, pairs=(idx, idx), delay=d, **common)]
    w = (row * s)[:, None] * weight * col[None, :]  # [out, in]
    delays = dpre[None, :] + dpost[:, None] + extra
    out = []
    if np.all(delays == delays.flat[0]):
        out.append(dict(name=name, kind="dense", weights=w.T, delay=int(delays.flat[0]), **common))
    else:
        i, j = np.meshgrid(np.arange(w.shape[1]), np.arange(w.shape[0]), indexing="ij")  # by pre, then post
        i, j = i.reshape(-1), j.reshape(-1)
        out.append(dict(name=name, kind="pairs", weights=w[j, i], pairs=(i, j), delay=delays[j, i], **common))
    if bias is not None:
        b = bias * row * s
        bd = dpost + extra
        bname = f"{name}_bias"
        if np.all(bd == bd[0]):
            out.append(dict(name=bname, kind="dense", weights=b[None, :], delay=int(bd[0]), **common))
        else:
            out.append(dict(name=bname, kind="pairs", weights=b, pairs=(np.zeros(size, np.int64), np.arange(size)),
                            delay=bd, **common))
        out[-1]["pre"] = None
    return out


def _per_channel(values: np.ndarray, channels: int, at: str, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).reshape(channels, -1)
    if np.any(v != v[:, :1]):
        raise UnsupportedError(f"NIR node {at!r}: {what} must be one number per channel (a conv2d connection shares "
                               "its kernel over positions)")
    return v[:, 0]


def _conv_geometry(nir, name: str, node, src, size: int) -> Dict[str, Any]:
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 4:
        raise ShapeError(f"NIR node {name!r}: weight must be [out, in, kh, kw], got shape {weight.shape}")
    groups = np.asarray(node.groups if node.groups is not None else 1).reshape(-1)
    if groups.size != 1 or int(groups[0]) != 1:
        raise UnsupportedError(f"NIR node {name!r}: Conv2d with groups = {groups.tolist()} (only groups = 1 can be loaded)")
    dilation = _pair(node.dilation if node.dilation is not None else 1, f"NIR node {name!r}: dilation")
    if dilation != (1, 1):
        raise UnsupportedError(f"NIR node {name!r}: Conv2d with dilation {dilation} (only dilation 1 can be loaded)")
    if isinstance(node.padding, (str, bytes)):
        raise UnsupportedError(f"NIR node {name!r}: Conv2d with padding {node.padding!r} (give it in numbers)")
    padding = _pair(node.padding, f"NIR node {name!r}: padding")
    stride = _pair(node.stride, f"NIR node {name!r}: stride")
    out_c, in_c, kh, kw = weight.shape
    given = None
    if node.input_shape is not None and np.size(node.input_shape) == 2:
        given = tuple(int(v) for v in np.asarray(node.input_shape).reshape(-1))
    if len(src["shape"]) == 3:
        in_shape = tuple(int(v) for v in src["shape"])
    elif given is not None:
        in_shape = (in_c,) + given
    else:
        raise ShapeError(f"NIR node {name!r}: its input has shape {tuple(src['shape'])}, not (C, H, W), and the Conv2d "
                         "has no input_shape")
    if given is not None and given != in_shape[1:]:
        raise ShapeError(f"NIR node {name!r}: input_shape {given} for an input of shape {in_shape}")
    if in_shape[0] != in_c or int(np.prod(in_shape)) != size:
        raise ShapeError(f"NIR node {name!r}: weight {weight.shape} does not take an input of shape {in_shape}")
    bias = np.zeros(out_c) if node.bias is None else np.asarray(node.bias, dtype=np.float64).reshape(-1)
    if bias.size == 1:
        bias = np.full(out_c, bias[0])
    if bias.size != out_c:
        raise ShapeError(f"NIR node {name!r}: {bias.size} biases for {out_c} output channels")
    h, w = _conv_out(in_shape[1], in_shape[2], (kh, kw), stride, padding)
    if h < 1 or w < 1:
        raise ShapeError(f"NIR node {name!r}: the kernel does not fit the input of shape {in_shape}")
    return dict(weight=weight, bias=bias, out_c=out_c, in_shape=in_shape, stride=stride, padding=padding,
                conv_shape=(out_c, h, w), out_shape=(out_c, h, w), pool=None, options={}, cells=1,
                factor=np.ones(out_c), dpost=0)


def _pool(name: str, node, conv: Dict[str, Any]) -> None:
    _, h, w = conv["conv_shape"]
    size = _pair(node.kernel_size, f"NIR node {name!r}: kernel_size")
    stride = _pair(node.stride if node.stride is not None else node.kernel_size, f"NIR node {name!r}: stride")
    if size[0] > h or size[1] > w:
        raise ShapeError(f"NIR node {name!r}: a {size} window does not fit the convolution's {h} x {w} output")
    mode = "sum" if type(node).__name__ == "SumPool2d" else "avg"
    conv["out_shape"] = (conv["out_c"],) + _conv_out(h, w, size, stride, (0, 0))
    conv["pool"] = name
    conv["options"] = dict(pool=mode, pool_size=size, pool_stride=stride)
    conv["cells"] = size[0] * size[1] if mode == "sum" else 1


def _conv_specs(conv, matrix, pre, post, dst, col, dpre, name, common, extra) -> List[Dict[str, Any]]:
    out_shape, out_c, in_shape = conv["out_shape"], conv["out_c"], conv["in_shape"]
    if dst["size"] != int(np.prod(out_shape)) or (len(dst["shape"]) == 3 and tuple(dst["shape"]) != out_shape):
        raise ShapeError(f"NIR node {matrix!r}: its output has shape {out_shape}; {post!r} has shape "
                         f"{tuple(dst['shape'])}")
    s = np.asarray(dst["scale"], dtype=np.float64).reshape(out_c, -1)
    if np.any(s != s[:, :1]):
        raise UnsupportedError(f"NIR edge {matrix} -> {post}: r dt / tau differs within an output channel of {post!r} "
                               "(a conv2d connection scales its kernel per channel)")
    per_out = s[:, 0] * conv["factor"]
    per_in = _per_channel(col, in_shape[0], matrix, "a Scale before a Conv2d")
    if np.any(dpre != dpre[0]):
        raise UnsupportedError(f"NIR node {matrix!r}: per-element delays before a Conv2d (a conv2d connection has one "
                               "delay)")
    kernel = conv["weight"] * per_out[:, None, None, None] * per_in[None, :, None, None]
    bias = conv["bias"] * per_out * conv["cells"]  # libsnn adds the bias after the pooling: a sum adds it once per cell
    bias_delay = conv["dpost"] + extra
    geometry = dict(stride=conv["stride"], padding=conv["padding"], in_shape=in_shape, **conv["options"])
    spec = dict(name=name, kind="conv2d", kernel=kernel, bias=None, geometry=geometry,
                delay=int(dpre[0]) + conv["dpost"] + extra, **common)
    if not np.any(conv["bias"] != 0):
        return [spec]
    if bias_delay == 0:
        spec["bias"] = bias
        return [spec]
    # A delayed bias is 0 in the first steps, which a conv2d bias is not: deliver it from the constant source.
    cells = int(np.prod(out_shape[1:]))
    return [spec, dict(name=f"{name}_bias", kind="dense", weights=np.repeat(bias, cells)[None, :], delay=bias_delay,
                       **dict(common, pre=None))]


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


# -- export -------------------------------------------------------------------------------------------------------


def export(model: Any, dt: Optional[float] = None):
    """A NIR graph of a :class:`snn.Network` or :class:`snn.Sequential`
    whose :func:`load` at the same ``dt`` (default: the network's) gives the
    same updates. Sources become Input nodes; ``lif`` (reset ``"value"``),
    ``li`` and ``if`` populations LIF, LI and IF nodes, or CubaLIF / CubaLI
    where every input connection is ``exp`` with one ``tau``; a ``lif`` with
    reset ``"subtract"`` and ``v_reset = v_th`` (it never resets) an LI /
    CubaLI node plus a Threshold node ``"<population>.threshold"``. Dense and
    sparse connections become Linear nodes (Affine with the bias of their
    ``"<connection>_bias"`` connection from a one-neuron constant
    ``current_source``), ``one_to_one`` ones Scale nodes, ``conv2d`` ones
    Conv2d nodes (and a SumPool2d or AvgPool2d node ``"<connection>.pool"``).
    A delay becomes a Delay node ``"<connection>.delay"`` (per-synapse delays
    one per post- or presynaptic neuron, else one Linear and Delay per delay
    value), except one step on a recurrent connection that :func:`load` gives
    it by itself. Populations shaped ``(C, H, W)`` keep the shape (a dense
    connection reads them through a Flatten node ``"<population>.flatten"``),
    and populations that feed nothing get an Output node."""
    from ._layers import Sequential
    from ._network import Network

    nir = _nir()
    if isinstance(model, Sequential):
        net = model.network
    elif isinstance(model, Network):
        net = model
    else:
        raise InvalidArgumentError(f"expected a Network or a Sequential, got {type(model).__name__}")
    dt = float(net.dt if dt is None else dt)
    conn_of = {name: net.connections[name] for name in net.connections}
    bias_of, euler, constants = _constant_connections(net, conn_of, dt)
    pops = {name: net.populations[name] for name in net.populations if name not in constants}
    hidden = set(bias_of.values()) | set(euler)
    conns = [name for name in conn_of if name not in hidden]
    stateless = set(euler.values())
    delays: Dict[str, Any] = {}
    for cname in conns:
        conn = conn_of[cname]
        if conn.synapse not in ("delta", "exp"):
            raise UnsupportedError(f"connection {cname!r}: a {conn.synapse} synapse has no NIR node (delta and exp "
                                   "connections export)")
        if conn.kind == "conv2d" and conn.geometry["pool"] == "max":
            raise UnsupportedError(f"connection {cname!r}: max pooling has no NIR node (NIR has SumPool2d and AvgPool2d); "
                                   "use pool 'avg' or 'sum' to export")
        delays[cname] = _delays(net, conn)
    shapes = _export_shapes(net, pops, conns)
    nodes: Dict[str, Any] = {}
    edges: List[Tuple[str, str]] = []
    scale: Dict[str, np.ndarray] = {}
    emit: Dict[str, str] = {}
    for name, pop in pops.items():
        n, shape = pop.size, shapes[name]
        emit[name] = name

        def per_neuron(key: str) -> np.ndarray:
            values = np.asarray(net.param(name, key), dtype=np.float64).reshape(-1)
            return np.broadcast_to(values, (n,)).reshape(shape).copy()

        if pop.model in ("spike_source", "current_source"):
            nodes[name] = nir.Input(input_type={"input": np.array(shape)})
            continue
        if name in stateless:  # as load makes a Threshold of a current
            nodes[name] = nir.Threshold(threshold=per_neuron("v_th") - per_neuron("v_rest"))
            scale[name] = np.ones(n)
            continue
        if pop.model not in ("lif", "li", "if"):
            raise UnsupportedError(f"population {name!r}: model {pop.model!r} has no NIR node here (lif, li, if and "
                                   "sources do)")
        incoming = [c for c in conns if conn_of[c].post.name == name]
        synapses = {conn_of[c].synapse for c in incoming}
        if synapses == {"delta", "exp"}:
            raise UnsupportedError(f"population {name!r}: both delta and exp input (a NIR neuron node takes its input "
                                   "one way)")
        cuba = synapses == {"exp"}
        if cuba and pop.model == "if":
            raise UnsupportedError(f"population {name!r}: an if with exp input has no NIR node (NIR has no "
                                   "current-based IF)")
        never = False
        if pop.model in ("lif", "if"):
            never = _check_lif_export(net, name, pop.model)
        if pop.model == "if":
            nodes[name] = nir.IF(r=np.full(shape, 1.0 / dt), v_threshold=per_neuron("v_th"), v_reset=per_neuron("v_reset"))
            scale[name] = np.ones(n)
        else:
            tau_mem = np.broadcast_to(np.asarray(net.param(name, "tau_mem"), dtype=np.float32).reshape(-1), (n,))
            decay = np.exp(-dt / tau_mem.astype(np.float64))
            tau = (dt / (1.0 - decay)).reshape(shape)
            r = tau / dt  # r dt / tau = 1, as snnTorch writes and reads it
            spikes = pop.model == "lif" and not never
            if cuba:
                taus = {float(np.float32(net.param(c, "tau"))) for c in incoming}
                if len(taus) != 1:
                    raise UnsupportedError(f"population {name!r}: exp input with several tau ({sorted(taus)}; a NIR "
                                           "CubaLIF / CubaLI has one synaptic current)")
                tau_k = taus.pop()
                tau_syn = np.full(shape, dt / (1.0 - np.exp(-dt / tau_k)))
                w_in = tau_syn / dt  # dt / tau_syn * w_in = 1: W is what a step adds to I
                if spikes:
                    nodes[name] = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=per_neuron("v_rest"),
                                              v_threshold=per_neuron("v_th"), v_reset=per_neuron("v_reset"), w_in=w_in)
                else:
                    nodes[name] = nir.CubaLI(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=per_neuron("v_rest"), w_in=w_in)
                scale[name] = _gain(dt, tau_mem, tau_k)  # libsnn's step adds c * w x to v: W = c * w
            else:
                if spikes:
                    nodes[name] = nir.LIF(tau=tau, r=r, v_leak=per_neuron("v_rest"), v_threshold=per_neuron("v_th"),
                                          v_reset=per_neuron("v_reset"))
                else:
                    nodes[name] = nir.LI(tau=tau, r=r, v_leak=per_neuron("v_rest"))
                scale[name] = decay  # libsnn's step adds decay * w x: that is W x with W = decay * w
            if never:
                emit[name] = f"{name}.threshold"
                nodes[emit[name]] = nir.Threshold(threshold=per_neuron("v_th"))
                edges.append((name, emit[name]))
    implicit = _implicit(pops, conns, conn_of, delays)

    def source(pre: str) -> str:
        if len(shapes[pre]) == 1:
            return emit[pre]
        flat = f"{pre}.flatten"
        if flat not in nodes:
            nodes[flat] = nir.Flatten(input_type={"input": np.array(shapes[pre])}, start_dim=0, end_dim=-1)
            edges.append((emit[pre], flat))
        return flat

    def delay_node(cname: str, steps, shape, suffix: str = ".delay") -> str:
        nodes[cname + suffix] = nir.Delay(delay=np.broadcast_to(np.asarray(steps, dtype=np.float64) * dt, shape).copy())
        return cname + suffix

    for cname in conns:
        conn = conn_of[cname]
        pre, post = conn.pre.name, conn.post.name
        s = scale[post]
        d = delays[cname]
        if cname in implicit:
            d = 0
        if conn.kind == "conv2d":
            _export_conv(nir, net, cname, conn, s, d, bias_of.get(cname), emit[pre], post, shapes, nodes, edges,
                         delay_node, constants)
            continue
        if conn.kind == "one_to_one":
            w = net.weights(cname).astype(np.float64) * s
            nodes[cname] = nir.Scale(scale=w)
            chain = [source(pre), cname]
            if d:
                chain.append(delay_node(cname, d, (conn.post.size,)))
            edges += list(zip(chain, chain[1:] + [post]))
            continue
        w = net.weights(cname, dense=True).astype(np.float64).T * s[:, None]  # [out, in]
        bias = bias_delay = None
        if cname in bias_of:
            bias = _bias_values(net, bias_of[cname], constants) * s
            _, b_post, b_d = net.synapses(bias_of[cname])
            bias_delay = _by(b_post, b_d, conn.post.size)
        if isinstance(d, int):
            # An Affine adds its bias before a Delay after it; a bias that is not delayed needs the Delay before.
            if d and bias is not None and bias_delay is not None and not np.any(bias_delay):
                groups, want = [(cname, w, np.full(conn.pre.size, d), "pre")], 0
            else:
                groups, want = [(cname, w, d, None)], d
        else:
            pre_ids, post_ids, syn_d = net.synapses(cname)
            by_post = _by(post_ids, syn_d, conn.post.size)
            by_pre = _by(pre_ids, syn_d, conn.pre.size)
            if by_post is not None:
                groups, want = [(cname, w, by_post, "post")], by_post
            elif by_pre is not None:
                groups, want = [(cname, w, by_pre, "pre")], 0
            else:
                groups, want = [], None
                vals = net.weights(cname).astype(np.float64)
                for value in np.unique(syn_d):
                    sel = syn_d == value
                    part = np.zeros((conn.post.size, conn.pre.size))
                    np.add.at(part, (post_ids[sel], pre_ids[sel]), vals[sel])
                    groups.append((f"{cname}.{int(value)}", part * s[:, None], int(value), None))
        if bias is not None and (want is None or bias_delay is None or np.any(bias_delay != want)):
            raise UnsupportedError(f"connection {cname!r}: its bias connection {bias_of[cname]!r} has delays that no "
                                   "Affine and Delay give (an Affine adds its bias before a Delay after it, after one "
                                   "before it)")
        for gname, gw, gd, side in groups:
            nodes[gname] = nir.Affine(weight=gw, bias=bias) if bias is not None else nir.Linear(weight=gw)
            chain = [source(pre)]
            if side == "pre":
                chain.append(delay_node(gname, gd, (conn.pre.size,)))
            chain.append(gname)
            if side == "post" or (side is None and gd):
                chain.append(delay_node(gname, gd, (conn.post.size,)))
            edges += list(zip(chain, chain[1:] + [post]))
    feeds = {conn_of[c].pre.name for c in conns}
    for name, pop in pops.items():
        if name not in feeds and pop.model not in ("spike_source", "current_source"):
            out = f"{name}.output"
            nodes[out] = nir.Output(output_type={"output": np.array(shapes[name])})
            edges.append((emit[name], out))
    # nir's type inference starts from the Input nodes and ends at nodes that feed nothing; a graph where every
    # node feeds a cycle has none of those, and is made unchecked.
    ends = set(nodes) - {a for a, _ in edges}
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=bool(ends))


def _delays(net, conn):
    """A connection's delay: an int, or an int array per synapse where they differ."""
    if conn.kind != "sparse":
        return int(conn.delay)
    d = net.synapses(conn.name)[2].astype(np.int64)
    if d.size == 0 or np.all(d == d[0]):
        return int(d[0]) if d.size else int(conn.delay)
    return d


def _by(ids: np.ndarray, values: np.ndarray, n: int) -> Optional[np.ndarray]:
    """``values`` as one per id (0 where an id has none), or None where an
    id has several."""
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(lo, ids, values)
    np.maximum.at(hi, ids, values)
    has = lo <= hi
    if np.any(lo[has] != hi[has]):
        return None
    return np.where(has, lo, 0)


def _constant_connections(net, conn_of, dt: float) -> Tuple[Dict[str, str], Dict[str, str], Set[str]]:
    """What :func:`load` adds from its one-neuron constant ``current_source``:
    the biases of connections (``"<connection>_bias"``, the same target and
    synapse), the zero ``cond_exp`` connections that make a population a
    stateless Threshold (a ``lif`` whose ``tau_mem`` and exp input ``tau``
    are at most ``dt / 100``), and those sources (all of whose connections
    are such)."""
    bias_of: Dict[str, str] = {}
    for name, conn in conn_of.items():
        b = conn_of.get(f"{name}_bias")
        if b is None or b.post.name != conn.post.name or b.synapse != conn.synapse:
            continue
        if b.pre.model != "current_source" or b.pre.size != 1 or b.kind not in ("dense", "sparse"):
            continue
        if conn.kind == "conv2d" and conn.geometry["bias"]:
            continue
        if conn.synapse != "delta" and float(np.float32(net.param(name, "tau"))) != float(np.float32(net.param(b.name, "tau"))):
            continue
        bias_of[name] = b.name
    euler: Dict[str, str] = {}
    for name, conn in conn_of.items():
        post = conn.post
        if conn.synapse != "cond_exp" or conn.pre.model != "current_source" or conn.pre.size != 1 or \
                np.any(net.weights(name) != 0) or post.model != "lif" or net.param(post.name, "reset") != "value":
            continue
        fast = np.all(dt / np.asarray(net.param(post.name, "tau_mem"), dtype=np.float64) >= 100) and \
            np.all(np.asarray(net.param(post.name, "t_ref")) < 0.5 * dt)
        for other, k in conn_of.items():
            if k.post.name == post.name and other != name and k.synapse != "cond_exp":
                fast = fast and k.synapse == "exp" and dt / float(np.float32(net.param(other, "tau"))) >= 100
        if fast:
            euler[name] = post.name
    made = set(bias_of.values()) | set(euler)
    constants = set()
    for src in {conn_of[c].pre.name for c in made}:
        if all(c in made for c, conn in conn_of.items() if conn.pre.name == src):
            constants.add(src)
    bias_of = {c: b for c, b in bias_of.items() if conn_of[b].pre.name in constants}
    euler = {c: p for c, p in euler.items() if conn_of[c].pre.name in constants}
    return bias_of, euler, constants


def _bias_values(net, bname: str, constants) -> np.ndarray:
    """What a bias connection adds to each postsynaptic neuron per step."""
    conn = net.connections[bname]
    current = float(np.asarray(net.param(conn.pre.name, "current")).reshape(-1)[0])
    return net.weights(bname, dense=True)[0].astype(np.float64) * current


def _implicit(pops, conns, conn_of, delays) -> Set[str]:
    """The connections of delay 1 that :func:`load` makes recurrent by
    itself (written without a Delay node)."""
    order = [p for p, pop in pops.items() if pop.model in ("spike_source", "current_source")] + \
        [p for p, pop in pops.items() if pop.model not in ("spike_source", "current_source")]

    def low(c):
        d = delays[c]
        return int(np.min(d)) if isinstance(d, np.ndarray) else d

    fixed = [(conn_of[c].pre.name, conn_of[c].post.name, c) for c in conns if low(c) == 0]
    candidates = {c for c in conns if isinstance(delays[c], int) and delays[c] == 1}
    for _ in range(8):
        back, _ = _back_arcs(order, fixed + [(conn_of[c].pre.name, conn_of[c].post.name, c) for c in candidates])
        if back == candidates:
            return candidates
        candidates = back if back <= candidates else set()
    return set()


def _export_conv(nir, net, cname, conn, s, d, bias_name, src, post, shapes, nodes, edges, delay_node, constants):
    g = conn.geometry
    out_c, in_c, kh, kw = g["out_channels"], g["in_channels"], g["kernel_height"], g["kernel_width"]
    w = net.weights(cname).astype(np.float64)
    size = out_c * in_c * kh * kw
    kernel = w[:size].reshape(out_c, in_c, kh, kw)
    per_channel = s.reshape(out_c, -1)
    if np.any(per_channel != per_channel[:, :1]):
        raise UnsupportedError(f"connection {cname!r}: the decay of {post!r} differs within an output channel (a "
                               "Conv2d node scales its kernel per channel)")
    sc = per_channel[:, 0]
    kernel = kernel * sc[:, None, None, None]
    if g["bias"]:
        bias = w[size:] * sc
    elif bias_name is not None:
        if np.any(net.synapses(bias_name)[2] != d):
            raise UnsupportedError(f"connection {cname!r}: its bias connection {bias_name!r} has another delay")
        bias = _per_channel(_bias_values(net, bias_name, constants) * s, out_c, cname, "the bias")
    else:
        bias = np.zeros(out_c)
    if g["pool"] == "sum":  # libsnn adds the bias once after the sum, NIR's Conv2d once per cell
        bias = bias / (g["pool_height"] * g["pool_width"])
    stride, padding = (g["stride_y"], g["stride_x"]), (g["padding_y"], g["padding_x"])
    node = nir.Conv2d(input_shape=(g["in_height"], g["in_width"]), weight=kernel, stride=stride, padding=padding,
                      dilation=(1, 1), groups=1, bias=bias)
    # nir 1.0.8 infers the output from the kernel's height alone: give it for kernels that are not square.
    node.output_type = {"output": np.array((out_c,) + _conv_out(g["in_height"], g["in_width"], (kh, kw), stride,
                                                                padding))}
    nodes[cname] = node
    chain = [src]
    # A Delay before the Conv2d leaves a conv2d's bias undelayed, as libsnn adds it; one after delays the bias too,
    # as a separate bias connection with the same delay does.
    if d and bias_name is None:
        chain.append(delay_node(cname, d, shapes[conn.pre.name]))
    chain.append(cname)
    if g["pool"] is not None:
        pool_name = f"{cname}.pool"
        pool_type = nir.SumPool2d if g["pool"] == "sum" else nir.AvgPool2d
        nodes[pool_name] = pool_type(kernel_size=np.array([g["pool_height"], g["pool_width"]]),
                                     stride=np.array([g["pool_stride_y"], g["pool_stride_x"]]), padding=np.array([0, 0]))
        chain.append(pool_name)
    if d and bias_name is not None:
        chain.append(delay_node(cname, d, shapes[post]))
    edges += list(zip(chain, chain[1:] + [post]))


def _export_shapes(net, pops, conns) -> Dict[str, Tuple[int, ...]]:
    """Each population's shape in the graph: ``(C, H, W)`` as its conv2d
    connections read or write it, else its own shape when that is ``(C, H,
    W)`` and no other connection writes it (NIR has no node to unflatten),
    else flat."""
    conv: Dict[str, Tuple[int, ...]] = {}
    dense_posts = set()
    for cname in conns:
        conn = net.connections[cname]
        if conn.kind != "conv2d":
            dense_posts.add(conn.post.name)
            continue
        g = conn.geometry
        h, w = _conv_out(g["in_height"], g["in_width"], (g["kernel_height"], g["kernel_width"]),
                         (g["stride_y"], g["stride_x"]), (g["padding_y"], g["padding_x"]))
        if g["pool"] is not None:
            h, w = _conv_out(h, w, (g["pool_height"], g["pool_width"]), (g["pool_stride_y"], g["pool_stride_x"]), (0, 0))
        for pop, shape in ((conn.pre.name, (g["in_channels"], g["in_height"], g["in_width"])),
                           (conn.post.name, (g["out_channels"], h, w))):
            if conv.setdefault(pop, shape) != shape:
                raise UnsupportedError(f"population {pop!r}: conv2d connections see it as {conv[pop]} and as {shape}; a "
                                       "NIR node has one shape")
    shapes = {}
    for name, pop in pops.items():
        if name in conv:
            if name in dense_posts:
                raise UnsupportedError(f"population {name!r}: a dense connection writes this {conv[name]}-shaped "
                                       "population; NIR has no node to unflatten its output")
            shapes[name] = conv[name]
        elif len(pop.shape) == 3 and name not in dense_posts:
            shapes[name] = tuple(int(v) for v in pop.shape)
        else:
            shapes[name] = (int(pop.size),)
    return shapes


def _check_lif_export(net, name: str, model: str) -> bool:
    """Refuses what NIR cannot say of a lif / if; True for a lif that never
    resets (reset "subtract" with v_reset = v_th: an LI plus a Threshold)."""
    if net.param(name, "t_ref") is not None and np.any(np.asarray(net.param(name, "t_ref")) >= 1.5 * net.dt):
        raise UnsupportedError(f"population {name!r}: a refractory period has no NIR equivalent")
    if net.param(name, "reset") == "value":
        return False
    if model == "lif" and np.all(np.asarray(net.param(name, "v_reset")) == np.asarray(net.param(name, "v_th"))):
        return True
    raise UnsupportedError(f"population {name!r}: reset 'subtract' has no NIR equivalent (NIR resets to v_reset; a "
                           "lif with reset 'subtract' and v_reset = v_th, which never resets, exports as LI + Threshold)")
