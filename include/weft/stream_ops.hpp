// Stream sources and adaptors that need no clock: stream_from_iter, map,
// filter, take, merge. Included by weft/stream.hpp; include that one.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "weft/stream.hpp"

namespace weft {

/// The stream `stream_from_iter(range)` returns: the range's elements, in
/// order, each ready at once. Owns the range (a container is moved or copied
/// in; a view is kept as a view, so what it refers to must outlive the
/// stream). See `StreamBase` for what every stream offers.
template <class R>
class IterStream : public StreamBase<IterStream<R>, std::ranges::range_value_t<R>> {
public:
    using value_type = std::ranges::range_value_t<R>;

    explicit IterStream(R range) : state_(std::make_unique<State>(std::move(range))) {}

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<value_type>& out, const detail::Waker&) {
        State& s = *state_;
        if (s.it != s.end) {
            out.emplace(*s.it);
            ++s.it;
        }
        return true;
    }
    /// Stream protocol: nothing to drop (never waits).
    void unregister() noexcept {}

private:
    // On the heap so that moving the stream keeps the iterators valid.
    struct State {
        explicit State(R r) : range(std::move(r)), it(std::ranges::begin(range)), end(std::ranges::end(range)) {}
        R range;
        std::ranges::iterator_t<R> it;
        std::ranges::sentinel_t<R> end;
    };
    std::unique_ptr<State> state_;
};

/// A stream of the elements of `range` (a container, moved or copied in, or
/// a view such as `values | std::views::transform(f)`), each ready at once:
/// the book's `trpl::stream_from_iter`. Throws what copying the range throws.
template <std::ranges::input_range R>
[[nodiscard]] IterStream<std::remove_cvref_t<R>> stream_from_iter(R&& range) {
    return IterStream<std::remove_cvref_t<R>>(std::forward<R>(range));
}

/// The stream `s.map(f)` returns; see `StreamBase::map`.
template <class S, class F>
class MapStream : public StreamBase<MapStream<S, F>, std::decay_t<std::invoke_result_t<F&, typename S::value_type&&>>> {
public:
    using value_type = std::decay_t<std::invoke_result_t<F&, typename S::value_type&&>>;

    MapStream(S inner, F f) : inner_(std::move(inner)), f_(std::move(f)) {}

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<value_type>& out, const detail::Waker& w) {
        std::optional<typename S::value_type> in;
        if (!inner_.poll_next(in, w)) {
            return false;
        }
        if (in) {
            out.emplace(std::invoke(f_, std::move(*in)));
        }
        return true;
    }
    /// Stream protocol.
    void unregister() noexcept { inner_.unregister(); }

private:
    S inner_;
    F f_;
};

/// The stream `s.filter(p)` returns; see `StreamBase::filter`.
template <class S, class P>
class FilterStream : public StreamBase<FilterStream<S, P>, typename S::value_type> {
public:
    using value_type = typename S::value_type;

    FilterStream(S inner, P p) : inner_(std::move(inner)), p_(std::move(p)) {}

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<value_type>& out, const detail::Waker& w) {
        for (;;) {
            if (!inner_.poll_next(out, w)) {
                return false;
            }
            if (!out || std::invoke(p_, std::as_const(*out))) {
                return true;
            }
            out.reset();
        }
    }
    /// Stream protocol.
    void unregister() noexcept { inner_.unregister(); }

private:
    S inner_;
    P p_;
};

/// The stream `s.take(n)` returns; see `StreamBase::take`.
template <class S>
class TakeStream : public StreamBase<TakeStream<S>, typename S::value_type> {
public:
    using value_type = typename S::value_type;

    TakeStream(S inner, std::size_t n) : inner_(std::move(inner)), left_(n) {}

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<value_type>& out, const detail::Waker& w) {
        if (left_ == 0) {
            return true;
        }
        if (!inner_.poll_next(out, w)) {
            return false;
        }
        left_ = out ? left_ - 1 : 0;
        return true;
    }
    /// Stream protocol.
    void unregister() noexcept { inner_.unregister(); }

private:
    S inner_;
    std::size_t left_;
};

/// The stream `a.merge(b)` returns; see `StreamBase::merge`.
template <class A, class B>
class MergeStream : public StreamBase<MergeStream<A, B>, typename A::value_type> {
public:
    using value_type = typename A::value_type;
    static_assert(std::is_same_v<typename A::value_type, typename B::value_type>,
                  "Stream::merge: both streams must yield the same value_type (map one of them first)");

    MergeStream(A a, B b) : a_(std::move(a)), b_(std::move(b)) {}

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<value_type>& out, const detail::Waker& w) {
        const bool b_first = b_first_;
        if (b_first ? poll_one(b_, b_done_, a_, out, w) : poll_one(a_, a_done_, b_, out, w)) {
            return true;
        }
        if (b_first ? poll_one(a_, a_done_, b_, out, w) : poll_one(b_, b_done_, a_, out, w)) {
            return true;
        }
        return a_done_ && b_done_;  // both ended: the end (nothing registered)
    }
    /// Stream protocol.
    void unregister() noexcept {
        a_.unregister();
        b_.unregister();
    }

private:
    // True when `s` produced an item (then the other stream's registration
    // is dropped: stream rule 1, and the other stream goes first next time).
    template <class X, class Y>
    bool poll_one(X& s, bool& done, Y& other, std::optional<value_type>& out, const detail::Waker& w) {
        if (done || !s.poll_next(out, w)) {
            return false;
        }
        if (!out) {
            done = true;
            return false;
        }
        other.unregister();
        b_first_ = !b_first_;
        return true;
    }

    A a_;
    B b_;
    bool a_done_ = false;
    bool b_done_ = false;
    bool b_first_ = false;
};

}  // namespace weft
