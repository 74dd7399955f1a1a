// wire_conformance: checks a vector file of the reference implementation.
// Usage: wire_conformance VECTORS.json
#include <cstdio>
#include <exception>
#include <fstream>

#include "report.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s VECTORS.json\n", argv[0]);
    return 2;
  }
  nlohmann::json root;
  try {
    std::ifstream in(argv[1]);
    if (!in) {
      std::fprintf(stderr, "cannot open %s\n", argv[1]);
      return 2;
    }
    root = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot parse %s: %s\n", argv[1], e.what());
    return 2;
  }
  if (!root.is_object()) {
    std::fprintf(stderr, "%s: top level is not an object\n", argv[1]);
    return 2;
  }

  conformance::report r;
  conformance::check_wire_sections(root, r);
  conformance::check_plugin_sections(root, r);
  for (const auto& [name, section] : root.items()) {
    (void)section;
    if (name == "reference" || name == "seed") continue;
    if (!r.touched(name)) r.mismatch(name, 0, "section not checked by any checker");
  }

  std::printf("%zu vectors checked, %zu mismatches\n", r.checked_count(), r.mismatch_count());
  if (r.checked_count() == 0) {
    std::printf("FAIL: nothing was checked\n");
    return 1;
  }
  return r.mismatch_count() == 0 ? 0 : 1;
}
