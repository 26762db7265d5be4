"""Song, Miller & Abbott 2000 (Brian2's STDP example) in libsnn and in Brian2,
side by side: N Poisson inputs at 15 Hz onto conductance-based LIF neurons
through additive, all-to-all pair STDP with hard bounds. Prints the final
weight distributions (they should be bimodal, at 0 and gmax), the output
rates and the simulation times.

    python benchmarks/stdp_song.py                       # 1000 -> 1, 100 s
    python benchmarks/stdp_song.py --scaled 10           # also 10 000 -> 100 for 10 s
    python benchmarks/stdp_song.py --markdown benchmarks/RESULTS-plasticity.md

The network, as benchmarks/peer_brian2_stdp.py states it for Brian2: taum 10 ms,
taue 5 ms, Ee 0 mV, El -74 mV, vt -54 mV, vr -60 mV, v starting at 0 mV,
w uniform in [0, gmax], a_plus = 0.01 gmax, a_minus = 1.05 a_plus, tau 20 ms
for both traces, dt 0.1 ms. In libsnn: a "poisson" population, a "lif"
population (v_rest = El, v_reset = vr, v_th = vt) and a "cond_exp" connection
(tau 5 ms, e_rev 0, weights relative to the leak as Brian2's ge) with
plasticity "stdp" (w_max = gmax). Differences: Brian2 integrates v with
forward Euler (the example's method), libsnn with exponential Euler
(docs/models.md); the Poisson spikes come from different generators. So the
two runs agree in their statistics, not spike for spike.

The scaled case (100 neurons, 10 000 inputs each) divides gmax by the fan-in
ratio (gmax = 0.01 * 1000 / N) so that each neuron receives the input of the
original; with the example's gmax the neurons fire at every other step and
every weight runs to gmax.

Timed: the simulation loop (libsnn: the one snn_network_run call through the
Python package; Brian2: device._last_run_time of its C++ standalone binary),
both on one thread.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import append_section, machine, run_worker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GMAX = 0.01
HIST_BINS = 20
RATE_WINDOW_S = 10.0


def libsnn_run(n_inputs: int, n_post: int, duration: float, seed: int, gmax: float, backend: str,
               threads: int) -> dict:
    import snn

    dt = 1e-4
    steps = int(round(duration / dt))
    net = snn.Network(dt=dt, seed=seed, backend=backend, threads=threads)
    inputs = net.population("inputs", n_inputs, model="poisson", rate=15.0)
    post = net.population("post", n_post, model="lif", tau_mem=10e-3, v_rest=-74e-3, v_reset=-60e-3, v_th=-54e-3)
    net.set_state(post, "v", 0.0)  # as the example, which leaves v at 0 mV
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(0.0, gmax, (n_inputs, n_post)).astype(np.float32)
    conn = net.connect(inputs, post, w0, synapse="cond_exp", tau=5e-3, e_rev=0.0, plasticity="stdp",
                       a_plus=0.01 * gmax, a_minus=0.0105 * gmax, tau_plus=20e-3, tau_minus=20e-3,
                       w_min=0.0, w_max=gmax)
    spikes = np.zeros((steps, 1, n_post), dtype=np.bool_)
    net.bind_output(post, "spikes", spikes)
    t0 = time.perf_counter()
    net.run(steps)
    elapsed = time.perf_counter() - t0
    net.unbind_output(post, "spikes")
    w = net.weights(conn)
    t_idx, _, j_idx = np.nonzero(spikes)
    result = {"library": f"libsnn {snn.__version__} ({net.backend})", "status": "ok", "median_s": elapsed,
              "loadavg_before": None}
    result.update(weight_stats(w, gmax))
    result.update(rate_stats(t_idx * dt, j_idx, n_post, duration))
    return result


def weight_stats(W: np.ndarray, gmax: float) -> dict:
    x = W.ravel().astype(np.float64) / gmax
    hist, _ = np.histogram(x, bins=HIST_BINS, range=(0.0, 1.0))
    return {"w_mean_over_gmax": float(x.mean()), "frac_below_0.1": float((x < 0.1).mean()),
            "frac_above_0.9": float((x > 0.9).mean()), "hist_counts": [int(c) for c in hist]}


def rate_stats(t_s: np.ndarray, idx: np.ndarray, n_post: int, duration: float) -> dict:
    window = min(RATE_WINDOW_S, duration)
    counts = np.bincount(idx, minlength=n_post)
    late = np.bincount(idx[t_s >= duration - window - 1e-9], minlength=n_post)
    return {"output_spikes": int(counts.sum()), "rate_hz": float(counts.mean() / duration),
            "rate_last_window_hz": float(late.mean() / window), "rate_window_s": window}


def brian2_run(python: str, n_inputs: int, n_post: int, duration: float, seed: int, gmax: float) -> dict:
    argv = [python, os.path.join(HERE, "peer_brian2_stdp.py"), "--n-inputs", str(n_inputs), "--n-post", str(n_post),
            "--duration", str(duration), "--seed", str(seed), "--gmax", repr(gmax)]
    r = run_worker(argv, dict(os.environ), timeout=7200)
    if r.get("status") == "ok":
        r["library"] = f"Brian2 {r.get('version', '?')} (C++ standalone)"
    return r


def sparkline(counts) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(counts) or 1
    return "".join(bars[min(8, int(round(8 * c / top)))] for c in counts)


def table(title: str, rows, duration: float, command: str) -> str:
    lines = [f"### {title}", "", f"- command: `{command}`",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at the start "
             f"{os.getloadavg()[0]:.2f}", ""]
    lines.append("| library | simulation time | per simulated s | Brian2 / libsnn time | mean w / gmax "
                 "| w < 0.1 gmax | w > 0.9 gmax | w histogram (0 ... gmax) | output rate (all / last 10 s) |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    peer = next((r for r in rows if r.get("library", "").startswith("Brian2") and r.get("status") == "ok"), None)
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r.get('library', '?')} | failed: {r.get('reason', '?')} | | | | | | | |")
            continue
        ratio = "" if r is peer or peer is None else f"{peer['median_s'] / r['median_s']:.1f}x"
        lines.append(f"| {r['library']} | {r['median_s']:.2f} s | {r['median_s'] / duration * 1e3:.1f} ms | {ratio} "
                     f"| {r['w_mean_over_gmax']:.3f} | {100 * r['frac_below_0.1']:.1f} % | "
                     f"{100 * r['frac_above_0.9']:.1f} % | `{sparkline(r['hist_counts'])}` | "
                     f"{r['rate_hz']:.1f} / {r['rate_last_window_hz']:.1f} Hz |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=100.0, help="simulated seconds of the 1000 -> 1 case")
    ap.add_argument("--scaled", type=float, default=0.0,
                    help="also run 10 000 inputs -> 100 neurons for this many simulated seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--peers-python", default=os.path.join(HERE, ".venv", "bin", "python"))
    ap.add_argument("--no-peer", action="store_true", help="libsnn only")
    ap.add_argument("--markdown", help="append the tables to this file")
    args = ap.parse_args()

    command = "python benchmarks/stdp_song.py " + " ".join(sys.argv[1:])
    info = machine()
    print(f"# machine: {info.get('cpu', '?')}, {info.get('usable_cpus')} CPUs", file=sys.stderr)
    cases = [(1000, 1, args.duration, GMAX, "Song et al. 2000: 1000 inputs -> 1 neuron")]
    if args.scaled > 0:
        cases.append((10000, 100, args.scaled, GMAX * 1000 / 10000,
                      "Scaled: 10 000 inputs -> 100 neurons (gmax = 0.001)"))
    text = []
    for n_in, n_post, duration, gmax, title in cases:
        rows = []
        print(f"# {title}: libsnn ...", file=sys.stderr)
        rows.append(libsnn_run(n_in, n_post, duration, args.seed, gmax, args.backend, 1))
        if not args.no_peer:
            print(f"# {title}: Brian2 ...", file=sys.stderr)
            rows.append(brian2_run(args.peers_python, n_in, n_post, duration, args.seed, gmax))
        text.append(table(f"{title}, {duration:g} s simulated, dt 0.1 ms, 1 thread", rows, duration, command))
    append_section("\n\n".join(text), args.markdown)


if __name__ == "__main__":
    main()
