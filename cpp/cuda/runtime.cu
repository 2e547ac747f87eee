// Device queries, the caching allocator, copies and the status checks every .cu file uses.
#include <cuda_runtime.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "common.cuh"
#include "nnfast/cuda/runtime.h"

namespace nnfast::cuda {
namespace detail {

void throw_cuda_error(cudaError_t status, const char* call) {
  // NOTE: clear the per-thread last error so that the next check does not report this one again
  // (sticky errors, after a kernel fault, stay whatever we do).
  cudaGetLastError();
  throw std::runtime_error(std::string("CUDA error in ") + call + ": " +
                           cudaGetErrorString(status));
}

namespace {
bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("NNFAST_CUDA_SYNC");
    return v != nullptr && v[0] != '\0' && v[0] != '0';
  }();
  return on;
}
}  // namespace

void check_launch(const char* kernel) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw_cuda_error(status, kernel);
  if (sync_after_launch()) {
    status = cudaDeviceSynchronize();
    if (status != cudaSuccess) throw_cuda_error(status, kernel);
  }
}

namespace {
// Lowest position whose id is outside [0, limit); positions are compared with atomicMin so the
// first bad one wins whatever the thread order.
__global__ void find_bad_index_kernel(const int64_t* ids, int64_t n, int64_t limit,
                                      unsigned long long* first) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t id = ids[i];
    if (id < 0 || id >= limit) atomicMin(first, static_cast<unsigned long long>(i));
  }
}
}  // namespace

BadIndex first_bad_index(const int64_t* ids, int64_t n, int64_t limit) {
  BadIndex bad;
  if (n <= 0) return bad;
  DeviceBuffer flag(sizeof(unsigned long long));
  const unsigned long long none = static_cast<unsigned long long>(n);
  copy_to_device(flag.data(), &none, sizeof(none));
  find_bad_index_kernel<<<grid_for(n), kThreads>>>(
      ids, n, limit, static_cast<unsigned long long*>(flag.data()));
  NNFAST_CUDA_CHECK_LAUNCH("find_bad_index_kernel");
  unsigned long long first = none;
  copy_to_host(&first, flag.data(), sizeof(first));
  if (first < none) {
    bad.position = static_cast<int64_t>(first);
    copy_to_host(&bad.value, ids + bad.position, sizeof(int64_t));
  }
  return bad;
}

}  // namespace detail

// ---- device queries ---------------------------------------------------------------------------

namespace {
struct Probe {
  int count = 0;
  std::string reason;
};
// NOTE: probed once. cudaGetDeviceCount fails softly (no driver, stub driver, no device,
// CUDA_VISIBLE_DEVICES empty) and the answer cannot change within a process.
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    const cudaError_t status = cudaGetDeviceCount(&n);
    if (status != cudaSuccess) {
      cudaGetLastError();
      r.reason = cudaGetErrorString(status);
      r.count = 0;
    } else if (n == 0) {
      r.reason = "no CUDA-capable device is detected";
    } else {
      r.count = n;
    }
    return r;
  }();
  return p;
}
}  // namespace

int device_count() noexcept {
  try {
    return probe().count;
  } catch (...) {
    return 0;
  }
}

std::string unavailable_reason() { return probe().reason; }

DeviceInfo device_info(int index) {
  const int n = device_count();
  if (index < 0 || index >= n)
    throw std::invalid_argument("device index " + std::to_string(index) + " is outside [0, " +
                                std::to_string(n) + ")" +
                                (n == 0 ? " (no CUDA device: " + unavailable_reason() + ")" : ""));
  cudaDeviceProp prop;
  NNFAST_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  DeviceInfo info;
  info.name = prop.name;
  info.major = prop.major;
  info.minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  info.total_memory = prop.totalGlobalMem;
  return info;
}

void memory_info(std::size_t* free_bytes, std::size_t* total_bytes) {
  size_t f = 0, t = 0;
  NNFAST_CUDA_CHECK(cudaMemGetInfo(&f, &t));
  if (free_bytes) *free_bytes = f;
  if (total_bytes) *total_bytes = t;
}

void synchronize() { NNFAST_CUDA_CHECK(cudaDeviceSynchronize()); }

// ---- caching allocator ------------------------------------------------------------------------

namespace {

class CachingAllocator {
 public:
  void* allocate(std::size_t block) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(block);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.bytes_cached -= block;
        stats_.bytes_in_use += block;
        ++stats_.cache_hits;
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, block);
    if (status == cudaErrorMemoryAllocation) {
      // Out of memory with blocks of other sizes parked in the cache: give those back, retry.
      cudaGetLastError();
      empty_cache();
      status = cudaMalloc(&p, block);
    }
    if (status != cudaSuccess)
      detail::throw_cuda_error(status, ("cudaMalloc(" + std::to_string(block) + " bytes)").c_str());
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.device_allocs;
    stats_.bytes_in_use += block;
    return p;
  }

  void release(void* p, std::size_t block) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      free_[block].push_back(p);
    } catch (...) {
      // Cannot record it (out of host memory): hand it straight back to the device.
      cudaFree(p);
      ++stats_.device_frees;
      stats_.bytes_in_use -= block;
      return;
    }
    stats_.bytes_in_use -= block;
    stats_.bytes_cached += block;
  }

  void empty_cache() {
    std::map<std::size_t, std::vector<void*>> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blocks.swap(free_);
      for (const auto& kv : blocks) {
        stats_.bytes_cached -= kv.first * kv.second.size();
        stats_.device_frees += kv.second.size();
      }
    }
    cudaError_t first_error = cudaSuccess;
    for (const auto& kv : blocks)
      for (void* p : kv.second) {
        const cudaError_t status = cudaFree(p);
        if (status != cudaSuccess && first_error == cudaSuccess) first_error = status;
      }
    if (first_error != cudaSuccess) detail::throw_cuda_error(first_error, "cudaFree");
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;  // bucket size -> cached blocks
  AllocatorStats stats_;
};

// NOTE: deliberately never destroyed. At process exit the static CUDA runtime may already be
// torn down, and cudaFree from a static destructor would then fail or crash; the driver
// reclaims the memory of an exiting process anyway.
CachingAllocator& allocator() {
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

}  // namespace

std::size_t allocator_round_size(std::size_t bytes) {
  if (bytes <= 512) return 512;
  // Step = a quarter of the largest power of two <= bytes: at most 25% slack.
  std::size_t pow2 = 1;
  while (pow2 <= bytes / 2) pow2 <<= 1;
  const std::size_t step = pow2 / 4 < 512 ? 512 : pow2 / 4;
  return (bytes + step - 1) / step * step;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) {
  if (bytes == 0) return;
  const std::size_t block = allocator_round_size(bytes);
  ptr_ = allocator().allocate(block);
  bytes_ = bytes;
  block_ = block;
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(other.ptr_), bytes_(other.bytes_), block_(other.block_) {
  other.ptr_ = nullptr;
  other.bytes_ = other.block_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    ptr_ = other.ptr_;
    bytes_ = other.bytes_;
    block_ = other.block_;
    other.ptr_ = nullptr;
    other.bytes_ = other.block_ = 0;
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (ptr_ != nullptr) allocator().release(ptr_, block_);
  ptr_ = nullptr;
  bytes_ = block_ = 0;
}

AllocatorStats allocator_stats() { return allocator().stats(); }
void empty_cache() { allocator().empty_cache(); }

// ---- copies -----------------------------------------------------------------------------------

void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  NNFAST_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  NNFAST_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void copy_device_to_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  NNFAST_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

void fill_zero(void* dst, std::size_t bytes) {
  if (bytes == 0) return;
  NNFAST_CUDA_CHECK(cudaMemset(dst, 0, bytes));
}

}  // namespace nnfast::cuda
