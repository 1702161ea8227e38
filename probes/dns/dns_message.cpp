#include "probes/dns/dns_message.hpp"
#include "common/ascii.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace smtp_exporter::probes {

namespace asio = boost::asio;

namespace {

constexpr std::uint16_t type_cname = 5;
constexpr std::uint16_t class_in = 1;
constexpr std::size_t header_size = 12;
constexpr std::size_t max_wire_name = 255;   // RFC 1035 2.3.4
constexpr int max_pointer_jumps = 64;        // compression loops end here
constexpr std::size_t max_chain_names = 16;  // the question's name and 15 CNAME targets

std::uint16_t read16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

std::uint32_t read32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

// The name at `pos`, dotted, lower-case; `pos` moves past the name as it sits there (a
// compression pointer ends it). nullopt when malformed: out of bounds, a reserved label type,
// longer than 255 octets, or a pointer loop.
std::optional<std::string> read_name(const unsigned char* data, std::size_t size,
                                     std::size_t& pos) {
  std::string out;
  std::size_t p = pos;
  std::size_t wire = 1;
  bool jumped = false;
  int jumps = 0;
  for (;;) {
    if (p >= size) return std::nullopt;
    const unsigned length = data[p];
    if ((length & 0xc0) == 0xc0) {
      if (p + 1 >= size || ++jumps > max_pointer_jumps) return std::nullopt;
      if (!jumped) pos = p + 2;
      jumped = true;
      p = (length & 0x3f) << 8 | data[p + 1];
      continue;
    }
    if ((length & 0xc0) != 0) return std::nullopt;
    if (length == 0) {
      if (!jumped) pos = p + 1;
      return out;
    }
    wire += length + 1;
    if (wire > max_wire_name || p + 1 + length > size) return std::nullopt;
    if (!out.empty()) out += '.';
    for (std::size_t i = 0; i < length; ++i) {
      const char c = ascii_lower(static_cast<char>(data[p + 1 + i]));
      if (c == '.' || c == '\\') out += '\\';
      out += c;
    }
    p += 1 + length;
  }
}

struct record {
  std::string owner;
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::size_t rdata = 0;  // offset in the message
  std::size_t rdlength = 0;
};

dns_answer failure(std::string error) {
  dns_answer a;
  a.outcome = dns_answer::status::failure;
  a.error = std::move(error);
  return a;
}

// A name inside a record's data must start inside it (it may point anywhere before).
std::optional<std::string> rdata_name(const unsigned char* data, std::size_t size,
                                      const record& r, std::size_t offset) {
  std::size_t pos = r.rdata + offset;
  if (offset >= r.rdlength) return std::nullopt;
  auto name = read_name(data, size, pos);
  if (!name || pos > r.rdata + r.rdlength) return std::nullopt;
  return name;
}

bool in_chain(const std::vector<std::string>& chain, const std::string& name) {
  return std::find(chain.begin(), chain.end(), name) != chain.end();
}

}  // namespace

dns_answer parse_dns_response(const unsigned char* data, std::size_t size, dns_record_type type) {
  if (size < header_size) return failure("truncated DNS header");
  const std::uint16_t questions = read16(data + 4);
  const std::uint16_t answers = read16(data + 6);
  if (questions == 0) return failure("DNS answer without a question");
  std::size_t pos = header_size;
  std::optional<std::string> question;
  for (std::uint16_t i = 0; i < questions; ++i) {
    auto name = read_name(data, size, pos);
    if (!name || pos + 4 > size) return failure("malformed question section");
    if (!question) question = std::move(name);
    pos += 4;
  }
  std::vector<record> records;
  for (std::uint16_t i = 0; i < answers; ++i) {
    auto owner = read_name(data, size, pos);
    if (!owner || pos + 10 > size) return failure("malformed answer section");
    record r;
    r.owner = std::move(*owner);
    r.type = read16(data + pos);
    const std::uint16_t rclass = read16(data + pos + 2);
    const std::uint32_t ttl = read32(data + pos + 4);
    r.ttl = ttl > INT32_MAX ? 0 : ttl;  // RFC 2181 8: a TTL with the top bit set is zero
    r.rdlength = read16(data + pos + 8);
    r.rdata = pos + 10;
    if (r.rdata + r.rdlength > size) return failure("malformed answer section");
    pos = r.rdata + r.rdlength;
    if (rclass == class_in) records.push_back(std::move(r));
  }

  // The names the answer may speak for: the question's, then each CNAME target in turn.
  std::vector<std::string> chain{*question};
  std::uint32_t ttl = UINT32_MAX;
  for (bool grew = true; grew && chain.size() < max_chain_names;) {
    grew = false;
    for (const record& r : records) {
      if (r.type != type_cname || !in_chain(chain, r.owner)) continue;
      auto target = rdata_name(data, size, r, 0);
      if (!target) return failure("malformed CNAME record");
      if (in_chain(chain, *target)) continue;
      chain.push_back(std::move(*target));
      ttl = std::min(ttl, r.ttl);
      grew = true;
      break;  // one link at a time keeps the chain in order
    }
  }

  dns_answer out;
  out.outcome = dns_answer::status::ok;
  std::vector<std::pair<std::uint16_t, std::string>> exchanges;
  bool found = false;
  for (const record& r : records) {
    if (r.type != static_cast<std::uint16_t>(type) || !in_chain(chain, r.owner)) continue;
    found = true;
    ttl = std::min(ttl, r.ttl);
    const unsigned char* rdata = data + r.rdata;
    switch (type) {
      case dns_record_type::a: {
        if (r.rdlength != 4) return failure("malformed A record");
        out.addresses.emplace_back(asio::ip::address_v4(read32(rdata)));
        break;
      }
      case dns_record_type::aaaa: {
        if (r.rdlength != 16) return failure("malformed AAAA record");
        asio::ip::address_v6::bytes_type bytes;
        std::copy(rdata, rdata + 16, bytes.begin());
        out.addresses.emplace_back(asio::ip::address_v6(bytes));
        break;
      }
      case dns_record_type::txt: {
        std::string text;
        for (std::size_t p = 0; p < r.rdlength;) {
          const std::size_t length = rdata[p];
          if (p + 1 + length > r.rdlength) return failure("malformed TXT record");
          text.append(reinterpret_cast<const char*>(rdata + p + 1), length);
          p += 1 + length;
        }
        out.texts.push_back(std::move(text));
        break;
      }
      case dns_record_type::ptr: {
        auto name = rdata_name(data, size, r, 0);
        if (!name) return failure("malformed PTR record");
        out.names.push_back(std::move(*name));
        break;
      }
      case dns_record_type::mx: {
        if (r.rdlength < 3) return failure("malformed MX record");
        auto name = rdata_name(data, size, r, 2);
        if (!name) return failure("malformed MX record");
        exchanges.emplace_back(read16(rdata), std::move(*name));
        break;
      }
    }
  }
  if (!found) {
    dns_answer none;
    none.outcome = dns_answer::status::nodata;
    none.error = "no records";
    return none;
  }
  std::stable_sort(exchanges.begin(), exchanges.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [preference, name] : exchanges) out.names.push_back(std::move(name));
  out.ttl = ttl;
  return out;
}

}  // namespace smtp_exporter::probes
