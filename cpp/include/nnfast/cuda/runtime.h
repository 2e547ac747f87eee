// CUDA runtime pieces of the optional CUDA build (NNFAST_CUDA=ON): device queries, owned
// device memory from a caching allocator, and host<->device copies.
//
// Pure C++: no CUDA header is included, so the bindings compile with the host compiler.
// Everything runs on the current device (device 0 unless the process chose another) and on the
// legacy default stream; copies are blocking. Every CUDA call is checked and a failure throws
// std::runtime_error("CUDA error in <call>: <cudaGetErrorString>").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace nnfast::cuda {

// Number of visible CUDA devices. Never throws: without a driver or a device it returns 0 and
// unavailable_reason() says why (the CUDA error string).
int device_count() noexcept;
// Empty when device_count() > 0, else why there is no usable device.
std::string unavailable_reason();

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;        // compute capability
  int multiprocessors = 0;
  std::size_t total_memory = 0;    // bytes
};
// Throws std::invalid_argument for an index outside [0, device_count()).
DeviceInfo device_info(int index);
// Free and total memory of the current device, in bytes (cudaMemGetInfo).
void memory_info(std::size_t* free_bytes, std::size_t* total_bytes);

// Waits for all queued work on the device; turns an asynchronous kernel failure into an
// exception here.
void synchronize();

// Owned device memory, handed out by the caching allocator and given back to it (not to
// cudaFree) on destruction. Move-only. NOTE: with one stream, memory given back while a queued
// kernel still reads it is safe to hand out again: any later use is queued after that kernel.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);  // bytes == 0 gives an empty buffer (no memory)
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return ptr_; }
  std::size_t size() const { return bytes_; }          // as requested
  std::size_t block_size() const { return block_; }    // rounded bucket size actually held

 private:
  void release() noexcept;
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t block_ = 0;
};

struct AllocatorStats {
  std::size_t bytes_in_use = 0;   // held by live DeviceBuffers (bucket sizes)
  std::size_t bytes_cached = 0;   // in the free lists, ready for reuse
  std::size_t device_allocs = 0;  // cudaMalloc calls so far
  std::size_t device_frees = 0;   // cudaFree calls so far
  std::size_t cache_hits = 0;     // allocations served from the free lists
};
AllocatorStats allocator_stats();
// Returns every cached (unused) block to the device with cudaFree.
void empty_cache();
// The bucket a request of `bytes` is rounded up to (4 size classes per power of two,
// at least 512 bytes): the same request always lands in the same free list.
std::size_t allocator_round_size(std::size_t bytes);

// Blocking copies (cudaMemcpy on the default stream). Zero bytes is a no-op.
void copy_to_device(void* dst, const void* src, std::size_t bytes);
void copy_to_host(void* dst, const void* src, std::size_t bytes);
void copy_device_to_device(void* dst, const void* src, std::size_t bytes);
void fill_zero(void* dst, std::size_t bytes);

}  // namespace nnfast::cuda
