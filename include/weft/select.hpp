// select / race / timeout: the first of several awaitables to finish wins.
#pragma once

#include <array>
#include <chrono>
#include <coroutine>
#include <optional>
#include <tuple>
#include <utility>
#include <variant>

#include "weft/detail/branch.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft {

/// The result of `select(a, b)`: index 0 holds the left operand's result,
/// index 1 the right one's (the book's `trpl::Either::Left` / `Right`).
template <class A, class B>
using Either = std::variant<A, B>;

namespace detail {

template <class... S>
class SelectAwaiter final : private FixedGroup<true, S...> {
public:
    using result_type = std::variant<await_value_t<S&&>...>;

    explicit SelectAwaiter(std::tuple<S...>& operands) noexcept : FixedGroup<true, S...>(operands) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) { return this->suspend(parent); }
    result_type await_resume() {
        this->rethrow_if_error();
        return pick<0>();
    }

private:
    template <std::size_t I>
    result_type pick() {
        if constexpr (I + 1 < sizeof...(S)) {
            if (this->winner_ != I) {
                return pick<I + 1>();
            }
        }
        return result_type(std::in_place_index<I>, this->template take<I>());
    }
};

}  // namespace detail

/// The awaitable `select` returns: holds its operands (lvalues by reference,
/// rvalues moved in) until awaited; see `select`.
template <class... S>
class [[nodiscard]] Select {
public:
    template <class... A>
    explicit Select(A&&... a) : operands_(std::forward<A>(a)...) {}

    [[nodiscard]] detail::SelectAwaiter<S...> operator co_await() & noexcept {
        return detail::SelectAwaiter<S...>(operands_);
    }
    [[nodiscard]] detail::SelectAwaiter<S...> operator co_await() && noexcept {
        return detail::SelectAwaiter<S...>(operands_);
    }

private:
    std::tuple<S...> operands_;
};

/// Runs `a` and `b` concurrently on the calling task and completes with the
/// result of whichever finishes first, as `Either<A, B>` (a `std::variant`,
/// index 0 = `a`; `void` results as `std::monostate`). The loser is cancelled
/// (destroyed at its suspension point; a loser `Task` cannot be awaited
/// again, a loser `Sleep` or `JoinHandle` can) before `select` returns.
/// Biased, as in trpl: `a` starts first, so if both can finish without
/// waiting `a` wins; otherwise the first to become ready wins. An exception
/// from the first finisher is rethrown. Operands: any weft awaitable, by
/// value or by lvalue reference. More than two operands work the same way.
/// Cancel safety: destroying the awaiting coroutine cancels both.
template <class A, class B, class... More>
[[nodiscard]] auto select(A&& a, B&& b, More&&... more) {
    return Select<detail::stored_t<A&&>, detail::stored_t<B&&>, detail::stored_t<More&&>...>(
        std::forward<A>(a), std::forward<B>(b), std::forward<More>(more)...);
}

/// Another name for `select` (the book's `trpl::race`).
template <class A, class B, class... More>
[[nodiscard]] auto race(A&& a, B&& b, More&&... more) {
    return select(std::forward<A>(a), std::forward<B>(b), std::forward<More>(more)...);
}

namespace detail {
template <class S>
Task<std::optional<await_value_t<S&&>>> timeout_impl(std::chrono::steady_clock::time_point deadline, S operand) {
    auto r = co_await select(static_cast<S&&>(operand), sleep_until(deadline));
    if (r.index() == 0) {
        co_return std::move(std::get<0>(r));
    }
    co_return std::nullopt;
}
}  // namespace detail

/// Awaits `a` for at most `d` (on the runtime's clock, paused or not):
/// yields `std::optional` of its result (`std::optional<std::monostate>` for
/// `void`), or `std::nullopt` when the time ran out first, in which case `a`
/// was cancelled. The deadline is fixed when `timeout` is called. An exception
/// from `a` is rethrown. Throws std::logic_error when called outside a runtime.
/// Cancel safety: as `select`.
template <class Rep, class Period, class A>
[[nodiscard]] auto timeout(std::chrono::duration<Rep, Period> d, A&& a) {
    return detail::timeout_impl<detail::stored_t<A&&>>(
        detail::add_saturating(detail::require_scheduler("weft::now").deadline_base(), d), std::forward<A>(a));
}

}  // namespace weft
