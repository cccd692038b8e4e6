// What a child of join/select reports to when it finishes (branch.hpp).
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>

namespace weft::detail {

class BranchSink {
public:
    // Child `index` finished (with `error` if it threw). Returns the coroutine
    // to transfer to next (the parent), or a null handle.
    virtual std::coroutine_handle<> branch_done(std::size_t index, const std::exception_ptr& error) noexcept = 0;

protected:
    BranchSink() = default;
    BranchSink(const BranchSink&) = default;
    BranchSink& operator=(const BranchSink&) = default;
    ~BranchSink() = default;
};

// Where a Task that is a direct child of a combinator reports: its promise's
// `continuation` points here while it runs as that child.
struct BranchSlot {
    BranchSink* sink = nullptr;
    std::size_t index = 0;
};

}  // namespace weft::detail
