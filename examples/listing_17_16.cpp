// The book's listing 17-16: the same hand-offs with yield_now() instead of a
// 1 ms sleep. The order of the lines is the same as with sleep, but no timer
// is involved: each yield lets the other future run one step right away.
#include <iostream>
#include <weft/weft.hpp>

#include "example_options.hpp"
#include "slow.hpp"

using example::slow;

int main(int argc, char** argv) {
    example::skip_blocking = example::paused_requested(argc, argv);
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto a = []() -> weft::Task<void> {
            std::cout << "'a' started.\n";
            slow("a", 30);
            co_await weft::yield_now();
            slow("a", 10);
            co_await weft::yield_now();
            slow("a", 20);
            co_await weft::yield_now();
            std::cout << "'a' finished.\n";
        };

        auto b = []() -> weft::Task<void> {
            std::cout << "'b' started.\n";
            slow("b", 75);
            co_await weft::yield_now();
            slow("b", 10);
            co_await weft::yield_now();
            slow("b", 15);
            co_await weft::yield_now();
            slow("b", 350);
            co_await weft::yield_now();
            std::cout << "'b' finished.\n";
        };

        co_await weft::race(a(), b());
    });
}
