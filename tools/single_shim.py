#!/usr/bin/env python3
"""Writes forwarding headers so code that includes one header of include/
builds against the single header instead: OUT/netaio/<path>.hpp each just
include <netaio/netaio.hpp>, which the include path resolves to
single_include/. Used by the single-header test build.

  tools/single_shim.py OUT_DIR
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = ROOT / "include"


def main(argv):
    out = pathlib.Path(argv[0])
    for header in sorted((INCLUDE / "netaio").rglob("*.hpp")):
        rel = header.relative_to(INCLUDE)
        if rel.as_posix() == "netaio/netaio.hpp":
            continue  # the single header itself
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = "#pragma once\n#include <netaio/netaio.hpp>\n"
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
