// weft::http: an HTTP/1.1 client on weft's own TCP (the book's trpl::get).
// Part of the `weft::http` CMake target (it links the http-parser library).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/task.hpp"

namespace weft::http {

/// What `get` and `Response::text` throw: the request failed. `what()` names
/// the URL and the reason ("connection refused", "truncated response",
/// "redirect loop", ...); `url()` is the URL that failed.
class Error : public std::runtime_error {
public:
    Error(std::string url, const std::string& reason);
    [[nodiscard]] const std::string& url() const noexcept { return url_; }

private:
    std::string url_;
};

namespace detail {
struct Exchange;
}

/// An HTTP response whose status line and headers have arrived; the body is
/// read by `text()`. Move-only; owns the connection until the body is read.
class Response {
public:
    Response(Response&&) noexcept;
    Response& operator=(Response&&) noexcept;
    Response(const Response&) = delete;
    Response& operator=(const Response&) = delete;
    ~Response();

    /// The status code (200, 404, ...).
    [[nodiscard]] int status() const noexcept { return status_; }
    /// The headers in the order received (names as sent).
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return headers_; }
    /// The first header named `name` (compared case-insensitively).
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
    /// The URL this response came from (after redirects).
    [[nodiscard]] const std::string& url() const noexcept { return url_; }

    /// Reads the whole body (content-length, chunked, or until the server
    /// closes) and yields it. Completes when the body is complete; throws
    /// `Error` for a truncated or malformed body. Calling it a second time
    /// (or on a moved-from Response) throws std::logic_error at once. Cancel safety: cancelled mid-way, the body is
    /// lost (the connection is in an unknown state); the Response stays destructible.
    [[nodiscard]] Task<std::string> text();

private:
    friend Task<Response> get(std::string url);
    Task<std::string> read_body();
    explicit Response(std::unique_ptr<detail::Exchange> ex);

    std::unique_ptr<detail::Exchange> ex_;
    int status_ = 0;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::string url_;
};

/// Fetches `url` with an HTTP/1.1 GET and completes when the status line and
/// headers have arrived: `auto text = co_await (co_await weft::http::get(url)).text();`.
/// Follows up to 10 redirects (301, 302, 303, 307, 308). Names are resolved
/// on the blocking pool. Throws `Error` naming the URL and the reason: a URL
/// that does not parse, a scheme other than http (this build has no TLS, so
/// https is refused with that reason), an unknown host, a refused
/// connection, a truncated or malformed response, too many redirects or a
/// redirect loop. Cancel safety: cancelled while waiting, the connection is
/// closed and nothing else is left behind.
[[nodiscard]] Task<Response> get(std::string url);

}  // namespace weft::http
