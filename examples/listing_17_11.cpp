// The book's listing 17-11: sending and receiving in two futures run with
// join, so the values now arrive half a second apart.
//
// As the book explains, it still never ends: `tx` belongs to main's block,
// not to the sending future, so finishing that future does not drop it; the
// channel stays open and the receiving loop waits forever. This example
// bounds the wait with a timeout so that it ends (not in the book's listing);
// listing 17-12 fixes it properly by moving `tx` into the future.
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

        auto tx_fut = [&tx]() -> weft::Task<void> {
            std::vector<std::string> vals = {"hi", "from", "the", "future"};
            for (auto& val : vals) {
                (void)tx.send(val);
                co_await weft::sleep(500ms);
            }
        };

        auto rx_fut = [&rx]() -> weft::Task<void> {
            while (auto value = co_await rx.recv()) {
                std::cout << "received '" << *value << "'\n";
            }
        };

        if (!co_await weft::timeout(5s, weft::join(tx_fut(), rx_fut()))) {
            std::cout << "(still waiting: tx is alive, so the channel never closes)\n";
        }
    });
}
