// HostPin: page-locks (cudaHostRegister) the memory of a JS ArrayBuffer view, so that copies from and to it
// run at DMA speed, and keeps the view's memory alive while it is registered.
//
// The memory stays V8's: JS can never see it freed, unlike cudaMallocHost memory lent to an ArrayBuffer.
// Owner: the JS object. release() is idempotent; the GC finalizer unregisters what JS dropped.
#pragma once

#include <napi.h>

namespace trtx {

class HostPin : public Napi::ObjectWrap<HostPin> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit HostPin(const Napi::CallbackInfo& info);
  ~HostPin() override;

 private:
  bool Release();
  Napi::Value ReleaseJs(const Napi::CallbackInfo& info);
  Napi::Value GetReleased(const Napi::CallbackInfo& info);

  void* ptr_ = nullptr;
  Napi::ObjectReference memory_;
};

}  // namespace trtx
