#include "stream.h"

#include "cuda_runtime.h"
#include "errors.h"
#include "js_values.h"
#include "stats.h"
#include "type_tags.h"

namespace trtx {
namespace {

// cudaStreamSynchronize on a libuv pool thread; the promise resolves when the stream is idle.
class SyncWorker : public Napi::AsyncWorker {
 public:
  SyncWorker(Napi::Env env, Stream* stream, Napi::Object self)
      : Napi::AsyncWorker(env, "trtx.cudaStreamSynchronize"),
        deferred_(Napi::Promise::Deferred::New(env)),
        stream_(stream),
        self_(Napi::Persistent(self)),
        handle_(stream->handle()),
        device_(stream->device()) {
    ++stream_->pending;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    const cudart::Api& a = cudart::Get().api;
    error_ = a.SetDevice(device_);  // the current device is per thread
    if (error_ == cudart::kSuccess) error_ = a.StreamSynchronize(handle_);
    if (error_ != cudart::kSuccess) a.GetLastError();
  }
  void OnOK() override {
    --stream_->pending;
    if (error_ == cudart::kSuccess) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(CudaError(Env(), error_, "cudaStreamSynchronize").Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    --stream_->pending;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Stream* stream_;
  Napi::ObjectReference self_;  // keeps the Stream, and so its handle, alive until OnOK
  cudart::Stream handle_;
  int device_;
  cudart::Error error_ = cudart::kSuccess;
};

}  // namespace

Napi::Function Stream::Init(Napi::Env env) {
  return DefineClass(env, "Stream",
                     {InstanceMethod<&Stream::Synchronize>("synchronize"),
                      InstanceMethod<&Stream::SynchronizeAsync>("synchronizeAsync"),
                      InstanceMethod<&Stream::Destroy>("destroy"),
                      InstanceAccessor<&Stream::GetDestroyed>("destroyed"),
                      InstanceAccessor<&Stream::GetDevice>("device")});
}

Stream* Stream::From(Napi::Env env, Napi::Value value) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&tags::kStream)) {
    throw ArgTypeError(env, "expected a Stream");
  }
  return Stream::Unwrap(value.As<Napi::Object>());
}

Stream::Stream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Stream>(info) {
  Napi::Env env = info.Env();
  const cudart::Api& a = Api(env);
  device_ = ToDevice(env, info[0]);
  Check(env, a.SetDevice(device_), "cudaSetDevice");
  Check(env, a.StreamCreateWithFlags(&stream_, cudart::kStreamNonBlocking), "cudaStreamCreateWithFlags");
  alive_ = true;
  ++stats::liveStreams;
  info.This().As<Napi::Object>().TypeTag(&tags::kStream);
}

Stream::~Stream() { Release(); }

void Stream::EnsureAlive(Napi::Env env) const {
  if (!alive_) throw CodedError(env, "ERR_CUDA_DESTROYED", "the stream was destroyed");
}

bool Stream::Release() {
  if (!alive_) return false;
  const cudart::Api& a = cudart::Get().api;
  a.SetDevice(device_);
  a.StreamDestroy(stream_);
  stream_ = nullptr;
  alive_ = false;
  --stats::liveStreams;
  return true;
}

Napi::Value Stream::Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  const cudart::Api& a = Api(env);
  Check(env, a.SetDevice(device_), "cudaSetDevice");
  Check(env, a.StreamSynchronize(stream_), "cudaStreamSynchronize");
  return env.Undefined();
}

Napi::Value Stream::SynchronizeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  Api(env);
  auto* worker = new SyncWorker(env, this, info.This().As<Napi::Object>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK / OnError
  return promise;
}

Napi::Value Stream::Destroy(const Napi::CallbackInfo& info) {
  if (alive_ && pending > 0) throw CodedError(info.Env(), "ERR_CUDA_BUSY", "the stream has work in flight");
  return Napi::Boolean::New(info.Env(), Release());
}

Napi::Value Stream::GetDestroyed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !alive_); }

Napi::Value Stream::GetDevice(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }

}  // namespace trtx
