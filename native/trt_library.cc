#include "trt_library.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>

#ifndef TRTX_HAVE_TENSORRT
#define TRTX_HAVE_TENSORRT 0
#endif
#if TRTX_HAVE_TENSORRT
#include <NvInferVersion.h>
#endif

namespace trtx::trt {
namespace {

Library g_library;
std::once_flag g_once;

std::string VersionText(int v) {
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

void Load() {
  std::vector<std::string> sonames;
  if (CompiledMajor() > 0) {
    sonames.push_back("libnvinfer.so." + std::to_string(CompiledMajor()));
  } else {
    sonames = {"libnvinfer.so.10", "libnvinfer.so.11"};  // only reported: nothing here can use them
  }
  std::vector<std::string> candidates;
  if (const char* exact = std::getenv("TENSORRT_LIBRARY")) {
    candidates.emplace_back(exact);
  } else {
    const char* root = std::getenv("TENSORRT_ROOT");
    for (const auto& soname : sonames) {
      candidates.push_back(soname);
      if (root != nullptr) {
        candidates.push_back(std::string(root) + "/lib/" + soname);
        candidates.push_back(std::string(root) + "/lib64/" + soname);
      }
    }
  }
  for (const auto& candidate : candidates) {
    // RTLD_LOCAL keeps TensorRT's symbols out of the process's global namespace.
    void* handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* error = dlerror();
      if (g_library.detail.empty()) g_library.detail = error != nullptr ? error : candidate;
      continue;
    }
    g_library.loaded = true;
    g_library.path = candidate;
    g_library.detail.clear();
    using VersionFn = std::int32_t (*)();
    if (auto version = reinterpret_cast<VersionFn>(dlsym(handle, "getInferLibVersion"))) g_library.version = version();
    g_library.factory = dlsym(handle, "createInferRuntime_INTERNAL");
    return;
  }
}

}  // namespace

int CompiledMajor() {
#if TRTX_HAVE_TENSORRT
  return NV_TENSORRT_MAJOR;
#else
  return 0;
#endif
}

const Library& Get() {
  std::call_once(g_once, Load);
  return g_library;
}

Availability Status() {
  const Library& library = Get();
  if (CompiledMajor() == 0) {
    return {"not-compiled",
            "the addon was built without TensorRT's headers: set TENSORRT_ROOT and rebuild (npm run build:addon)"};
  }
  if (!library.loaded) return {"no-library", library.detail};
  if (library.factory == nullptr || library.version == 0) {
    return {"missing-symbol", library.path + " lacks createInferRuntime_INTERNAL or getInferLibVersion"};
  }
  if (library.version / 10000 != CompiledMajor()) {
    return {"version-mismatch", library.path + " is TensorRT " + VersionText(library.version) +
                                    ", the backend was compiled for TensorRT " + std::to_string(CompiledMajor())};
  }
  return {"ok", library.path + " (TensorRT " + VersionText(library.version) + ")"};
}

}  // namespace trtx::trt
