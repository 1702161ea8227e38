#include "probes/imap/client.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace smtp_exporter::probes::imap {
namespace {

TEST(imap_uid_set, sorted_deduplicated_ranges) {
  EXPECT_EQ(uid_set({}), "");
  EXPECT_EQ(uid_set({7}), "7");
  EXPECT_EQ(uid_set({5, 1, 2, 3, 9, 3, 10}), "1:3,5,9:10");
  EXPECT_EQ(uid_set({4294967295u, 4294967294u}), "4294967294:4294967295");
}

TEST(imap_error_names, one_distinct_word_per_class) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < imap_error_count; ++i) {
    auto name = imap_error_name(static_cast<imap_error>(i));
    EXPECT_NE(name, "unknown") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), imap_error_count);
  EXPECT_EQ(imap_error_name(imap_error::auth_rejected), "auth_rejected");
  EXPECT_EQ(imap_error_name(imap_error::timeout), "timeout");
  EXPECT_EQ(imap_error_name(static_cast<imap_error>(imap_error_count)), "unknown");
}

}  // namespace
}  // namespace smtp_exporter::probes::imap
