// The book's listing 17-8: join two anonymous futures. join starts them in
// argument order and is fair, so the lines strictly alternate (first task
// first) until the second future is done; then the first prints 5 to 9.
#include <chrono>
#include <iostream>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto fut1 = []() -> weft::Task<void> {
            for (int i = 1; i < 10; ++i) {
                std::cout << "hi number " << i << " from the first task!\n";
                co_await weft::sleep(500ms);
            }
        };

        auto fut2 = []() -> weft::Task<void> {
            for (int i = 1; i < 5; ++i) {
                std::cout << "hi number " << i << " from the second task!\n";
                co_await weft::sleep(500ms);
            }
        };

        co_await weft::join(fut1(), fut2());
    });
}
