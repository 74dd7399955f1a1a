#!/usr/bin/env python3
"""Compiles every ```cpp block of README.md and docs/*.md against include/.

A block is compiled as one of:

- a program, if it has `int main(`: compiled and linked
  (-lsodium -lz -pthread);
- a translation unit, otherwise: checked with -fsyntax-only;
- a fragment, if marked so: its statements go into the body of a coroutine
  (`netaio::task<void>`) with `using namespace netaio;` and
  `using namespace std::chrono_literals;` in effect, after the marker's
  context lines (declarations of the names the fragment uses but does not
  define). Fragments may leave variables and results unused.

Every compile uses g++ -std=c++20 -Wall -Wextra -Werror; errors point at the
Markdown file and line. A marker is an HTML comment right before the fence,
invisible once rendered:

    <!-- snippet: fragment
    std::vector<std::uint8_t> bytes;      (context lines, optional)
    -->

or a line `// snippet: fragment` / `// snippet: skip REASON` inside the
block. `skip` needs a reason and is for blocks that cannot compile as shown
(alternatives side by side, say); keep it rare.

  tools/check_snippets.py [FILE.md ...] [--build-dir DIR] [--results FILE] [--cxx CXX]

Prints one line per block. With --results, appends one line per block to
FILE in meson's testlog format (tools/count_tests.py counts them). Exits 1
if any block fails.
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FENCE_OPEN = re.compile(r"^(\s*)```\s*(cpp|c\+\+)\s*$")
FENCE_CLOSE = re.compile(r"^\s*```\s*$")
HTML_MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(\S+)\s*(.*?)\s*(-->)?\s*$")
LINE_MARKER = re.compile(r"^\s*//\s*snippet:\s*(\S+)\s*(.*?)\s*$")
HAS_MAIN = re.compile(r"\bint\s+main\s*\(")
INCLUDE = re.compile(r"^\s*#\s*include\b")
MODES = ("fragment", "skip")

# -Wno-subobject-linkage: the #line directives that point errors at the
# Markdown make g++ treat a snippet's lambdas as if they sat in a header,
# and warn about lambda types in coroutine frames that are fine in a .cpp.
BASE_FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-Wno-subobject-linkage"]
FRAGMENT_FLAGS = ["-Wno-unused-variable", "-Wno-unused-but-set-variable", "-Wno-unused-result"]
LIBS = ["-lsodium", "-lz", "-pthread"]


class Block:
    def __init__(self, path, line, code, mode=None, reason="", context=None, context_line=0):
        self.path = path  # relative to ROOT
        self.line = line  # first code line (1-based)
        self.code = code  # list of lines
        self.mode = mode
        self.reason = reason
        self.context = context or []
        self.context_line = context_line

    @property
    def name(self):
        return f"snippet {self.path}:{self.line - 1}"

    @property
    def kind(self):
        if self.mode:
            return self.mode
        return "program" if HAS_MAIN.search("\n".join(self.code)) else "unit"


def extract(path):
    rel = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, errors = [], []
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        # A marker comment right before the fence (blank lines allowed).
        mode, reason, context, context_line = None, "", [], 0
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and lines[j].strip().endswith("-->"):
            k = j
            while k >= 0 and "<!--" not in lines[k]:
                k -= 1
            hm = HTML_MARKER.match(lines[k]) if k >= 0 else None
            if hm:
                mode, reason = hm.group(1), hm.group(2)
                if not hm.group(3):  # context lines follow the first line
                    context = [l for l in lines[k + 1:j]]
                    last = lines[j].replace("-->", "")
                    if last.strip():
                        context.append(last)
                    context_line = k + 2
        i += 1
        code = []
        while i < len(lines) and not FENCE_CLOSE.match(lines[i]):
            code.append(lines[i])
            i += 1
        block = Block(rel, start + 2, code, mode, reason, context, context_line)
        for n, line in enumerate(code):
            lm = LINE_MARKER.match(line)
            if lm:
                block.mode, block.reason = lm.group(1), lm.group(2)
                code[n] = ""  # keeps line numbers
        if block.mode and block.mode not in MODES:
            errors.append(f"{rel}:{start + 1}: unknown snippet marker '{block.mode}'")
        elif block.mode == "skip" and not block.reason:
            errors.append(f"{rel}:{start + 1}: 'snippet: skip' needs a reason")
        blocks.append(block)
        i += 1
    return blocks, errors


def line_directive(line, path):
    return f'#line {line} "{path}"'


def unit_source(block):
    return "\n".join([line_directive(block.line, block.path)] + block.code) + "\n"


def fragment_source(blocks):
    """One translation unit holding every fragment, each in its own function."""
    includes = []
    for b in blocks:
        includes += [l for l in b.code if INCLUDE.match(l)]
    out = ["#include <netaio/netaio.hpp>"] + sorted(set(includes))
    out += ["#include <array>", "#include <chrono>", "#include <cstdint>", "#include <optional>",
            "#include <span>", "#include <string>", "#include <string_view>", "#include <vector>",
            "using namespace std::chrono_literals;"]
    for n, b in enumerate(blocks):
        out += [f"namespace snippet_{n} {{", "using namespace netaio;",
                "[[maybe_unused]] netaio::task<void> body() {"]
        if b.context:
            out.append(line_directive(b.context_line, b.path))
            out += b.context
        out.append(line_directive(b.line, b.path))
        out += ["" if INCLUDE.match(l) else l for l in b.code]
        out += ["  co_return;", "}", "}"]
    return "\n".join(out) + "\n"


def compile_source(cxx, source, out_dir, stem, link, extra=()):
    src = out_dir / f"{stem}.cpp"
    src.write_text(source, encoding="utf-8")
    cmd = [cxx] + BASE_FLAGS + list(extra) + ["-I", str(ROOT / "include"), str(src)]
    cmd += ["-o", str(out_dir / stem)] + LIBS if link else ["-fsyntax-only"]
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip(), time.monotonic() - start


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=pathlib.Path)
    ap.add_argument("--build-dir", type=pathlib.Path, default=ROOT / "build" / "snippets")
    ap.add_argument("--results", type=pathlib.Path)
    ap.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)

    files = [f.resolve() for f in args.files] or [ROOT / "README.md"] + sorted(
        (ROOT / "docs").glob("*.md"))
    blocks, errors = [], []
    for f in files:
        b, e = extract(f)
        blocks += b
        errors += e
    for e in errors:
        print(e)
    args.build_dir.mkdir(parents=True, exist_ok=True)

    results = {}  # block name -> (result, detail, seconds)
    jobs = {}
    fragments = [b for b in blocks if b.kind == "fragment"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for n, b in enumerate(blocks):
            if b.kind in ("program", "unit"):
                jobs[pool.submit(compile_source, args.cxx, unit_source(b), args.build_dir,
                                 f"snippet_{n}", b.kind == "program")] = [b]
            elif b.kind == "skip":
                results[b.name] = ("SKIP", b.reason, 0.0)
        if fragments:
            jobs[pool.submit(compile_source, args.cxx, fragment_source(fragments), args.build_dir,
                             "fragments", False, FRAGMENT_FLAGS)] = fragments
        for fut in concurrent.futures.as_completed(jobs):
            group = jobs[fut]
            ok, log, secs = fut.result()
            if ok or len(group) == 1:
                for b in group:
                    results[b.name] = ("OK" if ok else "FAIL", "" if ok else log, secs / len(group))
        # The fragments failed together: compile each alone to say which.
        failed_group = [g for f, g in jobs.items() if len(g) > 1 and not f.result()[0]]
        for group in failed_group:
            singles = {
                pool.submit(compile_source, args.cxx, fragment_source([b]), args.build_dir,
                            f"fragment_{n}", False, FRAGMENT_FLAGS): b
                for n, b in enumerate(group)
            }
            for fut, b in singles.items():
                ok, log, secs = fut.result()
                results[b.name] = ("OK" if ok else "FAIL", "" if ok else log, secs)

    failed = bool(errors)
    lines = []
    for b in blocks:
        result, detail, secs = results[b.name]
        failed |= result == "FAIL"
        print(f"{b.name} ({b.kind}): {result}" + (f": {detail}" if result == "SKIP" else ""))
        if result == "FAIL":
            print(detail)
        lines.append({"name": b.name, "result": result, "stdout": detail,
                      "duration": round(secs, 1)})
    for e in errors:
        lines.append({"name": "snippet markers", "result": "FAIL", "stdout": e})
    if args.results:
        with open(args.results, "a", encoding="utf-8") as f:
            for entry in lines:
                f.write(json.dumps(entry) + "\n")
    if not blocks:
        print("no ```cpp blocks found")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
