// The book's listing 17-22 (with the filter of its follow-up): a stream from
// an iterator, mapped by the iterator and filtered as a stream. `filter` is a
// member adaptor and consumes the stream; nothing runs until next() polls.
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

        auto filtered = std::move(stream).filter([](const int& value) { return value % 3 == 0 || value % 5 == 0; });

        while (auto value = co_await filtered.next()) {
            std::cout << "The value was: " << *value << '\n';
        }
    });
}
