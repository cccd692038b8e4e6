// The task engine's shared vocabulary: frame prefix, waiters, task headers.
//
// Pieces
//   FramePrefix  16 bytes in front of every Task coroutine frame (allocated by
//                TaskPromise::operator new). It holds what must outlive the
//                frame: the frame's size and the lifetime flags below.
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
//      the frame) stays, marked kFrameGone, and the handle frees it.
//   2. A task's frame is destroyed exactly once: by the task itself at its
//      final suspension when no handle is alive, by the last JoinHandle after
//      the task completed, or by Scheduler::cancel (abort, shutdown).
//   3. A Waiter is in at most one list at a time: a wait source's list (a
//      timer slot, a join slot) while waiting, its task's ready list once
//      woken. Its awaiter's destructor unlinks it from wherever it is, which
//      is the whole of cancel safety for that awaiter.
//   4. Before a task's frame is destroyed by cancellation, the task is marked
//      kDying: wakes addressed to a dying task are dropped, so destructors that
//      run during the destruction cannot requeue it.
//   5. Scheduler and task state are touched only by the runtime's thread
//      (current-thread runtime). Wakes from other threads go through the
//      scheduler's remote inbox (added with the thread-safe primitives).
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>

#include "weft/detail/list.hpp"

namespace weft::detail {

class Scheduler;
struct TaskHeader;

struct alignas(16) FramePrefix {
    std::uint32_t size = 0;
    std::uint32_t flags = 0;

    static constexpr std::uint32_t kHandleAlive = 1U << 0;  // a JoinHandle refers to the task
    static constexpr std::uint32_t kFrameGone = 1U << 1;    // frame destroyed, memory kept (rule 1)
    static constexpr std::uint32_t kCompleted = 1U << 2;    // returned or threw
    static constexpr std::uint32_t kCancelled = 1U << 3;    // destroyed before completing
    static constexpr std::uint32_t kResultTaken = 1U << 4;  // a JoinHandle await took the result
    static constexpr std::uint32_t kFinished = kCompleted | kCancelled;

    static FramePrefix* of(void* frame) noexcept {
        return reinterpret_cast<FramePrefix*>(static_cast<char*>(frame) - sizeof(FramePrefix));
    }
    void* frame() noexcept { return reinterpret_cast<char*>(this) + sizeof(FramePrefix); }
};
static_assert(sizeof(FramePrefix) == 16);

void free_frame_memory(FramePrefix* p) noexcept;

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
    void resume() const;

private:
    // A coroutine frame address, or a WakeCallback address with the low bit
    // set (both are at least 8-byte aligned).
    std::uintptr_t target_ = 0;
};

struct RunLink : Link {};
struct AllLink : Link {};

struct TaskHeader : RunLink, AllLink {
    enum : std::uint8_t {
        kSpawned = 1U << 0,         // a root task owned by a scheduler
        kStarted = 1U << 1,         // its first resume happened
        kScheduled = 1U << 2,       // in the run queue
        kCancelRequested = 1U << 3, // JoinHandle::abort() was called
        kDying = 1U << 4,           // being destroyed by cancellation (rule 4)
        kErrorObserved = 1U << 5,   // its exception was handed to a joiner
        kHasValue = 1U << 6,        // the promise holds a returned value
        kBranchChild = 1U << 7,     // a direct child of join/select: continuation is a BranchSlot
    };

    ListHead ready;  // woken waiters, in wake order
    union {
        Waiter* join_waiter = nullptr;  // spawned: the JoinHandle awaiter, if any
        void* continuation;             // awaited: the awaiting coroutine's frame (or a BranchSlot)
    };
    std::exception_ptr error;
    std::uint8_t state = 0;

    // This task's coroutine frame (defined with the promise, task_promise.hpp).
    [[nodiscard]] std::coroutine_handle<> handle() const noexcept;
    [[nodiscard]] FramePrefix* prefix() const noexcept { return FramePrefix::of(handle().address()); }
    static TaskHeader* from_run(Link* l) noexcept { return static_cast<TaskHeader*>(static_cast<RunLink*>(l)); }
    static TaskHeader* from_all(Link* l) noexcept { return static_cast<TaskHeader*>(static_cast<AllLink*>(l)); }
};

// What is running on this thread now. Trivial types only, so that access
// needs no TLS guard.
struct Context {
    Scheduler* scheduler = nullptr;
    TaskHeader* task = nullptr;
};
inline thread_local Context tls_context{};

inline Scheduler* current_scheduler() noexcept { return tls_context.scheduler; }
inline TaskHeader* current_task() noexcept { return tls_context.task; }

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
