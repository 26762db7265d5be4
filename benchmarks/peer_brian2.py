"""Brian2 C++ standalone side of the CUBA / COBA benchmarks. Runs in
benchmarks/.venv (setup_peers.sh); run.py calls it once per (network, size,
thread count) and reads the tagged JSON line it prints.

    python peer_brian2.py --model cuba --n 4000 --threads 1 --reps 5 --cap 300

The networks are Brian2's examples/CUBA.py and the COBA network of
tests/fixtures/brian2_networks.json (as tools/brian2_oracle.py writes them),
scaled to N neurons (80 % excitatory) with p = 80 / N. Timed: the simulation
loop alone, as Brian2's generated Network::run measures it itself
(device._last_run_time: omp_get_wtime around the loop, wall-clock time).
Compilation, synapse creation and writing results are outside that interval;
they are reported separately.
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


def build(model: str, n: int, duration: float, seed: int):
    import brian2 as b2
    from brian2 import ms, mV, nS, pF, second

    b2.seed(seed)
    b2.defaultclock.dt = 0.1 * ms
    n_exc = int(round(0.8 * n))
    p = 80.0 / n
    if model == "cuba":
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV,
                  we=(60 * 0.27 / 10) * mV, wi=(-20 * 4.5 / 10) * mV)
        eqs = """
        dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        P = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                           method="exact", namespace=ns)
        P.v = "Vr + rand() * (Vt - Vr)"
        P.ge = 0 * mV
        P.gi = 0 * mV
    else:
        ns = dict(Cm=200 * pF, gL=10 * nS, El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, Ee=0 * mV,
                  Ei=-80 * mV, taue=5 * ms, taui=10 * ms, we=6 * nS, wi=67 * nS)
        eqs = """
        dv/dt = (gL*(El - v) + ge*(Ee - v) + gi*(Ei - v))/Cm : volt (unless refractory)
        dge/dt = -ge/taue : siemens
        dgi/dt = -gi/taui : siemens
        """
        P = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                           method="exponential_euler", namespace=ns)
        P.v = "(randn()*5 - 65)*mV"          # unclipped, as the fixture's COBA
        P.ge = "(randn()*1.5 + 4)*10*nS"
        P.gi = "(randn()*12 + 20)*10*nS"
    # Ce.connect('i<Ne', p=p) of the example, written as a generator so that
    # Brian2 draws each row's targets directly instead of testing N*N pairs
    # (same distribution; synapse creation is not timed anyway).
    Ce = b2.Synapses(P[:n_exc], P, on_pre="ge += we", namespace=ns)
    Ci = b2.Synapses(P[n_exc:], P, on_pre="gi += wi", namespace=ns)
    Ce.connect(j="k for k in sample(N_post, p=%r)" % p)
    Ci.connect(j="k for k in sample(N_post, p=%r)" % p)
    mon = b2.SpikeMonitor(P, record=False)  # spike counts only
    b2.run(duration * second)
    return P, Ce, Ci, mon, n_exc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["cuba", "coba"], required=True)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cap", type=float, default=300.0, help="seconds for warm-up + repetitions")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the generated project")
    args = ap.parse_args()

    import numpy as np
    import brian2 as b2

    workdir = tempfile.mkdtemp(prefix="bench-brian2-")
    result = {"peer": "brian2", "version": b2.__version__, "model": args.model, "n": args.n,
              "threads": args.threads, "duration_s": args.duration}
    try:
        b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
        # openmp_threads = T builds with OpenMP and T threads; Network::run
        # then times itself with omp_get_wtime (wall clock). (With 0, the
        # default, it has no OpenMP and reports CPU time from std::clock.)
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
        b2.prefs.logging.console_log_level = "WARNING"
        t0 = time.perf_counter()
        P, Ce, Ci, mon, n_exc = build(args.model, args.n, args.duration, args.seed)
        t1 = time.perf_counter()
        b2.device.build(directory=workdir, compile=True, run=False, with_output=False)
        t2 = time.perf_counter()
        result.update(define_s=t1 - t0, compile_s=t2 - t1)

        def run_binary():
            b2.device.run(directory=workdir, with_output=False)
            return b2.device._last_run_time, b2.device.timers["run_binary"]

        warm_run, warm_binary = run_binary()
        result["warmup_s"] = warm_run
        result["binary_wall_s"] = warm_binary
        if warm_binary * (args.reps + 1) > args.cap:
            result.update(status="skipped", reason=f"> cap {args.cap:g} s", one_run_s=warm_run)
        else:
            times, walls = [], []
            for _ in range(args.reps):
                run_s, wall_s = run_binary()
                times.append(run_s)
                walls.append(wall_s)
            result.update(status="ok", times_s=times, median_s=float(np.median(times)),
                          binary_wall_median_s=float(np.median(walls)))
        counts = np.asarray(mon.count[:], dtype=np.int64)
        n = args.n
        out_e = np.bincount(np.asarray(Ce.i[:]), minlength=n_exc)
        out_i = np.bincount(np.asarray(Ci.i[:]), minlength=n - n_exc)
        result.update(
            rate_exc_hz=float(counts[:n_exc].sum() / n_exc / args.duration),
            rate_inh_hz=float(counts[n_exc:].sum() / (n - n_exc) / args.duration),
            rate_all_hz=float(counts.sum() / n / args.duration),
            spikes=int(counts.sum()),
            synapses=int(len(Ce) + len(Ci)),
            events=int((counts[:n_exc] * out_e).sum() + (counts[n_exc:] * out_i).sum()),
        )
    except Exception as exc:  # reported, not raised: the suite goes on
        result.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    emit(result)


if __name__ == "__main__":
    main()
