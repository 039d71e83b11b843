// Finds libnvinfer with dlopen, header-free, whether or not the TensorRT backend was compiled in: the two
// C entry points TensorRT exports are `int32_t getInferLibVersion()` ((MAJOR*100 + MINOR)*100 + PATCH) and
// `void* createInferRuntime_INTERNAL(void* logger, int32_t version)`. Everything behind the runtime factory
// is C++ (trt_engine.cc, compiled only with TensorRT's headers). The addon never links libnvinfer.
//
// Owner: process-wide, loaded once under std::call_once, never unloaded.
#pragma once

#include <string>

namespace trtx::trt {

struct Library {
  bool loaded = false;
  std::string path;    // what dlopen accepted
  std::string detail;  // dlerror() text when nothing could be opened
  int version = 0;     // getInferLibVersion(), 0 when unknown
  void* factory = nullptr;  // createInferRuntime_INTERNAL
};

// The major version the backend was compiled for (NV_TENSORRT_MAJOR), or 0 without the backend.
int CompiledMajor();

const Library& Get();

// "not-compiled", "no-library", "missing-symbol", "version-mismatch" or "ok", with a sentence saying why.
struct Availability {
  std::string reason;
  std::string detail;
};
Availability Status();

}  // namespace trtx::trt
