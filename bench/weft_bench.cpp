// weft-bench: the workloads of shared/bench/WORKLOADS.md, weft's side.
//
//   weft-bench <workload> [N] [st|mt]      one workload, one line
//   weft-bench                             every workload, default sizes
//   weft-bench stream_iter [N]             streams against a plain loop
//   weft-bench interval_paused             1 ms ticks over 10 s of paused time
//   weft-bench scaling [N] [workers]       CPU-bound tasks (multi-thread issue)
//   weft-bench chan_memory [N]             a channel's memory, full and drained
//
// Each prints `workload=<name> runtime=weft flavor=<f> n=<N> ns_per_op=<x>
// total_ms=<y>`, timed from inside (runtime construction included, as the
// peers do), checks its own result and exits non-zero when it is wrong.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <weft/weft.hpp>

#include "workloads.hpp"

using weft::JoinHandle;
using weft::Task;
using weft_bench::check_failed;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kTasks = 1000;  // the "1,000 x M" workloads

struct Args {
    std::uint64_t n;
    bool mt;
};

struct Workload {
    const char* name;
    std::uint64_t default_n;
    // Runs the workload on `rt`; returns the ops actually run, throws on a
    // failed self-check.
    std::function<std::uint64_t(weft::Runtime&, std::uint64_t)> body;
};

// ---- spawn_join: spawn N tasks, task i returns i; await all in order and sum.
Task<std::uint64_t> identity(std::uint64_t i) {
    co_return i;
}

std::uint64_t spawn_join(weft::Runtime& rt, std::uint64_t n) {
    const std::uint64_t sum = rt.block_on([n]() -> Task<std::uint64_t> {
        std::vector<JoinHandle<std::uint64_t>> hs;
        hs.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            hs.push_back(weft::spawn_task(identity(i)));
        }
        std::uint64_t s = 0;
        for (auto& h : hs) {
            s += co_await h;
        }
        co_return s;
    });
    if (sum != n * (n - 1) / 2) {
        check_failed("sum " + std::to_string(sum));
    }
    return n;
}

// ---- sleepers: N tasks sleep 100 ms then return 1.
Task<std::uint64_t> sleeper() {
    co_await weft::sleep(100ms);
    co_return 1;
}

std::uint64_t sleepers(weft::Runtime& rt, std::uint64_t n) {
    const std::uint64_t sum = rt.block_on([n]() -> Task<std::uint64_t> {
        std::vector<JoinHandle<std::uint64_t>> hs;
        hs.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            hs.push_back(weft::spawn_task(sleeper()));
        }
        std::uint64_t s = 0;
        for (auto& h : hs) {
            s += co_await h;
        }
        co_return s;
    });
    if (sum != n) {
        check_failed("sum " + std::to_string(sum));
    }
    return n;
}

// ---- yield_now: 1,000 tasks each yield N/1,000 times.
Task<std::uint64_t> yielder(std::uint64_t per) {
    for (std::uint64_t i = 0; i < per; ++i) {
        co_await weft::yield_now();
    }
    co_return per;
}

std::uint64_t yield_now(weft::Runtime& rt, std::uint64_t n) {
    const std::uint64_t tasks = std::min(kTasks, n);
    const std::uint64_t per = n / tasks;
    const std::uint64_t done = rt.block_on([tasks, per]() -> Task<std::uint64_t> {
        std::vector<JoinHandle<std::uint64_t>> hs;
        for (std::uint64_t t = 0; t < tasks; ++t) {
            hs.push_back(weft::spawn_task(yielder(per)));
        }
        std::uint64_t s = 0;
        for (auto& h : hs) {
            s += co_await h;
        }
        co_return s;
    });
    if (done != tasks * per) {
        check_failed("yields " + std::to_string(done));
    }
    return done;
}

// ---- timer_churn: 1,000 tasks each arm a 10 s sleep and cancel it at once,
// N/1,000 times: select(sleep, a ready future). The ready future checks that
// the sleep, started first, is armed when it runs: on the timer wheel of the
// thread that runs the task (as the peers check their own sleep). Not
// Runtime::armed_timers(), which on a pool reads every worker's count: with
// churners on both workers, each check then pulled the other worker's hot
// counter across (timer_churn mt ~50 ns with all churners on one worker,
// 120-140 ns with them split).
Task<bool> sleep_is_armed() {
    co_return weft::detail::current_scheduler()->armed_timers() > 0;
}

Task<std::uint64_t> churner(std::uint64_t per) {
    std::uint64_t armed = 0;
    for (std::uint64_t i = 0; i < per; ++i) {
        auto r = co_await weft::select(weft::sleep(10s), sleep_is_armed());
        if (r.index() != 1) {
            check_failed("a 10 s sleep fired");
        }
        armed += std::get<1>(r) ? 1U : 0U;
    }
    co_return armed;
}

std::uint64_t timer_churn(weft::Runtime& rt, std::uint64_t n) {
    const std::uint64_t tasks = std::min(kTasks, n);
    const std::uint64_t per = n / tasks;
    const std::uint64_t armed = rt.block_on([tasks, per]() -> Task<std::uint64_t> {
        std::vector<JoinHandle<std::uint64_t>> hs;
        for (std::uint64_t t = 0; t < tasks; ++t) {
            hs.push_back(weft::spawn_task(churner(per)));
        }
        std::uint64_t s = 0;
        for (auto& h : hs) {
            s += co_await h;
        }
        co_return s;
    });
    if (armed != tasks * per || rt.armed_timers() != 0) {
        check_failed("armed " + std::to_string(armed));
    }
    return armed;
}

// ---- chan_spsc: a producer future sends 0..N-1 into an unbounded channel and
// drops its sender; a consumer future sums until the channel closes; joined.
std::uint64_t chan_spsc(weft::Runtime& rt, std::uint64_t n) {
    const auto [sum, count] = rt.block_on([n]() -> Task<std::pair<std::uint64_t, std::uint64_t>> {
        auto [tx, rx] = weft::channel<std::uint64_t>();
        auto producer = weft::async_move([tx = std::move(tx), n]() mutable -> Task<bool> {
            for (std::uint64_t i = 0; i < n; ++i) {
                if (!tx.send(i)) {
                    co_return false;
                }
            }
            co_return true;
        });
        auto consumer = [](weft::Receiver<std::uint64_t>& in) -> Task<std::pair<std::uint64_t, std::uint64_t>> {
            std::uint64_t s = 0;
            std::uint64_t c = 0;
            while (auto v = co_await in.recv()) {
                s += *v;
                ++c;
            }
            co_return std::make_pair(s, c);
        };
        auto [sent_all, result] = co_await weft::join(std::move(producer), consumer(rx));
        if (!sent_all) {
            check_failed("a send failed");
        }
        co_return result;
    });
    if (count != n || sum != n * (n - 1) / 2) {
        check_failed("count " + std::to_string(count) + " sum " + std::to_string(sum));
    }
    return n;
}

// ---- chan_mpsc: 1,000 spawned producers, each with a clone of one sender,
// each sends N/1,000 values; one consumer sums all.
std::uint64_t chan_mpsc(weft::Runtime& rt, std::uint64_t n) {
    const std::uint64_t tasks = std::min(kTasks, n);
    const std::uint64_t per = n / tasks;
    const std::uint64_t total = tasks * per;
    const auto [sum, count] = rt.block_on([tasks, per]() -> Task<std::pair<std::uint64_t, std::uint64_t>> {
        auto [tx, rx] = weft::channel<std::uint64_t>();
        for (std::uint64_t p = 0; p < tasks; ++p) {
            auto h = weft::spawn_task([tx = tx, p, per]() mutable -> Task<void> {
                const std::uint64_t base = p * per;
                for (std::uint64_t j = 0; j < per; ++j) {
                    if (!tx.send(base + j)) {
                        co_return;
                    }
                }
            });
        }
        { auto last = std::move(tx); }  // the channel closes when the last producer drops its clone
        std::uint64_t s = 0;
        std::uint64_t c = 0;
        while (auto v = co_await rx.recv()) {
            s += *v;
            ++c;
        }
        co_return std::make_pair(s, c);
    });
    if (count != total || sum != total * (total - 1) / 2) {
        check_failed("count " + std::to_string(count) + " sum " + std::to_string(sum));
    }
    return total;
}

// ---- ping_pong: two tasks, two channels; a message goes A -> B -> A, N times.
std::uint64_t ping_pong(weft::Runtime& rt, std::uint64_t n) {
    const auto [sum, count] = rt.block_on([n]() -> Task<std::pair<std::uint64_t, std::uint64_t>> {
        auto [tx_ab, rx_ab] = weft::channel<std::uint64_t>();
        auto [tx_ba, rx_ba] = weft::channel<std::uint64_t>();
        auto b = weft::spawn_task([rx = std::move(rx_ab), tx = std::move(tx_ba)]() mutable -> Task<std::uint64_t> {
            std::uint64_t c = 0;
            while (auto v = co_await rx.recv()) {
                if (!tx.send(*v)) {
                    break;
                }
                ++c;
            }
            co_return c;
        });
        auto a = weft::spawn_task([tx = std::move(tx_ab), rx = std::move(rx_ba), n]() mutable -> Task<std::uint64_t> {
            std::uint64_t s = 0;
            for (std::uint64_t i = 0; i < n; ++i) {
                if (!tx.send(i)) {
                    break;
                }
                auto v = co_await rx.recv();
                if (!v) {
                    break;
                }
                s += *v;
            }
            co_return s;  // tx dropped with the task: B sees the channel close
        });
        const std::uint64_t s = co_await a;
        const std::uint64_t c = co_await b;
        co_return std::make_pair(s, c);
    });
    if (count != n || sum != n * (n - 1) / 2) {
        check_failed("count " + std::to_string(count) + " sum " + std::to_string(sum));
    }
    return n;
}

const std::vector<Workload>& workloads() {
    static const std::vector<Workload> all = {
        {"spawn_join", 1'000'000, spawn_join}, {"sleepers", 1'000'000, sleepers},
        {"yield_now", 1'000'000, yield_now},   {"timer_churn", 1'000'000, timer_churn},
        {"chan_spsc", 10'000'000, chan_spsc},  {"chan_mpsc", 10'000'000, chan_mpsc},
        {"ping_pong", 1'000'000, ping_pong},   {"tcp_echo", 1'000'000, weft_bench::tcp_echo},
    };
    return all;
}

int run_one(const Workload& w, std::uint64_t n, bool mt) {
    const char* flavor = mt ? "mt" : "st";
    try {
        const auto t0 = std::chrono::steady_clock::now();
        weft::Runtime::Options o;
        o.worker_threads = mt ? 2 : 0;
        weft::Runtime rt(std::move(o));
        const std::uint64_t ops = w.body(rt, n);
        const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        std::printf("workload=%s runtime=weft flavor=%s n=%llu ns_per_op=%.3f total_ms=%.3f\n", w.name, flavor,
                    static_cast<unsigned long long>(ops), ns / static_cast<double>(ops), ns / 1e6);
        std::fflush(stdout);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "workload=%s runtime=weft flavor=%s n=%llu FAILED: %s\n", w.name, flavor,
                     static_cast<unsigned long long>(n), e.what());
        return 1;
    }
}

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr, "weft-bench: %s\nusage: weft-bench [<workload> [N] [st|mt]]\nworkloads:", msg);
    for (const auto& w : workloads()) {
        std::fprintf(stderr, " %s", w.name);
    }
    std::fprintf(stderr, "\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 1) {
        int rc = 0;
        for (const auto& w : workloads()) {
            rc |= run_one(w, w.default_n, false);
        }
        rc |= weft_bench::stream_iter(10'000'000);
        rc |= weft_bench::interval_paused();
        return rc;
    }
    if (std::string_view(argv[1]) == "scaling") {
        return weft_bench::scaling(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000,
                                   argc > 3 ? static_cast<std::size_t>(std::strtoull(argv[3], nullptr, 10)) : 1);
    }
    if (std::string_view(argv[1]) == "interval_paused") {
        return weft_bench::interval_paused();
    }
    if (std::string_view(argv[1]) == "stream_iter") {
        return weft_bench::stream_iter(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000'000);
    }
    if (std::string_view(argv[1]) == "chan_memory") {
        return weft_bench::chan_memory(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000'000);
    }
    const Workload* w = nullptr;
    for (const auto& c : workloads()) {
        if (std::string_view(argv[1]) == c.name) {
            w = &c;
        }
    }
    if (w == nullptr) {
        usage((std::string("unknown workload '") + argv[1] + "'").c_str());
    }
    std::uint64_t n = w->default_n;
    if (argc > 2) {
        std::string s;
        for (const char* p = argv[2]; *p != 0; ++p) {
            if (*p != '_') {
                s += *p;
            }
        }
        char* end = nullptr;
        n = std::strtoull(s.c_str(), &end, 10);
        if (s.empty() || *end != 0 || n == 0) {
            usage((std::string("bad N '") + argv[2] + "'").c_str());
        }
    }
    bool mt = false;
    if (argc > 3) {
        const std::string_view f = argv[3];
        if (f == "mt") {
            mt = true;
        } else if (f != "st") {
            usage((std::string("bad flavor '") + argv[3] + "'").c_str());
        }
    }
    if (argc > 4) {
        usage("too many arguments");
    }
    return run_one(*w, n, mt);
}
