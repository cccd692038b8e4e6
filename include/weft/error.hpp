// Exceptions weft itself throws.
#pragma once

#include <stdexcept>

namespace weft {

/// Thrown by `co_await handle` when the task behind the JoinHandle was
/// cancelled (aborted with `JoinHandle::abort()`, or destroyed by runtime
/// shutdown) before it completed. Misuse of the API is reported with
/// `std::logic_error` instead.
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("weft: the task was cancelled before it completed") {}
};

}  // namespace weft
