// weft::net: TCP streams and listeners on the reactor (reactor.hpp rules).
#include "weft/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "weft/blocking.hpp"
#include "weft/detail/scheduler.hpp"

namespace weft::net {

namespace {

// Awaits `t` and yields its value or its exception (a co_await may not sit
// in a catch handler, nor a co_return in a try block that loops on failure).
template <class T>
Task<std::pair<std::optional<T>, std::exception_ptr>> settle_impl(Task<T> t) {
    std::pair<std::optional<T>, std::exception_ptr> out;
    try {
        out.first.emplace(co_await t);
    } catch (const std::system_error&) {
        out.second = std::current_exception();
    }
    co_return out;
}

[[noreturn]] void throw_sys(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

// Waits until the reactor marks `src` ready in one direction (io rule 1).
class Readiness {
public:
    Readiness(detail::IoSource& src, bool write) noexcept : src_(&src), write_(write) {}
    Readiness(const Readiness&) = delete;
    Readiness& operator=(const Readiness&) = delete;
    ~Readiness() {
        if (registered_) {
            {
                std::lock_guard<std::mutex> lock(src_->mu);
                detail::RemoteWaiter*& slot = write_ ? src_->writer : src_->reader;
                if (slot == &waiter_) {
                    slot = nullptr;  // still waiting: withdraw (io rule 2: nothing consumed)
                } else {
                    waiter_.cancel_delivered_wake();  // woken but not resumed: drop the wake
                }
            }
            waiter_.sched->remove_external_wait();
        }
    }

    [[nodiscard]] bool await_ready() noexcept { return ready_now(); }
    bool await_suspend(std::coroutine_handle<> h) {
        detail::Scheduler* here = detail::current_scheduler();
        std::lock_guard<std::mutex> lock(src_->mu);
        if (src_->home == nullptr) {
            here->reactor().add(src_);  // io rule 4: registered at its first wait
            src_->home = here;
        }
        if (ready_now()) {
            return false;  // an event came after the mark was cleared (io rule 1)
        }
        detail::RemoteWaiter*& slot = write_ ? src_->writer : src_->reader;
        if (slot != nullptr) {
            throw std::logic_error(write_ ? "weft::net: a write is already in progress on this socket; await it first"
                                          : "weft::net: a read is already in progress on this socket; await it first");
        }
        waiter_.arm(h);
        slot = &waiter_;
        here->add_external_wait();  // only I/O can wake it: park instead of reporting a deadlock
        registered_ = true;
        return true;
    }
    void await_resume() noexcept {
        if (registered_) {
            registered_ = false;
            waiter_.sched->remove_external_wait();
        }
    }

private:
    bool ready_now() noexcept { return write_ ? detail::IoSource::ready(src_->snapshot(true)) : src_->can_read(); }

    detail::IoSource* src_;
    bool write_;
    bool registered_ = false;
    detail::RemoteWaiter waiter_;
};

int new_socket(int family) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_sys(errno, "weft::net: socket");
    }
    return fd;
}

std::unique_ptr<detail::IoSource, detail::IoSourceDeleter> register_fd(int fd, const char* what) {
    std::unique_ptr<detail::IoSource, detail::IoSourceDeleter> src(new detail::IoSource);
    src->fd = fd;
    try {
        detail::require_scheduler(what);  // registered with a reactor at its first wait (io rule 4)
    } catch (...) {
        ::close(fd);
        throw;
    }
    return src;
}

SocketAddress address_of(int fd, bool peer, const char* what) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                        : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (rc != 0) {
        throw_sys(errno, what);
    }
    return SocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

std::string peer_name(int fd) {
    try {
        return address_of(fd, true, "getpeername").to_string();
    } catch (const std::system_error&) {
        return "(unconnected socket)";
    }
}

}  // namespace

// ---- SocketAddress

SocketAddress::SocketAddress(const sockaddr* sa, socklen_t len) {
    if (len > sizeof storage_) {
        throw std::invalid_argument("weft::net::SocketAddress: address too long");
    }
    std::memcpy(&storage_, sa, len);
    len_ = len;
}

SocketAddress SocketAddress::from_ip(const std::string& ip, std::uint16_t port) {
    SocketAddress a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.len_ = sizeof(sockaddr_in);
        return a;
    }
    a.storage_ = {};
    if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.len_ = sizeof(sockaddr_in6);
        return a;
    }
    throw std::invalid_argument("weft::net: '" + ip + "' is not a numeric IPv4 or IPv6 address");
}

SocketAddress SocketAddress::parse(std::string_view text) {
    const std::string t(text);
    std::string host;
    std::string_view port_text;
    if (!t.empty() && t.front() == '[') {
        const auto close = t.find(']');
        if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') {
            throw std::invalid_argument("weft::net: cannot parse address '" + t + "': expected [v6-address]:port");
        }
        host = t.substr(1, close - 1);
        port_text = std::string_view(t).substr(close + 2);
    } else {
        const auto colon = t.rfind(':');
        if (colon == std::string::npos || t.find(':') != colon) {
            throw std::invalid_argument("weft::net: cannot parse address '" + t +
                                        "': expected ip:port (or [v6-address]:port)");
        }
        host = t.substr(0, colon);
        port_text = std::string_view(t).substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() || port > 65535) {
        throw std::invalid_argument("weft::net: cannot parse address '" + t + "': bad port '" + std::string(port_text) +
                                    "'");
    }
    try {
        return from_ip(host, static_cast<std::uint16_t>(port));
    } catch (const std::invalid_argument&) {
        throw std::invalid_argument("weft::net: cannot parse address '" + t + "': '" + host +
                                    "' is not a numeric IPv4 or IPv6 address");
    }
}

std::uint16_t SocketAddress::port() const noexcept {
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    }
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    }
    return 0;
}

std::string SocketAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(port());
    }
    if (family() == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
        std::string out;  // appended piece by piece: g++ 12 -O3 warns (-Wrestrict) on "[" + std::string
        out.reserve(sizeof buf + 8);
        out.push_back('[');
        out.append(buf);
        out.append("]:");
        out.append(std::to_string(port()));
        return out;
    }
    return "(no address)";
}

// ---- TcpStream

TcpStream::TcpStream(int fd) : src_(register_fd(fd, "weft::net::TcpStream")) {}

TcpStream& TcpStream::operator=(TcpStream&& o) noexcept {
    if (this != &o) {
        if (src_) {
            ::close(src_->fd);  // io rule 3
        }
        src_ = std::move(o.src_);
    }
    return *this;
}

TcpStream::~TcpStream() {
    if (src_) {
        ::close(src_->fd);  // io rule 3: closing removes it from epoll
    }
}

detail::IoSource& TcpStream::source(const char* what) const {
    if (!src_) {
        throw std::logic_error(std::string(what) + ": the TcpStream is empty (moved-from)");
    }
    return *src_;
}

Task<TcpStream> TcpStream::connect(SocketAddress address) {
    std::string label = address.to_string();
    co_return co_await connect_to(address, std::move(label));
}

Task<TcpStream> TcpStream::connect(std::string host, std::uint16_t port) {
    std::vector<SocketAddress> candidates;
    bool numeric = true;
    try {
        candidates.push_back(SocketAddress::from_ip(host, port));
    } catch (const std::invalid_argument&) {
        numeric = false;
    }
    if (!numeric) {
        // A name: resolve it on the blocking pool (getaddrinfo blocks).
        auto resolve = [host, port] {
            addrinfo hints{};
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            addrinfo* res = nullptr;
            const std::string service = std::to_string(port);
            const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
            if (rc != 0) {
                throw std::runtime_error("weft::net::TcpStream::connect: cannot resolve '" + host +
                                         "': " + ::gai_strerror(rc));
            }
            std::vector<SocketAddress> out;
            for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
                out.emplace_back(p->ai_addr, p->ai_addrlen);
            }
            ::freeaddrinfo(res);
            return out;
        };
        auto job = spawn_blocking(std::move(resolve));
        candidates = co_await job;
    }
    std::exception_ptr last;
    for (const auto& addr : candidates) {
        std::string label = host + ":" + std::to_string(port);
        if (!numeric) {
            label += " (" + addr.to_string() + ")";
        }
        auto attempt = connect_to(addr, std::move(label));
        auto done = co_await settle_impl(std::move(attempt));
        if (done.first) {
            co_return std::move(*done.first);
        }
        last = done.second;
    }
    if (last) {
        std::rethrow_exception(last);
    }
    throw std::runtime_error("weft::net::TcpStream::connect: '" + host + "' resolved to no address");
}

// Connects one address: a new socket, connect, wait until writable, SO_ERROR.
Task<TcpStream> TcpStream::connect_to(SocketAddress addr, std::string label) {
    TcpStream s(new_socket(addr.family()));
    const int fd = s.src_->fd;
    const std::uint32_t snap = s.src_->snapshot(true);
    if (::connect(fd, addr.data(), addr.size()) != 0) {
        if (errno != EINPROGRESS) {
            throw_sys(errno, "weft::net::TcpStream::connect " + label);
        }
        s.src_->clear(true, snap);
        co_await Readiness(*s.src_, true);  // named awaiter type with a constructor (g++ 12 note)
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            err = errno;
        }
        if (err != 0) {
            throw_sys(err, "weft::net::TcpStream::connect " + label);
        }
    }
    co_return s;
}

Task<std::size_t> TcpStream::read_some(std::span<char> buf) {
    detail::IoSource& src = source("TcpStream::read_some");
    if (buf.empty()) {
        co_return 0;
    }
    for (;;) {
        if (src.input_pos < src.input_len) {  // io rule 7: buffered bytes first
            const std::size_t n = std::min<std::size_t>(buf.size(), src.input_len - src.input_pos);
            std::memcpy(buf.data(), src.input.get() + src.input_pos, n);
            src.input_pos += static_cast<std::uint32_t>(n);
            co_return n;
        }
        const std::uint32_t snap = src.snapshot(false);
        if (detail::IoSource::ready(snap) || src.read_closed.load(std::memory_order_acquire)) {
            const bool direct = buf.size() >= detail::IoSource::kInputBuffer;
            if (!direct && !src.input) {
                src.input = std::make_unique<char[]>(detail::IoSource::kInputBuffer);
            }
            char* into = direct ? buf.data() : src.input.get();
            const std::size_t want = direct ? buf.size() : detail::IoSource::kInputBuffer;
            const ssize_t n = ::recv(src.fd, into, want, 0);
            if (n > 0) {
                if (static_cast<std::size_t>(n) < want) {
                    src.clear(false, snap);  // io rule 6: drained, no failing recv needed
                }
                if (direct) {
                    co_return static_cast<std::size_t>(n);
                }
                src.input_pos = 0;
                src.input_len = static_cast<std::uint32_t>(n);
                continue;
            }
            if (n == 0) {
                co_return 0;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                throw_sys(errno, "weft::net::TcpStream::read_some from " + peer_name(src.fd));
            }
            src.clear(false, snap);  // io rule 1
        }
        co_await Readiness(src, false);
    }
}

Task<void> TcpStream::read_exact(std::span<char> buf) {
    std::size_t got = 0;
    while (got < buf.size()) {
        const std::size_t n = co_await read_some(buf.subspan(got));
        if (n == 0) {
            throw std::system_error(std::make_error_code(std::errc::connection_aborted),
                                    "weft::net::TcpStream::read_exact from " + peer_name(src_->fd) +
                                        ": unexpected end of stream after " + std::to_string(got) + " of " +
                                        std::to_string(buf.size()) + " bytes");
        }
        got += n;
    }
}

Task<void> TcpStream::write_all(std::string_view data) {
    detail::IoSource& src = source("TcpStream::write_all");
    std::size_t done = 0;
    while (done < data.size()) {
        const std::uint32_t snap = src.snapshot(true);
        if (detail::IoSource::ready(snap)) {
            const ssize_t n = ::send(src.fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
            if (n >= 0) {
                done += static_cast<std::size_t>(n);
                continue;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                throw_sys(errno, "weft::net::TcpStream::write_all to " + peer_name(src.fd));
            }
            src.clear(true, snap);  // io rule 1
        }
        co_await Readiness(src, true);
    }
}

void TcpStream::shutdown(Shutdown how) {
    detail::IoSource& src = source("TcpStream::shutdown");
    const int h = how == Shutdown::read ? SHUT_RD : how == Shutdown::write ? SHUT_WR : SHUT_RDWR;
    if (::shutdown(src.fd, h) != 0) {
        throw_sys(errno, "weft::net::TcpStream::shutdown " + peer_name(src.fd));
    }
}

void TcpStream::set_nodelay(bool on) {
    detail::IoSource& src = source("TcpStream::set_nodelay");
    const int v = on ? 1 : 0;
    if (::setsockopt(src.fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0) {
        throw_sys(errno, "weft::net::TcpStream::set_nodelay");
    }
}

SocketAddress TcpStream::local_address() const {
    return address_of(source("TcpStream::local_address").fd, false, "weft::net::TcpStream::local_address");
}

SocketAddress TcpStream::peer_address() const {
    return address_of(source("TcpStream::peer_address").fd, true, "weft::net::TcpStream::peer_address");
}

// ---- TcpListener

TcpListener::TcpListener(int fd) : src_(register_fd(fd, "weft::net::TcpListener::bind")) {}

TcpListener& TcpListener::operator=(TcpListener&& o) noexcept {
    if (this != &o) {
        if (src_) {
            ::close(src_->fd);
        }
        src_ = std::move(o.src_);
    }
    return *this;
}

TcpListener::~TcpListener() {
    if (src_) {
        ::close(src_->fd);
    }
}

TcpListener TcpListener::bind(std::string_view address) {
    return bind(SocketAddress::parse(address));
}

TcpListener TcpListener::bind(const SocketAddress& address) {
    detail::require_scheduler("weft::net::TcpListener::bind");
    const int fd = new_socket(address.family());
    const int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, address.data(), address.size()) != 0 || ::listen(fd, SOMAXCONN) != 0) {
        const int err = errno;
        ::close(fd);
        throw_sys(err, "weft::net::TcpListener::bind " + address.to_string());
    }
    return TcpListener(fd);
}

Task<std::pair<TcpStream, SocketAddress>> TcpListener::accept() {
    if (!src_) {
        throw std::logic_error("TcpListener::accept: the TcpListener is empty (moved-from)");
    }
    detail::IoSource& src = *src_;
    for (;;) {
        const std::uint32_t snap = src.snapshot(false);
        if (detail::IoSource::ready(snap)) {
            sockaddr_storage ss{};
            socklen_t len = sizeof ss;
            const int fd = ::accept4(src.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                SocketAddress peer(reinterpret_cast<sockaddr*>(&ss), len);
                co_return std::pair<TcpStream, SocketAddress>(TcpStream(fd), peer);
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                throw_sys(errno, "weft::net::TcpListener::accept on " + local_address().to_string());
            }
            src.clear(false, snap);
        }
        co_await Readiness(src, false);
    }
}

SocketAddress TcpListener::local_address() const {
    if (!src_) {
        throw std::logic_error("TcpListener::local_address: the TcpListener is empty (moved-from)");
    }
    return address_of(src_->fd, false, "weft::net::TcpListener::local_address");
}

}  // namespace weft::net
