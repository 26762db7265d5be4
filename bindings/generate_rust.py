#!/usr/bin/env python3
"""Generate the Rust declarations of crate snn-sys from include/snn/snn.h.

Renders the neutral description of :func:`generate.describe` as Rust:
``#define``s and enum values as ``pub const``, typedefs as ``pub type``,
structs as ``#[repr(C)]`` structs (opaque ones as zero-sized types that
cannot be built or moved out of a pointer), function pointers as
``Option<unsafe extern "C" fn(...)>`` (``None`` is C's NULL) and every
function in one ``extern "C"`` block, each with the comment the header gives it.

Usage::

    python bindings/generate_rust.py            # rewrite bindings/rust/snn-sys/src/generated.rs
    python bindings/generate_rust.py --check    # exit 1 if the committed file is stale

Like generate.py it needs pycparser, a development dependency only: the
generated file is committed, so building the crates never runs Python.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import HEADER, ROOT, GenerateError, describe, write_or_check  # noqa: E402

RUST_OUT = ROOT / "bindings" / "rust" / "snn-sys" / "src" / "generated.rs"

# C spellings -> Rust types. <stdint.h> names map to Rust's fixed-width
# integers; plain C types go through std::os::raw so they follow the target.
_SCALARS = {
    "int8_t": "i8", "int16_t": "i16", "int32_t": "i32", "int64_t": "i64",
    "uint8_t": "u8", "uint16_t": "u16", "uint32_t": "u32", "uint64_t": "u64",
    "intptr_t": "isize", "uintptr_t": "usize",
    "char": "c_char", "signed char": "c_schar", "unsigned char": "c_uchar",
    "short": "c_short", "unsigned short": "c_ushort",
    "int": "c_int", "unsigned int": "c_uint", "unsigned": "c_uint",
    "long": "c_long", "unsigned long": "c_ulong",
    "long long": "c_longlong", "unsigned long long": "c_ulonglong",
    "float": "f32", "double": "f64",
}

# Words Rust reserves. Most can be written as raw identifiers (r#type); these
# cannot, so they get a trailing underscore.
_KEYWORDS = {
    "as", "async", "await", "box", "break", "const", "continue", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "static", "struct", "trait", "true", "try", "type", "unsafe", "use",
    "where", "while", "yield", "abstract", "become", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual",
}
_NOT_RAW = {"self", "Self", "super", "crate", "_"}


def rust_ident(name: str) -> str:
    if name in _NOT_RAW:
        return name + "_"
    if name in _KEYWORDS:
        return "r#" + name
    return name


def _is_void(t: Dict[str, Any]) -> bool:
    return t["kind"] == "name" and t["name"] == "void"


def rust_type(t: Dict[str, Any]) -> str:
    """The Rust spelling of a description type (not a function type)."""
    kind = t["kind"]
    if kind == "name":
        name = t["name"]
        if name == "void":
            return "c_void"
        return _SCALARS.get(name, name)
    if kind in ("struct", "enum"):
        return t["name"]
    if kind == "array":
        return f"[{rust_type(t['of'])}; {t['length']}]"
    if kind == "pointer":
        target = t["to"]
        if target["kind"] == "function":
            return f"Option<{rust_fn_type(target)}>"
        mut = "const" if target.get("const") else "mut"
        return f"*{mut} {rust_type(target)}"
    if kind == "function":
        raise GenerateError("a function type must be used through a pointer")
    raise GenerateError(f"cannot render type kind {kind}")


def _params(params: List[Dict[str, Any]]) -> str:
    parts = []
    for i, p in enumerate(params):
        name = rust_ident(p["name"]) if p["name"] else f"arg{i}"
        parts.append(f"{name}: {rust_type(p['type'])}")
    return ", ".join(parts)


def _returns(t: Dict[str, Any]) -> str:
    return "" if _is_void(t) else f" -> {rust_type(t)}"


def rust_fn_type(t: Dict[str, Any]) -> str:
    return f'unsafe extern "C" fn({_params(t["params"])}){_returns(t["returns"])}'


def _inside_word(text: str, i: int) -> bool:
    return 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()


def rust_doc(doc: Optional[str], indent: str = "") -> List[str]:
    """The header's comment as `///` lines. Markdown-active characters are
    escaped so the C text renders as written (`[batch][n]` is no link,
    `<pre>` no HTML tag, `*_init` no emphasis); `code` spans stay code."""
    if not doc:
        return []
    lines = []
    for raw in doc.split("\n"):
        out = []
        in_code = False
        for i, ch in enumerate(raw):
            if ch == "`":
                in_code = not in_code
            elif not in_code and (ch in "[]<>*\\" or (ch == "_" and not _inside_word(raw, i))):
                out.append("\\")
            out.append(ch)
        text = "".join(out).rstrip()
        lines.append(f"{indent}///{(' ' + text) if text else ''}")
    return lines


def render_rust(desc: Dict[str, Any]) -> str:
    v = desc["version"]
    out: List[str] = [
        "// Generated by bindings/generate_rust.py from include/snn/snn.h. Do not edit:",
        "// run `python bindings/generate_rust.py` after changing the header.",
        f"// Header version {v['major']}.{v['minor']}.{v['patch']}.",
        "",
        "use std::os::raw::*;",
        "",
    ]

    out.append("// ---- #defines ----")
    out.append("")
    for d in desc["defines"]:
        value = d["value"]
        ty = "i32" if -2**31 <= value < 2**31 else ("i64" if -2**63 <= value < 2**63 else "u64")
        out.append(f"pub const {d['name']}: {ty} = {value};")
    out.append("")

    typedef_names = {t["name"] for t in desc["typedefs"]}
    out.append("// ---- enums (C enum constants have type int) ----")
    out.append("")
    for e in desc["enums"]:
        out.extend(rust_doc(e["doc"]))
        out.append(f"pub type {e['name']} = c_int;")
        for val in e["values"]:
            out.append(f"pub const {val['name']}: {e['name']} = {val['value']};")
        out.append("")

    structs = {s["name"]: s for s in desc["structs"]}
    rendered_structs = set()

    def render_struct(s: Dict[str, Any], doc: Optional[str]) -> None:
        rendered_structs.add(s["name"])
        out.extend(rust_doc(doc or s["doc"]))
        if s["opaque"]:
            # The pattern the Rustonomicon recommends for opaque C types: no
            # size, not constructible outside this crate, !Send, !Sync, !Unpin.
            out.append("#[repr(C)]")
            out.append(f"pub struct {s['name']} {{")
            out.append("    _data: [u8; 0],")
            out.append("    _marker: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,")
            out.append("}")
        else:
            out.append("#[repr(C)]")
            out.append("#[derive(Debug, Clone, Copy)]")
            out.append(f"pub struct {s['name']} {{")
            for f in s["fields"]:
                out.extend(rust_doc(f["doc"], "    "))
                out.append(f"    pub {rust_ident(f['name'])}: {rust_type(f['type'])},")
            out.append("}")
        out.append("")

    out.append("// ---- typedefs and structs ----")
    out.append("")
    for t in desc["typedefs"]:
        ty = t["type"]
        if ty["kind"] == "struct" and ty["name"] in structs:
            s = structs[ty["name"]]
            if s["name"] not in rendered_structs:
                render_struct(s, t["doc"])
            if t["name"] != s["name"]:
                out.extend(rust_doc(t["doc"]))
                out.append(f"pub type {t['name']} = {s['name']};")
                out.append("")
            continue
        out.extend(rust_doc(t["doc"]))
        out.append(f"pub type {t['name']} = {rust_type(ty)};")
        out.append("")
    for s in desc["structs"]:
        if s["name"] not in rendered_structs and s["name"] not in typedef_names:
            render_struct(s, None)

    out.append("// ---- functions ----")
    out.append("")
    out.append('extern "C" {')
    for i, fn in enumerate(desc["functions"]):
        if i:
            out.append("")
        out.extend(rust_doc(fn["doc"], "    "))
        out.append(f"    pub fn {fn['name']}({_params(fn['params'])}){_returns(fn['returns'])};")
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--header", type=Path, default=HEADER, help="the header to read")
    parser.add_argument("--output", type=Path, default=RUST_OUT, help="the Rust file to write")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the output differs from what would be generated")
    args = parser.parse_args(argv)

    try:
        text = render_rust(describe(args.header))
    except GenerateError as exc:
        print(f"generate_rust.py: {args.header}: {exc}", file=sys.stderr)
        return 2

    return write_or_check(args.output, text, args.check, "generate_rust.py")


if __name__ == "__main__":
    sys.exit(main())
