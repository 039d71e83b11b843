#include "js_values.h"

#include <cmath>
#include <string>

#include "cuda_runtime.h"
#include "errors.h"

namespace trtx {

std::size_t ToSize(Napi::Env env, Napi::Value value, const char* what) {
  if (value.IsBigInt()) {
    bool lossless = false;
    std::uint64_t n = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw ArgRangeError(env, std::string(what) + " is out of range");
    return static_cast<std::size_t>(n);
  }
  if (value.IsNumber()) {
    double d = value.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0) {
      throw ArgRangeError(env, std::string(what) + " must be a non-negative safe integer");
    }
    return static_cast<std::size_t>(d);
  }
  throw ArgTypeError(env, std::string(what) + " must be a number or a bigint");
}

int ToDevice(Napi::Env env, Napi::Value value) {
  if (!value.IsUndefined() && !value.IsNumber()) throw ArgTypeError(env, "device must be a number");
  double d = value.IsUndefined() ? 0 : value.As<Napi::Number>().DoubleValue();
  const int count = cudart::Get().deviceCount;
  if (!(d >= 0) || d != std::floor(d) || d >= count) {
    throw CodedError(env, "ERR_CUDA_BAD_DEVICE",
                     "device " + std::to_string(d) + " is not one of the " + std::to_string(count) + " visible");
  }
  return static_cast<int>(d);
}

HostView ToHostView(Napi::Env env, Napi::Value value) {
  if (value.IsTypedArray()) {
    auto t = value.As<Napi::TypedArray>();
    return {static_cast<std::uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset(), t.ByteLength()};
  }
  if (value.IsDataView()) {
    auto d = value.As<Napi::DataView>();
    return {static_cast<std::uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset(), d.ByteLength()};
  }
  if (value.IsArrayBuffer()) {
    auto a = value.As<Napi::ArrayBuffer>();
    return {static_cast<std::uint8_t*>(a.Data()), a.ByteLength()};
  }
  throw ArgTypeError(env, "expected a Buffer, TypedArray, DataView or ArrayBuffer");
}

}  // namespace trtx
