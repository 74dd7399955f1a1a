// task_name: what a spawned task is called in reports and dumps.
#pragma once

#include <netaio/core/source_location.hpp>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace netaio::inline v0 {

/// A task's name, owned. A string literal is kept as a pointer (no
/// allocation); anything built at run time is copied, so
/// `spawn(t, "conn " + peer)` cannot dangle. A `const char*` that is not a
/// compile-time constant does not compile: wrap it in std::string.
class task_name {
 public:
  constexpr task_name() noexcept = default;
  // consteval: only constants (literals) are kept by pointer.
  consteval task_name(const char* literal) noexcept : text_(literal), size_(length(literal)) {}
  task_name(std::string_view s) : text_(copy(s)), size_(s.size()), owned_(true) {}
  task_name(const std::string& s) : task_name(std::string_view(s)) {}

  task_name(task_name&& other) noexcept
      : text_(std::exchange(other.text_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        owned_(std::exchange(other.owned_, false)) {}
  task_name& operator=(task_name&& other) noexcept {
    if (this != &other) {
      release();
      text_ = std::exchange(other.text_, nullptr);
      size_ = std::exchange(other.size_, 0);
      owned_ = std::exchange(other.owned_, false);
    }
    return *this;
  }
  task_name(const task_name&) = delete;
  task_name& operator=(const task_name&) = delete;
  constexpr ~task_name() { release(); }

  std::string_view view() const noexcept {
    return text_ != nullptr ? std::string_view(text_, size_) : std::string_view();
  }
  bool empty() const noexcept { return size_ == 0; }

 private:
  static constexpr std::size_t length(const char* s) noexcept {
    std::size_t n = 0;
    if (s != nullptr) {
      while (s[n] != '\0')
        ++n;
    }
    return n;
  }
  static const char* copy(std::string_view s) {
    char* p = new char[s.size() + 1];
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
    return p;
  }
  constexpr void release() noexcept {
    if (owned_) delete[] text_;
    owned_ = false;
  }

  const char* text_ = nullptr;
  std::size_t size_ = 0;
  bool owned_ = false;
};

namespace detail {

/// A task_name plus where it was written: the first parameter of the
/// named spawn forms that take arguments, which cannot end with a
/// defaulted source_location of their own. The conversion from a name
/// happens at the caller's line, so that is the location it records.
struct located_name {
  consteval located_name(const char* literal,
                         source_location at = source_location::current()) noexcept
      : name(literal), where(at) {}
  located_name(std::string_view s, source_location at = source_location::current())
      : name(s), where(at) {}
  located_name(const std::string& s, source_location at = source_location::current())
      : name(s), where(at) {}
  located_name(task_name&& n, source_location at = source_location::current()) noexcept
      : name(std::move(n)), where(at) {}

  task_name name;
  source_location where;
};

}  // namespace detail

}  // namespace netaio::inline v0
