// Checks native/cudart_api.h, which is written by hand so that the addon builds without CUDA's headers,
// against the real cuda_runtime_api.h. Compile-only; wherever a CUDA toolkit's headers exist:
//   g++ -std=c++17 -fsyntax-only -I"${CUDA_HOME:-/usr/local/cuda}/include" native/tools/abi_check.cc
// docs/gpu-tests.md records where it last passed.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "../cudart_api.h"

namespace c = trtx::cudart;

static_assert(sizeof(cudaError_t) == sizeof(c::Error), "cudaError_t");
static_assert(sizeof(cudaStream_t) == sizeof(c::Stream), "cudaStream_t");
static_assert(sizeof(cudaMemcpyKind) == sizeof(int), "cudaMemcpyKind");
static_assert(sizeof(cudaDeviceAttr) == sizeof(int), "cudaDeviceAttr");

static_assert(cudaSuccess == c::kSuccess, "cudaSuccess");
static_assert(cudaErrorInvalidValue == c::kErrorInvalidValue, "cudaErrorInvalidValue");
static_assert(cudaErrorMemoryAllocation == c::kErrorMemoryAllocation, "cudaErrorMemoryAllocation");
static_assert(cudaErrorInitializationError == c::kErrorInitializationError, "cudaErrorInitializationError");
static_assert(cudaErrorCudartUnloading == c::kErrorCudartUnloading, "cudaErrorCudartUnloading");
static_assert(cudaErrorInsufficientDriver == c::kErrorInsufficientDriver, "cudaErrorInsufficientDriver");
static_assert(cudaErrorNoDevice == c::kErrorNoDevice, "cudaErrorNoDevice");
static_assert(cudaErrorInvalidDevice == c::kErrorInvalidDevice, "cudaErrorInvalidDevice");

static_assert(cudaMemcpyHostToDevice == c::kMemcpyHostToDevice, "cudaMemcpyHostToDevice");
static_assert(cudaMemcpyDeviceToHost == c::kMemcpyDeviceToHost, "cudaMemcpyDeviceToHost");
static_assert(cudaStreamNonBlocking == c::kStreamNonBlocking, "cudaStreamNonBlocking");
static_assert(cudaHostRegisterDefault == c::kHostRegisterDefault, "cudaHostRegisterDefault");

static_assert(cudaDevAttrMultiProcessorCount == c::kAttrMultiProcessorCount, "MultiProcessorCount");
static_assert(cudaDevAttrPciBusId == c::kAttrPciBusId, "PciBusId");
static_assert(cudaDevAttrPciDeviceId == c::kAttrPciDeviceId, "PciDeviceId");
static_assert(cudaDevAttrGlobalMemoryBusWidth == c::kAttrGlobalMemoryBusWidth, "GlobalMemoryBusWidth");
static_assert(cudaDevAttrL2CacheSize == c::kAttrL2CacheSize, "L2CacheSize");
static_assert(cudaDevAttrPciDomainId == c::kAttrPciDomainId, "PciDomainId");
static_assert(cudaDevAttrComputeCapabilityMajor == c::kAttrComputeCapabilityMajor, "ComputeCapabilityMajor");
static_assert(cudaDevAttrComputeCapabilityMinor == c::kAttrComputeCapabilityMinor, "ComputeCapabilityMinor");

static_assert(offsetof(cudaDeviceProp, name) == c::kPropNameOffset, "cudaDeviceProp.name");
static_assert(sizeof(cudaDeviceProp::name) == c::kPropNameSize, "cudaDeviceProp.name size");
static_assert(offsetof(cudaDeviceProp, uuid) == c::kPropUuidOffset, "cudaDeviceProp.uuid");
static_assert(offsetof(cudaDeviceProp, totalGlobalMem) == c::kPropTotalGlobalMemOffset, "cudaDeviceProp.totalGlobalMem");
static_assert(sizeof(cudaDeviceProp) <= c::kPropBufferSize, "cudaDeviceProp fits the buffer");

// The real signature of every entry point c::Api holds, written with CUDA's types: each static_cast
// compiles only if the function has exactly that signature; ours is the same with cudaError_t, enums and
// struct pointers spelled int and void* (same ABI, sizes checked above).
[[maybe_unused]] static void Signatures() {
  (void)static_cast<cudaError_t (*)(int*)>(&cudaGetDeviceCount);
  (void)static_cast<cudaError_t (*)(int)>(&cudaSetDevice);
  (void)static_cast<cudaError_t (*)(cudaDeviceProp*, int)>(&cudaGetDeviceProperties);
  (void)static_cast<cudaError_t (*)(int*, cudaDeviceAttr, int)>(&cudaDeviceGetAttribute);
  (void)static_cast<cudaError_t (*)(size_t*, size_t*)>(&cudaMemGetInfo);
  (void)static_cast<cudaError_t (*)(void**, size_t)>(&cudaMalloc);
  (void)static_cast<cudaError_t (*)(void*)>(&cudaFree);
  (void)static_cast<cudaError_t (*)(void**, size_t)>(&cudaMallocHost);
  (void)static_cast<cudaError_t (*)(void*)>(&cudaFreeHost);
  (void)static_cast<cudaError_t (*)(void*, const void*, size_t, cudaMemcpyKind)>(&cudaMemcpy);
  (void)static_cast<cudaError_t (*)(void*, const void*, size_t, cudaMemcpyKind, cudaStream_t)>(&cudaMemcpyAsync);
  (void)static_cast<cudaError_t (*)(cudaStream_t*, unsigned int)>(&cudaStreamCreateWithFlags);
  (void)static_cast<cudaError_t (*)(cudaStream_t)>(&cudaStreamDestroy);
  (void)static_cast<cudaError_t (*)(cudaStream_t)>(&cudaStreamSynchronize);
  (void)static_cast<cudaError_t (*)()>(&cudaDeviceSynchronize);
  (void)static_cast<cudaError_t (*)(void*, size_t, unsigned int)>(&cudaHostRegister);
  (void)static_cast<cudaError_t (*)(void*)>(&cudaHostUnregister);
  (void)static_cast<cudaError_t (*)()>(&cudaGetLastError);
  (void)static_cast<const char* (*)(cudaError_t)>(&cudaGetErrorName);
  (void)static_cast<const char* (*)(cudaError_t)>(&cudaGetErrorString);
  (void)static_cast<cudaError_t (*)(int*)>(&cudaRuntimeGetVersion);
  (void)static_cast<cudaError_t (*)(int*)>(&cudaDriverGetVersion);
}
