// A tiny HTTP server for tests, on weft::net in a thread of its own (with its
// own runtime and the real clock): each route answers with fixed bytes,
// optionally after a delay, then closes the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <weft/weft.hpp>

namespace weft_test {

struct Route {
    std::string raw;                     // the whole response, as sent
    std::chrono::milliseconds delay{0};  // wait this long before answering
};

// "HTTP/1.1 <status>" with a Content-Length body.
inline std::string http_response(const std::string& body, const std::string& status = "200 OK",
                                 const std::string& extra_headers = "") {
    return "HTTP/1.1 " + status + "\r\nContent-Type: text/html\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::string html_page(const std::string& title) {
    return "<!DOCTYPE html><html><head><title>" + title + "</title></head><body><p>hi</p></body></html>";
}

class TestHttpServer {
public:
    explicit TestHttpServer(std::map<std::string, Route> routes) : routes_(std::move(routes)) {
        std::promise<std::pair<std::uint16_t, weft::Sender<int>>> ready;
        auto started = ready.get_future();
        thread_ = std::thread([this, &ready] { serve(ready); });
        auto [port, stop] = started.get();
        port_ = port;
        stop_.emplace(std::move(stop));
    }
    TestHttpServer(const TestHttpServer&) = delete;
    TestHttpServer& operator=(const TestHttpServer&) = delete;
    ~TestHttpServer() {
        (void)stop_->send(1);
        thread_.join();
    }

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

private:
    void serve(std::promise<std::pair<std::uint16_t, weft::Sender<int>>>& ready) {
        weft::block_on([this, &ready]() -> weft::Task<> {
            auto listener = weft::net::TcpListener::bind("127.0.0.1:0");
            auto [tx, rx] = weft::channel<int>();
            ready.set_value({listener.local_address().port(), std::move(tx)});
            for (;;) {
                auto next = co_await weft::select(listener.accept(), rx.recv());
                if (next.index() == 1) {
                    co_return;
                }
                auto conn = std::move(std::get<0>(next).first);
                auto handler = weft::spawn_task(answer(std::move(conn), &routes_));
            }
        });
    }

    static weft::Task<> answer(weft::net::TcpStream conn, const std::map<std::string, Route>* routes) {
        std::string request;
        std::string buf(4096, '\0');
        while (request.find("\r\n\r\n") == std::string::npos) {
            const std::size_t n = co_await conn.read_some(buf);
            if (n == 0) {
                co_return;
            }
            request.append(buf.data(), n);
        }
        const auto sp1 = request.find(' ');
        const auto sp2 = request.find(' ', sp1 + 1);
        const std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
        auto it = routes->find(path);
        if (it == routes->end()) {
            co_await conn.write_all(http_response("not found", "404 Not Found"));
        } else {
            if (it->second.delay.count() > 0) {
                co_await weft::sleep(it->second.delay);
            }
            co_await conn.write_all(it->second.raw);
        }
        try {
            conn.shutdown(weft::net::Shutdown::write);
            // Wait for the client to close, so that it reads every byte first.
            while (co_await conn.read_some(buf) != 0) {
            }
        } catch (const std::system_error&) {
            // The client left first (a cancelled request): nothing to finish.
        }
    }

    std::map<std::string, Route> routes_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::optional<weft::Sender<int>> stop_;
};

}  // namespace weft_test
