// DeviceBuffer: device memory from cudaMalloc, and copies between it and host memory.
//
// Owner: the JS object. free() is idempotent (true the first time, then false); any other use after it is
// ERR_CUDA_FREED. The GC finalizer frees what JS dropped (a safety net; src/engine frees through a Scope),
// ignoring errors such as cudaErrorCudartUnloading at exit. JS thread only: async copies run on the libuv
// pool, hold references to the buffer, the host memory and the stream, and count in `pending`; free()
// refuses (ERR_CUDA_BUSY) while any is in flight.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "cudart_api.h"

namespace trtx {

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  // The live DeviceBuffer behind a JS value: TypeError for another object, ERR_CUDA_FREED once freed.
  static DeviceBuffer* From(Napi::Env env, Napi::Value value);

  explicit DeviceBuffer(const Napi::CallbackInfo& info);
  ~DeviceBuffer() override;

  void* ptr() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  int device() const { return device_; }
  void EnsureLive(Napi::Env env) const;
  int pending = 0;  // async copies in flight (JS thread only)

 private:
  bool Release(cudart::Error* error);
  std::size_t CheckRange(Napi::Env env, Napi::Value offset, std::size_t length) const;
  Napi::Value Copy(const Napi::CallbackInfo& info, bool toDevice);
  Napi::Value CopyAsync(const Napi::CallbackInfo& info, bool toDevice);

  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value CopyFromHost(const Napi::CallbackInfo& info) { return Copy(info, true); }
  Napi::Value CopyToHost(const Napi::CallbackInfo& info) { return Copy(info, false); }
  Napi::Value CopyFromHostAsync(const Napi::CallbackInfo& info) { return CopyAsync(info, true); }
  Napi::Value CopyToHostAsync(const Napi::CallbackInfo& info) { return CopyAsync(info, false); }
  Napi::Value GetByteLength(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetFreed(const Napi::CallbackInfo& info);
  Napi::Value GetAddress(const Napi::CallbackInfo& info);

  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  int device_ = 0;
};

}  // namespace trtx
