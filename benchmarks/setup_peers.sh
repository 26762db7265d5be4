#!/usr/bin/env bash
# Creates benchmarks/.venv: the peers that benchmarks/run.py measures libsnn
# against (Brian2, snnTorch, Norse, SpikingJelly, on torch's CPU build), in an
# environment of their own so that libsnn's interpreter keeps its own numpy.
#
#   bash benchmarks/setup_peers.sh            # PYTHON=python3.11 to choose the interpreter
#
# Brian2's C++ standalone mode compiles the generated code with the system C++
# compiler (g++ or clang++) at run time; install one if it is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then
    echo "warning: no C++ compiler found; Brian2's standalone mode needs one (e.g. apt-get install g++)" >&2
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -c "$here/peers-constraints.txt" -r "$here/peers-requirements.txt"

# Norse and SpikingJelly also pull torchvision and torchaudio from PyPI; those
# builds do not load beside torch's CPU build, and nothing here imports them.
"$venv/bin/python" - <<'PY'
import importlib
import importlib.metadata as m

for module in ("brian2", "snntorch", "norse.torch", "spikingjelly.activation_based.neuron", "torch"):
    importlib.import_module(module)
print("peers ready: " + ", ".join(
    f"{p} {m.version(p)}" for p in ("brian2", "snntorch", "norse", "spikingjelly", "torch", "numpy")))
PY
