// The book's listings 17-3 and 17-4: main can't be a coroutine, so it hands
// the async work to a runtime. The book's 17-3 (awaiting in a plain main)
// does not compile in Rust either; in C++ `co_await` in main is a compile
// error too. Listing 17-4's fix, `trpl::run`, is `weft::block_on`.
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
        std::cerr << "usage: listing_17_03 <url>\n";
        return 2;
    }
    const std::string url = argv[1];
    weft::block_on([&url]() -> weft::Task<void> {
        auto title = co_await page_title(url);
        if (title) {
            std::cout << "The title for " << url << " was " << *title << '\n';
        } else {
            std::cout << url << " had no title\n";
        }
    });
}
