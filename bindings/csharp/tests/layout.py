#!/usr/bin/env python3
"""Writes a C program that prints the layout of every struct of snn.h the way
`SnnTests.exe --layout` prints the C# layout ("<struct> size <n>",
"<struct>.<field> <offset>", structs in name order, fields in order), so the two
can be compared with diff.

    python3 bindings/csharp/tests/layout.py > layout.c
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from generate import describe  # noqa: E402

print("#include <snn/snn.h>\n#include <stddef.h>\n#include <stdio.h>\n\nint main(void) {")
for s in sorted(describe()["structs"], key=lambda s: s["name"]):
    if s["opaque"]:
        continue
    name = s["name"]
    print(f'    printf("{name} size %zu\\n", sizeof(struct {name}));')
    for f in s["fields"]:
        print(f'    printf("{name}.{f["name"]} %zu\\n", offsetof(struct {name}, {f["name"]}));')
print("    return 0;\n}")
