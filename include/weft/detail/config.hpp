// Compiler hooks shared by weft's headers.
#pragma once

// Forces a hot awaiter method inline into the awaiting coroutine. Used where
// an out-of-line copy returns a small std::optional through memory in a way
// that stalls on store forwarding (g++ 12 writes the engaged flag as a byte
// and reloads it as part of a register pair): inlined, the optional is taken
// apart and never stored.
#if defined(__GNUC__) || defined(__clang__)
#define WEFT_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define WEFT_ALWAYS_INLINE inline
#endif
