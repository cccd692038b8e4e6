// weft::net: TCP on the runtime's epoll reactor.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "weft/detail/reactor.hpp"
#include "weft/task.hpp"

namespace weft::net {

/// An IPv4 or IPv6 address with a port. `SocketAddress::parse("127.0.0.1:8080")`,
/// `parse("[::1]:8080")`; `to_string()` gives the same form back. Copyable.
class SocketAddress {
public:
    /// An empty address (family AF_UNSPEC).
    SocketAddress() noexcept = default;
    /// From a socket address of `len` bytes (AF_INET or AF_INET6).
    SocketAddress(const sockaddr* sa, socklen_t len);

    /// Parses "a.b.c.d:port" or "[v6]:port" (numeric only: no name lookup).
    /// Throws std::invalid_argument naming the text and what is wrong.
    [[nodiscard]] static SocketAddress parse(std::string_view text);
    /// The address `ip` (numeric v4 or v6) with `port`; throws
    /// std::invalid_argument when `ip` is not a numeric address.
    [[nodiscard]] static SocketAddress from_ip(const std::string& ip, std::uint16_t port);

    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    [[nodiscard]] bool is_ipv6() const noexcept { return family() == AF_INET6; }
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// "127.0.0.1:8080" or "[::1]:8080".
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    [[nodiscard]] socklen_t size() const noexcept { return len_; }

private:
    sockaddr_storage storage_{};
    socklen_t len_ = 0;
};

/// Which direction(s) `TcpStream::shutdown` closes.
enum class Shutdown { read, write, both };

/// A TCP connection, registered with the current runtime's reactor. Every
/// operation is a lazy `Task` that tries its system call first and waits for
/// readiness only when the socket would block. One read and one write may be
/// in progress at once (a second concurrent read throws std::logic_error).
/// Cancel safety: an operation destroyed while waiting (a lost `select`, a
/// `timeout`, an abort, shutdown) has consumed no byte it did not return:
/// `read_some` reads only after it is woken; `read_exact` and `write_all`
/// may have moved part of their buffer (as in Tokio), the stream stays usable.
/// Errors throw std::system_error whose message names the operation and the
/// peer address. Move-only; closes the socket when destroyed. Use it from one
/// task at a time (on a pool runtime that task may run on any worker, also
/// after the stream moved into another task), and do not let it outlive its
/// runtime.
class TcpStream {
public:
    /// Connects to `host` (a numeric IPv4/IPv6 address, or a name resolved
    /// with getaddrinfo on the blocking pool, so the runtime never blocks)
    /// and `port`, trying each resolved address in order. Throws
    /// std::system_error naming host:port and the reason (connection
    /// refused, ...), or std::runtime_error for a name that does not resolve.
    [[nodiscard]] static Task<TcpStream> connect(std::string host, std::uint16_t port);
    /// Connects to `address`; as above.
    [[nodiscard]] static Task<TcpStream> connect(SocketAddress address);

    TcpStream(TcpStream&&) noexcept = default;
    TcpStream& operator=(TcpStream&&) noexcept;
    TcpStream(const TcpStream&) = delete;
    TcpStream& operator=(const TcpStream&) = delete;
    ~TcpStream();

    /// Reads at least one byte into `buf`, waiting for data if none is
    /// there; yields the number read, 0 at end of stream (or for an empty
    /// `buf`).
    [[nodiscard]] Task<std::size_t> read_some(std::span<char> buf);
    /// Reads exactly `buf.size()` bytes; throws std::system_error
    /// (`std::errc::connection_aborted`, "unexpected end of stream") when the
    /// peer closes first.
    [[nodiscard]] Task<void> read_exact(std::span<char> buf);
    /// Writes all of `data` (the bytes must stay alive until it completes).
    [[nodiscard]] Task<void> write_all(std::string_view data);
    /// Shuts down one or both directions (`Shutdown::write` sends FIN: the
    /// peer reads end of stream). Throws std::system_error.
    void shutdown(Shutdown how = Shutdown::write);
    /// Disables (true) or enables Nagle's algorithm. Throws std::system_error.
    void set_nodelay(bool on);
    [[nodiscard]] SocketAddress local_address() const;
    [[nodiscard]] SocketAddress peer_address() const;
    /// The file descriptor (owned by the stream).
    [[nodiscard]] int native_handle() const noexcept { return src_ ? src_->fd : -1; }

private:
    friend class TcpListener;
    explicit TcpStream(int fd);  // registers fd with the current runtime's reactor
    static Task<TcpStream> connect_to(SocketAddress addr, std::string label);
    detail::IoSource& source(const char* what) const;

    std::unique_ptr<detail::IoSource, detail::IoSourceDeleter> src_;
};

/// A listening TCP socket on the current runtime's reactor.
class TcpListener {
public:
    /// Binds and listens on `address` ("127.0.0.1:0" picks a free port,
    /// "[::1]:8080", "0.0.0.0:80"), with SO_REUSEADDR. Throws
    /// std::invalid_argument for an address that does not parse,
    /// std::system_error naming the address for a bind or listen failure,
    /// std::logic_error outside a runtime.
    [[nodiscard]] static TcpListener bind(std::string_view address);
    [[nodiscard]] static TcpListener bind(const SocketAddress& address);

    TcpListener(TcpListener&&) noexcept = default;
    TcpListener& operator=(TcpListener&&) noexcept;
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;
    ~TcpListener();

    /// Waits for the next connection; yields the stream and the peer's
    /// address. Cancel safety: a cancelled accept takes no connection.
    [[nodiscard]] Task<std::pair<TcpStream, SocketAddress>> accept();
    [[nodiscard]] SocketAddress local_address() const;
    [[nodiscard]] int native_handle() const noexcept { return src_ ? src_->fd : -1; }

private:
    explicit TcpListener(int fd);
    std::unique_ptr<detail::IoSource, detail::IoSourceDeleter> src_;
};

}  // namespace weft::net
