// The book's listing 17-13: two producers (tx cloned) and one consumer,
// joined with join3. The first producer sends every 500 ms, the second every
// 1500 ms. At 1.5 s both are due; equal deadlines fire in the order the
// timers were armed, and the second producer armed its timer first (at 0 s),
// so weft prints exactly: hi, more, from, the, messages, future, for, you.
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

        auto tx1 = tx;
        auto tx1_fut = weft::async_move([tx1 = std::move(tx1)]() mutable -> weft::Task<void> {
            std::vector<std::string> vals = {"hi", "from", "the", "future"};
            for (auto& val : vals) {
                (void)tx1.send(val);
                co_await weft::sleep(500ms);
            }
        });

        auto rx_fut = [&rx]() -> weft::Task<void> {
            while (auto value = co_await rx.recv()) {
                std::cout << "received '" << *value << "'\n";
            }
        };

        auto tx_fut = weft::async_move([tx = std::move(tx)]() mutable -> weft::Task<void> {
            std::vector<std::string> vals = {"more", "messages", "for", "you"};
            for (auto& val : vals) {
                (void)tx.send(val);
                co_await weft::sleep(1500ms);
            }
        });

        co_await weft::join3(std::move(tx1_fut), std::move(tx_fut), rx_fut());
    });
}
