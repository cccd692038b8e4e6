// The book's listing 17-20: `timeout` written with select and sleep. select
// is biased to its left operand, so a future that is ready at once wins even
// against a zero timeout; otherwise whichever finishes first wins and the
// other is cancelled.
#include <chrono>
#include <iostream>
#include <string>
#include <variant>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

template <class T>
weft::Task<weft::Either<T, std::chrono::milliseconds>> timeout(weft::Task<T> future_to_try,
                                                               std::chrono::milliseconds max_time) {
    auto winner = co_await weft::select(std::move(future_to_try), weft::sleep(max_time));
    if (winner.index() == 0) {
        co_return std::move(std::get<0>(winner));  // Left: the output
    }
    co_return max_time;  // Right: the time ran out
}

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto slow = []() -> weft::Task<std::string> {
            co_await weft::sleep(5s);
            co_return "Finally finished";
        };

        auto result = co_await timeout(slow(), 2s);
        if (result.index() == 0) {
            std::cout << "Succeeded with '" << std::get<0>(result) << "'\n";
        } else {
            std::cout << "Failed after "
                      << std::chrono::duration_cast<std::chrono::seconds>(std::get<1>(result)).count() << " seconds\n";
        }
    });
}
