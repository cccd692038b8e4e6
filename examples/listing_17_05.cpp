// The book's listing 17-5: race two page fetches and print the title of the
// one that answers first. `weft::race` (select) runs both on the main task;
// the loser is cancelled (its connection closed) when the winner is done.
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <weft/html.hpp>
#include <weft/http.hpp>
#include <weft/weft.hpp>

weft::Task<std::pair<std::string, std::optional<std::string>>> page_title(std::string url) {
    std::string response_text = co_await (co_await weft::http::get(url)).text();
    auto title = weft::Html::parse(response_text).select_first("title");
    co_return std::pair<std::string, std::optional<std::string>>(
        url, title ? std::optional<std::string>(title->inner_html()) : std::nullopt);
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: listing_17_05 <url> <url>\n";
        return 2;
    }
    const std::string first = argv[1];
    const std::string second = argv[2];
    weft::block_on([&]() -> weft::Task<void> {
        auto title_fut_1 = page_title(first);
        auto title_fut_2 = page_title(second);

        auto winner = co_await weft::race(std::move(title_fut_1), std::move(title_fut_2));
        auto [url, maybe_title] = winner.index() == 0 ? std::move(std::get<0>(winner)) : std::move(std::get<1>(winner));

        std::cout << url << " returned first\n";
        if (maybe_title) {
            std::cout << "Its page title is: '" << *maybe_title << "'\n";
        } else {
            std::cout << "Its title could not be parsed.\n";
        }
    });
}
