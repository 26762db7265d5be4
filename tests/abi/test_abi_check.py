"""tools/abi-check catches incompatible changes of the C ABI and lets
compatible ones through.

Each case edits a copy of include/snn/snn.h, builds a stand-in libsnn from it
(every function of the header, with an empty body, compiled as C++ with debug
information, hidden visibility and the soname libsnn.so.<N>, as the real
library is) and runs tools/abi-check against a baseline made by
tools/abi-baseline from the unedited header. The real library is checked
against the committed baseline by tools/test-packaging.

    python3 -m pytest -q tests/abi
"""
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings"))
import generate  # noqa: E402  (bindings/generate.py: the header parser)

ABI_CHECK = ROOT / "tools" / "abi-check"
ABI_BASELINE = ROOT / "tools" / "abi-baseline"
HEADER = (ROOT / "include" / "snn" / "snn.h").read_text()

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("abidw", "abidiff", "c++")), reason="needs abigail-tools and a C++ compiler")

# The private definitions of the opaque handles, as the C++ core has them.
INTERNALS = """
#include <vector>
struct snn_context { int threads; std::vector<double> scratch; };
struct snn_network { snn_context* context; std::vector<float> state; };
__attribute__((visibility("hidden"))) int snn_internal_helper(snn_network* n) { return (int)n->state.size(); }
"""
# The same, changed in every way that is not part of the ABI.
INTERNALS_CHANGED = """
#include <map>
#include <string>
#include <vector>
struct snn_context { std::map<std::string, long> options; double clock; };
struct snn_network { std::vector<int> ids; snn_context* context; char name[64]; };
__attribute__((visibility("hidden"))) double snn_internal_helper(snn_context* c, int k) { return c->clock * k; }
__attribute__((visibility("hidden"))) int snn_internal_other(void) { return 3; }
"""


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"the header no longer contains {old!r}: update this test"
    return text.replace(old, new, 1)


def add_before_end(text: str, decl: str) -> str:
    return edit(text, "#ifdef __cplusplus\n}\n#endif", decl + "\n\n#ifdef __cplusplus\n}\n#endif")


def stub_source(header: pathlib.Path, internals: str) -> str:
    desc = generate.describe(header)
    out = ["#include <snn/snn.h>", internals]
    for fn in desc["functions"]:
        params = [dict(p, name=p["name"] or f"p{i}") for i, p in enumerate(fn["params"])]
        decl = generate.render_decl({"kind": "function", "returns": fn["returns"], "params": params}, fn["name"])
        void = fn["returns"] == {"kind": "name", "name": "void"}
        unused = "".join(f"(void){p['name']}; " for p in params)
        out.append(f"extern \"C\" SNN_API {decl} {{ {unused}{'' if void else 'return 0; '}}}")
    return "\n".join(out) + "\n"


def build(tmp: pathlib.Path, name: str, header_text: str, abi_version: int = 0, internals: str = INTERNALS):
    """A stand-in libsnn.so.<abi_version> for header_text: (library, headers dir)."""
    d = tmp / name
    (d / "include" / "snn").mkdir(parents=True)
    header = d / "include" / "snn" / "snn.h"
    header.write_text(header_text)
    src = d / "stub.cpp"
    src.write_text(stub_source(header, internals))
    lib = d / f"libsnn.so.{abi_version}"
    subprocess.run(["c++", "-std=c++17", "-g", "-O1", "-shared", "-fPIC", "-fvisibility=hidden",
                    "-DSNN_BUILDING_LIBRARY", f"-I{d / 'include'}", str(src), f"-Wl,-soname,libsnn.so.{abi_version}",
                    "-o", str(lib)], check=True)
    return lib, d / "include" / "snn"


def run(tool, lib, headers, baseline, *extra):
    r = subprocess.run([str(tool), str(lib), "--headers", str(headers), "--baseline", str(baseline), *extra],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A baseline from the unedited header."""
    tmp = tmp_path_factory.mktemp("abi")
    lib, headers = build(tmp, "base", HEADER)
    rc, out = run(ABI_BASELINE, lib, headers, tmp / "abi")
    assert rc == 0, out
    return tmp / "abi"


def check(tmp_path, base, header_text, **kw):
    lib, headers = build(tmp_path, "variant", header_text, **kw)
    return run(ABI_CHECK, lib, headers, base, "--no-history")


# ---------------------------------------------------------------- passes

def test_unchanged_passes(tmp_path, base):
    rc, out = check(tmp_path, base, HEADER)
    assert rc == 0, out
    assert "compatible with the baseline (libsnn.so.0" in out


def test_internal_changes_pass(tmp_path, base):
    """The C++ core's types and hidden functions are not part of the ABI."""
    rc, out = check(tmp_path, base, HEADER, internals=INTERNALS_CHANGED)
    assert rc == 0, out
    assert "additions" not in out


def test_added_function_passes_and_is_listed(tmp_path, base):
    header = add_before_end(HEADER, "SNN_API snn_status snn_network_extra(snn_network* network, int32_t value);")
    rc, out = check(tmp_path, base, header)
    assert rc == 0, out
    assert "snn_network_extra" in out and "record the additions with tools/abi-baseline" in out


def test_added_constants_pass(tmp_path, base):
    header = edit(HEADER, "#define SNN_DTYPE_BOOL 6", "#define SNN_DTYPE_BOOL 6\n#define SNN_DTYPE_FLOAT16 7")
    header = edit(header, "SNN_INTERNAL = -12", "SNN_INTERNAL = -12,\n    SNN_TIMEOUT = -13")
    rc, out = check(tmp_path, base, header)
    assert rc == 0, out
    assert "constant SNN_DTYPE_FLOAT16 = 7 was added" in out and "SNN_TIMEOUT" in out


def test_field_appended_to_options_struct_passes(tmp_path, base):
    """Structs that begin with struct_size may grow at the end: a field that
    grows the struct, and one that fills its tail padding."""
    header = edit(HEADER, "    void* parallel_for_user_data;\n} snn_context_options;",
                  "    void* parallel_for_user_data;\n    double new_knob;\n} snn_context_options;")
    header = edit(header, "    int32_t batch;  /* number of instances (and initial capacity); default 1 */\n",
                  "    int32_t batch;  /* number of instances (and initial capacity); default 1 */\n"
                  "    int32_t new_flags;\n")
    rc, out = check(tmp_path, base, header)
    assert rc == 0, out
    assert "field snn_context_options.new_knob appended" in out, out
    assert "field snn_network_options.new_flags appended" in out, out


# ---------------------------------------------------------------- failures

@pytest.mark.parametrize("case,old,new,expect", [
    ("removed function",
     "SNN_API snn_status snn_network_reset(snn_network* network);", "", "snn_network_reset"),
    ("changed parameter type",
     "SNN_API snn_status snn_network_run(snn_network* network, int64_t steps);",
     "SNN_API snn_status snn_network_run(snn_network* network, int32_t steps);", "snn_network_run"),
    ("changed return type",
     "SNN_API uint32_t snn_version(void);", "SNN_API uint64_t snn_version(void);", "snn_version"),
    ("added parameter",
     "SNN_API snn_status snn_network_step(snn_network* network);",
     "SNN_API snn_status snn_network_step(snn_network* network, int32_t flags);", "snn_network_step"),
    ("changed field type in an options struct",
     "    int32_t batch;  /* number of instances", "    int64_t batch;  /* number of instances",
     "snn_network_options"),
    ("field inserted in the middle of an options struct",
     "    int32_t threads;       /* worker threads",
     "    int32_t flags;\n    int32_t threads;       /* worker threads", "snn_context_options"),
    ("field removed from an options struct",
     "    void* parallel_for_user_data;\n} snn_context_options;", "} snn_context_options;", "snn_context_options"),
    ("changed field type in snn_tensor",
     "    int32_t dtype;       /* SNN_DTYPE_* */", "    int64_t dtype;       /* SNN_DTYPE_* */", "snn_tensor"),
    ("field appended to snn_tensor (no struct_size)",
     "    void (*deleter)(snn_tensor* self);\n};", "    void (*deleter)(snn_tensor* self);\n    int64_t extra;\n};",
     "snn_tensor"),
    ("changed callback type",
     "typedef int32_t (*snn_spike_fn)(int32_t population, int64_t step,",
     "typedef int32_t (*snn_spike_fn)(int32_t population, int32_t step,", "snn_spike_fn"),
    ("changed #define value", "#define SNN_DTYPE_BOOL 6", "#define SNN_DTYPE_BOOL 7",
     "constant SNN_DTYPE_BOOL changed from 6 to 7"),
    ("removed #define", "#define SNN_SAVE_CURRENT_STATE 1", "", "constant SNN_SAVE_CURRENT_STATE was removed"),
    ("renumbered status code", "SNN_INTERNAL = -12", "SNN_INTERNAL = -13",
     "constant SNN_INTERNAL changed from -12 to -13"),
])
def test_incompatible_change_fails(tmp_path, base, case, old, new, expect):
    rc, out = check(tmp_path, base, edit(HEADER, old, new))
    assert rc == 1, f"{case}: abi-check passed:\n{out}"
    assert "FAIL" in out and expect in out, f"{case}:\n{out}"
    assert "raise the ABI version" in out


# ---------------------------------------------------------------- raising the ABI version

REMOVED = edit(HEADER, "SNN_API snn_status snn_network_reset(snn_network* network);", "")


def test_raised_abi_version_needs_a_new_baseline(tmp_path, base):
    rc, out = check(tmp_path, base, REMOVED, abi_version=1)
    assert rc == 1, out
    assert "soname is libsnn.so.1 but the baseline's is libsnn.so.0" in out


def test_raised_abi_version_with_new_baseline_passes(tmp_path, base):
    baseline = tmp_path / "abi"
    shutil.copytree(base, baseline)
    lib, headers = build(tmp_path, "raised", REMOVED, abi_version=1)
    rc, out = run(ABI_BASELINE, lib, headers, baseline)
    assert rc == 0, out
    rc, out = run(ABI_CHECK, lib, headers, baseline, "--no-history")
    assert rc == 0, out


def test_baseline_refuses_incompatible_change_without_raise(tmp_path, base):
    baseline = tmp_path / "abi"
    shutil.copytree(base, baseline)
    before = (baseline / "libsnn.abi").read_text()
    lib, headers = build(tmp_path, "removed", REMOVED)
    rc, out = run(ABI_BASELINE, lib, headers, baseline)
    assert rc == 1 and "refused" in out and "snn_network_reset" in out, out
    assert (baseline / "libsnn.abi").read_text() == before


# ---------------------------------------------------------------- the baseline's history

def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                   capture_output=True)


def commit_baseline(tmp_path, repo, name, header_text, abi_version, message):
    """Commits header_text and a baseline written from its stand-in library
    (bypassing abi-baseline's own refusal). Returns (library, headers)."""
    lib, headers = build(tmp_path, name, header_text, abi_version=abi_version)
    (repo / "include" / "snn").mkdir(parents=True, exist_ok=True)
    (repo / "include" / "snn" / "snn.h").write_text(header_text)
    fresh = tmp_path / (name + "-abi")
    rc, out = run(ABI_BASELINE, lib, headers, fresh)
    assert rc == 0, out
    shutil.copytree(fresh, repo / "abi", dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return lib, repo / "include" / "snn"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("raised", [False, True])
def test_history_rejects_a_rewritten_baseline_unless_raised(tmp_path, raised):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    commit_baseline(tmp_path, repo, "v0", HEADER, 0, "baseline")
    version = 1 if raised else 0
    lib, headers = commit_baseline(tmp_path, repo, "v1", REMOVED, version, "remove snn_network_reset")
    rc, out = run(ABI_CHECK, lib, headers, repo / "abi")
    if raised:
        assert rc == 0, out
        assert "history: 1 earlier baseline(s) checked" in out
    else:
        assert rc == 1, out
        assert "rewrote the baseline over an incompatible change" in out and "snn_network_reset" in out
