// The slice of the CUDA runtime's C ABI that trtx calls, as function pointer types and enum values.
//
// Written from the CUDA runtime API reference rather than copied from NVIDIA's headers, so that the addon
// builds where no CUDA toolkit is installed (CI). native/tools/abi_check.cc static_asserts every value and
// type below against the real cuda_runtime_api.h wherever a toolkit exists (docs/gpu-tests.md says how).
#pragma once

#include <cstddef>

namespace trtx::cudart {

using Error = int;       // cudaError_t: an int-sized enum
using Stream = void*;    // cudaStream_t: an opaque pointer (struct CUstream_st*)

// cudaError_t values the addon branches on.
constexpr Error kSuccess = 0;
constexpr Error kErrorInvalidValue = 1;
constexpr Error kErrorMemoryAllocation = 2;
constexpr Error kErrorInitializationError = 3;
constexpr Error kErrorCudartUnloading = 4;
constexpr Error kErrorInsufficientDriver = 35;
constexpr Error kErrorNoDevice = 100;
constexpr Error kErrorInvalidDevice = 101;

// cudaMemcpyKind
constexpr int kMemcpyHostToDevice = 1;
constexpr int kMemcpyDeviceToHost = 2;

constexpr unsigned kStreamNonBlocking = 0x01;      // cudaStreamNonBlocking
constexpr unsigned kHostRegisterDefault = 0x00;    // cudaHostRegisterDefault

// cudaDeviceAttr values.
constexpr int kAttrMultiProcessorCount = 16;
constexpr int kAttrPciBusId = 33;
constexpr int kAttrPciDeviceId = 34;
constexpr int kAttrGlobalMemoryBusWidth = 37;
constexpr int kAttrL2CacheSize = 38;
constexpr int kAttrPciDomainId = 50;
constexpr int kAttrComputeCapabilityMajor = 75;
constexpr int kAttrComputeCapabilityMinor = 76;

// cudaDeviceProp changes layout between CUDA majors (CUDA 13 removed fields), so only the fields whose
// offsets have not moved since CUDA 10 are read: name[256] at 0, the 16 UUID bytes at 256, totalGlobalMem
// at 288. The buffer handed to cudaGetDeviceProperties is far larger than the struct (about 1 KiB).
constexpr std::size_t kPropBufferSize = 8192;
constexpr std::size_t kPropNameOffset = 0;
constexpr std::size_t kPropNameSize = 256;
constexpr std::size_t kPropUuidOffset = 256;
constexpr std::size_t kPropTotalGlobalMemOffset = 288;

// Every entry point the addon and the bandwidth baseline use; filled by the loader (cuda_runtime.cc).
struct Api {
  Error (*GetDeviceCount)(int* count);
  Error (*SetDevice)(int device);
  Error (*GetDeviceProperties)(void* prop, int device);
  Error (*DeviceGetAttribute)(int* value, int attr, int device);
  Error (*MemGetInfo)(std::size_t* free, std::size_t* total);
  Error (*Malloc)(void** ptr, std::size_t size);
  Error (*Free)(void* ptr);
  Error (*MallocHost)(void** ptr, std::size_t size);
  Error (*FreeHost)(void* ptr);
  Error (*Memcpy)(void* dst, const void* src, std::size_t count, int kind);
  Error (*MemcpyAsync)(void* dst, const void* src, std::size_t count, int kind, Stream stream);
  Error (*StreamCreateWithFlags)(Stream* stream, unsigned flags);
  Error (*StreamDestroy)(Stream stream);
  Error (*StreamSynchronize)(Stream stream);
  Error (*DeviceSynchronize)();
  Error (*HostRegister)(void* ptr, std::size_t size, unsigned flags);
  Error (*HostUnregister)(void* ptr);
  Error (*GetLastError)();
  const char* (*GetErrorName)(Error error);
  const char* (*GetErrorString)(Error error);
  Error (*RuntimeGetVersion)(int* version);
  Error (*DriverGetVersion)(int* version);
};

}  // namespace trtx::cudart
