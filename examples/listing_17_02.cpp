// The book's listing 17-2: the same function with the two awaits chained in
// one expression, `(co_await (co_await get(url)).text())`.
#include <iostream>
#include <optional>
#include <string>
#include <weft/html.hpp>
#include <weft/http.hpp>
#include <weft/weft.hpp>

weft::Task<std::optional<std::string>> page_title(std::string url) {
    std::string response_text = co_await (co_await weft::http::get(url)).text();
    auto title = weft::Html::parse(response_text).select_first("title");
    if (!title) {
        co_return std::nullopt;
    }
    co_return title->inner_html();
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: listing_17_02 <url>\n";
        return 2;
    }
    std::optional<std::string> title = weft::block_on(page_title(argv[1]));
    std::cout << (title ? "title: " + *title : "no title") << '\n';
}
