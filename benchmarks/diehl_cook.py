"""Diehl & Cook 2015 (unsupervised STDP, lateral inhibition, adaptive
thresholds) on Fashion-MNIST in libsnn (examples/python/diehl_cook.py) and in
BindsNET (peer_bindsnet_dc.py, BindsNET's own DiehlAndCook2015 model), trained
on the same images in the same order, side by side: test accuracy and time per
training image.

    python benchmarks/diehl_cook.py --neurons 100 --train 1000 --test 1000
    python benchmarks/diehl_cook.py --neurons 100,400 --markdown benchmarks/RESULTS-plasticity.md

Both use BindsNET's settings (current-based neurons, 250 ms per image at
dt 1 ms, Poisson rates pixel/255 * 128 Hz, exc 22.5 mV, inh 120 mV, theta_plus
0.05 mV, norm 78.4, nu 1e-4 / 1e-2, nearest-spike traces of 20 ms), one image
at a time, the state reset between images except the thresholds. Labels, two
ways for both: from the spikes while learning (BindsNET's example: its
250-image blocks, their class rates accumulated; libsnn: every training
image), and from a frozen pass over
the last --label training images. Test: the first --test test images,
learning off, all-activity voting.

Timed: the training loop divided by the images (libsnn: spike drawing with
NumPy, one snn_network_run per image, reset; BindsNET: encoding, network.run,
monitors, labels, reset), wall clock, one thread each.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "python"))
from _common import append_section, machine, run_worker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def libsnn_side(neurons: int, n_train: int, n_test: int, n_label: int, seed: int, losers: str = "reset",
                pick: str = "random") -> dict:
    import diehl_cook
    import snn

    r = diehl_cook.run(neurons, n_train, n_test, n_label, seed=seed, progress=False, losers=losers, pick=pick)
    r.update(status="ok", library=f"libsnn {snn.__version__}",
             peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    return r


def bindsnet_side(python: str, neurons: int, n_train: int, n_test: int, n_label: int, seed: int) -> dict:
    argv = [python, os.path.join(HERE, "peer_bindsnet_dc.py"), "--n-neurons", str(neurons), "--train", str(n_train),
            "--test", str(n_test), "--label", str(n_label), "--seed", str(seed), "--threads", "1"]
    r = run_worker(argv, dict(os.environ), timeout=6 * 3600)
    if r.get("status") == "ok":
        r["library"] = f"BindsNET {r.get('version', '?')}"
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurons", default="100", help="comma-separated sizes of the excitatory layer")
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--label", type=int, default=1000, help="libsnn: training images of the frozen labelling pass")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peer-python", default=os.path.join(HERE, ".venv-bindsnet", "bin", "python"))
    ap.add_argument("--no-peer", action="store_true", help="run libsnn only")
    ap.add_argument("--losers", choices=("keep", "reset"), default="reset",
                    help="libsnn: wta_losers of the excitatory layer (reset: as BindsNET's one_spike)")
    ap.add_argument("--pick", choices=("margin", "random"), default="random",
                    help="libsnn: wta_pick of the excitatory layer (random: as BindsNET's one_spike)")
    ap.add_argument("--markdown")
    args = ap.parse_args()

    command = "python benchmarks/diehl_cook.py " + " ".join(sys.argv[1:])
    info = machine()
    lines = ["### Diehl & Cook 2015 on Fashion-MNIST: libsnn and BindsNET", "",
             f"- command: `{command}`",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {info.get('cpu', '?')}, "
             f"{info.get('usable_cpus')} CPUs; load average at the start {os.getloadavg()[0]:.2f}",
             f"- {args.train} training images (one pass, file order), {args.test} test images; "
             f"libsnn wta_losers={args.losers}, wta_pick={args.pick}", "",
             "| library | excitatory neurons | test accuracy, labels while learning | test accuracy, frozen labelling pass "
             "| time per training image | BindsNET / libsnn time | peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for n in [int(x) for x in args.neurons.split(",")]:
        print(f"# {n} neurons: libsnn ...", file=sys.stderr)
        ours = libsnn_side(n, args.train, args.test, args.label, args.seed, args.losers, args.pick)
        rows = [ours]
        if not args.no_peer:
            print(f"# {n} neurons: BindsNET ...", file=sys.stderr)
            rows.append(bindsnet_side(args.peer_python, n, args.train, args.test, args.label, args.seed))
        for r in rows:
            if r.get("status") != "ok":
                lines.append(f"| {r.get('library', 'BindsNET')} | {n} | failed: {r.get('reason', '?')} | | | | |")
                continue
            if r is ours:
                during, frozen = r["accuracy_labels_while_learning"], r["accuracy"]
                ms = r["train_ms_per_image"]
                ratio = ""
            else:
                during, frozen = r["accuracy_all_activity"], r.get("accuracy_frozen_labels")
                ms = r["train_s_per_image"] * 1e3
                ratio = f"{ms / ours['train_ms_per_image']:.1f}x"
            lines.append(f"| {r['library']} | {n} | {100 * during:.1f} % | "
                         f"{'-' if frozen is None else f'{100 * frozen:.1f} %'} | {ms:.1f} ms | {ratio} | "
                         f"{r.get('peak_rss_mib', 0):.0f} MiB |")
    append_section("\n".join(lines), args.markdown)


if __name__ == "__main__":
    main()
