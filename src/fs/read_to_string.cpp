// read_to_string: a blocking read on the blocking pool.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "weft/blocking.hpp"
#include "weft/fs.hpp"

namespace weft {

namespace detail {

namespace {
[[noreturn]] void throw_file_error(const std::filesystem::path& path, int err) {
    throw std::filesystem::filesystem_error("weft::read_to_string", path,
                                            std::error_code(err, std::generic_category()));
}

struct Fd {
    int fd;
    ~Fd() { ::close(fd); }
};
}  // namespace

std::string read_file(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw_file_error(path, errno);
    }
    Fd guard{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throw_file_error(path, errno);
    }
    if (S_ISDIR(st.st_mode)) {
        throw_file_error(path, EISDIR);
    }
    std::string out;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        out.reserve(static_cast<std::size_t>(st.st_size));
    }
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            return out;
        } else if (errno != EINTR) {
            throw_file_error(path, errno);
        }
    }
}

}  // namespace detail

Task<std::string> read_to_string(std::filesystem::path path) {
    // Named first: g++ 12 destroys a lambda temporary inside a co_await
    // expression twice.
    auto read = [p = std::move(path)] { return detail::read_file(p); };
    auto job = spawn_blocking(std::move(read));
    co_return co_await job;
}

}  // namespace weft
