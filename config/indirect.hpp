// Members of config::target that most targets leave unset or share, held by pointer so that a
// plain target stays small: at 10,000 targets every byte of config::target is 10 kB, and the
// scheduler and the status records keep one copy of each target (bench/README.md, "Memory at
// 10,000 STARTTLS targets").
//
// - indirect_optional<T>: std::optional's interface for a value that lives on the heap when set;
//   8 bytes when absent ([target.auth], [target.envelope]).
// - shared_value<T>: an immutable value shared by its copies (copy-on-write through edit()); null
//   stands for T{}, so the default costs nothing, and equal values can be made one copy
//   (exporter::scheduler interns the TLS settings of the targets it keeps).
//
// Thread-safety: values; a shared_value's pointee is never changed once shared.
#pragma once

#include <memory>
#include <optional>
#include <utility>

namespace smtp_exporter::config {

template <typename T>
class indirect_optional {
 public:
  indirect_optional() = default;
  indirect_optional(std::nullopt_t) {}
  indirect_optional(const T& value) : value_(std::make_unique<T>(value)) {}
  indirect_optional(T&& value) : value_(std::make_unique<T>(std::move(value))) {}
  indirect_optional(const std::optional<T>& value) {
    if (value) value_ = std::make_unique<T>(*value);
  }
  indirect_optional(std::optional<T>&& value) {
    if (value) value_ = std::make_unique<T>(std::move(*value));
  }
  indirect_optional(const indirect_optional& other)
      : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  indirect_optional(indirect_optional&&) noexcept = default;
  indirect_optional& operator=(const indirect_optional& other) {
    if (this != &other) value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    return *this;
  }
  indirect_optional& operator=(indirect_optional&&) noexcept = default;

  bool has_value() const { return value_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  const T& operator*() const { return *value_; }
  T& operator*() { return *value_; }
  const T* operator->() const { return value_.get(); }
  T* operator->() { return value_.get(); }
  const T& value() const {
    if (!value_) throw std::bad_optional_access();
    return *value_;
  }
  void reset() { value_.reset(); }
  template <typename... Args>
  T& emplace(Args&&... args) {
    value_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *value_;
  }

  friend bool operator==(const indirect_optional& a, const indirect_optional& b) {
    if (!a.value_ || !b.value_) return !a.value_ && !b.value_;
    return *a.value_ == *b.value_;
  }
  friend bool operator==(const indirect_optional& a, const T& b) { return a.value_ && *a.value_ == b; }
  friend bool operator==(const indirect_optional& a, std::nullopt_t) { return !a.value_; }

 private:
  std::unique_ptr<T> value_;
};

template <typename T>
class shared_value {
 public:
  shared_value() = default;
  shared_value(const T& value) : value_(std::make_shared<T>(value)), owned_(true) {}
  shared_value(T&& value) : value_(std::make_shared<T>(std::move(value))), owned_(true) {}
  explicit shared_value(std::shared_ptr<const T> value) : value_(std::move(value)) {}

  const T& get() const { return value_ ? *value_ : default_value(); }
  const T& operator*() const { return get(); }
  const T* operator->() const { return &get(); }
  // The shared pointer (null for T{}), for interning.
  const std::shared_ptr<const T>& pointer() const { return value_; }

  // A value of its own to change: copied first when shared (or when the default).
  T& edit() {
    if (!owned_ || value_.use_count() > 1) {
      value_ = std::make_shared<T>(get());
      owned_ = true;
    }
    // Made by this class as a T, held as const only to be shared as const; no other copy.
    return const_cast<T&>(*value_);
  }

  friend bool operator==(const shared_value& a, const shared_value& b) {
    return a.value_ == b.value_ || a.get() == b.get();
  }
  friend bool operator==(const shared_value& a, const T& b) { return a.get() == b; }

 private:
  static const T& default_value() {
    static const T value{};
    return value;
  }
  std::shared_ptr<const T> value_;
  bool owned_ = false;  // value_ was made here as a (non-const) T
};

}  // namespace smtp_exporter::config
