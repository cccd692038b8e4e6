// spawn_blocking and read_to_string.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/probe.hpp"

using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

// A gate the test opens to let blocked jobs finish.
struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;

    void wait() {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return open; });
    }
    void release() {
        {
            std::lock_guard<std::mutex> lock(mu);
            open = true;
        }
        cv.notify_all();
    }
};

// A fresh directory under the system's temporary directory, removed after.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("weft-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    static int& counter() {
        static int n = 0;
        return n;
    }
};

// The filesystem_error that awaiting read_to_string(path) throws.
std::filesystem::filesystem_error read_error(const std::filesystem::path& path) {
    return weft_test::run([path]() -> Task<std::filesystem::filesystem_error> {
        try {
            (void)co_await weft::read_to_string(path);
        } catch (const std::filesystem::filesystem_error& e) {
            co_return e;
        }
        throw std::runtime_error("read_to_string did not throw for " + path.string());
    });
}

}  // namespace

TEST(SpawnBlocking, runs_on_another_thread_and_returns_its_value) {
    const auto main_id = std::this_thread::get_id();
    auto [value, ran_elsewhere] = weft_test::run([main_id]() -> Task<std::pair<int, bool>> {
        auto h = weft::spawn_blocking([main_id] {
            std::this_thread::sleep_for(5ms);  // really blocks: only this pool thread waits
            return std::make_pair(42, std::this_thread::get_id() != main_id);
        });
        co_return co_await h;
    });
    EXPECT_EQ(value, 42);
    EXPECT_TRUE(ran_elsewhere);
}

TEST(SpawnBlocking, the_runtime_keeps_running_tasks_while_a_job_blocks) {
    weft_test::run([]() -> Task<> {
        Gate gate;
        auto job = weft::spawn_blocking([&gate] {
            gate.wait();
            return 1;
        });
        int turns = 0;
        for (; turns < 100; ++turns) {
            co_await weft::yield_now();  // the runtime thread is free
        }
        gate.release();
        EXPECT_EQ(co_await job, 1);
        EXPECT_EQ(turns, 100);
    });
}

TEST(SpawnBlocking, void_jobs_and_exceptions_reach_the_join_handle) {
    weft_test::run([]() -> Task<> {
        std::atomic<int> ran{0};
        auto job = weft::spawn_blocking([&ran] { ran = 1; });  // named: see the g++ 12 note in README
        co_await job;
        EXPECT_EQ(ran.load(), 1);
        auto failing = weft::spawn_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
        bool threw = false;
        try {
            (void)co_await failing;
        } catch (const std::runtime_error& e) {
            threw = std::string(e.what()) == "disk on fire";
        }
        EXPECT_TRUE(threw);
    });
}

TEST(SpawnBlocking, the_pool_is_bounded_and_queues_the_rest) {
    weft::Runtime::Options o;
    o.max_blocking_threads = 2;
    weft::Runtime rt(o);
    std::atomic<int> running{0};
    std::atomic<int> peak{0};
    rt.block_on([&]() -> Task<> {
        std::vector<weft::JoinHandle<int>> jobs;
        for (int i = 0; i < 8; ++i) {
            jobs.push_back(weft::spawn_blocking([&running, &peak, i] {
                const int now = ++running;
                int seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                }
                std::this_thread::sleep_for(2ms);
                --running;
                return i;
            }));
        }
        int sum = 0;
        for (auto& j : jobs) {
            sum += co_await j;
        }
        EXPECT_EQ(sum, 28);
    });
    EXPECT_EQ(peak.load(), 2);
}

TEST(SpawnBlocking, abort_discards_a_job_that_has_not_started) {
    weft::Runtime::Options o;
    o.max_blocking_threads = 1;
    weft::Runtime rt(o);
    std::atomic<bool> second_ran{false};
    rt.block_on([&]() -> Task<> {
        Gate gate;
        auto first = weft::spawn_blocking([&gate] { gate.wait(); });
        auto second = weft::spawn_blocking([&second_ran] { second_ran = true; });  // queued behind first
        second.abort();
        co_await weft::yield_now();  // the abort takes effect on the runtime's thread
        gate.release();
        co_await first;
        auto third = weft::spawn_blocking([] { return 3; });  // runs after second was skipped
        EXPECT_EQ(co_await third, 3);
    });
    EXPECT_FALSE(second_ran.load());
}

TEST(SpawnBlocking, the_runtime_waits_for_running_jobs_when_it_is_destroyed) {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    {
        weft::Runtime rt(options());
        rt.block_on([&]() -> Task<> {
            auto detached = weft::spawn_blocking([&] {
                started = true;
                std::this_thread::sleep_for(20ms);
                finished = true;
            });
            while (!started.load()) {
                co_await weft::yield_now();
            }
            co_return;  // returns without awaiting the running job
        });
        EXPECT_FALSE(finished.load());
    }
    EXPECT_TRUE(finished.load());
}

TEST(SpawnBlocking, paused_clock_waits_for_jobs_instead_of_jumping) {
    auto won = run_paused([]() -> Task<int> {
        auto job = weft::spawn_blocking([] {
            std::this_thread::sleep_for(10ms);  // real time; the virtual clock must not run ahead
            return 7;
        });
        auto r = co_await weft::timeout(1s, std::move(job));
        co_return r ? *r : -1;
    });
    EXPECT_EQ(won, 7);
}

TEST(SpawnBlocking, misuse_is_reported) {
    EXPECT_FALSE(logic_error_of([] { (void)weft::spawn_blocking([] { return 1; }); }).empty());
    weft::Runtime::Options o;
    o.max_blocking_threads = 0;
    EXPECT_THROW(weft::Runtime{o}, std::invalid_argument);
}

TEST(ReadToString, reads_a_whole_file) {
    TempDir dir;
    const auto file = dir.path / "hello.txt";
    std::string big(200000, 'x');
    big += "\nend";
    std::ofstream(file) << big;
    auto text = weft_test::run([file]() -> Task<std::string> { co_return co_await weft::read_to_string(file); });
    EXPECT_EQ(text, big);
}

TEST(ReadToString, missing_file_names_the_path_and_the_reason) {
    TempDir dir;
    const auto missing = dir.path / "nope.txt";
    auto e = read_error(missing);
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(e.path1(), missing);
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos);
}

TEST(ReadToString, directory_is_refused_with_eisdir) {
    TempDir dir;
    auto e = read_error(dir.path);
    EXPECT_EQ(e.code().value(), EISDIR);
    EXPECT_NE(std::string(e.what()).find(dir.path.string()), std::string::npos);
}

TEST(ReadToString, file_without_read_permission_is_refused_with_eacces) {
    TempDir dir;
    const auto file = dir.path / "secret.txt";
    std::ofstream(file) << "secret";
    ASSERT_EQ(::chmod(file.c_str(), 0), 0);
    // Root reads anything: run the read with an unprivileged effective uid
    // (glibc applies seteuid to every thread, the pool's included).
    const bool root = ::geteuid() == 0;
    if (root) {
        ASSERT_EQ(::seteuid(65534), 0);
    }
    auto e = read_error(file);
    if (root) {
        ASSERT_EQ(::seteuid(0), 0);
    }
    EXPECT_EQ(e.code().value(), EACCES);
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("Permission denied"), std::string::npos);
}

namespace {
Task<void> hold(Probe) {
    co_await weft::sleep(std::chrono::hours(1));
}
}  // namespace

// A blocking job may spawn onto its runtime (from outside its threads: the
// runtime's inbox, or a pool's inject queue); the handle comes back with the
// job's result.
TEST(Blocking, a_job_spawns_a_task_onto_its_runtime) {
    auto got = run_paused([]() -> Task<int> {
        auto handle = co_await weft::spawn_blocking([] {
            return weft::spawn_task([]() -> Task<int> {
                co_await weft::sleep(10ms);
                co_return 42;
            });
        });
        co_return co_await handle;
    });
    EXPECT_EQ(got, 42);
}

TEST(Blocking, a_task_spawned_by_a_job_can_be_aborted_and_dies_with_the_runtime) {
    LifeCount c;
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<void> {
        auto forever = co_await weft::spawn_blocking([&c] { return weft::spawn_task(hold(Probe(c))); });
        auto aborted = co_await weft::spawn_blocking([&c] { return weft::spawn_task(hold(Probe(c))); });
        aborted.abort();
        EXPECT_THROW(co_await aborted, weft::Cancelled);
        EXPECT_FALSE(forever.is_finished());
        (void)co_await weft::spawn_blocking([&c] {
            (void)weft::spawn_task(hold(Probe(c)));  // detached, maybe never started
        });
    });
    EXPECT_EQ(c.alive.load(), 0);  // every one destroyed by the shutdown
    EXPECT_EQ(rt.armed_timers(), 0U);
}

TEST(Blocking, spawn_task_on_a_plain_thread_still_throws) {
    std::string msg;
    std::thread t([&] { msg = logic_error_of([] { (void)weft::spawn_task([]() -> Task<void> { co_return; }); }); });
    t.join();
    EXPECT_NE(msg.find("weft::spawn_task"), std::string::npos) << msg;
}
