// The book's listing 17-9: create an async channel, send one value, receive it.
#include <iostream>
#include <string>
#include <weft/weft.hpp>

#include "example_options.hpp"

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto [tx, rx] = weft::channel<std::string>();

        std::string val = "hi";
        (void)tx.send(std::move(val));

        auto received = co_await rx.recv();
        std::cout << "Got: " << *received << "\n";
    });
}
