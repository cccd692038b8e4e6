// weft::http::get: HTTP/1.1 over weft::net, parsed by http-parser.
#include "weft/http.hpp"

#include <http_parser.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <system_error>

#include "weft/net.hpp"

namespace weft::http {

Error::Error(std::string url, const std::string& reason)
    : std::runtime_error("weft::http::get " + url + ": " + reason), url_(std::move(url)) {}

namespace detail {

struct Url {
    std::string scheme;
    std::string host;
    std::uint16_t port = 80;
    std::string target;  // path and query
};

Url parse_url(const std::string& url) {
    http_parser_url u{};
    http_parser_url_init(&u);
    if (http_parser_parse_url(url.data(), url.size(), 0, &u) != 0) {
        throw Error(url, "the URL does not parse (expected http://host[:port]/path)");
    }
    auto field = [&](int f) -> std::string {
        if ((u.field_set & (1U << f)) == 0) {
            return {};
        }
        return url.substr(u.field_data[f].off, u.field_data[f].len);
    };
    Url out;
    out.scheme = field(UF_SCHEMA);
    std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.host = field(UF_HOST);
    if (out.scheme.empty() || out.host.empty()) {
        throw Error(url, "the URL does not parse (expected http://host[:port]/path)");
    }
    if (out.scheme == "https") {
        throw Error(url, "https is not supported: this build of weft has no TLS");
    }
    if (out.scheme != "http") {
        throw Error(url, "unsupported scheme '" + out.scheme + "' (only http)");
    }
    if ((u.field_set & (1U << UF_PORT)) != 0) {
        out.port = u.port;
    }
    out.target = field(UF_PATH);
    if (out.target.empty()) {
        out.target = "/";
    }
    if (const std::string q = field(UF_QUERY); !q.empty()) {
        out.target += "?" + q;
    }
    return out;
}

// One request and its response, parsed as the bytes arrive. Not movable:
// the parser points back at it.
struct Exchange {
    explicit Exchange(std::string u) : url(std::move(u)) {
        http_parser_init(&parser, HTTP_RESPONSE);
        parser.data = this;
        http_parser_settings_init(&settings);
        settings.on_header_field = [](http_parser* p, const char* at, std::size_t len) {
            auto* ex = static_cast<Exchange*>(p->data);
            if (ex->in_value || ex->headers.empty()) {
                ex->headers.emplace_back();
                ex->in_value = false;
            }
            ex->headers.back().first.append(at, len);
            return 0;
        };
        settings.on_header_value = [](http_parser* p, const char* at, std::size_t len) {
            auto* ex = static_cast<Exchange*>(p->data);
            ex->in_value = true;
            ex->headers.back().second.append(at, len);
            return 0;
        };
        settings.on_headers_complete = [](http_parser* p) {
            static_cast<Exchange*>(p->data)->headers_done = true;
            return 0;
        };
        settings.on_body = [](http_parser* p, const char* at, std::size_t len) {
            static_cast<Exchange*>(p->data)->body.append(at, len);
            return 0;
        };
        settings.on_message_complete = [](http_parser* p) {
            static_cast<Exchange*>(p->data)->message_done = true;
            return 0;
        };
    }
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;

    // Parses `len` bytes (0: the server closed the connection).
    void feed(const char* data, std::size_t len) {
        const std::size_t parsed = http_parser_execute(&parser, &settings, data, len);
        const auto err = static_cast<http_errno>(parser.http_errno);
        if (err != HPE_OK) {
            if (len == 0 || err == HPE_INVALID_EOF_STATE) {
                throw Error(url, truncated_reason());
            }
            throw Error(url, std::string("malformed response: ") + http_errno_description(err));
        }
        if (parsed != len && !message_done) {
            throw Error(url, "malformed response: unparsed bytes");
        }
    }
    [[nodiscard]] std::string truncated_reason() const {
        if (!headers_done) {
            return "truncated response: the server closed the connection before the headers ended";
        }
        return "truncated response: the server closed the connection after " + std::to_string(body.size()) +
               " body bytes";
    }
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : headers) {
            if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                })) {
                return v;
            }
        }
        return std::nullopt;
    }

    std::string url;
    std::optional<net::TcpStream> conn;
    http_parser parser{};
    http_parser_settings settings{};
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool in_value = false;
    bool headers_done = false;
    bool message_done = false;
    bool body_taken = false;
};

namespace {

constexpr int kMaxRedirects = 10;

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Where `location` (from a response to `current`) points.
std::string resolve(const std::string& current, const Url& u, const std::string& location) {
    if (location.find("://") != std::string::npos) {
        return location;
    }
    const std::string origin = u.scheme + "://" + u.host + ":" + std::to_string(u.port);
    if (location.rfind("//", 0) == 0) {
        return u.scheme + ":" + location;
    }
    if (!location.empty() && location.front() == '/') {
        return origin + location;
    }
    std::string dir = u.target.substr(0, u.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    (void)current;
    return origin + dir + location;
}

// Opens a connection, sends the request and reads until the headers ended.
Task<std::unique_ptr<Exchange>> start(Url u, std::string url) {
    auto ex = std::make_unique<Exchange>(url);
    std::string failure;
    try {
        auto connecting = net::TcpStream::connect(u.host, u.port);
        ex->conn.emplace(co_await connecting);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!failure.empty()) {
        throw Error(url, "cannot connect: " + failure);
    }
    std::string request = "GET " + u.target + " HTTP/1.1\r\nHost: " + u.host;
    if (u.port != 80) {
        request += ":" + std::to_string(u.port);
    }
    request += "\r\nUser-Agent: weft\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    std::array<char, 16384> buf{};
    try {
        co_await ex->conn->write_all(request);
        while (!ex->headers_done) {
            const std::size_t n = co_await ex->conn->read_some(buf);
            ex->feed(buf.data(), n);
            if (n == 0 && !ex->headers_done) {
                throw Error(url, ex->truncated_reason());
            }
        }
    } catch (const std::system_error& e) {
        failure = e.what();
    }
    if (!failure.empty()) {
        throw Error(url, failure);
    }
    co_return ex;
}

}  // namespace
}  // namespace detail

Response::Response(std::unique_ptr<detail::Exchange> ex) : ex_(std::move(ex)) {
    status_ = static_cast<int>(ex_->parser.status_code);
    headers_ = ex_->headers;
    url_ = ex_->url;
}
Response::Response(Response&&) noexcept = default;
Response& Response::operator=(Response&&) noexcept = default;
Response::~Response() = default;

std::optional<std::string> Response::header(std::string_view name) const {
    if (!ex_) {
        return std::nullopt;
    }
    return ex_->header(name);
}

Task<std::string> Response::text() {
    if (!ex_) {
        throw std::logic_error("Response::text: the Response is empty (moved-from)");
    }
    if (ex_->body_taken) {
        throw std::logic_error("Response::text: the body was already read; text() yields it once");
    }
    ex_->body_taken = true;
    return read_body();
}

Task<std::string> Response::read_body() {
    detail::Exchange& ex = *ex_;
    std::array<char, 16384> buf{};
    std::string failure;
    try {
        while (!ex.message_done) {
            const std::size_t n = co_await ex.conn->read_some(buf);
            ex.feed(buf.data(), n);
            if (n == 0 && !ex.message_done) {
                throw Error(ex.url, ex.truncated_reason());
            }
        }
    } catch (const std::system_error& e) {
        failure = e.what();
    }
    if (!failure.empty()) {
        throw Error(ex.url, failure);
    }
    ex.conn.reset();
    co_return std::move(ex.body);
}

Task<Response> get(std::string url) {
    std::string current = url;
    std::vector<std::string> visited;
    for (int hops = 0;; ++hops) {
        const detail::Url u = detail::parse_url(current);
        auto ex = co_await detail::start(u, current);
        const int status = static_cast<int>(ex->parser.status_code);
        const auto location = ex->header("Location");
        if (!detail::is_redirect(status) || !location) {
            co_return Response(std::move(ex));
        }
        if (hops == detail::kMaxRedirects) {
            throw Error(url, "too many redirects (more than " + std::to_string(detail::kMaxRedirects) + ")");
        }
        visited.push_back(current);
        current = detail::resolve(current, u, *location);
        if (std::find(visited.begin(), visited.end(), current) != visited.end()) {
            throw Error(url, "redirect loop: " + current + " was already visited");
        }
    }
}

}  // namespace weft::http
