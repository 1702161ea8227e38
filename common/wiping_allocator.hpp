// An allocator that overwrites memory with OPENSSL_cleanse before giving it back, for containers
// that hold secrets in memory they manage themselves: the web server's request buffer and header
// fields (the Authorization header: the web password in base64). std::allocator frees without
// wiping, so the bytes stayed in the heap until something else happened to reuse them (issue
// 24, finding 8); with this one they are gone the moment a buffer is freed or grown.
//
// Thread-safety: stateless; as std::allocator.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <memory>

namespace smtp_exporter {

template <typename T>
struct wiping_allocator {
  using value_type = T;
  wiping_allocator() noexcept = default;
  template <typename U>
  wiping_allocator(const wiping_allocator<U>&) noexcept {}  // NOLINT: rebinding, as std::allocator

  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <typename U>
  bool operator==(const wiping_allocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace smtp_exporter
