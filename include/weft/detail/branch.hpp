// Branches: how join and select run several awaitables concurrently inside
// one task without spawning.
//
// Each operand gets a small coroutine (a branch) that awaits it and stores
// its result. The combinator's awaiter (a BranchGroup) owns the branches:
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

#include "weft/detail/frame_pool.hpp"
#include "weft/detail/resume.hpp"

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

// ---- the branch coroutine
class BranchSink {
public:
    // Returns the coroutine to transfer to next (the parent), or a null handle.
    virtual std::coroutine_handle<> branch_done(std::size_t index) noexcept = 0;

protected:
    BranchSink() = default;
    ~BranchSink() = default;
};

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
            std::coroutine_handle<> next = h.promise().sink->branch_done(h.promise().index);
            if (next) {
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

// The shared half of join and select: start, finish, cancel.
class BranchGroup : public BranchSink {
public:
    BranchGroup(const BranchGroup&) = delete;
    BranchGroup& operator=(const BranchGroup&) = delete;

protected:
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

    BranchGroup(BranchHandle* branches, std::size_t count, bool first_wins) noexcept
        : branches_(branches), count_(count), first_wins_(first_wins) {}
    ~BranchGroup() = default;  // the derived awaiter calls destroy_branches() first

    void reset_branches(BranchHandle* branches, std::size_t count) noexcept {
        branches_ = branches;
        count_ = count;
    }

    // Starts the branches (already created) in order. Returns whether the
    // parent must stay suspended.
    bool start(std::coroutine_handle<> parent) {
        parent_ = parent;
        remaining_ = count_;
        starting_ = true;
        for (std::size_t i = 0; i < count_ && !decided_; ++i) {
            BranchPromise& p = branches_[i].promise();
            p.sink = this;
            p.index = i;
            run_from(branches_[i]);
        }
        starting_ = false;
        return !(decided_ || remaining_ == 0);
    }

    std::coroutine_handle<> branch_done(std::size_t index) noexcept final {
        --remaining_;
        std::exception_ptr& e = branches_[index].promise().error;
        if (!decided_ && (first_wins_ || e)) {
            decided_ = true;
            winner_ = index;
            error_ = e;
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

    std::size_t winner_ = kNone;

    void cancel_others(std::size_t keep) noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            if (i != keep && branches_[i] && !branches_[i].done()) {
                std::exchange(branches_[i], {}).destroy();
            }
        }
    }

    void destroy_branches() noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            if (branches_[i]) {
                std::exchange(branches_[i], {}).destroy();
            }
        }
    }

private:
    BranchHandle* branches_;
    std::size_t count_;
    bool first_wins_;
    bool starting_ = false;
    bool decided_ = false;
    std::size_t remaining_ = 0;
    std::coroutine_handle<> parent_;
    std::exception_ptr error_;
};

}  // namespace weft::detail
