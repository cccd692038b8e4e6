// The task engine's shared vocabulary: frame prefix, waiters, task headers.
//
// Pieces
//   FramePrefix  16 bytes in front of every Task coroutine frame (allocated by
//                TaskPromise::operator new), with the task's result slot (a T,
//                rounded up to 16 bytes) in front of it. Together they hold what
//                must outlive the frame: the allocation's size, the lifetime
//                flags below, the exception the task threw and its value.
//   TaskHeader   the non-template part of every Task's promise. For a task
//                that is spawned (or is block_on's main task) it is the task:
//                run-queue link, membership in the scheduler's task list, the
//                list of its woken waiters, its join waiter.
//   Waiter       a suspended coroutine inside some task, waiting to be woken:
//                (task, coroutine handle) plus a list link. It lives inside
//                the awaiter that suspended, so it is destroyed with the frame.
//
// Rules (cited in the code as "rule N")
//   1. A frame's memory is freed when the frame is destroyed and no
//      JoinHandle refers to it; while a JoinHandle is alive the memory (not
//      the frame) stays, marked kFrameGone, and the handle frees it. The
//      result slot and the exception live in that memory, so a finished
//      task's frame can go while its result waits for the handle.
//   2. A task's frame is destroyed exactly once: a spawned task's by itself at
//      its final suspension (its parameters, a Sender say, are released when
//      it completes), an awaited task's by its awaiter, a cancelled task's by
//      Scheduler::cancel (abort, shutdown).
//   3. A Waiter is in at most one list at a time: a wait source's list (a
//      timer slot, a join slot) while waiting, its task's ready list once
//      woken. Its awaiter's destructor unlinks it from wherever it is, which
//      is the whole of cancel safety for that awaiter.
//   4. Before a task's frame is destroyed by cancellation, the task is marked
//      kDying: wakes addressed to a dying task are dropped, so destructors that
//      run during the destruction cannot requeue it.
//   5. A task's header and the scheduler state are touched only by the
//      thread of the scheduler that runs the task: the runtime's thread
//      (current-thread runtime) or, on a pool runtime, the task's owner
//      worker, fixed at its first turn (pool.hpp). Wakes from other threads go
//      through the owner's remote inbox (Scheduler::wake_remote).
//   6. A FramePrefix's flags are read and written only through its
//      accessors. On a pool runtime (kShared) they are atomic
//      read-modify-writes, whose old values settle the races without a lock
//      in the common case:
//      - frame memory is freed by whichever of the frame's destruction
//        (kFrameGone) and the handle's release (kHandleAlive) comes second;
//      - an error nobody observed is reported by the completion if the
//        handle was gone by then, else by the handle's release, which reads
//        the error while its kHandleAlive still holds the memory;
//      - a JoinHandle await that must wait, and abort(), work under the
//        task's stripe lock (task_lock()) and leave a flag (kJoinWaiting,
//        kAbortRequested); a completion or cancellation that finds one of
//        them takes the same lock to wake the waiter or withdraw the abort,
//        and one that finds neither needs no lock: the flag is set, under
//        the lock, by a read-modify-write that would have seen kFinished.
//   7. The scheduler's hand-off slot (Scheduler::handoff_task_) holds a task
//      woken while the run queue was empty, with its woken waiter in a one-
//      node list of the scheduler instead of the task's ready list; the task
//      is kScheduled but not in the run queue. The slot is the run queue's
//      logical tail: it is used only while the queue is empty, and anything
//      else queued (a second wake of any task, a yield, a spawn) first moves
//      the slot's task and waiter to the queues. A task that completes or is
//      cancelled leaves the slot; a waiter destroyed there unlinks itself
//      (rule 3), leaving a turn with nothing to run. The slot also keeps a
//      copy of the waiter's target, and its turn takes the waiter without
//      reading it back: the turn's resume does not wait on the loads of
//      what wake() has just written. It saves a wake-and-run
//      hand-off between two tasks (ping_pong) the run-queue and ready-list
//      round trips.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <mutex>

#include "weft/detail/list.hpp"

namespace weft::detail {

class Scheduler;
struct TaskHeader;

struct alignas(16) FramePrefix {
    std::uint32_t size = 0;    // bytes of the whole allocation
    std::uint16_t flags_ = 0;  // through the accessors below only (rule 6)
    std::uint16_t slot = 0;    // bytes of the result slot in front of the prefix
    std::exception_ptr error;  // what the task threw

    static constexpr std::uint16_t kHandleAlive = 1U << 0;     // a JoinHandle refers to the task
    static constexpr std::uint16_t kFrameGone = 1U << 1;       // frame destroyed, memory kept (rule 1)
    static constexpr std::uint16_t kCompleted = 1U << 2;       // returned or threw
    static constexpr std::uint16_t kCancelled = 1U << 3;       // destroyed before completing
    static constexpr std::uint16_t kResultTaken = 1U << 4;     // a JoinHandle await took the result
    static constexpr std::uint16_t kHasValue = 1U << 5;        // the slot holds a returned value
    static constexpr std::uint16_t kErrorObserved = 1U << 6;   // the exception was rethrown to someone
    static constexpr std::uint16_t kShared = 1U << 7;          // spawned on a pool runtime (rule 6)
    static constexpr std::uint16_t kAbortRequested = 1U << 8;  // pool: abort() asked, not yet delivered
    static constexpr std::uint16_t kPinned = 1U << 9;          // pool: its first turn began on `owner`
    static constexpr std::uint16_t kJoinWaiting = 1U << 10;    // pool: a JoinHandle await registered a waiter
    static constexpr std::uint16_t kFinished = kCompleted | kCancelled;

    static FramePrefix* of(void* frame) noexcept {
        return reinterpret_cast<FramePrefix*>(static_cast<char*>(frame) - sizeof(FramePrefix));
    }
    void* frame() noexcept { return reinterpret_cast<char*>(this) + sizeof(FramePrefix); }
    void* base() noexcept { return reinterpret_cast<char*>(this) - slot; }

    // The flags (acquire: a reader that sees kCompleted also sees the result).
    [[nodiscard]] std::uint16_t load() const noexcept {
        return std::atomic_ref<const std::uint16_t>(flags_).load(std::memory_order_acquire);
    }
    [[nodiscard]] bool has(std::uint16_t f) const noexcept { return (load() & f) != 0; }
    [[nodiscard]] bool shared() const noexcept {
        // relaxed: kShared is set before the task is published and never changes.
        return (std::atomic_ref<const std::uint16_t>(flags_).load(std::memory_order_relaxed) & kShared) != 0;
    }
    // Sets / clears flags and returns the flags before (rule 6).
    std::uint16_t set(std::uint16_t f) noexcept {
        std::atomic_ref<std::uint16_t> a(flags_);
        if (shared()) {
            return a.fetch_or(f, std::memory_order_acq_rel);
        }
        const std::uint16_t old = a.load(std::memory_order_relaxed);
        a.store(static_cast<std::uint16_t>(old | f), std::memory_order_relaxed);
        return old;
    }
    // Pool tasks: replaces the flags by `desired` if they are still
    // `expected` (true), else loads them into `expected` (false).
    bool exchange_flags(std::uint16_t& expected, std::uint16_t desired) noexcept {
        return std::atomic_ref<std::uint16_t>(flags_).compare_exchange_weak(
            expected, desired, std::memory_order_acq_rel, std::memory_order_acquire);
    }
    std::uint16_t clear(std::uint16_t f) noexcept {
        std::atomic_ref<std::uint16_t> a(flags_);
        if (shared()) {
            return a.fetch_and(static_cast<std::uint16_t>(~f), std::memory_order_acq_rel);
        }
        const std::uint16_t old = a.load(std::memory_order_relaxed);
        a.store(static_cast<std::uint16_t>(old & ~f), std::memory_order_relaxed);
        return old;
    }
};
static_assert(sizeof(FramePrefix) == 16);

// A waiter that runs a function instead of resuming a coroutine (join and
// select drive a Sleep operand this way, without a coroutine of its own).
struct WakeCallback {
    void (*fn)(WakeCallback*) = nullptr;
};

struct Waiter : Link {
    TaskHeader* task = nullptr;

    void set_handle(std::coroutine_handle<> h) noexcept { target_ = reinterpret_cast<std::uintptr_t>(h.address()); }
    void set_callback(WakeCallback* cb) noexcept { target_ = reinterpret_cast<std::uintptr_t>(cb) | 1U; }
    // Runs what this waiter waits to run (on its task's turn).
    void resume() const { resume_target(target_); }
    // What resume() runs, as a value (the hand-off slot keeps a copy, rule 7).
    [[nodiscard]] std::uintptr_t target() const noexcept { return target_; }
    // Runs a target() value.
    static void resume_target(std::uintptr_t target);

private:
    // A coroutine frame address, or a WakeCallback address with the low bit
    // set (both are at least 8-byte aligned).
    std::uintptr_t target_ = 0;
};

struct RunLink : Link {};
struct AllLink : Link {};

struct TaskHeader : RunLink, AllLink {
    enum : std::uint8_t {
        kSpawned = 1U << 0,          // a root task owned by a scheduler
        kStarted = 1U << 1,          // its first resume happened
        kScheduled = 1U << 2,        // in the run queue
        kCancelRequested = 1U << 3,  // JoinHandle::abort() was called
        kDying = 1U << 4,            // being destroyed by cancellation (rule 4)
        kBranchChild = 1U << 5,      // a direct child of join/select: continuation is a BranchSlot
    };

    ListHead ready;  // woken waiters, in wake order
    union {
        Waiter* join_waiter = nullptr;  // spawned: the JoinHandle awaiter, if any
        void* continuation;             // awaited: the awaiting coroutine's frame (or a BranchSlot)
    };
    std::uint8_t state = 0;
    std::uint16_t owner = 0;  // pool: index of the worker that runs it, from its first turn (rule 5)

    // This task's coroutine frame (defined with the promise, task_promise.hpp).
    [[nodiscard]] std::coroutine_handle<> handle() const noexcept;
    [[nodiscard]] FramePrefix* prefix() const noexcept { return FramePrefix::of(handle().address()); }
    static TaskHeader* from_run(Link* l) noexcept { return static_cast<TaskHeader*>(static_cast<RunLink*>(l)); }
    static TaskHeader* from_all(Link* l) noexcept { return static_cast<TaskHeader*>(static_cast<AllLink*>(l)); }
};

// The stripe lock of a pool task's cross-thread steps (rule 6): one of a
// fixed set of mutexes, picked by the task's address.
std::mutex& task_lock(const void* task) noexcept;

// What is running on this thread now. Trivial types only, so that access
// needs no TLS guard.
struct Context {
    Scheduler* scheduler = nullptr;
    TaskHeader* task = nullptr;
    int budget = 0;  // awaits the running task may still complete without yielding (coop budget)
};

// Cooperative budget (fairness). A task's turn may complete at most
// kTurnBudget awaits that need no waiting (a channel with values queued, a
// finished JoinHandle, a sleep whose deadline passed); the next such await
// yields first, as yield_now() does, so a task looping over always-ready
// awaits cannot starve the others. The budget is refilled at the start of
// every turn (Scheduler::run_turn). An await that yields for the budget
// consumes nothing before it yields (its readiness stays: the awaiting task
// is its only consumer), so cancelling it there loses nothing.
inline constexpr int kTurnBudget = 128;
inline thread_local Context tls_context{};
// On a spawn_blocking thread while it runs a job: the runtime the job belongs
// to, where spawn_task from the job sends its task (Scheduler::spawn_from_outside).
inline thread_local Scheduler* tls_spawn_target = nullptr;

inline Scheduler* current_scheduler() noexcept {
    return tls_context.scheduler;
}
inline TaskHeader* current_task() noexcept {
    return tls_context.task;
}
// True when the running task's budget is spent: a ready await must yield.
inline bool budget_spent() noexcept {
    return tls_context.budget <= 0;
}
// Spends one unit of the budget on an await that completes at once.
inline void spend_budget() noexcept {
    --tls_context.budget;
}
// Spends one unit and tells whether there was one (true): the check and the
// spending of a ready await in one step. A false leaves the budget below
// zero, which budget_spent() still reads as spent until the next turn
// refills it. Outside a task's turn (budget 0) it is always false.
inline bool take_budget() noexcept {
    return --tls_context.budget >= 0;
}

// Throws std::logic_error naming `what` (a function outside a runtime).
[[noreturn]] void throw_outside_runtime(const char* what);

// The running scheduler; throws std::logic_error naming `what` when no
// runtime runs on this thread.
inline Scheduler& require_scheduler(const char* what) {
    Scheduler* s = tls_context.scheduler;
    if (s == nullptr) [[unlikely]] {
        throw_outside_runtime(what);
    }
    return *s;
}

}  // namespace weft::detail
