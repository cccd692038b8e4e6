// Shared by the examples: `--paused-clock` runs a listing on virtual time, so
// it prints the same lines without waiting (the tests use it).
#pragma once

#include <string_view>
#include <weft/weft.hpp>

namespace example {

inline bool paused_requested(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--paused-clock") {
            return true;
        }
    }
    return false;
}

inline weft::Runtime::Options options(int argc, char** argv) {
    weft::Runtime::Options o;
    o.paused_clock = paused_requested(argc, argv);
    return o;
}

}  // namespace example
