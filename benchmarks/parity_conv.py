"""Accuracy parity on Fashion-MNIST: the convolutional SNN of train_conv.py
(12C5-MP2-LIF-64C5-MP2-LIF-FC10-LIF, beta 0.9, threshold 1, reset by
subtraction, T = 25 rate-coded steps) trained in libsnn and in snnTorch from
the same initial weights, on the same data order and the same input spikes,
then tested on the 10 000 test images (benchmarks/README.md).

    python benchmarks/parity_conv.py [--train 60000] [--epochs 1] [--threads 2] [--markdown FILE]

First a one-batch check: the first training batch through each library's
forward and backward pass with the initial weights; it prints how far the
spikes of every layer, the output spike counts, the loss and the gradients
agree. Then each library trains in a process of its own (libsnn with this
interpreter through Sequential.fit, snnTorch in benchmarks/.venv with
torch.optim.Adam) and is tested; the table gives the test accuracy of each,
the difference in points, the training time and its ratio.

Same inputs: this driver writes the training images, the data order of each
epoch (np.random.default_rng(seed).permutation per epoch, as Sequential.fit
draws it), the labels and libsnn's initial weights to a folder; each side
draws the Bernoulli spikes of training batch b of epoch e from
np.random.default_rng([seed, 0, e, b]) and of test batch b from
np.random.default_rng([seed, 1, b]) (p = pixel / 255, snn.encode.rate's
operations), and reports a CRC-32 of all its spikes, which must agree.

snnTorch sides: "snntorch" is snntorch.Leaky(reset_mechanism="subtract",
reset_delay=False); "snntorch+explicit" is Leaky(reset_mechanism="none") with
the subtraction written out (train_conv.torch_model says why both).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from typing import Any, Dict, List

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import append_section, emit, machine, parse  # noqa: E402
from train_conv import (BATCH, PARAMS, STEPS, initial_weights, libsnn_grads, libsnn_model, peak_rss,  # noqa: E402
                        peer_env, rate_spikes, torch_model)

LR = 2e-3
EVAL_BATCH = 256  # Sequential.evaluate's default
NAMES = {"libsnn": "libsnn", "snntorch": "snnTorch Leaky",
         "snntorch+explicit": "snnTorch, explicit reset"}


def train_key(seed: int, epoch: int, batch: int) -> List[int]:
    return [seed, 0, epoch, batch]


def test_key(seed: int, batch: int) -> List[int]:
    return [seed, 1, batch]


class Log:
    """Progress lines on stderr every `every` batches."""

    def __init__(self, lib: str, total: int, every: int = 50) -> None:
        self.lib, self.total, self.every, self.count, self.t0 = lib, total, every, 0, time.perf_counter()

    def tick(self) -> None:
        self.count += 1
        if self.count % self.every == 0 or self.count == self.total:
            elapsed = time.perf_counter() - self.t0
            print(f"[{self.lib}] batch {self.count}/{self.total}, {elapsed:.0f} s "
                  f"({elapsed / self.count:.3f} s per batch)", file=sys.stderr, flush=True)


# -- workers -------------------------------------------------------------------

def load(folder: str) -> Dict[str, Any]:
    d = {k: np.load(os.path.join(folder, f"{k}.npy")) for k in ("x_train", "y_train", "x_test", "y_test", "order")}
    d["weights"] = dict(np.load(os.path.join(folder, "weights.npz")))
    with open(os.path.join(folder, "config.json")) as f:
        d.update(json.load(f))
    return d


def check_libsnn(d, threads: int) -> Dict[str, Any]:
    import snn

    model = libsnn_model(d["weights"], threads)
    trainer = snn.Trainer(model.network, optimizer=snn.Adam(lr=d["lr"]), detach_reset=model.detach_reset)
    idx = d["order"][0][:BATCH]
    x = rate_spikes(d["x_train"][idx], np.random.default_rng(train_key(d["seed"], 0, 0)))
    trainer.forward({"input": x})
    loss = trainer.loss("layer2", "ce_count", d["y_train"][idx])
    trainer.backward()
    out = {f"spikes{k}": trainer.output(f"layer{k}").astype(np.uint8) for k in range(3)}
    out.update({f"grad.{k}": v for k, v in libsnn_grads(trainer).items()})
    trainer.step()  # one Adam step; the weights after it, in PyTorch's layout
    for name, k in (("conv1", 0), ("conv2", 3), ("fc", 7)):
        out[f"after.{name}.weight"] = model.layers[k].weight
        out[f"after.{name}.bias"] = model.layers[k].bias
    return {"arrays": out, "loss": loss, "crc": zlib.crc32(x.tobytes()), "version": f"libsnn {snn.__version__}"}


def check_torch(lib: str, d, threads: int) -> Dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    run, params, version = torch_model(lib, d["weights"])
    idx = d["order"][0][:BATCH]
    x = rate_spikes(d["x_train"][idx], np.random.default_rng(train_key(d["seed"], 0, 0)))
    out, (s1, s2) = run(torch.from_numpy(x.astype(np.float32)).reshape(STEPS, len(idx), 1, 28, 28))
    loss = torch.nn.functional.cross_entropy(out.sum(0), torch.from_numpy(d["y_train"][idx].astype(np.int64)))
    loss.backward()
    arrays = {f"spikes{k}": s.detach().reshape(STEPS, len(idx), -1).numpy().astype(np.uint8)
              for k, s in enumerate((s1, s2, out))}
    arrays.update({f"grad.{name}": p.grad.numpy().copy() for name, p in zip(PARAMS, params)})
    torch.optim.Adam(params, lr=d["lr"]).step()
    arrays.update({f"after.{name}": p.detach().numpy().copy() for name, p in zip(PARAMS, params)})
    return {"arrays": arrays, "loss": float(loss.detach()), "crc": zlib.crc32(x.tobytes()), "version": version}


def train_libsnn(d, threads: int) -> Dict[str, Any]:
    import snn

    seed, epochs = d["seed"], d["epochs"]
    n = len(d["y_train"])
    batches = -(-n // BATCH)
    log = Log("libsnn", epochs * batches)
    crc = {"value": 0}

    class Keyed(snn.encode.Encoder):
        """snn.encode.rate with each batch's own generator (the key
        prefix, then the batch number); `fit`'s generator is not used."""

        kind = "spikes"

        def __init__(self, prefix: List[int], tick: bool) -> None:
            super().__init__(STEPS)
            self.prefix, self.batch, self.tick = prefix, 0, tick

        def __call__(self, x, rng=None):
            spikes = snn.encode.rate(STEPS)(x, np.random.default_rng(self.prefix + [self.batch]))
            self.batch += 1
            crc["value"] = zlib.crc32(spikes.tobytes(), crc["value"])
            if self.tick:
                log.tick()
            return spikes

    model = libsnn_model(d["weights"], threads)
    history = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        idx = d["order"][epoch]
        history += model.fit(d["x_train"][idx], d["y_train"][idx], epochs=1, batch_size=BATCH,
                             optimizer=snn.Adam(lr=d["lr"]) if epoch == 0 else None, encoder=Keyed([seed, 0, epoch], True),
                             shuffle=False, progress=False)
    train_s = time.perf_counter() - t0
    crc_train, crc["value"] = crc["value"], 0
    t0 = time.perf_counter()
    test = model.evaluate(d["x_test"], d["y_test"], batch_size=EVAL_BATCH, encoder=Keyed([seed, 1], False))
    test_s = time.perf_counter() - t0
    return {"version": f"libsnn {snn.__version__}", "history": history, "test_loss": test["loss"],
            "test_accuracy": test["accuracy"], "train_s": train_s, "test_s": test_s, "crc_train": crc_train,
            "crc_test": crc["value"]}


def train_torch(lib: str, d, threads: int) -> Dict[str, Any]:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    run, params, version = torch_model(lib, d["weights"])
    opt = torch.optim.Adam(params, lr=d["lr"])
    seed, epochs = d["seed"], d["epochs"]
    x_train, y_train = d["x_train"], d["y_train"].astype(np.int64)
    n = len(y_train)
    log = Log(lib, epochs * -(-n // BATCH))
    crc_train, history = 0, []

    def batch_input(images, key):
        spikes = rate_spikes(images, np.random.default_rng(key))
        return spikes, torch.from_numpy(spikes.astype(np.float32)).reshape(STEPS, len(images), 1, 28, 28)

    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = d["order"][epoch]
        total, correct = 0.0, 0
        for b, start in enumerate(range(0, n, BATCH)):
            idx = order[start:start + BATCH]
            spikes, xt = batch_input(x_train[idx], train_key(seed, epoch, b))
            crc_train = zlib.crc32(spikes.tobytes(), crc_train)
            yt = torch.from_numpy(y_train[idx])
            out, _ = run(xt)
            counts = out.sum(0)
            loss = F.cross_entropy(counts, yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            correct += int((counts.argmax(1) == yt).sum())
            log.tick()
        history.append({"loss": total / n, "accuracy": correct / n})
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    crc_test, total, correct = 0, 0.0, 0
    y_test = d["y_test"].astype(np.int64)
    with torch.no_grad():
        for b, start in enumerate(range(0, len(y_test), EVAL_BATCH)):
            images = d["x_test"][start:start + EVAL_BATCH]
            spikes, xt = batch_input(images, test_key(seed, b))
            crc_test = zlib.crc32(spikes.tobytes(), crc_test)
            yt = torch.from_numpy(y_test[start:start + EVAL_BATCH])
            counts = run(xt)[0].sum(0)
            total += float(F.cross_entropy(counts, yt)) * len(images)
            correct += int((counts.argmax(1) == yt).sum())
    test_s = time.perf_counter() - t0
    return {"version": version, "history": history, "test_loss": total / len(y_test),
            "test_accuracy": correct / len(y_test), "train_s": train_s, "test_s": test_s, "crc_train": crc_train,
            "crc_test": crc_test}


def worker(lib: str, mode: str, folder: str, threads: int) -> None:
    d = load(folder)
    if mode == "check":
        r = check_libsnn(d, threads) if lib == "libsnn" else check_torch(lib, d, threads)
        np.savez(os.path.join(folder, f"check-{lib}.npz"), **r.pop("arrays"))
    else:
        r = train_libsnn(d, threads) if lib == "libsnn" else train_torch(lib, d, threads)
    r.update(lib=lib, threads=threads, peak_rss=peak_rss())
    emit(r)


# -- driver --------------------------------------------------------------------

def run_side(lib: str, mode: str, folder: str, threads: int, peers_python: str) -> Dict[str, Any]:
    python = sys.executable if lib == "libsnn" else peers_python
    if not os.path.exists(python):
        return {"status": "missing", "reason": python}
    # stderr passes through: the progress lines of long runs.
    proc = subprocess.run([python, os.path.abspath(__file__), "--worker", lib, "--mode", mode, "--data", folder,
                           "--threads", str(threads)], stdout=subprocess.PIPE, text=True, env=peer_env(lib))
    result = parse(proc.stdout)
    if result is None:
        return {"status": "error", "reason": f"exit {proc.returncode}"}
    return result


def write_data(folder: str, n_train: int, epochs: int, seed: int, lr: float) -> None:
    import snn

    x, y = snn.datasets.fashion_mnist("train")
    xt, yt = snn.datasets.fashion_mnist("test")
    x, y = x[:n_train], y[:n_train]
    rng = np.random.default_rng(seed)
    order = np.stack([rng.permutation(len(y)) for _ in range(epochs)])
    for name, arr in (("x_train", x), ("y_train", y), ("x_test", xt), ("y_test", yt), ("order", order)):
        np.save(os.path.join(folder, f"{name}.npy"), arr)
    np.savez(os.path.join(folder, "weights.npz"), **initial_weights(seed))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"seed": seed, "epochs": epochs, "lr": lr}, f)


def compare(folder: str, ref: Dict[str, Any], peer: Dict[str, Any], lib: str, lr: float) -> List[str]:
    """The one-batch agreement of a peer with libsnn, as Markdown rows."""
    a = np.load(os.path.join(folder, "check-libsnn.npz"))
    b = np.load(os.path.join(folder, f"check-{lib}.npz"))
    rows = []
    for k, name in enumerate(("hidden 1 (12x12x12)", "hidden 2 (64x4x4)", "output (10)")):
        sa, sb = a[f"spikes{k}"].astype(np.int32), b[f"spikes{k}"].astype(np.int32)
        differ = (sa != sb).any(axis=(1, 2))
        first = int(np.argmax(differ)) if differ.any() else None
        rows.append(f"| {NAMES[lib]} | spikes of {name} | {sa.sum()} vs {sb.sum()} | "
                    f"{int((sa != sb).sum())} of {sa.size} (step, image, neuron) entries differ; first difference "
                    f"in step {first if first is not None else '-'} |")
    ca, cb = a["spikes2"].sum(0).astype(np.int32), b["spikes2"].sum(0).astype(np.int32)
    same = (ca == cb).all(axis=1)
    rows.append(f"| {NAMES[lib]} | output spike counts per image | mean {ca.mean():.3f} vs {cb.mean():.3f} | "
                f"{same.mean() * 100:.1f} % of images identical; max abs difference {np.abs(ca - cb).max()}, mean "
                f"{np.abs(ca - cb).mean():.3f}; predicted class equal for {(ca.argmax(1) == cb.argmax(1)).mean() * 100:.1f} % |")
    rows.append(f"| {NAMES[lib]} | loss | {ref['loss']:.6f} vs {peer['loss']:.6f} | difference "
                f"{abs(ref['loss'] - peer['loss']):.2e} |")
    errs = []
    for name in PARAMS:
        ga, gb = a[f"grad.{name}"], b[f"grad.{name}"]
        errs.append(f"{name} {np.linalg.norm(ga - gb) / max(np.linalg.norm(gb), 1e-30):.2e}")
    rows.append(f"| {NAMES[lib]} | gradients: norm(difference) / norm | | {', '.join(errs)} |")
    # One Adam step from the same weights: libsnn's change of each weight over
    # the peer's (the median over the weights the peer moved by more than lr / 2).
    init = dict(np.load(os.path.join(folder, "weights.npz")))
    ratios = []
    for name in PARAMS:
        da, db = a[f"after.{name}"] - init[name], b[f"after.{name}"] - init[name]
        moved = np.abs(db) > lr / 2
        ratios.append(f"{name} {np.median(da[moved] / db[moved]):.4f}" if moved.any() else f"{name} -")
    rows.append(f"| {NAMES[lib]} | one Adam step (lr {lr:g}): libsnn's weight change / peer's, median | | "
                f"{', '.join(ratios)} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=60000, help="training images (the first N of the 60 000)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=LR, help="Adam's learning rate (default 2e-3)")
    ap.add_argument("--peers", default=None, help="default: snntorch (and snntorch+explicit with --neuron lif)")
    ap.add_argument("--neuron", choices=["leaky", "lif"], default="leaky",
                    help="leaky: snnTorch's Leaky with its defaults (libsnn's Leaky; the default); lif: the reset "
                         "in the step of the spike (libsnn's LIF)")
    ap.add_argument("--check-only", action="store_true", help="only the one-batch check")
    ap.add_argument("--peers-python", default=os.path.join(HERE, ".venv", "bin", "python"))
    ap.add_argument("--markdown", default=None, help="append the section to this file")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="train", help=argparse.SUPPRESS)
    ap.add_argument("--data", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.mode, args.data, args.threads)
        return
    os.environ["SNN_CONV_NEURON"] = args.neuron  # for the workers (train_conv.NEURON)
    peers = args.peers if args.peers is not None else ("snntorch" if args.neuron == "leaky" else "snntorch,snntorch+explicit")
    libs = ["libsnn"] + [p for p in peers.split(",") if p]
    m = machine()
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    command = " ".join(["python", "benchmarks/parity_conv.py"] + [a for a in sys.argv[1:]])
    lines: List[str] = [
        "## Accuracy parity: convolutional SNN on Fashion-MNIST, libsnn and snnTorch", "",
        "Written by `python benchmarks/parity_conv.py`; benchmarks/README.md defines it.", "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; libsnn commit {commit or 'unknown'}",
        f"- CPU: {m.get('cpu', '?')}, {m.get('usable_cpus')} usable CPUs, {m.get('memory_gib', '?')} GiB; "
        f"load average at the start {os.getloadavg()[0]:.2f}",
        "- network: 1x28x28 - Conv2d(1, 12, 5) - MaxPool2d(2) - neurons - Conv2d(12, 64, 5) - MaxPool2d(2) - "
        "neurons - Flatten - Linear(1024, 10) - neurons; "
        + ("neurons: snnTorch's Leaky with its defaults (beta 0.9, threshold 1; the reset of a spike subtracted in the "
           "next step), libsnn's Leaky; " if args.neuron == "leaky" else
           "LIF v <- 0.9 v + W x, spike if v > 1, v -= 1 in the step of the spike; ") +
        f"fast-sigmoid surrogate (slope 25); T = {STEPS} rate-coded steps; batch {BATCH}; Adam (lr {args.lr:g}); "
        f"loss: cross-entropy of the output spike counts; {args.threads} thread(s)", ""]
    with tempfile.TemporaryDirectory() as folder:
        write_data(folder, args.train, args.epochs, args.seed, args.lr)
        checks = {lib: run_side(lib, "check", folder, args.threads, args.peers_python) for lib in libs}
        lines += ["### One batch: the first training batch, initial weights, forward and backward", "",
                  "| peer | what | libsnn vs peer | agreement |", "|---|---|---|---|"]
        for lib in libs[1:]:
            if "loss" not in checks[lib] or "loss" not in checks["libsnn"]:
                lines.append(f"| {NAMES.get(lib, lib)} | {checks[lib].get('status')} | | {checks[lib].get('reason', '')} |")
                continue
            if checks[lib]["crc"] != checks["libsnn"]["crc"]:
                lines.append(f"| {NAMES.get(lib, lib)} | input spikes | | DIFFERENT (CRC-32 mismatch) |")
            lines += compare(folder, checks["libsnn"], checks[lib], lib, args.lr)
        print("\n".join(lines), file=sys.stderr, flush=True)
        results = {}
        if not args.check_only:
            for lib in libs:
                results[lib] = run_side(lib, "train", folder, args.threads, args.peers_python)
                print(f"{lib}: {results[lib]}", file=sys.stderr, flush=True)
    if results:
        ref = results.get("libsnn", {})
        crcs = {(r.get("crc_train"), r.get("crc_test")) for r in results.values() if "crc_train" in r}
        lines += ["", f"### Training on {args.train} images, {args.epochs} epoch(s); test on 10 000 images", "",
                  "| library | train images | epochs | training loss / accuracy (last epoch) | test accuracy | "
                  "test loss | libsnn - peer (points) | training time | peer / libsnn time | test pass | peak RSS |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for lib, r in results.items():
            if "test_accuracy" not in r:
                lines.append(f"| {NAMES.get(lib, lib)} | {r.get('status')}: {r.get('reason', '')} | | | | | | | | | |")
                continue
            last = r["history"][-1]
            diff = ratio = ""
            if lib != "libsnn" and "test_accuracy" in ref:
                diff = f"{(ref['test_accuracy'] - r['test_accuracy']) * 100:+.2f}"
                ratio = f"{r['train_s'] / ref['train_s']:.2f}"
            lines.append(f"| {r['version']} | {args.train} | {args.epochs} | {last['loss']:.4f} / "
                         f"{last['accuracy'] * 100:.2f} % | {r['test_accuracy'] * 100:.2f} % | {r['test_loss']:.4f} | "
                         f"{diff} | {r['train_s']:.0f} s | {ratio} | {r['test_s']:.0f} s | {r['peak_rss'] / 2**20:.0f} MiB |")
        lines += ["", f"Input spikes identical on every side: {'yes' if len(crcs) == 1 else 'NO'} (CRC-32 of all "
                  "training and test spikes). Training time: the epoch loop (spike drawing, forward, loss, backward, "
                  "Adam step, training accuracy); test pass: the 10 000 test images in batches of "
                  f"{EVAL_BATCH}. Ratios > 1: libsnn is faster."]
    append_section("\n".join(lines), args.markdown)


if __name__ == "__main__":
    main()
