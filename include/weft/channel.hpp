// Channels: unbounded and bounded multi-producer, single-consumer queues.
#pragma once

#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft/detail/chan_awaiters.hpp"
#include "weft/detail/chan_core.hpp"
#include "weft/detail/config.hpp"
#include "weft/send_result.hpp"

namespace weft {

template <class T>
class ReceiverStream;

namespace detail {

// What Sender and BoundedSender share: a counted claim on the channel as a
// producer (a copy is one more producer; moved-from counts for nothing).
template <class T>
class SenderHandle {
public:
    explicit SenderHandle(ChanCore<T>* core) noexcept : core_(core) {}
    SenderHandle(const SenderHandle& o) : core_(o.core_) {
        if (core_ != nullptr) {
            core_->add_sender();
        }
    }
    SenderHandle(SenderHandle&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
    SenderHandle& operator=(SenderHandle o) noexcept {
        std::swap(core_, o.core_);
        return *this;
    }
    ~SenderHandle() {
        if (core_ != nullptr) {
            core_->drop_sender();
        }
    }

protected:
    ChanCore<T>* core(const char* what) const { return require_core(core_, what); }
    ChanCore<T>* core_;
};

// A move-only claim on a shared core that lets go through `Drop` (Receiver,
// OneshotSender, OneshotReceiver).
template <class Core, void (Core::*Drop)()>
class UniqueCore {
public:
    explicit UniqueCore(Core* core) noexcept : core_(core) {}
    UniqueCore(UniqueCore&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
    UniqueCore& operator=(UniqueCore&& o) noexcept {
        if (this != &o) {
            reset();
            core_ = std::exchange(o.core_, nullptr);
        }
        return *this;
    }
    UniqueCore(const UniqueCore&) = delete;
    UniqueCore& operator=(const UniqueCore&) = delete;
    ~UniqueCore() { reset(); }

protected:
    void reset() noexcept {
        if (core_ != nullptr) {
            (std::exchange(core_, nullptr)->*Drop)();
        }
    }
    Core* core(const char* what) const {
        if (core_ == nullptr) {
            throw_moved_from(what);
        }
        return core_;
    }
    Core* core_;
};

}  // namespace detail

/// The awaitable `Receiver::recv()` returns; see there. Cancel safety: one
/// destroyed while it waits (a lost select, a timeout, an abort, shutdown)
/// consumes nothing; the value stays in the channel. It is its own
/// awaiter (one object in the awaiting coroutine's frame, nothing allocated):
/// movable until it is awaited, not copyable. Awaiting the same Recv again
/// after an await of it completed receives the next value.
template <class T>
class [[nodiscard]] Recv : public detail::RecvAwaiter<T> {
public:
    explicit Recv(detail::ChanCore<T>* core) noexcept : detail::RecvAwaiter<T>(core) {}
    /// Moves a receive that has not been awaited yet (into a select, join or
    /// timeout, say). Moving one while it is awaited is a bug (asserted in
    /// debug builds); nothing can, as its awaiting coroutine is suspended.
    Recv(Recv&& other) noexcept = default;
};

/// The sending half of `channel<T>()`. Copyable: a copy is a clone, one more
/// producer; the channel closes when the last Sender is destroyed (a
/// moved-from Sender counts for nothing). Thread-safe: a Sender may be used
/// from any thread, including a plain std::thread; each Sender object is used
/// by one thread at a time. Sends from the channel's own thread take no lock.
template <class T>
class Sender : private detail::SenderHandle<T> {
public:
    explicit Sender(detail::ChanCore<T>* core) noexcept : detail::SenderHandle<T>(core) {}

    /// Queues `value` without waiting (the channel is unbounded). Returns a
    /// true SendResult when queued; a false one holding `value` when the
    /// receiver is gone or closed. Throws std::logic_error on a moved-from
    /// Sender. Values sent through one Sender arrive in order.
    WEFT_ALWAYS_INLINE SendResult<T> send(T value) {
        detail::ChanCore<T>* c = this->core("Sender::send");
        if (c->fast_send()) [[likely]] {
            c->push_fast(std::move(value));
            return SendResult<T>();
        }
        std::optional<T> refused;  // touched on this path only
        if (send_cold(c, std::move(value), refused)) {
            return SendResult<T>();
        }
        return SendResult<T>(std::move(*refused));
    }
    /// True when the receiver is gone or closed (a send would fail).
    [[nodiscard]] bool is_closed() const { return this->core("Sender::is_closed")->rx_closed(); }
    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }

private:
    // Every send but the inline one: true when queued, else the value is
    // handed back in `refused`. `value` is its own object here: were the
    // inline path to hand its parameter over by reference, that parameter's
    // address would escape and g++ would keep it in memory on the inline
    // path too (a store and a reload on every send). The result is a bool in
    // a register, not a SendResult: one returned through memory is reloaded
    // as words right after its flag byte was stored, which stalls on store
    // forwarding (a remote-lane send took ~20% longer that way).
    [[gnu::noinline]] static bool send_cold(detail::ChanCore<T>* c, T value, std::optional<T>& refused) {
        if (c->send_slow(value)) {
            return true;
        }
        refused.emplace(std::move(value));
        return false;
    }
};

/// The sending half of `bounded_channel<T>(capacity)`: as `Sender`, but
/// `co_await tx.send(v)` waits while the channel holds `capacity` values.
/// Waiting senders are served first-come, first-served: when the receiver
/// takes a value, the oldest waiting sender's value moves into the freed room.
/// Cancel safety: a send destroyed while waiting has either queued its value
/// (the room was handed over) or not, in which case the value is destroyed
/// with the send and was never in the channel; nothing is queued twice.
/// Copyable (one more producer) and usable from any runtime's thread.
template <class T>
class BoundedSender : private detail::SenderHandle<T> {
public:
    explicit BoundedSender(detail::ChanCore<T>* core) noexcept : detail::SenderHandle<T>(core) {}

    /// The awaitable `send` returns: holds the value until it is queued.
    /// Cancel safety: destroyed while it waits (a lost select, a timeout, an
    /// abort, shutdown), it has either queued its value (the receiver had
    /// handed it room) or not, and then the value is destroyed with it;
    /// never both, never twice.
    class [[nodiscard]] Send {
    public:
        Send(detail::ChanCore<T>* core, T value) : core_(core), value_(std::move(value)) {}
        [[nodiscard]] detail::BoundedSendAwaiter<T> operator co_await() & noexcept {
            return detail::BoundedSendAwaiter<T>(core_, value_);
        }
        [[nodiscard]] detail::BoundedSendAwaiter<T> operator co_await() && noexcept {
            return detail::BoundedSendAwaiter<T>(core_, value_);
        }

    private:
        detail::ChanCore<T>* core_;
        T value_;
    };

    /// `co_await tx.send(v)`: completes when `v` is queued (true SendResult)
    /// or the receiver is gone or closed (false, `value()` hands `v` back).
    /// Throws std::logic_error on a moved-from sender.
    Send send(T value) { return Send(this->core("BoundedSender::send"), std::move(value)); }
    /// True when the receiver is gone or closed (a send would fail).
    [[nodiscard]] bool is_closed() const { return this->core("BoundedSender::is_closed")->rx_closed(); }
    /// The capacity the channel was created with.
    [[nodiscard]] std::size_t capacity() const { return this->core("BoundedSender::capacity")->capacity(); }
    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }
};

/// The receiving half of a channel. Move-only, single consumer, used on the
/// channel's home thread: the thread that created the channel on a
/// current-thread runtime; on a pool runtime (or for a channel made outside
/// any runtime) the thread of its first operation, which claims it — move it
/// into another task only before its first receive, or share it between
/// tasks spawned with `spawn_local`. Once the home thread has ended (a pool's
/// workers end with each block_on), the next thread to use it takes the home
/// over. Elsewhere its operations throw std::logic_error. Destroying it closes the channel and frees the
/// values still queued.
template <class T>
class Receiver : private detail::UniqueCore<detail::ChanCore<T>, &detail::ChanCore<T>::drop_receiver> {
    using Base = detail::UniqueCore<detail::ChanCore<T>, &detail::ChanCore<T>::drop_receiver>;

public:
    explicit Receiver(detail::ChanCore<T>* core) noexcept : Base(core) {}

    /// `co_await rx.recv()` yields the next value, waiting for one if needed,
    /// or std::nullopt once the channel is closed (every Sender destroyed, or
    /// close() called) and drained. Cancel safety: a recv destroyed while
    /// waiting (a lost select, a timeout, an abort, shutdown) consumes
    /// nothing: every value stays in the channel for the next recv. A recv
    /// that completes at once counts against the task's cooperative budget
    /// (a task draining a channel that never empties still lets the others
    /// run every 128 values). Throws
    /// std::logic_error on a moved-from Receiver, outside a runtime, or off
    /// the channel's thread.
    [[nodiscard]] Recv<T> recv() const { return Recv<T>(this->core("Receiver::recv")); }

    /// The next value if one is queued, without waiting; std::nullopt
    /// otherwise (use `recv` to tell "empty" from "closed").
    std::optional<T> try_recv() {
        auto* c = this->core("Receiver::try_recv");
        if (!c->claim_home()) {
            throw std::logic_error(
                "Receiver::try_recv: a Receiver must be used on its channel's home thread (see Receiver::recv)");
        }
        std::optional<T> out;
        c->take_into(out);
        return out;
    }

    /// Stops further sends (they fail and hand their value back; waiting
    /// bounded senders are refused); values already queued can still be
    /// received, then recv yields std::nullopt.
    void close() { this->core("Receiver::close")->close(); }

    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }

private:
    friend class ReceiverStream<T>;
};

/// An unbounded multi-producer, single-consumer channel:
/// `auto [tx, rx] = weft::channel<std::string>();`. May be created anywhere,
/// inside a runtime or not; the Receiver is then used on this thread.
template <class T>
[[nodiscard]] std::pair<Sender<T>, Receiver<T>> channel() {
    auto* core = new detail::ChanCore<T>(0);
    return {Sender<T>(core), Receiver<T>(core)};
}

/// A channel holding at most `capacity` values: `co_await tx.send(v)` waits
/// while it is full. Throws std::invalid_argument for a capacity of 0 (weft
/// has no rendezvous channel; use `oneshot` or a capacity of 1).
template <class T>
[[nodiscard]] std::pair<BoundedSender<T>, Receiver<T>> bounded_channel(std::size_t capacity) {
    if (capacity == 0) {
        throw std::invalid_argument("weft::bounded_channel: capacity must be at least 1 (got 0)");
    }
    auto* core = new detail::ChanCore<T>(capacity);
    return {BoundedSender<T>(core), Receiver<T>(core)};
}

}  // namespace weft
