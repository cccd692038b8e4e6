// weft-bench's workloads beyond the core ones in weft_bench.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <weft/weft.hpp>

namespace weft_bench {

// Throws std::runtime_error: a workload's self-check failed.
[[noreturn]] void check_failed(const std::string& what);

// WORKLOADS.md's tcp_echo; returns the round trips run.
std::uint64_t tcp_echo(weft::Runtime& rt, std::uint64_t n);

// Lines of their own (each returns the process exit status):
int chan_memory(std::uint64_t n);                   // a channel's memory, full and drained
int scaling(std::uint64_t n, std::size_t workers);  // CPU-bound tasks, by worker count
int stream_iter(std::uint64_t n);                   // streams against a plain loop
int interval_paused();                              // 1 ms ticks over 10 s of paused time

}  // namespace weft_bench
