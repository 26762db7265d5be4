#!/usr/bin/env python3
"""libsnn's benchmark suite: every backend libsnn offers against Brian2,
snnTorch, Norse and SpikingJelly, measured in the same run.

    python benchmarks/run.py                      # everything (about 20-30 min on 2 cores)
    python benchmarks/run.py --quick              # a short smoke run of every benchmark
    python benchmarks/run.py --only fc,realtime   # some benchmarks
    python benchmarks/run.py --markdown benchmarks/RESULTS.md

libsnn runs in this interpreter (the installed package, or python/ of this
repository with $SNN_LIBRARY; without either, the library is built into
build-bench/ first). The peers run in benchmarks/.venv (setup_peers.sh), each
in its own process. benchmarks/README.md defines every benchmark.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _common import fmt_time, machine, parse  # noqa: E402

BENCHMARKS = ("cuba_coba", "cuba_large", "fc", "realtime", "hardware")
PEERS_FC = (("snntorch", "snnTorch"), ("norse", "Norse"), ("spikingjelly", "SpikingJelly"))


# ---------------------------------------------------------------------------
# Finding libsnn
# ---------------------------------------------------------------------------

def import_snn():
    """The snn package: installed, or this repository's python/ with
    $SNN_LIBRARY, or with a library built here into build-bench/."""
    try:
        import snn  # noqa: F401
        return snn
    except ImportError:
        pass
    sys.path.insert(0, os.path.join(ROOT, "python"))
    if not os.environ.get("SNN_LIBRARY"):
        build = os.path.join(ROOT, "build-bench")
        log(f"libsnn is not installed and $SNN_LIBRARY is not set: building it into {build}")
        subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                        "-DSNN_BUILD_TESTS=OFF", "-DSNN_BUILD_EXAMPLES=OFF"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "--parallel"], check=True, stdout=subprocess.DEVNULL)
        os.environ["SNN_LIBRARY"] = os.path.join(build, "libsnn.so.0")
    import snn
    return snn


def log(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------

class Settings:
    def __init__(self, args: argparse.Namespace) -> None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.cpus = cpus
        self.quick = args.quick
        self.reps = args.reps or (2 if args.quick else 5)
        self.cap = args.cap or (60.0 if args.quick else 150.0)
        self.cap_large = args.cap_large or (self.cap if args.quick else 300.0)  # CUBA >= 400 000 neurons
        self.duration = 0.1 if args.quick else 1.0                 # simulated seconds (CUBA, COBA)
        counts = sorted({1, cpus} | {2 ** k for k in range(1, 8) if 2 ** k < cpus})
        self.threads = [1] if args.quick else counts               # CUBA/COBA thread counts
        self.large = [40_000] if args.quick else [40_000, 400_000]
        self.fc_sizes = [1024] if args.quick else [1024, 4096]
        self.fc_steps = 50 if args.quick else 500
        self.fc_batch = 16
        self.fc_threads = args.fc_threads or cpus
        self.rt_threads = args.rt_threads
        self.rt_warmup = 200 if args.quick else 1000
        self.rt_steps = 300 if args.quick else 2000
        self.peer_python = args.peers_python or os.path.join(HERE, ".venv", "bin", "python")
        self.backends: List[str] = args.backends.split(",") if args.backends else []


# ---------------------------------------------------------------------------
# Peers (subprocesses in the peers' environment)
# ---------------------------------------------------------------------------

def run_peer(settings: Settings, script: str, argv: List[str], timeout: float) -> Dict[str, Any]:
    if not os.path.exists(settings.peer_python):
        return {"status": "missing", "reason": "no peers' environment (run benchmarks/setup_peers.sh)"}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run([settings.peer_python, os.path.join(HERE, script)] + argv,
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "skipped", "reason": f"> cap {timeout:.0f} s (killed)"}
    result = parse(proc.stdout)
    if result is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": "error", "reason": f"exit {proc.returncode}: {tail[0][:200]}"}
    return result


def peer_versions(settings: Settings) -> Dict[str, str]:
    if not os.path.exists(settings.peer_python):
        return {}
    code = ("import importlib.metadata as m, json, platform\n"
            "out = {'python': platform.python_version()}\n"
            "for p in ('brian2', 'snntorch', 'norse', 'spikingjelly', 'torch', 'numpy', 'cython'):\n"
            "    try: out[p] = m.version(p)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))\n")
    try:
        proc = subprocess.run([settings.peer_python, "-c", code], capture_output=True, text=True, timeout=120)
        return json.loads(proc.stdout)
    except (subprocess.SubprocessError, ValueError):
        return {}


# ---------------------------------------------------------------------------
# The benchmarks
# ---------------------------------------------------------------------------

class Suite:
    def __init__(self, settings: Settings, snn) -> None:
        import snn_cases

        self.s = settings
        self.snn = snn
        self.cases = snn_cases
        self.backends = settings.backends or list(snn.backends())
        self.results: Dict[str, Any] = {}
        self.tables: List[str] = []
        self.tmp = tempfile.mkdtemp(prefix="snn-bench-")

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- a: CUBA and COBA against Brian2 ------------------------------------

    def network_case(self, model: str, n: int) -> Dict[str, Any]:
        key = f"{model}-{n}"
        if key in self.results:
            return self.results[key]
        s = self.s
        steps = int(round(s.duration / 1e-4))
        cap = s.cap_large if n >= 400_000 else s.cap
        entry: Dict[str, Any] = {"model": model, "n": n, "brian2": {}, "libsnn": {}}
        for t in s.threads:
            log(f"{model.upper()} N={n}: Brian2 standalone, {t} thread(s)")
            r = run_peer(s, "peer_brian2.py", ["--model", model, "--n", str(n), "--threads", str(t),
                                               "--duration", str(s.duration), "--reps", str(s.reps),
                                               "--cap", str(cap)],
                         timeout=cap + 600)
            entry["brian2"][t] = r
            log(f"  -> {describe(r)}")
        for b in self.backends:
            entry["libsnn"][b] = {}
            for t in s.threads:
                log(f"{model.upper()} N={n}: libsnn {b}, {t} thread(s)")
                build = self.cases.build_cuba if model == "cuba" else self.cases.build_coba
                net = build(n, b, t)
                r = self.cases.time_network(net, steps, s.reps, cap, count=("exc", "inh"))
                if "counts" in r:  # the warm-up ran to the end: rates, even if the repetitions did not fit
                    r.update(self.cases.run_rates(r["counts"], s.duration))
                    if r["status"] == "ok":
                        r["events"] = self.cases.events_delivered(net, r["counts"])
                    r["synapses"] = int(sum(c.nnz for c in net.connections.values()))
                    del r["counts"]
                r["threads_used"] = net.context.threads
                entry["libsnn"][b][t] = r
                log(f"  -> {describe(r)}")
                net.close()
        self.results[key] = entry
        return entry

    def bench_cuba_coba(self) -> None:
        entries = [self.network_case("cuba", 4000), self.network_case("coba", 4000)]
        self.tables.append(self.network_table(
            f"CUBA and COBA, 4000 neurons, {self.s.duration:g} s simulated at dt = 0.1 ms",
            entries))

    def bench_cuba_large(self) -> None:
        entries = [self.network_case("cuba", n) for n in self.s.large]
        self.tables.append(self.network_table(
            f"CUBA, 80 synapses per neuron (p = 80/N), {self.s.duration:g} s simulated at dt = 0.1 ms",
            entries))

    def network_table(self, title: str, entries: List[Dict[str, Any]]) -> str:
        b = self.backends
        head = (["network", "threads", "Brian2"] + [f"libsnn {x}" for x in b]
                + [f"Brian2 / {x}" for x in b] + ["rate Brian2"] + [f"rate {x}" for x in b])
        rows = []
        for e in entries:
            name = f"{e['model'].upper()} {e['n']:,}".replace(",", " ")
            settings = [(str(t), {"brian2": e["brian2"].get(t), **{x: e["libsnn"][x].get(t) for x in b}})
                        for t in self.s.threads]
            if len(self.s.threads) > 1:
                best = {"brian2": best_of(e["brian2"]), **{x: best_of(e["libsnn"][x]) for x in b}}
                settings.append(("best", best))
            for label, cell in settings:
                show_t = label == "best"
                row = [name, label, time_cell(cell["brian2"], show_t)]
                row += [time_cell(cell[x], show_t) for x in b]
                row += [ratio(cell["brian2"], cell[x]) for x in b]
                row += [rate_cell(cell["brian2"])] + [rate_cell(cell[x]) for x in b]
                rows.append(row)
        note = ("Times: the simulation loop of one run (Brian2: its own Network::run timer, "
                "compilation and synapse creation excluded; libsnn: one net.run call). "
                "Rates: mean firing rate exc / inh in Hz. Ratios > 1: libsnn is faster.")
        return markdown_table(title, head, rows, note)

    # -- b: fully connected layer -------------------------------------------

    def bench_fc(self) -> None:
        s = self.s
        rows = []
        all_results = self.results.setdefault("fc", {})
        for n in s.fc_sizes:
            for kind in ("spikes", "dense"):
                case = self.fc_case(n, kind)
                all_results[f"{n}-{kind}"] = case
                peers = case["peers"]
                for b in case["libsnn"]:
                    mine = case["libsnn"][b]
                    row = [str(n), "spikes p=0.05" if kind == "spikes" else "Gaussian", b, time_cell(mine)]
                    row += [time_cell(peers[p]) for p, _ in PEERS_FC]
                    row += [ratio(peers[p], mine) for p, _ in PEERS_FC]
                    row.append(" / ".join(frac_cell(r) for r in [mine] + [peers[p] for p, _ in PEERS_FC]))
                    rows.append(row)
        head = (["n", "input", "libsnn backend", "libsnn"] + [label for _, label in PEERS_FC]
                + [f"{label} / libsnn" for _, label in PEERS_FC]
                + ["output spikes per neuron-step: libsnn / " + " / ".join(l for _, l in PEERS_FC)])
        title = (f"Fully connected: Linear n->n + LIF, batch {s.fc_batch}, {s.fc_steps} steps, inference, "
                 f"{s.fc_threads} thread(s)")
        note = ("Time of one pass over the whole input ([steps, batch, n] in, spikes [steps, batch, n] "
                "out). Same input and weights for every library; equal spike fractions show the same "
                "work was done. Ratios > 1: libsnn is faster. \"cpu, bfloat16 weights\" is the opt-in "
                "weight_dtype option (weights rounded to bfloat16, stored in 16 bits): a different "
                "model, reported beside the float32 rows, not judged against the targets.")
        self.tables.append(markdown_table(title, head, rows, note))

    def fc_case(self, n: int, kind: str) -> Dict[str, Any]:
        import numpy as np

        s = self.s
        key = f"fc-{n}-{kind}"
        if key in self.results:
            return self.results[key]
        x, w = self.cases.fc_data(n, s.fc_batch, s.fc_steps, kind)
        data = os.path.join(self.tmp, f"fc-{n}-{kind}")
        os.makedirs(data, exist_ok=True)
        np.save(os.path.join(data, "x.npy"), x)
        np.save(os.path.join(data, "w.npy"), w)
        case: Dict[str, Any] = {"n": n, "kind": kind, "libsnn": {}, "peers": {}}
        x_snn = x.astype(bool) if kind == "spikes" else x
        variants = [(b, "float32", b) for b in self.backends]
        if "cpu" in self.backends:
            variants.append(("cpu", "bfloat16", "cpu, bfloat16 weights"))
        for b, weight_dtype, label in variants:
            log(f"FC n={n} {kind}: libsnn {label}, {s.fc_threads} thread(s)")
            net = self.cases.build_fc(w, s.fc_batch, kind, b, s.fc_threads, weight_dtype)
            r = self.cases.time_network(net, s.fc_steps, s.reps, s.cap, inputs={"src": x_snn},
                                        record_output="lif.spikes")
            r.pop("counts", None)
            case["libsnn"][label] = r
            log(f"  -> {describe(r)}")
            net.close()
        for peer, label in PEERS_FC:
            log(f"FC n={n} {kind}: {label}, {s.fc_threads} thread(s)")
            r = run_peer(s, "peer_torch.py", ["--peer", peer, "--data", data, "--threads", str(s.fc_threads),
                                              "--reps", str(s.reps), "--cap", str(s.cap),
                                              "--beta", str(self.cases.FC_BETA), "--dt", str(self.cases.FC_DT)],
                         timeout=s.cap + 300)
            case["peers"][peer] = r
            log(f"  -> {describe(r)}")
        shutil.rmtree(data, ignore_errors=True)
        self.results[key] = case
        return case

    # -- c: real-time stepping ----------------------------------------------

    def bench_realtime(self) -> None:
        s = self.s
        snn = self.snn
        exe = self.cases.compile_step_bench(os.path.join(HERE, "step_bench.c"), os.path.join(ROOT, "include"),
                                            snn.LIBRARY_PATH, self.tmp)
        nets = {"CUBA 4000": (lambda b: self.cases.build_cuba(4000, b, s.rt_threads), ("exc", "inh")),
                "LIF 10 000, 1 M synapses": (lambda b: self.cases.build_realtime(b, s.rt_threads), ("lif",)),
                "1 LIF neuron (call overhead)": (lambda b: self.cases.build_single(b, s.rt_threads), ("lif",))}
        rows = []
        out = self.results.setdefault("realtime", {})
        for name, (build, pops) in nets.items():
            for b in self.backends:
                path = os.path.join(self.tmp, f"rt-{b}.snn")
                build(b).save(path)
                log(f"real-time {name}: {b}, from C and from Python, {s.reps} repetitions each, alternating")
                c_res, p_res = self.step_times(exe, path, b)
                frac = self.fraction(path, b, pops)
                out[f"{name}/{b}"] = {"c": c_res, "python": p_res, "spike_fraction": frac}
                overhead = (p_res["median_ns"] - c_res["median_ns"]) if c_res["status"] == "ok" else None
                rows.append([name, b, ns_cell(c_res.get("median_ns")), ns_cell(c_res.get("p99_ns")),
                             ns_cell(p_res["median_ns"]), ns_cell(p_res["p99_ns"]), ns_cell(overhead),
                             f"{frac * 100:.2f} %"])
                log(f"  -> C median {ns_cell(c_res.get('median_ns'))}, Python median "
                    f"{ns_cell(p_res['median_ns'])}, {frac * 100:.2f} % spiking per step")
        head = ["network", "backend", "C median", "C p99", "Python median", "Python p99",
                "Python overhead (median)", "neurons spiking per step"]
        title = f"Real-time stepping, batch 1, {s.rt_threads} thread(s): one step"
        note = (f"{s.rt_warmup} warm-up steps, then {s.reps} repetitions of {s.rt_steps} steps, each step "
                "timed on its own (C: snn_network_step between two CLOCK_MONOTONIC reads in step_bench.c; "
                "Python: net.step() between two perf_counter_ns calls), C and Python repetitions alternating; "
                "median over repetitions of each repetition's median and 99th percentile. Overhead: Python "
                "median minus C median; where a step takes tens of microseconds or more that difference is "
                "within the noise of two measurements, so the one-neuron network measures the call overhead "
                "alone.")
        self.tables.append(markdown_table(title, head, rows, note))

    def step_times(self, exe: str, path: str, backend: str):
        """Repetitions from C (a fresh step_bench process each: load, warm-up,
        one repetition) alternate with repetitions from Python (one process,
        warmed up once), so that a change in the machine's load hits both."""
        s = self.s
        c_reps: List[Dict[str, Any]] = []
        error = None
        stepper = self.cases.PythonStepper(path, backend, s.rt_threads, s.rt_warmup)
        p_reps: List[Dict[str, Any]] = []
        for _ in range(s.reps):
            if error is None:
                c = subprocess.run([exe, path, backend, str(s.rt_threads), str(s.rt_warmup), str(s.rt_steps), "1"],
                                   capture_output=True, text=True, timeout=s.cap + 60)
                if c.returncode != 0:
                    error = c.stderr.strip()[-200:] or f"exit {c.returncode}"
                else:
                    c_reps += json.loads(c.stdout)["reps"]
            p_reps.append(stepper.repetition(s.rt_steps))
        c_res: Dict[str, Any] = ({"status": "error", "reason": error} if error else
                                 dict(status="ok", reps=c_reps, **self.cases.summarize_steps(c_reps)))
        p_res = dict(status="ok", reps=p_reps, timer_overhead_ns=stepper.timer_overhead(),
                     **self.cases.summarize_steps(p_reps))
        stepper.close()
        return c_res, p_res

    def fraction(self, path: str, backend: str, pops) -> float:
        import numpy as np

        net = self.snn.load(path, context=self.snn.Context(backend=backend, threads=1))
        steps = 1000
        rec = net.run(steps, record=[f"{p}.spikes" for p in pops])
        spikes = sum(int(rec[f"{p}.spikes"][steps // 5:].sum()) for p in pops)
        size = sum(net.populations[p].size for p in pops)
        net.close()
        return spikes / (size * (steps - steps // 5))

    # -- 4: hardware ---------------------------------------------------------

    def bench_hardware(self) -> None:
        s = self.s
        rows = []
        for n in [4000] + [m for m in s.large if m >= 400_000][:1]:
            e = self.network_case("cuba", n)
            brian = e["brian2"].get(1)
            for b in self.backends:
                per_core = events_rate(e["libsnn"][b].get(1))
                size = f"{n:,}".replace(",", " ")
                rows.append([f"CUBA {size}: events/s per core, whole run", b,
                             per_core, f"Brian2: {events_rate(brian)}"])
                if b == "cpu":
                    rows.append([f"CUBA {size}: events/s per core, delivery phase alone", b,
                                 self.delivery_rate(n), "benchmark build (SNN_PHASE_TIMERS), 1 thread"])
        for n in s.fc_sizes:
            case = self.fc_case(n, "dense")
            gemm = self.numpy_gemm(n)
            flops = 2.0 * s.fc_steps * s.fc_batch * n * n
            for b in self.backends:
                r = case["libsnn"][b]
                mine = f"{flops / r['median_s'] / 1e9:.1f} GFLOP/s" if r.get("status") == "ok" else status_text(r)
                peer = min((p for p in case["peers"].values() if p.get("status") == "ok"),
                           key=lambda p: p["median_s"], default=None)
                beside = f"NumPy float32 matmul [{s.fc_steps * s.fc_batch}, {n}] x [{n}, {n}]: {gemm}"
                if peer:
                    beside += f"; fastest peer layer: {flops / peer['median_s'] / 1e9:.1f} GFLOP/s"
                rows.append([f"FC n={n} dense input, whole layer", b, mine, beside])
        self.results["hardware"] = rows
        title = f"Hardware use ({s.fc_threads} thread(s) for the dense path)"
        note = ("Events: synaptic events delivered (spikes x out-degree) per second of run time, on 1 thread; "
                "for the delivery phase alone, per second of that phase as a phase-timer build measures it "
                "(warm-up steps included; the timers add about 0.1 us per step). "
                "GFLOP/s: 2 * steps * batch * n^2 over the time of the whole layer "
                "(the product and the neuron scan).")
        self.tables.append(markdown_table(title, ["measure", "backend", "libsnn", "beside"], rows, note))

    def delivery_rate(self, n: int) -> str:
        """Events per second of the delivery phase alone, from a build of the
        library with SNN_PHASE_TIMERS (it prints its phase totals when a
        network is destroyed), stepping CUBA from C on 1 thread."""
        s = self.s
        build = os.path.join(ROOT, "build-bench-timers")
        try:
            if not os.path.exists(os.path.join(build, "libsnn.so.0")):
                log(f"building the phase-timer library into {build}")
                subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DSNN_PHASE_TIMERS=ON",
                                "-DSNN_BUILD_TESTS=OFF", "-DSNN_BUILD_EXAMPLES=OFF"], check=True, stdout=subprocess.DEVNULL)
                subprocess.run(["cmake", "--build", build, "--parallel"], check=True, stdout=subprocess.DEVNULL)
            out = os.path.join(self.tmp, "timers")
            os.makedirs(out, exist_ok=True)
            exe = self.cases.compile_step_bench(os.path.join(HERE, "step_bench.c"), os.path.join(ROOT, "include"),
                                                os.path.join(build, "libsnn.so.0"), out)
            path = os.path.join(out, f"cuba-{n}.snn")
            net = self.cases.build_cuba(n, "cpu", 1)
            net.save(path)
            net.close()
            steps = int(round(s.duration / 1e-4))
            warmup = max(1, steps // 10)
            log(f"CUBA N={n}: delivery phase, phase-timer build, {warmup} + {steps} steps")
            proc = subprocess.run([exe, path, "cpu", "1", str(warmup), str(steps), "1"], capture_output=True, text=True,
                                  timeout=s.cap_large + 600)
            line = next((x for x in proc.stderr.splitlines() if x.startswith("snn-phase-times ")), None)
            if proc.returncode != 0 or line is None:
                return f"failed ({proc.stderr.strip()[-120:]})"
            t = json.loads(line.split(" ", 1)[1])
            self.results.setdefault("phase_times", {})[str(n)] = t
            return f"{t['events'] / (t['deliver_ns'] * 1e-9) / 1e6:.0f} M"
        except (subprocess.SubprocessError, OSError) as e:
            return f"failed ({e})"

    def numpy_gemm(self, n: int) -> str:
        s = self.s
        code = ("import numpy as np, time, json\n"
                f"a = np.random.default_rng(0).standard_normal(({s.fc_steps * s.fc_batch}, {n}), dtype=np.float32)\n"
                f"b = np.random.default_rng(1).standard_normal(({n}, {n}), dtype=np.float32)\n"
                "a @ b\n"
                "t = []\n"
                f"for _ in range({max(5, s.reps)}):\n"
                "    t0 = time.perf_counter(); a @ b; t.append(time.perf_counter() - t0)\n"
                "print(json.dumps(sorted(t)[len(t) // 2]))\n")
        env = dict(os.environ)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(s.fc_threads)
        # Let OpenBLAS pick its own kernel for this CPU.
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
        try:
            t = json.loads(proc.stdout)
        except ValueError:
            return "failed"
        return f"{2.0 * s.fc_steps * s.fc_batch * n * n / t / 1e9:.1f} GFLOP/s"


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------

def best_of(by_threads: Dict[Any, Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    ok = [(r["median_s"], t, r) for t, r in by_threads.items() if r and r.get("status") == "ok"]
    if not ok:
        return next(iter(by_threads.values()), None)
    _, t, r = min(ok, key=lambda item: item[0])
    return dict(r, best_threads=t)


def status_text(r: Optional[Dict[str, Any]]) -> str:
    if not r:
        return "-"
    st = r.get("status")
    if st == "skipped":
        one = r.get("one_run_s")
        extra = f"; 1 run {'~' if r.get('projected') else ''}{fmt_time(one)}" if one else ""
        return f"skipped ({r.get('reason', '> cap')}{extra})"
    if st == "missing":
        return "not installed"
    return f"{st}: {r.get('reason', '')}"[:120]


def time_cell(r: Optional[Dict[str, Any]], show_threads: bool = False) -> str:
    if not r or r.get("status") != "ok":
        return status_text(r)
    text = fmt_time(r["median_s"])
    if show_threads and "best_threads" in r:
        text += f" ({r['best_threads']})"
    return text


def ratio(peer: Optional[Dict[str, Any]], mine: Optional[Dict[str, Any]]) -> str:
    if not peer or not mine or peer.get("status") != "ok" or mine.get("status") != "ok":
        return "-"
    return f"{peer['median_s'] / mine['median_s']:.2f}"


def rate_cell(r: Optional[Dict[str, Any]]) -> str:
    if not r or "rate_exc_hz" not in r:
        return "-"
    return f"{r['rate_exc_hz']:.2f} / {r['rate_inh_hz']:.2f}"


def frac_cell(r: Optional[Dict[str, Any]]) -> str:
    if not r or "spike_fraction" not in r:
        return "-"
    return f"{r['spike_fraction'] * 100:.3f} %"


def ns_cell(ns: Optional[float]) -> str:
    if ns is None:
        return "-"
    return fmt_time(ns * 1e-9) if ns >= 0 else f"-{fmt_time(-ns * 1e-9)} (noise)"


def events_rate(r: Optional[Dict[str, Any]]) -> str:
    """Synaptic events per second of a 1-thread run."""
    if not r or r.get("status") != "ok" or not r.get("events"):
        return status_text(r) if r and r.get("status") != "ok" else "-"
    return f"{r['events'] / r['median_s'] / 1e6:.1f} M"


def describe(r: Dict[str, Any]) -> str:
    if r.get("status") != "ok":
        return status_text(r)
    extra = ""
    if "rate_all_hz" in r:
        extra = f", {r['rate_all_hz']:.2f} Hz"
    if "spike_fraction" in r:
        extra = f", {r['spike_fraction'] * 100:.3f} % spiking"
    return f"median {fmt_time(r['median_s'])} of {len(r.get('times_s', []))}{extra}"


def markdown_table(title: str, head: List[str], rows: List[List[str]], note: str = "") -> str:
    lines = [f"### {title}", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f", commit {rev}" if rev else ""


def header(settings: Settings, snn, suite: Suite, versions: Dict[str, str], started: str) -> str:
    import numpy as np

    m = machine()
    lines = ["## Machine and versions", ""]
    lines.append(f"- date: {started}")
    lines.append(f"- CPU: {m.get('cpu', '?')}, {m.get('logical_cpus')} logical CPUs "
                 f"({m.get('usable_cpus')} usable), {m.get('memory_gib', '?')} GiB memory; "
                 f"SIMD: {m.get('simd', '?')}")
    lines.append(f"- OS: {m['platform']}; load average at start: {os.getloadavg()[0]:.2f}"
                 if hasattr(os, "getloadavg") else f"- OS: {m['platform']}")
    backends = []
    for b in suite.backends:
        ctx = snn.Context(backend=b, threads=1)
        simd = getattr(ctx, "simd", None)
        backends.append(f"{b}" + (f" (SIMD {simd})" if simd else ""))
    lines.append(f"- libsnn {snn.__version__}{git_revision()} ({snn.LIBRARY_PATH}); backends: "
                 f"{', '.join(backends)}; Python {m['python']}, NumPy {np.__version__}")
    if versions:
        peers = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "python")
        lines.append(f"- peers (benchmarks/.venv, Python {versions.get('python', '?')}): {peers}")
    else:
        lines.append("- peers: not installed (benchmarks/setup_peers.sh)")
    lines.append(f"- protocol: one warm-up, then the median of {settings.reps} repetitions; "
                 f"cap {settings.cap:g} s per case and side (warm-up + repetitions; "
                 f"{settings.cap_large:g} s for CUBA at 400 000 neurons)")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short smoke run (fewer, smaller, shorter cases)")
    ap.add_argument("--only", default="", help="comma-separated: " + ", ".join(BENCHMARKS))
    ap.add_argument("--reps", type=int, default=0, help="timed repetitions (default 5; 2 with --quick)")
    ap.add_argument("--cap", type=float, default=0.0,
                    help="seconds per case and side, warm-up included (default 150; 60 with --quick)")
    ap.add_argument("--cap-large", type=float, default=0.0,
                    help="the cap for CUBA at 400 000 neurons (default 300)")
    ap.add_argument("--backends", default="", help="comma-separated libsnn backends (default: all)")
    ap.add_argument("--fc-threads", type=int, default=0, help="threads for the fully connected layer "
                    "(default: every usable CPU)")
    ap.add_argument("--rt-threads", type=int, default=1, help="threads for real-time stepping (default 1)")
    ap.add_argument("--peers-python", default="", help="the peers' interpreter (default benchmarks/.venv)")
    ap.add_argument("--markdown", default="", help="also write the tables to this file (e.g. RESULTS.md)")
    ap.add_argument("--json", default="", help="also write the raw results as JSON")
    ap.add_argument("--note", default="", help="a paragraph added to the markdown file")
    args = ap.parse_args()

    only = [x.strip() for x in args.only.split(",") if x.strip()] or list(BENCHMARKS)
    unknown = [x for x in only if x not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    settings = Settings(args)
    snn = import_snn()
    suite = Suite(settings, snn)
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    t0 = time.perf_counter()
    versions = peer_versions(settings)
    head = header(settings, snn, suite, versions, started)
    print(head)
    try:
        for name in BENCHMARKS:
            if name in only:
                log(f"== {name}")
                getattr(suite, f"bench_{name}")()
                print(suite.tables[-1])
                sys.stdout.flush()
    finally:
        suite.close()
    total = time.perf_counter() - t0
    print(f"Total wall time of the suite: {total / 60:.1f} min")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("# Benchmark results\n\n")
            f.write("Written by `python benchmarks/run.py"
                    + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "")
                    + "`; benchmarks/README.md defines each benchmark.\n\n")
            if args.note:
                f.write(args.note.strip() + "\n\n")
            f.write(head + "\n")
            f.write("\n".join(suite.tables))
            f.write(f"\nTotal wall time of the suite: {total / 60:.1f} min.\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "versions": versions, "results": suite.results}, f, indent=1,
                      default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
