// A TCP echo server on weft::net. With `--serve ADDRESS` it serves forever
// (try `echo_server --serve 127.0.0.1:7000` and `nc 127.0.0.1 7000`); by
// default it demonstrates itself: it listens on a free port, connects three
// clients concurrently, each sends a line and prints the echo, and it exits.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>
#include <weft/weft.hpp>

using weft::net::TcpListener;
using weft::net::TcpStream;

// One connection: echo every byte until the client closes.
weft::Task<void> echo(TcpStream conn) {
    std::string buf(4096, '\0');
    for (;;) {
        const std::size_t n = co_await conn.read_some(buf);
        if (n == 0) {
            co_return;
        }
        co_await conn.write_all(std::string_view(buf.data(), n));
    }
}

// Accepts connections forever (or `limit` of them), one task each.
weft::Task<void> serve(TcpListener listener, int limit) {
    std::vector<weft::JoinHandle<void>> connections;
    for (int i = 0; limit < 0 || i < limit; ++i) {
        auto [conn, peer] = co_await listener.accept();
        conn.set_nodelay(true);
        connections.push_back(weft::spawn_task(echo(std::move(conn))));
    }
    for (auto& c : connections) {
        co_await c;
    }
}

weft::Task<std::string> client(weft::net::SocketAddress server, std::string line) {
    auto conn = co_await TcpStream::connect(server);
    co_await conn.write_all(line);
    conn.shutdown(weft::net::Shutdown::write);  // the server sees the end and finishes
    std::string echoed;
    std::string buf(256, '\0');
    while (const std::size_t n = co_await conn.read_some(buf)) {
        echoed.append(buf.data(), n);
    }
    co_return echoed;
}

int main(int argc, char** argv) {
    if (argc == 3 && std::string_view(argv[1]) == "--serve") {
        weft::block_on([address = std::string(argv[2])]() -> weft::Task<void> {
            auto listener = TcpListener::bind(address);
            std::cout << "echoing on " << listener.local_address().to_string() << '\n' << std::flush;
            co_await serve(std::move(listener), -1);
        });
        return 0;
    }
    weft::block_on([]() -> weft::Task<void> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        const auto address = listener.local_address();
        auto server = weft::spawn_task(serve(std::move(listener), 3));
        auto [a, b, c] =
            co_await weft::join3(client(address, "hello"), client(address, "from"), client(address, "weft"));
        std::cout << "echo: " << a << "\necho: " << b << "\necho: " << c << '\n';
        co_await server;
    });
}
