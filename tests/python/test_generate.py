"""bindings/generate.py: the header -> neutral description -> cffi cdef."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pycparser")

import snn  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bindings" / "generate.py"
COMMITTED = ROOT / "python" / "snn" / "_cdef.py"

spec = importlib.util.spec_from_file_location("snn_generate", SCRIPT)
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


@pytest.fixture(scope="module")
def desc():
    return gen.describe()


def test_committed_cdef_is_current():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_check_detects_stale_output(tmp_path):
    stale = tmp_path / "_cdef.py"
    stale.write_text(COMMITTED.read_text().replace("snn_network_step", "snn_network_stop"))
    assert gen.main(["--check", "--output", str(stale)]) == 1
    assert gen.main(["--check", "--output", str(tmp_path / "missing.py")]) == 1
    assert gen.main(["--output", str(stale)]) == 0
    assert stale.read_text() == COMMITTED.read_text()
    assert gen.main(["--check", "--output", str(stale)]) == 0


def test_description_shape(desc):
    json.dumps(desc)  # plain data, for other generators
    assert desc["version"] == dict(zip(("major", "minor", "patch"), snn.HEADER_VERSION))
    names = [f["name"] for f in desc["functions"]]
    assert len(names) == len(set(names)) and all(n.startswith("snn_") for n in names)
    assert "snn_network_step" in names and "snn_population_view_state" in names
    defines = {d["name"]: d["value"] for d in desc["defines"]}
    assert defines["SNN_DTYPE_FLOAT32"] == 1 and "SNN_API" not in defines and "SNN_SNN_H" not in defines
    (status,) = [e for e in desc["enums"] if e["name"] == "snn_status_code"]
    assert {v["name"]: v["value"] for v in status["values"]}["SNN_INTERNAL"] == -12
    step = next(f for f in desc["functions"] if f["name"] == "snn_network_step")
    assert step["returns"] == {"kind": "name", "name": "snn_status"}
    assert step["params"] == [{"name": "network", "type": {"kind": "pointer",
                                                           "to": {"kind": "name", "name": "snn_network"}}}]
    assert "step" in (step["doc"] or "").lower()
    spike_fn = next(t for t in desc["typedefs"] if t["name"] == "snn_spike_fn")
    assert spike_fn["type"]["kind"] == "pointer" and spike_fn["type"]["to"]["kind"] == "function"
    opaque = {s["name"] for s in desc["structs"] if s["opaque"]}
    assert {"snn_context", "snn_network"} <= opaque


def test_abi_rules_hold(desc):
    """Fixed-width types only in structs; options/info structs start with struct_size."""
    forbidden = {"bool", "_Bool", "long", "size_t", "unsigned long", "long long"}

    def names(t):
        if t["kind"] == "name":
            yield t["name"]
        for key in ("to", "of", "returns"):
            if key in t:
                yield from names(t[key])
        for p in t.get("params", []):
            yield from names(p["type"])

    for s in desc["structs"]:
        for f in s["fields"]:
            assert not (set(names(f["type"])) & forbidden), (s["name"], f["name"])
        if s["fields"] and s["name"] != "snn_tensor":
            assert s["fields"][0] == {"name": "struct_size", "type": {"kind": "name", "name": "uint32_t"},
                                      "doc": None}, s["name"]


def test_every_function_is_exported(desc):
    missing = []
    for f in desc["functions"]:
        try:
            getattr(snn.lib, f["name"])
        except AttributeError:
            missing.append(f["name"])
    assert not missing, f"declared in snn.h but not exported by {snn.LIBRARY_PATH}: {missing}"


def test_struct_layouts_match_between_cffi_and_description(desc):
    for s in desc["structs"]:
        if s["opaque"]:
            continue
        fields = [name for name, _ in snn.ffi.typeof(f"struct {s['name']}").fields]
        assert fields == [f["name"] for f in s["fields"]]


def test_preprocessor():
    text = """
    /* leading comment */
    #ifndef GUARD
    #define GUARD
    #include <stdint.h>
    #define ONE 1
    #define NEG (-3)
    #define HEX 0x10u
    #if defined(_WIN32) || defined(__CYGWIN__)
    #  define API __declspec(dllimport)
    #elif defined(__GNUC__) && !defined(NOPE)
    #  define API __attribute__((visibility("default")))
    #else
    #  define API
    #endif
    #if ONE
    /* Adds. */
    API int32_t add(int32_t a, int32_t b);
    #else
    API int32_t sub(int32_t a, int32_t b);
    #endif
    #endif
    """
    code, defines, comments = gen.preprocess(text)
    assert defines == [("ONE", 1), ("NEG", -3), ("HEX", 16)]
    assert "int32_t add(int32_t a, int32_t b);" in code
    assert "sub" not in code and "API" not in code and "#" not in code
    assert len(code.split("\n")) == len(text.split("\n"))  # line numbers are kept
    assert any("Adds." in c[2] for c in comments)
    with pytest.raises(gen.GenerateError):
        gen.preprocess("#define MAX(a, b) ((a) > (b) ? (a) : (b))\n")
    with pytest.raises(gen.GenerateError):
        gen.preprocess("#include <stdio.h>\n")
    with pytest.raises(gen.GenerateError):
        gen.preprocess("#if 1\nint x;\n")


def test_render_decl():
    fnptr = {"kind": "pointer", "to": {"kind": "function", "returns": {"kind": "name", "name": "void"},
                                       "params": [{"name": "p", "type": {"kind": "pointer",
                                                                         "to": {"kind": "name", "name": "void"}}}]}}
    assert gen.render_decl(fnptr, "cb") == "void (*cb)(void *p)"
    arr = {"kind": "array", "of": {"kind": "name", "name": "int64_t"}, "length": 8}
    assert gen.render_decl(arr, "shape") == "int64_t shape[8]"
    cptr = {"kind": "pointer", "to": {"kind": "name", "name": "char", "const": True}}
    assert gen.render_decl({"kind": "pointer", "to": cptr}, "out") == "const char **out"
