// Secrets in memory (common to config/ and probes/).
//
// A password or bearer token that cannot be printed by accident and is wiped when it goes away.
//
// - No operator<<, no conversion to std::string: the bytes are reachable only through reveal(), so
//   a secret shows up in a log line only when someone writes `.reveal()` next to the log call.
// - The bytes live on the heap behind a pointer, never inside the object: moving transfers the
//   pointer (no copy left behind in a moved-from small-string buffer), and a test framework that
//   prints an unknown object's raw bytes prints an address, not the secret.
// - Destruction and move-assignment overwrite the old bytes with OPENSSL_cleanse, which the
//   compiler may not optimise away.
//
// Thread-safety: a value; const members may be called concurrently.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace smtp_exporter {

// Overwrites every byte a string owns, spare capacity included, then empties it. For the
// temporaries that held a secret or its base64 (std::string's destructor only frees them).
inline void cleanse(std::string& s) noexcept {
  s.resize(s.capacity());  // never reallocates: makes the spare capacity writable too
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

class secret_string {
 public:
  secret_string() noexcept = default;
  // Copies the bytes; the caller still owns (and should cleanse) `value`.
  explicit secret_string(std::string_view value) { assign(value); }
  explicit secret_string(const char* value) : secret_string(std::string_view(value)) {}
  // Takes the bytes of a temporary and cleanses it, so `secret_string(read_something())` leaves
  // no copy behind in a destroyed std::string.
  explicit secret_string(std::string&& value) {
    assign(value);
    cleanse(value);
  }

  secret_string(const secret_string&) = delete;
  secret_string& operator=(const secret_string&) = delete;
  secret_string(secret_string&& other) noexcept
      : bytes_(std::move(other.bytes_)), size_(std::exchange(other.size_, 0)) {}
  secret_string& operator=(secret_string&& other) noexcept {
    if (this != &other) {
      wipe();
      bytes_ = std::move(other.bytes_);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~secret_string() { wipe(); }

  // The only way to the bytes. Valid until this object is destroyed or assigned to.
  std::string_view reveal() const noexcept { return {bytes_.get(), size_}; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

 private:
  std::unique_ptr<char[]> bytes_;
  std::size_t size_ = 0;

  void assign(std::string_view value) {
    if (value.empty()) return;
    bytes_ = std::make_unique_for_overwrite<char[]>(value.size());
    std::memcpy(bytes_.get(), value.data(), value.size());
    size_ = value.size();
  }
  void wipe() noexcept {
    if (bytes_) OPENSSL_cleanse(bytes_.get(), size_);
    bytes_.reset();
    size_ = 0;
  }
};

// An inline secret from the config file, shared by the copies of a config (a reload compares the
// old and new target, the scheduler and status page copy it): one wiped buffer, never a plain
// std::string. Compared by content, so an unchanged password does not restart a target.
class shared_secret {
 public:
  shared_secret() = default;
  explicit shared_secret(std::string_view value)
      : value_(value.empty() ? nullptr : std::make_shared<const secret_string>(value)) {}
  std::string_view reveal() const noexcept { return value_ ? value_->reveal() : std::string_view{}; }
  bool empty() const noexcept { return !value_ || value_->empty(); }
  friend bool operator==(const shared_secret& a, const shared_secret& b) {
    return a.reveal() == b.reveal();
  }

 private:
  std::shared_ptr<const secret_string> value_;
};

}  // namespace smtp_exporter
