#!/usr/bin/env python3
"""The cross-language runner for Python (protocol in README.md here).

    python run_python.py network.snn copy|bound
"""

import sys

import numpy as np
import snn

STEPS = 300
FNV_OFFSET, FNV_PRIME, MASK = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def main() -> int:
    path, mode = sys.argv[1], sys.argv[2]
    net = snn.load(path)
    inp, hid, out = net.populations["in"], net.populations["hid"], net.populations["out"]
    batch, n = net.batch, len(inp)

    state = {"hash": FNV_OFFSET, "count": 0}

    def record(population_index):
        def on_spike(step, b, ids):
            h = state["hash"]
            head = (np.int32(population_index).tobytes() + np.int64(step).tobytes() + np.int32(b).tobytes())
            for i in ids:
                for byte in head + np.int32(i).tobytes():
                    h = ((h ^ byte) * FNV_PRIME) & MASK
            state["hash"] = h
            state["count"] += len(ids)
        return on_spike

    net.on_spike(hid, record(1))
    net.on_spike(out, record(2))

    k = np.arange(STEPS).reshape(STEPS, 1, 1)
    b = np.arange(batch).reshape(1, batch, 1)
    j = np.arange(n).reshape(1, 1, n)
    spikes = ((k * 7 + b * 13 + j * 3) % 11 == 0).astype(np.uint8)  # [steps, batch, n]

    if mode == "copy":
        for step in range(STEPS):
            net.set_input(inp, spikes[step])
            net.step()
    elif mode == "bound":
        net.bind_input(inp, spikes)
        net.run(STEPS)
    else:
        raise SystemExit(f"unknown mode {mode!r}: copy or bound")
    print(f"{mode} spikes={state['count']} fnv1a64={state['hash']:016x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
