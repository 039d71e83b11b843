// Stream: a non-blocking CUDA stream.
//
// Owner: the JS object. destroy() is idempotent (true the first time); the GC finalizer destroys a stream
// JS dropped, and errors there are ignored (at exit the runtime may already be unloading). Used from the
// JS thread only; async work on the libuv pool holds a reference to the object and counts in `pending`,
// and destroy() refuses (ERR_CUDA_BUSY) while any is in flight.
#pragma once

#include <napi.h>

#include "cudart_api.h"

namespace trtx {

class Stream : public Napi::ObjectWrap<Stream> {
 public:
  static Napi::Function Init(Napi::Env env);
  // The Stream behind a JS value, or a TypeError (type-tagged: a look-alike object is refused).
  static Stream* From(Napi::Env env, Napi::Value value);

  explicit Stream(const Napi::CallbackInfo& info);
  ~Stream() override;

  cudart::Stream handle() const { return stream_; }
  int device() const { return device_; }
  void EnsureAlive(Napi::Env env) const;
  int pending = 0;  // async operations in flight (JS thread only)

 private:
  bool Release();
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value SynchronizeAsync(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  Napi::Value GetDestroyed(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);

  cudart::Stream stream_ = nullptr;
  int device_ = 0;
  bool alive_ = false;
};

}  // namespace trtx
