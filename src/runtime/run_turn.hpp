// Scheduler::run_turn, inline in the loops that run turns (scheduler.cpp,
// worker.cpp): a task's turn is the runtime's hottest path, and the call
// and its register saves were a tenth of a yield_now.
#pragma once

#include "weft/detail/resume.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_promise.hpp"

namespace weft::detail {

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

}  // namespace weft::detail
