#include "weft/runtime.hpp"

#include <string>

namespace weft {

Runtime::Runtime(Options options) {
    if (options.worker_threads != 0) {
        throw std::invalid_argument(
            "weft::Runtime: worker_threads = " + std::to_string(options.worker_threads) +
            " is not supported yet (the multi-thread runtime is not built); use worker_threads = 0");
    }
    sched_ = std::make_unique<detail::Scheduler>(
        detail::SchedulerConfig{options.paused_clock, std::move(options.on_unhandled_exception)});
}

Runtime::~Runtime() = default;

}  // namespace weft
