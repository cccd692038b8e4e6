// The book's listing 17-25: a plain OS thread does blocking work and sends
// its results into an async channel; the runtime receives them. A weft Sender
// is thread-safe: moved into the std::thread, it sends from there, and the
// channel closes when the thread ends and drops it.
//
// Under --paused-clock (the tests) the thread does not sleep between values.
#include <chrono>
#include <iostream>
#include <thread>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    const bool fast = example::paused_requested(argc, argv);
    auto [tx, rx] = weft::channel<int>();

    std::thread worker([tx = std::move(tx), fast]() mutable {
        for (int i = 1; i < 11; ++i) {
            (void)tx.send(i);
            if (!fast) {
                std::this_thread::sleep_for(1s);
            }
        }
    });

    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([&rx = rx]() -> weft::Task<void> {
        while (auto message = co_await rx.recv()) {
            std::cout << *message << "\n";
        }
    });
    worker.join();
}
