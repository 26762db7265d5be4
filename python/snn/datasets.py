"""Data sets read from local files, never downloaded.

* :func:`fashion_mnist` reads the IDX files of Fashion-MNIST from a folder:
  by default where Debian's ``dataset-fashion-mnist`` package puts them
  (``/usr/share/datasets/fashion-mnist``), else ``$SNN_FASHION_MNIST``.
* :func:`read_idx` reads any IDX file (gzip-compressed or not).
* :func:`digits` returns scikit-learn's bundled 8x8 digits (needs
  scikit-learn; nothing is downloaded).
"""

from __future__ import annotations

import gzip
import os
from typing import Optional, Tuple

import numpy as np

from .errors import InvalidArgumentError, NotFoundError

__all__ = ["fashion_mnist", "read_idx", "digits", "FASHION_MNIST_CLASSES"]

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")
_DEFAULT_FOLDERS = ("/usr/share/datasets/fashion-mnist",)
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """An IDX file (the MNIST format: magic 0 0 type ndim, big-endian sizes,
    then the values) as an array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise InvalidArgumentError(f"{path}: not an IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InvalidArgumentError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    count = int(np.prod(shape)) if shape else 1
    if len(data) - header != count * dtype.itemsize:
        raise InvalidArgumentError(f"{path}: {len(data) - header} bytes of values; the header announces {count * dtype.itemsize}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: str, stem: str) -> str:
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise NotFoundError(f"{stem}(.gz) is not in {folder}")


def fashion_mnist(split: str = "train", folder: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images ``[N, 28, 28]`` (uint8) and labels ``[N]``
    (int64) of ``split`` "train" (60 000) or "test" (10 000)."""
    if split not in ("train", "test"):
        raise InvalidArgumentError(f"split must be 'train' or 'test', got {split!r}")
    candidates = [folder] if folder else [os.environ.get("SNN_FASHION_MNIST", ""), *_DEFAULT_FOLDERS]
    for candidate in filter(None, candidates):
        if os.path.isdir(candidate):
            prefix = "train" if split == "train" else "t10k"
            images = read_idx(_find(candidate, f"{prefix}-images-idx3-ubyte"))
            labels = read_idx(_find(candidate, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
            if images.shape[0] != labels.shape[0]:
                raise InvalidArgumentError(f"{candidate}: {images.shape[0]} images but {labels.shape[0]} labels")
            return images, labels
    raise NotFoundError("Fashion-MNIST: no folder of IDX files found; install Debian's dataset-fashion-mnist "
                        "(apt-get install dataset-fashion-mnist), or give folder= or $SNN_FASHION_MNIST")


def digits() -> Tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits: images ``[1797, 8, 8]``
    scaled to [0, 1] (float32) and labels ``[1797]`` (int64)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise NotFoundError("digits() needs scikit-learn (pip install scikit-learn)") from e
    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)
