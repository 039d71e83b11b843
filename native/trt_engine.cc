// TrtEngine: a deserialized TensorRT engine and one execution context, on one device.
//
// Owner: the JS object; dispose() is idempotent and deletes the context, the engine and the runtime in
// that order; the GC finalizer does the same for an engine JS dropped. JS thread only. execute() enqueues
// on a Stream and returns at once: the caller synchronizes that stream before reading outputs or freeing
// the buffers (src/engine/TrtEngine.ts does).
//
// The runtime comes from the dlsym'd createInferRuntime_INTERNAL(logger, NV_TENSORRT_VERSION), which is
// what the header's inline createInferRuntime() calls: the addon never links libnvinfer. TensorRT's log
// messages are kept, not printed (the library prints nothing); an error's detail carries the last one.
#include "trt_engine.h"

#include <NvInferRuntime.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_runtime.h"
#include "device_buffer.h"
#include "errors.h"
#include "js_values.h"
#include "stats.h"
#include "stream.h"
#include "trt_library.h"
#include "type_tags.h"

namespace trtx::trt {
namespace {

// TensorRT's logger must outlive every runtime: one for the process, keeping the last error per thread.
class Logger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override {
    if (severity > Severity::kERROR || message == nullptr) return;
    try {
      last_ = message;
    } catch (...) {  // an allocation failure must not escape a noexcept callback
    }
  }
  std::string TakeLast() {
    std::string last;
    last.swap(last_);
    return last;
  }

 private:
  static thread_local std::string last_;
};
thread_local std::string Logger::last_;
Logger g_logger;

Napi::Error TrtError(Napi::Env env, const std::string& code, const std::string& message) {
  std::string last = g_logger.TakeLast();
  return CodedError(env, code, last.empty() ? message : message + ": " + last);
}

// nvinfer1::DataType by value (the same in TensorRT 10 and 11), as torch names the dtype, and its bits.
struct DType {
  const char* name;
  int bits;
};
DType DTypeOf(nvinfer1::DataType type) {
  switch (static_cast<std::int32_t>(type)) {
    case 0: return {"float32", 32};
    case 1: return {"float16", 16};
    case 2: return {"int8", 8};
    case 3: return {"int32", 32};
    case 4: return {"bool", 8};
    case 5: return {"uint8", 8};
    case 6: return {"float8_e4m3fn", 8};
    case 7: return {"bfloat16", 16};
    case 8: return {"int64", 64};
    case 9: return {"int4", 4};
    case 10: return {"float4_e2m1fn", 4};
    case 11: return {"float8_e8m0fnu", 8};
    default: return {"unknown", 0};
  }
}

template <typename T>
struct Deleter {
  void operator()(T* p) const noexcept { delete p; }
};

class TrtEngine : public Napi::ObjectWrap<TrtEngine> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TrtEngine",
                       {InstanceMethod<&TrtEngine::Bindings>("bindings"),
                        InstanceMethod<&TrtEngine::Execute>("execute"),
                        InstanceMethod<&TrtEngine::Dispose>("dispose"),
                        InstanceAccessor<&TrtEngine::GetDisposed>("disposed"),
                        InstanceAccessor<&TrtEngine::GetDevice>("device")});
  }

  // new TrtEngine(plan: Uint8Array, device: number)
  explicit TrtEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrtEngine>(info) {
    Napi::Env env = info.Env();
    const cudart::Api& a = Api(env);
    Availability availability = Status();
    if (availability.reason != "ok") {
      Napi::Error e = CodedError(env, "ERR_TENSORRT_UNAVAILABLE",
                                 "TensorRT is unavailable (" + availability.reason + "): " + availability.detail);
      e.Set("reason", Napi::String::New(env, availability.reason));
      throw e;
    }
    if (!info[0].IsTypedArray()) throw ArgTypeError(env, "plan must be a Uint8Array");
    HostView plan = ToHostView(env, info[0]);
    if (plan.length == 0) throw ArgRangeError(env, "plan is empty");
    device_ = ToDevice(env, info[1]);
    Check(env, a.SetDevice(device_), "cudaSetDevice");  // TensorRT deserializes onto the current device
    using Factory = void* (*)(void*, std::int32_t);
    auto factory = reinterpret_cast<Factory>(Get().factory);
    runtime_.reset(static_cast<nvinfer1::IRuntime*>(factory(&g_logger, NV_TENSORRT_VERSION)));
    if (!runtime_) throw TrtError(env, "ERR_TENSORRT_RUNTIME", "createInferRuntime failed");
    engine_.reset(runtime_->deserializeCudaEngine(plan.data, plan.length));
    if (!engine_) {
      throw TrtError(env, "ERR_TENSORRT_DESERIALIZE",
                     "deserializeCudaEngine failed (a plan of another TensorRT version or GPU?)");
    }
    context_.reset(engine_->createExecutionContext());
    if (!context_) throw TrtError(env, "ERR_TENSORRT_CONTEXT", "createExecutionContext failed");
    ++stats::liveEngines;
    info.This().As<Napi::Object>().TypeTag(&tags::kTrtEngine);
  }

  ~TrtEngine() override { Release(); }

 private:
  bool Release() {
    if (!engine_) return false;
    cudart::Get().api.SetDevice(device_);
    context_.reset();  // contexts before their engine, the engine before its runtime
    engine_.reset();
    runtime_.reset();
    --stats::liveEngines;
    return true;
  }

  void EnsureLive(Napi::Env env) const {
    if (!engine_) throw CodedError(env, "ERR_TENSORRT_DISPOSED", "the engine was disposed");
  }

  static Napi::Array ShapeOf(Napi::Env env, const nvinfer1::Dims& dims) {
    Napi::Array shape = Napi::Array::New(env, dims.nbDims < 0 ? 0 : dims.nbDims);
    for (std::int32_t k = 0; k < dims.nbDims; ++k) shape.Set(k, Napi::Number::New(env, static_cast<double>(dims.d[k])));
    return shape;
  }

  // bindings(): [{ name, mode: "input" | "output", dtype, shape }] in TensorRT's order; -1 marks a dynamic
  // dimension.
  Napi::Value Bindings(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EnsureLive(env);
    Napi::Array out = Napi::Array::New(env);
    for (std::int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
      const char* name = engine_->getIOTensorName(i);
      Napi::Object binding = Napi::Object::New(env);
      binding.Set("name", name);
      bool input = engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT;
      binding.Set("mode", input ? "input" : "output");
      binding.Set("dtype", DTypeOf(engine_->getTensorDataType(name)).name);
      binding.Set("shape", ShapeOf(env, engine_->getTensorShape(name)));
      out.Set(static_cast<std::uint32_t>(i), binding);
    }
    return out;
  }

  // execute(buffers: { [binding]: DeviceBuffer }, stream: Stream, inputShapes?: { [input]: number[] }):
  // binds every input and output by name, checks each buffer holds its tensor, and enqueues on the stream.
  Napi::Value Execute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EnsureLive(env);
    Api(env);
    if (!info[0].IsObject()) throw ArgTypeError(env, "buffers must be an object of DeviceBuffers by binding name");
    Napi::Object buffers = info[0].As<Napi::Object>();
    Stream* stream = Stream::From(env, info[1]);
    stream->EnsureAlive(env);
    if (stream->device() != device_) {
      throw CodedError(env, "ERR_CUDA_BAD_DEVICE", "the stream is on another device than the engine");
    }
    Napi::Object shapes = info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
    const std::int32_t count = engine_->getNbIOTensors();
    std::vector<std::string> names;
    for (std::int32_t i = 0; i < count; ++i) names.emplace_back(engine_->getIOTensorName(i));
    Napi::Array given = buffers.GetPropertyNames();
    for (std::uint32_t k = 0; k < given.Length(); ++k) {
      std::string key = given.Get(k).As<Napi::String>();
      bool known = false;
      for (const auto& name : names) known = known || name == key;
      if (!known) throw CodedError(env, "ERR_TENSORRT_BINDING", "the engine has no binding named " + key);
    }
    // Inputs first: their shapes decide the outputs'.
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& name : names) {
        bool input = engine_->getTensorIOMode(name.c_str()) == nvinfer1::TensorIOMode::kINPUT;
        if (input != (pass == 0)) continue;
        if (input && shapes.Has(name)) {
          Napi::Value value = shapes.Get(name);
          if (!value.IsArray()) throw ArgTypeError(env, "inputShapes." + name + " must be an array");
          Napi::Array dims = value.As<Napi::Array>();
          nvinfer1::Dims d{};
          if (dims.Length() > static_cast<std::uint32_t>(nvinfer1::Dims::MAX_DIMS)) {
            throw ArgRangeError(env, "inputShapes." + name + " has too many dimensions");
          }
          d.nbDims = static_cast<std::int32_t>(dims.Length());
          for (std::uint32_t j = 0; j < dims.Length(); ++j) d.d[j] = static_cast<std::int64_t>(ToSize(env, dims.Get(j), "a dimension"));
          if (!context_->setInputShape(name.c_str(), d)) {
            throw TrtError(env, "ERR_TENSORRT_BINDING", "setInputShape(" + name + ") was refused");
          }
        }
        if (!buffers.Has(name)) throw CodedError(env, "ERR_TENSORRT_BINDING", "no buffer for binding " + name);
        DeviceBuffer* buffer = DeviceBuffer::From(env, buffers.Get(name));
        if (buffer->device() != device_) {
          throw CodedError(env, "ERR_CUDA_BAD_DEVICE", "the buffer for " + name + " is on another device");
        }
        nvinfer1::Dims dims = context_->getTensorShape(name.c_str());
        std::uint64_t elements = 1;
        for (std::int32_t j = 0; j < dims.nbDims; ++j) {
          if (dims.d[j] < 0) {
            throw CodedError(env, "ERR_TENSORRT_BINDING", "binding " + name + " has a dynamic shape: give inputShapes");
          }
          elements *= static_cast<std::uint64_t>(dims.d[j]);
        }
        DType dtype = DTypeOf(engine_->getTensorDataType(name.c_str()));
        std::uint64_t needed = (elements * static_cast<std::uint64_t>(dtype.bits) + 7) / 8;
        if (buffer->bytes() < needed) {
          throw CodedError(env, "ERR_TENSORRT_BINDING",
                           "the buffer for " + name + " holds " + std::to_string(buffer->bytes()) + " bytes, the tensor " +
                               std::to_string(needed));
        }
        if (!context_->setTensorAddress(name.c_str(), buffer->ptr())) {
          throw TrtError(env, "ERR_TENSORRT_BINDING", "setTensorAddress(" + name + ") was refused");
        }
      }
    }
    Check(env, cudart::Get().api.SetDevice(device_), "cudaSetDevice");
    if (!context_->enqueueV3(static_cast<cudaStream_t>(stream->handle()))) {
      throw TrtError(env, "ERR_TENSORRT_ENQUEUE", "enqueueV3 failed");
    }
    return env.Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Release()); }
  Napi::Value GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !engine_); }
  Napi::Value GetDevice(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }

  // Declared in creation order; Release() deletes them in reverse.
  std::unique_ptr<nvinfer1::IRuntime, Deleter<nvinfer1::IRuntime>> runtime_;
  std::unique_ptr<nvinfer1::ICudaEngine, Deleter<nvinfer1::ICudaEngine>> engine_;
  std::unique_ptr<nvinfer1::IExecutionContext, Deleter<nvinfer1::IExecutionContext>> context_;
  int device_ = 0;
};

}  // namespace

Napi::Function InitEngine(Napi::Env env) { return TrtEngine::Init(env); }

}  // namespace trtx::trt
