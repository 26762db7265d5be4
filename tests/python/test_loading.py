"""Finding and loading the shared library, and the version check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import snn
from snn import _lib


def run_python(code, **env_changes):
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    package_root = str(Path(snn.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_loaded_library_matches_header():
    assert snn.lib.snn_version() // 10000 == snn.HEADER_VERSION[0]
    assert snn.LIBRARY_PATH
    if os.environ.get("SNN_LIBRARY"):
        assert snn.LIBRARY_PATH == os.environ["SNN_LIBRARY"]


def test_version_check():
    major, minor, _ = snn.HEADER_VERSION
    _lib.check_version(major * 10000 + minor * 100 + 7, "lib")
    _lib.check_version(major * 10000 + 99 * 100, "lib")  # a newer minor is fine
    with pytest.raises(ImportError, match="major"):
        _lib.check_version((major + 1) * 10000, "libsnn.so")


def test_snn_library_that_does_not_exist():
    result = run_python("import snn", SNN_LIBRARY="/nonexistent/libsnn.so.0")
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "SNN_LIBRARY" in result.stderr


def test_snn_library_env_is_used():
    path = snn.LIBRARY_PATH
    result = run_python("import snn; print(snn.LIBRARY_PATH)", SNN_LIBRARY=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == path
