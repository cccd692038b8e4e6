// The blocking pool; see weft/detail/blocking_pool.hpp for the design and
// the rules cited here.
#include "weft/detail/blocking_pool.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

namespace weft::detail {

BlockingPool::BlockingPool(std::size_t max_threads, std::chrono::milliseconds keep_alive)
    : max_threads_(max_threads), keep_alive_(keep_alive) {}

BlockingPool::~BlockingPool() {
    std::deque<std::unique_ptr<BlockingJob>> unrun;
    std::vector<std::thread> all;
    {
        std::unique_lock<std::mutex> lock(mu_);
        stop_ = true;
        unrun.swap(queue_);  // pool rule 1: queued jobs are destroyed unrun
        all.swap(running_);
        for (auto& t : exited_) {
            all.push_back(std::move(t));
        }
        exited_.clear();
    }
    cv_.notify_all();
    unrun.clear();  // outside the lock: a job's destructor may wake a runtime
    for (auto& t : all) {
        t.join();
    }
}

void BlockingPool::submit(std::unique_ptr<BlockingJob> job) {
    std::unique_lock<std::mutex> lock(mu_);
    join_exited(lock);
    if (idle_ > queue_.size() || running_.size() >= max_threads_) {
        queue_.push_back(std::move(job));
        cv_.notify_one();
        return;
    }
    try {
        running_.emplace_back([this] { worker(); });
    } catch (const std::system_error&) {
        if (running_.empty()) {
            throw;  // pool rule 2
        }
    }
    peak_ = std::max(peak_, running_.size());
    queue_.push_back(std::move(job));
    cv_.notify_one();
}

void BlockingPool::join_exited(std::unique_lock<std::mutex>& lock) {
    if (exited_.empty()) {
        return;
    }
    std::vector<std::thread> done;
    done.swap(exited_);
    lock.unlock();
    for (auto& t : done) {
        t.join();  // each has left worker(): the join is immediate
    }
    lock.lock();
}

void BlockingPool::worker() noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (!queue_.empty()) {
            std::unique_ptr<BlockingJob> job = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            job->run();
            job.reset();
            lock.lock();
            continue;
        }
        if (stop_) {
            return;  // the destructor joins this thread
        }
        ++idle_;
        const bool woken = cv_.wait_for(lock, keep_alive_, [this] { return stop_ || !queue_.empty(); });
        --idle_;
        if (!woken) {
            // Idle for keep_alive_: leave, handing this thread's handle to
            // whoever joins next.
            const auto self = std::this_thread::get_id();
            auto it = std::find_if(running_.begin(), running_.end(),
                                   [self](const std::thread& t) { return t.get_id() == self; });
            if (it != running_.end()) {  // absent when the destructor already took every handle
                exited_.push_back(std::move(*it));
                running_.erase(it);
            }
            return;
        }
    }
}

std::size_t BlockingPool::threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return running_.size();
}

std::size_t BlockingPool::peak_threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
}

}  // namespace weft::detail
