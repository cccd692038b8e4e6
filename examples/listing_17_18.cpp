// The book's listing 17-18: using a timeout. The slow future needs 5 s, the
// timeout allows 2 s, so the timeout wins and the slow future is cancelled.
// weft ships `weft::timeout` (it yields std::optional); listings 17-19 and
// 17-20 build the same thing by hand from select and sleep.
#include <chrono>
#include <iostream>
#include <string>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto slow = []() -> weft::Task<std::string> {
            co_await weft::sleep(5s);
            co_return "Finally finished";
        };

        constexpr auto max_time = 2s;
        if (auto message = co_await weft::timeout(max_time, slow())) {
            std::cout << "Succeeded with '" << *message << "'\n";
        } else {
            std::cout << "Failed after " << std::chrono::duration_cast<std::chrono::seconds>(max_time).count()
                      << " seconds\n";
        }
    });
}
