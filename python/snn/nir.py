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

A Conv2d node (stride, zero padding, a bias per output channel; no dilation
or groups), optionally followed by a SumPool2d or AvgPool2d without padding,
becomes one ``conv2d`` connection into a LIF, LI or IF node of shape ``(C, H,
W)``, its kernel and bias scaled per output channel exactly as a Linear's
weights (so ``r dt / tau`` must be uniform over each channel); libsnn adds the
bias after the pooling, so a bias before a SumPool2d is stored multiplied by
the pool's cells. A Flatten between a neuron (or Input) node and an Affine /
Linear changes nothing (libsnn stores ``(C, H, W)`` populations flat in that
order). Export writes ``conv2d`` connections as Conv2d (with ``input_shape``)
plus a SumPool2d / AvgPool2d node (max pooling has no NIR node), and a Flatten
before the Linear / Affine of a dense connection out of a ``(C, H, W)``
population.

Supported now: Input, Output, Affine, Linear, Conv2d, SumPool2d and AvgPool2d
(right after a Conv2d), Flatten (before an Affine / Linear), LIF, LI, IF in
graphs without cycles. Other nodes (Conv1d, pooling elsewhere, Scale, Delay,
Threshold, CubaLIF, CubaLI) raise :class:`snn.UnsupportedError` naming the
node.
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


def load(graph: Any, dt: float = 1e-4, batch: int = 1, input: str = "spikes", backend: Optional[str] = None,
         threads: Optional[int] = None):
    """A :class:`snn.Network` from a NIR graph (an ``nir.NIRGraph`` or the
    path of a ``.nir`` file), stepped at ``dt`` seconds. Populations are
    named after the graph's nodes (``(C, H, W)``-shaped where the node is);
    Input nodes become ``spike_source`` populations (``input="current"``:
    ``current_source``). A Conv2d (with its pooling node, if any) becomes a
    ``conv2d`` connection named after the Conv2d, an Affine / Linear a dense
    one named after the node (``"<node>-<post>"`` where it feeds several).
    A file is read without NIR's own type check (which rejects non-square
    kernels in nir 1.0.8); the shapes this needs are checked here. NIR does
    not say where a neuron starts: a loaded ``lif`` / ``li`` starts at
    ``v_leak`` (libsnn's ``v_rest``), an ``if`` at ``v_reset``."""
    from ._network import Network

    nir = _nir()
    if isinstance(graph, (str, bytes)) or hasattr(graph, "__fspath__"):
        graph = nir.read(graph, type_check=False)
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
    pools = (nir.SumPool2d, nir.AvgPool2d)
    supported = (nir.Input, nir.Output, nir.Affine, nir.Linear, nir.Conv2d, nir.SumPool2d, nir.AvgPool2d, nir.Flatten,
                 nir.LIF, nir.LI, nir.IF)
    for name, node in nodes.items():
        if not isinstance(node, supported):
            raise UnsupportedError(f"NIR node {name!r}: {type(node).__name__} cannot be loaded yet (Input, Output, Affine, "
                                   "Linear, Conv2d, SumPool2d, AvgPool2d, Flatten, LIF, LI and IF can)")
    order = _topological(nodes, succs)
    net = Network(dt=dt, batch=batch, backend=backend, threads=threads)
    populations: Dict[str, int] = {}  # node -> size, for nodes that are populations
    shapes: Dict[str, Tuple[int, ...]] = {}  # node -> the population's shape
    # Neuron parameters and each one's input scale (what one unit of I adds to v in a step, before libsnn's decay).
    scale: Dict[str, np.ndarray] = {}

    def add_population(name: str, shape: Tuple[int, ...], model: str, **params) -> None:
        n = int(np.prod(shape))
        net.population(_clean(name), shape if len(shape) == 3 else n, model, **params)
        populations[name], shapes[name] = n, shape if len(shape) == 3 else (n,)

    for name in order:
        node = nodes[name]
        if isinstance(node, nir.Input):
            add_population(name, _shape(node), "spike_source" if input == "spikes" else "current_source")
        elif isinstance(node, (nir.LIF, nir.LI)):
            shape = np.shape(node.tau)
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
            add_population(name, shape, "lif" if isinstance(node, nir.LIF) else "li", **_uniform(params))
            scale[name] = r * dt / tau / decay
        elif isinstance(node, nir.IF):
            shape = np.shape(node.v_threshold)
            n = int(np.prod(shape))
            r = _vector(node.r, n, f"{name}.r")
            add_population(name, shape, "if", v_th=_vector(node.v_threshold, n, f"{name}.v_threshold").astype(np.float32),
                           v_reset=_vector(node.v_reset, n, f"{name}.v_reset").astype(np.float32), reset="value")
            scale[name] = r * dt
    # The nodes that are no populations, where they may stand.
    for name, node in nodes.items():
        kind = type(node).__name__
        if isinstance(node, nir.Flatten):
            if len(preds[name]) != 1 or preds[name][0] not in populations:
                raise UnsupportedError(f"NIR node {name!r}: a Flatten must have one input, an Input or a neuron node")
            for post in succs[name]:
                if not isinstance(nodes[post], (nir.Affine, nir.Linear, nir.Output)):
                    raise UnsupportedError(f"NIR edge {name} -> {post}: a Flatten must feed Affine or Linear nodes")
        elif isinstance(node, pools):
            if len(preds[name]) != 1 or not isinstance(nodes[preds[name][0]], nir.Conv2d):
                raise UnsupportedError(f"NIR node {name!r}: {kind} can be loaded only right after a Conv2d (pooling "
                                       "the convolution's output before the neurons)")
            for post in succs[name]:
                if post not in scale:
                    raise UnsupportedError(f"NIR edge {name} -> {post}: a {kind} after a Conv2d must feed LIF, LI or IF nodes")
            if np.any(np.asarray(node.padding) != 0):
                raise UnsupportedError(f"NIR node {name!r}: {kind} with padding {np.asarray(node.padding).tolist()} "
                                       "(pooling without padding can be loaded)")
        elif isinstance(node, nir.Output) and not preds[name]:
            raise InvalidArgumentError(f"NIR node {name!r}: an Output without input")
        elif name in populations:
            for post in succs[name]:  # (a pooling node says itself where it may stand)
                if not isinstance(nodes[post], (nir.Affine, nir.Linear, nir.Conv2d, nir.Flatten, nir.Output) + pools):
                    raise UnsupportedError(f"NIR edge {name} -> {post}: populations connect through Linear, Affine or "
                                           "Conv2d nodes")
    bias_source = None
    for name in order:
        node = nodes[name]
        if isinstance(node, nir.Conv2d):
            _load_conv(nir, net, name, node, preds, succs, nodes, populations, shapes, scale)
            continue
        if not isinstance(node, (nir.Affine, nir.Linear)):
            continue
        pre = preds[name][0] if len(preds[name]) == 1 else None
        if pre is not None and isinstance(nodes[pre], nir.Flatten):
            pre = preds[pre][0]
        if pre not in populations:
            raise UnsupportedError(f"NIR node {name!r}: a Linear/Affine must have one input, an Input or a neuron node "
                                   "(or a Flatten of one)")
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
                        name=_clean(name if len(succs[name]) == 1 else f"{name}-{post}"))
            if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
                if bias_source is None:
                    bias_source = "bias"
                    while bias_source in nodes or bias_source in {_clean(k) for k in nodes}:
                        bias_source += "_"
                    net.population(bias_source, 1, "current_source", current=1.0)
                bias = _vector(node.bias, populations[post], f"{name}.bias")
                net.connect(bias_source, _clean(post), weights=(bias * s)[None, :].astype(np.float32), delay=0, synapse="delta",
                            name=_clean(f"{name}_bias" if len(succs[name]) == 1 else f"{name}-{post}_bias"))
    return net


def _load_conv(nir, net, name: str, node, preds, succs, nodes, populations, shapes, scale) -> None:
    """A Conv2d node (and the pooling nodes after it) as conv2d connections."""
    if len(preds[name]) != 1 or preds[name][0] not in populations:
        raise UnsupportedError(f"NIR node {name!r}: a Conv2d must have one input, an Input or a neuron node")
    pre = preds[name][0]
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
    if len(shapes[pre]) == 3:
        in_shape = shapes[pre]
    elif node.input_shape is not None and np.size(node.input_shape) == 2:
        in_shape = (in_c,) + tuple(int(v) for v in np.asarray(node.input_shape).reshape(-1))
    else:
        raise ShapeError(f"NIR node {name!r}: its input {pre!r} has shape {shapes[pre]}, not (C, H, W), and the Conv2d "
                         "has no input_shape")
    if node.input_shape is not None and np.size(node.input_shape) == 2 and \
            tuple(int(v) for v in np.asarray(node.input_shape).reshape(-1)) != in_shape[1:]:
        raise ShapeError(f"NIR node {name!r}: input_shape {tuple(np.asarray(node.input_shape).tolist())} for an input of "
                         f"shape {in_shape}")
    if in_shape[0] != in_c or int(np.prod(in_shape)) != populations[pre]:
        raise ShapeError(f"NIR node {name!r}: weight {weight.shape} does not take the input {pre!r} of shape {in_shape}")
    bias = np.zeros(out_c) if node.bias is None else np.asarray(node.bias, dtype=np.float64).reshape(-1)
    if bias.size == 1:
        bias = np.full(out_c, bias[0])
    if bias.size != out_c:
        raise ShapeError(f"NIR node {name!r}: {bias.size} biases for {out_c} output channels")
    h, w = _conv_out(in_shape[1], in_shape[2], (kh, kw), stride, padding)
    if h < 1 or w < 1:
        raise ShapeError(f"NIR node {name!r}: the kernel does not fit the input of shape {in_shape}")
    routes = []  # (pooling node or None, neuron node)
    for nxt in succs[name]:
        if nxt in scale:
            routes.append((None, nxt))
        elif isinstance(nodes[nxt], (nir.SumPool2d, nir.AvgPool2d)):
            routes += [(nxt, post) for post in succs[nxt]]
        else:
            raise UnsupportedError(f"NIR edge {name} -> {nxt}: a Conv2d must feed LIF, LI or IF nodes, directly or "
                                   "through one SumPool2d or AvgPool2d")
    for pool_name, post in routes:
        pool = nodes[pool_name] if pool_name is not None else None
        out_shape = (out_c, h, w)
        cells = 1
        options: Dict[str, Any] = {}
        if pool is not None:
            size = _pair(pool.kernel_size, f"NIR node {pool_name!r}: kernel_size")
            pool_stride = _pair(pool.stride if pool.stride is not None else pool.kernel_size,
                                f"NIR node {pool_name!r}: stride")
            if size[0] > h or size[1] > w:
                raise ShapeError(f"NIR node {pool_name!r}: a {size} window does not fit the convolution's {h} x {w} output")
            out_shape = (out_c,) + _conv_out(h, w, size, pool_stride, (0, 0))
            mode = "sum" if isinstance(pool, nir.SumPool2d) else "avg"
            options = dict(pool=mode, pool_size=size, pool_stride=pool_stride)
            cells = size[0] * size[1] if mode == "sum" else 1
        if populations[post] != int(np.prod(out_shape)) or (len(shapes[post]) == 3 and shapes[post] != out_shape):
            raise ShapeError(f"NIR node {name!r}: its output has shape {out_shape}; {post!r} has shape {shapes[post]}")
        s = scale[post].reshape(out_c, -1)
        if np.any(s != s[:, :1]):
            raise UnsupportedError(f"NIR edge {name} -> {post}: r dt / tau differs within an output channel of {post!r} "
                                   "(a conv2d connection scales its kernel per channel)")
        s = s[:, 0]
        kernel = weight * s[:, None, None, None]
        b = bias * s * cells  # libsnn adds the bias after the pooling: a sum adds it once per cell
        net.conv2d(_clean(pre), _clean(post), kernel.astype(np.float32), b.astype(np.float32) if np.any(bias != 0) else None,
                   stride=stride, padding=padding, in_shape=in_shape, delay=0, synapse="delta",
                   name=_clean(name if len(routes) == 1 else f"{name}-{post}"), **options)


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
    delay 0 Linear nodes (Affine with the bias of a Sequential's Linear),
    ``conv2d`` ones Conv2d nodes (and a SumPool2d or AvgPool2d node
    ``"<connection>.pool"`` for their pooling), ``lif``, ``li`` and ``if``
    populations LIF, LI and IF nodes (shaped ``(C, H, W)`` where the
    population or a conv2d connection is), and populations that feed nothing
    Output nodes. A dense connection out of a ``(C, H, W)`` population reads
    it through a Flatten node ``"<population>.flatten"``."""
    from ._layers import Linear, Sequential
    from ._network import Network

    nir = _nir()
    if isinstance(model, Sequential):
        net = model.network
        bias_of = {f"fc{k}": f"fc{k}_bias" for k, (lin, _) in enumerate(model._pairs)
                   if isinstance(lin, Linear) and lin.has_bias}
    elif isinstance(model, Network):
        net, bias_of = model, {}
    else:
        raise InvalidArgumentError(f"expected a Network or a Sequential, got {type(model).__name__}")
    dt = float(net.dt if dt is None else dt)
    pops = {name: net.populations[name] for name in net.populations}
    bias_conns = set(bias_of.values())
    conns = [name for name in net.connections if name not in bias_conns]
    for cname in conns:
        conn = net.connections[cname]
        if conn.kind not in ("dense", "conv2d") or conn.synapse != "delta" or conn.delay != 0:
            raise UnsupportedError(f"connection {cname!r}: only dense and conv2d delta connections with delay 0 export to "
                                   f"NIR yet (this one is {conn.kind}, {conn.synapse}, delay {conn.delay})")
        if conn.kind == "conv2d" and conn.geometry["pool"] == "max":
            raise UnsupportedError(f"connection {cname!r}: max pooling has no NIR node (NIR has SumPool2d and AvgPool2d); "
                                   "use pool 'avg' or 'sum' to export")
    shapes = _export_shapes(net, pops, conns)
    nodes: Dict[str, Any] = {}
    edges: List[Tuple[str, str]] = []
    scale: Dict[str, np.ndarray] = {}
    for name, pop in pops.items():
        if any(net.connections[c].pre.name == name and c in bias_conns for c in net.connections):
            continue  # the constant source behind Sequential's biases
        n, shape = pop.size, shapes[name]

        def per_neuron(key: str) -> np.ndarray:
            values = np.asarray(net.param(name, key), dtype=np.float64).reshape(-1)
            return np.broadcast_to(values, (n,)).reshape(shape).copy()

        if pop.model in ("spike_source", "current_source"):
            nodes[name] = nir.Input(input_type={"input": np.array(shape)})
        elif pop.model in ("lif", "li"):
            tau_mem = np.broadcast_to(np.asarray(net.param(name, "tau_mem"), dtype=np.float64).reshape(-1), (n,))
            decay = np.exp(-dt / tau_mem)
            tau = dt / (1.0 - decay)
            r = tau / dt  # r dt / tau = 1, as snnTorch writes and reads it: W is the input added per step
            if pop.model == "lif":
                _check_lif_export(net, name)
                nodes[name] = nir.LIF(tau=tau.reshape(shape), r=r.reshape(shape), v_leak=per_neuron("v_rest"),
                                      v_threshold=per_neuron("v_th"), v_reset=per_neuron("v_reset"))
            else:
                nodes[name] = nir.LI(tau=tau.reshape(shape), r=r.reshape(shape), v_leak=per_neuron("v_rest"))
            scale[name] = decay  # libsnn's step adds decay * w x: that is W x with W = decay * w
        elif pop.model == "if":
            _check_lif_export(net, name)
            nodes[name] = nir.IF(r=np.full(shape, 1.0 / dt), v_threshold=per_neuron("v_th"), v_reset=per_neuron("v_reset"))
            scale[name] = np.ones(n)
        else:
            raise UnsupportedError(f"population {name!r}: model {pop.model!r} has no NIR node here (lif, li, if and sources do)")
    for cname in conns:
        conn = net.connections[cname]
        pre, post = conn.pre.name, conn.post.name
        s = scale[post]
        if conn.kind == "conv2d":
            g = conn.geometry
            out_c, in_c, kh, kw = g["out_channels"], g["in_channels"], g["kernel_height"], g["kernel_width"]
            w = net.weights(cname).astype(np.float64)
            size = out_c * in_c * kh * kw
            kernel = w[:size].reshape(out_c, in_c, kh, kw)
            bias = w[size:] if g["bias"] else np.zeros(out_c)
            per_channel = s.reshape(out_c, -1)
            if np.any(per_channel != per_channel[:, :1]):
                raise UnsupportedError(f"connection {cname!r}: the decay of {post!r} differs within an output channel (a "
                                       "Conv2d node scales its kernel per channel)")
            sc = per_channel[:, 0]
            kernel = kernel * sc[:, None, None, None]
            bias = bias * sc
            if g["pool"] == "sum":  # libsnn adds the bias once after the sum, NIR's Conv2d once per cell
                bias = bias / (g["pool_height"] * g["pool_width"])
            stride, padding = (g["stride_y"], g["stride_x"]), (g["padding_y"], g["padding_x"])
            conv = nir.Conv2d(input_shape=(g["in_height"], g["in_width"]), weight=kernel, stride=stride, padding=padding,
                              dilation=(1, 1), groups=1, bias=bias)
            # nir 1.0.8 infers the output from the kernel's height alone: give it for kernels that are not square.
            conv.output_type = {"output": np.array((out_c,) + _conv_out(g["in_height"], g["in_width"], (kh, kw), stride,
                                                                        padding))}
            nodes[cname] = conv
            edges.append((pre, cname))
            if g["pool"] is not None:
                pool_name = f"{cname}.pool"
                pool_type = nir.SumPool2d if g["pool"] == "sum" else nir.AvgPool2d
                nodes[pool_name] = pool_type(kernel_size=np.array([g["pool_height"], g["pool_width"]]),
                                             stride=np.array([g["pool_stride_y"], g["pool_stride_x"]]),
                                             padding=np.array([0, 0]))
                edges += [(cname, pool_name), (pool_name, post)]
            else:
                edges.append((cname, post))
            continue
        w = net.weights(cname).astype(np.float64).T * s[:, None]  # [out, in]
        bias_name = bias_of.get(cname)
        if bias_name is not None:
            nodes[cname] = nir.Affine(weight=w, bias=net.weights(bias_name)[0].astype(np.float64) * s)
        else:
            nodes[cname] = nir.Linear(weight=w)
        source = pre
        if len(shapes[pre]) > 1:
            source = f"{pre}.flatten"
            if source not in nodes:
                nodes[source] = nir.Flatten(input_type={"input": np.array(shapes[pre])}, start_dim=0, end_dim=-1)
                edges.append((pre, source))
        edges += [(source, cname), (cname, post)]
    feeds = {a for a, _ in edges}
    for name in list(nodes):
        if name in pops and name not in feeds and pops[name].model not in ("spike_source", "current_source"):
            out = f"{name}.output"
            nodes[out] = nir.Output(output_type={"output": np.array(shapes[name])})
            edges.append((name, out))
    graph = nir.NIRGraph(nodes=nodes, edges=edges)
    return graph


def _export_shapes(net, pops, conns) -> Dict[str, Tuple[int, ...]]:
    """Each population's shape in the graph: ``(C, H, W)`` as its conv2d
    connections read or write it, else its own shape when that is ``(C, H,
    W)`` and no dense connection writes it (NIR has no node to unflatten),
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


def _check_lif_export(net, name: str) -> None:
    if net.param(name, "t_ref") is not None and np.any(np.asarray(net.param(name, "t_ref")) >= 1.5 * net.dt):
        raise UnsupportedError(f"population {name!r}: a refractory period has no NIR equivalent")
    if net.param(name, "reset") != "value":
        raise UnsupportedError(f"population {name!r}: reset 'subtract' has no NIR equivalent (NIR resets to v_reset)")
