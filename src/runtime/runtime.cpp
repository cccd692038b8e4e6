#include "weft/runtime.hpp"

#include <string>

namespace weft {

Runtime::Runtime(Options options) {
    if (options.worker_threads > detail::Pool::kMaxWorkers) {
        throw std::invalid_argument("weft::Runtime: worker_threads = " + std::to_string(options.worker_threads) +
                                    " is more than the 1024 a runtime may have");
    }
    if (options.max_blocking_threads == 0) {
        throw std::invalid_argument("weft::Runtime: max_blocking_threads must be at least 1 (got 0)");
    }
    detail::SchedulerConfig cfg{options.paused_clock, std::move(options.on_unhandled_exception),
                                options.max_blocking_threads};
    if (options.worker_threads != 0) {
        pool_ = std::make_unique<detail::Pool>(options.worker_threads, std::move(cfg));
    } else {
        sched_ = std::make_unique<detail::Scheduler>(std::move(cfg));
    }
}

Runtime::~Runtime() = default;

}  // namespace weft
