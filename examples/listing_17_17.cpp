// The book's listing 17-17: how much a 1 ns sleep costs compared with
// yield_now. A sleep always waits for the next timer tick (1 ms, as in
// Tokio), so 999 sleeps take about a second; 999 yields take almost nothing.
// Times are read from the runtime's clock, so under --paused-clock this
// prints the virtual times: 0.999 s and 0 s.
#include <chrono>
#include <iostream>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto seconds_since = [](std::chrono::steady_clock::time_point start) {
            return std::chrono::duration<float>(weft::now() - start).count();
        };

        auto start = weft::now();
        co_await []() -> weft::Task<void> {
            for (int i = 1; i < 1000; ++i) {
                co_await weft::sleep(1ns);
            }
        }();
        std::cout << "'sleep' version finished after " << seconds_since(start) << " seconds.\n";

        start = weft::now();
        co_await []() -> weft::Task<void> {
            for (int i = 1; i < 1000; ++i) {
                co_await weft::yield_now();
            }
        }();
        std::cout << "'yield' version finished after " << seconds_since(start) << " seconds.\n";
    });
}
