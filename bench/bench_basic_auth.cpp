// How long a basic-auth check takes for a user hashed cheaply, one hashed dearly and an unknown
// user, with the users' bcrypt costs differing: the three must take about the same time, or the
// time tells which users exist. Also prints one bare bcrypt at each user's own cost: what a check
// cost before the padding (the cheap user answered that much faster than an unknown one).
// Usage: bench_basic_auth [CHEAP_COST] [DEAR_COST] [ROUNDS]   (defaults 8, 11, 9)
#include <crypt.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "exporter/web/web_security.hpp"
#include "common/base64.hpp"

namespace {

using smtp_exporter::exporter::bcrypt_matches;
using smtp_exporter::exporter::web_security;

std::string hash_at(const char* password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt) ==
      nullptr) {
    std::exit(1);
  }
  crypt_data data{};
  return crypt_rn(password, salt, &data, sizeof data);
}

// The median of `rounds` timings of `f`, in milliseconds.
double median_ms(int rounds, const std::function<void()>& f) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int cheap_cost = argc > 1 ? std::atoi(argv[1]) : 8;
  const int dear_cost = argc > 2 ? std::atoi(argv[2]) : 11;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 9;
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("bench_basic_auth_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cheap_hash = hash_at("cheap-password", cheap_cost);
  const std::string dear_hash = hash_at("dear-password", dear_cost);
  std::ofstream(dir / "web.yml") << "basic_auth_users:\n  cheap: '" << cheap_hash
                                 << "'\n  dear: '" << dear_hash << "'\n";
  std::vector<std::string> errors;
  auto loaded = web_security::load((dir / "web.yml").string(), errors);
  fs::remove_all(dir);
  if (!loaded) return 1;
  auto security = *loaded;
  const auto state = security->current();
  auto check = [&](const std::string& user) {
    const std::string header = "Basic " + smtp_exporter::base64_encode(user + ":wrong");
    return [&, header] { security->check(*state, header); };
  };
  std::printf("users at bcrypt cost %d and %d; median of %d checks with a wrong password:\n",
              cheap_cost, dear_cost, rounds);
  std::printf("  check(cheap)   %8.1f ms\n", median_ms(rounds, check("cheap")));
  std::printf("  check(dear)    %8.1f ms\n", median_ms(rounds, check("dear")));
  std::printf("  check(nobody)  %8.1f ms\n", median_ms(rounds, check("nobody")));
  std::printf("one bare bcrypt (a check before the padding):\n");
  std::printf("  cost %2d        %8.1f ms\n", cheap_cost,
              median_ms(rounds, [&] { bcrypt_matches("wrong", cheap_hash); }));
  std::printf("  cost %2d        %8.1f ms\n", dear_cost,
              median_ms(rounds, [&] { bcrypt_matches("wrong", dear_hash); }));
  return 0;
}
