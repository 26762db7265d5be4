"""Loading libsnn through cffi (ABI mode) and turning status codes into errors.

The library is found in this order (Decision 9 of docs/architecture.md):

1. the file named by the environment variable ``SNN_LIBRARY``;
2. the library packaged next to this file: ``libsnn.so.<major>`` on Linux,
   ``libsnn.<major>.dylib`` on macOS, ``snn.dll`` on Windows.

Its major version must equal the major version of the header the bindings
were generated from; otherwise importing :mod:`snn` fails with ImportError.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, NoReturn

import cffi

from ._cdef import CDEF, HEADER_VERSION
from .errors import SnnError, error_class

ffi = cffi.FFI()
ffi.cdef(CDEF)

_HERE = Path(__file__).resolve().parent


def _packaged_candidates(major: int) -> List[Path]:
    if sys.platform.startswith("win") or sys.platform == "cygwin":
        names = ["snn.dll", "libsnn.dll"]
    elif sys.platform == "darwin":
        names = [f"libsnn.{major}.dylib", "libsnn.dylib"]
    else:
        names = [f"libsnn.so.{major}"]
    found = [_HERE / n for n in names]
    if not sys.platform.startswith(("win", "darwin", "cygwin")):
        # A packaging step that did not keep the soname link leaves the real file.
        found += sorted(_HERE.glob(f"libsnn.so.{major}.*"))
    return found


def _load():  # -> the cffi library object
    major = HEADER_VERSION[0]
    env = os.environ.get("SNN_LIBRARY")
    if env:
        try:
            library = ffi.dlopen(env)
        except OSError as exc:
            raise ImportError(f"snn: cannot load SNN_LIBRARY={env!r}: {exc}") from exc
        origin = env
    else:
        candidates = _packaged_candidates(major)
        existing = [p for p in candidates if p.exists()]
        if not existing:
            raise ImportError(
                "snn: the libsnn shared library was not found next to the package "
                f"(looked for {', '.join(p.name for p in candidates[:2])} in {_HERE}). "
                "Install the wheel, or set SNN_LIBRARY to the path of a built "
                f"libsnn (e.g. build/libsnn.so.{major})."
            )
        origin = str(existing[0])
        try:
            library = ffi.dlopen(origin)
        except OSError as exc:
            raise ImportError(f"snn: cannot load {origin}: {exc}") from exc
    check_version(int(library.snn_version()), origin)
    return library, origin


def check_version(version: int, origin: str) -> None:
    """Raises ImportError unless `version` (as snn_version() returns it) has
    the major version of the header these bindings were generated from."""
    major = HEADER_VERSION[0]
    if version // 10000 != major:
        found = f"{version // 10000}.{version // 100 % 100}.{version % 100}"
        raise ImportError(
            f"snn: {origin} is libsnn {found} (major {version // 10000}), but these bindings "
            f"were generated from snn.h {'.'.join(map(str, HEADER_VERSION))} (major {major}); "
            "the major versions must match. Point SNN_LIBRARY at a matching build."
        )


lib, LIBRARY_PATH = _load()

NULL = ffi.NULL


def _message(status: int) -> str:
    text = ffi.string(lib.snn_last_error()).decode("utf-8", "replace")
    if not text:
        text = ffi.string(lib.snn_status_name(status)).decode("ascii", "replace")
    return text


def raise_status(status: int, context: str = "") -> NoReturn:
    """Raises the SnnError subclass for a non-zero status, with the C message."""
    message = _message(status)
    if context:
        message = f"{context}: {message}"
    cls = error_class(status)
    err = cls(message, status)
    if cls is SnnError:  # a code newer than these bindings
        err.status_name = ffi.string(lib.snn_status_name(status)).decode("ascii", "replace")
    raise err


def check(status: int, context: str = "") -> None:
    """Raises for a non-zero status; returns None otherwise."""
    if status:
        raise_status(status, context)


def to_str(ptr) -> str:
    """A C string (or NULL) as str."""
    if ptr == NULL:
        return ""
    return ffi.string(ptr).decode("utf-8", "replace")


def name_bytes(name: str, what: str = "name") -> bytes:
    """A Python str to a NUL-free UTF-8 byte string for the C API."""
    if not isinstance(name, str):
        raise error_class(-1)(f"{what} must be a str, got {type(name).__name__}")
    data = name.encode("utf-8")
    if b"\0" in data:
        raise error_class(-1)(f"{what} must not contain NUL characters: {name!r}")
    return data


__all__ = ["ffi", "lib", "LIBRARY_PATH", "NULL", "check", "raise_status", "to_str", "name_bytes", "SnnError"]


def as_array(x):
    """An array view of `x` without a copy where possible: NumPy arrays as
    they are; objects that speak DLPack (PyTorch, JAX, CuPy on the CPU, ...)
    through numpy.from_dlpack (zero-copy for CPU memory); anything else
    through numpy.asarray."""
    import numpy as np

    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__") and hasattr(np, "from_dlpack"):
        try:
            return np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError, ValueError):
            pass  # e.g. device memory, or a dtype NumPy lacks: fall back to a copy
    return np.asarray(x)
