// A tiny web server for trying the page-title listings locally: serves two
// pages on free ports of 127.0.0.1 and prints their URLs, one per line:
//   http://127.0.0.1:<port>/   "Fast page", answers at once
//   http://127.0.0.1:<port>/   "Slow page", answers after 300 ms
// then serves until its standard input closes (`page_server < /dev/null &`
// serves for `--seconds N`, default 30).
#include <chrono>
#include <iostream>
#include <string>
#include <string_view>
#include <weft/weft.hpp>

using namespace std::chrono_literals;
using weft::net::TcpListener;
using weft::net::TcpStream;

namespace {

std::string page(const std::string& title) {
    const std::string body =
        "<!DOCTYPE html><html><head><title>" + title + "</title></head><body><h1>" + title + "</h1></body></html>";
    return "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

weft::Task<void> answer(TcpStream conn, std::string response, std::chrono::milliseconds delay) {
    std::string request;
    std::string buf(4096, '\0');
    while (request.find("\r\n\r\n") == std::string::npos) {
        const std::size_t n = co_await conn.read_some(buf);
        if (n == 0) {
            co_return;
        }
        request.append(buf.data(), n);
    }
    co_await weft::sleep(delay);
    co_await conn.write_all(response);
}

weft::Task<void> serve(TcpListener listener, std::string title, std::chrono::milliseconds delay) {
    const std::string response = page(title);
    for (;;) {
        auto [conn, peer] = co_await listener.accept();
        auto detached = weft::spawn_task(answer(std::move(conn), response, delay));
    }
}

}  // namespace

int main(int argc, char** argv) {
    long seconds = 30;
    if (argc == 3 && std::string_view(argv[1]) == "--seconds") {
        seconds = std::stol(argv[2]);
    }
    weft::block_on([seconds]() -> weft::Task<void> {
        auto fast = TcpListener::bind("127.0.0.1:0");
        auto slow = TcpListener::bind("127.0.0.1:0");
        std::cout << "http://" << fast.local_address().to_string() << "/\n"
                  << "http://" << slow.local_address().to_string() << "/\n"
                  << std::flush;
        auto a = weft::spawn_task(serve(std::move(fast), "Fast page", 0ms));
        auto b = weft::spawn_task(serve(std::move(slow), "Slow page", 300ms));
        co_await weft::sleep(std::chrono::seconds(seconds));
    });
}
