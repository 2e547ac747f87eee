// A cache of large host buffers, reused by the next allocation of the same size.
//
// Inference and training allocate the same feature-map sizes batch after batch. Blocks of a
// few MB and more come from mmap: each allocation page-faults its memory in (and the kernel
// zeroes it) and each free unmaps it again, which cost ~15% of a ResNet50 batch here. Kept
// here instead, a freed block is handed straight back, already mapped.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nnfast {

struct BufferCacheStats {
  size_t cached_bytes = 0;  // held for reuse now
  size_t limit_bytes = 0;   // most it will hold
  uint64_t hits = 0;        // allocations served from the cache
  uint64_t misses = 0;      // allocations that went to the system
};

// Blocks below this size are never cached (malloc serves them well).
constexpr size_t kBufferCacheMinBytes = size_t{1} << 20;

// A 64-byte aligned block of `bytes` (>= kBufferCacheMinBytes), from the cache when one of
// the same rounded size is there. nullptr when the system has no memory.
void* buffer_cache_allocate(size_t bytes);
// Gives back a block from buffer_cache_allocate with the same `bytes`: kept for reuse, or
// freed when keeping it would pass the limit.
void buffer_cache_release(void* block, size_t bytes);
// Frees every cached block.
void buffer_cache_clear();
// Most bytes kept for reuse; 0 disables caching (and frees what is cached).
void buffer_cache_set_limit(size_t bytes);
BufferCacheStats buffer_cache_stats();

}  // namespace nnfast
