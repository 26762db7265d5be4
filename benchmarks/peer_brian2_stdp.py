"""Brian2 side of the STDP benchmark: the network of Brian2's
examples/synapses/STDP.py (Song, Miller & Abbott 2000), as the 2.9.0
documentation gives it. Runs in benchmarks/.venv (setup_peers.sh) and prints
one tagged JSON line (_common.emit).

    python peer_brian2_stdp.py                                  # 1000 -> 1, 100 s
    python peer_brian2_stdp.py --n-inputs 10000 --n-post 100 --duration 2

The network: N Poisson inputs at F = 15 Hz, all-to-all onto n_post
conductance-based LIF neurons

    dv/dt  = (ge*(Ee - v) + El - v) / taum      (forward Euler, dt = 0.1 ms)
    dge/dt = -ge / taue
    threshold v > vt, reset v = vr, no refractory period; v starts at 0 mV
    (the example leaves it unset), so every post neuron fires on the first step.

with taum 10 ms, taue 5 ms, Ee 0 mV, El -74 mV, vt -54 mV, vr -60 mV. Each
synapse has a weight w in [0, gmax], gmax = 0.01, initialised to rand()*gmax,
and pair-based additive STDP with traces that decay between events
(taupre = taupost = 20 ms, dApre = 0.01*gmax, dApost = -1.05*dApre*taupre/taupost):

    on_pre:  ge += w;  Apre += dApre;   w = clip(w + Apost, 0, gmax)
    on_post: Apost += dApost;           w = clip(w + Apre,  0, gmax)

The example's StateMonitor on two weights and SpikeMonitor on the inputs are
left out (they only feed its plots); a SpikeMonitor on the post neurons stays,
for their rates.

Timed: the simulation loop alone. With --device cpp_standalone (default) that
is the interval Brian2's generated Network::run measures itself
(device._last_run_time: omp_get_wtime around the loop, wall clock, as
peer_brian2.py); defining the network, code generation + compilation, and the
binary's start-up (synapse creation, initial values) and writing results are
reported separately (define_s, compile_s, binary_wall_s). With --device runtime
it is Brian2's own time.time() interval around Network.run's loop; code
generation and Cython compilation are done by an untimed run of 0 ms first
(setup_s), and each repetition starts from a restored initial state.

Reported besides: the final weights' statistics (of w/gmax: mean, fraction
< 0.1, fraction > 0.9, fraction exactly at 0 and at 1, a 20-bin histogram over
[0, 1]), the post neurons' mean rate over the whole run and over its last 10 s,
the number of output spikes, and the load average before and after the runs.
With --reps > 1 every repetition starts from the same seeded initial state;
the statistics are those of the last one.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit  # noqa: E402

GMAX = 0.01  # the example's; --gmax scales it (e.g. by 1000 / n_inputs for larger fan-in)
RATE_WINDOW_S = 10.0
HIST_BINS = 20


def build(n_inputs: int, n_post: int, duration: float, seed: int, gmax: float = GMAX):
    """Defines the network and its run; returns (net, synapses, post spike monitor)."""
    import brian2 as b2
    from brian2 import Hz, mV, ms, second

    b2.seed(seed)
    b2.defaultclock.dt = 0.1 * ms
    taupre = taupost = 20 * ms
    dApre = 0.01 * gmax
    ns = dict(taum=10 * ms, taue=5 * ms, Ee=0 * mV, El=-74 * mV, vt=-54 * mV, vr=-60 * mV,
              gmax=gmax, taupre=taupre, taupost=taupost, dApre=dApre,
              dApost=-dApre * (taupre / taupost) * 1.05)
    inputs = b2.PoissonGroup(n_inputs, rates=15 * Hz, name="inputs")
    post = b2.NeuronGroup(
        n_post,
        """
        dv/dt = (ge*(Ee - v) + El - v) / taum : volt
        dge/dt = -ge / taue : 1
        """,
        threshold="v > vt", reset="v = vr", method="euler", namespace=ns, name="post")
    syn = b2.Synapses(
        inputs, post,
        """
        w : 1
        dApre/dt = -Apre / taupre : 1 (event-driven)
        dApost/dt = -Apost / taupost : 1 (event-driven)
        """,
        on_pre="""
        ge += w
        Apre += dApre
        w = clip(w + Apost, 0, gmax)
        """,
        on_post="""
        Apost += dApost
        w = clip(w + Apre, 0, gmax)
        """,
        namespace=ns, name="stdp")
    syn.connect()  # every input to every post neuron
    syn.w = "rand() * gmax"
    spikes = b2.SpikeMonitor(post, name="post_spikes")
    net = b2.Network(inputs, post, syn, spikes)
    return net, syn, spikes


def weight_stats(i, j, w, n_inputs: int, n_post: int, gmax: float = GMAX):
    import numpy as np

    W = np.zeros((n_inputs, n_post))
    W[np.asarray(i), np.asarray(j)] = np.asarray(w)
    x = W.ravel() / gmax
    hist, _ = np.histogram(x, bins=HIST_BINS, range=(0.0, 1.0))
    stats = {
        "synapses": int(x.size),
        "w_mean_over_gmax": float(x.mean()),
        "w_std_over_gmax": float(x.std()),
        "frac_below_0.1": float((x < 0.1).mean()),
        "frac_above_0.9": float((x > 0.9).mean()),
        "frac_at_0": float((x <= 0.0).mean()),
        "frac_at_gmax": float((x >= 1.0).mean()),
        "hist_edges": [k / HIST_BINS for k in range(HIST_BINS + 1)],
        "hist_counts": [int(c) for c in hist],
    }
    if n_post > 1:
        per_post = W.mean(axis=0) / gmax
        stats["w_mean_over_gmax_per_post_min"] = float(per_post.min())
        stats["w_mean_over_gmax_per_post_max"] = float(per_post.max())
    return W, stats


def rate_stats(t_s, idx, n_post: int, duration: float):
    import numpy as np

    t_s = np.asarray(t_s, dtype=float)
    counts = np.bincount(np.asarray(idx, dtype=np.int64), minlength=n_post)
    window = min(RATE_WINDOW_S, duration)
    late = t_s >= duration - window - 1e-9
    late_counts = np.bincount(np.asarray(idx, dtype=np.int64)[late], minlength=n_post)
    out = {
        "output_spikes": int(counts.sum()),
        "rate_hz": float(counts.mean() / duration),
        "rate_last_window_hz": float(late_counts.mean() / window),
        "rate_window_s": window,
    }
    if n_post > 1:
        out["rate_last_window_hz_min"] = float(late_counts.min() / window)
        out["rate_last_window_hz_max"] = float(late_counts.max() / window)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-inputs", type=int, default=1000)
    ap.add_argument("--n-post", type=int, default=1)
    ap.add_argument("--duration", type=float, default=100.0, help="simulated seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gmax", type=float, default=GMAX, help="weight bound (dApre = 0.01 gmax)")
    ap.add_argument("--threads", type=int, default=1,
                    help="OpenMP threads of the standalone binary")
    ap.add_argument("--reps", type=int, default=1, help="timed repetitions")
    ap.add_argument("--device", choices=["cpp_standalone", "runtime"], default="cpp_standalone")
    ap.add_argument("--weights-out", help=".npy file for the final weights, [n_inputs, n_post]")
    ap.add_argument("--build-dir", help="standalone project directory (kept; reusing it "
                    "recompiles only what changed); default: a temporary one, removed")
    args = ap.parse_args()

    import numpy as np
    import brian2 as b2
    from brian2 import ms, second

    result = {"peer": "brian2", "case": "stdp_song2000", "version": b2.__version__,
              "device": args.device, "n_inputs": args.n_inputs, "n_post": args.n_post,
              "duration_s": args.duration, "dt_ms": 0.1, "seed": args.seed,
              "threads": args.threads if args.device == "cpp_standalone" else 1,
              "reps": args.reps, "input_rate_hz": 15.0, "gmax": args.gmax,
              "loadavg_before": list(os.getloadavg())}
    own_dir = args.device == "cpp_standalone" and not args.build_dir
    workdir = (tempfile.mkdtemp(prefix="bench-brian2-stdp-") if own_dir
               else os.path.abspath(args.build_dir) if args.build_dir else None)
    try:
        b2.prefs.logging.console_log_level = "WARNING"
        times = []
        if args.device == "cpp_standalone":
            b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
            # As peer_brian2.py: openmp_threads = T builds with OpenMP, so the
            # loop is timed by omp_get_wtime (wall clock).
            b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
            t0 = time.perf_counter()
            net, syn, spikes = build(args.n_inputs, args.n_post, args.duration, args.seed, args.gmax)
            net.run(args.duration * second)
            t1 = time.perf_counter()
            b2.device.build(directory=workdir, compile=True, run=False, with_output=False)
            t2 = time.perf_counter()
            result.update(define_s=t1 - t0, compile_s=t2 - t1,
                          compile_args=list(b2.prefs.codegen.cpp.extra_compile_args_gcc))
            walls = []
            for _ in range(args.reps):
                b2.device.run(directory=workdir, with_output=False)
                times.append(float(b2.device._last_run_time))
                walls.append(float(b2.device.timers["run_binary"]))
            result["binary_wall_s"] = walls
        else:
            t0 = time.perf_counter()
            net, syn, spikes = build(args.n_inputs, args.n_post, args.duration, args.seed, args.gmax)
            net.run(0 * ms)  # code generation and compilation, no time step
            net.store("initial")
            result["setup_s"] = time.perf_counter() - t0
            result["codegen_target"] = str(b2.prefs.codegen.target)
            for rep in range(args.reps):
                if rep:
                    net.restore("initial", restore_random_state=True)
                net.run(args.duration * second)
                times.append(float(b2.device._last_run_time))
        result["loadavg_after"] = list(os.getloadavg())
        median = float(np.median(times))
        result.update(status="ok", times_s=times, median_s=median,
                      s_per_simulated_s=median / args.duration)
        W, wstats = weight_stats(syn.i[:], syn.j[:], syn.w[:], args.n_inputs, args.n_post, args.gmax)
        result.update(wstats)
        result.update(rate_stats(spikes.t[:] / second, spikes.i[:], args.n_post, args.duration))
        if args.weights_out:
            np.save(args.weights_out, W)
            result["weights_out"] = os.path.abspath(args.weights_out)
    except Exception as exc:  # reported, not raised: a suite can go on
        result.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    emit(result)


if __name__ == "__main__":
    main()
