"""Convolutional STDP in the manner of Kheradpisheh et al. 2018 on
Fashion-MNIST: difference-of-Gaussians on/off cells, rank-order latency
coding, a convolutional layer of integrate-and-fire neurons that learns its
kernels with the simplified STDP (rule "stdp_sign") and a winner-take-all per
position across its maps, spike max-pooling, and a linear readout of the
pooled spikes.

    python examples/python/conv_stdp.py --train 2000 --test 1000

Every step of the pipeline is libsnn's: snn.vision.dog_kernels /
filter_images / latency_encode (the front end in the core), a "spike_source"
of shape (2, 28, 28), a conv2d connection with plasticity "stdp_sign" onto an
"if" population (30, 24, 24) with wta="position" (one map per position and
step: the paper's lateral inhibition), each neuron firing at most once per
image (a refractory period longer than the image), and a conv2d connection
with a 1 x 1 identity kernel and max pooling onto (30, 12, 12) "if" neurons
(a pooled neuron fires when the first of its window does). The network is
reset between images; kernels start at N(0.8, 0.05), as in the paper.

With --layers 2 the paper's second layer (100 maps 5 x 5 over the pooled
first, threshold 10) learns too, after the first, and the readout uses its
pooled spikes (not tuned: with a few thousand images it reads out worse than
the first layer alone).

The readout is ridge regression (closed form, NumPy) on the pooled spikes of
the training images. Reported beside it, in the same run: the same pipeline
with the untrained kernels, so what STDP learned is visible, and the time per
training image. The paper's full network (two learned layers, an SVM) reaches
98.4 % on MNIST; this one learns one layer.
"""
from __future__ import annotations

import argparse
import time
from typing import Dict, Optional, Tuple

import numpy as np

import snn

STEPS = 15          # latency code length (steps of 1 ms)
MAPS = 30
KERNEL = 5
THRESHOLD = 15.0    # conv layer threshold (the paper's first layer)
MAPS2 = 100
THRESHOLD2 = 10.0   # the paper's second layer


def encode(images: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """[STEPS + 1, N, 2*28*28] uint8 spikes: DoG on/off responses, rank-order
    coded (stronger responses earlier; at most one spike per cell), then one
    empty step so the last spikes reach the pooled layer."""
    responses = snn.vision.filter_images(images, snn.vision.dog_kernels(7, 1.0, 2.0), padding="same", on_off=True)
    spikes = snn.vision.latency_encode(responses, STEPS, threshold=threshold, rule="rank")
    return np.concatenate([spikes, np.zeros((1,) + spikes.shape[1:], spikes.dtype)])


def build(kernel: np.ndarray, learn: bool, batch: int = 1, a_plus: float = 0.004, a_minus: float = 0.003,
          winners: int = 0, backend: str = "cpu", kernel2: Optional[np.ndarray] = None,
          learn2: bool = False) -> Tuple[snn.Network, snn.Connection]:
    """Layer 1 (and with kernel2 layer 2: 100 maps 5 x 5 over the pooled
    layer 1, threshold 10, pooled 2 x 2). Returns the network and the plastic
    connection (layer 1's when neither learns)."""
    net = snn.Network(dt=1e-3, batch=batch, backend=backend)
    net.population("image", (2, 28, 28), model="spike_source")
    hold = (STEPS + 2) * 1e-3  # refractory past the image: one spike per neuron and image
    net.population("maps", (MAPS, 24, 24), model="if", v_reset=0.0, v_th=THRESHOLD, t_ref=hold, wta="position")
    net.population("pooled", (MAPS, 12, 12), model="if", v_reset=0.0, v_th=0.5, t_ref=hold)
    conv = net.conv2d("image", "maps", kernel, delay=0, name="features")
    identity = np.eye(MAPS, dtype=np.float32).reshape(MAPS, MAPS, 1, 1)
    net.conv2d("maps", "pooled", identity, pool="max", pool_size=2, delay=0)
    plastic = conv
    if kernel2 is not None:
        maps2 = kernel2.shape[0]
        net.population("maps2", (maps2, 8, 8), model="if", v_reset=0.0, v_th=THRESHOLD2, t_ref=hold, wta="position")
        net.population("pooled2", (maps2, 4, 4), model="if", v_reset=0.0, v_th=0.5, t_ref=hold)
        conv2 = net.conv2d("pooled", "maps2", kernel2, delay=0, name="features2")
        net.conv2d("maps2", "pooled2", np.eye(maps2, dtype=np.float32).reshape(maps2, maps2, 1, 1), pool="max",
                   pool_size=2, delay=0)
        if learn2:
            plastic = conv2
    if learn or learn2:
        net.set_param(plastic, "plasticity", "stdp_sign")
        net.set_param(plastic, "a_plus", a_plus)
        net.set_param(plastic, "a_minus", a_minus)
        if winners:  # the paper's k winners per image, one per map
            net.set_param(plastic, "learn_once", "channel")
            net.set_param(plastic, "learn_limit", winners)
    return net, plastic


def train(kernel: np.ndarray, images: np.ndarray, a_plus: float, a_minus: float, winners: int = 0,
          kernel2: Optional[np.ndarray] = None) -> Tuple[np.ndarray, float]:
    """One pass of STDP, one image at a time, on layer 1 (or, given kernel2,
    on layer 2 with layer 1 frozen); returns the learned kernel and the seconds."""
    net, conv = build(kernel, learn=kernel2 is None, a_plus=a_plus, a_minus=a_minus, winners=winners,
                      kernel2=kernel2, learn2=kernel2 is not None)
    start = time.perf_counter()
    for k in range(0, len(images), 100):
        spikes = encode(images[k:k + 100])
        for q in range(spikes.shape[1]):
            net.reset()
            net.run(spikes.shape[0], inputs={"image": spikes[:, q:q + 1]})
    seconds = time.perf_counter() - start
    learned = (kernel if kernel2 is None else kernel2).shape
    return net.weights(conv).reshape(learned), seconds


def features(kernel: np.ndarray, images: np.ndarray, batch: int = 100,
             kernel2: Optional[np.ndarray] = None) -> np.ndarray:
    """Pooled spikes of the last layer, [N, 30*12*12] (or [N, 100*4*4] with
    kernel2), with the kernels frozen, `batch` images at a time."""
    net, _ = build(kernel, learn=False, batch=batch, kernel2=kernel2)
    last = "pooled" if kernel2 is None else "pooled2"
    out = []
    for k in range(0, len(images), batch):
        chunk = images[k:k + batch]
        if len(chunk) != net.batch:
            net.set_batch(len(chunk))
        net.reset()
        spikes = encode(chunk)
        rec = net.run(spikes.shape[0], inputs={"image": spikes}, record=[f"{last}.spikes"])
        out.append(rec[f"{last}.spikes"].sum(axis=0).astype(np.float32))
    return np.concatenate(out)


def ridge_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                   penalty: float = 10.0) -> float:
    """One-vs-all ridge regression in its dual form (N x N), then argmax."""
    mean = x_train.mean(axis=0)
    a, b = (x_train - mean).astype(np.float64), (x_test - mean).astype(np.float64)
    targets = np.eye(10)[y_train] * 2.0 - 1.0
    alpha = np.linalg.solve(a @ a.T + penalty * np.eye(len(a)), targets - targets.mean(axis=0))
    scores = b @ (a.T @ alpha) + targets.mean(axis=0)
    return float((scores.argmax(axis=1) == y_test).mean())


def run(n_train: int, n_test: int, seed: int = 0, a_plus: float = 0.004, a_minus: float = 0.003,
        winners: int = 0, layers: int = 1) -> Dict[str, float]:
    x_train, y_train = snn.datasets.fashion_mnist("train")
    x_test, y_test = snn.datasets.fashion_mnist("test")
    rng = np.random.default_rng(seed)
    initial = np.clip(rng.normal(0.8, 0.05, (MAPS, 2, KERNEL, KERNEL)), 0.0, 1.0).astype(np.float32)
    initial2 = np.clip(rng.normal(0.8, 0.05, (MAPS2, MAPS, KERNEL, KERNEL)), 0.0, 1.0).astype(np.float32)
    learned, seconds = train(initial, x_train[:n_train], a_plus, a_minus, winners)
    result = {"train_ms_per_image": seconds / n_train * 1e3}
    models = [("learned", learned, None), ("untrained", initial, None)]
    if layers == 2:
        learned2, seconds2 = train(learned, x_train[:n_train], a_plus, a_minus, winners, kernel2=initial2)
        result["train2_ms_per_image"] = seconds2 / n_train * 1e3
        models = [("learned2", learned, learned2), ("untrained2", initial, initial2)] + models
    for name, kernel, kernel2 in models:
        t0 = time.perf_counter()
        f_train = features(kernel, x_train[:n_train], kernel2=kernel2)
        f_test = features(kernel, x_test[:n_test], kernel2=kernel2)
        result[f"{name}_feature_ms_per_image"] = (time.perf_counter() - t0) / (n_train + n_test) * 1e3
        result[f"{name}_accuracy"] = ridge_accuracy(f_train, y_train[:n_train], f_test, y_test[:n_test])
        result[f"{name}_spikes_per_image"] = float(f_test.sum(axis=1).mean())
    result["kernel_mean"] = float(learned.mean())
    result["kernel_near_bounds"] = float(((learned < 0.05) | (learned > 0.95)).mean())
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--a-plus", type=float, default=0.004)
    ap.add_argument("--a-minus", type=float, default=0.003)
    ap.add_argument("--winners", type=int, default=0,
                    help="learn from at most this many spikes per image, one per map (the paper: 5); 0: every spike")
    ap.add_argument("--layers", type=int, choices=(1, 2), default=1,
                    help="2: also learn the paper's second layer (100 maps 5 x 5 over the pooled first)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    r = run(args.train, args.test, args.seed, args.a_plus, args.a_minus, args.winners, args.layers)
    if args.layers == 2:
        print(f"two layers: ridge readout of the second layer's pooled spikes {100 * r['learned2_accuracy']:.2f} % "
              f"(untrained: {100 * r['untrained2_accuracy']:.2f} %, {r['learned2_spikes_per_image']:.0f} spikes per "
              f"image); {r['train2_ms_per_image']:.1f} ms per training image for layer 2")
    print(f"conv STDP on Fashion-MNIST, {args.train} training images: ridge readout of the pooled spikes "
          f"{100 * r['learned_accuracy']:.2f} % (untrained kernels: {100 * r['untrained_accuracy']:.2f} %) on "
          f"{args.test} test images; {r['train_ms_per_image']:.1f} ms per training image (STDP); "
          f"{100 * r['kernel_near_bounds']:.0f} % of the kernel near 0 or 1")


if __name__ == "__main__":
    main()
