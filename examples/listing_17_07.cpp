// The book's listing 17-7: awaiting the JoinHandle runs the spawned task to
// completion. Order (deterministic on weft's current-thread runtime): the
// main task's line first, then the spawned task's, alternating until the
// main loop ends after its fourth line; then the first task prints 5 to 9.
#include <chrono>
#include <iostream>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto handle = weft::spawn_task([]() -> weft::Task<void> {
            for (int i = 1; i < 10; ++i) {
                std::cout << "hi number " << i << " from the first task!\n";
                co_await weft::sleep(500ms);
            }
        });

        for (int i = 1; i < 5; ++i) {
            std::cout << "hi number " << i << " from the second task!\n";
            co_await weft::sleep(500ms);
        }

        co_await handle;
    });
}
