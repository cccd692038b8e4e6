// Blocking work off the runtime's thread: read_to_string runs the read on
// the blocking pool, spawn_blocking runs any blocking call there, while the
// runtime's own tasks keep running. Reads the file named on the command line
// (this example's own source by default) and counts its lines on the pool.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <weft/weft.hpp>

#include "example_options.hpp"

int main(int argc, char** argv) {
    std::filesystem::path path = WEFT_EXAMPLE_SOURCE;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) != "--paused-clock") {
            path = argv[i];
        }
    }
    weft::Runtime rt(example::options(argc, argv));
    return rt.block_on([path]() -> weft::Task<int> {
        try {
            std::string text = co_await weft::read_to_string(path);
            auto count = weft::spawn_blocking([&text] { return std::count(text.begin(), text.end(), '\n'); });
            const auto lines = co_await count;
            std::cout << "read " << text.size() << " bytes, " << lines << " lines\n";
            std::cout << "first line: " << text.substr(0, text.find('\n')) << '\n';
            co_return 0;
        } catch (const std::filesystem::filesystem_error& e) {
            std::cout << "error: " << e.what() << '\n';
            co_return 1;
        }
    });
}
