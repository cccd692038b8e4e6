// ReceiverStream: a channel's Receiver as a stream.
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>

#include "weft/channel.hpp"
#include "weft/detail/chan_core.hpp"
#include "weft/detail/stream_poll.hpp"
#include "weft/stream.hpp"

namespace weft {

/// A `Receiver<T>` as a stream (the book's `trpl::ReceiverStream`): yields
/// every value sent on the channel, in order, and ends when the channel is
/// closed and drained (every Sender destroyed, or `close()`). Used on the
/// channel's thread, like the Receiver. Cancel safety: a `next()` destroyed
/// while waiting consumes nothing (as `Receiver::recv`); every value stays
/// in the channel. Destroying the stream destroys the Receiver (closing the
/// channel). Move-only.
template <class T>
class ReceiverStream : public StreamBase<ReceiverStream<T>, T> {
public:
    using value_type = T;

    /// Takes over `rx`. Throws std::logic_error if `rx` is moved-from.
    explicit ReceiverStream(Receiver<T> rx) : rx_(std::move(rx)) {
        rx_.core("ReceiverStream");  // throws on a moved-from Receiver
    }
    ReceiverStream(ReceiverStream&& o) noexcept : rx_((o.drop_registration(), std::move(o.rx_))) {}
    ReceiverStream& operator=(ReceiverStream&& o) noexcept {
        if (this != &o) {
            drop_registration();
            o.drop_registration();
            rx_ = std::move(o.rx_);
        }
        return *this;
    }
    ~ReceiverStream() { drop_registration(); }

    /// Stops further sends (see `Receiver::close`); queued values still come.
    void close() { rx_.close(); }
    /// The Receiver back (this stream becomes empty).
    [[nodiscard]] Receiver<T> into_inner() && {
        drop_registration();
        return std::move(rx_);
    }

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<T>& out, const detail::Waker& w) {
        detail::ChanCore<T>* c = rx_.core("ReceiverStream::next");
        detail::Scheduler& s = detail::require_scheduler("ReceiverStream::next");
        if (!c->claim_home()) {
            throw std::logic_error(
                "ReceiverStream::next: a Receiver must be used on its channel's home thread (see Receiver::recv)");
        }
        for (;;) {
            if (c->take_into(out) || c->finished()) {
                drop_registration();  // stream rule 1
                return true;
            }
            if (registered_ && !reg_->fired) {
                reg_->aim(w);  // still registered: only the waker changes (stream rule 2)
                return false;
            }
            drop_registration();
            if (!reg_) {
                reg_ = std::make_unique<detail::Forwarder<detail::RemoteWaiter>>();
            }
            reg_->aim(w);
            reg_->waiter.sched = &s;
            if (c->register_receiver(reg_->waiter)) {  // false: something arrived meanwhile
                registered_ = true;
                s.add_external_wait();
                return false;
            }
        }
    }
    /// Stream protocol: withdraws the receive registration (chan rule 3).
    void unregister() noexcept { drop_registration(); }

private:
    void drop_registration() noexcept {
        if (!registered_) {
            return;
        }
        registered_ = false;
        if (!reg_->fired) {
            rx_.core_->cancel_receive_wait(reg_->waiter);
        }
        reg_->waiter.sched->remove_external_wait();
        reg_->to = detail::Waker{};
    }

    Receiver<T> rx_;
    std::unique_ptr<detail::Forwarder<detail::RemoteWaiter>> reg_;
    bool registered_ = false;
};

}  // namespace weft
