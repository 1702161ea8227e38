// libFuzzer: the SMTP reply parser and the EHLO parser over arbitrary server bytes. Invariants:
// no crash or leak (ASan/UBSan), bounded consumption, and the same verdict whether the bytes
// arrive at once or one by one (servers split replies anywhere).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "probes/smtp/ehlo.hpp"
#include "probes/smtp/reply.hpp"

using namespace smtp_exporter::probes;

namespace {
reply_parser::status parse_all(const char* data, std::size_t size, std::size_t step,
                               smtp_reply& reply, std::size_t& used) {
  reply_parser parser(reply_limits{512, 16});
  used = 0;
  auto status = reply_parser::status::indeterminate;
  while (used < size && status == reply_parser::status::indeterminate) {
    std::size_t chunk = std::min(step, size - used);
    std::size_t consumed = 0;
    status = parser.parse(data + used, chunk, consumed);
    if (consumed > chunk) std::abort();
    used += consumed;
    if (status == reply_parser::status::indeterminate && consumed != chunk) std::abort();
  }
  if (status == reply_parser::status::good) reply = parser.take_reply();
  return status;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  smtp_reply whole, split;
  std::size_t used_whole = 0, used_split = 0;
  auto a = parse_all(data, size, size == 0 ? 1 : size, whole, used_whole);
  auto b = parse_all(data, size, 1, split, used_split);
  if (a != b) std::abort();
  if (a == reply_parser::status::good) {
    if (whole.code < 200 || whole.code > 599) std::abort();
    if (whole.code != split.code || whole.lines != split.lines || used_whole != used_split) std::abort();
    if (whole.lines.size() > 16) std::abort();
    (void)parse_ehlo(whole);
  }
  return 0;
}
