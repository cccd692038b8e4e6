// weft::Html: an HTML5 parser (gumbo) with simple selectors (the book's
// trpl::Html). Part of the `weft::http` CMake target.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace weft {

namespace detail {
struct HtmlDocument;
}

/// An element of a parsed `Html` document; keeps the document alive.
/// Copyable.
class HtmlElement {
public:
    /// The tag name, lower case ("title").
    [[nodiscard]] std::string tag() const;
    /// The attribute's value, if the element has it.
    [[nodiscard]] std::optional<std::string> attr(std::string_view name) const;
    /// The markup between the element's start and end tags, as written in
    /// the source (`<title>Rust &amp; me</title>` gives `Rust &amp; me`).
    /// For an element whose end tag the source omits, the markup up to where
    /// the parser closed it.
    [[nodiscard]] std::string inner_html() const;
    /// The element's text with the markup removed and entities decoded.
    [[nodiscard]] std::string text() const;

private:
    friend class Html;
    HtmlElement(std::shared_ptr<const detail::HtmlDocument> doc, const void* node) noexcept
        : doc_(std::move(doc)), node_(node) {}
    std::shared_ptr<const detail::HtmlDocument> doc_;
    const void* node_;  // a GumboNode of doc_
};

/// A parsed HTML document. Parsing follows the HTML5 algorithm (the
/// browsers' error recovery), so malformed markup never fails: unclosed
/// tags are closed, stray end tags ignored, as a browser would. Copyable
/// (copies share the document). Thread-safe for concurrent reads.
class Html {
public:
    /// Parses `text` (UTF-8). Throws std::bad_alloc if the parser runs out of
    /// memory; nothing else.
    [[nodiscard]] static Html parse(std::string_view text);

    /// The first element, in document order, that matches `selector`: a tag
    /// name (`title`), `#id`, `.class`, or a tag with either (`div#main`,
    /// `p.note`); std::nullopt when none does. Throws std::invalid_argument
    /// for a selector outside that grammar, naming it.
    [[nodiscard]] std::optional<HtmlElement> select_first(std::string_view selector) const;

private:
    explicit Html(std::shared_ptr<const detail::HtmlDocument> doc) noexcept : doc_(std::move(doc)) {}
    std::shared_ptr<const detail::HtmlDocument> doc_;
};

}  // namespace weft
