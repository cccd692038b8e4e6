// The book's listing 17-1: an async function that fetches a page and
// returns its title. `page_title` is a coroutine: nothing happens until it
// is awaited (here by main, through block_on, with the URL from the command
// line; the book's listing stops at the function).
#include <iostream>
#include <optional>
#include <string>
#include <weft/html.hpp>
#include <weft/http.hpp>
#include <weft/weft.hpp>

weft::Task<std::optional<std::string>> page_title(std::string url) {
    auto response = co_await weft::http::get(url);
    std::string response_text = co_await response.text();
    auto title = weft::Html::parse(response_text).select_first("title");
    if (!title) {
        co_return std::nullopt;
    }
    co_return title->inner_html();
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: listing_17_01 <url>\n";
        return 2;
    }
    std::optional<std::string> title = weft::block_on(page_title(argv[1]));
    std::cout << (title ? "title: " + *title : "no title") << '\n';
}
