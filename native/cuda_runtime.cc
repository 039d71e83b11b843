#include "cuda_runtime.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace trtx::cudart {
namespace {

State g_state;
std::once_flag g_once;

template <typename F>
void Bind(void* library, const char* symbol, F*& out, std::string& missing) {
  out = reinterpret_cast<F*>(dlsym(library, symbol));
  if (out == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
}

// $CUDART_LIBRARY alone when set (a test sets it to a missing file to see "no-runtime"); else CUDA 13, then
// CUDA 12, through the loader's path and the usual toolkit folders.
void* Open(std::string& path, std::string& errors) {
  std::vector<std::string> candidates;
  if (const char* exact = std::getenv("CUDART_LIBRARY")) {
    candidates.emplace_back(exact);
  } else {
    std::vector<std::string> roots;
    for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
      if (const char* root = std::getenv(variable)) roots.emplace_back(root);
    }
    roots.emplace_back("/usr/local/cuda");
    for (const char* soname : {"libcudart.so.13", "libcudart.so.12"}) {
      candidates.emplace_back(soname);
      for (const auto& root : roots) candidates.push_back(root + "/lib64/" + soname);
    }
  }
  for (const auto& candidate : candidates) {
    void* library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) {
      path = candidate;
      return library;
    }
    const char* error = dlerror();
    if (errors.empty()) errors = error != nullptr ? error : candidate;  // the first says the most
  }
  return nullptr;
}

void Load() {
  State& s = g_state;
  void* library = Open(s.libraryPath, s.detail);
  if (library == nullptr) {
    s.availability = Availability::kNoRuntime;
    return;
  }
  s.detail.clear();
  Api& a = s.api;
  std::string missing;
  // CUDA 12 headers map cudaGetDeviceProperties to the _v2 symbol; the fields read are at the same offsets.
  a.GetDeviceProperties = reinterpret_cast<decltype(a.GetDeviceProperties)>(dlsym(library, "cudaGetDeviceProperties_v2"));
  if (a.GetDeviceProperties == nullptr) Bind(library, "cudaGetDeviceProperties", a.GetDeviceProperties, missing);
  Bind(library, "cudaGetDeviceCount", a.GetDeviceCount, missing);
  Bind(library, "cudaSetDevice", a.SetDevice, missing);
  Bind(library, "cudaDeviceGetAttribute", a.DeviceGetAttribute, missing);
  Bind(library, "cudaMemGetInfo", a.MemGetInfo, missing);
  Bind(library, "cudaMalloc", a.Malloc, missing);
  Bind(library, "cudaFree", a.Free, missing);
  Bind(library, "cudaMallocHost", a.MallocHost, missing);
  Bind(library, "cudaFreeHost", a.FreeHost, missing);
  Bind(library, "cudaMemcpy", a.Memcpy, missing);
  Bind(library, "cudaMemcpyAsync", a.MemcpyAsync, missing);
  Bind(library, "cudaStreamCreateWithFlags", a.StreamCreateWithFlags, missing);
  Bind(library, "cudaStreamDestroy", a.StreamDestroy, missing);
  Bind(library, "cudaStreamSynchronize", a.StreamSynchronize, missing);
  Bind(library, "cudaDeviceSynchronize", a.DeviceSynchronize, missing);
  Bind(library, "cudaHostRegister", a.HostRegister, missing);
  Bind(library, "cudaHostUnregister", a.HostUnregister, missing);
  Bind(library, "cudaGetLastError", a.GetLastError, missing);
  Bind(library, "cudaGetErrorName", a.GetErrorName, missing);
  Bind(library, "cudaGetErrorString", a.GetErrorString, missing);
  Bind(library, "cudaRuntimeGetVersion", a.RuntimeGetVersion, missing);
  Bind(library, "cudaDriverGetVersion", a.DriverGetVersion, missing);
  if (!missing.empty()) {
    s.availability = Availability::kMissingSymbol;
    s.detail = "missing symbols: " + missing;
    return;
  }
  a.RuntimeGetVersion(&s.runtimeVersion);
  a.DriverGetVersion(&s.driverVersion);  // 0 when libcuda.so.1 is absent
  int count = 0;
  Error error = a.GetDeviceCount(&count);
  if (error == kSuccess) {
    s.deviceCount = count;
    s.availability = count > 0 ? Availability::kOk : Availability::kNoDevice;
    if (count == 0) s.detail = "cudaGetDeviceCount found no device";
    return;
  }
  a.GetLastError();  // the error is not sticky: clear it
  s.detail = std::string(a.GetErrorName(error)) + ": " + a.GetErrorString(error);
  if (error == kErrorNoDevice) {
    s.availability = Availability::kNoDevice;
  } else if (error == kErrorInsufficientDriver) {
    s.availability = s.driverVersion == 0 ? Availability::kNoDriver : Availability::kDriverTooOld;
  } else {
    s.availability = Availability::kError;
  }
}

}  // namespace

const char* AvailabilityName(Availability availability) {
  switch (availability) {
    case Availability::kOk: return "ok";
    case Availability::kNoRuntime: return "no-runtime";
    case Availability::kMissingSymbol: return "missing-symbol";
    case Availability::kNoDriver: return "no-driver";
    case Availability::kDriverTooOld: return "driver-too-old";
    case Availability::kNoDevice: return "no-device";
    case Availability::kError: return "error";
  }
  return "error";
}

const State& Get() {
  std::call_once(g_once, Load);
  return g_state;
}

std::string ErrorName(Error error) {
  const State& s = Get();
  if (s.api.GetErrorName == nullptr) return "cudaError" + std::to_string(error);
  return s.api.GetErrorName(error);
}

std::string ErrorString(Error error) {
  const State& s = Get();
  if (s.api.GetErrorString == nullptr) return "the CUDA runtime is not loaded";
  return s.api.GetErrorString(error);
}

}  // namespace trtx::cudart
