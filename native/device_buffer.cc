#include "device_buffer.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cuda_runtime.h"
#include "errors.h"
#include "js_values.h"
#include "stats.h"
#include "stream.h"
#include "type_tags.h"

namespace trtx {
namespace {

// One copy on a libuv pool thread: cudaMemcpyAsync + cudaStreamSynchronize on the given stream, or a plain
// cudaMemcpy without one. The promise resolves with the seconds the copy took on that thread.
class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(Napi::Env env, DeviceBuffer* buffer, Napi::Object bufferObject, Napi::Object hostObject, void* dst,
             const void* src, std::size_t bytes, int kind, Stream* stream, Napi::Object streamObject)
      : Napi::AsyncWorker(env, "trtx.cudaMemcpy"),
        deferred_(Napi::Promise::Deferred::New(env)),
        buffer_(buffer),
        stream_(stream),
        bufferRef_(Napi::Persistent(bufferObject)),
        hostRef_(Napi::Persistent(hostObject)),
        dst_(dst),
        src_(src),
        bytes_(bytes),
        kind_(kind),
        device_(buffer->device()),
        handle_(stream != nullptr ? stream->handle() : nullptr) {
    ++buffer_->pending;
    if (stream_ != nullptr) {
      streamRef_ = Napi::Persistent(streamObject);
      ++stream_->pending;
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    const cudart::Api& a = cudart::Get().api;
    op_ = "cudaSetDevice";
    error_ = a.SetDevice(device_);  // the current device is per thread
    if (error_ != cudart::kSuccess) return;
    auto start = std::chrono::steady_clock::now();
    if (handle_ != nullptr) {
      op_ = "cudaMemcpyAsync";
      error_ = a.MemcpyAsync(dst_, src_, bytes_, kind_, handle_);
      if (error_ == cudart::kSuccess) {
        op_ = "cudaStreamSynchronize";
        error_ = a.StreamSynchronize(handle_);
      }
    } else {
      op_ = "cudaMemcpy";
      error_ = a.Memcpy(dst_, src_, bytes_, kind_);
    }
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (error_ != cudart::kSuccess) a.GetLastError();
  }
  void OnOK() override {
    Done();
    if (error_ == cudart::kSuccess) {
      deferred_.Resolve(Napi::Number::New(Env(), seconds_));
    } else {
      deferred_.Reject(CudaError(Env(), error_, op_).Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Done();
    deferred_.Reject(e.Value());
  }

 private:
  void Done() {
    --buffer_->pending;
    if (stream_ != nullptr) --stream_->pending;
  }
  Napi::Promise::Deferred deferred_;
  DeviceBuffer* buffer_;
  Stream* stream_;
  Napi::ObjectReference bufferRef_, hostRef_, streamRef_;
  void* dst_;
  const void* src_;
  std::size_t bytes_;
  int kind_;
  int device_;
  cudart::Stream handle_;
  cudart::Error error_ = cudart::kSuccess;
  std::string op_;
  double seconds_ = 0;
};

}  // namespace

Napi::Function DeviceBuffer::Init(Napi::Env env) {
  return DefineClass(env, "DeviceBuffer",
                     {InstanceMethod<&DeviceBuffer::Free>("free"),
                      InstanceMethod<&DeviceBuffer::CopyFromHost>("copyFromHost"),
                      InstanceMethod<&DeviceBuffer::CopyToHost>("copyToHost"),
                      InstanceMethod<&DeviceBuffer::CopyFromHostAsync>("copyFromHostAsync"),
                      InstanceMethod<&DeviceBuffer::CopyToHostAsync>("copyToHostAsync"),
                      InstanceAccessor<&DeviceBuffer::GetByteLength>("byteLength"),
                      InstanceAccessor<&DeviceBuffer::GetDevice>("device"),
                      InstanceAccessor<&DeviceBuffer::GetFreed>("freed"),
                      InstanceAccessor<&DeviceBuffer::GetAddress>("address")});
}

DeviceBuffer* DeviceBuffer::From(Napi::Env env, Napi::Value value) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&tags::kDeviceBuffer)) {
    throw ArgTypeError(env, "expected a DeviceBuffer");
  }
  DeviceBuffer* buffer = DeviceBuffer::Unwrap(value.As<Napi::Object>());
  buffer->EnsureLive(env);
  return buffer;
}

// new DeviceBuffer(byteLength: number | bigint, device = 0)
DeviceBuffer::DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
  Napi::Env env = info.Env();
  const cudart::Api& a = Api(env);
  bytes_ = ToSize(env, info[0], "byteLength");
  if (bytes_ == 0) throw ArgRangeError(env, "byteLength must be greater than 0");
  device_ = ToDevice(env, info[1]);
  Check(env, a.SetDevice(device_), "cudaSetDevice");
  Check(env, a.Malloc(&ptr_, bytes_), "cudaMalloc");
  ++stats::liveBuffers;
  stats::liveBytes += static_cast<std::int64_t>(bytes_);
  info.This().As<Napi::Object>().TypeTag(&tags::kDeviceBuffer);
}

// The GC (or the env's teardown) dropped a buffer that was never freed.
DeviceBuffer::~DeviceBuffer() {
  if (ptr_ == nullptr) return;
  std::size_t bytes = bytes_;
  cudart::Error error = cudart::kSuccess;
  if (Release(&error)) ++stats::finalizerFrees;
  // Opt-in, for the at-exit test: nothing else can observe a free during the process's teardown.
  if (std::getenv("TRTX_NATIVE_TRACE") != nullptr) {
    std::fprintf(stderr, "[trtx_native] finalizer freed %zu bytes (%s)\n", bytes, cudart::ErrorName(error).c_str());
  }
}

void DeviceBuffer::EnsureLive(Napi::Env env) const {
  if (ptr_ == nullptr) throw CodedError(env, "ERR_CUDA_FREED", "the device buffer was freed");
}

bool DeviceBuffer::Release(cudart::Error* error) {
  if (ptr_ == nullptr) return false;
  const cudart::Api& a = cudart::Get().api;
  a.SetDevice(device_);
  *error = a.Free(ptr_);
  ptr_ = nullptr;  // never retried: a double free is worse than a leak
  --stats::liveBuffers;
  stats::liveBytes -= static_cast<std::int64_t>(bytes_);
  return true;
}

std::size_t DeviceBuffer::CheckRange(Napi::Env env, Napi::Value offsetValue, std::size_t length) const {
  std::size_t offset = offsetValue.IsUndefined() ? 0 : ToSize(env, offsetValue, "deviceOffset");
  if (offset > bytes_ || length > bytes_ - offset) {
    throw ArgRangeError(env, "a copy of " + std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                                 " does not fit a device buffer of " + std::to_string(bytes_) + " bytes");
  }
  return offset;
}

Napi::Value DeviceBuffer::Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ptr_ == nullptr) return Napi::Boolean::New(env, false);
  if (pending > 0) throw CodedError(env, "ERR_CUDA_BUSY", "the device buffer has copies in flight");
  cudart::Error error = cudart::kSuccess;
  Release(&error);
  ++stats::explicitFrees;
  Check(env, error, "cudaFree");
  return Napi::Boolean::New(env, true);
}

// copyFromHost(src, deviceOffset = 0) / copyToHost(dst, deviceOffset = 0): cudaMemcpy on this thread.
Napi::Value DeviceBuffer::Copy(const Napi::CallbackInfo& info, bool toDevice) {
  Napi::Env env = info.Env();
  const cudart::Api& a = Api(env);
  EnsureLive(env);
  HostView host = ToHostView(env, info[0]);
  std::size_t offset = CheckRange(env, info[1], host.length);
  if (host.length == 0) return env.Undefined();
  auto* device = static_cast<std::uint8_t*>(ptr_) + offset;
  Check(env, a.SetDevice(device_), "cudaSetDevice");
  if (toDevice) {
    Check(env, a.Memcpy(device, host.data, host.length, cudart::kMemcpyHostToDevice), "cudaMemcpy(HostToDevice)");
  } else {
    Check(env, a.Memcpy(host.data, device, host.length, cudart::kMemcpyDeviceToHost), "cudaMemcpy(DeviceToHost)");
  }
  return env.Undefined();
}

// copyFromHostAsync(src, { stream?, deviceOffset? }) / copyToHostAsync(dst, ...): on the libuv pool.
Napi::Value DeviceBuffer::CopyAsync(const Napi::CallbackInfo& info, bool toDevice) {
  Napi::Env env = info.Env();
  Api(env);
  EnsureLive(env);
  HostView host = ToHostView(env, info[0]);
  Napi::Value offsetValue = env.Undefined();
  Stream* stream = nullptr;
  Napi::Object streamObject;
  if (!info[1].IsUndefined()) {
    if (!info[1].IsObject()) throw ArgTypeError(env, "options must be an object");
    Napi::Object options = info[1].As<Napi::Object>();
    offsetValue = options.Get("deviceOffset");
    Napi::Value streamValue = options.Get("stream");
    if (!streamValue.IsUndefined()) {
      stream = Stream::From(env, streamValue);
      stream->EnsureAlive(env);
      if (stream->device() != device_) {
        throw CodedError(env, "ERR_CUDA_BAD_DEVICE", "the stream and the buffer are on different devices");
      }
      streamObject = streamValue.As<Napi::Object>();
    }
  }
  std::size_t offset = CheckRange(env, offsetValue, host.length);
  auto* device = static_cast<std::uint8_t*>(ptr_) + offset;
  void* dst = toDevice ? static_cast<void*>(device) : static_cast<void*>(host.data);
  const void* src = toDevice ? static_cast<const void*>(host.data) : static_cast<const void*>(device);
  auto* worker = new CopyWorker(env, this, info.This().As<Napi::Object>(), info[0].As<Napi::Object>(), dst, src,
                                host.length, toDevice ? cudart::kMemcpyHostToDevice : cudart::kMemcpyDeviceToHost,
                                stream, streamObject);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value DeviceBuffer::GetByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

Napi::Value DeviceBuffer::GetDevice(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }

Napi::Value DeviceBuffer::GetFreed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ptr_ == nullptr);
}

Napi::Value DeviceBuffer::GetAddress(const Napi::CallbackInfo& info) {
  EnsureLive(info.Env());
  return Napi::BigInt::New(info.Env(), static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(ptr_)));
}

}  // namespace trtx
