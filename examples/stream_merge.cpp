// Merging streams, as the book's chapter 17 does at the end of its streams
// section: messages sent with varying delays (every other one too late for a
// 200 ms timeout) merged with a throttled interval, the first 20 items
// printed.
//
// - get_messages() spawns a task that sends "Message: 'a'" .. 'j', sleeping
//   100 ms before the even-indexed ones and 300 ms before the odd-indexed
//   ones, and returns the receiver as a stream.
// - get_intervals() is weft::interval(1 ms): tick n due at n ms. Throttled to
//   one item per 100 ms, it skips the ticks that came due meanwhile (the
//   numbers jump by about 100) and never drifts.
// - Each message may take at most 200 ms: a late one yields "Problem:
//   deadline has elapsed" first, then arrives anyway (nothing is lost).
// - take(20) ends the program after 20 items; the runtime then destroys the
//   sender task, closing the channel.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>
#include <weft/weft.hpp>

#include "example_options.hpp"

using namespace std::chrono_literals;

namespace {

weft::ReceiverStream<std::string> get_messages() {
    auto [tx, rx] = weft::channel<std::string>();
    [[maybe_unused]] auto sender = weft::spawn_task([tx = std::move(tx)]() mutable -> weft::Task<void> {
        const std::vector<std::string> messages = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
        for (std::size_t index = 0; index < messages.size(); ++index) {
            const auto time_to_sleep = index % 2 == 0 ? 100ms : 300ms;
            co_await weft::sleep(time_to_sleep);
            if (!tx.send("Message: '" + messages[index] + "'")) {
                std::cerr << "Cannot send message '" << messages[index] << "'\n";
                break;
            }
        }
    });
    // Dropping the handle detaches the task: it runs on its own until the
    // runtime shuts down.
    return weft::ReceiverStream<std::string>(std::move(rx));
}

weft::IntervalStream get_intervals() {
    return weft::interval(1ms);
}

}  // namespace

int main(int argc, char** argv) {
    weft::Runtime rt(example::options(argc, argv));
    rt.block_on([]() -> weft::Task<void> {
        auto messages = get_messages().timeout(200ms);
        auto intervals = get_intervals()
                             .map([](std::uint64_t count) { return "Interval: " + std::to_string(count); })
                             .throttle(100ms)
                             .timeout(10s);
        auto merged = std::move(messages).merge(std::move(intervals)).take(20);

        while (auto result = co_await merged.next()) {
            if (*result) {
                std::cout << result->value() << '\n';
            } else {
                std::cout << "Problem: " << result->error().what() << '\n';
            }
        }
    });
}
