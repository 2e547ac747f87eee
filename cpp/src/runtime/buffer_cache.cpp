#include "nnfast/buffer_cache.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace nnfast {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kPage = 4096;

size_t rounded(size_t bytes) { return (bytes + kPage - 1) / kPage * kPage; }

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by rounded size
  BufferCacheStats stats;

  Cache() {
    stats.limit_bytes = size_t{1} << 30;  // 1 GiB; NNFAST_BUFFER_CACHE_MB overrides
    if (const char* env = std::getenv("NNFAST_BUFFER_CACHE_MB"))
      stats.limit_bytes = static_cast<size_t>(std::strtoull(env, nullptr, 10)) << 20;
  }

  // Frees cached blocks (any size) until `need` more bytes fit under the limit.
  void make_room(size_t need) {
    for (auto it = free_blocks.begin();
         it != free_blocks.end() && stats.cached_bytes + need > stats.limit_bytes;) {
      auto& blocks = it->second;
      while (!blocks.empty() && stats.cached_bytes + need > stats.limit_bytes) {
        std::free(blocks.back());
        blocks.pop_back();
        stats.cached_bytes -= it->first;
      }
      it = blocks.empty() ? free_blocks.erase(it) : std::next(it);
    }
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: numpy may free arrays at exit
  return *c;
}

}  // namespace

void* buffer_cache_allocate(size_t bytes) {
  const size_t size = rounded(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= size;
      ++c.stats.hits;
      return block;
    }
    ++c.stats.misses;
  }
  return std::aligned_alloc(kAlign, size);
}

void buffer_cache_release(void* block, size_t bytes) {
  if (!block) return;
  const size_t size = rounded(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (size <= c.stats.limit_bytes) {
      c.make_room(size);
      c.free_blocks[size].push_back(block);
      c.stats.cached_bytes += size;
      return;
    }
  }
  std::free(block);
}

void buffer_cache_clear() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& kv : c.free_blocks)
    for (void* block : kv.second) std::free(block);
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

void buffer_cache_set_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.limit_bytes = bytes;
  c.make_room(0);
}

BufferCacheStats buffer_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

}  // namespace nnfast
