// Intrusive, circular, doubly-linked lists: the one queue shape weft uses for
// run queues, per-task ready lists and timer-wheel slots.
//
// A node that is in no list has next == prev == nullptr, so `unlink()` is
// always safe to call (it is how a cancelled awaiter leaves whatever list it
// is in, in O(1), without knowing which list that is). Nodes never move while
// linked: they live inside coroutine frames or the scheduler.
#pragma once

#include <cassert>

namespace weft::detail {

// An empty statement that keeps the compiler from merging the stores on its
// two sides into one 16-byte vector store. g++ 12 zeroes a new Link that way
// (through an XMM register); the waiter inside a receive's awaiter is built
// when it suspends and linked soon after, and with its two stores kept apart
// ping_pong ran ~5% faster (alternating runs). Only the constructor uses it:
// in push_back and unlink the merged stores measured faster (yield_now, whose
// 1,000 tasks' frames miss L1, issues fewer stores that way).
inline void keep_stores_apart() noexcept {
    asm volatile("");
}

struct Link {
    Link* next;
    Link* prev;

    Link() noexcept {
        next = nullptr;
        keep_stores_apart();
        prev = nullptr;
    }
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    [[nodiscard]] bool linked() const noexcept { return next != nullptr; }

    void unlink() noexcept {
        if (next != nullptr) {
            next->prev = prev;
            prev->next = next;
            next = prev = nullptr;
        }
    }
};

// The sentinel of a list. Not movable: its nodes point at it.
class ListHead : private Link {
public:
    ListHead() noexcept { next = prev = this; }
    ListHead(const ListHead&) = delete;
    ListHead& operator=(const ListHead&) = delete;
    ~ListHead() { clear(); }

    [[nodiscard]] bool empty() const noexcept { return next == this; }
    [[nodiscard]] Link* front() const noexcept { return next; }

    void push_back(Link* n) noexcept {
        n->prev = prev;
        n->next = this;
        prev->next = n;
        prev = n;
    }

    // Precondition: !empty().
    Link* pop_front() noexcept {
        Link* n = next;
        n->unlink();
        return n;
    }

    // Precondition: empty(). Links `n` as the only node, without reading
    // the head (take_only's counterpart).
    void push_only(Link* n) noexcept {
        assert(empty());
        n->next = this;
        n->prev = this;
        next = n;
        keep_stores_apart();  // take_only reads next
        prev = n;
    }

    // Precondition: the list holds exactly one node. Takes it without
    // reading its links (the hand-off slot's list, rule 7: the node was
    // linked a moment ago, and reading back the links just written waited
    // on the stores that wrote them).
    Link* take_only() noexcept {
        assert(!empty() && next->next == this);
        Link* n = next;
        next = this;
        keep_stores_apart();  // the next push_back reads prev
        prev = this;
        n->next = nullptr;
        n->prev = nullptr;
        return n;
    }

    // Moves every node to the back of `to`, keeping their order.
    void splice_to(ListHead& to) noexcept {
        if (empty()) {
            return;
        }
        Link* first = next;
        Link* last = prev;
        first->prev = to.prev;
        last->next = &to;
        to.prev->next = first;
        to.prev = last;
        next = prev = this;
    }

    // Unlinks every node (each becomes "in no list").
    void clear() noexcept {
        while (!empty()) {
            pop_front();
        }
    }

    [[nodiscard]] bool is_end(const Link* n) const noexcept { return n == this; }
    [[nodiscard]] const Link* end() const noexcept { return this; }
};

}  // namespace weft::detail
