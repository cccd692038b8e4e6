// oneshot: one value, sent once, from any thread.
#pragma once

#include <atomic>
#include <coroutine>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include "weft/channel.hpp"
#include "weft/detail/chan_core.hpp"

namespace weft {

namespace detail {

// Everything is under mu_ (a oneshot carries one value; a lock is cheap next
// to the wake it causes). The waiter protocol is chan_core.hpp's rule 3.
template <class T>
class OneshotCore {
public:
    OneshotCore() = default;
    OneshotCore(const OneshotCore&) = delete;
    OneshotCore& operator=(const OneshotCore&) = delete;
    ~OneshotCore() = default;

    bool send(T& v) {
        std::lock_guard<std::mutex> lock(mu_);
        if (receiver_gone_) {
            return false;
        }
        value_.emplace(std::move(v));
        sender_done_ = true;
        wake_locked();
        return true;
    }
    void drop_sender() noexcept {
        {
            std::lock_guard<std::mutex> lock(mu_);
            sender_done_ = true;
            wake_locked();
        }
        release();
    }
    void drop_receiver() noexcept {
        {
            std::lock_guard<std::mutex> lock(mu_);
            receiver_gone_ = true;
            value_.reset();
        }
        release();
    }
    [[nodiscard]] bool receiver_gone() {
        std::lock_guard<std::mutex> lock(mu_);
        return receiver_gone_;
    }
    // true when the receive can complete now (value or no value ever).
    bool ready() {
        std::lock_guard<std::mutex> lock(mu_);
        return sender_done_;
    }
    bool register_receiver(RemoteWaiter& w) {
        std::lock_guard<std::mutex> lock(mu_);
        if (sender_done_) {
            return false;
        }
        if (waiting_ != nullptr) {
            throw std::logic_error(
                "co_await OneshotReceiver: it is already being awaited elsewhere; await a oneshot from one place");
        }
        waiting_ = &w;
        return true;
    }
    void cancel_receive_wait(RemoteWaiter& w) noexcept {
        std::lock_guard<std::mutex> lock(mu_);
        if (waiting_ == &w) {
            waiting_ = nullptr;
        } else {
            w.cancel_delivered_wake();
        }
    }
    std::optional<T> take() {
        std::lock_guard<std::mutex> lock(mu_);
        if (taken_) {
            throw std::logic_error("co_await OneshotReceiver: the value was already received; a oneshot delivers once");
        }
        taken_ = true;
        return std::exchange(value_, std::nullopt);
    }
    [[nodiscard]] bool taken() {
        std::lock_guard<std::mutex> lock(mu_);
        return taken_;
    }

private:
    void wake_locked() {
        if (waiting_ != nullptr) {
            std::exchange(waiting_, nullptr)->wake_from_anywhere();
        }
    }
    void release() {
        // acq_rel: the last owner sees the other's writes before deleting.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    std::mutex mu_;
    std::optional<T> value_;           // guarded by mu_
    RemoteWaiter* waiting_ = nullptr;  // guarded by mu_
    bool sender_done_ = false;         // sent, or the sender is gone
    bool receiver_gone_ = false;
    bool taken_ = false;
    std::atomic<int> refs_{2};
};

template <class T>
class OneshotAwaiter {
public:
    explicit OneshotAwaiter(OneshotCore<T>* core) noexcept : core_(core) {}
    OneshotAwaiter(const OneshotAwaiter&) = delete;
    OneshotAwaiter& operator=(const OneshotAwaiter&) = delete;
    ~OneshotAwaiter() {
        if (registered_) {
            core_->cancel_receive_wait(waiter_);  // nothing is consumed
            waiter_.sched->remove_external_wait();
        }
    }
    bool await_ready() {
        require_scheduler("co_await OneshotReceiver");
        if (core_->taken()) {
            throw std::logic_error("co_await OneshotReceiver: the value was already received; a oneshot delivers once");
        }
        return core_->ready();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        waiter_.arm(h);
        if (!core_->register_receiver(waiter_)) {
            return false;
        }
        registered_ = true;
        waiter_.sched->add_external_wait();
        return true;
    }
    std::optional<T> await_resume() {
        if (registered_) {
            registered_ = false;
            waiter_.sched->remove_external_wait();
        }
        return core_->take();
    }

private:
    OneshotCore<T>* core_;
    RemoteWaiter waiter_;
    bool registered_ = false;
};

}  // namespace detail

/// The sending half of `oneshot<T>()`: sends one value, once, from any
/// thread. Move-only. Destroying it unsent makes the receiver's await yield
/// std::nullopt.
template <class T>
class OneshotSender : private detail::UniqueCore<detail::OneshotCore<T>, &detail::OneshotCore<T>::drop_sender> {
    using Base = detail::UniqueCore<detail::OneshotCore<T>, &detail::OneshotCore<T>::drop_sender>;

public:
    explicit OneshotSender(detail::OneshotCore<T>* core) noexcept : Base(core) {}

    /// Delivers `value` and uses the sender up. Returns a true SendResult, or
    /// a false one holding `value` when the receiver is gone. Throws
    /// std::logic_error when the sender was already used or moved from.
    SendResult<T> send(T value) {
        if (this->core_ == nullptr) {
            throw std::logic_error(
                "OneshotSender::send: this sender was already used (or moved from); a oneshot sends once");
        }
        const bool ok = this->core_->send(value);
        this->reset();
        return ok ? SendResult<T>() : SendResult<T>(std::move(value));
    }
    /// True when the receiver is gone, so that a send would fail (a producer
    /// may skip work nobody waits for). Throws std::logic_error when the
    /// sender was already used or moved from. Thread-safe.
    [[nodiscard]] bool is_closed() const { return this->core("OneshotSender::is_closed")->receiver_gone(); }
    /// True until the sender is used or moved from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }
};

/// The receiving half of `oneshot<T>()`: `co_await rx` yields the value, or
/// std::nullopt if the sender was destroyed unsent; it may be awaited from
/// any runtime. Awaiting it again after it delivered throws
/// std::logic_error. Cancel safety: an await destroyed while waiting consumes
/// nothing; the value stays for the next await. Move-only.
template <class T>
class OneshotReceiver : private detail::UniqueCore<detail::OneshotCore<T>, &detail::OneshotCore<T>::drop_receiver> {
    using Base = detail::UniqueCore<detail::OneshotCore<T>, &detail::OneshotCore<T>::drop_receiver>;

public:
    explicit OneshotReceiver(detail::OneshotCore<T>* core) noexcept : Base(core) {}

    /// Waits for the value; see the class comment.
    [[nodiscard]] detail::OneshotAwaiter<T> operator co_await() const {
        return detail::OneshotAwaiter<T>(this->core("co_await OneshotReceiver"));
    }
    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }
};

/// A channel for exactly one value: `auto [tx, rx] = weft::oneshot<int>();`.
template <class T>
[[nodiscard]] std::pair<OneshotSender<T>, OneshotReceiver<T>> oneshot() {
    auto* core = new detail::OneshotCore<T>();
    return {OneshotSender<T>(core), OneshotReceiver<T>(core)};
}

}  // namespace weft
