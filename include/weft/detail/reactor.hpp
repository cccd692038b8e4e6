// The I/O reactor: epoll, edge-triggered, inside the runtime.
//
// Pieces and ownership
//   Reactor   one per runtime (created on the first socket), owned by the
//             Scheduler: an epoll instance and an eventfd that other threads
//             write to wake a runtime parked in epoll_wait.
//   IoSource  one per open socket, owned by the socket object (on the heap,
//             so the socket may move): the fd, its last known readiness in
//             each direction, and at most one waiting reader and one waiting
//             writer. Registered once, when an operation on it first
//             waits, for EPOLLIN | EPOLLOUT | EPOLLRDHUP, edge-triggered:
//             no re-registration per operation (epoll reports a readiness
//             that predates the registration at once).
//
// Rules (cited as "io rule N")
//   1. An operation tries its system call first while its direction is
//      marked ready; only EAGAIN clears the mark, and only then does the
//      operation wait (a Readiness awaiter). An event sets the mark and wakes
//      the waiter. Edge-triggered epoll reports each transition once; the
//      mark remembers it. The mark counts events, so that clearing it after a
//      system call fails when an event came meanwhile (from a reactor on
//      another thread), and a waiter registers under the source's lock after
//      checking the mark once more: no readiness is lost.
//   2. The bytes are read (or written) by the operation after it is woken,
//      never by the reactor: an operation destroyed while waiting has
//      consumed nothing (cancel safety).
//   3. Closing the fd removes it from epoll. Events of one epoll_wait are all
//      handled before any task of that worker runs; a source is freed on its
//      home's thread (between two polls), so a reactor never touches a freed
//      source: a socket closed on another worker hands its source to the
//      home's inbox to be freed there.
//   4. A source is registered once, with the reactor of the worker where an
//      operation on it first waits (its home); a reactor is polled only on
//      its own thread. The task that uses the socket may later run on
//      another worker (the socket moved into another task): its waiters are
//      RemoteWaiters, woken through their own scheduler, and the waiter
//      slots are guarded by the source's mutex.
//   6. A read that returns fewer bytes than it asked for has drained the
//      socket, so it clears the read mark without a second, failing system
//      call (edge-triggered epoll reports the next arrival). A hang-up sets
//      read_closed, which no read clears, so an end of stream that arrived
//      with the last data is never missed.
//   7. Small reads go through a per-socket input buffer (kInputBuffer bytes):
//      one recv fills it, reads are served from it, so that rule 6 applies
//      even when the caller's buffer is exactly the size of the message.
//      Bytes in the buffer belong to the stream: a cancelled read loses none.
//   5. A runtime with the real clock parks in epoll_wait until its next
//      timer; the paused clock polls epoll without waiting and, when no I/O
//      is ready and a timer is armed, jumps to it (so time advances while a
//      socket waits, as with Tokio's paused clock).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

class Scheduler;

struct IoSource {
    static constexpr std::uint32_t kInputBuffer = 4096;
    static constexpr std::uint32_t kReady = 1;  // low bit of a direction's mark; the rest counts events

    int fd = -1;
    // Guards the waiter slots and the registration against the home
    // reactor's dispatch, which may run on another worker (io rule 4).
    std::mutex mu;
    Scheduler* home = nullptr;       // the reactor it is registered with (io rule 4); under mu
    RemoteWaiter* reader = nullptr;  // under mu
    RemoteWaiter* writer = nullptr;  // under mu
    // Marks (io rule 1): (events << 1) | kReady, one per direction. Ready at
    // first: try first.
    std::atomic<std::uint32_t> rd{kReady};
    std::atomic<std::uint32_t> wr{kReady};
    std::atomic<bool> read_closed{false};  // the peer closed or the socket failed: never cleared (io rule 6)
    // Bytes received but not yet handed out (io rule 7), allocated on the
    // first small read; touched only by the task that reads.
    std::unique_ptr<char[]> input;
    std::uint32_t input_pos = 0;
    std::uint32_t input_len = 0;
    // Frees this source on its home's thread (io rule 3).
    struct Retire : WakeCallback {
        IoSource* src = nullptr;
    } retire_cb;
    Waiter retire_waiter;

    std::atomic<std::uint32_t>& mark(bool write) noexcept { return write ? wr : rd; }
    // A direction's mark, to pass to clear() after a system call.
    [[nodiscard]] std::uint32_t snapshot(bool write) noexcept { return mark(write).load(std::memory_order_acquire); }
    [[nodiscard]] static bool ready(std::uint32_t snap) noexcept { return (snap & kReady) != 0; }
    [[nodiscard]] bool can_read() noexcept {
        return ready(snapshot(false)) || read_closed.load(std::memory_order_acquire);
    }
    // io rule 1: clears the ready mark unless an event arrived after `snap`
    // was taken (then the next system call is tried instead of waiting).
    void clear(bool write, std::uint32_t snap) noexcept {
        if (ready(snap)) {
            (void)mark(write).compare_exchange_strong(snap, snap & ~kReady, std::memory_order_acq_rel);
        }
    }
    // The reactor saw an event: ready again, one more event.
    void set_ready(bool write) noexcept {
        std::atomic<std::uint32_t>& m = mark(write);
        std::uint32_t old = m.load(std::memory_order_relaxed);
        while (!m.compare_exchange_weak(old, ((old | kReady) + 2) | kReady, std::memory_order_acq_rel)) {
        }
    }
};

// Closes nothing: frees a socket's source, on its home's thread when that is
// another one (a reactor there may still hold its address from an epoll_wait
// in progress: io rule 3).
struct IoSourceDeleter {
    void operator()(IoSource* s) const noexcept;
};

class Reactor {
public:
    Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;
    ~Reactor();

    // Registers `s` (its fd must be non-blocking). Throws std::system_error.
    void add(IoSource* s);
    // Waits up to `timeout_ms` (-1: until an event or notify()) and wakes the
    // waiters of every source that became ready; true when any was woken.
    bool poll(Scheduler& sched, int timeout_ms);
    // Ends a poll in progress on another thread. Thread-safe.
    void notify() noexcept;
    // System calls made by poll() so far (epoll_wait and eventfd reads).
    [[nodiscard]] std::uint64_t polls() const noexcept { return polls_; }

private:
    int epfd_ = -1;
    int evfd_ = -1;
    std::uint64_t polls_ = 0;
};

}  // namespace weft::detail
