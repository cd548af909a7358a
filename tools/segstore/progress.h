// A one-line progress bar with rate and ETA on stderr, shown only when
// stderr is a terminal and --quiet is not given.

#ifndef SEGSTORE_TOOLS_SEGSTORE_PROGRESS_H_
#define SEGSTORE_TOOLS_SEGSTORE_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace segstore::cli {

class Progress {
 public:
  Progress(std::string label, uint64_t total, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // done: items finished so far; bytes: payload bytes so far.
  void Update(uint64_t done, uint64_t bytes);
  void Finish();

 private:
  void Draw(uint64_t done, uint64_t bytes, bool final_line);

  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  uint64_t last_done_ = 0, last_bytes_ = 0;
};

}  // namespace segstore::cli

#endif  // SEGSTORE_TOOLS_SEGSTORE_PROGRESS_H_
