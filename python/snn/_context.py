"""Contexts: a backend with its threads and resources, shared by networks."""

from __future__ import annotations

import threading
from typing import Dict, Optional, Tuple

from ._lib import check, ffi, lib, name_bytes, to_str
from .errors import InvalidArgumentError

__all__ = ["Context"]


class _ContextHandle:
    """Owns an snn_context*. Destroyed once it is closed and no network uses it,
    whatever order the garbage collector finalizes things in."""

    _destroy = lib.snn_context_destroy

    def __init__(self, ptr) -> None:
        self.ptr = ptr
        self.users = 0
        self.closed = False

    def acquire(self) -> None:
        self.users += 1

    def release(self) -> None:
        self.users -= 1
        self._maybe_destroy()

    def close(self) -> None:
        self.closed = True
        self._maybe_destroy()

    def _maybe_destroy(self) -> None:
        if self.closed and self.users <= 0 and self.ptr is not None:
            ptr, self.ptr = self.ptr, None
            self._destroy(ptr)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


class Context:
    """A backend with its worker threads, shared by the networks created on it.

    Networks that name no context share one default context per
    ``(backend, threads)`` (see :meth:`Context.default`); create one explicitly
    to control its lifetime or to keep networks apart. A context is thread-safe
    and lives as long as any network created on it.

    Args:
        backend: ``"auto"`` (the best this build has) or a name from
            :func:`snn.backends`, e.g. ``"reference"``.
        threads: worker threads; 0 means one per hardware core.
        simd: the ``"cpu"`` backend's SIMD level: ``"auto"`` (the best this
            CPU runs, or ``$SNN_CPU_SIMD``), ``"avx512"``, ``"avx2"`` or
            ``"generic"``. Every level gives bit-identical results.

    Example::

        ctx = snn.Context(backend="reference", threads=1)
        net = snn.Network(dt=1e-4, context=ctx)
    """

    _defaults: Dict[Tuple[str, int], "Context"] = {}
    _defaults_lock = threading.Lock()

    def __init__(self, backend: str = "auto", threads: int = 0, simd: str = "auto") -> None:
        if backend is None:
            backend = "auto"
        name = name_bytes(backend, "backend")
        simd_name = name_bytes(simd or "auto", "simd")
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
            raise InvalidArgumentError(f"threads must be an int >= 0, got {threads!r}")
        opts = ffi.new("snn_context_options*")
        check(lib.snn_context_options_init(opts, ffi.sizeof("snn_context_options")))
        opts.backend = name_buf = ffi.new("char[]", name)
        opts.threads = threads
        opts.simd = simd_buf = ffi.new("char[]", simd_name)
        out = ffi.new("snn_context**")
        check(lib.snn_context_create(opts, out), f"cannot create a context for backend {backend!r}")
        del name_buf, simd_buf
        self._h = _ContextHandle(out[0])
        self._requested = backend

    @classmethod
    def default(cls, backend: Optional[str] = None, threads: Optional[int] = None) -> "Context":
        """The shared context for ``(backend, threads)`` (defaults ``"auto"``, 0),
        created on first use and kept for the life of the process."""
        key = (backend or "auto", threads or 0)
        with cls._defaults_lock:
            ctx = cls._defaults.get(key)
            if ctx is None:
                ctx = cls(*key)
                cls._defaults[key] = ctx
            return ctx

    @property
    def backend(self) -> str:
        """The backend this context runs; after ``"auto"``, the one picked."""
        out = ffi.new("const char**")
        check(lib.snn_context_backend(self._h.ptr, out))
        return to_str(out[0])

    @property
    def threads(self) -> int:
        """The number of worker threads."""
        out = ffi.new("int32_t*")
        check(lib.snn_context_threads(self._h.ptr, out))
        return int(out[0])

    @property
    def simd(self) -> str:
        """The SIMD level the backend runs (``"scalar"`` for ``"reference"``)."""
        out = ffi.new("const char**")
        check(lib.snn_context_simd(self._h.ptr, out))
        return to_str(out[0])

    def __repr__(self) -> str:
        if self._h.ptr is None:
            return "Context(<closed>)"
        return f"Context(backend={self.backend!r}, threads={self.threads}, simd={self.simd!r})"
