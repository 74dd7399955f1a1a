"""Conan 2 recipe of netaio for C++, in ConanCenter's header-library shape.

    conan create .            # packages the headers; test_package/ builds and runs a consumer

The version is read from meson.build, the one place it is written.
"""
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout
from conan.tools.scm import Version

required_conan_version = ">=2.0"


class NetaioConan(ConanFile):
    name = "netaio"
    description = ("Header-only C++20 coroutine framework for TCP and UDP nodes speaking "
                   "the netaio wire protocol")
    license = "MIT"
    topics = ("networking", "coroutines", "async", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    exports = "meson.build"
    exports_sources = "include/*", "LICENSE"
    no_copy_source = True

    _min_cppstd = 20
    # The compilers the test command builds with (README: "Tested with").
    _min_compiler_versions = {"gcc": "12", "clang": "14"}

    def set_version(self):
        text = load(self, os.path.join(self.recipe_folder, "meson.build"))
        m = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", text, re.S)
        if not m:
            raise ConanInvalidConfiguration("no version in meson.build's project()")
        self.version = m.group(1)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        # Public: the headers include <sodium.h> and <zlib.h>. A header
        # library's requirements reach its consumers' headers and links.
        self.requires("libsodium/[>=1.0.18 <2]")
        self.requires("zlib/[>=1.2.11 <2]")

    def package_id(self):
        self.info.clear()

    def validate(self):
        if self.settings.compiler.get_safe("cppstd"):
            check_min_cppstd(self, self._min_cppstd)
        minimum = self._min_compiler_versions.get(str(self.settings.compiler))
        if minimum and Version(self.settings.compiler.version) < minimum:
            raise ConanInvalidConfiguration(
                f"{self.ref} needs {self.settings.compiler} >= {minimum} (C++20 coroutines)")
        if self.settings.os not in ("Linux",):
            raise ConanInvalidConfiguration(
                f"{self.ref} has only its epoll backend so far (Linux); kqueue and IOCP come later")

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "netaio")
        self.cpp_info.set_property("cmake_target_name", "netaio::netaio")
        self.cpp_info.set_property("pkg_config_name", "netaio")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []

        lib = self.cpp_info.components["netaio"]
        lib.set_property("cmake_target_name", "netaio::netaio")
        lib.set_property("pkg_config_name", "netaio")
        lib.bindirs = []
        lib.libdirs = []
        lib.requires = ["libsodium::libsodium", "zlib::zlib"]
        if self.settings.os in ("Linux", "FreeBSD"):
            lib.system_libs = ["pthread"]
