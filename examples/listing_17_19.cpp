// The book's listing 17-19: our own `timeout`, declared first. Like the
// book's `Result<T, Duration>`, it yields either the future's output (Left)
// or the time that ran out (Right). Its body is listing 17-20's; here it is
// defined after main, the way the listing introduces the signature first.
#include <chrono>
#include <iostream>
#include <string>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

template <class T>
weft::Task<weft::Either<T, std::chrono::milliseconds>> timeout(weft::Task<T> future_to_try,
                                                               std::chrono::milliseconds max_time);

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

template <class T>
weft::Task<weft::Either<T, std::chrono::milliseconds>> timeout(weft::Task<T> future_to_try,
                                                               std::chrono::milliseconds max_time) {
    auto winner = co_await weft::select(std::move(future_to_try), weft::sleep(max_time));
    if (winner.index() == 0) {
        co_return std::move(std::get<0>(winner));
    }
    co_return max_time;
}
