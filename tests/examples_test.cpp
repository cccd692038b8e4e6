// The book's listings: each example's exact output under the paused clock.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include "support/http_server.hpp"

namespace {

std::string run(const std::string& name, const std::string& args = "--paused-clock") {
    const std::string cmd = std::string(WEFT_EXAMPLES_DIR) + "/" + name + " " + args;
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) {
        return "<popen failed>";
    }
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) {
        out.append(buf.data(), n);
    }
    const int status = pclose(p);
    if (status != 0) {
        out += "<exit status " + std::to_string(status) + ">";
    }
    return out;
}

std::string lines(std::initializer_list<const char*> ls) {
    std::string s;
    for (const char* l : ls) {
        s += l;
        s += '\n';
    }
    return s;
}

const std::string kTakingTurns = lines({
    "'a' started.",
    "'a' ran for 30ms",
    "'b' started.",
    "'b' ran for 75ms",
    "'a' ran for 10ms",
    "'b' ran for 10ms",
    "'a' ran for 20ms",
    "'b' ran for 15ms",
    "'a' finished.",
});

}  // namespace

TEST(Examples, listing_17_06_the_spawned_task_stops_with_the_main_task) {
    EXPECT_EQ(run("listing_17_06"), lines({
                                        "hi number 1 from the second task!",
                                        "hi number 1 from the first task!",
                                        "hi number 2 from the second task!",
                                        "hi number 2 from the first task!",
                                        "hi number 3 from the second task!",
                                        "hi number 3 from the first task!",
                                        "hi number 4 from the second task!",
                                        "hi number 4 from the first task!",
                                    }));
}

TEST(Examples, listing_17_07_awaiting_the_handle_runs_the_task_to_completion) {
    EXPECT_EQ(run("listing_17_07"), lines({
                                        "hi number 1 from the second task!",
                                        "hi number 1 from the first task!",
                                        "hi number 2 from the second task!",
                                        "hi number 2 from the first task!",
                                        "hi number 3 from the second task!",
                                        "hi number 3 from the first task!",
                                        "hi number 4 from the second task!",
                                        "hi number 4 from the first task!",
                                        "hi number 5 from the first task!",
                                        "hi number 6 from the first task!",
                                        "hi number 7 from the first task!",
                                        "hi number 8 from the first task!",
                                        "hi number 9 from the first task!",
                                    }));
}

TEST(Examples, listing_17_08_join_alternates_fairly) {
    EXPECT_EQ(run("listing_17_08"), lines({
                                        "hi number 1 from the first task!",
                                        "hi number 1 from the second task!",
                                        "hi number 2 from the first task!",
                                        "hi number 2 from the second task!",
                                        "hi number 3 from the first task!",
                                        "hi number 3 from the second task!",
                                        "hi number 4 from the first task!",
                                        "hi number 4 from the second task!",
                                        "hi number 5 from the first task!",
                                        "hi number 6 from the first task!",
                                        "hi number 7 from the first task!",
                                        "hi number 8 from the first task!",
                                        "hi number 9 from the first task!",
                                    }));
}

TEST(Examples, listing_17_14_blocking_work_starves_the_other_future) {
    EXPECT_EQ(run("listing_17_14"), lines({
                                        "'a' started.",
                                        "'a' ran for 30ms",
                                        "'a' ran for 10ms",
                                        "'a' ran for 20ms",
                                        "'b' started.",
                                        "'b' ran for 75ms",
                                        "'b' ran for 10ms",
                                        "'b' ran for 15ms",
                                        "'b' ran for 350ms",
                                        "'a' finished.",
                                    }));
}

TEST(Examples, listing_17_15_short_sleeps_let_the_futures_take_turns) {
    EXPECT_EQ(run("listing_17_15"), kTakingTurns);
}

TEST(Examples, listing_17_16_yield_now_gives_the_same_turns) {
    EXPECT_EQ(run("listing_17_16"), kTakingTurns);
}

// The real clock (the slow steps really block): the order must not change.
TEST(Examples, listing_17_16_real_clock_gives_the_same_turns) {
    EXPECT_EQ(run("listing_17_16", ""), kTakingTurns);
}

TEST(Examples, listing_17_17_sleep_costs_a_tick_and_yield_nothing) {
    EXPECT_EQ(run("listing_17_17"), lines({
                                        "'sleep' version finished after 0.999 seconds.",
                                        "'yield' version finished after 0 seconds.",
                                    }));
}

TEST(Examples, listings_17_18_to_17_20_time_out_after_two_seconds) {
    for (const char* name : {"listing_17_18", "listing_17_19", "listing_17_20"}) {
        EXPECT_EQ(run(name), "Failed after 2 seconds\n") << name;
    }
}

namespace {
const std::string kFourReceived = lines({"received 'hi'", "received 'from'", "received 'the'", "received 'future'"});
const std::string kStillWaiting = "(still waiting: tx is alive, so the channel never closes)\n";
}  // namespace

TEST(Examples, listing_17_09_one_message) {
    EXPECT_EQ(run("listing_17_09"), "Got: hi\n");
}

TEST(Examples, listings_17_10_and_17_11_never_close_the_channel_and_are_bounded) {
    EXPECT_EQ(run("listing_17_10"), kFourReceived + kStillWaiting);
    EXPECT_EQ(run("listing_17_11"), kFourReceived + kStillWaiting);
}

TEST(Examples, listing_17_12_moving_tx_into_the_future_closes_the_channel) {
    EXPECT_EQ(run("listing_17_12"), kFourReceived);
}

TEST(Examples, listing_17_13_two_producers_interleave_exactly) {
    EXPECT_EQ(run("listing_17_13"), lines({
                                        "received 'hi'",
                                        "received 'more'",
                                        "received 'from'",
                                        "received 'the'",
                                        "received 'messages'",
                                        "received 'future'",
                                        "received 'for'",
                                        "received 'you'",
                                    }));
}

TEST(Examples, listing_17_25_a_thread_sends_into_the_runtime) {
    EXPECT_EQ(run("listing_17_25"), lines({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}));
}

TEST(Examples, listing_17_21_a_stream_from_an_iterator) {
    EXPECT_EQ(run("listing_17_21"), lines({
                                        "The value was: 2",
                                        "The value was: 4",
                                        "The value was: 6",
                                        "The value was: 8",
                                        "The value was: 10",
                                        "The value was: 12",
                                        "The value was: 14",
                                        "The value was: 16",
                                        "The value was: 18",
                                        "The value was: 20",
                                    }));
}

TEST(Examples, listing_17_22_filtering_a_stream) {
    EXPECT_EQ(run("listing_17_22"), lines({
                                        "The value was: 6",
                                        "The value was: 10",
                                        "The value was: 12",
                                        "The value was: 18",
                                        "The value was: 20",
                                    }));
}

// Messages at 100, 400, 500, 800, 900, ... ms; each waited for at most
// 200 ms from the previous item; interval ticks every 1 ms throttled to one
// per 100 ms (ticks 1, 101, 201, ...: the missed ones are skipped).
TEST(Examples, stream_merge_timeouts_throttle_and_take_20) {
    EXPECT_EQ(run("stream_merge"), lines({
                                       "Interval: 1",
                                       "Message: 'a'",
                                       "Interval: 101",
                                       "Interval: 201",
                                       "Problem: deadline has elapsed",
                                       "Interval: 301",
                                       "Message: 'b'",
                                       "Interval: 401",
                                       "Message: 'c'",
                                       "Interval: 501",
                                       "Interval: 601",
                                       "Problem: deadline has elapsed",
                                       "Interval: 701",
                                       "Message: 'd'",
                                       "Interval: 801",
                                       "Message: 'e'",
                                       "Interval: 901",
                                       "Interval: 1001",
                                       "Problem: deadline has elapsed",
                                       "Interval: 1101",
                                   }));
}

TEST(Examples, read_file_reads_on_the_blocking_pool_and_reports_errors) {
    const std::string out = run("read_file", "");
    EXPECT_EQ(out.rfind("read ", 0), 0U) << out;
    EXPECT_NE(out.find("first line: // Blocking work off the runtime's thread"), std::string::npos) << out;
    const std::string missing = run("read_file", "/nonexistent/weft-file");
    EXPECT_NE(missing.find("error: filesystem error: weft::read_to_string: No such file or directory "
                           "[/nonexistent/weft-file]"),
              std::string::npos)
        << missing;
    EXPECT_NE(missing.find("<exit status"), std::string::npos);
}

TEST(Examples, parallel_work_spreads_tasks_over_a_pool) {
    EXPECT_EQ(run("parallel_work", "2 2>/dev/null"),
              lines({"workers: 2", "sum of 10000 results: 4973560", "progress reports: 3"}));
    EXPECT_EQ(run("parallel_work", "1 2>/dev/null"),
              lines({"workers: 1", "sum of 10000 results: 4973560", "progress reports: 3"}));
}

TEST(Examples, local_tasks_share_a_receiver_on_one_worker_of_a_pool) {
    EXPECT_EQ(run("local_tasks", "2>/dev/null"),
              lines({"first reader: one", "first reader: two", "first reader: three", "second reader: four",
                     "second reader: five", "second reader: six", "second reader: channel closed"}));
}

// ---- the page-title listings, against local servers

namespace {
std::map<std::string, weft_test::Route> page_routes() {
    using namespace std::chrono_literals;
    std::map<std::string, weft_test::Route> r;
    r["/fast"] = {weft_test::http_response(weft_test::html_page("Fast page"))};
    r["/slow"] = {weft_test::http_response(weft_test::html_page("Slow page")), 300ms};
    r["/untitled"] = {weft_test::http_response("<html><body>no head here</body></html>")};
    return r;
}
}  // namespace

TEST(Examples, listings_17_01_to_17_04_print_a_pages_title) {
    weft_test::TestHttpServer server(page_routes());
    const std::string fast = server.url("/fast");
    EXPECT_EQ(run("listing_17_01", fast), "title: Fast page\n");
    EXPECT_EQ(run("listing_17_02", fast), "title: Fast page\n");
    EXPECT_EQ(run("listing_17_03", fast), "The title for " + fast + " was Fast page\n");
    EXPECT_EQ(run("listing_17_04", fast), "The title for " + fast + " was Fast page\n");
    EXPECT_EQ(run("listing_17_04", server.url("/untitled")), server.url("/untitled") + " had no title\n");
}

TEST(Examples, listing_17_04_reports_a_failed_request_by_url) {
    const std::string out = run("listing_17_04", "http://127.0.0.1:1/");
    EXPECT_NE(out.find("error: weft::http::get http://127.0.0.1:1/: cannot connect"), std::string::npos) << out;
    EXPECT_NE(out.find("<exit status"), std::string::npos) << out;
}

TEST(Examples, listing_17_05_the_faster_page_wins_the_race_either_way) {
    weft_test::TestHttpServer server(page_routes());
    const std::string fast = server.url("/fast");
    const std::string slow = server.url("/slow");
    const std::string want = fast + " returned first\nIts page title is: 'Fast page'\n";
    EXPECT_EQ(run("listing_17_05", slow + " " + fast), want);
    EXPECT_EQ(run("listing_17_05", fast + " " + slow), want);
    EXPECT_EQ(run("listing_17_05", server.url("/untitled") + " " + slow),
              server.url("/untitled") + " returned first\nIts title could not be parsed.\n");
}

TEST(Examples, echo_server_demo_echoes_three_clients) {
    EXPECT_EQ(run("echo_server", ""), lines({"echo: hello", "echo: from", "echo: weft"}));
}
