"""Train a spiking network on Fashion-MNIST, save it as .snn and as NIR, load
both back and check that they classify as the trained model does.

    python examples/python/train_fashion_mnist.py [--model fc|conv] [--pool max|avg]
                                                  [--train N] [--test N] [--epochs E] [--out DIR]

Needs Debian's dataset-fashion-mnist (or $SNN_FASHION_MNIST: a folder of the
IDX files) and, for the NIR part, the nir package. Models: "fc", 784-256-10
LIF layers; "conv", the convolutional network of snnTorch's tutorial (two
5x5 convolutions with 2x2 pooling, 12 and 64 maps, then a 1024-10 layer).
LIF layers reset to zero (NIR's LIF does), rate-coded input over 25 steps,
cross-entropy of the output spike counts, Adam; docs/training.md explains
each piece. NIR has no max pooling: a conv model exports to NIR with
--pool avg.
"""

import argparse
import os
import tempfile
import time

import numpy as np

import snn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=60000, help="training images (default: all)")
    ap.add_argument("--test", type=int, default=10000, help="test images (default: all)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--model", choices=["fc", "conv"], default="fc")
    ap.add_argument("--pool", choices=["max", "avg"], default="max", help="the conv model's pooling")
    ap.add_argument("--out", default=None, help="where to write fmnist.snn and fmnist.nir (default: a temporary folder)")
    args = ap.parse_args()

    x, y = snn.datasets.fashion_mnist("train")
    xt, yt = snn.datasets.fashion_mnist("test")
    x, y, xt, yt = x[:args.train], y[:args.train], xt[:args.test], yt[:args.test]
    encoder = snn.encode.rate(steps=25)
    # reset="zero": NIR's LIF resets to v_reset (snnTorch's default, "subtract", has no NIR form).
    if args.model == "fc":
        model = snn.Sequential(snn.Linear(784, 256, seed=1), snn.LIF(beta=0.9, reset="zero"),
                               snn.Linear(256, 10, seed=2), snn.LIF(beta=0.9, reset="zero"), dt=1e-4)
    else:
        pool = snn.MaxPool2d if args.pool == "max" else snn.AvgPool2d
        model = snn.Sequential(snn.Conv2d(1, 12, 5, seed=1), pool(2), snn.LIF(beta=0.9, reset="zero"),
                               snn.Conv2d(12, 64, 5, seed=2), pool(2), snn.LIF(beta=0.9, reset="zero"),
                               snn.Flatten(), snn.Linear(64 * 4 * 4, 10, seed=3), snn.LIF(beta=0.9, reset="zero"),
                               dt=1e-4, input_shape=(1, 28, 28))
    print(model)
    output = model.output_population
    start = time.perf_counter()
    history = model.fit(x, y, epochs=args.epochs, batch_size=128, optimizer=snn.Adam(lr=2e-3), encoder=encoder)
    seconds = time.perf_counter() - start
    for epoch, h in enumerate(history, 1):
        print(f"epoch {epoch}: loss {h['loss']:.4f}, training accuracy {h['accuracy']:.3f}")
    print(f"training: {seconds:.1f} s for {args.epochs * len(x)} images")
    result = model.evaluate(xt, yt, encoder=encoder)
    print(f"test: loss {result['loss']:.4f}, accuracy {result['accuracy']:.3f}")

    out = args.out or tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "fmnist.snn")
    model.save(path)
    # Run the saved file as any program would: the same inputs give the same spikes.
    seq = encoder(xt[:256], np.random.default_rng(7))
    want = model.forward(seq)
    net = snn.load(path, batch=len(seq[0]))
    rec = net.run(seq.shape[0], inputs={"input": seq}, record=[f"{output}.spikes"])
    same = np.array_equal(rec[f"{output}.spikes"].astype(np.float32), want)
    accuracy = float((rec[f"{output}.spikes"].sum(axis=0).argmax(axis=1) == yt[:256]).mean())
    print(f"{path}: the same spikes as the model: {same}; accuracy on 256 test images {accuracy:.3f}")
    if not same:
        raise SystemExit("the saved network differs from the model")

    try:
        import nir
    except ImportError:
        print("nir is not installed: skipping the NIR export")
        return
    nir_path = os.path.join(out, "fmnist.nir")
    try:
        graph = model.to_nir()
    except snn.UnsupportedError as e:
        print(f"no NIR export: {e}")
        return
    nir.write(nir_path, graph)
    back = snn.nir.load(nir_path, dt=model.dt, batch=len(seq[0]))
    rec = back.run(seq.shape[0], inputs={"input": seq}, record=[f"{output}.spikes"])
    agree = float((rec[f"{output}.spikes"].astype(np.float32) == want).mean())
    accuracy = float((rec[f"{output}.spikes"].sum(axis=0).argmax(axis=1) == yt[:256]).mean())
    print(f"{nir_path}: {agree * 100:.2f} % of output spikes as the model; accuracy on 256 test images {accuracy:.3f}")
    if agree < 0.99:
        raise SystemExit("the NIR round trip changed the network")


if __name__ == "__main__":
    main()
