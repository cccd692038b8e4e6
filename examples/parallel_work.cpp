// A pool runtime: CPU-bound tasks spread over worker threads, and the same
// API as the current-thread runtime (spawn_task, JoinHandle, channels,
// sleep). Usage: parallel_work [workers] (default 4).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <vector>
#include <weft/weft.hpp>

using namespace std::chrono_literals;

namespace {

// About 10 us of arithmetic: work that only more threads make faster.
std::uint64_t crunch(std::uint64_t seed) {
    std::uint64_t x = seed | 1U;
    for (int i = 0; i < 6000; ++i) {
        x ^= x << 13U;
        x ^= x >> 7U;
        x ^= x << 17U;
    }
    return x % 1000;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t workers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 4;
    weft::Runtime rt(weft::Runtime::Options{
        .worker_threads = workers, .paused_clock = false, .on_unhandled_exception = {}, .max_blocking_threads = 64});
    const auto start = std::chrono::steady_clock::now();
    auto [total, reports] = rt.block_on([]() -> weft::Task<std::pair<std::uint64_t, int>> {
        // 10,000 tasks: idle workers steal them before they start.
        std::vector<weft::JoinHandle<std::uint64_t>> handles;
        for (std::uint64_t i = 0; i < 10'000; ++i) {
            handles.push_back(weft::spawn_task([i]() -> weft::Task<std::uint64_t> { co_return crunch(i); }));
        }
        // Meanwhile a few tasks report progress over a channel.
        auto [tx, rx] = weft::channel<int>();
        for (int r = 0; r < 3; ++r) {
            (void)weft::spawn_task(weft::async_move([tx = tx, r]() mutable -> weft::Task<void> {
                co_await weft::sleep(std::chrono::milliseconds(r));
                (void)tx.send(r);
            }));
        }
        {
            auto drop = std::move(tx);  // the channel closes when the reporters are done
        }
        int got = 0;
        while (co_await rx.recv()) {
            ++got;
        }
        std::uint64_t sum = 0;
        for (auto& h : handles) {
            sum += co_await h;
        }
        co_return std::pair<std::uint64_t, int>(sum, got);
    });
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::cout << "workers: " << rt.worker_threads() << "\n";
    std::cout << "sum of 10000 results: " << total << "\n";
    std::cout << "progress reports: " << reports << "\n";
    std::cerr << "took " << ms.count() << " ms\n";  // varies: not part of the checked output
}
