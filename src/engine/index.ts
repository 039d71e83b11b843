/**
 * `trtx/engine`: the GPU layer over the native addon, GPU memory and TensorRT engines as scoped resources.
 * Importing it loads nothing native: the addon is loaded when `Cuda.layer` is built, and where it is not
 * built or there is no GPU, every entry point fails with `CudaUnavailable` saying why (`Cuda.layerNoGpu`
 * never touches it).
 *
 * @since 0.1.0
 */
export * as Compatibility from "./Compatibility.ts"
export * as Cuda from "./Cuda.ts"
export * as DeviceBuffer from "./DeviceBuffer.ts"
export * as EngineError from "./EngineError.ts"
export * as HostBuffer from "./HostBuffer.ts"
export * as Stream from "./Stream.ts"
export * as TrtEngine from "./TrtEngine.ts"
