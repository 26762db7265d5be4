"""Errors: one class per status code, with the C message, mapped onto the
built-in exceptions Python code expects."""

import pickle

import numpy as np
import pytest

import snn
from snn import errors

CLASSES = [
    (snn.InvalidArgumentError, -1, "SNN_INVALID_ARGUMENT", ValueError),
    (snn.NotFoundError, -2, "SNN_NOT_FOUND", KeyError),
    (snn.OutOfRangeError, -3, "SNN_OUT_OF_RANGE", IndexError),
    (snn.ShapeError, -4, "SNN_SHAPE", ValueError),
    (snn.StateError, -5, "SNN_STATE", RuntimeError),
    (snn.FormatError, -6, "SNN_FORMAT", ValueError),
    (snn.SnnIOError, -7, "SNN_IO", OSError),
    (snn.NoMemoryError, -8, "SNN_NO_MEMORY", MemoryError),
    (snn.UnsupportedError, -9, "SNN_UNSUPPORTED", NotImplementedError),
    (snn.BackendError, -10, "SNN_BACKEND", RuntimeError),
    (snn.CancelledError, -11, "SNN_CANCELLED", snn.SnnError),
    (snn.InternalError, -12, "SNN_INTERNAL", RuntimeError),
]


@pytest.mark.parametrize("cls,status,name,builtin", CLASSES)
def test_classes(cls, status, name, builtin):
    assert issubclass(cls, snn.SnnError) and issubclass(cls, builtin)
    assert cls.status == status and cls.status_name == name
    assert errors.error_class(status) is cls
    # The status values are the header's.
    assert getattr(snn.lib, name) == status
    assert snn.ffi.string(snn.lib.snn_status_name(status)).decode() == name
    err = cls("a message")
    assert str(err) == "a message" and err.message == "a message" and err.status == status
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls and str(copy) == "a message"


def test_unknown_status_is_base_class():
    assert errors.error_class(-99) is snn.SnnError
    assert errors.error_class(0) is snn.SnnError


def test_messages_come_from_the_library():
    net = snn.Network(backend="reference")
    pop = net.population("p", 3, "lif")
    with pytest.raises(snn.NotFoundError) as info:
        net.state(pop, "no_such_variable")
    err = info.value
    assert err.status == snn.lib.SNN_NOT_FOUND
    assert "no_such_variable" in str(err)
    assert isinstance(err, KeyError)
    # str() is the message, not KeyError's quoted repr.
    assert not str(err).startswith(("'", '"'))
    # The failure does not leave an error behind for later calls.
    net.step()


def test_c_errors_map_to_classes():
    net = snn.Network(backend="reference")
    a = net.population("a", 3, "spike_source")
    b = net.population("b", 2, "lif")
    with pytest.raises(snn.SnnError) as info:
        net.population("a", 3, "lif")  # duplicate name
    assert info.value.status < 0 and str(info.value)
    with pytest.raises((snn.InvalidArgumentError, snn.NotFoundError)):
        net.population("c", 3, "no_such_model")
    with pytest.raises(snn.ShapeError):
        net.connect(a, b, one_to_one=True, weight=1.0)  # sizes differ
    net.step()
    with pytest.raises(snn.StateError):
        net.population("late", 1, "lif")


def test_python_checks_use_the_same_classes():
    net = snn.Network(backend="reference")
    src = net.population("src", 3, "spike_source")
    with pytest.raises(snn.ShapeError):
        net.step(inputs={src: np.zeros((1, 4), bool)})
    with pytest.raises(snn.InvalidArgumentError):
        net.step(inputs={src: np.array(["a", "b", "c"])})
    with pytest.raises(snn.NotFoundError):
        net.populations["missing"]
    with pytest.raises(snn.InvalidArgumentError):
        net.population(3, 3, "lif")
    with pytest.raises(snn.InvalidArgumentError):
        net.population("x\0y", 3, "lif")
