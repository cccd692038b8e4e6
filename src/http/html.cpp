// weft::Html on gumbo, the HTML5 parser packaged by Debian.
#include "weft/html.hpp"

#include <gumbo.h>

#include <cctype>
#include <new>
#include <stdexcept>
#include <vector>

namespace weft {

namespace detail {

struct HtmlDocument {
    std::string source;  // gumbo's positions index into this
    GumboOutput* output = nullptr;
    explicit HtmlDocument(std::string_view text) : source(text) {
        output = gumbo_parse_with_options(&kGumboDefaultOptions, source.data(), source.size());
        if (output == nullptr) {
            throw std::bad_alloc();
        }
    }
    HtmlDocument(const HtmlDocument&) = delete;
    HtmlDocument& operator=(const HtmlDocument&) = delete;
    ~HtmlDocument() { gumbo_destroy_output(&kGumboDefaultOptions, output); }
};

namespace {

struct Selector {
    std::string tag;
    std::string id;
    std::string cls;
};

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

Selector parse_selector(std::string_view s) {
    Selector out;
    std::size_t i = 0;
    auto name = [&]() {
        const std::size_t start = i;
        while (i < s.size() && name_char(s[i])) {
            ++i;
        }
        return std::string(s.substr(start, i - start));
    };
    out.tag = name();
    for (auto& c : out.tag) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    while (i < s.size()) {
        const char kind = s[i++];
        std::string n = name();
        if (n.empty() || (kind != '#' && kind != '.') || (kind == '#' && !out.id.empty()) ||
            (kind == '.' && !out.cls.empty())) {
            throw std::invalid_argument("weft::Html::select_first: unsupported selector '" + std::string(s) +
                                        "' (use tag, #id, .class, tag#id or tag.class)");
        }
        (kind == '#' ? out.id : out.cls) = std::move(n);
    }
    if (out.tag.empty() && out.id.empty() && out.cls.empty()) {
        throw std::invalid_argument("weft::Html::select_first: empty selector '" + std::string(s) + "'");
    }
    return out;
}

const char* attr_of(const GumboElement& e, const char* name) {
    const GumboAttribute* a = gumbo_get_attribute(&e.attributes, name);
    return a != nullptr ? a->value : nullptr;
}

bool has_class(const char* list, const std::string& cls) {
    std::string_view v(list);
    std::size_t i = 0;
    while (i < v.size()) {
        while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i])) != 0) {
            ++i;
        }
        const std::size_t start = i;
        while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i])) == 0) {
            ++i;
        }
        if (v.substr(start, i - start) == cls) {
            return true;
        }
    }
    return false;
}

std::string tag_name(const GumboNode* n) {
    const GumboElement& e = n->v.element;
    if (e.tag != GUMBO_TAG_UNKNOWN) {
        return gumbo_normalized_tagname(e.tag);
    }
    GumboStringPiece piece = e.original_tag;
    gumbo_tag_from_original_text(&piece);
    std::string s(piece.data, piece.length);
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

bool matches(const GumboNode* n, const Selector& sel) {
    if (n->type != GUMBO_NODE_ELEMENT) {
        return false;
    }
    if (!sel.tag.empty() && tag_name(n) != sel.tag) {
        return false;
    }
    if (!sel.id.empty()) {
        const char* id = attr_of(n->v.element, "id");
        if (id == nullptr || sel.id != id) {
            return false;
        }
    }
    if (!sel.cls.empty()) {
        const char* cls = attr_of(n->v.element, "class");
        if (cls == nullptr || !has_class(cls, sel.cls)) {
            return false;
        }
    }
    return true;
}

const GumboNode* find_first(const GumboNode* root, const Selector& sel) {
    std::vector<const GumboNode*> stack{root};
    while (!stack.empty()) {
        const GumboNode* n = stack.back();
        stack.pop_back();
        if (matches(n, sel)) {
            return n;
        }
        if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_DOCUMENT) {
            const GumboVector& kids = n->type == GUMBO_NODE_ELEMENT ? n->v.element.children : n->v.document.children;
            for (unsigned i = kids.length; i > 0; --i) {  // reversed: pop in document order
                stack.push_back(static_cast<const GumboNode*>(kids.data[i - 1]));
            }
        }
    }
    return nullptr;
}

void append_text(const GumboNode* n, std::string& out) {
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
        out += n->v.text.text;
    } else if (n->type == GUMBO_NODE_ELEMENT) {
        const GumboVector& kids = n->v.element.children;
        for (unsigned i = 0; i < kids.length; ++i) {
            append_text(static_cast<const GumboNode*>(kids.data[i]), out);
        }
    }
}

}  // namespace
}  // namespace detail

Html Html::parse(std::string_view text) {
    return Html(std::make_shared<const detail::HtmlDocument>(text));
}

std::optional<HtmlElement> Html::select_first(std::string_view selector) const {
    const detail::Selector sel = detail::parse_selector(selector);
    const GumboNode* n = detail::find_first(doc_->output->document, sel);
    if (n == nullptr) {
        return std::nullopt;
    }
    return HtmlElement(doc_, n);
}

std::string HtmlElement::tag() const {
    return detail::tag_name(static_cast<const GumboNode*>(node_));
}

std::optional<std::string> HtmlElement::attr(std::string_view name) const {
    const auto* n = static_cast<const GumboNode*>(node_);
    const char* v = detail::attr_of(n->v.element, std::string(name).c_str());
    if (v == nullptr) {
        return std::nullopt;
    }
    return std::string(v);
}

std::string HtmlElement::inner_html() const {
    const auto* n = static_cast<const GumboNode*>(node_);
    const GumboElement& e = n->v.element;
    const std::string& src = doc_->source;
    if (e.original_tag.data == nullptr || e.original_tag.length == 0) {
        return text();  // an element the parser made up (no start tag in the source)
    }
    const std::size_t begin = static_cast<std::size_t>(e.original_tag.data - src.data()) + e.original_tag.length;
    std::size_t end = e.end_pos.offset;
    if (e.original_end_tag.data != nullptr && e.original_end_tag.length != 0) {
        end = static_cast<std::size_t>(e.original_end_tag.data - src.data());
    }
    if (end < begin || end > src.size()) {
        return text();
    }
    return src.substr(begin, end - begin);
}

std::string HtmlElement::text() const {
    std::string out;
    detail::append_text(static_cast<const GumboNode*>(node_), out);
    return out;
}

}  // namespace weft
