// A small checker of Prometheus text exposition (format 0.0.4) for the tests
// of FormatPrometheus and `segstore stats --prometheus`.

#ifndef SEGSTORE_TESTS_TESTUTIL_PROMETHEUS_TEXT_H_
#define SEGSTORE_TESTS_TESTUTIL_PROMETHEUS_TEXT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace segstore::testing {

struct PrometheusParse {
  std::vector<std::string> problems;  // empty when well-formed
  // "name" or "name{labels}" (labels as written) -> value.
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family name -> counter/gauge/...
};

// Checks: every line is "# HELP name text", "# TYPE name kind" or a sample
// "name value" / "name{k="v",...} value"; names match
// [a-zA-Z_:][a-zA-Z0-9_:]*; every sample's family has one # TYPE and one
// # HELP before its first sample; a family's samples are contiguous;
// counters end in _total; values parse as numbers; the text ends in '\n'.
// prefix: every name must start with it ("" for any).
PrometheusParse ParsePrometheus(std::string_view text, std::string_view prefix = "segstore_");

}  // namespace segstore::testing

#endif  // SEGSTORE_TESTS_TESTUTIL_PROMETHEUS_TEXT_H_
