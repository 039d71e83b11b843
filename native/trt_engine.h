// The TensorRT backend: TrtEngine, compiled only when binding.gyp finds TensorRT's headers (TENSORRT_ROOT).
#pragma once

#include <napi.h>

namespace trtx::trt {

// The TrtEngine class, for the addon's exports.
Napi::Function InitEngine(Napi::Env env);

}  // namespace trtx::trt
