// The epoll reactor; see weft/detail/reactor.hpp for the design and rules.
#include "weft/detail/reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <utility>

#include "weft/detail/scheduler.hpp"

namespace weft::detail {

namespace {
[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}
}  // namespace

Reactor::Reactor() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
        throw_errno("weft: epoll_create1");
    }
    evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (evfd_ < 0) {
        const int err = errno;
        ::close(epfd_);
        throw std::system_error(err, std::generic_category(), "weft: eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = nullptr;  // the eventfd
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) {
        const int err = errno;
        ::close(evfd_);
        ::close(epfd_);
        throw std::system_error(err, std::generic_category(), "weft: epoll_ctl(eventfd)");
    }
}

Reactor::~Reactor() {
    ::close(evfd_);
    ::close(epfd_);
}

void Reactor::add(IoSource* s) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = s;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        throw_errno("weft: epoll_ctl(ADD)");
    }
}

bool Reactor::poll(Scheduler& /*sched: waiters are woken through their own*/, int timeout_ms) {
    std::array<epoll_event, 256> events{};
    ++polls_;
    const int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    bool woke = false;
    for (int i = 0; i < n; ++i) {
        const epoll_event& e = events[static_cast<std::size_t>(i)];
        auto* s = static_cast<IoSource*>(e.data.ptr);
        if (s == nullptr) {
            std::uint64_t count = 0;
            ++polls_;
            (void)::read(evfd_, &count, sizeof count);  // reset the eventfd (edge-triggered)
            continue;
        }
        const bool in = (e.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        const bool out = (e.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
        std::lock_guard<std::mutex> lock(s->mu);  // io rules 1 and 4
        if (in) {
            if ((e.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
                s->read_closed.store(true, std::memory_order_release);  // io rule 6
            }
            s->set_ready(false);
            if (RemoteWaiter* w = std::exchange(s->reader, nullptr)) {
                w->wake_from_anywhere();  // under the lock: its awaiter may be leaving on its thread
                woke = true;
            }
        }
        if (out) {
            s->set_ready(true);
            if (RemoteWaiter* w = std::exchange(s->writer, nullptr)) {
                w->wake_from_anywhere();
                woke = true;
            }
        }
    }
    return woke;
}

void IoSourceDeleter::operator()(IoSource* s) const noexcept {
    Scheduler* home = nullptr;
    {
        std::lock_guard<std::mutex> lock(s->mu);
        home = s->home;
    }
    if (home == nullptr || home == current_scheduler()) {
        delete s;  // never registered, or on its home's thread between polls (io rule 3)
        return;
    }
    s->retire_cb.src = s;
    s->retire_cb.fn = [](WakeCallback* cb) { delete static_cast<IoSource::Retire*>(cb)->src; };
    s->retire_waiter.set_callback(&s->retire_cb);
    if (!home->endpoint()->post(&s->retire_waiter)) {
        delete s;  // the home runtime is gone: no reactor polls it any more
    }
}

void Reactor::notify() noexcept {
    const std::uint64_t one = 1;
    (void)::write(evfd_, &one, sizeof one);
}

}  // namespace weft::detail
