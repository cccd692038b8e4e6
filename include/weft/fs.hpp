// Files, read without blocking the runtime.
#pragma once

#include <filesystem>
#include <string>

#include "weft/task.hpp"

namespace weft {

/// Reads the whole file at `path` into a string, on the blocking pool (see
/// `spawn_blocking`), so the runtime's thread never waits for the disk.
/// Completes with the contents; throws std::filesystem::filesystem_error
/// carrying `path` and the operating system's reason (its `code()` is the
/// errno: `ENOENT` for a missing file, `EISDIR` for a directory, `EACCES`
/// without read permission; `what()` names both). Throws std::logic_error
/// when awaited outside a runtime. Cancel safety: if the awaiting task is
/// cancelled, the read may still complete on the pool; its result is
/// dropped.
[[nodiscard]] Task<std::string> read_to_string(std::filesystem::path path);

namespace detail {
// The blocking read itself (what read_to_string runs on the pool).
std::string read_file(const std::filesystem::path& path);
}  // namespace detail

}  // namespace weft
