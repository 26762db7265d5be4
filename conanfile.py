"""Conan 2 recipe for libsnn (docs/packaging.md).

    conan create .                          # static library, Release (the recipe's defaults)
    conan create . -o "snn/*:shared=True"   # shared library

The package is what `cmake --install` gives (headers, library, snnConfig.cmake,
snn.pc); Conan consumers use the information below (CMakeDeps: find_package(snn)
and snn::snn; PkgConfigDeps: snn.pc). The test package is packaging/conan/test_package.
"""
import os
import re

from conan import ConanFile
from conan.tools.build import stdcpp_library
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout
from conan.tools.files import load


class SnnConan(ConanFile):
    name = "snn"
    description = "libsnn, a spiking neural network runtime with a stable C API"
    topics = ("spiking-neural-networks", "snn", "neuromorphic", "simulation")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False]}
    default_options = {"shared": False, "fPIC": True}
    exports_sources = "CMakeLists.txt", "cmake/*", "include/*", "src/*"
    test_package_folder = "packaging/conan/test_package"

    def set_version(self):
        # The header is the source of truth for the version (CMakeLists.txt checks the same).
        header = load(self, os.path.join(self.recipe_folder, "include", "snn", "snn.h"))
        parts = [re.search(rf"#define SNN_VERSION_{p} (\d+)", header).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
        self.version = ".".join(parts)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["SNN_BUILD_TESTS"] = False
        tc.cache_variables["SNN_BUILD_EXAMPLES"] = False
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        CMake(self).install()

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "snn")
        self.cpp_info.set_property("cmake_target_name", "snn::snn")
        self.cpp_info.set_property("pkg_config_name", "snn")
        self.cpp_info.libs = ["snn"]
        if not self.options.shared:
            # A static libsnn brings what it links: the C++ runtime (for
            # programs linked as C), threads and libm.
            self.cpp_info.defines = ["SNN_STATIC"]
            if self.settings.os in ("Linux", "FreeBSD"):
                self.cpp_info.system_libs = ["pthread", "m"]
            libcxx = stdcpp_library(self)
            if libcxx:
                self.cpp_info.system_libs.append(libcxx)
