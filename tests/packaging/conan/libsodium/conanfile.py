"""libsodium/system: the system's libsodium (Debian's libsodium-dev) as a Conan
package, so the recipe's requirement can be met where ConanCenter cannot be
reached. The test's profile maps it with [replace_requires]."""
from conan import ConanFile
from conan.tools.gnu import PkgConfig

required_conan_version = ">=2.0"


class LibsodiumSystemConan(ConanFile):
    name = "libsodium"
    version = "system"
    description = "The system's libsodium, found through pkg-config"
    license = "ISC"
    package_type = "shared-library"
    settings = "os", "arch", "compiler", "build_type"

    def package_id(self):
        self.info.clear()

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.includedirs = []
        self.cpp_info.libdirs = []
        PkgConfig(self, "libsodium").fill_cpp_info(self.cpp_info, is_system=True)
        self.cpp_info.set_property("cmake_file_name", "libsodium")
        self.cpp_info.set_property("cmake_target_name", "libsodium::libsodium")
        self.cpp_info.set_property("pkg_config_name", "libsodium")
