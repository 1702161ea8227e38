#include "probes/dns/address_names.hpp"

#include <algorithm>

namespace smtp_exporter::probes {

namespace asio = boost::asio;

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Labels from the most significant octet or nibble on; `reverse` flips the order.
std::string address_labels(const asio::ip::address& address, bool reverse) {
  const asio::ip::address ip = unmapped(address);
  std::string out;
  if (ip.is_v4()) {
    const auto bytes = ip.to_v4().to_bytes();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (!out.empty()) out += '.';
      out += std::to_string(bytes[reverse ? bytes.size() - 1 - i : i]);
    }
    return out;
  }
  const auto bytes = ip.to_v6().to_bytes();
  std::string nibbles;
  nibbles.reserve(32);
  for (const unsigned char b : bytes) {
    nibbles += hex_digits[b >> 4];
    nibbles += hex_digits[b & 0x0f];
  }
  if (reverse) std::reverse(nibbles.begin(), nibbles.end());
  for (const char c : nibbles) {
    if (!out.empty()) out += '.';
    out += c;
  }
  return out;
}

}  // namespace

asio::ip::address unmapped(const asio::ip::address& ip) {
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  }
  return ip;
}

std::string reversed_address_labels(const asio::ip::address& ip) {
  return address_labels(ip, true);
}

std::string dotted_address_labels(const asio::ip::address& ip) {
  return address_labels(ip, false);
}

std::string reverse_dns_name(const asio::ip::address& ip) {
  return reversed_address_labels(ip) + (unmapped(ip).is_v4() ? ".in-addr.arpa" : ".ip6.arpa");
}

}  // namespace smtp_exporter::probes
