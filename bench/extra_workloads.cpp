// weft-bench: the workloads that print lines of their own (chan_memory,
// scaling, stream_iter) and tcp_echo; see weft_bench.cpp for the others.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <weft/weft.hpp>

#include "workloads.hpp"

using weft::Task;

namespace weft_bench {

void check_failed(const std::string& what) {
    throw std::runtime_error(what);
}

// ---- chan_memory (not a WORKLOADS.md workload; the channel notes): fill a
// channel with N values, drain it, and report resident memory at each step.
long resident_kb() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    long pages_total = 0;
    long pages_resident = 0;
    if (f != nullptr) {
        if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) {
            pages_resident = 0;
        }
        std::fclose(f);
    }
    return pages_resident * 4;
}

int chan_memory(std::uint64_t n) {
    const long before = resident_kb();
    long full = 0;
    long drained = 0;
    weft::block_on([&]() -> Task<void> {
        auto [tx, rx] = weft::channel<std::uint64_t>();
        for (std::uint64_t i = 0; i < n; ++i) {
            (void)tx.send(i);
        }
        full = resident_kb();
        std::uint64_t got = 0;
        while (auto v = rx.try_recv()) {
            got += 1;
        }
        if (got != n) {
            check_failed("drained " + std::to_string(got));
        }
        drained = resident_kb();
        co_return;
    });
    std::printf("workload=chan_memory runtime=weft n=%llu rss_before_kb=%ld rss_full_kb=%ld rss_drained_kb=%ld\n",
                static_cast<unsigned long long>(n), before, full, drained);
    return 0;
}

// ---- tcp_echo: one runtime; an echo server on 127.0.0.1 (port 0) and 100
// client connections (TCP_NODELAY both ends); the accept loop accepts
// exactly 100 connections and spawns an echo task each (read up to 64 bytes,
// write them back, until EOF); each client writes a 64-byte message (its id
// and the round-trip index) and reads the echo, N/100 times. One op is one
// round trip. Checked: bytes both ways, every client accepted, each
// client's last echo equal to its last message.
constexpr std::uint64_t kConns = 100;
constexpr std::size_t kMsg = 64;

Task<std::uint64_t> echo_conn(weft::net::TcpStream sock) {
    std::array<char, kMsg> buf{};
    std::uint64_t echoed = 0;
    for (;;) {
        const std::size_t k = co_await sock.read_some(buf);
        if (k == 0) {
            co_return echoed;
        }
        co_await sock.write_all(std::string_view(buf.data(), k));
        echoed += k;
    }
}

Task<std::pair<std::uint64_t, std::uint64_t>> echo_server(weft::net::TcpListener listener, std::uint64_t conns) {
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    for (std::uint64_t i = 0; i < conns; ++i) {
        auto accepted = co_await listener.accept();
        accepted.first.set_nodelay(true);
        handles.push_back(weft::spawn_task(echo_conn(std::move(accepted.first))));
    }
    std::uint64_t echoed = 0;
    for (auto& h : handles) {
        echoed += co_await h;
    }
    co_return std::pair<std::uint64_t, std::uint64_t>(handles.size(), echoed);
}

Task<std::pair<std::uint64_t, bool>> echo_client(weft::net::SocketAddress addr, std::uint64_t id, std::uint64_t per) {
    auto sock = co_await weft::net::TcpStream::connect(addr);
    sock.set_nodelay(true);
    std::array<char, kMsg> msg{};
    for (std::size_t j = 0; j < kMsg; ++j) {
        msg[j] = static_cast<char>(j);
    }
    std::memcpy(msg.data(), &id, sizeof id);
    std::array<char, kMsg> buf{};
    std::uint64_t got = 0;
    for (std::uint64_t i = 0; i < per; ++i) {
        std::memcpy(msg.data() + 8, &i, sizeof i);
        co_await sock.write_all(std::string_view(msg.data(), kMsg));
        co_await sock.read_exact(buf);
        got += kMsg;
    }
    co_return std::pair<std::uint64_t, bool>(got, buf == msg);
}

std::uint64_t tcp_echo(weft::Runtime& rt, std::uint64_t n) {
    const std::uint64_t conns = std::min(kConns, n);
    const std::uint64_t per = n / conns;
    const std::uint64_t total = conns * per;
    return rt.block_on([conns, per, total]() -> Task<std::uint64_t> {
        auto listener = weft::net::TcpListener::bind("127.0.0.1:0");
        const auto addr = listener.local_address();
        auto server = weft::spawn_task(echo_server(std::move(listener), conns));
        std::vector<weft::JoinHandle<std::pair<std::uint64_t, bool>>> clients;
        for (std::uint64_t id = 0; id < conns; ++id) {
            clients.push_back(weft::spawn_task(echo_client(addr, id, per)));
        }
        std::uint64_t got = 0;
        std::uint64_t last_ok = 0;
        for (auto& c : clients) {
            auto r = co_await c;
            got += r.first;
            last_ok += r.second ? 1 : 0;
        }
        auto [accepted, echoed] = co_await server;
        const std::uint64_t want = total * kMsg;
        if (accepted != conns || got != want || echoed != want || last_ok != conns) {
            throw std::runtime_error("tcp_echo: accepted " + std::to_string(accepted) + ", read " +
                                     std::to_string(got) + " B, echoed " + std::to_string(echoed) + " B (want " +
                                     std::to_string(want) + "), last message intact on " + std::to_string(last_ok) +
                                     " clients");
        }
        co_return total;
    });
}

// ---- scaling (multi-thread issue; not a WORKLOADS.md workload): N CPU-bound
// tasks of about 10 us each (a fixed xorshift loop), spawned from the main
// task and joined; one op is one task. `weft-bench scaling [N] [workers]`:
// workers 0 is the current-thread runtime, 1 or more a pool runtime with that
// many workers.
std::uint64_t burn(std::uint64_t seed) {
    std::uint64_t x = seed | 1U;
    for (int i = 0; i < 6000; ++i) {  // about 10 us on the 2-core development machine
        x ^= x << 13U;
        x ^= x >> 7U;
        x ^= x << 17U;
    }
    return x;
}

int scaling(std::uint64_t n, std::size_t workers) {
    try {
        const auto t0 = std::chrono::steady_clock::now();
        weft::Runtime::Options o;
        o.worker_threads = workers;
        weft::Runtime rt(std::move(o));
        const std::uint64_t got = rt.block_on([n]() -> Task<std::uint64_t> {
            std::vector<weft::JoinHandle<std::uint64_t>> handles;
            handles.reserve(n);
            for (std::uint64_t i = 0; i < n; ++i) {
                handles.push_back(weft::spawn_task([i]() -> Task<std::uint64_t> { co_return burn(i); }));
            }
            std::uint64_t acc = 0;
            for (auto& h : handles) {
                acc ^= co_await h;
            }
            co_return acc;
        });
        const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        std::uint64_t want = 0;
        for (std::uint64_t i = 0; i < n; ++i) {
            want ^= burn(i);
        }
        if (got != want) {
            std::fprintf(stderr, "workload=scaling FAILED: wrong checksum\n");
            return 1;
        }
        std::printf("workload=scaling runtime=weft workers=%zu n=%llu ns_per_op=%.3f total_ms=%.3f\n", workers,
                    static_cast<unsigned long long>(n), ns / static_cast<double>(n), ns / 1e6);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "workload=scaling workers=%zu FAILED: %s\n", workers, e.what());
        return 1;
    }
}

// ---- interval_paused (issue: streams): an interval of 1 ms consumed for 10 s
// of paused (virtual) time; prints how many ticks were delivered (exactly
// 10,000 is the requirement), whether any was skipped, and the real time it
// took.
int interval_paused() {
    using namespace std::chrono_literals;
    weft::Runtime::Options o;
    o.paused_clock = true;
    const auto t0 = std::chrono::steady_clock::now();
    weft::Runtime rt(std::move(o));
    std::uint64_t ticks = 0;
    std::uint64_t skipped = 0;
    std::int64_t virtual_ms = 0;
    rt.block_on([&]() -> Task<void> {
        auto s = weft::interval(1ms);
        const auto start = s.start();
        std::uint64_t last = 0;
        while (weft::now() - start < 10s) {
            const std::uint64_t n = *co_await s.next();
            skipped += n - last - 1;
            last = n;
            ++ticks;
        }
        virtual_ms = std::chrono::duration_cast<std::chrono::milliseconds>(weft::now() - start).count();
    });
    const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "workload=interval_paused runtime=weft flavor=st n=%llu ns_per_op=%.3f total_ms=%.3f ticks=%llu "
        "skipped=%llu virtual_ms=%lld\n",
        static_cast<unsigned long long>(ticks), ns / static_cast<double>(ticks), ns / 1e6,
        static_cast<unsigned long long>(ticks), static_cast<unsigned long long>(skipped),
        static_cast<long long>(virtual_ms));
    return ticks == 10000 && skipped == 0 && virtual_ms == 10000 ? 0 : 1;
}

// ---- stream_iter (issue: streams; not a WORKLOADS.md workload): N integers
// through stream_from_iter + map + filter, summed, against a plain for loop
// doing the same work (the book's listings 17-21/17-22: double each value,
// keep multiples of 3 or 5). Each side runs 5 times, interleaved; the best of
// each is reported (same treatment for both).
std::uint64_t map_of(std::uint64_t v) {
    return v * 2;
}
bool keep(std::uint64_t v) {
    return v % 3 == 0 || v % 5 == 0;
}

std::uint64_t sum_loop(std::uint64_t n) {
    std::uint64_t sum = 0;
    for (std::uint64_t v : std::views::iota(std::uint64_t{0}, n)) {
        const std::uint64_t m = map_of(v);
        if (keep(m)) {
            sum += m;
        }
    }
    return sum;
}

Task<std::uint64_t> sum_stream(std::uint64_t n) {
    auto s = weft::stream_from_iter(std::views::iota(std::uint64_t{0}, n))
                 .map([](std::uint64_t v) { return map_of(v); })
                 .filter([](const std::uint64_t& v) { return keep(v); });
    std::uint64_t sum = 0;
    while (auto v = co_await s.next()) {
        sum += *v;
    }
    co_return sum;
}

int stream_iter(std::uint64_t n) {
    using clock = std::chrono::steady_clock;
    double best_loop = 1e300;
    double best_stream = 1e300;
    std::uint64_t want = 0;
    for (int rep = 0; rep < 5; ++rep) {
        volatile std::uint64_t vn = n;  // opaque to the optimiser, for both sides
        auto t0 = clock::now();
        const std::uint64_t a = sum_loop(vn);
        auto t1 = clock::now();
        weft::Runtime rt;
        const std::uint64_t b = rt.block_on(sum_stream(vn));
        auto t2 = clock::now();
        if (a != b || (rep > 0 && a != want)) {
            std::fprintf(stderr, "workload=stream_iter FAILED: loop sum %llu, stream sum %llu\n",
                         static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
            return 1;
        }
        want = a;
        best_loop = std::min(best_loop, std::chrono::duration<double, std::nano>(t1 - t0).count());
        best_stream = std::min(best_stream, std::chrono::duration<double, std::nano>(t2 - t1).count());
    }
    const double per = best_stream / static_cast<double>(n);
    const double loop_per = best_loop / static_cast<double>(n);
    std::printf(
        "workload=stream_iter runtime=weft flavor=st n=%llu ns_per_op=%.3f total_ms=%.3f loop_ns_per_op=%.3f "
        "ratio_to_loop=%.2f\n",
        static_cast<unsigned long long>(n), per, best_stream / 1e6, loop_per, per / loop_per);
    return 0;
}

}  // namespace weft_bench
