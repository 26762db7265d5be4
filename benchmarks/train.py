"""Training speed: a 784-1024-10 LIF network (T = 25, batch 128) trained with
surrogate gradients in libsnn and in snnTorch, Norse and SpikingJelly, side by
side in one run, on 1 and 2 threads (benchmarks/README.md).

    python benchmarks/train.py [--reps 5] [--threads 1,2] [--markdown FILE]

Each library runs in a process of its own (peer_train.py; the peers in
benchmarks/.venv), on the same inputs, labels and weights: Bernoulli spikes
with p = 0.05, and separately direct currents (uniform [0, 1) values, the same
every step). Prints the median time per batch of the forward pass and of
forward + backward, their ratios to the fastest peer, and each process's
peak RSS.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import machine, run_worker  # noqa: E402

PEERS = ("snntorch", "norse", "spikingjelly")
STEPS, BATCH, N_IN, N_HID, N_OUT = 25, 128, 784, 1024, 10


def write_data(folder: str, kind: str, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    if kind == "spikes":
        x = (rng.random((STEPS, BATCH, N_IN), dtype=np.float32) < 0.05).astype(np.float32)
        active = 0.05 * N_IN
    else:
        x = np.broadcast_to(rng.random((1, BATCH, N_IN), dtype=np.float32), (STEPS, BATCH, N_IN)).copy()
        active = 0.5 * N_IN
    w1 = (rng.standard_normal((N_IN, N_HID), dtype=np.float32) * np.float32(1.0 / np.sqrt(active))).astype(np.float32)
    w2 = (rng.standard_normal((N_HID, N_OUT), dtype=np.float32) * np.float32(2.0 / np.sqrt(N_HID * 0.05))).astype(np.float32)
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "y.npy"), rng.integers(0, N_OUT, BATCH).astype(np.int32))
    np.save(os.path.join(folder, "w1.npy"), w1)
    np.save(os.path.join(folder, "w2.npy"), w2)


def run_side(lib: str, folder: str, threads: int, reps: int, peers_python: str) -> Dict[str, Any]:
    python = sys.executable if lib == "libsnn" else peers_python
    if not os.path.exists(python):
        return {"status": "missing"}
    env = dict(os.environ)
    if lib != "libsnn":
        env.pop("PYTHONPATH", None)
    else:
        env["OPENBLAS_NUM_THREADS"] = "1"  # NumPy's BLAS threads would only spin beside libsnn's
    return run_worker([python, os.path.join(HERE, "peer_train.py"), "--lib", lib, "--data", folder, "--threads",
                       str(threads), "--reps", str(reps)], env)


def ms(s: float) -> str:
    return f"{s * 1e3:.1f} ms"


def mib(b: float) -> str:
    return f"{b / 2**20:.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--inputs", default="spikes,current")
    ap.add_argument("--peers-python", default=os.path.join(HERE, ".venv", "bin", "python"))
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args()
    m = machine()
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines: List[str] = [
        "# Training benchmark results", "",
        "Written by `python benchmarks/train.py`; benchmarks/README.md defines it.", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; libsnn commit {commit or 'unknown'}",
        f"- CPU: {m.get('cpu', '?')}, {m.get('usable_cpus')} usable CPUs, {m.get('memory_gib', '?')} GiB; SIMD: {m.get('simd', '')}",
        f"- protocol: one warm-up batch, then the median of {args.reps} batches per measure", "",
        f"### Training: 784-{N_HID}-{N_OUT} LIF, T = {STEPS}, batch {BATCH}, time per batch", "",
        "| input | threads | library | forward | forward + backward | fastest peer / libsnn (fwd, fwd+bwd) | "
        "peak RSS (growth over the timed batches) | hidden spikes per neuron-step |",
        "|---|---|---|---|---|---|---|---|"]
    for kind in args.inputs.split(","):
        with tempfile.TemporaryDirectory() as folder:
            write_data(folder, kind)
            for threads in [int(t) for t in args.threads.split(",")]:
                results = {lib: run_side(lib, folder, threads, args.reps, args.peers_python) for lib in ("libsnn",) + PEERS}
                for lib, r in results.items():
                    print(f"[{kind}, {threads} thread(s)] {lib}: {r}", file=sys.stderr)
                done = [r for lib, r in results.items() if lib != "libsnn" and "forward_s" in r]
                best_f = min((r["forward_s"] for r in done), default=None)
                best_fb = min((r["forward_backward_s"] for r in done), default=None)
                for lib, r in results.items():
                    if "forward_s" not in r:
                        lines.append(f"| {kind} | {threads} | {lib} | {r.get('status')}: {r.get('reason', '')} | | | | |")
                        continue
                    ratio = ""
                    if lib == "libsnn" and best_f:
                        ratio = f"{best_f / r['forward_s']:.2f} / {best_fb / r['forward_backward_s']:.2f}"
                    lines.append(f"| {kind} | {threads} | {r['version']} | {ms(r['forward_s'])} | {ms(r['forward_backward_s'])} | "
                                 f"{ratio} | {mib(r['peak_rss'])} ({mib(r['rss_growth'])}) | {r['hidden_rate'] * 100:.2f} % |")
    lines += ["", "Forward: the training-mode forward pass (libsnn records its tape; the peers build their autograd "
              "graph). Forward + backward: forward, cross-entropy of the output spike counts, backward to both weight "
              "matrices (no optimizer step). Each library in its own process; medians of the timed batches after one "
              "warm-up batch. Ratios > 1: libsnn is faster. The peers apply the first Linear to all steps at once (their "
              "fastest form). Equal hidden spike rates show that every library did the same work."]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
