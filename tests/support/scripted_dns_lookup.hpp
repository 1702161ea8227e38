// Test support: a dns_lookup answering from a table in memory, for the unit tests of what asks
// DNS (the cache, SPF, reverse DNS, DMARC) without a server. Unlisted questions get NXDOMAIN.
// Every question is logged; `delay` makes answers arrive later (on the caller's executor), for
// tests of questions in flight. Header-only.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "probes/dns/dns_lookup.hpp"

namespace smtp_test {

class scripted_dns_lookup final : public smtp_exporter::probes::dns_lookup {
 public:
  using answer = smtp_exporter::probes::dns_answer;
  using type = smtp_exporter::probes::dns_record_type;

  // Replaces what (name, t) answers.
  void set(const std::string& name, type t, answer a) { table_[{name, t}] = std::move(a); }
  void txt(const std::string& name, std::vector<std::string> texts, std::uint32_t ttl = 300) {
    answer a = ok(ttl);
    a.texts = std::move(texts);
    set(name, type::txt, std::move(a));
  }
  void address(const std::string& name, const std::vector<std::string>& ips,
               std::uint32_t ttl = 300) {
    answer v4 = ok(ttl), v6 = ok(ttl);
    for (const auto& ip : ips) {
      const auto a = boost::asio::ip::make_address(ip);
      (a.is_v4() ? v4 : v6).addresses.push_back(a);
    }
    if (!v4.addresses.empty()) set(name, type::a, v4);
    if (!v6.addresses.empty()) set(name, type::aaaa, v6);
  }
  void names(const std::string& name, type t, std::vector<std::string> names,
             std::uint32_t ttl = 300) {
    answer a = ok(ttl);
    a.names = std::move(names);
    set(name, t, std::move(a));
  }
  // An answer with this outcome (nodata, servfail, timeout...) for every type at `name`.
  void fail(const std::string& name, answer::status s) {
    for (const type t : {type::a, type::aaaa, type::txt, type::mx, type::ptr}) {
      answer a;
      a.outcome = s;
      a.error = "scripted";
      set(name, t, a);
    }
  }

  boost::asio::awaitable<answer> query(std::string name, type t,
                                       std::chrono::steady_clock::time_point deadline) override {
    log_.push_back(name + " " + std::string(smtp_exporter::probes::dns_record_type_name(t)));
    if (delay_.count() > 0) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                      std::min(std::chrono::steady_clock::now() + delay_, deadline));
      co_await timer.async_wait(boost::asio::use_awaitable);
      if (std::chrono::steady_clock::now() >= deadline) {
        answer late;
        late.outcome = answer::status::timeout;
        co_return late;
      }
    }
    const auto it = table_.find({name, t});
    if (it != table_.end()) co_return it->second;
    answer none;
    none.outcome = answer::status::nxdomain;
    co_return none;
  }

  const std::vector<std::string>& log() const { return log_; }
  int count(const std::string& question) const {
    int n = 0;
    for (const auto& q : log_) n += q == question;
    return n;
  }
  void clear_log() { log_.clear(); }
  void delay(std::chrono::milliseconds d) { delay_ = d; }

  static answer ok(std::uint32_t ttl = 300) {
    answer a;
    a.outcome = answer::status::ok;
    a.ttl = ttl;
    return a;
  }

 private:
  std::map<std::pair<std::string, type>, answer> table_;
  std::vector<std::string> log_;
  std::chrono::milliseconds delay_{0};
};

}  // namespace smtp_test
