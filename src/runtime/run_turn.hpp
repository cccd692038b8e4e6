// Scheduler::run_turn, inline in the loops that run turns (scheduler.cpp,
// worker.cpp): a task's turn is the runtime's hottest path, and the call
// and its register saves were a tenth of a yield_now.
#pragma once

#include "weft/detail/resume.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_promise.hpp"

namespace weft::detail {

// Called with the task about to run, `t` (the run queue's front): starts
// fetching the frame of the task after the next one, beyond its first line
// (the lines that hold its waiters and its coroutine's locals; the first
// line is fetched a turn ahead by the unlink that writes it). With a
// thousand tasks in rotation their frames fall out of L1, and a turn would
// otherwise wait for those lines one after the other (yield_now: 8.9 ->
// 7.9 ns). The pointers are read before the unlink, from values no store of
// this turn has touched yet; nothing is fetched when the queue is short.
inline void Scheduler::prefetch_after_next(const Link* t) const noexcept {
    const Link* next = t->next;
    if (run_queue_.is_end(next)) {
        return;
    }
    const Link* after = next->next;
    if (run_queue_.is_end(after)) {
        return;
    }
    __builtin_prefetch(reinterpret_cast<const char*>(after) + 0x30, 1);
    __builtin_prefetch(reinterpret_cast<const char*>(after) + 0x70, 1);
}

inline void Scheduler::run_turn(TaskHeader* t) {
    t->state &= static_cast<std::uint8_t>(~TaskHeader::kScheduled);
    tls_context.task = t;
    tls_context.budget = kTurnBudget;
    if ((t->state & TaskHeader::kCancelRequested) != 0) {
        cancel(t);
    } else if ((t->state & TaskHeader::kStarted) == 0) {
        t->state |= TaskHeader::kStarted;
        run_from(t->handle());
    } else if (t->ready.empty()) {
        // Its only woken waiter was cancelled before this turn: nothing to do.
    } else if (t->ready.front()->next == t->ready.end()) {
        // One woken waiter (the common case): no need to set the turn apart.
        static_cast<Waiter*>(t->ready.pop_front())->resume();
    } else {
        ListHead turn;
        t->ready.splice_to(turn);
        while (!turn.empty()) {
            auto* w = static_cast<Waiter*>(turn.pop_front());
            w->resume();
        }
    }
    tls_context.task = nullptr;
}

// The turn of the task in the hand-off slot (rule 7): its one woken waiter,
// if that is still there, is all it has to run (a second wake would have
// moved both to the queues).
inline void Scheduler::run_handoff_turn() {
    TaskHeader* t = handoff_task_;
    handoff_task_ = nullptr;
    Link* w = handoff_.empty() ? nullptr : handoff_.take_only();  // one node at most (rule 7)
    t->state &= static_cast<std::uint8_t>(~TaskHeader::kScheduled);
    tls_context.task = t;
    tls_context.budget = kTurnBudget;
    if ((t->state & TaskHeader::kCancelRequested) != 0) {
        cancel(t);
    } else if (w != nullptr) {
        Waiter::resume_target(handoff_target_);
    }
    tls_context.task = nullptr;
}

}  // namespace weft::detail
