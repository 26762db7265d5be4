#!/usr/bin/env python3
"""Assembles the Unity package's runtime from the C# binding, and its .meta files.

The package's C# runtime IS the binding in bindings/csharp/src: this script
copies those files into Runtime/Binding/ (each with a first line saying where
it comes from), and writes the .meta file Unity needs beside every file and
folder of the package (an immutable package - from git or a tarball - ignores
assets without one). GUIDs are derived from the package name and the path, so
they are stable and the same on every machine. Folders ending in "~" are
ignored by Unity and get none.

    python3 engines/unity/Tools~/sync.py           # update the package
    python3 engines/unity/Tools~/sync.py --check   # exit 1 if anything is stale (CI)
"""
import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent.parent
SOURCES = ROOT / "bindings" / "csharp" / "src"
BINDING = PACKAGE / "Runtime" / "Binding"
HEADER_LINE = "// Copied from bindings/csharp/src/{name} by engines/unity/Tools~/sync.py: edit the original.\n"

IMPORTER_TAIL = "  externalObjects: {{}}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
IMPORTERS = {
    ".cs": "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
           "  executionOrder: 0\n  icon: {instanceID: 0}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
    ".asmdef": "AssemblyDefinitionImporter:\n" + IMPORTER_TAIL.format(),
    ".md": "TextScriptImporter:\n" + IMPORTER_TAIL.format(),
    ".json": "PackageManifestImporter:\n" + IMPORTER_TAIL.format(),
}
FOLDER = "folderAsset: yes\nDefaultImporter:\n" + IMPORTER_TAIL.format()


def package_name() -> str:
    return json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["name"]


def meta_text(path: Path, is_dir: bool, name: str) -> str:
    rel = path.relative_to(PACKAGE).as_posix()
    guid = hashlib.md5(f"{name}:{rel}".encode()).hexdigest()
    if is_dir:
        body = FOLDER
    elif path.name == "package.json":
        body = IMPORTERS[".json"]
    elif path.suffix in IMPORTERS and path.suffix != ".json":
        body = IMPORTERS[path.suffix]
    else:
        raise SystemExit(f"sync.py: no importer known for {rel}")
    return f"fileFormatVersion: 2\nguid: {guid}\n{body}"


def in_package(path: Path) -> bool:
    """Unity imports it: not hidden and not inside a folder ending in '~'."""
    return not any(p.startswith(".") or p.endswith("~") for p in path.relative_to(PACKAGE).parts)


def meta_of(path: Path) -> Path:
    return path.with_name(path.name + ".meta")


def expected_files() -> dict:
    """Every file this script writes: path -> content."""
    name = package_name()
    files = {BINDING / src.name: HEADER_LINE.format(name=src.name) + src.read_text(encoding="utf-8")
             for src in sorted(SOURCES.glob("*.cs"))}
    dirs, others = {BINDING}, set()
    for p in PACKAGE.rglob("*"):
        if not in_package(p) or p.suffix == ".meta" or (p.parent == BINDING and p.suffix == ".cs"):
            continue
        (dirs if p.is_dir() else others).add(p)
    for f in sorted(set(files) | others):
        files[meta_of(f)] = meta_text(f, False, name)
    for d in sorted(dirs):
        files[meta_of(d)] = meta_text(d, True, name)
    return files


def check_version() -> list:
    header = (ROOT / "include" / "snn" / "snn.h").read_text(encoding="utf-8")
    parts = [re.search(rf"#define SNN_VERSION_{p} (\d+)", header).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
    version = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    if version != ".".join(parts):
        return [f"package.json version {version} is not the header's {'.'.join(parts)}"]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the package is stale")
    args = parser.parse_args()
    problems = check_version()
    files = expected_files()
    stale = [p for p in sorted(PACKAGE.rglob("*.meta")) if in_package(p) and p not in files]
    stale += [p for p in sorted(BINDING.glob("*.cs")) if p not in files]
    changed = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        problems += [f"{p.relative_to(ROOT)} is stale" for p in changed]
        problems += [f"{p.relative_to(ROOT)} should not exist" for p in stale]
        if problems:
            print("\n".join(f"sync.py: {p}" for p in problems)
                  + "\nrun `python3 engines/unity/Tools~/sync.py`", file=sys.stderr)
            return 1
        return 0
    for p in stale:
        p.unlink()
        print(f"removed {p.relative_to(ROOT)}")
    for p in changed:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(files[p], encoding="utf-8", newline="\n")
        print(f"wrote {p.relative_to(ROOT)}")
    for p in problems:
        print(f"sync.py: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
