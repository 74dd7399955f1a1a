"""zlib/system: the system's zlib (Debian's zlib1g-dev) as a Conan
package, so the recipe's requirement can be met where ConanCenter cannot be
reached. The test's profile maps it with [replace_requires]."""
from conan import ConanFile
from conan.tools.gnu import PkgConfig

required_conan_version = ">=2.0"


class ZlibSystemConan(ConanFile):
    name = "zlib"
    version = "system"
    description = "The system's zlib, found through pkg-config"
    license = "Zlib"
    package_type = "shared-library"
    settings = "os", "arch", "compiler", "build_type"

    def package_id(self):
        self.info.clear()

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.includedirs = []
        self.cpp_info.libdirs = []
        PkgConfig(self, "zlib").fill_cpp_info(self.cpp_info, is_system=True)
        self.cpp_info.set_property("cmake_file_name", "ZLIB")
        self.cpp_info.set_property("cmake_target_name", "ZLIB::ZLIB")
        self.cpp_info.set_property("pkg_config_name", "zlib")
