// Task<T>: laziness, results, exceptions, misuse, symmetric transfer.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "support/probe.hpp"

using weft::Task;
using namespace weft_test;

namespace {

Task<int> answer(bool& ran) {
    ran = true;
    co_return 42;
}

Task<void> fail(const char* what) {
    throw std::runtime_error(what);
    co_return;
}

Task<int> keep(Probe p, int v) {
    (void)p;
    co_return v;
}

[[gnu::noinline]] std::uintptr_t frame_address() {
    return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

Task<std::uint64_t> nest(std::uint64_t depth, std::uintptr_t& deepest) {
    if (depth == 0) {
        deepest = frame_address();
        co_return 0;
    }
    co_return 1 + co_await nest(depth - 1, deepest);
}

}  // namespace

TEST(Task, is_lazy_until_awaited) {
    bool ran = false;
    int got = run_paused([&]() -> Task<int> {
        Task<int> t = answer(ran);
        EXPECT_FALSE(ran);
        co_return co_await t;
    });
    EXPECT_TRUE(ran);
    EXPECT_EQ(got, 42);
}

TEST(Task, never_run_task_is_freed_with_its_locals) {
    LifeCount c;
    {
        Task<int> t = keep(Probe(c), 1);
        EXPECT_EQ(c.alive, 1);
    }
    EXPECT_EQ(c.alive, 0);
}

TEST(Task, rvalue_and_lvalue_awaits_yield_the_value) {
    int got = run_paused([]() -> Task<int> {
        LifeCount c;
        Task<int> lv = keep(Probe(c), 2);
        int a = co_await lv;
        int b = co_await keep(Probe(c), 3);
        EXPECT_EQ(c.alive, 0);
        co_return a + b;
    });
    EXPECT_EQ(got, 5);
}

TEST(Task, exception_is_rethrown_at_the_await) {
    std::string msg = run_paused([]() -> Task<std::string> {
        try {
            co_await fail("boom");
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    });
    EXPECT_EQ(msg, "boom");
}

TEST(Task, block_on_rethrows_the_main_tasks_exception) {
    EXPECT_THROW(weft_test::run(fail("main failed")), std::runtime_error);
}

TEST(Task, awaiting_a_task_twice_throws_logic_error) {
    std::string msg = run_paused([]() -> Task<std::string> {
        bool ran = false;
        Task<int> t = answer(ran);
        co_await t;
        try {
            co_await t;
        } catch (const std::logic_error& e) {
            co_return e.what();
        }
        co_return "";
    });
    EXPECT_NE(msg.find("co_await Task"), std::string::npos) << msg;
    EXPECT_NE(msg.find("runs once"), std::string::npos) << msg;
}

TEST(Task, awaiting_a_moved_from_task_throws_logic_error) {
    bool threw = run_paused([]() -> Task<bool> {
        bool ran = false;
        Task<int> t = answer(ran);
        Task<int> other = std::move(t);
        try {
            co_await t;  // NOLINT(bugprone-use-after-move): the misuse under test
        } catch (const std::logic_error&) {
            co_return !ran;
        }
        co_return false;
    });
    EXPECT_TRUE(threw);
}

TEST(Task, block_on_of_an_empty_task_throws_logic_error) {
    Task<int> empty;
    EXPECT_THROW(weft_test::run(std::move(empty)), std::logic_error);
}

TEST(Task, a_million_nested_awaits_do_not_grow_the_stack) {
    constexpr std::uint64_t kDepth = 1'000'000;
    std::uintptr_t deepest = 0;
    std::uintptr_t top = 0;  // measured on the thread that runs the task (a worker on a pool)
    std::uint64_t got = run_paused([&]() -> Task<std::uint64_t> {
        top = frame_address();
        co_return co_await nest(kDepth, deepest);
    });
    EXPECT_EQ(got, kDepth);
    const std::uintptr_t used = top > deepest ? top - deepest : deepest - top;
    // Without symmetric transfer this would be ~100 MB of stack (and crash).
    EXPECT_LT(used, std::uintptr_t{256 * 1024});
}
