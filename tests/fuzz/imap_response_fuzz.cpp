// libFuzzer: the IMAP answer parsers of probes/imap (LIST, SEARCH, FETCH INTERNALDATE, a header
// block) over arbitrary server bytes. Invariants: no crash or leak (ASan/UBSan), and every result
// within its cap, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/imap/responses.hpp"

using namespace smtp_exporter::probes::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t cap = 8;
  auto list = parse_list(text, cap);
  if (list.mailboxes.size() > cap) std::abort();
  for (const auto& box : list.mailboxes) {
    if (box.name.empty() || box.name.size() > size || box.flags.size() > 32) std::abort();
  }
  (void)choose_junk_mailbox(list.mailboxes, default_junk_names());
  auto search = parse_search(text, cap);
  if (search.numbers.size() > cap) std::abort();
  for (auto n : search.numbers)
    if (n == 0) std::abort();
  auto dates = parse_internal_dates(text, cap);
  if (dates.messages.size() > cap) std::abort();
  (void)parse_imap_date_time(text);
  auto headers = parse_header_block(text, cap);
  if (headers.fields.size() > cap) std::abort();
  std::size_t bytes = 0;
  for (const auto& f : headers.fields) bytes += f.name.size() + f.value.size();
  if (bytes > size) std::abort();
  (void)imap_quote(text);
  return 0;
}
