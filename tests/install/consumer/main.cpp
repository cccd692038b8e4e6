#include <chrono>
#include <cstdio>
#include <weft/weft.hpp>

int main() {
    using namespace std::chrono_literals;
    int v = weft::block_on([]() -> weft::Task<int> {
        auto h = weft::spawn_task([]() -> weft::Task<int> {
            co_await weft::sleep(1ms);
            co_return 41;
        });
        co_return co_await h + 1;
    });
    std::printf("consumer got %d\n", v);
    return v == 42 ? 0 : 1;
}
