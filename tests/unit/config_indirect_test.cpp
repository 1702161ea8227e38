#include "config/indirect.hpp"

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "exporter/runtime/malloc_tuning.hpp"

namespace smtp_exporter::config {
namespace {

struct pair_of_strings {
  std::string a, b;
  bool operator==(const pair_of_strings&) const = default;
};

TEST(indirect_optional, behaves_as_an_optional_and_copies_deeply) {
  indirect_optional<pair_of_strings> none;
  EXPECT_FALSE(none.has_value());
  EXPECT_FALSE(none);
  EXPECT_TRUE(none == std::nullopt);
  EXPECT_THROW((void)none.value(), std::bad_optional_access);

  indirect_optional<pair_of_strings> set = pair_of_strings{"x", "y"};
  ASSERT_TRUE(set);
  EXPECT_EQ(set->a, "x");
  auto copy = set;
  copy->a = "changed";
  EXPECT_EQ(set->a, "x") << "a copy has its own value";
  EXPECT_FALSE(copy == set);
  copy->a = "x";
  EXPECT_TRUE(copy == set);
  EXPECT_TRUE(set == (pair_of_strings{"x", "y"}));
  EXPECT_FALSE(none == set);

  indirect_optional<pair_of_strings> from_optional = std::optional<pair_of_strings>{};
  EXPECT_FALSE(from_optional);
  from_optional = std::optional<pair_of_strings>(pair_of_strings{"p", "q"});
  EXPECT_EQ(from_optional.value().b, "q");
  from_optional.reset();
  EXPECT_FALSE(from_optional);
  from_optional.emplace(pair_of_strings{"e", "f"});
  EXPECT_EQ((*from_optional).a, "e");
  EXPECT_LT(sizeof(none), sizeof(std::optional<pair_of_strings>));
}

TEST(shared_value, null_is_the_default_and_edits_copy_on_write) {
  shared_value<tls_settings> a;
  EXPECT_EQ(a.pointer(), nullptr) << "the default costs no allocation";
  EXPECT_EQ(a->min_version, "TLS1.2");
  EXPECT_TRUE(a == tls_settings{});

  a.edit().ca_file = "/etc/ca.pem";
  ASSERT_NE(a.pointer(), nullptr);
  auto b = a;
  EXPECT_EQ(a.pointer(), b.pointer()) << "copies share one value";
  b.edit().server_name = "mx.test";
  EXPECT_NE(a.pointer(), b.pointer()) << "an edit of a shared value copies it first";
  EXPECT_EQ(a->server_name, "");
  EXPECT_EQ(b->server_name, "mx.test");
  EXPECT_EQ(b->ca_file, "/etc/ca.pem");
  EXPECT_FALSE(a == b);

  // Equal values compare equal whether or not they are one copy.
  shared_value<tls_settings> c(std::make_shared<const tls_settings>(*b));
  EXPECT_TRUE(c == b);
  // A value given as const is never changed in place.
  const auto given = c.pointer();
  c.edit().key_file = "/etc/k.pem";
  EXPECT_NE(c.pointer(), given);
  EXPECT_EQ(given->key_file, "");
}

TEST(config_target, absent_tables_cost_a_pointer) {
  target t;
  EXPECT_FALSE(t.auth);
  EXPECT_FALSE(t.envelope);
  EXPECT_EQ(t.tls_config.pointer(), nullptr);
  EXPECT_LE(sizeof(target), 320u) << "config::target grew: 10,000 targets keep one copy each";
}

TEST(malloc_tuning, leaves_an_operators_settings_alone) {
  // The test binary has threads and arenas by now; mallopt is still safe to call.
  ::setenv("MALLOC_ARENA_MAX", "8", 1);
  EXPECT_FALSE(exporter::tune_malloc());
  ::unsetenv("MALLOC_ARENA_MAX");
  ::unsetenv("GLIBC_TUNABLES");
  ::unsetenv("MALLOC_MMAP_THRESHOLD_");
  EXPECT_TRUE(exporter::tune_malloc());
}

}  // namespace
}  // namespace smtp_exporter::config
