// Cancellation sources, tokens and callbacks in the style of
// std::inplace_stop_token: registering a callback links a node that lives in
// the registrant, so it never allocates.
#pragma once

#include <netaio/detail/config.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

/// Thrown at a suspension point of a task whose cancellation was requested.
/// Not derived from netaio::error, so `catch (const netaio::error&)` never
/// swallows a cancellation by accident. Final: the runtime recognises it by
/// its exact type.
class operation_cancelled final : public std::exception {
 public:
  const char* what() const noexcept override { return "netaio: operation cancelled"; }
};

class cancel_source;
class cancel_token;

namespace detail {

/// One registration on a cancel_source; intrusive, owned by the registrant.
struct cancel_node {
  cancel_node* prev_ = nullptr;
  cancel_node* next_ = nullptr;
  void (*invoke_)(cancel_node*) noexcept = nullptr;
};

}  // namespace detail

/// Requests cancellation of everything registered on its tokens.
/// Single-threaded: use it on its loop's thread (event_loop::post marshals a
/// request from another thread). Neither copyable nor movable, since tokens
/// and linked children point at it.
class cancel_source {
 public:
  cancel_source() = default;
  /// A source that is also cancelled whenever `parent` is (a linked child).
  explicit cancel_source(cancel_token parent) noexcept;
  cancel_source(const cancel_source&) = delete;
  cancel_source& operator=(const cancel_source&) = delete;
  /// Sources that follow this one are set free (they become roots): an
  /// object that outlives the task it was created in must not keep a
  /// pointer into that task's frame.
  ~cancel_source() {
    unlink();
    while (head_ != nullptr) {
      detail::cancel_node* n = head_;
      remove(n);
      if (n->invoke_ == &parent_link::forward) {
        auto* link = static_cast<parent_link*>(n);
        link->parent = nullptr;
        if (link->self->on_parent_gone_ != nullptr) {
          link->self->on_parent_gone_(link->self->on_parent_gone_arg_);
        }
      }
    }
  }

  /// Requests cancellation; runs every registered callback once, in
  /// registration order. Idempotent. Returns true on the first call.
  bool cancel() noexcept {
    if (cancelled_) return false;
    cancelled_ = true;
    // Pop before invoking: a callback may deregister any other node.
    while (head_ != nullptr) {
      detail::cancel_node* n = head_;
      remove(n);
      n->invoke_(n);
    }
    return true;
  }

  bool cancelled() const noexcept { return cancelled_; }
  cancel_token token() const noexcept;

  /// Follows `parent` from now on (it must outlive this source or be
  /// unlinked first). A source follows at most one parent.
  void link(cancel_token parent) noexcept;
  /// Stops following the parent, if any.
  void unlink() noexcept;
  /// Calls `fn(arg)` if the parent is destroyed while this source follows it.
  void on_parent_gone(void (*fn)(void*) noexcept, void* arg) noexcept {
    on_parent_gone_ = fn;
    on_parent_gone_arg_ = arg;
  }

  // Used by cancel_callback and awaiters; not for users.
  bool add(detail::cancel_node* n) noexcept {
    if (cancelled_) return false;
    n->prev_ = tail_;
    n->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = n;
    } else {
      head_ = n;
    }
    tail_ = n;
    return true;
  }
  void remove(detail::cancel_node* n) noexcept {
    if (n->prev_ != nullptr) {
      n->prev_->next_ = n->next_;
    } else if (head_ == n) {
      head_ = n->next_;
    } else {
      return;  // not linked here
    }
    if (n->next_ != nullptr) {
      n->next_->prev_ = n->prev_;
    } else {
      tail_ = n->prev_;
    }
    n->prev_ = n->next_ = nullptr;
  }

 private:
  struct parent_link : detail::cancel_node {
    cancel_source* self = nullptr;
    cancel_source* parent = nullptr;
    static void forward(detail::cancel_node* n) noexcept {
      auto* link = static_cast<parent_link*>(n);
      link->parent = nullptr;  // the parent already removed this node
      link->self->cancel();
    }
  };

  detail::cancel_node* head_ = nullptr;
  detail::cancel_node* tail_ = nullptr;
  parent_link parent_;
  void (*on_parent_gone_)(void*) noexcept = nullptr;
  void* on_parent_gone_arg_ = nullptr;
  bool cancelled_ = false;
};

/// A cheap, copyable view of a cancel_source (or of nothing: never cancelled).
class cancel_token {
 public:
  cancel_token() = default;
  bool cancelled() const noexcept { return source_ != nullptr && source_->cancelled(); }
  bool can_be_cancelled() const noexcept { return source_ != nullptr; }
  /// Throws operation_cancelled if cancellation was requested.
  void throw_if_cancelled() const {
    if (cancelled()) throw operation_cancelled{};
  }
  cancel_source* source() const noexcept { return source_; }
  friend bool operator==(const cancel_token&, const cancel_token&) = default;

 private:
  friend class cancel_source;
  explicit cancel_token(const cancel_source* s) noexcept : source_(const_cast<cancel_source*>(s)) {}
  cancel_source* source_ = nullptr;
};

inline cancel_token cancel_source::token() const noexcept {
  return cancel_token{this};
}

inline cancel_source::cancel_source(cancel_token parent) noexcept {
  link(parent);
}

inline void cancel_source::link(cancel_token parent) noexcept {
  NETAIO_ASSERT(parent_.parent == nullptr, "cancel_source already follows a parent");
  cancel_source* p = parent.source();
  if (p == nullptr) return;
  if (p->cancelled()) {
    cancel();
    return;
  }
  parent_.self = this;
  parent_.parent = p;
  parent_.invoke_ = &parent_link::forward;
  p->add(&parent_);
}

inline void cancel_source::unlink() noexcept {
  if (parent_.parent != nullptr) {
    parent_.parent->remove(&parent_);
    parent_.parent = nullptr;
  }
}

/// Runs `f` once when the token is cancelled (at once if it already is),
/// unless this object is destroyed first. Allocation-free; not movable.
template <class F>
class cancel_callback : private detail::cancel_node {
 public:
  template <class G>
  cancel_callback(cancel_token token, G&& g) noexcept(std::is_nothrow_constructible_v<F, G>)
      : f_(std::forward<G>(g)) {
    invoke_ = [](detail::cancel_node* n) noexcept {
      auto* self = static_cast<cancel_callback*>(n);
      self->source_ = nullptr;
      self->f_();
    };
    if (cancel_source* s = token.source()) {
      if (s->add(this)) {
        source_ = s;
      } else {
        f_();
      }
    }
  }
  cancel_callback(const cancel_callback&) = delete;
  cancel_callback& operator=(const cancel_callback&) = delete;
  ~cancel_callback() {
    if (source_ != nullptr) source_->remove(this);
  }

 private:
  cancel_source* source_ = nullptr;
  F f_;
};

template <class G>
cancel_callback(cancel_token, G) -> cancel_callback<G>;

}  // namespace netaio::inline v0
