// spawn_local on a pool runtime: tasks that must take turns with one
// Receiver stay on the spawner's worker, while the producers run anywhere.
// A Receiver is used on one thread (docs/channels.md); spawn_task could start
// the second reader on the other worker, where its first recv would throw.
#include <iostream>
#include <string>
#include <thread>
#include <weft/weft.hpp>

int main() {
    weft::Runtime::Options options;
    options.worker_threads = 2;
    weft::Runtime rt(std::move(options));
    rt.block_on([]() -> weft::Task<void> {
        auto [tx, rx] = weft::channel<std::string>();
        // The producer may run on either worker: Senders work from anywhere.
        auto producer = weft::spawn_task([tx = std::move(tx)]() mutable -> weft::Task<void> {
            for (const char* word : {"one", "two", "three", "four", "five", "six"}) {
                (void)tx.send(word);
                co_await weft::sleep(std::chrono::milliseconds(1));
            }
        });  // the channel closes when the producer's task ends
        const auto here = std::this_thread::get_id();
        // Two readers take turns with the one Receiver: both stay on this worker.
        auto first = weft::spawn_local([&rx, here]() -> weft::Task<void> {
            for (int i = 0; i < 3; ++i) {
                auto word = co_await rx.recv();
                std::cout << "first reader: " << word.value_or("(closed)")
                          << (std::this_thread::get_id() == here ? "" : " (moved!)") << '\n';
            }
        });
        co_await first;
        auto second = weft::spawn_local([&rx, here]() -> weft::Task<void> {
            while (auto word = co_await rx.recv()) {
                std::cout << "second reader: " << *word << (std::this_thread::get_id() == here ? "" : " (moved!)")
                          << '\n';
            }
            std::cout << "second reader: channel closed\n";
        });
        co_await second;
        co_await producer;
    });
}
