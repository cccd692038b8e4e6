// The blocking pool: threads, separate from the runtime's, that run
// spawn_blocking jobs.
//
// Pieces and ownership
//   BlockingJob  one submitted call, owned by the queue until a thread takes
//                it, then by that thread until it has run.
//   queue_       jobs not started yet, FIFO, guarded by mu_.
//   threads      started on demand, when a job is queued and no thread is
//                idle, up to max_threads; a thread idle for keep_alive exits.
//                Threads that exited are joined by the next submit or by the
//                destructor (no thread is ever detached).
//
// Rules (cited as "pool rule N")
//   1. A job runs at most once, on a pool thread. Jobs still queued when the
//      pool is destroyed are destroyed unrun (their results' receivers then
//      see "discarded"); the destructor waits for running jobs and joins
//      every thread, so nothing outlives the runtime that owns the pool.
//   2. If a thread cannot be started and none is running, submit throws and
//      the job is not queued; with other threads running, the job waits for
//      them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace weft::detail {

class BlockingJob {
public:
    BlockingJob() = default;
    BlockingJob(const BlockingJob&) = delete;
    BlockingJob& operator=(const BlockingJob&) = delete;
    virtual ~BlockingJob() = default;
    // Runs the job on a pool thread; must not throw (results and exceptions
    // travel in the job's own channel).
    virtual void run() noexcept = 0;
};

class BlockingPool {
public:
    BlockingPool(std::size_t max_threads, std::chrono::milliseconds keep_alive);
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;
    ~BlockingPool();

    // Queues `job` (pool rule 2: may throw std::system_error).
    void submit(std::unique_ptr<BlockingJob> job);

    // Diagnostics: threads alive now, and the most ever alive at once.
    [[nodiscard]] std::size_t threads() const;
    [[nodiscard]] std::size_t peak_threads() const;

private:
    void worker() noexcept;
    void join_exited(std::unique_lock<std::mutex>& lock);

    const std::size_t max_threads_;
    const std::chrono::milliseconds keep_alive_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<BlockingJob>> queue_;  // guarded by mu_
    std::vector<std::thread> running_;                // guarded by mu_
    std::vector<std::thread> exited_;                 // guarded by mu_; joinable, done
    std::size_t idle_ = 0;                            // guarded by mu_
    std::size_t peak_ = 0;                            // guarded by mu_
    bool stop_ = false;                               // guarded by mu_
};

}  // namespace weft::detail
