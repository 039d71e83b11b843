// How the addon reports failures to JavaScript: every error is a JS Error with a string `code`.
//
// * CUDA failures: `code` is the CUDA error's enum name (cudaErrorMemoryAllocation), with `op` (the call)
//   and `cudaError` (its number).
// * The addon's own: ERR_CUDA_UNAVAILABLE (with `reason`), ERR_CUDA_BAD_DEVICE, ERR_CUDA_BUSY, ERR_CUDA_FREED,
//   ERR_CUDA_DESTROYED, ERR_CUDA_RELEASED; TensorRT's: ERR_TENSORRT_* (trt_engine.cc).
// * Bad arguments: TypeError / RangeError with code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE.
// Errors are thrown as Napi::Error (node-addon-api's C++ exceptions), which it turns into JS exceptions.
#pragma once

#include <napi.h>

#include <string>

#include "cudart_api.h"

namespace trtx {

Napi::Error CodedError(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error CudaError(Napi::Env env, cudart::Error error, const std::string& op);
Napi::Error ArgTypeError(Napi::Env env, const std::string& message);
Napi::Error ArgRangeError(Napi::Env env, const std::string& message);

// The loaded runtime's entry points; throws ERR_CUDA_UNAVAILABLE, with the reason, when CUDA is unusable.
const cudart::Api& Api(Napi::Env env);

// Throws the CUDA error (after clearing the runtime's non-sticky error state) unless it is cudaSuccess.
void Check(Napi::Env env, cudart::Error error, const char* op);

}  // namespace trtx
