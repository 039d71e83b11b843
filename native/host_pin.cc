#include "host_pin.h"

#include "cuda_runtime.h"
#include "errors.h"
#include "js_values.h"
#include "stats.h"
#include "type_tags.h"

namespace trtx {

Napi::Function HostPin::Init(Napi::Env env) {
  return DefineClass(env, "HostPin",
                     {InstanceMethod<&HostPin::ReleaseJs>("release"),
                      InstanceAccessor<&HostPin::GetReleased>("released")});
}

// new HostPin(view: Buffer | TypedArray | DataView | ArrayBuffer)
HostPin::HostPin(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HostPin>(info) {
  Napi::Env env = info.Env();
  const cudart::Api& a = Api(env);
  HostView view = ToHostView(env, info[0]);
  if (view.length == 0) throw ArgRangeError(env, "cannot page-lock an empty buffer");
  Check(env, a.HostRegister(view.data, view.length, cudart::kHostRegisterDefault), "cudaHostRegister");
  ptr_ = view.data;
  memory_ = Napi::Persistent(info[0].As<Napi::Object>());
  ++stats::livePins;
  info.This().As<Napi::Object>().TypeTag(&tags::kHostPin);
}

HostPin::~HostPin() { Release(); }

bool HostPin::Release() {
  if (ptr_ == nullptr) return false;
  cudart::Get().api.HostUnregister(ptr_);
  ptr_ = nullptr;
  if (!memory_.IsEmpty()) memory_.Reset();
  --stats::livePins;
  return true;
}

Napi::Value HostPin::ReleaseJs(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Release()); }

Napi::Value HostPin::GetReleased(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ptr_ == nullptr);
}

}  // namespace trtx
