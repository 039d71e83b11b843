// trtx_native: GPU memory, streams and (where TensorRT's headers were found at build time) TensorRT engines
// for trtx's Effect layer (src/engine). The CUDA runtime and libnvinfer are opened with dlopen at run time,
// so the addon builds and loads where neither exists, and status() / tensorrt() say why they can't be used.
//
// A Napi::Addon: its classes are per env, so it loads in worker threads too.
#include <napi.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "cuda_runtime.h"
#include "device_buffer.h"
#include "errors.h"
#include "host_pin.h"
#include "js_values.h"
#include "stats.h"
#include "stream.h"
#include "trt_library.h"

#ifndef TRTX_HAVE_TENSORRT
#define TRTX_HAVE_TENSORRT 0
#endif
#if TRTX_HAVE_TENSORRT
#include "trt_engine.h"
#endif

namespace trtx {
namespace {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceMethod<&Addon::Status>("status", napi_enumerable),
                             InstanceMethod<&Addon::DeviceProperties>("deviceProperties", napi_enumerable),
                             InstanceMethod<&Addon::MemInfo>("memInfo", napi_enumerable),
                             InstanceMethod<&Addon::Stats>("stats", napi_enumerable),
                             InstanceMethod<&Addon::TensorRT>("tensorrt", napi_enumerable),
                             InstanceValue("DeviceBuffer", DeviceBuffer::Init(env), napi_enumerable),
                             InstanceValue("Stream", Stream::Init(env), napi_enumerable),
                             InstanceValue("HostPin", HostPin::Init(env), napi_enumerable),
                         });
#if TRTX_HAVE_TENSORRT
    exports.Set("TrtEngine", trt::InitEngine(env));
#endif
  }

 private:
  // status(): whether CUDA can be used and, when not, why. Never throws.
  Napi::Value Status(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const cudart::State& s = cudart::Get();
    Napi::Object o = Napi::Object::New(env);
    o.Set("available", s.availability == cudart::Availability::kOk);
    o.Set("reason", cudart::AvailabilityName(s.availability));
    o.Set("detail", s.detail);
    o.Set("libraryPath", s.libraryPath.empty() ? env.Null() : Napi::String::New(env, s.libraryPath));
    o.Set("runtimeVersion", s.runtimeVersion);
    o.Set("driverVersion", s.driverVersion);
    o.Set("deviceCount", s.deviceCount);
    return o;
  }

  // deviceProperties(device = 0)
  Napi::Value DeviceProperties(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const cudart::Api& a = Api(env);
    int device = ToDevice(env, info[0]);
    alignas(16) static thread_local unsigned char prop[cudart::kPropBufferSize];
    std::memset(prop, 0, sizeof prop);
    Check(env, a.GetDeviceProperties(prop, device), "cudaGetDeviceProperties");
    auto attribute = [&](int which) {
      int value = 0;
      Check(env, a.DeviceGetAttribute(&value, which, device), "cudaDeviceGetAttribute");
      return value;
    };
    Napi::Object o = Napi::Object::New(env);
    o.Set("ordinal", device);
    const char* name = reinterpret_cast<const char*>(prop + cudart::kPropNameOffset);
    o.Set("name", std::string(name, strnlen(name, cudart::kPropNameSize)));
    const unsigned char* u = prop + cudart::kPropUuidOffset;
    char uuid[48];
    std::snprintf(uuid, sizeof uuid, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                  u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    o.Set("uuid", uuid);
    o.Set("major", attribute(cudart::kAttrComputeCapabilityMajor));
    o.Set("minor", attribute(cudart::kAttrComputeCapabilityMinor));
    o.Set("multiProcessorCount", attribute(cudart::kAttrMultiProcessorCount));
    o.Set("l2CacheBytes", attribute(cudart::kAttrL2CacheSize));
    o.Set("memoryBusWidthBits", attribute(cudart::kAttrGlobalMemoryBusWidth));
    char pci[32];
    std::snprintf(pci, sizeof pci, "%08x:%02x:%02x.0", attribute(cudart::kAttrPciDomainId),
                  attribute(cudart::kAttrPciBusId), attribute(cudart::kAttrPciDeviceId));
    o.Set("pciBusId", pci);
    std::size_t total = 0;
    std::memcpy(&total, prop + cudart::kPropTotalGlobalMemOffset, sizeof total);
    o.Set("totalMemory", static_cast<double>(total));
    return o;
  }

  // memInfo(device = 0): cudaMemGetInfo, which creates the device's context on first use.
  Napi::Value MemInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const cudart::Api& a = Api(env);
    int device = ToDevice(env, info[0]);
    std::size_t free = 0, total = 0;
    Check(env, a.SetDevice(device), "cudaSetDevice");
    Check(env, a.MemGetInfo(&free, &total), "cudaMemGetInfo");
    Napi::Object o = Napi::Object::New(env);
    o.Set("free", static_cast<double>(free));
    o.Set("total", static_cast<double>(total));
    return o;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("liveBuffers", static_cast<double>(stats::liveBuffers.load()));
    o.Set("liveBytes", static_cast<double>(stats::liveBytes.load()));
    o.Set("explicitFrees", static_cast<double>(stats::explicitFrees.load()));
    o.Set("finalizerFrees", static_cast<double>(stats::finalizerFrees.load()));
    o.Set("liveStreams", static_cast<double>(stats::liveStreams.load()));
    o.Set("livePins", static_cast<double>(stats::livePins.load()));
    o.Set("liveEngines", static_cast<double>(stats::liveEngines.load()));
    return o;
  }

  // tensorrt(): whether engines can be deserialized and, when not, why. Never throws.
  Napi::Value TensorRT(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const trt::Library& library = trt::Get();
    trt::Availability availability = trt::Status();
    Napi::Object o = Napi::Object::New(env);
    o.Set("available", availability.reason == "ok");
    o.Set("reason", availability.reason);
    o.Set("detail", availability.detail);
    o.Set("compiledMajor", trt::CompiledMajor());
    o.Set("libraryPath", library.loaded ? Napi::String::New(env, library.path) : env.Null());
    int v = library.version;
    o.Set("version", v > 0 ? Napi::String::New(env, std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) +
                                                        "." + std::to_string(v % 100))
                           : env.Null());
    return o;
  }
};

}  // namespace
}  // namespace trtx

// The macro pastes the class name into an identifier: it takes an unqualified name.
using trtx::Addon;
NODE_API_ADDON(Addon)
