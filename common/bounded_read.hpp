// The one way this program reads a file it is told to read (config, web config, secrets, keys):
// - regular files only: a FIFO, a device (/dev/zero) or a directory is refused without blocking
//   (the open is O_NONBLOCK, so a FIFO without a writer cannot hold the caller);
// - at most `max_bytes`: one more byte than the cap is read, then the read stops, so a file that
//   grows without end takes no more memory than the cap;
// - one buffer, sized once and never grown (a reallocation would leave a copy of a secret in freed
//   memory); every buffer is wiped before it is released, when the read fails too.
// The caller keeps it off the event loop: a read from a hung mount still blocks (docs/architecture.md).
//
// Thread-safety: a pure function of the file system; call from any thread.
#pragma once

#include <cstddef>
#include <string>

#include "common/secret.hpp"

namespace smtp_exporter {

enum class read_failure {
  none,
  cannot_open,      // open(2) or fstat(2) failed: `error_number` says why
  not_regular,      // a FIFO, device, socket (a directory reads as EISDIR, as read(2) says)
  too_large,        // more than max_bytes
  read_failed,      // read(2) failed: `error_number` says why
};

struct bounded_read_result {
  secret_string text;  // the whole file when failure == none; a secret type, wiped when dropped
  read_failure failure = read_failure::none;
  int error_number = 0;
  bool ok() const { return failure == read_failure::none; }
  // "No such file or directory", "not a regular file", "larger than 1048576 bytes"…: no path,
  // each caller says which file and which key.
  std::string why(std::size_t max_bytes) const;
};

bounded_read_result read_bounded_file(const std::string& path, std::size_t max_bytes);

}  // namespace smtp_exporter
