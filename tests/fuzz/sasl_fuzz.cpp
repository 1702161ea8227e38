// libFuzzer: the SASL client answering arbitrary 334 challenges, for every mechanism. It must
// stop after its round-trip cap and never crash on bad base64 or odd prompts; a bearer token's
// error challenge, decoded, stays within its bounds and printable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "probes/smtp/sasl.hpp"

using namespace smtp_exporter::probes;
using smtp_exporter::secret_string;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  auto mechanism = static_cast<sasl_mechanism>(bytes[0] % 5);
  std::string_view rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  sasl_client client(mechanism, "alice", secret_string(std::string_view("s3cret")));
  (void)client.initial_command();
  int answered = 0;
  std::size_t pos = 0;
  // Each line of the input is one challenge.
  while (pos <= rest.size()) {
    auto nl = rest.find('\n', pos);
    auto challenge = rest.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (client.respond(challenge)) ++answered;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (answered > sasl_client::max_round_trips) std::abort();
  const sasl_error_challenge decoded = decode_error_challenge(rest);
  for (const std::string* field : {&decoded.status, &decoded.scope, &decoded.schemes, &decoded.excerpt}) {
    if (field->size() > sasl_error_challenge::max_field) std::abort();
    for (char c : *field) {
      if (c < 0x20 || c > 0x7e) std::abort();
    }
  }
  (void)describe(client.error_challenge());
  return 0;
}
