#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"

namespace segstore::cli {

Progress::Progress(std::string label, uint64_t total, bool quiet)
    : label_(std::move(label)),
      total_(total),
      enabled_(!quiet && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done, uint64_t bytes) {
  last_done_ = done;
  last_bytes_ = bytes;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw(done, bytes, false);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) Draw(last_done_, last_bytes_, true);
}

void Progress::Draw(uint64_t done, uint64_t bytes, bool final_line) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(bytes) / 1e6 / secs : 0;
  std::string eta = "--:--";
  if (done > 0 && total_ > done) {
    const double left = secs * static_cast<double>(total_ - done) / static_cast<double>(done);
    eta = absl::StrFormat("%d:%02d", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
  } else if (done >= total_) {
    eta = "0:00";
  }
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
  std::fprintf(stderr, "\r%s %llu/%llu %5.1f%% %8.1f MB/s ETA %s   %s", label_.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), pct, rate,
               eta.c_str(), final_line ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace segstore::cli
