// Branches: how join and select run several awaitables concurrently inside
// one task without spawning.
//
// Each operand becomes a child coroutine of the combinator: a `Task` operand
// is its own child (its final step reports to the combinator through a
// BranchSlot instead of resuming an awaiting coroutine); any other awaitable
// gets a small coroutine (a branch) that awaits it and stores its result. The combinator's awaiter (a BranchGroup) owns the branches:
// it starts them in argument order when the parent suspends, each branch
// reports to the group from its final suspension, and the group decides
// whether to resume the parent (by transfer from that final step, resume.hpp).
// Operands are awaited from inside the branch frames, so their awaiters, and
// every registration they hold, live in those frames: cancelling a branch is
// destroying its frame (task_header.hpp, rule 3). The group destroys every
// branch frame when it is destroyed, which is also how the whole combinator
// is cancelled when its parent is.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/detail/branch_sink.hpp"
#include "weft/detail/frame_pool.hpp"
#include "weft/detail/resume.hpp"
#include "weft/task.hpp"

namespace weft::detail {

// ---- what `co_await x` yields, as a storable value (void -> monostate)
template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (requires { static_cast<A&&>(a).operator co_await(); }) {
        return static_cast<A&&>(a).operator co_await();
    } else if constexpr (requires { operator co_await(static_cast<A&&>(a)); }) {
        return operator co_await(static_cast<A&&>(a));
    } else {
        return static_cast<A&&>(a);
    }
}
template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

template <class R>
using value_or_monostate_t = std::conditional_t<std::is_void_v<R>, std::monostate, std::remove_cvref_t<R>>;

template <class A>
using await_value_t = value_or_monostate_t<await_result_t<A>>;

// How a combinator keeps an operand: lvalues by reference (awaited in place),
// rvalues by value (moved in).
template <class A>
using stored_t = std::conditional_t<std::is_lvalue_reference_v<A>, A, std::remove_cvref_t<A>>;

struct BranchPromise;
using BranchHandle = std::coroutine_handle<BranchPromise>;

struct Branch {
    using promise_type = BranchPromise;
    BranchHandle h;
};

struct BranchPromise {
    BranchSink* sink = nullptr;
    std::size_t index = 0;
    std::exception_ptr error;

    Branch get_return_object() noexcept { return Branch{BranchHandle::from_promise(*this)}; }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    struct Final {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        void await_suspend(BranchHandle h) noexcept {
            BranchPromise& p = h.promise();
            if (std::coroutine_handle<> next = p.sink->branch_done(p.index, p.error)) {
                transfer_to(next);
            }
        }
        void await_resume() const noexcept {}
    };
    Final final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
    static void* operator new(std::size_t n) { return frame_allocate(n); }
    static void operator delete(void* p, std::size_t n) noexcept { frame_deallocate(p, n); }
};

// Awaits `operand` (as an rvalue if stored by value) and stores its result.
template <class S, class V>
Branch run_branch(S& operand, std::optional<V>& out) {
    if constexpr (std::is_void_v<await_result_t<S&&>>) {
        co_await static_cast<S&&>(operand);
        out.emplace();
    } else {
        out.emplace(co_await static_cast<S&&>(operand));
    }
}

// ---- one operand of a combinator: a direct Task or a branch coroutine
template <class S>
inline constexpr bool is_direct_task_v = is_task<std::remove_cvref_t<S>>::value;

template <class S, class V>
std::coroutine_handle<> make_child(S& operand, std::optional<V>& out, BranchSlot& slot) {
    if constexpr (is_direct_task_v<S>) {
        auto h = TaskAccess::handle(operand, "co_await join/select");
        h.promise().continuation = &slot;
        h.promise().state |= TaskHeader::kBranchChild;
        return h;
    } else {
        BranchHandle h = run_branch(operand, out).h;
        h.promise().sink = slot.sink;
        h.promise().index = slot.index;
        return h;
    }
}

// Cancels (if unfinished) and frees child `h` of `operand`. A direct Task is
// consumed: it cannot be awaited again.
template <class S>
void release_child(S& operand, std::coroutine_handle<> h) noexcept {
    if constexpr (is_direct_task_v<S>) {
        (void)h;
        TaskAccess::reset(operand);
    } else {
        h.destroy();
    }
}

// The finished child's result.
template <class S, class V>
V take_child(S& operand, std::optional<V>& out) {
    if constexpr (is_direct_task_v<S>) {
        if constexpr (std::is_void_v<typename std::remove_cvref_t<S>::value_type>) {
            TaskAccess::take(operand);
            return V{};
        } else {
            return TaskAccess::take(operand);
        }
    } else {
        return std::move(*out);
    }
}

// The shared half of join and select: start, finish, cancel.
class BranchGroup : public BranchSink {
public:
    BranchGroup(const BranchGroup&) = delete;
    BranchGroup& operator=(const BranchGroup&) = delete;

protected:
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

    explicit BranchGroup(bool first_wins) noexcept : first_wins_(first_wins) {}
    ~BranchGroup() = default;  // the derived awaiter calls release_all() first

    void reset_children(std::coroutine_handle<>* children, std::size_t count) noexcept {
        children_ = children;
        count_ = count;
    }

    // Cancels (if unfinished) and frees child i; the derived awaiter knows
    // whether it owns the coroutine (a branch) or its operand does (a Task).
    virtual void release(std::size_t i) noexcept = 0;

    // Starts the children (already created) in order. Returns whether the
    // parent must stay suspended.
    bool start(std::coroutine_handle<> parent) {
        parent_ = parent;
        remaining_ = count_;
        starting_ = true;
        for (std::size_t i = 0; i < count_ && !decided_; ++i) {
            run_from(children_[i]);
        }
        starting_ = false;
        return !(decided_ || remaining_ == 0);
    }

    std::coroutine_handle<> branch_done(std::size_t index, const std::exception_ptr& error) noexcept final {
        --remaining_;
        if (!decided_ && (first_wins_ || error)) {
            decided_ = true;
            winner_ = index;
            error_ = error;
            cancel_others(index);
        }
        if (!starting_ && (decided_ || remaining_ == 0)) {
            return parent_;
        }
        return {};
    }

    void rethrow_if_error() const {
        if (error_) {
            std::rethrow_exception(error_);
        }
    }

    void release_all() noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            if (children_[i]) {
                release(i);
                children_[i] = {};
            }
        }
    }

    std::size_t winner_ = kNone;

private:
    void cancel_others(std::size_t keep) noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            if (i != keep && children_[i] && !children_[i].done()) {
                release(i);
                children_[i] = {};
            }
        }
    }

    std::coroutine_handle<>* children_ = nullptr;
    std::size_t count_ = 0;
    bool first_wins_;
    bool starting_ = false;
    bool decided_ = false;
    std::size_t remaining_ = 0;
    std::coroutine_handle<> parent_;
    std::exception_ptr error_;
};

}  // namespace weft::detail
