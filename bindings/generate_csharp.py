#!/usr/bin/env python3
"""Generate the C# low-level layer of libsnn from include/snn/snn.h.

Renders the neutral description of :func:`generate.describe` as one C# file,
bindings/csharp/src/SnnNative.g.cs:

- ``Snn.Interop.SnnNative``: every ``#define`` and enum value as a constant
  and every function as a ``[DllImport("snn")]`` method under its C name;
- every struct as a ``[StructLayout(LayoutKind.Sequential)]`` struct under its
  C name (opaque ones empty, used only behind pointers);
- every function-pointer type as an ``[UnmanagedFunctionPointer(Cdecl)]``
  delegate (inline ones named ``<owner>_<name>_fn``);
- every C enum once more as an idiomatic ``Snn`` enum (``snn_status_code`` ->
  ``Snn.StatusCode.InvalidArgument``).

Signatures are blittable, so the same code runs on Mono, IL2CPP and CoreCLR:
fixed-width integers, ``float``/``double``, typed pointers (``byte*`` for C
strings, converted by the safe layer as UTF-8), and ``IntPtr`` for function
pointers (from ``Marshal.GetFunctionPointerForDelegate``). Comments of the
header become XML doc comments.

Usage::

    python bindings/generate_csharp.py            # rewrite the C# file
    python bindings/generate_csharp.py --check    # exit 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import HEADER, ROOT, GenerateError, describe, render_decl, write_or_check  # noqa: E402

OUTPUT = ROOT / "bindings" / "csharp" / "src" / "SnnNative.g.cs"

PRIMITIVES = {
    "void": "void",
    "char": "byte",
    "signed char": "sbyte",
    "unsigned char": "byte",
    "int8_t": "sbyte",
    "uint8_t": "byte",
    "int16_t": "short",
    "uint16_t": "ushort",
    "int32_t": "int",
    "uint32_t": "uint",
    "int64_t": "long",
    "uint64_t": "ulong",
    "intptr_t": "IntPtr",
    "uintptr_t": "UIntPtr",
    "float": "float",
    "double": "double",
}

# Types that may form a C# fixed-size buffer.
FIXED_BUFFER_TYPES = {"byte", "sbyte", "short", "ushort", "int", "uint", "long", "ulong", "float", "double"}

KEYWORDS = set("""abstract as base bool break byte case catch char checked class const continue decimal
default delegate do double else enum event explicit extern false finally fixed float for foreach goto if
implicit in int interface internal is lock long namespace new null object operator out override params
private protected public readonly ref return sbyte sealed short sizeof stackalloc static string struct
switch this throw true try typeof uint ulong unchecked unsafe ushort using virtual void volatile
while""".split())


def ident(name: str) -> str:
    return "@" + name if name in KEYWORDS else name


def pascal(name: str, prefix: str) -> str:
    if name.lower().startswith(prefix.lower()):
        name = name[len(prefix):]
    return "".join(part[:1].upper() + part[1:].lower() for part in name.split("_") if part)


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Renderer:
    def __init__(self, desc: Dict[str, Any]) -> None:
        self.desc = desc
        self.typedefs = {t["name"]: t for t in desc["typedefs"]}
        self.structs = {s["name"]: s for s in desc["structs"]}
        # Delegates for function pointers written inline (not through a typedef).
        self.inline_delegates: List[tuple] = []

    # ---------------------------------------------------------------- types

    def resolve(self, t: Dict[str, Any]) -> Dict[str, Any]:
        """Follows typedefs of scalars and structs (not of function pointers)."""
        while t["kind"] == "name" and t["name"] in self.typedefs:
            target = self.typedefs[t["name"]]["type"]
            if target["kind"] == "pointer" and target["to"]["kind"] == "function":
                return t
            t = target
        return t

    def is_function_pointer(self, t: Dict[str, Any]) -> bool:
        t = self.resolve(t)
        if t["kind"] == "pointer" and t["to"]["kind"] == "function":
            return True
        return t["kind"] == "name" and t["name"] in self.typedefs

    def cs_type(self, t: Dict[str, Any], owner: str = "", name: str = "") -> str:
        """The blittable C# spelling of a C type."""
        if self.is_function_pointer(t):
            r = self.resolve(t)
            if r["kind"] == "pointer" and owner:
                self.inline_delegates.append((f"{owner}_{name}_fn", r["to"], owner, name))
            return "IntPtr"
        t = self.resolve(t)
        kind = t["kind"]
        if kind == "name":
            if t["name"] not in PRIMITIVES:
                raise GenerateError(f"no C# type for {t['name']!r}")
            return PRIMITIVES[t["name"]]
        if kind == "struct":
            return t["name"]
        if kind == "enum":
            return "int"
        if kind == "pointer":
            return self.cs_type(t["to"]) + "*"
        raise GenerateError(f"no C# type for a {kind} here")

    # ---------------------------------------------------------------- docs

    @staticmethod
    def doc_lines(indent: str, summary: Optional[str], remarks: Optional[str] = None) -> List[str]:
        out: List[str] = []
        if summary and "\n" not in summary:
            out.append(f"{indent}/// <summary>{xml_escape(summary)}</summary>")
        elif summary:
            out.append(f"{indent}/// <summary>")
            out += [f"{indent}/// {xml_escape(line)}".rstrip() for line in summary.split("\n")]
            out.append(f"{indent}/// </summary>")
        if remarks:
            out.append(f"{indent}/// <remarks>{remarks}</remarks>")
        return out

    @staticmethod
    def c_code(text: str) -> str:
        return "C: <c>" + xml_escape(" ".join(text.split())) + "</c>"

    # ---------------------------------------------------------------- parts

    def delegate(self, name: str, fn: Dict[str, Any], doc: Optional[str], c_text: str) -> List[str]:
        params = ", ".join(
            f"{self.cs_type(p['type'], name, p['name'] or f'arg{i}')} {ident(p['name'] or f'arg{i}')}"
            for i, p in enumerate(fn["params"]))
        returns = self.cs_type(fn["returns"])
        lines = self.doc_lines("    ", doc, self.c_code(c_text))
        lines.append("    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]")
        lines.append(f"    public unsafe delegate {returns} {name}({params});")
        return lines

    def struct(self, s: Dict[str, Any]) -> List[str]:
        doc = s["doc"]
        if s["opaque"]:
            lines = self.doc_lines("    ", doc, "Opaque: used only behind pointers.")
            lines.append(f"    public struct {s['name']} {{ }}")
            return lines
        lines = self.doc_lines("    ", doc, self.c_code(f"struct {s['name']}"))
        lines.append("    [StructLayout(LayoutKind.Sequential)]")
        lines.append(f"    public unsafe struct {s['name']}")
        lines.append("    {")
        for f in s["fields"]:
            lines += self.doc_lines("        ", f["doc"], self.c_code(render_decl(f["type"], f["name"])))
            t = f["type"]
            if t["kind"] == "array":
                elem = self.cs_type(t["of"])
                if elem not in FIXED_BUFFER_TYPES:
                    raise GenerateError(f"{s['name']}.{f['name']}: arrays of {elem} are not supported")
                lines.append(f"        public fixed {elem} {ident(f['name'])}[{t['length']}];")
            else:
                lines.append(f"        public {self.cs_type(t, s['name'], f['name'])} {ident(f['name'])};")
        lines.append("    }")
        return lines

    def function(self, fn: Dict[str, Any]) -> List[str]:
        for p in fn["params"]:
            if not p["name"]:
                raise GenerateError(f"{fn['name']}: every parameter needs a name")
        params = ", ".join(f"{self.cs_type(p['type'], fn['name'], p['name'])} {ident(p['name'])}"
                           for p in fn["params"])
        returns = self.cs_type(fn["returns"])
        ftype = {"kind": "function", "returns": fn["returns"], "params": fn["params"]}
        lines = self.doc_lines("        ", fn["doc"], self.c_code(render_decl(ftype, fn["name"])))
        lines.append(f'        [DllImport(Library, EntryPoint = "{fn["name"]}", '
                     "CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]")
        lines.append(f"        public static extern {returns} {fn['name']}({params});")
        return lines

    def render(self) -> str:
        d = self.desc
        v = d["version"]
        out: List[str] = [
            "// <auto-generated>",
            f"// Generated by bindings/generate_csharp.py from include/snn/{d['header']}. Do not edit:",
            "// run `python3 bindings/generate_csharp.py` after changing the header.",
            "// </auto-generated>",
            "using System;",
            "using System.Runtime.InteropServices;",
            "",
            "namespace Snn",
            "{",
        ]
        for e in d["enums"]:
            prefix = "SNN_"
            out += self.doc_lines("    ", e["doc"], self.c_code(f"enum {e['name']}"))
            out.append(f"    public enum {pascal(e['name'], 'snn_')} : int")
            out.append("    {")
            for item in e["values"]:
                out.append(f"        /// <remarks>C: <c>{item['name']}</c></remarks>")
                out.append(f"        {pascal(item['name'], prefix)} = {item['value']},")
            out.append("    }")
        out += ["}", "", "namespace Snn.Interop", "{"]

        body: List[str] = []
        for t in d["typedefs"]:
            ty = t["type"]
            if ty["kind"] == "pointer" and ty["to"]["kind"] == "function":
                body += self.delegate(t["name"], ty["to"], t["doc"], f"typedef {render_decl(ty, t['name'])}")
                body.append("")
        for s in d["structs"]:
            body += self.struct(s)
            body.append("")
        cls: List[str] = [
            "    /// <summary>",
            f"    /// The C ABI of libsnn {v['major']}.{v['minor']}.{v['patch']} as declared in include/snn/{d['header']}:",
            "    /// constants and functions under their C names, with blittable signatures.",
            "    /// C strings are <c>byte*</c> (NUL-terminated UTF-8); function pointers are <c>IntPtr</c>.",
            "    /// </summary>",
            "    public static unsafe class SnnNative",
            "    {",
            "        /// <summary>The native library: libsnn.so / libsnn.dylib / snn.dll, or linked",
            "        /// into the player where plugins are static (iOS, WebGL).</summary>",
            "#if (UNITY_IOS || UNITY_WEBGL) && !UNITY_EDITOR",
            '        public const string Library = "__Internal";',
            "#else",
            '        public const string Library = "snn";',
            "#endif",
            "",
        ]
        for c in d["defines"]:
            cls += self.doc_lines("        ", c.get("doc"), self.c_code(f"#define {c['name']} {c['value']}"))
            cls.append(f"        public const int {c['name']} = {c['value']};")
        for e in d["enums"]:
            for item in e["values"]:
                cls.append(f"        /// <remarks>C: <c>{item['name']}</c> of <c>enum {e['name']}</c></remarks>")
                cls.append(f"        public const int {item['name']} = {item['value']};")
        cls.append("")
        for fn in d["functions"]:
            cls += self.function(fn)
            cls.append("")
        if cls[-1] == "":
            cls.pop()
        cls.append("    }")
        seen = set()
        while self.inline_delegates:
            name, fn, owner, field = self.inline_delegates.pop(0)
            if name in seen:
                continue
            seen.add(name)
            ptr = {"kind": "pointer", "to": fn}
            body += self.delegate(name, fn, f"The function pointer {owner}.{field}.",
                                  render_decl(ptr, field))
            body.append("")

        out += body + cls + ["}"]
        return "\n".join(out) + "\n"


def render_csharp(desc: Dict[str, Any]) -> str:
    return Renderer(desc).render()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--header", type=Path, default=HEADER, help="the header to read")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the C# file to write")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the output differs from what would be generated")
    args = parser.parse_args(argv)
    try:
        text = render_csharp(describe(args.header))
    except GenerateError as exc:
        print(f"generate_csharp.py: {args.header}: {exc}", file=sys.stderr)
        return 2
    return write_or_check(args.output, text, args.check, "generate_csharp.py")


if __name__ == "__main__":
    sys.exit(main())
