// The book's listing 17-21: a stream from an iterator, consumed with next().
// The book's listing fails to compile until StreamExt is imported (17-22);
// in weft every stream has next() and its adaptors as members, so this is
// the version that runs.
#include <array>
#include <iostream>
#include <ranges>
#include <weft/weft.hpp>

#include "example_options.hpp"

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        const std::array<int, 10> values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        auto iter = values | std::views::transform([](int n) { return n * 2; });
        auto stream = weft::stream_from_iter(iter);

        while (auto value = co_await stream.next()) {
            std::cout << "The value was: " << *value << '\n';
        }
    });
}
