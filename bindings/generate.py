#!/usr/bin/env python3
"""Generate language bindings from the public header include/snn/snn.h.

The header is the single source of truth. This script

1. preprocesses it with a small built-in preprocessor (comments, conditional
   blocks, object-like macros, ``#include <stdint.h>``) -- the header is written
   to stay within what that handles, so no C compiler is needed;
2. parses the result with pycparser;
3. turns the syntax tree into a neutral description: integer ``#define``s,
   enums, typedefs (including callback types), structs and functions, each with
   the comment that precedes it in the header;
4. emits python/snn/_cdef.py, the cffi ``cdef`` text rendered from that
   description.

Other generators (Rust, C#) import :func:`describe` and render the same
description in their own syntax.

Usage::

    python bindings/generate.py            # rewrite python/snn/_cdef.py
    python bindings/generate.py --check    # exit 1 if the committed file is stale
    python bindings/generate.py --json -   # print the description as JSON

pycparser is a development dependency only; the installed package never runs
this script.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "snn" / "snn.h"
PY_CDEF = ROOT / "python" / "snn" / "_cdef.py"

# Types that <stdint.h> provides. The parser sees them as typedefs of `int`;
# the description keeps their names (every binding maps them natively).
STDINT_TYPES = (
    "int8_t", "int16_t", "int32_t", "int64_t",
    "uint8_t", "uint16_t", "uint32_t", "uint64_t",
    "intptr_t", "uintptr_t",
)

Type = Dict[str, Any]


class GenerateError(Exception):
    """The header uses something this generator does not handle."""


# --------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------

_INT_RE = re.compile(r"^\(?\s*(-?\s*(?:0[xX][0-9a-fA-F]+|\d+))[uUlL]*\s*\)?$")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _strip_comments(text: str) -> Tuple[str, List[Tuple[int, int, str]]]:
    """Removes comments, keeping line numbers. Returns the code and the
    comments as (first_line, last_line, text) with 1-based line numbers."""
    out: List[str] = []
    comments: List[Tuple[int, int, str]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise GenerateError(f"line {line}: unterminated comment")
            body = text[i + 2:j]
            start = line
            line += body.count("\n")
            comments.append((start, line, body))
            out.append(" " + "\n" * body.count("\n"))
            i = j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            comments.append((line, line, text[i + 2:j]))
            i = j
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out), comments


def _eval_condition(expr: str, macros: Dict[str, str]) -> bool:
    """Evaluates a #if expression built from defined(X), integers, !, &&, ||
    and parentheses. Unknown identifiers are 0, as in C."""
    expr = re.sub(r"defined\s*\(\s*(\w+)\s*\)", lambda m: " 1 " if m.group(1) in macros else " 0 ", expr)
    expr = re.sub(r"defined\s+(\w+)", lambda m: " 1 " if m.group(1) in macros else " 0 ", expr)

    def ident(m: "re.Match[str]") -> str:
        value = macros.get(m.group(0), "0").strip() or "0"
        return f" ({value}) " if _INT_RE.match(value) else " 0 "

    expr = _IDENT_RE.sub(ident, expr)
    expr = expr.replace("&&", " and ").replace("||", " or ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    if not re.fullmatch(r"[\s\d()+\-*<>=!andotr]*", expr):
        raise GenerateError(f"unsupported #if expression: {expr!r}")
    try:
        return bool(eval(expr, {"__builtins__": {}}, {}))  # noqa: S307 - checked above
    except SyntaxError as exc:
        raise GenerateError(f"unsupported #if expression: {expr!r}") from exc


def preprocess(text: str) -> Tuple[str, List[Tuple[str, int]], List[Tuple[int, int, str]]]:
    """Preprocesses the header as a C compiler would with no predefined macros
    (not C++, not Windows, not GCC).

    Returns (code, integer defines in order, comments). The code keeps the
    header's line numbers so declarations can be matched with their comments.
    """
    code, comments = _strip_comments(text.replace("\\\n", " \n"))
    macros: Dict[str, str] = {}
    defines: List[Tuple[str, int]] = []
    # Stack of (this branch active, some branch already taken, parent active).
    stack: List[List[bool]] = []
    out: List[str] = []
    for number, raw in enumerate(code.split("\n"), start=1):
        stripped = raw.strip()
        active = all(frame[0] for frame in stack)
        if stripped.startswith("#"):
            m = re.match(r"#\s*(\w+)\s*(.*)$", stripped)
            if not m:
                raise GenerateError(f"line {number}: bad directive {stripped!r}")
            directive, rest = m.group(1), m.group(2).strip()
            if directive in ("if", "ifdef", "ifndef"):
                if directive == "ifdef":
                    cond = rest in macros
                elif directive == "ifndef":
                    cond = rest not in macros
                else:
                    cond = active and _eval_condition(rest, macros)
                stack.append([cond, cond, active])
            elif directive == "elif":
                if not stack:
                    raise GenerateError(f"line {number}: #elif without #if")
                frame = stack[-1]
                cond = frame[2] and not frame[1] and _eval_condition(rest, macros)
                frame[0] = cond
                frame[1] = frame[1] or cond
            elif directive == "else":
                if not stack:
                    raise GenerateError(f"line {number}: #else without #if")
                frame = stack[-1]
                frame[0] = not frame[1]
                frame[1] = True
            elif directive == "endif":
                if not stack:
                    raise GenerateError(f"line {number}: #endif without #if")
                stack.pop()
            elif not active:
                pass
            elif directive == "define":
                dm = re.match(r"(\w+)(\(?)\s*(.*)$", rest)
                if not dm:
                    raise GenerateError(f"line {number}: bad #define {rest!r}")
                if dm.group(2):
                    raise GenerateError(f"line {number}: function-like macro {dm.group(1)} is not allowed")
                name, value = dm.group(1), dm.group(3).strip()
                macros[name] = value
                im = _INT_RE.match(value)
                if im:
                    defines.append((name, int(im.group(1).replace(" ", ""), 0)))
            elif directive == "undef":
                macros.pop(rest, None)
            elif directive == "include":
                if rest not in ("<stdint.h>",):
                    raise GenerateError(f"line {number}: unsupported #include {rest}")
            elif directive == "error":
                raise GenerateError(f"line {number}: #error {rest}")
            else:
                raise GenerateError(f"line {number}: unsupported directive #{directive}")
            out.append("")
            continue
        if not active:
            out.append("")
            continue
        # Expand object-like macros whose value is empty or a plain token.
        out.append(_IDENT_RE.sub(lambda m: _expand(m.group(0), macros), raw))
    if stack:
        raise GenerateError("unterminated #if block")
    return "\n".join(out), defines, comments


def _expand(word: str, macros: Dict[str, str], depth: int = 0) -> str:
    if word not in macros or depth > 16:
        return word
    value = macros[word]
    return _IDENT_RE.sub(lambda m: _expand(m.group(0), macros, depth + 1), value)


# --------------------------------------------------------------------------
# Parsing into a neutral description
# --------------------------------------------------------------------------

def _convert_type(node: Any) -> Type:
    """pycparser type node -> description type."""
    from pycparser import c_ast

    if isinstance(node, c_ast.TypeDecl):
        quals = list(node.quals or [])
        inner = node.type
        if isinstance(inner, c_ast.IdentifierType):
            t: Type = {"kind": "name", "name": " ".join(inner.names)}
        elif isinstance(inner, c_ast.Struct):
            t = {"kind": "struct", "name": inner.name}
        elif isinstance(inner, c_ast.Enum):
            t = {"kind": "enum", "name": inner.name}
        else:
            raise GenerateError(f"unsupported type node {type(inner).__name__}")
        if "const" in quals:
            t["const"] = True
        return t
    if isinstance(node, c_ast.PtrDecl):
        t = {"kind": "pointer", "to": _convert_type(node.type)}
        if "const" in (node.quals or []):
            t["const"] = True
        return t
    if isinstance(node, c_ast.ArrayDecl):
        dim = node.dim
        if not isinstance(dim, c_ast.Constant):
            raise GenerateError("array sizes must be integer literals")
        return {"kind": "array", "of": _convert_type(node.type), "length": int(dim.value, 0)}
    if isinstance(node, c_ast.FuncDecl):
        return {
            "kind": "function",
            "returns": _convert_type(node.type),
            "params": _convert_params(node.args),
        }
    raise GenerateError(f"unsupported declarator {type(node).__name__}")


def _convert_params(args: Any) -> List[Dict[str, Any]]:
    from pycparser import c_ast

    params: List[Dict[str, Any]] = []
    if args is None:
        return params
    for p in args.params:
        if isinstance(p, c_ast.EllipsisParam):
            raise GenerateError("variadic functions are not allowed in the ABI")
        t = _convert_type(p.type)
        if t == {"kind": "name", "name": "void"} and p.name is None:
            continue  # f(void)
        params.append({"name": p.name, "type": t})
    return params


def _doc_for(line: int, comments: List[Tuple[int, int, str]], code_lines: List[str]) -> Optional[str]:
    """The comment that ends right above `line` (blank lines allowed between),
    on lines of its own (not one that trails code) and not a divider line."""
    best = None
    for first, last, body in comments:
        if last < line and not "".join(code_lines[first - 1:last]).strip():
            between = code_lines[last:line - 1]
            if all(not s.strip() for s in between):
                best = body
        elif first >= line:
            break
    if best is None or not re.search(r"[A-Za-z0-9]", best):
        return None
    text = []
    for raw in best.split("\n"):
        s = raw.strip()
        if s.startswith("*"):
            s = s[1:].strip() if not s.startswith("**") else s
        text.append(s)
    doc = "\n".join(text).strip()
    return doc or None


def _trailing_doc(line: int, comments: List[Tuple[int, int, str]]) -> Optional[str]:
    """The comment that starts on `line` (after a struct field, for instance)."""
    for first, _last, body in comments:
        if first == line:
            return " ".join(body.split()) or None
    return None


def _field_doc(line: int, comments: List[Tuple[int, int, str]], code_lines: List[str]) -> Optional[str]:
    """A struct field's comment: after it on its line, or on lines of its own right above it."""
    doc = _trailing_doc(line, comments)
    if doc is None:
        doc = _doc_for(line, [c for c in comments if c[1] == line - 1], code_lines)
    return doc


def describe(header: Path = HEADER) -> Dict[str, Any]:
    """Parses the header into a neutral, JSON-serialisable description."""
    from pycparser import c_ast, c_parser

    text = header.read_text(encoding="utf-8")
    code, defines, comments = preprocess(text)
    code_lines = code.split("\n")
    prelude = "".join(f"typedef int {t};" for t in STDINT_TYPES)
    # The prelude shares the first line so line numbers stay those of the header.
    ast = c_parser.CParser().parse(prelude + code, filename=str(header.name))

    enum_constants = set()
    desc: Dict[str, Any] = {
        "header": header.name,
        "version": {},
        "defines": [],
        "enums": [],
        "typedefs": [],
        "structs": [],
        "functions": [],
    }
    structs: Dict[str, Dict[str, Any]] = {}

    def add_struct(node: Any, line: int) -> None:
        if node.name is None:
            raise GenerateError(f"line {line}: anonymous structs are not allowed")
        entry = structs.get(node.name)
        if entry is None:
            entry = {"name": node.name, "fields": None, "doc": _doc_for(line, comments, code_lines)}
            structs[node.name] = entry
            desc["structs"].append(entry)
        if node.decls is not None:
            if entry["fields"] is not None:
                raise GenerateError(f"struct {node.name} defined twice")
            entry["fields"] = [
                {"name": d.name, "type": _convert_type(d.type),
                 "doc": _field_doc(d.coord.line if d.coord else 0, comments, code_lines)}
                for d in node.decls
            ]
            entry["doc"] = entry["doc"] or _doc_for(line, comments, code_lines)

    for ext in ast.ext:
        line = ext.coord.line if ext.coord else 0
        if isinstance(ext, c_ast.Typedef):
            if ext.name in STDINT_TYPES:
                continue
            inner = ext.type
            # typedef struct X {...} X;  /  typedef struct X X;
            if isinstance(inner, c_ast.TypeDecl) and isinstance(inner.type, c_ast.Struct):
                add_struct(inner.type, inner.type.coord.line if inner.type.coord else line)
            desc["typedefs"].append({
                "name": ext.name,
                "type": _convert_type(inner),
                "doc": _doc_for(line, comments, code_lines),
            })
        elif isinstance(ext, c_ast.Decl):
            t = ext.type
            if isinstance(t, c_ast.FuncDecl):
                if ext.name is None:
                    raise GenerateError(f"line {line}: unnamed function")
                desc["functions"].append({
                    "name": ext.name,
                    "returns": _convert_type(t.type),
                    "params": _convert_params(t.args),
                    "doc": _doc_for(line, comments, code_lines),
                })
            elif isinstance(t, c_ast.Struct):
                add_struct(t, line)
            elif isinstance(t, c_ast.Enum):
                values = []
                current = -1
                for e in t.values.enumerators:
                    if e.value is None:
                        current += 1
                    else:
                        current = _const_int(e.value)
                    values.append({"name": e.name, "value": current})
                    enum_constants.add(e.name)
                desc["enums"].append({"name": t.name, "values": values,
                                      "doc": _doc_for(line, comments, code_lines)})
            else:
                raise GenerateError(f"line {line}: unsupported declaration {ext.name!r} "
                                    "(no data symbols in the ABI)")
        else:
            raise GenerateError(f"line {line}: unsupported top-level {type(ext).__name__}")

    # A define's doc: its trailing comment, else a comment right above it.
    lines = text.split("\n")
    define_lines = {m.group(1): text.count("\n", 0, m.start()) + 1
                    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", text, re.M)}
    for name, value in defines:
        line = define_lines.get(name, 0)
        doc = _trailing_doc(line, comments) or _doc_for(line, comments, lines)
        desc["defines"].append({"name": name, "value": value, "doc": doc})
    versions = {d["name"]: d["value"] for d in desc["defines"]}
    for part in ("MAJOR", "MINOR", "PATCH"):
        key = f"SNN_VERSION_{part}"
        if key not in versions:
            raise GenerateError(f"{key} is not defined")
        desc["version"][part.lower()] = versions[key]
    for s in desc["structs"]:
        s["opaque"] = s["fields"] is None
        if s["opaque"]:
            s["fields"] = []
    return desc


def _const_int(node: Any) -> int:
    from pycparser import c_ast

    if isinstance(node, c_ast.Constant):
        return int(node.value.rstrip("uUlL"), 0)
    if isinstance(node, c_ast.UnaryOp) and node.op == "-":
        return -_const_int(node.expr)
    raise GenerateError("enum values must be integer literals")


# --------------------------------------------------------------------------
# Rendering C declarations from the description (used for the cffi cdef)
# --------------------------------------------------------------------------

def render_decl(t: Type, name: str = "") -> str:
    """C spelling of a declaration of `name` with type `t`."""
    kind = t["kind"]
    if kind in ("name", "struct", "enum"):
        base = t["name"] if kind == "name" else f"{kind} {t['name']}"
        if t.get("const"):
            base = "const " + base
        return f"{base} {name}".rstrip()
    if kind == "pointer":
        inner = "*" + (" const " if t.get("const") else "") + name
        inner = inner.rstrip()
        target = t["to"]
        if target["kind"] in ("function", "array"):
            inner = f"({inner})"
        return render_decl(target, inner)
    if kind == "array":
        return render_decl(t["of"], f"{name}[{t['length']}]")
    if kind == "function":
        params = ", ".join(render_decl(p["type"], p["name"] or "") for p in t["params"]) or "void"
        return render_decl(t["returns"], f"{name}({params})")
    raise GenerateError(f"cannot render type kind {kind}")


def render_cdef(desc: Dict[str, Any]) -> str:
    """The cffi cdef: every declaration of the header, in a cffi-friendly order."""
    lines: List[str] = []
    for d in desc["defines"]:
        lines.append(f"#define {d['name']} {d['value']}")
    lines.append("")
    for e in desc["enums"]:
        lines.append(f"enum {e['name']} {{")
        for v in e["values"]:
            lines.append(f"    {v['name']} = {v['value']},")
        lines.append("};")
    lines.append("")
    # Struct tags first (typedefs may refer to them), then typedefs in header
    # order, then struct bodies (which may use the typedefs).
    for s in desc["structs"]:
        lines.append(f"struct {s['name']};")
    for t in desc["typedefs"]:
        lines.append(f"typedef {render_decl(t['type'], t['name'])};")
    lines.append("")
    for s in desc["structs"]:
        if s["opaque"]:
            continue
        lines.append(f"struct {s['name']} {{")
        for f in s["fields"]:
            lines.append(f"    {render_decl(f['type'], f['name'])};")
        lines.append("};")
    lines.append("")
    for fn in desc["functions"]:
        ftype = {"kind": "function", "returns": fn["returns"], "params": fn["params"]}
        lines.append(render_decl(ftype, fn["name"]) + ";")
    return "\n".join(lines).strip() + "\n"


def render_python(desc: Dict[str, Any]) -> str:
    v = desc["version"]
    cdef = render_cdef(desc)
    if '"""' in cdef or "\\" in cdef:
        raise GenerateError("cdef text cannot be embedded as a raw string")
    return (
        "# Generated by bindings/generate.py from include/snn/snn.h. Do not edit:\n"
        "# run `python bindings/generate.py` after changing the header.\n"
        '"""The cffi declarations of libsnn\'s C ABI (include/snn/snn.h)."""\n'
        "\n"
        f"HEADER_VERSION = ({v['major']}, {v['minor']}, {v['patch']})\n"
        "\n"
        f'CDEF = r"""\n{cdef}"""\n'
    )


def write_or_check(output: Path, text: str, check: bool, script: str) -> int:
    """Writes a generated file (only when it changed), or with ``check``
    writes nothing and returns 1 if the committed file is stale. Every
    generator in bindings/ ends with this."""
    current = output.read_text(encoding="utf-8") if output.exists() else None
    if check:
        if current != text:
            print(f"{script}: {output} is stale; run `python bindings/{script}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {output}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--header", type=Path, default=HEADER, help="the header to read")
    parser.add_argument("--output", type=Path, default=PY_CDEF, help="the Python cdef module to write")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the output differs from what would be generated")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the neutral description as JSON ('-' for stdout)")
    args = parser.parse_args(argv)

    try:
        desc = describe(args.header)
        text = render_python(desc)
    except GenerateError as exc:
        print(f"generate.py: {args.header}: {exc}", file=sys.stderr)
        return 2

    if args.json:
        dumped = json.dumps(desc, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(dumped)
        else:
            Path(args.json).write_text(dumped, encoding="utf-8")

    return write_or_check(args.output, text, args.check, "generate.py")


if __name__ == "__main__":
    sys.exit(main())
