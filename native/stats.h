// Process-wide counts of live native objects (every env and worker thread together), for leak tests:
// exposed by the addon's stats().
#pragma once

#include <atomic>
#include <cstdint>

namespace trtx::stats {

inline std::atomic<std::int64_t> liveBuffers{0};
inline std::atomic<std::int64_t> liveBytes{0};
inline std::atomic<std::int64_t> explicitFrees{0};
inline std::atomic<std::int64_t> finalizerFrees{0};
inline std::atomic<std::int64_t> liveStreams{0};
inline std::atomic<std::int64_t> livePins{0};
inline std::atomic<std::int64_t> liveEngines{0};

}  // namespace trtx::stats
