#include "probes/smtp/message.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <ctime>

namespace smtp_exporter::probes {
namespace {

// Printable ASCII only: a config string cannot add a header line or end the message early.
std::string header_safe(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    if (c >= 0x20 && c < 0x7f) out.push_back(c);
  }
  return out;
}

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string("localhost")
                                      : header_safe(address.substr(at + 1), 200);
}

}  // namespace

std::string make_probe_id(std::string_view target, std::chrono::system_clock::time_point now) {
  std::string id;
  for (char c : target) {
    if (id.size() >= 40) break;
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    id.push_back(word ? c : '_');
  }
  if (id.empty()) id = "target";
  std::array<unsigned char, 8> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    // The id needs uniqueness, not secrecy: fall back on the clock's sub-second part.
    const auto ns = now.time_since_epoch().count();
    for (std::size_t i = 0; i < random.size(); ++i)
      random[i] = static_cast<unsigned char>(ns >> (8 * i));
  }
  char hex[17] = {};
  for (std::size_t i = 0; i < random.size(); ++i) {
    std::snprintf(hex + 2 * i, 3, "%02x", random[i]);
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return id + "-" + std::to_string(seconds) + "-" + hex;
}

std::string make_message_id(std::string_view probe_id, std::string_view from) {
  return "<" + header_safe(probe_id, 100) + "@" + domain_of(from) + ">";
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  const std::time_t time = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return buffer;
}

std::string compose_probe_message(const probe_message& m) {
  const std::string from = header_safe(m.from, 254);
  const std::string to = header_safe(m.to, 254);
  std::string out;
  out.reserve(640);
  out += "Date: " + rfc5322_date(m.date) + "\r\n";
  out += "Message-ID: " + header_safe(m.message_id, 250) + "\r\n";
  out += "From: smtp_exporter <" + from + ">\r\n";
  out += "To: <" + to + ">\r\n";
  out += "Subject: smtp_exporter delivery probe for " + header_safe(m.target, 80) + "\r\n";
  out += std::string(probe_header_name) + ": " + header_safe(m.probe_id, 100) + "\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=us-ascii\r\n";
  out += "\r\n";
  out += "This message tests that mail from this application arrives, and where.\r\n";
  out += "smtp_exporter sent it and deletes it when it finds it; you may delete it too.\r\n";
  return out;
}

}  // namespace smtp_exporter::probes
