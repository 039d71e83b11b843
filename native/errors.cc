#include "errors.h"

#include "cuda_runtime.h"

namespace trtx {

Napi::Error CodedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Error CudaError(Napi::Env env, cudart::Error error, const std::string& op) {
  std::string name = cudart::ErrorName(error);
  Napi::Error e = CodedError(env, name, name + " in " + op + ": " + cudart::ErrorString(error));
  e.Set("op", Napi::String::New(env, op));
  e.Set("cudaError", Napi::Number::New(env, error));
  return e;
}

Napi::Error ArgTypeError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  return e;
}

Napi::Error ArgRangeError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::RangeError::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_VALUE"));
  return e;
}

const cudart::Api& Api(Napi::Env env) {
  const cudart::State& s = cudart::Get();
  if (s.availability == cudart::Availability::kOk) return s.api;
  std::string reason = cudart::AvailabilityName(s.availability);
  Napi::Error e = CodedError(env, "ERR_CUDA_UNAVAILABLE",
                             "CUDA is unavailable (" + reason + ")" + (s.detail.empty() ? "" : ": " + s.detail));
  e.Set("reason", Napi::String::New(env, reason));
  throw e;
}

void Check(Napi::Env env, cudart::Error error, const char* op) {
  if (error == cudart::kSuccess) return;
  cudart::Get().api.GetLastError();
  throw CudaError(env, error, op);
}

}  // namespace trtx
