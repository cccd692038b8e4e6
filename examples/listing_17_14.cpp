// The book's listing 17-14: slow, blocking work inside two futures raced
// against each other. Neither future gives control back while it runs its
// slow steps, so `a` runs all of its steps, then `b` all of its, and only
// then can the runtime notice that `a`'s timer is done: `a` wins the race and
// `b` is cancelled before it can print "finished".
#include <chrono>
#include <iostream>
#include <weft/weft.hpp>

#include "example_options.hpp"
#include "slow.hpp"

using namespace std::chrono_literals;
using example::slow;

int main(int argc, char** argv) {
    example::skip_blocking = example::paused_requested(argc, argv);
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto a = []() -> weft::Task<void> {
            std::cout << "'a' started.\n";
            slow("a", 30);
            slow("a", 10);
            slow("a", 20);
            co_await weft::sleep(50ms);
            std::cout << "'a' finished.\n";
        };

        auto b = []() -> weft::Task<void> {
            std::cout << "'b' started.\n";
            slow("b", 75);
            slow("b", 10);
            slow("b", 15);
            slow("b", 350);
            co_await weft::sleep(50ms);
            std::cout << "'b' finished.\n";
        };

        co_await weft::race(a(), b());
    });
}
