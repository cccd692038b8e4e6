// weft::http::get and weft::Html against a local server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <weft/html.hpp>
#include <weft/http.hpp>

#include "support/http_server.hpp"
#include "support/probe.hpp"

using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

std::map<std::string, Route> routes() {
    std::map<std::string, Route> r;
    r["/page"] = {http_response(html_page("Hello, weft"), "200 OK", "X-Test: yes\r\n")};
    r["/chunked"] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"};
    r["/until-close"] = {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until the close"};
    r["/redirect"] = {http_response("", "302 Found", "Location: /page\r\n")};
    r["/redirect-twice"] = {http_response("", "301 Moved Permanently", "Location: redirect\r\n")};
    r["/loop"] = {http_response("", "302 Found", "Location: /loop2\r\n")};
    r["/loop2"] = {http_response("", "302 Found", "Location: /loop\r\n")};
    r["/truncated"] = {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a little"};
    r["/truncated-headers"] = {"HTTP/1.1 200 OK\r\nContent-Len"};
    r["/malformed"] = {"HTTP/1.1 abc Nope\r\n\r\n"};
    r["/slow"] = {http_response(html_page("Slow")), 300ms};
    r["/missing"] = {http_response("gone", "404 Not Found")};
    for (int i = 0; i < 12; ++i) {
        r["/hop" + std::to_string(i)] = {
            http_response("", "302 Found", "Location: /hop" + std::to_string(i + 1) + "\r\n")};
    }
    return r;
}

// The message of the weft::http::Error that `t` throws ("" if none).
template <class T>
Task<std::string> http_error_of(Task<T> t) {
    try {
        (void)co_await t;
    } catch (const weft::http::Error& e) {
        co_return std::string(e.what());
    }
    co_return std::string();
}

Task<std::string> body_of(std::string url) {
    auto response = co_await weft::http::get(url);
    co_return co_await response.text();
}

}  // namespace

TEST(Http, get_yields_status_headers_and_text) {
    TestHttpServer server(routes());
    weft_test::run([&]() -> Task<> {
        auto response = co_await weft::http::get(server.url("/page"));
        EXPECT_EQ(response.status(), 200);
        EXPECT_EQ(response.header("x-test"), "yes");
        EXPECT_EQ(response.header("Content-Length"), std::to_string(html_page("Hello, weft").size()));
        EXPECT_FALSE(response.header("nope").has_value());
        EXPECT_FALSE(response.headers().empty());
        EXPECT_EQ(co_await response.text(), html_page("Hello, weft"));
        EXPECT_FALSE(logic_error_of([&] { (void)response.text(); }).empty());
    });
}

TEST(Http, chunked_until_close_and_error_statuses) {
    TestHttpServer server(routes());
    weft_test::run([&]() -> Task<> {
        EXPECT_EQ(co_await body_of(server.url("/chunked")), "hello, world");
        EXPECT_EQ(co_await body_of(server.url("/until-close")), "all of this until the close");
        auto missing = co_await weft::http::get(server.url("/missing"));
        EXPECT_EQ(missing.status(), 404);  // a status is not an error
        EXPECT_EQ(co_await missing.text(), "gone");
    });
}

TEST(Http, redirects_are_followed_and_loops_refused) {
    TestHttpServer server(routes());
    weft_test::run([&]() -> Task<> {
        auto r = co_await weft::http::get(server.url("/redirect-twice"));
        EXPECT_EQ(r.status(), 200);
        EXPECT_EQ(r.url(), server.url("/page"));
        EXPECT_EQ(co_await r.text(), html_page("Hello, weft"));
        const std::string loop = co_await http_error_of(weft::http::get(server.url("/loop")));
        EXPECT_NE(loop.find("redirect loop"), std::string::npos) << loop;
        EXPECT_NE(loop.find(server.url("/loop")), std::string::npos) << loop;
        const std::string hops = co_await http_error_of(weft::http::get(server.url("/hop0")));
        EXPECT_NE(hops.find("too many redirects"), std::string::npos) << hops;
    });
}

TEST(Http, truncated_and_malformed_responses_name_the_url_and_reason) {
    TestHttpServer server(routes());
    weft_test::run([&]() -> Task<> {
        const std::string truncated = co_await http_error_of(body_of(server.url("/truncated")));
        EXPECT_NE(truncated.find(server.url("/truncated")), std::string::npos) << truncated;
        EXPECT_NE(truncated.find("truncated response"), std::string::npos) << truncated;
        const std::string headers = co_await http_error_of(weft::http::get(server.url("/truncated-headers")));
        EXPECT_NE(headers.find("before the headers ended"), std::string::npos) << headers;
        const std::string malformed = co_await http_error_of(weft::http::get(server.url("/malformed")));
        EXPECT_NE(malformed.find("malformed response"), std::string::npos) << malformed;
        EXPECT_EQ(co_await body_of(server.url("/page")), html_page("Hello, weft"));  // still usable
    });
}

TEST(Http, bad_urls_refused_connections_and_unknown_hosts) {
    // A port that refuses for the whole test: a socket bound to it that never
    // listens (a port merely closed again could be taken by a test running
    // alongside).
    const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(holder, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::uint16_t port = ntohs(addr.sin_port);
    weft_test::run([port]() -> Task<> {
        const std::string bad = co_await http_error_of(weft::http::get("not a url"));
        EXPECT_NE(bad.find("not a url"), std::string::npos) << bad;
        EXPECT_NE(bad.find("does not parse"), std::string::npos) << bad;
        const std::string tls = co_await http_error_of(weft::http::get("https://127.0.0.1/"));
        EXPECT_NE(tls.find("https is not supported"), std::string::npos) << tls;
        const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
        const std::string refused = co_await http_error_of(weft::http::get(url));
        EXPECT_NE(refused.find(url), std::string::npos) << refused;
        EXPECT_NE(refused.find("Connection refused"), std::string::npos) << refused;
        const std::string unknown = co_await http_error_of(weft::http::get("http://no-such-host.invalid/"));
        EXPECT_NE(unknown.find("cannot resolve 'no-such-host.invalid'"), std::string::npos) << unknown;
    });
    ::close(holder);
}

TEST(Http, timeout_cancels_a_slow_request) {
    TestHttpServer server(routes());
    weft_test::run([&]() -> Task<> {
        auto late = co_await weft::timeout(50ms, weft::http::get(server.url("/slow")));
        EXPECT_FALSE(late.has_value());
        auto in_time = co_await weft::timeout(5s, body_of(server.url("/slow")));
        EXPECT_EQ(in_time, html_page("Slow"));
    });
}

// ---- Html

TEST(Html, select_first_by_tag_id_and_class) {
    const auto doc = weft::Html::parse(
        "<html><head><title>Rust &amp; weft</title></head><body>"
        "<p class=\"note first\">one</p><p id=\"main\" class=\"note\">two <b>bold</b></p><div class=note>three</div>"
        "</body></html>");
    EXPECT_EQ(doc.select_first("title")->inner_html(), "Rust &amp; weft");
    EXPECT_EQ(doc.select_first("title")->text(), "Rust & weft");
    EXPECT_EQ(doc.select_first("#main")->inner_html(), "two <b>bold</b>");
    EXPECT_EQ(doc.select_first(".note")->text(), "one");
    EXPECT_EQ(doc.select_first("div.note")->text(), "three");
    EXPECT_EQ(doc.select_first("p#main")->attr("class"), "note");
    EXPECT_EQ(doc.select_first("P")->tag(), "p");
    EXPECT_FALSE(doc.select_first("h1").has_value());
    EXPECT_FALSE(doc.select_first("p#nope").has_value());
}

TEST(Html, malformed_markup_is_recovered_as_browsers_do) {
    // Unclosed <p>s and <html>, stray end tags, an unquoted attribute.
    const auto doc = weft::Html::parse("<title>T</title><body><p>a<p>b</div></span><p class=x>c");
    EXPECT_EQ(doc.select_first("title")->text(), "T");
    EXPECT_EQ(doc.select_first("p")->text(), "a");
    // Inside <title> everything up to </title> is text (HTML5's RCDATA).
    EXPECT_EQ(weft::Html::parse("<title>a<b>c</title>").select_first("title")->text(), "a<b>c");
    EXPECT_EQ(doc.select_first(".x")->text(), "c");
    EXPECT_FALSE(weft::Html::parse("").select_first("title").has_value());
    EXPECT_FALSE(weft::Html::parse("\xff\xfe<<>>&&;").select_first("title").has_value());
}

TEST(Html, unsupported_selectors_are_refused_by_name) {
    const auto doc = weft::Html::parse("<p>x</p>");
    for (const char* bad : {"", "p > a", "a[href]", "#", ".a.b", "p#a#b"}) {
        try {
            (void)doc.select_first(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
        }
    }
}

TEST(Html, elements_keep_their_document_alive) {
    std::optional<weft::HtmlElement> title;
    {
        const auto doc = weft::Html::parse("<title>kept</title>");
        title = doc.select_first("title");
    }
    EXPECT_EQ(title->inner_html(), "kept");
}

TEST(Http, large_bodies_across_many_reads) {
    std::string body(3 << 20, 'x');
    body += "<title>end</title>";
    std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t i = 0; i < body.size(); i += 100000) {
        const std::string part = body.substr(i, 100000);
        char len[32];
        std::snprintf(len, sizeof len, "%zx\r\n", part.size());
        chunked += len + part + "\r\n";
    }
    chunked += "0\r\n\r\n";
    std::map<std::string, Route> r;
    r["/big"] = {http_response(body)};
    r["/big-chunked"] = {chunked};
    TestHttpServer server(r);
    weft_test::run([&]() -> Task<> {
        EXPECT_TRUE(co_await body_of(server.url("/big")) == body);
        const std::string text = co_await body_of(server.url("/big-chunked"));
        EXPECT_EQ(text.size(), body.size());
        EXPECT_EQ(weft::Html::parse(text).select_first("title")->inner_html(), "end");
    });
}

TEST(Html, inner_html_keeps_nested_markup_as_written) {
    const auto doc = weft::Html::parse("<div id=a><p>one <i>two</i></p><!-- c --><br>three</div>");
    EXPECT_EQ(doc.select_first("#a")->inner_html(), "<p>one <i>two</i></p><!-- c --><br>three");
    EXPECT_EQ(doc.select_first("#a")->text(), "one twothree");
}
