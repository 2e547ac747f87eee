// NumPy's memory for large arrays from nnfast's buffer cache (see nnfast/buffer_cache.h).
//
// nnfast's ops allocate their outputs with np.empty; while nnfast runs a model this handler
// (NumPy >= 1.22 allocation policies) makes every large array created in that context come
// from, and return to, the cache. Small blocks, calloc (np.zeros: the OS zeroes its
// pages lazily) and arrays realloc'ed from small blocks keep using malloc as before. NumPy
// records the handler in each array, so arrays made here may be freed anywhere.
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define NPY_TARGET_VERSION NPY_1_22_API_VERSION
#include <pybind11/pybind11.h>

#include <numpy/arrayobject.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "nnfast/buffer_cache.h"

namespace py = pybind11;

namespace {

// The live blocks that came from the cache, with their sizes: free() and realloc() must tell
// them from malloc's (realloc is not given the old size).
std::mutex live_mutex;
std::unordered_map<void*, size_t>& live() {
  static auto* m = new std::unordered_map<void*, size_t>();  // outlives every array
  return *m;
}

void* cached_or_malloc(size_t size) {
  if (size >= nnfast::kBufferCacheMinBytes && nnfast::buffer_cache_stats().limit_bytes > 0) {
    void* p = nnfast::buffer_cache_allocate(size);
    if (p) {
      std::lock_guard<std::mutex> lock(live_mutex);
      live()[p] = size;
    }
    return p;
  }
  return std::malloc(size ? size : 1);
}

// Returns the block's size when it came from the cache (and forgets it), else 0.
size_t take_live(void* p) {
  std::lock_guard<std::mutex> lock(live_mutex);
  auto it = live().find(p);
  if (it == live().end()) return 0;
  const size_t size = it->second;
  live().erase(it);
  return size;
}

void* handler_malloc(void*, size_t size) { return cached_or_malloc(size); }

void* handler_calloc(void*, size_t nelem, size_t elsize) { return std::calloc(nelem, elsize); }

void* handler_realloc(void*, void* ptr, size_t new_size) {
  if (!ptr) return cached_or_malloc(new_size);
  const size_t old = take_live(ptr);
  if (old == 0) return std::realloc(ptr, new_size);
  void* fresh = cached_or_malloc(new_size);
  if (!fresh) {
    std::lock_guard<std::mutex> lock(live_mutex);
    live()[ptr] = old;  // realloc failing leaves the old block valid
    return nullptr;
  }
  std::memcpy(fresh, ptr, old < new_size ? old : new_size);
  nnfast::buffer_cache_release(ptr, old);
  return fresh;
}

void handler_free(void*, void* ptr, size_t) {
  if (!ptr) return;
  const size_t size = take_live(ptr);
  if (size)
    nnfast::buffer_cache_release(ptr, size);
  else
    std::free(ptr);
}

PyDataMem_Handler handler = {
    "nnfast_buffer_cache",
    1,
    {nullptr, handler_malloc, handler_calloc, handler_realloc, handler_free},
};

}  // namespace

void bind_memory(py::module_& m) {
  if (_import_array() < 0) throw py::error_already_set();
  // The handler is used inside nnfast's own calls only (nnfast.backend.memory.scope): NumPy
  // keeps the handler in a context variable, so the user's arrays made elsewhere keep
  // NumPy's default allocator.
  m.def(
      "numpy_buffer_cache_enter",
      []() -> py::object {
        py::object current = py::reinterpret_steal<py::object>(PyDataMem_GetHandler());
        if (!current) throw py::error_already_set();
        if (PyCapsule_GetPointer(current.ptr(), "mem_handler") == &handler) return py::none();
        py::object capsule = py::reinterpret_steal<py::object>(
            PyCapsule_New(&handler, "mem_handler", nullptr));
        if (!capsule) throw py::error_already_set();
        py::object old = py::reinterpret_steal<py::object>(PyDataMem_SetHandler(capsule.ptr()));
        if (!old) throw py::error_already_set();
        return old;
      },
      "Makes NumPy take large arrays (>= 1 MiB) created in this context from nnfast's buffer "
      "cache. Returns the handler it replaced (give it to numpy_buffer_cache_exit), or None "
      "when the cache's handler was already in use.");
  m.def(
      "numpy_buffer_cache_exit",
      [](const py::object& previous) {
        if (previous.is_none()) return;
        if (!PyCapsule_IsValid(previous.ptr(), "mem_handler"))
          throw py::type_error("numpy_buffer_cache_exit: expected the handler returned by "
                               "numpy_buffer_cache_enter");
        py::object ours = py::reinterpret_steal<py::object>(PyDataMem_SetHandler(previous.ptr()));
        if (!ours) throw py::error_already_set();
      },
      py::arg("previous"),
      "Puts back the NumPy allocation handler numpy_buffer_cache_enter replaced.");
  m.def("buffer_cache_stats", []() {
    const auto s = nnfast::buffer_cache_stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes;
    d["limit_bytes"] = s.limit_bytes;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    return d;
  });
  m.def("buffer_cache_set_limit", [](size_t bytes) { nnfast::buffer_cache_set_limit(bytes); },
        py::arg("bytes"));
  m.def("buffer_cache_clear", []() { nnfast::buffer_cache_clear(); });
}
