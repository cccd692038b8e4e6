// Lifetime probes: prove that what was constructed was destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <weft/weft.hpp>

namespace weft_test {

// Atomic: on a pool runtime probes die on several workers at once.
struct LifeCount {
    std::atomic<int> alive{0};
    std::atomic<int> destroyed{0};
};

// Counts itself alive in a LifeCount while it exists (moves transfer it).
class Probe {
public:
    explicit Probe(LifeCount& c) : c_(&c) { ++c_->alive; }
    Probe(Probe&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    Probe& operator=(Probe&&) = delete;
    Probe(const Probe& o) : c_(o.c_) { ++c_->alive; }
    Probe& operator=(const Probe&) = delete;
    ~Probe() {
        if (c_ != nullptr) {
            --c_->alive;
            ++c_->destroyed;
        }
    }

private:
    LifeCount* c_;
};

// The runtime flavour the tests run on: every test binary runs twice under
// CTest, as "st.*" on current-thread runtimes and as "pool2.*" with
// WEFT_TEST_WORKERS=2 (tests/CMakeLists.txt). Tests build their runtimes
// from these helpers; those that check an order only one thread defines
// spawn with spawn_here (below), which keeps the tasks on one worker of a
// pool.
inline std::size_t workers() {
    const char* v = std::getenv("WEFT_TEST_WORKERS");
    return v == nullptr ? 0 : static_cast<std::size_t>(std::strtoul(v, nullptr, 10));
}
inline bool on_pool() {
    return workers() != 0;
}

// Options for the flavour under test, real clock.
inline weft::Runtime::Options options() {
    weft::Runtime::Options o;
    o.worker_threads = workers();
    return o;
}

// Options for the flavour under test, paused clock.
inline weft::Runtime::Options paused() {
    weft::Runtime::Options o = options();
    o.paused_clock = true;
    return o;
}

// Spawns the task `f` returns so that it runs on the caller's thread, in
// FIFO order with the caller's other ready tasks: spawn_task on a
// current-thread runtime (whose order the tests check), spawn_local on a pool
// (which gives the same order on the caller's worker). For tests of an order
// only one thread defines, or of one Receiver, stream or socket shared by
// several tasks.
template <class F>
auto spawn_here(F&& f) {
    return on_pool() ? weft::spawn_local(std::forward<F>(f)) : weft::spawn_task(std::forward<F>(f));
}

// Runs the task `f` returns on a fresh runtime with the paused clock.
template <class F>
auto run_paused(F&& f) {
    weft::Runtime rt(paused());
    return rt.block_on(std::forward<F>(f));
}

// Runs the task `f` returns on a fresh runtime with the real clock (what
// weft::block_on does, in the flavour under test).
template <class F>
auto run(F&& f) {
    weft::Runtime rt(options());
    return rt.block_on(std::forward<F>(f));
}

// The message of the std::logic_error that `f()` throws ("" if none).
template <class F>
std::string logic_error_of(F&& f) {
    try {
        f();
    } catch (const std::logic_error& e) {
        return e.what();
    }
    return "";
}

// Yields until `pred()` holds: waits for another task's progress without
// assuming the order of a current-thread runtime (on a pool the other task
// may run on the other worker, or start later).
template <class Pred>
weft::Task<void> until(Pred pred) {
    while (!pred()) {
        co_await weft::yield_now();
    }
}

// Milliseconds of runtime time elapsed since `start`.
inline long long ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(weft::now() - start).count();
}

}  // namespace weft_test
