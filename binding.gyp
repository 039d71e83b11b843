# The trtx native addon (native/README.md). The CUDA part needs no CUDA headers or libraries at build time:
# libcudart is opened with dlopen at run time. The TensorRT backend (native/trt_engine.cc) is compiled only
# when native/detect.cjs finds TensorRT's headers under $TENSORRT_ROOT and cuda_runtime_api.h; it never
# links libnvinfer either. Build with `npm run build:addon` (native/build.cjs), which passes --nodedir so
# that node-gyp never downloads Node's headers.
{
  'variables': {
    'trt_include%': '<!(node native/detect.cjs tensorrt-include)',
    'cuda_include%': '<!(node native/detect.cjs cuda-include)',
    'bench%': '<!(node native/detect.cjs bench)',
  },
  'target_defaults': {
    'defines': ['NAPI_VERSION=8'],
    # Node 24's common.gypi passes -std=gnu++20; this comes later and wins.
    'cflags_cc': ['-std=c++17', '-fvisibility=hidden', '-Wall', '-Wextra'],
    'libraries': ['-ldl'],
  },
  'targets': [
    {
      'target_name': 'trtx_native',
      'sources': [
        'native/addon.cc',
        'native/cuda_runtime.cc',
        'native/device_buffer.cc',
        'native/errors.cc',
        'native/host_pin.cc',
        'native/js_values.cc',
        'native/stream.cc',
        'native/trt_library.cc',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      'conditions': [
        ['trt_include!="" and cuda_include!=""', {
          'sources': ['native/trt_engine.cc'],
          # -isystem: warnings inside TensorRT's and CUDA's headers are not ours to fix.
          'cflags_cc': ['-isystem', '<(trt_include)', '-isystem', '<(cuda_include)'],
          'defines': ['TRTX_HAVE_TENSORRT=1'],
        }],
      ],
    },
    {
      # The cudaMemcpy baseline of the bandwidth benchmark (bench/gpu.ts): built with TRTX_BENCH=1 only, an
      # empty target otherwise, so that an install builds the addon alone.
      'target_name': 'memcpy_baseline',
      'conditions': [
        ['bench==1', {
          'type': 'executable',
          'sources': ['native/tools/memcpy_baseline.cc', 'native/cuda_runtime.cc'],
        }, {
          'type': 'none',
        }],
      ],
    },
  ],
}
