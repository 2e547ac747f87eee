// Grow-only, 64-byte aligned scratch memory, one per thread that declares it thread_local:
// the GEMM drivers' packing buffers. OpenMP pool threads persist, so steady-state calls never
// allocate.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>

namespace nnfast {

template <typename T>
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { std::free(data_); }

  // At least `count` elements; the previous contents are not kept when it grows.
  T* get(size_t count) {
    if (count > cap_) {
      std::free(data_);
      const size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
      data_ = static_cast<T*>(std::aligned_alloc(64, bytes));
      if (!data_) {
        cap_ = 0;
        throw std::bad_alloc();
      }
      cap_ = bytes / sizeof(T);
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace nnfast
