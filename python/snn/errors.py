"""Exceptions raised by libsnn.

Every failed C call raises the subclass of :class:`SnnError` that matches its
status code, carrying the status (``err.status``, ``err.status_name``) and the
library's message (``str(err)``). Checks made in Python before a call raise the
same classes, so one ``except`` clause covers both.

Each class also derives from the built-in exception a Python user would expect,
so code written against built-ins keeps working:

=======================  ====================  ==============================
class                    status                also a
=======================  ====================  ==============================
InvalidArgumentError     SNN_INVALID_ARGUMENT  ValueError
NotFoundError            SNN_NOT_FOUND         KeyError (LookupError)
OutOfRangeError          SNN_OUT_OF_RANGE      IndexError (LookupError)
ShapeError               SNN_SHAPE             ValueError
StateError               SNN_STATE             RuntimeError
FormatError              SNN_FORMAT            ValueError
SnnIOError               SNN_IO                OSError
NoMemoryError            SNN_NO_MEMORY         MemoryError
UnsupportedError         SNN_UNSUPPORTED       NotImplementedError
BackendError             SNN_BACKEND           RuntimeError
CancelledError           SNN_CANCELLED         (SnnError only)
InternalError            SNN_INTERNAL          RuntimeError
=======================  ====================  ==============================
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "SnnError",
    "InvalidArgumentError",
    "NotFoundError",
    "OutOfRangeError",
    "ShapeError",
    "StateError",
    "FormatError",
    "SnnIOError",
    "NoMemoryError",
    "UnsupportedError",
    "BackendError",
    "CancelledError",
    "InternalError",
    "error_class",
]


class SnnError(Exception):
    """Base class of every libsnn error.

    Attributes:
        status: the C status code (a negative int, ``SNN_*`` in snn.h).
        status_name: the code's name, e.g. ``"SNN_SHAPE"``.
        message: the library's (or the Python layer's) explanation.
    """

    status: int = 0
    status_name: str = "SNN_ERROR"

    def __init__(self, message: str = "", status: Optional[int] = None) -> None:
        # One positional argument only: OSError and KeyError give extra
        # arguments meanings of their own.
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        # KeyError would show repr(message); keep every class readable.
        return self.message or self.status_name

    def __reduce__(self):  # keeps pickling working despite the keyword argument
        return (self.__class__, (self.message, self.status))


class InvalidArgumentError(SnnError, ValueError):
    """A bad value, a wrong type, or an unknown name (``SNN_INVALID_ARGUMENT``)."""

    status = -1
    status_name = "SNN_INVALID_ARGUMENT"


class NotFoundError(SnnError, KeyError):
    """A name that matches no population, connection or variable (``SNN_NOT_FOUND``)."""

    status = -2
    status_name = "SNN_NOT_FOUND"


class OutOfRangeError(SnnError, IndexError):
    """An id or index outside its range (``SNN_OUT_OF_RANGE``)."""

    status = -3
    status_name = "SNN_OUT_OF_RANGE"


class ShapeError(SnnError, ValueError):
    """An array of the wrong size or shape (``SNN_SHAPE``)."""

    status = -4
    status_name = "SNN_SHAPE"


class StateError(SnnError, RuntimeError):
    """The object cannot do this now, e.g. adding a population after the first
    step, or changing the batch while views are alive (``SNN_STATE``)."""

    status = -5
    status_name = "SNN_STATE"


class FormatError(SnnError, ValueError):
    """A file or buffer that is not a valid ``.snn`` (``SNN_FORMAT``)."""

    status = -6
    status_name = "SNN_FORMAT"


class SnnIOError(SnnError, OSError):
    """The operating system refused a file operation (``SNN_IO``)."""

    status = -7
    status_name = "SNN_IO"


class NoMemoryError(SnnError, MemoryError):
    """The allocator returned NULL (``SNN_NO_MEMORY``)."""

    status = -8
    status_name = "SNN_NO_MEMORY"


class UnsupportedError(SnnError, NotImplementedError):
    """Valid, but not supported by this build or backend (``SNN_UNSUPPORTED``)."""

    status = -9
    status_name = "SNN_UNSUPPORTED"


class BackendError(SnnError, RuntimeError):
    """A backend failed or is unavailable (``SNN_BACKEND``)."""

    status = -10
    status_name = "SNN_BACKEND"


class CancelledError(SnnError):
    """A spike callback asked the run to stop (``SNN_CANCELLED``).

    Python callbacks registered with :meth:`snn.Network.on_spike` never cause
    it: an exception they raise is re-raised as itself, and returning ``True``
    ends the run normally.
    """

    status = -11
    status_name = "SNN_CANCELLED"


class InternalError(SnnError, RuntimeError):
    """A bug in libsnn; please report it (``SNN_INTERNAL``)."""

    status = -12
    status_name = "SNN_INTERNAL"


_BY_STATUS: Dict[int, Type[SnnError]] = {
    cls.status: cls
    for cls in (
        InvalidArgumentError, NotFoundError, OutOfRangeError, ShapeError, StateError,
        FormatError, SnnIOError, NoMemoryError, UnsupportedError, BackendError,
        CancelledError, InternalError,
    )
}


def error_class(status: int) -> Type[SnnError]:
    """The exception class for a status code (:class:`SnnError` for codes
    this version does not know)."""
    return _BY_STATUS.get(status, SnnError)
