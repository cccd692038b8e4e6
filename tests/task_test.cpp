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

// A task reports the exception when one follows its co_return (a local's
// destructor), and whatever it returned is destroyed exactly once.
namespace {

// Throws from its destructor when armed: runs after co_return stored the value.
struct ThrowOnExit {
    bool armed = true;
    ThrowOnExit() = default;
    ThrowOnExit(const ThrowOnExit&) = delete;
    ThrowOnExit& operator=(const ThrowOnExit&) = delete;
    ~ThrowOnExit() noexcept(false) {
        if (armed) {
            throw std::runtime_error("thrown after co_return");
        }
    }
};

// Counts itself like Probe, and its copy constructor throws when asked to.
struct Counted {
    LifeCount* c;
    std::uint64_t pad[3] = {};  // larger than the exception_ptr: value and error side by side
    bool throw_on_copy = false;
    explicit Counted(LifeCount& lc, bool t = false) : c(&lc), throw_on_copy(t) { ++c->alive; }
    Counted(const Counted& o) : c(o.c) {
        if (o.throw_on_copy) {
            throw std::runtime_error("copy failed");
        }
        ++c->alive;
    }
    Counted(Counted&& o) noexcept : c(o.c) { ++c->alive; }
    Counted& operator=(const Counted&) = delete;
    ~Counted() {
        --c->alive;
        ++c->destroyed;
    }
};

Task<std::uint64_t> value_then_throwing_local() {
    ThrowOnExit guard;
    co_return 7;  // the value is stored, then ~ThrowOnExit throws
}

Task<Counted> counted_then_throwing_local(LifeCount& lc) {
    ThrowOnExit guard;
    co_return Counted(lc);
}

Task<Counted> copy_that_throws(const Counted& c) {
    co_return c;  // copies: the copy constructor throws
}

Task<std::string> long_string() {
    co_return std::string(100, 'x');
}

}  // namespace

TEST(Task, an_exception_after_co_return_replaces_the_small_value) {
    const bool threw = run([]() -> Task<bool> {
        try {
            (void)co_await value_then_throwing_local();
        } catch (const std::runtime_error& e) {
            co_return std::string(e.what()) == "thrown after co_return";
        }
        co_return false;
    });
    EXPECT_TRUE(threw);
}

TEST(Task, an_exception_after_co_return_destroys_the_value_it_replaces) {
    LifeCount lc;
    const bool threw = run([&]() -> Task<bool> {
        try {
            (void)co_await counted_then_throwing_local(lc);
        } catch (const std::runtime_error&) {
            co_return true;
        }
        co_return false;
    });
    EXPECT_TRUE(threw);
    EXPECT_EQ(lc.alive, 0);
}

TEST(Task, a_value_whose_copy_throws_delivers_the_exception_and_leaks_nothing) {
    LifeCount lc;
    const bool threw = run([&]() -> Task<bool> {
        const Counted original(lc, true);
        try {
            (void)co_await copy_that_throws(original);
        } catch (const std::runtime_error& e) {
            co_return std::string(e.what()) == "copy failed";
        }
        co_return false;
    });
    EXPECT_TRUE(threw);
    EXPECT_EQ(lc.alive, 0);
}

TEST(Task, spawned_results_untaken_or_taken_are_destroyed_exactly_once) {
    LifeCount lc;
    std::size_t length = 0;
    run([&]() -> Task<void> {
        auto taken = weft::spawn_task([&]() -> Task<Counted> { co_return Counted(lc); });
        auto untaken = weft::spawn_task([&]() -> Task<Counted> { co_return Counted(lc); });
        auto text = weft::spawn_task(long_string());
        {
            const Counted c = co_await taken;
            (void)c;
        }
        length = (co_await text).size();
        co_await until([&] { return untaken.is_finished(); });  // its handle now holds the value
    });
    EXPECT_EQ(length, 100U);
    EXPECT_EQ(lc.alive, 0);
    EXPECT_GE(lc.destroyed, 2);
}
