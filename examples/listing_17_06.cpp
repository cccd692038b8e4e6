// The book's listing 17-6: spawn a task that prints while the main task
// prints something else. The spawned task is stopped when the main task ends.
//
// weft's current-thread runtime is deterministic: the main task prints first
// (a spawned task starts on the next turn), then the two alternate; timers
// with equal deadlines fire in the order they were started, and the main
// task's 500 ms timer is always started first. When the main task's loop
// ends at 2 s, block_on returns and the spawned task is destroyed before its
// fifth line, so this prints exactly:
//   second 1, first 1, second 2, first 2, second 3, first 3, second 4, first 4.
#include <chrono>
#include <iostream>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto first = weft::spawn_task([]() -> weft::Task<void> {
            for (int i = 1; i < 10; ++i) {
                std::cout << "hi number " << i << " from the first task!\n";
                co_await weft::sleep(500ms);
            }
        });

        for (int i = 1; i < 5; ++i) {
            std::cout << "hi number " << i << " from the second task!\n";
            co_await weft::sleep(500ms);
        }
    });
}
