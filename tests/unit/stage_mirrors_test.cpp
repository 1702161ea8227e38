// What others derive from the stage table must not drift from it: every stage has its failure
// class, its exit code, its help wording and its diagnose predicate; every failure reason belongs
// to exactly one place (before any stage, generic, or one stage's list); config::probe is the same
// list as probe_kind; docs/diagnose.md's exit-code table says what the code does.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "exporter/render/metrics.hpp"
#include "exporter/views/advice.hpp"
#include "probes/smtp/session.hpp"
#include "probes/smtp/stages.hpp"

namespace smtp_exporter::exporter {
namespace {

using probes::failure_reason;
using probes::probe_kind;

#ifndef SMTP_SOURCE_DIR
#error "SMTP_SOURCE_DIR must name the repository root (CMake defines it for unit_tests)"
#endif

bool generic(failure_reason r) {
  for (auto g : probes::generic_reasons) {
    if (g == r) return true;
  }
  return false;
}

TEST(stage_mirrors, every_stage_has_its_class_exit_code_and_wording) {
  std::set<int> codes;
  std::set<std::string_view> names;
  for (const auto& stage : probes::stage_table()) {
    SCOPED_TRACE(std::string(probes::to_string(stage.probe)));
    const failure_class cls = class_of_stage(stage.probe);
    const std::string_view name = to_string(cls);
    EXPECT_FALSE(name.empty());
    EXPECT_NE(name, "none") << "a stage without its row in advice.cpp's stage_rows";
    EXPECT_TRUE(names.insert(name).second) << "two stages share a class name";
    const int code = exit_code_for(cls);
    EXPECT_GT(code, exit_code::connect) << "a stage's exit code follows resolve's and connect's";
    EXPECT_TRUE(codes.insert(code).second) << "two stages share exit code " << code;
    EXPECT_FALSE(stage.deciding_reply.empty()) << "smtp_reply_code's help names each stage";
    EXPECT_NE(stage.applies, nullptr) << "diagnose asks each stage whether it applies";
  }
  // The stages' codes follow one another, so scripts can read "the first failing stage".
  ASSERT_FALSE(codes.empty());
  EXPECT_EQ(*codes.rbegin() - *codes.begin() + 1, static_cast<int>(codes.size()));
}

TEST(stage_mirrors, every_reason_belongs_to_exactly_one_place) {
  for (std::size_t i = 1; i < probes::failure_reason_count; ++i) {
    const auto r = static_cast<failure_reason>(i);
    SCOPED_TRACE(std::string(probes::to_string(r)));
    int owners = 0;
    for (const auto& stage : probes::stage_table()) {
      for (auto owned : stage.reasons) owners += owned == r;
    }
    EXPECT_LE(owners, 1) << "listed by two stages";
    if (generic(r)) {
      EXPECT_EQ(owners, 0) << "a generic reason belongs to no stage";
      for (const auto& stage : probes::stage_table()) {
        EXPECT_EQ(class_of(r, stage.probe), class_of_stage(stage.probe));
      }
    } else if (auto owner = probes::stage_owning(r)) {
      for (const auto& stage : probes::stage_table()) {
        EXPECT_EQ(class_of(r, stage.probe), class_of_stage(*owner)) << "whichever probe failed";
      }
    } else {
      // Neither a stage's nor generic: only the steps before any SMTP may own it. A new reason
      // missing from its stage's list lands here and fails.
      const failure_class c = class_of(r, probe_kind::banner);
      EXPECT_TRUE(c == failure_class::resolve || c == failure_class::connect)
          << "in no stage's reasons (stage_info::reasons) and not generic; class "
          << to_string(c);
    }
  }
}

TEST(stage_mirrors, config_probe_is_the_probe_kind_list) {
  ASSERT_EQ(config::probe_count, probes::probe_kind_count);
  for (std::size_t i = 0; i < config::probe_count; ++i) {
    EXPECT_EQ(config::to_string(static_cast<config::probe>(i)),
              probes::to_string(static_cast<probe_kind>(i)));
    EXPECT_EQ(config::parse_probe(probes::to_string(static_cast<probe_kind>(i))),
              static_cast<config::probe>(i));
  }
}

TEST(stage_mirrors, applicable_probes_follow_the_settings) {
  probes::session_options o;
  o.mode = probes::transport::plain;
  auto due = probes::applicable_probes(o);
  EXPECT_TRUE(due[static_cast<std::size_t>(probe_kind::banner)]);
  EXPECT_FALSE(due[static_cast<std::size_t>(probe_kind::tls)]);
  EXPECT_FALSE(due[static_cast<std::size_t>(probe_kind::auth)]);
  EXPECT_FALSE(due[static_cast<std::size_t>(probe_kind::envelope)]);
  EXPECT_FALSE(due[static_cast<std::size_t>(probe_kind::delivery)]);
  o.mode = probes::transport::starttls;
  o.auth = probes::auth_options{};
  o.envelope = probes::envelope_options{"a@example.com", "b@example.com"};
  o.delivery = probes::delivery_options{"a@example.com", "c@example.com", "mx"};
  due = probes::applicable_probes(o);
  for (bool d : due) EXPECT_TRUE(d);
}

// The help made from the stages' deciding_reply reads as the text it replaced, byte for byte.
TEST(stage_mirrors, reply_code_help_names_each_stage) {
  status_store store;
  exporter_state state;
  auto t = std::make_shared<config::target>();
  t->name = "mx";
  t->host = "mx.test";
  t->probes = {true};
  store.set_targets({t});
  probes::session_result r;
  r.probes[0] = {true, failure_reason::banner_rejected, 554, {}, false};
  store.record(t, r, 1700000000);
  metrics_collector c(store, state);
  std::ostringstream out;
  c.render(out);
  EXPECT_NE(out.str().find(
                "# HELP smtp_reply_code The SMTP reply code that decided the probe (greeting for "
                "banner, STARTTLS for tls, the final AUTH reply for auth, RCPT TO (or a refused "
                "MAIL FROM) for envelope, the reply after the message (or a refused DATA, MAIL "
                "FROM or RCPT TO) for delivery); 0 when no reply was received."),
            std::string::npos)
      << out.str();
}

// docs/diagnose.md's table "| code | class | reasons |": each stage's class is a row with its
// code, and every reason a row names has that row's class.
TEST(stage_mirrors, docs_diagnose_exit_codes_match) {
  std::ifstream in(SMTP_SOURCE_DIR "/docs/diagnose.md");
  ASSERT_TRUE(in) << "docs/diagnose.md";
  std::map<std::string, int> code_of_class;
  std::map<std::string, int> code_of_reason;
  const std::regex row(R"(^\| (\d+) \| (\w+) \| (.*)\|$)");
  const std::regex reason("`(\\w+)`");
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    const int code = std::stoi(m[1]);
    code_of_class[m[2]] = code;
    // Reasons named before ';' belong to the row; after it come the generic three.
    const std::string own = m[3].str().substr(0, m[3].str().find(';'));
    for (std::sregex_iterator it(own.begin(), own.end(), reason), end; it != end; ++it) {
      code_of_reason[(*it)[1]] = code;
    }
  }
  for (const auto& stage : probes::stage_table()) {
    const failure_class cls = class_of_stage(stage.probe);
    const std::string name(to_string(cls));
    ASSERT_TRUE(code_of_class.count(name)) << name << " has no row in docs/diagnose.md";
    EXPECT_EQ(code_of_class[name], exit_code_for(cls)) << name;
  }
  ASSERT_FALSE(code_of_reason.empty());
  for (const auto& [name, code] : code_of_reason) {
    auto r = probes::parse_failure_reason(name);
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(exit_code_for(class_of(*r, probe_kind::banner)), code) << name;
  }
}

}  // namespace
}  // namespace smtp_exporter::exporter
