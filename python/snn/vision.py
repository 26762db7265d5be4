"""An image front end: filter banks, filtering, ZCA whitening, latency coding,
and readers of image files (docs/vision.md states the equations).

The numeric work runs in libsnn's core (``snn_filter_kernels``,
``snn_image_filter``, ``snn_zca_fit``/``_apply``, ``snn_latency_encode``,
``snn_spikes_first_step``/``_count``), so C, Rust and C# get the same bits.
Arrays go in and come out as NumPy arrays; a refused call raises the
:mod:`snn.errors` class of its status with the library's message::

    import snn.vision as V
    k = V.dog_kernels(size=7, sigma1=1.0, sigma2=2.0)             # [1, 7, 7]
    maps = V.filter_images(images, k, padding="same", on_off=True)  # [B, 2, H, W]
    spikes = V.latency_encode(maps, steps=15)                       # [15, B, 2*H*W] uint8

Readers (standard library only): :func:`read_idx` (IDX, as
:func:`snn.datasets.read_idx`), :func:`read_csv` (one image per row),
:func:`read_pnm` (PGM/PPM, P2/P3/P5/P6), :func:`read_png` (8-bit, not
interlaced) and :func:`read_image` (by the file's signature).
"""

from __future__ import annotations

import csv
import struct
import zlib
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from ._lib import NULL, as_array, check, ffi, lib
from .datasets import read_idx
from .errors import FormatError, InvalidArgumentError, ShapeError, UnsupportedError

__all__ = [
    "kernels", "dog_kernels", "log_kernels", "gabor_kernels", "filter_images",
    "zca_fit", "zca_apply", "ZCA",
    "latency_encode", "first_spike_steps", "spike_counts", "poisson_rates",
    "read_idx", "read_csv", "read_pnm", "read_png", "read_image",
]

_PADDINGS = {"valid": lib.SNN_PADDING_VALID, "same": lib.SNN_PADDING_SAME}
_RULES = {"rank": lib.SNN_LATENCY_RANK, "linear": lib.SNN_LATENCY_LINEAR}


def _f32(x: Any, what: str) -> np.ndarray:
    """A C-contiguous float32 copy or view; uint8 images scaled to [0, 1] as
    snn.encode does."""
    arr = as_array(x)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr, dtype=np.float32) / np.float32(255.0)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise InvalidArgumentError(f"{what}: expected real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _flatten(arr: np.ndarray, lead: int) -> np.ndarray:
    """The first `lead` axes kept, the rest flattened into one (empty arrays too)."""
    return arr.reshape(tuple(arr.shape[:lead]) + (int(np.prod(arr.shape[lead:], dtype=np.int64)),))


def _fbuf(arr: np.ndarray, writable: bool = False):
    return ffi.from_buffer("float[]", arr, require_writable=writable)


# --------------------------------------------------------------------------
# Filter banks


def kernels(filter: str = "dog", *, size: int = 7, sigma1: float = 1.0, sigma2: float = 2.0, sigma: float = 1.0,
            wavelength: float = 4.0, gamma: float = 0.5, psi: float = 0.0,
            thetas: Union[int, Sequence[float]] = 4, zero_mean: bool = True) -> np.ndarray:
    """The kernels of a named filter, ``[filters, size, size]`` float32.

    ``filter``: ``"dog"`` (on-centre difference of Gaussians, sigma1 <
    sigma2), ``"log"`` (the negative Laplacian of Gaussian, on-centre) or
    ``"gabor"`` (one kernel per angle: ``thetas`` is a count ``n`` for the
    angles ``k * pi / n`` or a sequence of angles in radians). Lengths are in
    pixels. ``zero_mean`` subtracts each kernel's mean (a uniform image then
    gives 0). Parameters a filter does not use are ignored.
    """
    if not isinstance(filter, str):
        raise InvalidArgumentError(f"filter must be a str, got {filter!r}")
    opts = ffi.new("snn_filter_options*")
    check(lib.snn_filter_options_init(opts, ffi.sizeof("snn_filter_options")))
    name = ffi.new("char[]", filter.encode("utf-8"))
    opts.filter = name
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not -(2**31) <= size < 2**31:
        raise InvalidArgumentError(f"size must be an int32, got {size!r}")
    opts.size = int(size)
    for field, value in (("sigma1", sigma1), ("sigma2", sigma2), ("sigma", sigma), ("wavelength", wavelength),
                         ("gamma", gamma), ("psi", psi)):
        setattr(opts, field, float(value))
    opts.zero_mean = 1 if zero_mean else 0
    keep = None
    if isinstance(thetas, (int, np.integer)) and not isinstance(thetas, bool):
        if not -(2**31) <= int(thetas) < 2**31:
            raise InvalidArgumentError(f"thetas: {thetas} orientations is out of range")
        opts.orientations = int(thetas)
    else:
        angles = np.ascontiguousarray(np.asarray(thetas, dtype=np.float64).reshape(-1))
        if angles.size == 0:
            raise InvalidArgumentError("thetas: no angles given")
        keep = ffi.from_buffer("double[]", angles)
        opts.orientations = angles.size
        opts.thetas = keep
    count = ffi.new("int64_t*")
    filters = ffi.new("int32_t*")
    check(lib.snn_filter_kernels(opts, NULL, 0, count, filters))
    out = np.empty(count[0], dtype=np.float32)
    check(lib.snn_filter_kernels(opts, _fbuf(out, True), out.size, count, filters))
    del keep, name
    return out.reshape(filters[0], int(size), int(size))


def dog_kernels(size: int = 7, sigma1: float = 1.0, sigma2: float = 2.0, zero_mean: bool = True) -> np.ndarray:
    """The on-centre difference of Gaussians ``[1, size, size]``
    (Kheradpisheh et al. 2018 used 7 x 7 with sigma 1 and 2, the defaults).
    Negate it for the off-centre kernel, or use ``on_off`` of
    :func:`filter_images`."""
    return kernels("dog", size=size, sigma1=sigma1, sigma2=sigma2, zero_mean=zero_mean)


def log_kernels(size: int = 7, sigma: float = 1.0, zero_mean: bool = True) -> np.ndarray:
    """The negative Laplacian of Gaussian (on-centre) ``[1, size, size]``."""
    return kernels("log", size=size, sigma=sigma, zero_mean=zero_mean)


def gabor_kernels(size: int = 7, wavelength: float = 4.0, sigma: float = 1.0, gamma: float = 0.5, psi: float = 0.0,
                  thetas: Union[int, Sequence[float]] = 4, zero_mean: bool = True) -> np.ndarray:
    """Gabor kernels ``[orientations, size, size]``: ``thetas`` is a number
    of evenly spaced angles (``k * pi / n``) or the angles in radians."""
    return kernels("gabor", size=size, wavelength=wavelength, sigma=sigma, gamma=gamma, psi=psi, thetas=thetas,
                   zero_mean=zero_mean)


def filter_images(images: Any, kernels: Any, padding: str = "valid", on_off: bool = False) -> np.ndarray:
    """Filters a batch of images with a bank of kernels.

    ``images`` is ``[B, H, W]`` or ``[B, C, H, W]`` (uint8 is scaled to [0,
    1]); ``kernels`` is ``[F, kh, kw]`` (each kernel applied to every
    channel) or ``[F, C, kh, kw]``. The result ``[B, F, H', W']`` float32 is
    PyTorch's conv2d (a cross-correlation, stride 1) summed over channels,
    in float32 in the order channel, kernel row, kernel column; ``padding``
    ``"valid"`` (H' = H - kh + 1) or ``"same"`` (zeros around, H' = H; odd
    kernels). ``on_off`` splits each response r into channels ``max(r, 0)``
    and ``max(-r, 0)``: ``[B, 2F, H', W']``, filter f's on channel at 2f.
    """
    x = _f32(images, "images")
    k = _f32(kernels, "kernels")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ShapeError(f"images: expected [B, H, W] or [B, C, H, W], got shape {tuple(x.shape)}")
    b, c, h, w = x.shape
    if k.ndim == 3:
        k = np.ascontiguousarray(np.repeat(k[:, None], c, axis=1))
    if k.ndim != 4:
        raise ShapeError(f"kernels: expected [F, kh, kw] or [F, C, kh, kw], got shape {tuple(k.shape)}")
    if k.shape[1] != c:
        raise ShapeError(f"kernels: {k.shape[1]} channels, but the images have {c}")
    if padding not in _PADDINGS:
        raise InvalidArgumentError(f"padding must be 'valid' or 'same', got {padding!r}")
    g = ffi.new("snn_image_filter_geometry*")
    check(lib.snn_image_filter_geometry_init(g, ffi.sizeof("snn_image_filter_geometry")))
    dims = (("batch", b), ("channels", c), ("height", h), ("width", w), ("filters", k.shape[0]),
            ("kernel_height", k.shape[2]), ("kernel_width", k.shape[3]))
    for field, value in dims:
        if not 0 <= value < 2**31:
            raise ShapeError(f"{field}: {value} is out of range")
        setattr(g, field, int(value))
    g.padding = _PADDINGS[padding]
    g.on_off = 1 if on_off else 0
    count = ffi.new("int64_t*")
    check(lib.snn_image_filter(g, _fbuf(x), _fbuf(k), NULL, 0, count))
    out = np.empty(count[0], dtype=np.float32)
    check(lib.snn_image_filter(g, _fbuf(x), _fbuf(k), _fbuf(out, True), out.size, count))
    oh, ow = (h, w) if padding == "same" else (h - k.shape[2] + 1, w - k.shape[3] + 1)
    return out.reshape(b, k.shape[0] * (2 if on_off else 1), oh, ow)


# --------------------------------------------------------------------------
# ZCA whitening


def _rows(data: Any) -> np.ndarray:
    x = _f32(data, "data")
    if x.ndim < 2:
        raise ShapeError(f"data: expected [N, ...] rows, got shape {tuple(x.shape)}")
    return _flatten(x, 1)


def zca_fit(data: Any, epsilon: float = 1e-2) -> Tuple[np.ndarray, np.ndarray]:
    """The mean ``[D]`` and ZCA whitening matrix ``[D, D]`` (float32,
    computed in double) of ``data`` ``[N, ...]`` (flattened to ``[N, D]``):
    ``W = U diag(1 / sqrt(lambda + epsilon)) U^T`` of the covariance
    ``(1/N) sum (x - m)(x - m)^T``. ``epsilon`` (>= 0) damps the directions
    of small variance; there is no universal value (it depends on the
    data's scale). Costs O(N D^2 + D^3); meant for D up to a few thousand."""
    x = _rows(data)
    n, d = x.shape
    mean = np.empty(d, dtype=np.float32)
    whitening = np.empty((d, d), dtype=np.float32)
    check(lib.snn_zca_fit(_fbuf(x), n, d, float(epsilon), _fbuf(mean, True), mean.size, _fbuf(whitening, True),
                          whitening.size))
    return mean, whitening


def zca_apply(data: Any, mean: Any, whitening: Any) -> np.ndarray:
    """``W (x - m)`` for each row of ``data`` ``[N, ...]`` (summed in
    double), in the shape of ``data``."""
    arr = as_array(data)
    x = _rows(arr)
    n, d = x.shape
    m = _f32(mean, "mean").reshape(-1)
    w = _f32(whitening, "whitening")
    if m.size != d:
        raise ShapeError(f"mean: {m.size} values; the data has {d} columns")
    if w.shape != (d, d):
        raise ShapeError(f"whitening: shape {tuple(w.shape)}; expected ({d}, {d})")
    out = np.empty((n, d), dtype=np.float32)
    check(lib.snn_zca_apply(_fbuf(x), n, d, _fbuf(m), _fbuf(w), _fbuf(out, True), out.size))
    return out.reshape((n,) + tuple(arr.shape[1:]))


class ZCA:
    """ZCA whitening as an object: ``ZCA(epsilon).fit(train)`` then
    ``transform(x)``. ``mean`` and ``whitening`` hold the fitted arrays."""

    def __init__(self, epsilon: float = 1e-2) -> None:
        self.epsilon = float(epsilon)
        self.mean: Optional[np.ndarray] = None
        self.whitening: Optional[np.ndarray] = None

    def fit(self, data: Any) -> "ZCA":
        self.mean, self.whitening = zca_fit(data, self.epsilon)
        return self

    def transform(self, data: Any) -> np.ndarray:
        if self.mean is None or self.whitening is None:
            from .errors import StateError
            raise StateError("ZCA: call fit() before transform()")
        return zca_apply(data, self.mean, self.whitening)

    def fit_transform(self, data: Any) -> np.ndarray:
        return self.fit(data).transform(data)


# --------------------------------------------------------------------------
# Latency coding and decoders


def latency_encode(values: Any, steps: int, threshold: float = 0.0, rule: str = "rank",
                   output: str = "spikes") -> Any:
    """Intensity-to-latency coding of ``values`` ``[B, ...]`` (flattened to
    ``[B, N]``): one spike or none per neuron in ``steps`` steps, higher
    values earlier; values at or below ``threshold`` never spike.

    ``rule="rank"`` (rank order, as Kheradpisheh et al. 2018): per instance,
    the K neurons above the threshold spike at step ``floor(r * steps / K)``,
    r = how many of them have a strictly greater value (ties spike
    together). ``rule="linear"``: step ``round((1 - clip(v, 0, 1)) * (steps
    - 1))`` (as :func:`snn.encode.latency`). ``output``: ``"spikes"``
    (``[steps, B, N]`` uint8, for a spike_source), ``"steps"`` (``[B, N]``
    int32 first-spike steps, -1 for none) or ``"both"`` (a tuple).
    """
    x = _f32(values, "values")
    if x.ndim < 1:
        raise ShapeError("values: expected [batch, ...], got a scalar")
    x = _flatten(x, 1)
    if rule not in _RULES:
        raise InvalidArgumentError(f"rule must be 'rank' or 'linear', got {rule!r}")
    if output not in ("spikes", "steps", "both"):
        raise InvalidArgumentError(f"output must be 'spikes', 'steps' or 'both', got {output!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not -(2**31) <= steps < 2**31:
        raise InvalidArgumentError(f"steps must be an int32, got {steps!r}")
    b, n = x.shape
    if not 0 <= b < 2**31:
        raise ShapeError(f"values: batch {b} is out of range")
    opts = ffi.new("snn_latency_options*")
    check(lib.snn_latency_options_init(opts, ffi.sizeof("snn_latency_options")))
    opts.rule = _RULES[rule]
    opts.threshold = float(threshold)
    first = np.empty((b, n), dtype=np.int32) if output != "spikes" else None
    spikes = np.empty((max(int(steps), 0), b, n), dtype=np.uint8) if output != "steps" else None
    first_ptr = ffi.from_buffer("int32_t[]", first, require_writable=True) if first is not None else NULL
    spikes_ptr = ffi.from_buffer("uint8_t[]", spikes, require_writable=True) if spikes is not None else NULL
    check(lib.snn_latency_encode(_fbuf(x), b, n, int(steps), opts, first_ptr, first.size if first is not None else 0,
                                 spikes_ptr, spikes.size if spikes is not None else 0))
    if output == "spikes":
        return spikes
    if output == "steps":
        return first
    return first, spikes


def _spike_tensor(spikes: Any) -> np.ndarray:
    s = as_array(spikes)
    if s.ndim < 2:
        raise ShapeError(f"spikes: expected [steps, batch, ...], got shape {tuple(s.shape)}")
    s = _flatten(s, 2)
    if s.dtype not in (np.uint8, np.bool_):
        s = s != 0
    return np.ascontiguousarray(s.view(np.uint8) if s.dtype == np.bool_ else s)


def _decode(fn, spikes: Any) -> np.ndarray:
    s = _spike_tensor(spikes)
    t, b, n = s.shape
    if not 0 <= b < 2**31:
        raise ShapeError(f"spikes: batch {b} is out of range")
    out = np.empty((b, n), dtype=np.int32)
    check(fn(ffi.from_buffer("uint8_t[]", s), t, b, n, ffi.from_buffer("int32_t[]", out, require_writable=True), out.size))
    return out


def first_spike_steps(spikes: Any) -> np.ndarray:
    """The first step with a spike of each neuron of a recorded ``[steps,
    batch, ...]`` spike tensor (nonzero = spike), ``[batch, n]`` int32, -1
    for none."""
    return _decode(lib.snn_spikes_first_step, spikes)


def spike_counts(spikes: Any) -> np.ndarray:
    """The number of steps with a spike of each neuron of ``[steps, batch,
    ...]``, ``[batch, n]`` int32."""
    return _decode(lib.snn_spikes_count, spikes)


def poisson_rates(images: Any, max_rate: float = 63.75) -> np.ndarray:
    """Rates in Hz for a ``poisson`` source, ``[B, N]`` float32: pixel
    intensity times ``max_rate`` (uint8 pixels scaled by 1/255, other values
    taken as [0, 1] and clipped). The default is Diehl & Cook 2015's: pixel
    intensity / 4, at most 63.75 Hz."""
    x = _f32(images, "images")
    if x.ndim < 1:
        raise ShapeError("images: expected [batch, ...], got a scalar")
    x = _flatten(x, 1)
    return (np.clip(x, 0.0, 1.0) * np.float32(max_rate)).astype(np.float32)


# --------------------------------------------------------------------------
# Readers


def read_csv(path: str, shape: Optional[Sequence[int]] = None, label_column: Optional[int] = None,
             delimiter: str = ",") -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Images stored one per row of a CSV file (as the MNIST CSV files:
    ``label, p0, p1, ...``). Returns ``(images, labels)``: images ``[N,
    *shape]`` (``[N, D]`` without ``shape``), uint8 when every value is an
    integer in [0, 255], else float32; labels ``[N]`` int64 from
    ``label_column`` (removed from the pixels), or None. A first row that is
    not numeric is taken as a header and skipped."""
    rows = []
    with open(path, newline="") as f:
        for k, row in enumerate(csv.reader(f, delimiter=delimiter)):
            if not row or all(not cell.strip() for cell in row):
                continue
            try:
                rows.append([float(cell) for cell in row])
            except ValueError:
                if k == 0 and not rows:
                    continue  # a header
                raise FormatError(f"{path}: line {k + 1} has a value that is not a number") from None
    if not rows:
        raise FormatError(f"{path}: no rows of numbers")
    width = len(rows[0])
    for k, row in enumerate(rows):
        if len(row) != width:
            raise FormatError(f"{path}: row {k + 1} has {len(row)} values; the first has {width}")
    table = np.asarray(rows, dtype=np.float64)
    labels = None
    if label_column is not None:
        if not -width <= label_column < width:
            raise InvalidArgumentError(f"label_column: {label_column} is outside the {width} columns")
        col = table[:, label_column]
        if not np.all(col == np.round(col)):
            raise FormatError(f"{path}: label column {label_column} holds values that are not integers")
        labels = col.astype(np.int64)
        table = np.delete(table, label_column % width, axis=1)
    if np.all(table == np.round(table)) and table.min() >= 0 and table.max() <= 255:
        images = table.astype(np.uint8)
    else:
        images = table.astype(np.float32)
    if shape is not None:
        dims = tuple(int(s) for s in shape)
        if int(np.prod(dims)) != images.shape[1]:
            raise ShapeError(f"shape: {dims} holds {int(np.prod(dims))} values; the rows have {images.shape[1]}")
        images = images.reshape((images.shape[0],) + dims)
    return images, labels


def _pnm_tokens(data: bytes, count: int, path: str) -> Tuple[list, int]:
    """The first `count` whitespace-separated header tokens (skipping #
    comments) and the offset after them."""
    tokens, i = [], 0
    while len(tokens) < count:
        while i < len(data) and (data[i:i + 1].isspace() or data[i:i + 1] == b"#"):
            if data[i:i + 1] == b"#":
                while i < len(data) and data[i:i + 1] not in (b"\n", b"\r"):
                    i += 1
            else:
                i += 1
        start = i
        while i < len(data) and not data[i:i + 1].isspace() and data[i:i + 1] != b"#":
            i += 1
        if start == i:
            raise FormatError(f"{path}: truncated PNM header")
        tokens.append(data[start:i])
    return tokens, i


def read_pnm(path: str) -> np.ndarray:
    """A PGM (P2, P5) or PPM (P3, P6) image: ``[H, W]`` or ``[H, W, 3]``,
    uint8 for maxval <= 255, else uint16."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:2]
    if magic not in (b"P2", b"P3", b"P5", b"P6"):
        if magic in (b"P1", b"P4", b"P7"):
            raise UnsupportedError(f"{path}: {magic.decode()} (bitmap or PAM) images are not read; use PGM or PPM")
        raise FormatError(f"{path}: not a PGM or PPM file")
    tokens, i = _pnm_tokens(data[2:], 3, path)
    i += 2
    try:
        width, height, maxval = (int(t) for t in tokens)
    except ValueError:
        raise FormatError(f"{path}: the PNM header's sizes are not integers") from None
    if width < 1 or height < 1 or not 1 <= maxval <= 65535:
        raise FormatError(f"{path}: width {width}, height {height}, maxval {maxval} out of range")
    channels = 3 if magic in (b"P3", b"P6") else 1
    count = width * height * channels
    dtype = np.uint8 if maxval <= 255 else np.uint16
    if magic in (b"P5", b"P6"):
        i += 1  # the single whitespace character after maxval
        size = 1 if maxval <= 255 else 2
        body = data[i:i + count * size]
        if len(body) != count * size:
            raise FormatError(f"{path}: {len(body)} bytes of pixels; the header announces {count * size}")
        values = np.frombuffer(body, dtype=np.uint8 if size == 1 else ">u2").astype(dtype)
    else:
        fields = data[i:].split()
        if len(fields) < count:
            raise FormatError(f"{path}: {len(fields)} pixel values; the header announces {count}")
        try:
            values = np.array([int(v) for v in fields[:count]], dtype=np.int64)
        except ValueError:
            raise FormatError(f"{path}: a pixel value is not an integer") from None
        values = values.astype(dtype)
    if values.max(initial=0) > maxval:
        raise FormatError(f"{path}: a pixel value exceeds maxval {maxval}")
    return values.reshape((height, width, 3) if channels == 3 else (height, width))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def _unfilter(raw: bytes, height: int, stride: int, bpp: int, path: str) -> np.ndarray:
    """Undoes the PNG row filters (None, Sub, Up, Average, Paeth)."""
    if len(raw) != height * (stride + 1):
        raise FormatError(f"{path}: {len(raw)} bytes of image data; {height * (stride + 1)} expected")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        kind = rows[y, 0]
        line = rows[y, 1:].astype(np.int64)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: a running sum per channel
            cur = np.cumsum(line.reshape(-1, bpp), axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # Up
            cur = (line + prev) & 0xFF
        elif kind in (3, 4):  # Average, Paeth: each byte depends on the one before
            cur = line.copy()
            p = prev.tolist()
            c = cur.tolist()
            for x in range(stride):
                a = c[x - bpp] if x >= bpp else 0
                b = p[x]
                if kind == 3:
                    c[x] = (c[x] + ((a + b) >> 1)) & 0xFF
                else:
                    cc = p[x - bpp] if x >= bpp else 0
                    est = a + b - cc
                    pa, pb, pc = abs(est - a), abs(est - b), abs(est - cc)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
                    c[x] = (c[x] + pred) & 0xFF
            cur = np.asarray(c, dtype=np.int64)
        else:
            raise FormatError(f"{path}: row {y} has filter type {kind}; PNG defines 0 to 4")
        out[y] = cur
        prev = cur
    return out


def read_png(path: str) -> np.ndarray:
    """An 8-bit PNG image (not interlaced): ``[H, W]`` (grayscale), ``[H, W,
    2]`` (grayscale + alpha), ``[H, W, 3]`` (RGB) or ``[H, W, 4]`` (RGBA),
    uint8. Chunk CRCs are checked. Other bit depths, palettes and Adam7
    interlacing raise UnsupportedError."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(_PNG_SIGNATURE):
        raise FormatError(f"{path}: not a PNG file")
    i, header, idat = len(_PNG_SIGNATURE), None, []
    while True:
        if i + 8 > len(data):
            raise FormatError(f"{path}: truncated PNG (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        body = data[i + 8:i + 8 + length]
        if len(body) != length or i + 12 + length > len(data):
            raise FormatError(f"{path}: truncated {kind.decode('latin-1')} chunk")
        (crc,) = struct.unpack(">I", data[i + 8 + length:i + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise FormatError(f"{path}: the CRC of a {kind.decode('latin-1')} chunk does not match")
        i += 12 + length
        if kind == b"IHDR":
            if length != 13:
                raise FormatError(f"{path}: IHDR of {length} bytes")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise FormatError(f"{path}: no IHDR chunk")
    width, height, depth, color, compression, filtering, interlace = header
    if width < 1 or height < 1 or compression != 0 or filtering != 0:
        raise FormatError(f"{path}: bad IHDR (width {width}, height {height}, method {compression}/{filtering})")
    if color not in _PNG_CHANNELS or depth != 8:
        raise UnsupportedError(f"{path}: colour type {color} at bit depth {depth}; only 8-bit grayscale, "
                               "grayscale + alpha, RGB and RGBA are read")
    if interlace != 0:
        raise UnsupportedError(f"{path}: Adam7-interlaced PNG is not read")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise FormatError(f"{path}: the image data does not decompress: {e}") from None
    channels = _PNG_CHANNELS[color]
    pixels = _unfilter(raw, height, width * channels, channels, path)
    return pixels.reshape((height, width) if channels == 1 else (height, width, channels))


def read_image(path: str) -> np.ndarray:
    """A PNG, PGM or PPM image, chosen by the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_PNG_SIGNATURE):
        return read_png(path)
    if head[:1] == b"P" and head[1:2].isdigit():
        return read_pnm(path)
    raise FormatError(f"{path}: neither PNG nor PGM/PPM")
