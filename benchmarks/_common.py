"""Helpers shared by run.py (the libsnn side) and the peer workers that run in
benchmarks/.venv. Standard library only, so both interpreters can import it."""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional

RESULT_TAG = "@@BENCH-RESULT "


def median(values: List[float]) -> float:
    return float(statistics.median(values))


def quantile(values: List[float], q: float) -> float:
    """Nearest-rank quantile (as step_bench.c computes it)."""
    s = sorted(values)
    k = min(len(s), max(1, int(q * len(s) + 0.5)))
    return float(s[k - 1])


def timed_reps(run_once: Callable[[], Any], reps: int, cap_s: float,
               warmup: Optional[Callable[[], float]] = None,
               prepare: Optional[Callable[[], Any]] = None) -> Dict[str, Any]:
    """The protocol every measurement follows: one warm-up, then `reps` timed
    repetitions, reported by their median.

    `warmup()` runs the case once and returns its duration in seconds, or
    raises CapExceeded (it is expected to check the cap itself for long runs);
    by default it is a timed call of `run_once`. When the warm-up shows that
    the repetitions would not fit in `cap_s` (warm-up included), the case is
    skipped and the warm-up time is reported instead. `prepare()` runs before
    each repetition, untimed (a reset). `run_once()` is timed with
    perf_counter.
    """
    start = time.perf_counter()
    if warmup is None:
        if prepare:
            prepare()
        t0 = time.perf_counter()
        run_once()
        first = time.perf_counter() - t0
    else:
        first = warmup()
    if first * (reps + 1) > cap_s:
        return {"status": "skipped", "reason": f"> cap {cap_s:g} s", "one_run_s": first}
    times = []
    for _ in range(reps):
        if prepare:
            prepare()
        t0 = time.perf_counter()
        run_once()
        times.append(time.perf_counter() - t0)
    return {"status": "ok", "median_s": median(times), "times_s": times, "warmup_s": first,
            "total_s": time.perf_counter() - start}


class CapExceeded(Exception):
    """A warm-up run went past the case's time cap."""

    def __init__(self, elapsed: float, cap: float) -> None:
        super().__init__(f"warm-up passed the cap of {cap:g} s after {elapsed:.1f} s")
        self.elapsed = elapsed
        self.cap = cap


def emit(result: Dict[str, Any]) -> None:
    """A worker's answer: one tagged JSON line on stdout."""
    sys.stdout.write(RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()


def parse(output: str) -> Optional[Dict[str, Any]]:
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    return None


def run_worker(argv: List[str], env: Dict[str, str], timeout: float = 1800) -> Dict[str, Any]:
    """Runs a worker process and returns the result it emitted, or
    {"status": "error", "reason": ...} with the last line it wrote."""
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    result = parse(proc.stdout)
    if result is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": "error", "reason": f"exit {proc.returncode}: {tail[0][:200]}"}
    return result


def append_section(text: str, markdown: Optional[str]) -> None:
    """Prints a results section and appends it to the markdown file, if given."""
    print(text)
    if markdown:
        with open(markdown, "a") as f:
            f.write("\n" + text + "\n")


def machine() -> Dict[str, Any]:
    """CPU model, cores and memory, from /proc (Linux) with portable fallbacks."""
    info: Dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "logical_cpus": os.cpu_count()}
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        info["usable_cpus"] = os.cpu_count()
    try:
        text = open("/proc/cpuinfo").read()
        models = [l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")]
        flags = next((l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")), [])
        if models:
            info["cpu"] = models[0]
        simd = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_bf16")
                if f in flags]
        info["simd"] = " ".join(simd)
        cores = {(l.split(":")[1].strip()) for l in text.splitlines() if l.startswith("core id")}
        if cores:
            info["physical_cores_per_socket"] = len(cores)
    except OSError:
        info["cpu"] = platform.processor() or platform.machine()
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def fmt_time(seconds: Optional[float]) -> str:
    """A duration with a unit that keeps 3 significant digits."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds >= 1:
        return f"{seconds:.3g} s" if seconds < 1000 else f"{seconds:.0f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.3g} us"
    return f"{seconds * 1e9:.3g} ns"
