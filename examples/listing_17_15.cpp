// The book's listing 17-15: giving control back between the slow steps with
// a 1 ms sleep lets the two futures take turns: a, b, a, b, ... until `a`
// finishes first and wins the race.
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
            co_await weft::sleep(1ms);
            slow("a", 10);
            co_await weft::sleep(1ms);
            slow("a", 20);
            co_await weft::sleep(1ms);
            std::cout << "'a' finished.\n";
        };

        auto b = []() -> weft::Task<void> {
            std::cout << "'b' started.\n";
            slow("b", 75);
            co_await weft::sleep(1ms);
            slow("b", 10);
            co_await weft::sleep(1ms);
            slow("b", 15);
            co_await weft::sleep(1ms);
            slow("b", 350);
            co_await weft::sleep(1ms);
            std::cout << "'b' finished.\n";
        };

        co_await weft::race(a(), b());
    });
}
