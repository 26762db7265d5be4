#!/usr/bin/env bash
# Creates benchmarks/.venv-bindsnet: BindsNET 0.3.4 for peer_bindsnet_dc.py, in
# an environment of its own (its declared requirements do not install beside
# the peers of benchmarks/.venv). Idempotent: rerunning it only installs what
# is missing.
#
#   bash benchmarks/setup_bindsnet.sh         # PYTHON=python3.11 to choose the interpreter
#
# BindsNET 0.3.4 declares torch>=2.14, torchvision>=0.29, opencv-python,
# scikit-image, gymnasium and ale-py. Here it runs on torch 2.13.0's CPU build
# (peers-constraints.txt pins it; unpinned, pip resolves a CUDA build of several
# GB), so BindsNET is installed with --no-deps and then only the modules that
# `import bindsnet` imports (its package __init__ imports every submodule):
# numpy, scipy (models), scikit-learn (evaluation), matplotlib + pandas +
# tensorboardX (analysis), tqdm (pipeline), opencv-python-headless for cv2
# (datasets), gymnasium without extras and ale-py (environment). scikit-image is
# declared but never imported. torchvision is left out: the wheels available
# need torch's CUDA libraries (libtorch_cuda.so) and fail on import beside the
# CPU build; peer_bindsnet_dc.py stubs it (nothing on its path uses it).
#
# Fashion-MNIST comes from the Debian package dataset-fashion-mnist
# (/usr/share/datasets/fashion-mnist); the script reads its IDX files itself.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-bindsnet"
python="${PYTHON:-python3}"
constraints="$here/peers-constraints.txt"

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo "warning: /usr/share/datasets/fashion-mnist is missing (apt-get install dataset-fashion-mnist)" >&2
fi

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# The repository's .gitignore names benchmarks/.venv only; keep git from listing this one.
[ -f "$venv/.gitignore" ] || printf '*\n' > "$venv/.gitignore"

pip=("$venv/bin/python" -m pip install -c "$constraints")
"${pip[@]}" torch==2.13.0
"${pip[@]}" --no-deps bindsnet==0.3.4
"${pip[@]}" numpy scipy scikit-learn matplotlib pandas tensorboardX tqdm \
    opencv-python-headless gymnasium ale-py

"$venv/bin/python" - "$here" <<'PY'
import importlib.metadata as m
import sys

sys.path.insert(0, sys.argv[1])
from peer_bindsnet_dc import _stub_torchvision

_stub_torchvision()
import bindsnet  # noqa: F401  (the whole package, as the script imports it)
from bindsnet.models import DiehlAndCook2015  # noqa: F401

print("bindsnet ready: " + ", ".join(f"{p} {m.version(p)}" for p in ("bindsnet", "torch", "numpy")))
PY
