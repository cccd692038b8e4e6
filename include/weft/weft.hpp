#pragma once
// weft: Tokio-style async tasks for C++20 — the one header to include.
// clang-format off: grouped by topic, not sorted
//
// Tasks and runtimes
#include "weft/error.hpp"        // Cancelled
#include "weft/join_handle.hpp"  // JoinHandle<T>
#include "weft/runtime.hpp"      // Runtime, Runtime::Options, block_on
#include "weft/spawn.hpp"        // spawn_task, async_move
#include "weft/task.hpp"         // Task<T>
// Time
#include "weft/time.hpp"  // now, sleep, sleep_until, Sleep, yield_now
// Combinators
#include "weft/join.hpp"    // join, join3, join_all
#include "weft/select.hpp"  // select, race, Either, timeout
// Channels
#include "weft/channel.hpp"  // channel, bounded_channel, Sender, BoundedSender, Receiver, SendResult
#include "weft/oneshot.hpp"  // oneshot, OneshotSender, OneshotReceiver
// Streams
#include "weft/receiver_stream.hpp"  // ReceiverStream
#include "weft/stream.hpp"           // Stream, StreamBase, stream_from_iter, interval, Timed, Elapsed, adaptors
// Blocking work and files
#include "weft/blocking.hpp"  // spawn_blocking
#include "weft/fs.hpp"        // read_to_string
// Networking
#include "weft/net.hpp"  // net::TcpListener, net::TcpStream, net::SocketAddress
// clang-format on
