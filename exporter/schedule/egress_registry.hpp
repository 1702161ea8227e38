// The egress IPs one kind of check knows and others use: the DNSBL runner publishes its configured
// and discovered egress addresses here, the sender-readiness runner (reverse DNS, SPF) reads them.
// Kinds never name each other (tests/layering); they share this, made by the registry of kinds
// (exporter/checks/check_kinds.cpp).
//
// Thread-safety: every member may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace smtp_exporter::exporter {

class egress_registry {
 public:
  // The publisher's whole current set (IP literals, in its order); the version moves only when
  // the set changes.
  void publish(std::vector<std::string> ips) {
    std::lock_guard lock(mutex_);
    if (ips == ips_) return;
    ips_ = std::move(ips);
    ++version_;
  }
  std::vector<std::string> current() const {
    std::lock_guard lock(mutex_);
    return ips_;
  }
  // Starts at 0 and grows by one per change: a reader compares it to the one it last saw.
  std::uint64_t version() const {
    std::lock_guard lock(mutex_);
    return version_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> ips_;
  std::uint64_t version_ = 0;
};

}  // namespace smtp_exporter::exporter
