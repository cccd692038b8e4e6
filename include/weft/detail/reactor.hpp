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
//      mark remembers it.
//   2. The bytes are read (or written) by the operation after it is woken,
//      never by the reactor: an operation destroyed while waiting has
//      consumed nothing (cancel safety).
//   3. Closing the fd removes it from epoll. Events of one epoll_wait are all
//      handled before any task runs, so a source is never touched after its
//      socket closed.
//   4. Everything but Reactor::notify runs on the thread of the source's
//      home: the scheduler whose reactor it was registered with (on a pool
//      runtime, the worker of the task that first waited on it). A socket
//      that already waited on one worker and then waits on another throws
//      std::logic_error instead of being touched by two threads.
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

#include <cstdint>
#include <memory>

#include "weft/detail/task_header.hpp"

namespace weft::detail {

class Scheduler;

struct IoSource {
    static constexpr std::uint32_t kInputBuffer = 4096;

    int fd = -1;
    Scheduler* home = nullptr;  // set at the first wait (io rule 4)
    Waiter* reader = nullptr;
    Waiter* writer = nullptr;
    bool readable = true;  // io rule 1: try first
    bool writable = true;
    bool read_closed = false;  // the peer closed or the socket failed: never cleared (io rule 6)
    // Bytes received but not yet handed out (io rule 7), allocated on the
    // first small read.
    std::unique_ptr<char[]> input;
    std::uint32_t input_pos = 0;
    std::uint32_t input_len = 0;

    [[nodiscard]] bool can_read() const noexcept { return readable || read_closed; }
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
