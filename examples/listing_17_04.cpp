// The book's listing 17-4: `trpl::run` is `weft::block_on`; it starts a
// runtime, runs the task until it completes and shuts the runtime down.
// Prints "The title for <url> was <title>" or "<url> had no title"; a
// failed request prints the error (naming the URL and the reason) and
// exits with status 1.
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
        std::cerr << "usage: listing_17_04 <url>\n";
        return 2;
    }
    const std::string url = argv[1];
    try {
        weft::block_on([&url]() -> weft::Task<void> {
            auto title = co_await page_title(url);
            if (title) {
                std::cout << "The title for " << url << " was " << *title << '\n';
            } else {
                std::cout << url << " had no title\n";
            }
        });
    } catch (const weft::http::Error& e) {
        std::cout << "error: " << e.what() << '\n';
        return 1;
    }
}
