// Reading JavaScript arguments: sizes, device ordinals and host memory. The TypeScript layer validates
// first (src/engine); these checks keep the addon safe when it is called directly.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace trtx {

// A non-negative safe integer or bigint.
std::size_t ToSize(Napi::Env env, Napi::Value value, const char* what);

// A device ordinal below the device count (0 when undefined); ERR_CUDA_BAD_DEVICE otherwise.
int ToDevice(Napi::Env env, Napi::Value value);

// The bytes of a Buffer, TypedArray, DataView or ArrayBuffer.
struct HostView {
  std::uint8_t* data;
  std::size_t length;
};
HostView ToHostView(Napi::Env env, Napi::Value value);

}  // namespace trtx
