// weft::net: TCP on the epoll reactor — echo, addresses, errors, cancel safety.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/probe.hpp"

using weft::Task;
using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

// Echoes one connection until the peer shuts down; yields the bytes echoed.
Task<std::size_t> echo_one(TcpListener& listener) {
    auto [conn, peer] = co_await listener.accept();
    std::array<char, 256> buf{};
    std::size_t total = 0;
    for (;;) {
        const std::size_t n = co_await conn.read_some(buf);
        if (n == 0) {
            co_return total;
        }
        co_await conn.write_all(std::string_view(buf.data(), n));
        total += n;
    }
}

// Waits to read from `s`, holding a probe.
Task<> hold_read(TcpStream s, LifeCount& life) {
    Probe p(life);
    std::array<char, 4> buf{};
    (void)co_await s.read_some(buf);
}

// The message of the std::system_error `t` throws ("" if none).
template <class T>
Task<std::string> system_error_of(Task<T> t) {
    try {
        (void)co_await t;
    } catch (const std::system_error& e) {
        co_return std::string(e.what());
    }
    co_return std::string();
}

}  // namespace

TEST(Net, echo_over_ipv4_loopback) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        const auto addr = listener.local_address();
        EXPECT_NE(addr.port(), 0);
        auto server = weft::spawn_task(echo_one(listener));
        auto client = co_await TcpStream::connect("127.0.0.1", addr.port());
        client.set_nodelay(true);
        EXPECT_EQ(client.peer_address().to_string(), addr.to_string());
        for (int i = 0; i < 100; ++i) {
            const std::string msg = "message number " + std::to_string(i);
            co_await client.write_all(msg);
            std::string back(msg.size(), '\0');
            co_await client.read_exact(back);
            EXPECT_EQ(back, msg);
        }
        client.shutdown(weft::net::Shutdown::write);
        EXPECT_GT(co_await server, 1000U);
    });
}

TEST(Net, echo_over_ipv6_loopback_and_name_resolution) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("[::1]:0");
        EXPECT_TRUE(listener.local_address().is_ipv6());
        EXPECT_EQ(listener.local_address().to_string().rfind("[::1]:", 0), 0U);
        auto server = weft::spawn_task(echo_one(listener));
        auto client = co_await TcpStream::connect("::1", listener.local_address().port());
        co_await client.write_all("six");
        std::string back(3, '\0');
        co_await client.read_exact(back);
        EXPECT_EQ(back, "six");
        client.shutdown();
        EXPECT_EQ(co_await server, 3U);

        // By name (resolved on the blocking pool): localhost is in /etc/hosts.
        auto v4 = TcpListener::bind("127.0.0.1:0");
        auto server4 = weft::spawn_task(echo_one(v4));
        auto named = co_await TcpStream::connect("localhost", v4.local_address().port());
        EXPECT_EQ(named.peer_address().port(), v4.local_address().port());
        named.shutdown();
        EXPECT_EQ(co_await server4, 0U);
    });
}

TEST(Net, connection_refused_names_the_address_and_the_runtime_stays_usable) {
    weft_test::run([]() -> Task<> {
        std::uint16_t port = 0;
        {
            auto probe = TcpListener::bind("127.0.0.1:0");
            port = probe.local_address().port();
        }  // closed: nothing listens there now
        const std::string msg = co_await system_error_of(TcpStream::connect("127.0.0.1", port));
        EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
        EXPECT_NE(msg.find("Connection refused"), std::string::npos) << msg;
        co_await weft::sleep(1ms);  // still running
    });
}

TEST(Net, unknown_host_names_the_host) {
    weft_test::run([]() -> Task<> {
        std::string msg;
        try {
            (void)co_await TcpStream::connect("no-such-host.invalid", 80);
        } catch (const std::runtime_error& e) {
            msg = e.what();
        }
        EXPECT_NE(msg.find("cannot resolve 'no-such-host.invalid'"), std::string::npos) << msg;
    });
}

TEST(Net, peer_closing_mid_message_fails_read_exact_clearly) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto server = weft::spawn_task([&listener]() -> Task<> {
            auto [conn, peer] = co_await listener.accept();
            co_await conn.write_all("half");  // then closes
        });
        auto client = co_await TcpStream::connect(listener.local_address());
        co_await server;
        std::string buf(10, '\0');
        std::string msg;
        try {
            co_await client.read_exact(buf);
        } catch (const std::system_error& e) {
            msg = e.what();
        }
        EXPECT_NE(msg.find("unexpected end of stream after 4 of 10 bytes"), std::string::npos) << msg;
    });
}

TEST(Net, cancelled_read_and_accept_lose_nothing) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto none = co_await weft::timeout(5ms, listener.accept());  // nobody connects: cancelled
        EXPECT_FALSE(none.has_value());
        auto connecting = weft::spawn_task(TcpStream::connect(listener.local_address()));
        auto accepted = co_await listener.accept();  // the cancelled accept took nothing
        auto client = co_await connecting;
        std::array<char, 64> buf{};
        auto nothing = co_await weft::timeout(5ms, accepted.first.read_some(buf));
        EXPECT_FALSE(nothing.has_value());
        co_await client.write_all("kept");
        const std::size_t n = co_await accepted.first.read_some(buf);
        EXPECT_EQ(std::string(buf.data(), n), "kept");
    });
}

TEST(Net, timeout_composes_with_connect_read_and_write) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto client = co_await weft::timeout(1s, TcpStream::connect(listener.local_address()));
        if (!client.has_value()) {
            ADD_FAILURE() << "connect timed out";
            co_return;
        }
        auto accepted = co_await weft::timeout(1s, listener.accept());
        if (!accepted.has_value()) {
            ADD_FAILURE() << "accept timed out";
            co_return;
        }
        auto wrote = co_await weft::timeout(1s, client->write_all("ok"));
        EXPECT_TRUE(wrote.has_value());
        std::string buf(2, '\0');
        auto read = co_await weft::timeout(1s, accepted->first.read_exact(buf));
        EXPECT_TRUE(read.has_value());
        EXPECT_EQ(buf, "ok");
    });
}

TEST(Net, shutdown_write_gives_the_peer_end_of_stream) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto client = co_await TcpStream::connect(listener.local_address());
        auto [conn, peer] = co_await listener.accept();
        EXPECT_EQ(peer.to_string(), client.local_address().to_string());
        client.shutdown(weft::net::Shutdown::write);
        std::array<char, 8> buf{};
        EXPECT_EQ(co_await conn.read_some(buf), 0U);
    });
}

// Needs the order of one thread: `first` must be waiting before the second
// read starts (spawn_here: spawn_local on a pool).
TEST(Net, a_second_concurrent_read_is_refused) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto client = co_await TcpStream::connect(listener.local_address());
        auto [conn, peer] = co_await listener.accept();
        std::array<char, 8> a{};
        std::array<char, 8> b{};
        auto first = spawn_here([&conn, &a]() -> Task<std::size_t> { co_return co_await conn.read_some(a); });
        co_await weft::yield_now();  // first now waits for data
        bool refused = false;
        try {
            (void)co_await conn.read_some(b);
        } catch (const std::logic_error& e) {
            refused = std::string(e.what()).find("already in progress") != std::string::npos;
        }
        EXPECT_TRUE(refused);
        co_await client.write_all("x");
        EXPECT_EQ(co_await first, 1U);
    });
}

TEST(Net, bad_addresses_and_busy_ports_are_reported) {
    EXPECT_THROW((void)SocketAddress::parse("localhost:80"), std::invalid_argument);
    EXPECT_THROW((void)SocketAddress::parse("1.2.3.4"), std::invalid_argument);
    EXPECT_THROW((void)SocketAddress::parse("1.2.3.4:99999"), std::invalid_argument);
    EXPECT_THROW((void)SocketAddress::parse("[::1]80"), std::invalid_argument);
    EXPECT_EQ(SocketAddress::parse("[::1]:80").to_string(), "[::1]:80");
    EXPECT_EQ(SocketAddress::parse("10.0.0.1:443").port(), 443);
    EXPECT_FALSE(logic_error_of([] { (void)TcpListener::bind("127.0.0.1:0"); }).empty());
    weft_test::run([]() -> Task<> {
        auto taken = TcpListener::bind("127.0.0.1:0");
        const std::string where = taken.local_address().to_string();
        std::string msg;
        try {
            (void)TcpListener::bind(where);
        } catch (const std::system_error& e) {
            msg = e.what();
        }
        EXPECT_NE(msg.find(where), std::string::npos) << msg;
        EXPECT_NE(msg.find("Address already in use"), std::string::npos) << msg;
        co_return;
    });
}

TEST(Net, a_remote_wake_reaches_a_runtime_parked_in_epoll) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");  // the reactor now exists
        auto [tx, rx] = weft::channel<int>();
        std::thread t([tx = std::move(tx)]() mutable {
            std::this_thread::sleep_for(10ms);
            (void)tx.send(7);
        });
        EXPECT_EQ(co_await rx.recv(), 7);  // parked in epoll_wait: woken through the eventfd
        t.join();
    });
}

TEST(Net, shutdown_destroys_tasks_blocked_on_sockets) {
    LifeCount life;
    weft_test::run([&life]() -> Task<> {
        auto listener = std::make_shared<TcpListener>(TcpListener::bind("127.0.0.1:0"));
        auto acceptor = weft::spawn_task([listener, &life]() -> Task<> {
            Probe p(life);
            auto [conn, peer] = co_await listener->accept();
            std::array<char, 4> buf{};
            (void)co_await conn.read_some(buf);  // the client never writes
        });
        auto client = co_await TcpStream::connect(listener->local_address());
        auto reader = weft::spawn_task(hold_read(std::move(client), life));
        co_await weft::sleep(2ms);
        EXPECT_EQ(life.alive, 2);  // both ends wait to read
    });
    EXPECT_EQ(life.alive, 0);
}

TEST(Net, sockets_work_under_the_paused_clock) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto server = weft::spawn_task(echo_one(listener));
        auto client = co_await TcpStream::connect(listener.local_address());
        const auto start = weft::now();
        co_await weft::sleep(10s);  // virtual: no real wait
        co_await client.write_all("paused");
        std::string back(6, '\0');
        co_await client.read_exact(back);  // real I/O: the runtime parks in epoll_wait
        EXPECT_EQ(back, "paused");
        // With nothing ready and a timer armed, virtual time jumps to it: a
        // timeout around a read that has no data fires without a real wait.
        std::array<char, 4> buf{};
        auto none = co_await weft::timeout(1h, client.read_some(buf));
        EXPECT_FALSE(none.has_value());
        EXPECT_EQ(weft::now() - start, 10s + 1h);
        client.shutdown();
        EXPECT_EQ(co_await server, 6U);
    });
}

TEST(Net, large_transfers_wait_for_writability_and_use_direct_reads) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto client = co_await TcpStream::connect(listener.local_address());
        auto [conn, peer] = co_await listener.accept();
        // 16 MiB: far more than the socket buffers, so write_all must wait for
        // writability (EPOLLOUT) many times while the reader drains.
        std::string big(16 << 20, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) {
            big[i] = static_cast<char>('a' + i % 23);
        }
        auto writer = weft::spawn_task([&client, &big]() -> Task<> {
            co_await client.write_all(big);
            client.shutdown();
        });
        std::string got;
        std::string buf(1 << 16, '\0');  // >= the input buffer: read straight into it
        for (;;) {
            const std::size_t n = co_await conn.read_some(buf);
            if (n == 0) {
                break;
            }
            got.append(buf.data(), n);
        }
        co_await writer;
        EXPECT_EQ(got.size(), big.size());
        EXPECT_TRUE(got == big);
    });
}

TEST(Net, small_reads_are_served_from_the_input_buffer_in_order) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto client = co_await TcpStream::connect(listener.local_address());
        auto [conn, peer] = co_await listener.accept();
        co_await client.write_all("0123456789abcdefghij");
        client.shutdown();
        std::string got;
        std::array<char, 3> buf{};
        for (;;) {
            const std::size_t n = co_await conn.read_some(buf);  // 3 bytes at a time
            if (n == 0) {
                break;
            }
            EXPECT_LE(n, 3U);
            got.append(buf.data(), n);
        }
        EXPECT_EQ(got, "0123456789abcdefghij");
    });
}

TEST(Net, a_cancelled_read_keeps_buffered_bytes) {
    weft_test::run([]() -> Task<> {
        auto listener = TcpListener::bind("127.0.0.1:0");
        auto client = co_await TcpStream::connect(listener.local_address());
        auto [conn, peer] = co_await listener.accept();
        co_await client.write_all("abcdef");
        std::array<char, 2> two{};
        EXPECT_EQ(co_await conn.read_some(two), 2U);  // "ab"; "cdef" stays buffered
        std::string rest(4, '\0');
        auto r = co_await weft::timeout(1s, conn.read_exact(rest));
        EXPECT_TRUE(r.has_value());
        EXPECT_EQ(rest, "cdef");
        std::array<char, 8> more{};
        auto none = co_await weft::timeout(5ms, conn.read_some(more));  // cancelled while waiting
        EXPECT_FALSE(none.has_value());
        co_await client.write_all("gh");
        EXPECT_EQ(co_await conn.read_some(more), 2U);
        EXPECT_EQ(std::string(more.data(), 2), "gh");
    });
}
