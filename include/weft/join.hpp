// join, join3, join_all: wait for several awaitables at once, in one task.
#pragma once

#include <array>
#include <coroutine>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "weft/detail/branch.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

template <class... S>
class JoinAwaiter final : private FixedGroup<false, S...> {
public:
    using result_type = std::tuple<await_value_t<S&&>...>;

    explicit JoinAwaiter(std::tuple<S...>& operands) noexcept : FixedGroup<false, S...>(operands) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) { return this->suspend(parent); }
    result_type await_resume() {
        this->rethrow_if_error();
        return collect(std::index_sequence_for<S...>{});
    }

private:
    template <std::size_t... I>
    result_type collect(std::index_sequence<I...> /*unused*/) {
        return result_type(this->template take<I>()...);
    }
};

template <class T>
class JoinAllAwaiter final : private BranchGroup {
public:
    using value_type = await_value_t<Task<T>&&>;

    explicit JoinAllAwaiter(std::vector<Task<T>>& tasks) : BranchGroup(false), tasks_(tasks) {}
    JoinAllAwaiter(const JoinAllAwaiter&) = delete;
    JoinAllAwaiter& operator=(const JoinAllAwaiter&) = delete;
    ~JoinAllAwaiter() { release_all(); }

    [[nodiscard]] bool await_ready() const noexcept { return tasks_.empty(); }
    bool await_suspend(std::coroutine_handle<> parent) {
        const std::size_t n = tasks_.size();
        for (auto& t : tasks_) {
            TaskAccess::handle(t, "co_await join_all");  // every task must be there before any starts
        }
        children_.resize(n);
        states_.resize(n);
        slots_.resize(n);
        results_.resize(n);
        reset_children(children_.data(), states_.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            slots_[i] = BranchSlot{this, i};
            created(i, make_child(tasks_[i], results_[i], slots_[i]));
        }
        return start(parent);
    }
    auto await_resume() {
        rethrow_if_error();
        if constexpr (!std::is_void_v<T>) {
            std::vector<T> out;
            out.reserve(tasks_.size());
            for (std::size_t i = 0; i < tasks_.size(); ++i) {
                out.push_back(take_child(tasks_[i], results_[i]));
            }
            return out;
        }
    }

private:
    void release(std::size_t i) noexcept override { release_child(tasks_[i], results_[i], children_[i]); }
    bool start_direct(std::size_t /*i*/) override { return false; }
    std::exception_ptr child_finished(std::size_t i) noexcept override { return finish_child(tasks_[i], results_[i]); }

    std::vector<Task<T>>& tasks_;
    std::vector<std::coroutine_handle<>> children_;
    std::vector<std::uint8_t> states_;
    std::vector<ChildStorage<Task<T>>> results_;
    std::vector<BranchSlot> slots_;
};

}  // namespace detail

/// The awaitable `join` returns: holds its operands (lvalues by reference,
/// rvalues moved in) until awaited. Awaiting it yields a `std::tuple` of
/// every operand's result; see `join`.
template <class... S>
class [[nodiscard]] Join {
public:
    template <class... A>
    explicit Join(A&&... a) : operands_(std::forward<A>(a)...) {}

    [[nodiscard]] detail::JoinAwaiter<S...> operator co_await() & noexcept {
        return detail::JoinAwaiter<S...>(operands_);
    }
    [[nodiscard]] detail::JoinAwaiter<S...> operator co_await() && noexcept {
        return detail::JoinAwaiter<S...>(operands_);
    }

private:
    std::tuple<S...> operands_;
};

/// Runs every operand concurrently on the calling task (nothing is spawned)
/// and completes when all have completed, yielding `std::tuple` of their
/// results in argument order (`std::monostate` for `void`). Operands may be
/// `Task`s or any weft awaitable (`sleep`, a `JoinHandle`, another `join`),
/// by value (moved in) or by lvalue reference (awaited in place). Fair and
/// deterministic: operands start in argument order, and when several are
/// ready they resume in the order they became ready. If one throws, the
/// others are cancelled (destroyed at their suspension points) and the
/// exception is rethrown. Cancel safety: destroying the awaiting coroutine
/// cancels every unfinished operand.
template <class... A>
[[nodiscard]] auto join(A&&... a) {
    static_assert(sizeof...(A) >= 1, "weft::join needs at least one awaitable");
    return Join<detail::stored_t<A&&>...>(std::forward<A>(a)...);
}

/// `join` of exactly three operands (the book's `trpl::join3`).
template <class A, class B, class C>
[[nodiscard]] auto join3(A&& a, B&& b, C&& c) {
    return join(std::forward<A>(a), std::forward<B>(b), std::forward<C>(c));
}

/// The awaitable `join_all` returns; see `join_all`.
template <class T>
class [[nodiscard]] JoinAll {
public:
    explicit JoinAll(std::vector<Task<T>> tasks) noexcept : tasks_(std::move(tasks)) {}
    [[nodiscard]] detail::JoinAllAwaiter<T> operator co_await() & { return detail::JoinAllAwaiter<T>(tasks_); }
    [[nodiscard]] detail::JoinAllAwaiter<T> operator co_await() && { return detail::JoinAllAwaiter<T>(tasks_); }

private:
    std::vector<Task<T>> tasks_;
};

/// `join` for a runtime-sized set: runs every task concurrently on the
/// calling task and yields `std::vector<T>` of their results in input order
/// (nothing, for `Task<void>`). Same ordering, failure and cancellation
/// rules as `join`. An empty vector completes at once. An empty (moved-from)
/// task in the vector makes the await throw std::logic_error.
template <class T>
[[nodiscard]] JoinAll<T> join_all(std::vector<Task<T>> tasks) {
    return JoinAll<T>(std::move(tasks));
}

}  // namespace weft
