// The book's listing 17-10: send several values, sleeping between them, then
// receive them.
//
// As the book explains, this program has two problems. The values do not
// arrive half a second apart: everything in one async block runs in order, so
// all four are sent (two seconds) before the first recv. And it never ends:
// `tx` lives as long as the block, so the channel never closes and the
// `while` loop waits for a fifth value forever. To let this example end, the
// loop is bounded by a timeout (not in the book's listing).
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

        std::vector<std::string> vals = {"hi", "from", "the", "future"};
        for (auto& val : vals) {
            (void)tx.send(val);
            co_await weft::sleep(500ms);
        }

        auto receive_all = [&rx]() -> weft::Task<void> {
            while (auto value = co_await rx.recv()) {
                std::cout << "received '" << *value << "'\n";
            }
        };
        if (!co_await weft::timeout(1s, receive_all())) {
            std::cout << "(still waiting: tx is alive, so the channel never closes)\n";
        }
    });
}
