#include "weft/runtime.hpp"

#include <string>

namespace weft {

Runtime::Runtime(Options options) {
    if (options.worker_threads > 1024) {
        throw std::invalid_argument("weft::Runtime: worker_threads = " + std::to_string(options.worker_threads) +
                                    " is more than the 1024 a runtime may have");
    }
    if (options.worker_threads != 0) {
        throw std::invalid_argument(
            "weft::Runtime: worker_threads = " + std::to_string(options.worker_threads) +
            " is not supported yet (the multi-thread runtime is not built); use worker_threads = 0");
    }
    if (options.max_blocking_threads == 0) {
        throw std::invalid_argument("weft::Runtime: max_blocking_threads must be at least 1 (got 0)");
    }
    sched_ = std::make_unique<detail::Scheduler>(detail::SchedulerConfig{
        options.paused_clock, std::move(options.on_unhandled_exception), options.max_blocking_threads});
}

Runtime::~Runtime() = default;

}  // namespace weft
