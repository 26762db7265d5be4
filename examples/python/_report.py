"""Shared by the examples: run a network builder over seeds, print the rates
beside Brian2's (tests/fixtures/brian2_networks.json, when the repository is
at hand)."""
from __future__ import annotations

import argparse
import json
import pathlib
import time
from typing import Callable, Dict, Optional

import numpy as np

import snn

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "brian2_networks.json"


def brian2_rates(name: str) -> Optional[Dict[str, float]]:
    """Brian2's mean rates over its 5 seeds, or None without the fixture file."""
    if not FIXTURES.exists():
        return None
    for network in json.loads(FIXTURES.read_text())["networks"]:
        if network["name"] == name:
            return {"exc": network["mean_rate_exc_hz"], "inh": network["mean_rate_inh_hz"],
                    "all": network["mean_rate_all_hz"]}
    return None


def main(name: str, build: Callable[[int, str], snn.Network], tolerance: float) -> None:
    parser = argparse.ArgumentParser(description=f"Run {name} for 1 s and print firing rates.")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (networks) to run")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()

    rates = {"exc": [], "inh": [], "all": []}
    for seed in range(1, args.seeds + 1):
        net = build(seed, args.backend)
        steps = round(1.0 / net.dt)
        start = time.perf_counter()
        spikes = net.run(steps, record=["exc.spikes", "inh.spikes"])
        elapsed = time.perf_counter() - start
        exc = spikes["exc.spikes"].sum() / 3200.0
        inh = spikes["inh.spikes"].sum() / 800.0
        rates["exc"].append(exc)
        rates["inh"].append(inh)
        rates["all"].append((exc * 3200 + inh * 800) / 4000)
        print(f"{name} seed {seed} ({net.backend}): exc {exc:6.2f} Hz  inh {inh:6.2f} Hz  "
              f"run {elapsed:.2f} s for 1 s simulated")

    reference = brian2_rates(name)
    print(f"\n{name}, mean over {args.seeds} seeds   libsnn      Brian2")
    for key in ("exc", "inh", "all"):
        ours = float(np.mean(rates[key]))
        theirs = f"{reference[key]:8.2f} Hz" if reference else "   (no fixture)"
        print(f"  {key:3s} rate                   {ours:6.2f} Hz  {theirs}")
    if reference:
        ratio = float(np.mean(rates["all"])) / reference["all"]
        verdict = "within" if abs(ratio - 1) <= tolerance else "OUTSIDE"
        print(f"  libsnn / Brian2 = {ratio:.3f} ({verdict} the {tolerance:.0%} bound)")
