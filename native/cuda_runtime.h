// Loads the CUDA runtime with dlopen, once per process, and says why CUDA cannot be used when it cannot.
//
// Owner: process-wide state behind std::call_once; any thread may read it after Get() returns. The library
// is never dlclose'd: unloading cudart while its atexit handlers are registered crashes at exit.
#pragma once

#include <string>

#include "cudart_api.h"

namespace trtx::cudart {

// Why CUDA is usable or not, decided on first use.
enum class Availability {
  kOk,             // runtime loaded, at least one device
  kNoRuntime,      // no libcudart could be opened
  kMissingSymbol,  // a libcudart without an entry point the addon needs
  kNoDriver,       // runtime loaded, no NVIDIA driver (libcuda.so.1)
  kDriverTooOld,   // a driver older than the runtime
  kNoDevice,       // a driver, but no device visible
  kError,          // any other failure of cudaGetDeviceCount
};

struct State {
  Availability availability = Availability::kNoRuntime;
  std::string libraryPath;  // what dlopen accepted
  std::string detail;       // dlerror() text, missing symbols, or the CUDA error's name and text
  int runtimeVersion = 0;   // 13000 for CUDA 13.0
  int driverVersion = 0;    // 0 without a driver
  int deviceCount = 0;
  Api api{};
};

const char* AvailabilityName(Availability availability);

// Loads on the first call (thread-safe).
const State& Get();

// The error's enum name (cudaErrorMemoryAllocation) and text; safe without a runtime.
std::string ErrorName(Error error);
std::string ErrorString(Error error);

}  // namespace trtx::cudart
