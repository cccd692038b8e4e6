// SendResult: what a channel send returns (channel.hpp, oneshot.hpp).
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>

namespace weft {

/// The outcome of a send: true (`explicit operator bool`) when the value was
/// queued; false when the receiver is gone or closed, and then `value()`
/// hands the value back, so nothing is lost. Calling `value()` after a
/// successful send throws std::logic_error.
template <class T>
class [[nodiscard]] SendResult {
public:
    /// A successful send.
    SendResult() noexcept = default;
    /// A refused send, holding the value that was not delivered.
    explicit SendResult(T refused) : refused_(std::move(refused)) {}

    explicit operator bool() const noexcept { return !refused_.has_value(); }
    /// The value that could not be delivered.
    [[nodiscard]] T& value() & { return get(); }
    [[nodiscard]] T&& value() && { return std::move(get()); }

private:
    T& get() {
        if (!refused_) {
            throw std::logic_error("SendResult::value: the send succeeded, so there is no value to hand back");
        }
        return *refused_;
    }
    std::optional<T> refused_;
};

}  // namespace weft
