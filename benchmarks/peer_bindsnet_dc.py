"""BindsNET side of the Diehl & Cook 2015 benchmark: BindsNET's own model
(bindsnet.models.DiehlAndCook2015: unsupervised STDP on the input weights,
lateral inhibition through an inhibitory layer, adaptive thresholds) trained
on Fashion-MNIST for one epoch and tested with learning off. Runs in
benchmarks/.venv-bindsnet (setup_bindsnet.sh) and prints one tagged JSON line
(_common.emit).

    python peer_bindsnet_dc.py --train 100 --test 100              # smoke test
    python peer_bindsnet_dc.py --n-neurons 100 --train 1000 --test 1000

The settings are those of BindsNET's examples/mnist/eth_mnist.py: 784 inputs,
--n-neurons excitatory and as many inhibitory neurons, exc 22.5, inh 120,
theta_plus 0.05, norm 78.4, the model's default nu (1e-4, 1e-2) and rule
(PostPre); each image is shown for --time 250 ms at dt 1 ms as Poisson spike
trains of rate pixel/255 * intensity (128 Hz for a white pixel), through
bindsnet.encoding.poisson (what the example's PoissonEncoder calls), and the
network's state is reset between images. Neuron labels come from the
example's scheme: every --update-interval (250) training images,
assign_labels on that interval's excitatory spike counts, accumulating the
per-class rates (alpha 1). Unlike the example, the last (possibly partial)
interval is assigned too, so --train below 250 still labels the neurons; and
the training images are the first --train ones in file order, not shuffled.
Test: the first --test test images, network.train(False) (no STDP, no
threshold adaptation), predictions by all_activity and proportion_weighting.
With --label L, the neurons are also labelled by a frozen pass (learning
off) over the last L training images and the test images classified with
those labels too (accuracy_frozen_labels; not timed): libsnn's protocol.
A sample with no spike from any labelled neuron is predicted -1 (BindsNET's
abstention) and counts as wrong.

Only the excitatory spikes are monitored (a Monitor on "Ae", all that the
labelling needs); --example-monitors adds the example's other monitors (the
voltages of Ae and Ai, twice, and the spikes of X and Ai), which it records for
its plots.

Timed (time.perf_counter, wall clock): the training loop over the --train
images, divided by their number (train_s_per_image): Poisson encoding, the
network run, reading the spike monitor, the label assignments every
interval and the reset, as the example's loop does them; the encoding's part
is reported as well (train_encode_s_per_image). The test loop likewise
(test_s_per_image; the predictions, computed once at the end, are not in it).
The process's CPU time over each loop (time.process_time, all threads) comes
beside the wall time (*_cpu_s_per_image): on a shared machine it is the
steadier of the two with --threads 1.
Reading the IDX files, building the network and importing BindsNET are not
timed. Also reported: accuracies, the example's running accuracy on each
training interval (with the previous interval's labels), spike counts, the
labels' class histogram, peak RSS (getrusage) and the load average before and
after.

Note on the model: DiehlAndCookNodes (one_spike=True) resets every neuron
that crosses threshold on a step and raises its threshold by theta_plus, and
then keeps the spike of only one of them (chosen at random), so theta grows
by more than theta_plus times the spikes the monitor records, most of all
early in training (theta_mean_mv shows it).

BindsNET 0.3.4 imports torchvision from its package __init__ (datasets,
analysis), and the torchvision wheels available need torch's CUDA build;
when torchvision is not installed, a stub stands in for it (see
_stub_torchvision). Nothing on this script's path uses it.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import resource
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
N_CLASSES = 10


def _stub_torchvision() -> bool:
    """Puts a placeholder torchvision in sys.modules when none is installed.

    BindsNET's package __init__ imports all its submodules, and three of them
    import torchvision at module level: datasets/torchvision_wrapper.py
    (`from torchvision import datasets`, then subclasses every torchvision
    dataset class by name), datasets/preprocess.py (`from torchvision import
    transforms`) and analysis/pipeline_analysis.py (`from torchvision.utils
    import make_grid`). The torchvision wheels on PyPI need torch's CUDA
    libraries (libtorch_cuda.so) and fail to import beside the CPU build of
    torch used here. The model, network, learning, encoding and evaluation
    code never touches torchvision, so a stub that only survives those imports
    is enough; any real use of it raises.
    """
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is not None:
        return False

    class _Unavailable:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("torchvision is stubbed in peer_bindsnet_dc.py (not installed)")

    def _placeholder(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (_Unavailable,), {})

    def _unavailable(*args, **kwargs):
        raise RuntimeError("torchvision is stubbed in peer_bindsnet_dc.py (not installed)")

    root = types.ModuleType("torchvision")
    root.__path__ = []  # a package, so that `torchvision.x` imports resolve
    for sub in ("datasets", "transforms", "utils"):
        mod = types.ModuleType(f"torchvision.{sub}")
        mod.__getattr__ = _placeholder  # PEP 562: any class name resolves
        setattr(root, sub, mod)
        sys.modules[f"torchvision.{sub}"] = mod
    sys.modules["torchvision.utils"].make_grid = _unavailable
    sys.modules["torchvision"] = root
    return True


def read_idx(path: str):
    """An IDX file (optionally gzipped) as a numpy array."""
    import numpy as np

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(data_dir: str, split: str, n: int):
    """The first n images (uint8, [n, 28, 28]) and labels of a split."""
    prefix = "train" if split == "train" else "t10k"
    found = {}
    for kind, stem in (("images", f"{prefix}-images-idx3-ubyte"), ("labels", f"{prefix}-labels-idx1-ubyte")):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(data_dir, name)):
                found[kind] = os.path.join(data_dir, name)
                break
        else:
            raise FileNotFoundError(f"{stem}[.gz] not in {data_dir} (apt-get install dataset-fashion-mnist)")
    images, labels = read_idx(found["images"]), read_idx(found["labels"])
    if n > len(images):
        raise ValueError(f"{split}: asked for {n} images, the file has {len(images)}")
    return images[:n], labels[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-neurons", type=int, default=100, help="excitatory (= inhibitory) neurons")
    ap.add_argument("--train", type=int, default=1000, help="training images (the first N, one epoch)")
    ap.add_argument("--test", type=int, default=1000, help="test images (the first M)")
    ap.add_argument("--time", type=int, default=250, help="ms per image")
    ap.add_argument("--dt", type=float, default=1.0, help="ms")
    ap.add_argument("--intensity", type=float, default=128.0, help="Poisson rate (Hz) of a white pixel")
    ap.add_argument("--exc", type=float, default=22.5, help="Ae -> Ai weight")
    ap.add_argument("--inh", type=float, default=120.0, help="Ai -> Ae weight (eth_mnist.py; the model's default is 17.5)")
    ap.add_argument("--theta-plus", type=float, default=0.05)
    ap.add_argument("--norm", type=float, default=78.4, help="sum of each Ae neuron's input weights")
    ap.add_argument("--update-interval", type=int, default=250, help="training images between label assignments")
    ap.add_argument("--label", type=int, default=0,
                    help="also label the neurons with a frozen pass over the last this many training images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--example-monitors", action="store_true",
                    help="also record what eth_mnist.py records for its plots")
    ap.add_argument("--data-dir", default=DATA_DIR)
    args = ap.parse_args()

    result = {"peer": "bindsnet", "case": "diehl_cook_2015_fashion_mnist",
              "n_neurons": args.n_neurons, "n_train": args.train, "n_test": args.test,
              "time_ms": args.time, "dt_ms": args.dt, "intensity": args.intensity, "exc": args.exc,
              "inh": args.inh, "theta_plus": args.theta_plus, "norm": args.norm,
              "update_interval": args.update_interval, "seed": args.seed, "threads": args.threads,
              "example_monitors": args.example_monitors, "loadavg_before": list(os.getloadavg())}
    try:
        import numpy as np

        t0 = time.perf_counter()
        train_x, train_y = load_split(args.data_dir, "train", args.train)
        test_x, test_y = load_split(args.data_dir, "test", args.test)
        result["data_load_s"] = time.perf_counter() - t0

        stubbed = _stub_torchvision()
        t0 = time.perf_counter()
        import torch
        import bindsnet
        from bindsnet.encoding import poisson
        from bindsnet.evaluation import all_activity, assign_labels, proportion_weighting
        from bindsnet.models import DiehlAndCook2015
        from bindsnet.network.monitors import Monitor
        import importlib.metadata as md
        result.update(import_s=time.perf_counter() - t0, version=md.version("bindsnet"),
                      torch=torch.__version__, stubbed=["torchvision"] if stubbed else [])

        torch.manual_seed(args.seed)
        torch.set_num_threads(args.threads)
        steps = int(args.time / args.dt)
        n = args.n_neurons

        # As eth_mnist.py: ToTensor (pixel / 255) times the intensity.
        train_rates = torch.from_numpy(train_x.astype(np.float32) / 255.0).mul_(args.intensity)
        test_rates = torch.from_numpy(test_x.astype(np.float32) / 255.0).mul_(args.intensity)
        train_labels = torch.from_numpy(train_y.astype(np.int64))
        test_labels = torch.from_numpy(test_y.astype(np.int64))

        t0 = time.perf_counter()
        network = DiehlAndCook2015(n_inpt=784, n_neurons=n, exc=args.exc, inh=args.inh, dt=args.dt,
                                   norm=args.norm, theta_plus=args.theta_plus, inpt_shape=(1, 28, 28))
        exc_spikes = Monitor(network.layers["Ae"], state_vars=["s"], time=steps)
        network.add_monitor(exc_spikes, name="Ae_spikes")
        if args.example_monitors:
            network.add_monitor(Monitor(network.layers["Ae"], ["v"], time=steps), name="exc_voltage")
            network.add_monitor(Monitor(network.layers["Ai"], ["v"], time=steps), name="inh_voltage")
            for layer in ("X", "Ai"):
                network.add_monitor(Monitor(network.layers[layer], ["s"], time=steps), name=f"{layer}_spikes")
            for layer in ("Ae", "Ai"):
                network.add_monitor(Monitor(network.layers[layer], ["v"], time=steps), name=f"{layer}_voltages")
        result["build_s"] = time.perf_counter() - t0
        rule = getattr(network.connections[("X", "Ae")].pipeline[0], "learning_rule", None)
        result["learning_rule"] = getattr(rule, "__name__", type(rule).__name__)

        def present(rates_image: torch.Tensor):
            """One image: encode, run, excitatory spike counts [n], reset. Returns (counts, encode_s)."""
            te = time.perf_counter()
            spikes_in = poisson(datum=rates_image.view(1, 28, 28), time=args.time, dt=args.dt)
            encode_s = time.perf_counter() - te
            network.run(inputs={"X": spikes_in.view(steps, 1, 1, 28, 28)}, time=args.time)
            counts = exc_spikes.get("s").view(steps, n).sum(0, dtype=torch.float32)
            network.reset_state_variables()
            return counts, encode_s

        # --- training: one epoch over the first N images, labels every interval ---
        interval = args.update_interval
        record = torch.zeros(interval, 1, n)  # spike counts: assign_labels sums over dim 1 anyway
        assignments = -torch.ones(n, dtype=torch.long)
        proportions = torch.zeros(n, N_CLASSES)
        class_rates = torch.zeros(n, N_CLASSES)
        running = {"all": [], "proportion": []}
        train_spikes = 0.0

        def update_labels(end: int) -> None:
            nonlocal assignments, proportions, class_rates
            k = (end - 1) % interval + 1  # images in this interval
            spikes, labels = record[:k], train_labels[end - k:end]
            if (assignments >= 0).any():  # the example's running estimate, with the previous labels
                for scheme, pred in (("all", all_activity(spikes, assignments, N_CLASSES)),
                                     ("proportion", proportion_weighting(spikes, assignments, proportions,
                                                                         N_CLASSES))):
                    running[scheme].append(float((pred == labels).float().mean()))
            assignments, proportions, class_rates = assign_labels(spikes, labels, N_CLASSES, class_rates)

        network.train(True)
        encode_s = 0.0
        c_start = time.process_time()
        t_start = time.perf_counter()
        for i in range(args.train):
            if i % interval == 0 and i > 0:
                update_labels(i)
            counts, enc = present(train_rates[i])
            encode_s += enc
            record[i % interval, 0] = counts
            train_spikes += float(counts.sum())
        update_labels(args.train)  # the last interval (the example leaves it out)
        train_s = time.perf_counter() - t_start
        train_cpu_s = time.process_time() - c_start
        result.update(train_s=train_s, train_s_per_image=train_s / args.train,
                      train_cpu_s_per_image=train_cpu_s / args.train,
                      train_encode_s_per_image=encode_s / args.train,
                      train_exc_spikes_per_image=train_spikes / args.train,
                      train_running_accuracy=running)

        # --- labels from a frozen pass (learning off) over the last --label
        # training images: libsnn's protocol, so both can be compared on it ---
        network.train(False)
        frozen_assignments = None
        if args.label > 0:
            first = max(0, args.train - args.label)
            label_counts = torch.zeros(args.train - first, 1, n)
            for q, i in enumerate(range(first, args.train)):
                label_counts[q, 0] = present(train_rates[i])[0]
            frozen_assignments = assign_labels(label_counts, train_labels[first:args.train], N_CLASSES)[0]

        # --- test: learning off, the first M test images ---
        test_counts = torch.zeros(args.test, 1, n)
        encode_s = 0.0
        c_start = time.process_time()
        t_start = time.perf_counter()
        for i in range(args.test):
            counts, enc = present(test_rates[i])
            encode_s += enc
            test_counts[i, 0] = counts
        test_s = time.perf_counter() - t_start
        test_cpu_s = time.process_time() - c_start
        pred_all = all_activity(test_counts, assignments, N_CLASSES)
        if frozen_assignments is not None:
            pred_frozen = all_activity(test_counts, frozen_assignments, N_CLASSES)
            result["accuracy_frozen_labels"] = float((pred_frozen == test_labels).float().mean())
        pred_prop = proportion_weighting(test_counts, assignments, proportions, N_CLASSES)
        result["loadavg_after"] = list(os.getloadavg())

        layer = network.layers["Ae"]
        w = network.connections[("X", "Ae")]
        weight = getattr(w, "w", None)
        if weight is None:
            weight = w.pipeline[0].value
        weight = weight.detach().view(784, n)
        result.update(
            status="ok",
            accuracy_all_activity=float((pred_all == test_labels).float().mean()),
            accuracy_proportion=float((pred_prop == test_labels).float().mean()),
            test_abstained=int((pred_all < 0).sum()),
            test_s=test_s, test_s_per_image=test_s / args.test,
            test_cpu_s_per_image=test_cpu_s / args.test,
            test_encode_s_per_image=encode_s / args.test,
            test_exc_spikes_per_image=float(test_counts.sum() / args.test),
            test_silent_images=int((test_counts.view(args.test, n).sum(1) == 0).sum()),
            neurons_labelled=int((assignments >= 0).sum()),
            label_histogram=[int((assignments == c).sum()) for c in range(N_CLASSES)],
            theta_mean_mv=float(layer.theta.mean()), theta_max_mv=float(layer.theta.max()),
            weight_mean=float(weight.mean()), weight_col_sum_mean=float(weight.sum(0).mean()),
            weight_frac_above_0_5=float((weight > 0.5).float().mean()),
            sim_steps_per_image=steps,
        )
    except Exception as exc:  # reported, not raised: a suite can go on
        import traceback

        traceback.print_exc()
        result.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    emit(result)


if __name__ == "__main__":
    main()
