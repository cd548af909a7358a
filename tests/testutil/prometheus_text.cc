#include "testutil/prometheus_text.h"

#include <cstdlib>
#include <regex>
#include <set>

namespace segstore::testing {

PrometheusParse ParsePrometheus(std::string_view text, std::string_view prefix) {
  PrometheusParse r;
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kHelp("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*");
  static const std::regex kType("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
  static const std::regex kSample(
      "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\""
      "(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\")*\\})? (\\S+)");
  std::set<std::string> helped, finished;
  std::string current;  // family of the samples being read
  if (!text.empty() && text.back() != '\n') r.problems.push_back("text does not end in a newline");
  size_t at = 0;
  int line_no = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string line(text.substr(at, nl - at));
    at = nl + 1;
    ++line_no;
    const std::string where = "line " + std::to_string(line_no) + " '" + line + "': ";
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) {
      if (!std::regex_match(line, m, kHelp)) {
        r.problems.push_back(where + "bad HELP line");
      } else if (!helped.insert(m[1]).second) {
        r.problems.push_back(where + "second HELP for the family");
      }
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      if (!std::regex_match(line, m, kType)) {
        r.problems.push_back(where + "bad TYPE line");
        continue;
      }
      const std::string name = m[1];
      if (r.types.count(name)) r.problems.push_back(where + "second TYPE for the family");
      r.types[name] = m[2];
      if (m[2] == "counter" && (name.size() < 6 || name.substr(name.size() - 6) != "_total")) {
        r.problems.push_back(where + "counter name does not end in _total");
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      if (!line.empty()) continue;  // other comments are allowed
      r.problems.push_back(where + "empty line");
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      r.problems.push_back(where + "not a sample line");
      continue;
    }
    const std::string name = m[1];
    if (name.rfind(std::string(prefix), 0) != 0) r.problems.push_back(where + "name lacks the prefix");
    if (!r.types.count(name)) r.problems.push_back(where + "sample before (or without) a # TYPE");
    if (!helped.count(name)) r.problems.push_back(where + "sample before (or without) a # HELP");
    if (name != current) {
      if (finished.count(name)) r.problems.push_back(where + "family's samples are not contiguous");
      if (!current.empty()) finished.insert(current);
      current = name;
    }
    const std::string value = m[3];
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0') r.problems.push_back(where + "value is not a number");
    const std::string key = name + std::string(m[2]);
    if (!r.samples.emplace(key, v).second) r.problems.push_back(where + "duplicate sample");
  }
  return r;
}

}  // namespace segstore::testing
