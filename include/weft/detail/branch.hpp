// Branches: how join and select run several awaitables concurrently inside
// one task without spawning.
//
// Each operand becomes a child of the combinator, of one of three kinds:
//   - a `Task` is its own child: its final step reports to the combinator
//     through a BranchSlot instead of resuming an awaiting coroutine;
//   - a `Sleep` is driven directly: its timer entry wakes a callback
//     (SleepChild) rather than a coroutine;
//   - any other awaitable gets a small coroutine (a branch) that awaits it
//     and stores its result. The combinator's awaiter (a BranchGroup) owns the branches:
// it starts them in argument order when the parent suspends, each branch
// reports to the group from its final suspension, and the group decides
// whether to resume the parent (by transfer from that final step, resume.hpp).
// Operands are awaited from inside the branch frames, so their awaiters, and
// every registration they hold, live in those frames: cancelling a branch is
// destroying its frame (task_header.hpp, rule 3). The group destroys every
// branch frame when it is destroyed, which is also how the whole combinator
// is cancelled when its parent is.
#pragma once

#include <array>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/detail/branch_sink.hpp"
#include "weft/detail/frame_pool.hpp"
#include "weft/detail/resume.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

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
Branch run_branch(std::remove_reference_t<S>& operand, std::optional<V>& out) {
    if constexpr (std::is_void_v<await_result_t<S&&>>) {
        co_await static_cast<S&&>(operand);
        out.emplace();
    } else {
        out.emplace(co_await static_cast<S&&>(operand));
    }
}

// ---- a Sleep operand, driven without a coroutine
class SleepChild final : private WakeCallback {
public:
    SleepChild() noexcept { fn = &SleepChild::fire; }
    SleepChild(const SleepChild&) = delete;
    SleepChild& operator=(const SleepChild&) = delete;
    ~SleepChild() { release(); }

    void init(BranchSlot* slot, std::chrono::steady_clock::time_point deadline) noexcept {
        slot_ = slot;
        deadline_ = deadline;
    }
    // Arms the timer; returns true when the deadline has already passed.
    bool start() {
        Scheduler& s = require_scheduler("weft::sleep");
        entry_.deadline_ns = s.to_wheel_ns(deadline_);
        if (s.expired(entry_.deadline_ns)) {
            return true;
        }
        entry_.task = current_task();
        entry_.set_callback(this);
        s.arm(&entry_);
        return false;
    }
    void release() noexcept {
        if (entry_.armed()) {
            current_scheduler()->disarm(&entry_);
        } else {
            entry_.unlink();  // fired, but cancelled before its task's turn
        }
    }

private:
    static void fire(WakeCallback* cb) {
        auto* self = static_cast<SleepChild*>(cb);
        const std::exception_ptr none;
        if (std::coroutine_handle<> next = self->slot_->sink->branch_done(self->slot_->index, none)) {
            run_from(next);  // `self` may be gone once the parent runs
        }
    }

    TimerEntry entry_;
    BranchSlot* slot_ = nullptr;
    std::chrono::steady_clock::time_point deadline_{};
};

// ---- one operand of a combinator: per-kind storage and operations
template <class S>
inline constexpr bool is_direct_task_v = is_task<std::remove_cvref_t<S>>::value;
template <class S>
inline constexpr bool is_direct_sleep_v = std::is_same_v<std::remove_cvref_t<S>, Sleep>;

template <class S>
struct ChildStorage {
    std::optional<await_value_t<S&&>> out;  // a branch coroutine's result
};
template <class S>
requires is_direct_sleep_v<S>
struct ChildStorage<S> {
    SleepChild sleep;
};

// Creates the child for `operand`: returns its coroutine, or a null handle
// for a child without one (a Sleep, started by start_direct_child).
template <class S, class O>
std::coroutine_handle<> make_child(O& operand, ChildStorage<S>& st, BranchSlot& slot) {
    if constexpr (is_direct_task_v<S>) {
        auto h = TaskAccess::handle(operand, "co_await join/select");
        h.promise().continuation = &slot;
        h.promise().state |= TaskHeader::kBranchChild;
        return h;
    } else if constexpr (is_direct_sleep_v<S>) {
        st.sleep.init(&slot, operand.deadline());
        return {};
    } else {
        BranchHandle h = run_branch<S>(operand, st.out).h;
        h.promise().sink = slot.sink;
        h.promise().index = slot.index;
        return h;
    }
}

// A finished child: a Task's result moves into `st` and its frame is destroyed.
template <class S, class O>
std::exception_ptr finish_child(O& operand, ChildStorage<S>& st) noexcept {
    if constexpr (is_direct_task_v<S>) {
        try {
            if constexpr (std::is_void_v<typename std::remove_cvref_t<S>::value_type>) {
                TaskAccess::take(operand);
                st.out.emplace();
            } else {
                st.out.emplace(TaskAccess::take(operand));
            }
        } catch (...) {
            return std::current_exception();
        }
    } else {
        (void)operand;
        (void)st;
    }
    return {};
}

// Starts a child without a coroutine; true when it completed at once.
template <class S>
bool start_direct_child(ChildStorage<S>& st) {
    if constexpr (is_direct_sleep_v<S>) {
        return st.sleep.start();
    } else {
        return false;
    }
}

// Cancels (if unfinished) and frees the child. A Task operand is consumed: it
// cannot be awaited again; a Sleep operand can.
template <class S, class O>
void release_child(O& operand, ChildStorage<S>& st, std::coroutine_handle<> h) noexcept {
    if constexpr (is_direct_task_v<S>) {
        (void)h;
        TaskAccess::reset(operand);
    } else if constexpr (is_direct_sleep_v<S>) {
        st.sleep.release();
    } else {
        h.destroy();
    }
}

// The finished child's result.
template <class S, class O>
await_value_t<S&&> take_child(O& operand, ChildStorage<S>& st) {
    (void)operand;
    if constexpr (is_direct_sleep_v<S>) {
        return {};
    } else {
        return std::move(*st.out);  // a Task child's result was moved here when it finished
    }
}

// The shared half of join and select: start, finish, cancel.
class BranchGroup : public BranchSink {
public:
    BranchGroup(const BranchGroup&) = delete;
    BranchGroup& operator=(const BranchGroup&) = delete;

protected:
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    enum ChildState : std::uint8_t { kAbsent, kCreated, kFinished, kReleased };

    explicit BranchGroup(bool first_wins) noexcept : first_wins_(first_wins) {}
    ~BranchGroup() = default;  // the derived awaiter calls release_all() first

    void reset_children(std::coroutine_handle<>* children, std::uint8_t* states, std::size_t count) noexcept {
        children_ = children;
        states_ = states;
        count_ = count;
    }
    void created(std::size_t i, std::coroutine_handle<> h) noexcept {
        children_[i] = h;
        states_[i] = kCreated;
    }

    // Cancels (if unfinished) and frees child i.
    virtual void release(std::size_t i) noexcept = 0;
    // Starts child i, which has no coroutine; true when it completed at once.
    virtual bool start_direct(std::size_t i) = 0;
    // Child i just finished without an exception: a Task child's result moves
    // out and its frame is destroyed now, so its parameters (a Sender, say)
    // are released when it completes, not when the whole combinator does.
    // Returns the exception that moving the result threw, if any.
    virtual std::exception_ptr child_finished(std::size_t i) noexcept = 0;

    // Starts the children (already created) in order. Returns whether the
    // parent must stay suspended.
    bool start(std::coroutine_handle<> parent) {
        parent_ = parent;
        remaining_ = count_;
        starting_ = true;
        for (std::size_t i = 0; i < count_ && !decided_; ++i) {
            if (children_[i]) {
                run_from(children_[i]);
            } else if (start_direct(i)) {
                const std::exception_ptr none;
                branch_done(i, none);
            }
        }
        starting_ = false;
        return !(decided_ || remaining_ == 0);
    }

    std::coroutine_handle<> branch_done(std::size_t index, const std::exception_ptr& error_in) noexcept final {
        std::exception_ptr error = error_in;  // copied: the child may be destroyed below
        states_[index] = kFinished;
        --remaining_;
        if (!error) {
            error = child_finished(index);
        }
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
            if (states_[i] == kCreated || states_[i] == kFinished) {
                release(i);
                states_[i] = kReleased;
            }
        }
    }

    std::size_t winner_ = kNone;

private:
    void cancel_others(std::size_t keep) noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            if (i != keep && states_[i] == kCreated) {
                release(i);
                states_[i] = kReleased;
            }
        }
    }

    std::coroutine_handle<>* children_ = nullptr;
    std::uint8_t* states_ = nullptr;
    std::size_t count_ = 0;
    bool first_wins_;
    bool starting_ = false;
    bool decided_ = false;
    std::size_t remaining_ = 0;
    std::coroutine_handle<> parent_;
    std::exception_ptr error_;
};

// A fixed set of operands (join, select): their children and storage.
template <bool kFirstWins, class... S>
class FixedGroup : protected BranchGroup {
protected:
    explicit FixedGroup(std::tuple<S...>& operands) noexcept : BranchGroup(kFirstWins), operands_(operands) {
        reset_children(children_.data(), states_.data(), sizeof...(S));
    }
    ~FixedGroup() { release_all(); }
    FixedGroup(const FixedGroup&) = delete;
    FixedGroup& operator=(const FixedGroup&) = delete;

    bool suspend(std::coroutine_handle<> parent) {
        create(std::index_sequence_for<S...>{});
        return start(parent);
    }
    template <std::size_t I>
    auto take() {
        return take_child(std::get<I>(operands_), std::get<I>(storage_));
    }

private:
    template <std::size_t... I>
    void create(std::index_sequence<I...> /*unused*/) {
        ((slots_[I] = BranchSlot{this, I},
          created(I, make_child(std::get<I>(operands_), std::get<I>(storage_), slots_[I]))),
         ...);
    }
    template <std::size_t I = 0>
    void release_at(std::size_t i) noexcept {
        if constexpr (I < sizeof...(S)) {
            if (i == I) {
                release_child(std::get<I>(operands_), std::get<I>(storage_), children_[I]);
            } else {
                release_at<I + 1>(i);
            }
        }
    }
    template <std::size_t I = 0>
    bool start_at(std::size_t i) {
        if constexpr (I < sizeof...(S)) {
            return i == I ? start_direct_child(std::get<I>(storage_)) : start_at<I + 1>(i);
        } else {
            return false;
        }
    }
    template <std::size_t I = 0>
    std::exception_ptr finish_at(std::size_t i) noexcept {
        if constexpr (I < sizeof...(S)) {
            return i == I ? finish_child(std::get<I>(operands_), std::get<I>(storage_)) : finish_at<I + 1>(i);
        } else {
            return {};
        }
    }
    void release(std::size_t i) noexcept final { release_at(i); }
    bool start_direct(std::size_t i) final { return start_at(i); }
    std::exception_ptr child_finished(std::size_t i) noexcept final { return finish_at(i); }

    std::array<std::coroutine_handle<>, sizeof...(S)> children_{};
    std::array<std::uint8_t, sizeof...(S)> states_{};
    std::array<BranchSlot, sizeof...(S)> slots_{};
    std::tuple<S...>& operands_;
    std::tuple<ChildStorage<S>...> storage_;
};

}  // namespace weft::detail
