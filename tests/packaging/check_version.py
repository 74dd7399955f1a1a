#!/usr/bin/env python3
"""Checks that every place the version appears agrees with meson.build's
project(version:): include/netaio/version.hpp (MAJOR, MINOR, PATCH and the
string), the single header, and when given, the installed netaio.pc, the
installed CMake version file (evaluated by cmake) and the Conan recipe
(evaluated by the Conan client).

  check_version.py ROOT [--prefix DIR] [--conan "CONAN COMMAND"]

Prints one line per place; exits 1 if any disagrees or cannot be read.
"""
import argparse
import json
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile


def defines(text):
    found = {}
    for name in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(rf"^\s*#\s*define\s+NETAIO_VERSION_{name}\s+(\d+)\s*$", text, re.M)
        found[name] = m.group(1) if m else None
    m = re.search(r'^\s*#\s*define\s+NETAIO_VERSION\s+"([^"]*)"', text, re.M)
    string = m.group(1) if m else None
    if None in found.values():
        return None
    numbers = "{MAJOR}.{MINOR}.{PATCH}".format(**found)
    return numbers if string == numbers else f"{numbers} (but NETAIO_VERSION is {string!r})"


def meson_version(root):
    text = (root / "meson.build").read_text(encoding="utf-8")
    m = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", text, re.S)
    return m.group(1) if m else None


def pc_version(prefix):
    pc = prefix / "share" / "pkgconfig" / "netaio.pc"
    m = re.search(r"^Version:\s*(\S+)", pc.read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else None


def cmake_version(prefix, want):
    # Loads the version file as find_package(netaio <want>) would.
    path = prefix / "share" / "cmake" / "netaio" / "netaioConfigVersion.cmake"
    major, minor = want.split(".")[:2]
    script = (f'set(PACKAGE_FIND_VERSION "{want}")\nset(PACKAGE_FIND_VERSION_MAJOR "{major}")\n'
              f'set(PACKAGE_FIND_VERSION_MINOR "{minor}")\ninclude("{path}")\n'
              'message("${PACKAGE_VERSION} ${PACKAGE_VERSION_COMPATIBLE}")\n')
    with tempfile.TemporaryDirectory() as tmp:
        probe = pathlib.Path(tmp) / "probe.cmake"
        probe.write_text(script, encoding="utf-8")
        out = subprocess.run(["cmake", "-P", str(probe)], text=True, capture_output=True,
                             check=True).stderr.split()
    if len(out) != 2:
        return None
    return out[0] if out[1] == "TRUE" else f"{out[0]} (not compatible with a request for {want})"


def conan_version(root, conan):
    out = subprocess.run(shlex.split(conan) + ["inspect", str(root), "--format=json"], text=True,
                         capture_output=True, check=True).stdout
    return json.loads(out).get("version")


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=pathlib.Path)
    ap.add_argument("--prefix", type=pathlib.Path)
    ap.add_argument("--conan")
    args = ap.parse_args(argv)
    root = args.root
    want = meson_version(root)
    print(f"meson.build project(): {want}")
    if not want:
        return 1
    places = [
        ("include/netaio/version.hpp",
         lambda: defines((root / "include/netaio/version.hpp").read_text(encoding="utf-8"))),
        ("single_include/netaio/netaio.hpp",
         lambda: defines((root / "single_include/netaio/netaio.hpp").read_text(encoding="utf-8"))),
    ]
    if args.prefix:
        places.append(("installed netaio.pc", lambda: pc_version(args.prefix)))
        places.append(("installed netaioConfigVersion.cmake", lambda: cmake_version(args.prefix, want)))
    if args.conan:
        places.append(("conanfile.py (conan inspect)", lambda: conan_version(root, args.conan)))
    bad = 0
    for name, get in places:
        try:
            got = get()
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            got = f"unreadable: {e}"
        ok = got == want
        bad += not ok
        print(f"{name}: {got}{'' if ok else '  <-- differs'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
