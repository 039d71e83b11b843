// Node-API type tags of the wrapped classes: a method or argument check refuses an object that merely
// looks like one of them (another addon's, or a plain object with the same fields).
#pragma once

#include <node_api.h>

namespace trtx::tags {

inline constexpr napi_type_tag kDeviceBuffer = {0x7472747864657662ULL, 0x0000000000000001ULL};
inline constexpr napi_type_tag kStream = {0x7472747873747265ULL, 0x0000000000000002ULL};
inline constexpr napi_type_tag kHostPin = {0x747274786870696eULL, 0x0000000000000003ULL};
inline constexpr napi_type_tag kTrtEngine = {0x7472747874727465ULL, 0x0000000000000004ULL};

}  // namespace trtx::tags
