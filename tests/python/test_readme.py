"""The README's Python and C snippets are run as they are written."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def snippet(language: str) -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```" + language + r"\n(.*?)```", text, flags=re.S)
    assert blocks, f"README.md has no {language} block"
    return blocks[0]


def test_python_snippet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = snippet("python")
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "net.snn").exists()


def test_plasticity_snippet():
    """The README's STDP block (Song et al.'s experiment): the weights end
    near the bounds more often than the uniform start."""
    text = (ROOT / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "plasticity=" in b)
    scope = {"__name__": "readme"}
    exec(compile("import numpy as np\nimport snn\n" + code, "README.md", "exec"), scope)
    w = scope["net"].weights(scope["syn"]) / 0.01
    assert ((w < 0.1) | (w > 0.9)).mean() > 0.35  # uniform: 0.2


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_c_snippet(tmp_path):
    library = os.environ.get("SNN_LIBRARY")
    if not library:
        pytest.skip("SNN_LIBRARY is not set (the C snippet links the built library)")
    source = tmp_path / "readme.c"
    source.write_text(snippet("c"))
    exe = tmp_path / "readme"
    libdir = str(pathlib.Path(library).parent)
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", f"-I{ROOT / 'include'}",
                    str(source), library, f"-Wl,-rpath,{libdir}", "-o", str(exe)], check=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
