#!/usr/bin/env python3
"""Assembles the SnnRuntime Unreal plugin from this folder and a libsnn build.

    stage_plugin.py --platform Linux --library build/rel/libsnn.so.0 --out MyGame/Plugins
    stage_plugin.py --platform Win64 --library build\\Release\\snn.dll --import-library build\\Release\\snn.lib --out ...

writes <out>/SnnRuntime/: the .uplugin and Source/ from engines/unreal, the
headers (include/snn/snn.h, snn.hpp) into Source/ThirdParty/Snn/include/snn/,
and the library under the name Snn.Build.cs expects into
Binaries/ThirdParty/Snn/<Platform>/ (Android: .../Android/<abi>/). Run it
once per platform into the same folder. --check then verifies the staged
plugin: files in place, headers identical to this checkout's, the library
file named in Snn.Build.cs and SnnRuntimeModule.cpp, the .uplugin valid.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEADERS = ("snn.h", "snn.hpp")

# Per platform: the files in Binaries/ThirdParty/Snn/<Platform>/ (the library,
# then the import library on Windows), as Snn.Build.cs names them.
LIBRARY_FILES = {
    "Win64": ("snn.dll", "snn.lib"),
    "Mac": ("libsnn.0.dylib",),
    "Linux": ("libsnn.so.0",),
    "LinuxArm64": ("libsnn.so.0",),
    "Android": ("libsnn.so",),
    "IOS": ("libsnn.a",),
}


def library_dir(plugin: pathlib.Path, platform: str, abi: str) -> pathlib.Path:
    folder = plugin / "Binaries" / "ThirdParty" / "Snn" / platform
    return folder / abi if platform == "Android" else folder


def stage(args: argparse.Namespace, plugin: pathlib.Path) -> None:
    plugin.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "SnnRuntime.uplugin", plugin / "SnnRuntime.uplugin")
    shutil.copytree(HERE / "Source", plugin / "Source", dirs_exist_ok=True)
    include = plugin / "Source" / "ThirdParty" / "Snn" / "include" / "snn"
    include.mkdir(parents=True, exist_ok=True)
    for header in HEADERS:
        shutil.copy2(ROOT / "include" / "snn" / header, include / header)
    target = library_dir(plugin, args.platform, args.abi)
    target.mkdir(parents=True, exist_ok=True)
    names = LIBRARY_FILES[args.platform]
    # copyfile follows symlinks: libsnn.so.0 -> libsnn.so.0.1.0 arrives as one file.
    shutil.copyfile(args.library, target / names[0])
    if args.platform == "Win64":
        if not args.import_library:
            sys.exit("stage_plugin.py: Win64 needs --import-library (snn.lib, next to snn.dll in an MSVC build)")
        shutil.copyfile(args.import_library, target / names[1])
    print(f"staged {plugin} for {args.platform}: {', '.join(str((target / n).relative_to(plugin)) for n in names)}")


def check(args: argparse.Namespace, plugin: pathlib.Path) -> list[str]:
    problems = []
    descriptor = json.loads((plugin / "SnnRuntime.uplugin").read_text())
    modules = {m["Name"]: m for m in descriptor.get("Modules", [])}
    if "SnnRuntime" not in modules:
        problems.append("SnnRuntime.uplugin lists no SnnRuntime module")
    elif args.platform not in modules["SnnRuntime"].get("PlatformAllowList", []):
        problems.append(f"SnnRuntime.uplugin does not allow {args.platform}")
    for source in sorted((HERE / "Source").rglob("*")):
        staged = plugin / source.relative_to(HERE)
        if source.is_file() and not (staged.is_file() and filecmp.cmp(source, staged, shallow=False)):
            problems.append(f"{staged}: missing or different from {source}")
    include = plugin / "Source" / "ThirdParty" / "Snn" / "include" / "snn"
    for header in HEADERS:
        if not filecmp.cmp(ROOT / "include" / "snn" / header, include / header, shallow=False):
            problems.append(f"{include / header} differs from include/snn/{header}")
    build_cs = (plugin / "Source" / "ThirdParty" / "Snn" / "Snn.Build.cs").read_text()
    target = library_dir(plugin, args.platform, args.abi)
    for name in LIBRARY_FILES[args.platform]:
        if not (target / name).is_file():
            problems.append(f"{target / name} is missing")
        if f'"{name}"' not in build_cs:
            problems.append(f"Snn.Build.cs does not name {name}")
    # SnnRuntime loads the desktop libraries by path at startup.
    module_cpp = (plugin / "Source" / "SnnRuntime" / "Private" / "SnnRuntimeModule.cpp").read_text()
    loaded = f'TEXT("{args.platform}/{LIBRARY_FILES[args.platform][0]}")'
    if args.platform in ("Win64", "Mac", "Linux", "LinuxArm64") and loaded not in module_cpp:
        problems.append(f"SnnRuntimeModule.cpp does not load {loaded}")
    if args.library and not filecmp.cmp(args.library, target / LIBRARY_FILES[args.platform][0], shallow=False):
        problems.append(f"{target / LIBRARY_FILES[args.platform][0]} differs from {args.library}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", required=True, choices=sorted(LIBRARY_FILES))
    parser.add_argument("--library", required=True, type=pathlib.Path, help="the built libsnn for that platform")
    parser.add_argument("--import-library", type=pathlib.Path, help="Win64: snn.lib")
    parser.add_argument("--abi", default="arm64-v8a", help="Android ABI folder (default arm64-v8a)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "build" / "unreal",
                        help="folder that receives SnnRuntime/ (a project's Plugins folder, say)")
    parser.add_argument("--check", action="store_true", help="verify the staged plugin afterwards")
    args = parser.parse_args()
    if not args.library.is_file():
        sys.exit(f"stage_plugin.py: {args.library} is not a file")
    plugin = args.out / "SnnRuntime"
    stage(args, plugin)
    if args.check:
        problems = check(args, plugin)
        for problem in problems:
            print(f"stage_plugin.py: {problem}", file=sys.stderr)
        if problems:
            return 1
        print("staged plugin checked: files, headers and library in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
