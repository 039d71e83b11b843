// The bandwidth baseline for `npm run bench` (bench/gpu.ts): page-locked host memory from cudaMallocHost
// and device memory from cudaMalloc, copied with plain cudaMemcpy, timed on the host as the addon's copies
// are. It opens the same CUDA runtime the same way the addon does (cuda_runtime.cc), so both sides measure
// one library on one device.
//
//   memcpy_baseline BYTES REPS [DEVICE]  ->  one JSON line: {"bytes":..,"h2d":[s..],"d2h":[s..]}
//   exit 2 with {"unavailable":reason,"detail":..} when CUDA can't be used
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../cuda_runtime.h"

namespace {

using trtx::cudart::Api;
using trtx::cudart::Error;

void Die(const Api& a, Error error, const char* op) {
  std::fprintf(stderr, "%s: %s\n", op, a.GetErrorName(error));
  std::exit(1);
}

std::vector<double> Time(const Api& a, void* dst, const void* src, std::size_t bytes, int kind, int reps) {
  std::vector<double> seconds;
  for (int i = 0; i < reps + 2; ++i) {  // two warm-up copies, not kept
    auto start = std::chrono::steady_clock::now();
    Error error = a.Memcpy(dst, src, bytes, kind);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (error != trtx::cudart::kSuccess) Die(a, error, "cudaMemcpy");
    if (i >= 2) seconds.push_back(s);
  }
  return seconds;
}

std::string Json(const std::vector<double>& values) {
  std::string out = "[";
  char number[32];
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::snprintf(number, sizeof number, "%s%.9f", i == 0 ? "" : ",", values[i]);
    out += number;
  }
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: memcpy_baseline BYTES REPS [DEVICE]\n");
    return 64;
  }
  std::size_t bytes = std::strtoull(argv[1], nullptr, 10);
  int reps = std::atoi(argv[2]);
  int device = argc > 3 ? std::atoi(argv[3]) : 0;
  const trtx::cudart::State& s = trtx::cudart::Get();
  if (s.availability != trtx::cudart::Availability::kOk) {
    std::printf("{\"unavailable\":\"%s\",\"detail\":\"%s\"}\n", trtx::cudart::AvailabilityName(s.availability),
                s.detail.c_str());
    return 2;
  }
  const Api& a = s.api;
  Error error = a.SetDevice(device);
  if (error != trtx::cudart::kSuccess) Die(a, error, "cudaSetDevice");
  void* host = nullptr;
  void* dev = nullptr;
  if ((error = a.MallocHost(&host, bytes)) != trtx::cudart::kSuccess) Die(a, error, "cudaMallocHost");
  if ((error = a.Malloc(&dev, bytes)) != trtx::cudart::kSuccess) Die(a, error, "cudaMalloc");
  std::memset(host, 0x5a, bytes);
  std::vector<double> h2d = Time(a, dev, host, bytes, trtx::cudart::kMemcpyHostToDevice, reps);
  std::vector<double> d2h = Time(a, host, dev, bytes, trtx::cudart::kMemcpyDeviceToHost, reps);
  a.Free(dev);
  a.FreeHost(host);
  std::printf("{\"bytes\":%zu,\"h2d\":%s,\"d2h\":%s}\n", bytes, Json(h2d).c_str(), Json(d2h).c_str());
  return 0;
}
