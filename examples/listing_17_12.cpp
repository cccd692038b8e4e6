// The book's listing 17-12: `async move` moves `tx` into the sending future,
// so the channel closes when that future ends and the program finishes.
// weft::async_move is the `async move` block: it owns the lambda and its
// captures until the task completes.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto [tx, rx] = weft::channel<std::string>();

        auto tx_fut = weft::async_move([tx = std::move(tx)]() mutable -> weft::Task<void> {
            std::vector<std::string> vals = {"hi", "from", "the", "future"};
            for (auto& val : vals) {
                (void)tx.send(val);
                co_await weft::sleep(500ms);
            }
        });

        auto rx_fut = [&rx]() -> weft::Task<void> {
            while (auto value = co_await rx.recv()) {
                std::cout << "received '" << *value << "'\n";
            }
        };

        co_await weft::join(std::move(tx_fut), rx_fut());
    });
}
