#!/usr/bin/env python3
"""Sums test cases over meson test logs and prints "N passed, N failed"
(", N skipped" after it when a check was skipped).

A doctest executable counts each of its test cases; any other test (a
conformance runner, a fuzz run, a packaging check) counts as one case,
passed, failed or skipped by its result: a check skipped for want of a tool
(../shared absent, say) is never counted as passed. A doctest executable that crashed before its summary counts as one
failed case, so a crash is never hidden.
"""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")


def count(path):
    passed = failed = skipped = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            result = entry.get("result")
            ok = result in ("OK", "EXPECTEDFAIL", "SKIP")
            found = SUMMARY.findall(entry.get("stdout", "") or "")
            if found:
                _, p, fl = map(int, found[-1])
                passed += p
                failed += fl
                if not ok and fl == 0:
                    failed += 1  # exited badly after a clean summary (sanitizer report at exit)
            elif result == "SKIP":
                skipped += 1
            elif ok:
                passed += 1
            else:
                failed += 1
    return passed, failed, skipped


def main(argv):
    extra_failed = 0
    if len(argv) >= 2 and argv[0] == "--extra-failed":
        extra_failed = int(argv[1])
        argv = argv[2:]
    passed = failed = skipped = 0
    for path in argv:
        try:
            p, f, k = count(path)
        except FileNotFoundError:
            p, f, k = 0, 1, 0
        passed += p
        failed += f
        skipped += k
    failed += extra_failed
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
