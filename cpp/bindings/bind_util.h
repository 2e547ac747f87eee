// Shared checks for the bindings: every array crossing into C++ is checked here, with the
// GIL held, so kernels only ever see valid float32/int64 C-contiguous buffers.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <array>
#include <string>
#include <vector>

#include "nnfast/activation.h"

namespace nnfast::bind {
namespace py = pybind11;

// Outputs may not share memory with inputs or with each other: the kernels read inputs while
// they write outputs in blocks and threads, so an overlap silently gives wrong numbers
// (issue 14). Every entry point that takes arrays opens a BufferScope; each array checked in it
// (checked<T>, checked_i32, ...) registers its byte range, and a range that overlaps an earlier
// one where either is written raises ValueError naming both. Nothing is copied. Kernels that
// are elementwise by design may allow an output to be exactly an input (same start, same size):
// in_place_ok, with a comment at the entry point saying why it is safe.
class BufferScope {
 public:
  enum class InPlace { forbidden, same_buffer_ok };

  explicit BufferScope(std::string function, InPlace in_place = InPlace::forbidden)
      : function_(std::move(function)), in_place_(in_place), outer_(current()) {
    current() = this;
  }
  ~BufferScope() { current() = outer_; }
  BufferScope(const BufferScope&) = delete;
  BufferScope& operator=(const BufferScope&) = delete;

  // Called by the array checks; a no-op outside an entry point's scope.
  static void add(const void* data, int64_t nbytes, const char* name, bool written) {
    BufferScope* s = current();
    if (s == nullptr || nbytes <= 0) return;
    const auto begin = reinterpret_cast<uintptr_t>(data);
    const auto end = begin + static_cast<uintptr_t>(nbytes);
    for (int i = 0; i < s->count_; ++i) {
      const Buffer& b = s->buffer(i);
      if (begin >= b.end || b.begin >= end) continue;  // disjoint
      const bool same = begin == b.begin && end == b.end;
      if (same && b.name == name) return;  // one argument checked twice
      if (!written && !b.written) continue;  // inputs may share memory
      if (same && written != b.written && s->in_place_ == InPlace::same_buffer_ok) continue;
      throw py::value_error(
          s->function_ + ": " + std::string(name) + (written ? " (written)" : " (read)") +
          " shares memory with " + b.name + (b.written ? " (written)" : " (read)") +
          "; outputs may not overlap inputs or other outputs. Pass separate arrays (for example "
          "a copy).");
    }
    s->push({begin, end, name, written});
  }

 private:
  struct Buffer {
    uintptr_t begin, end;
    std::string name;
    bool written;
  };
  static BufferScope*& current() {
    thread_local BufferScope* scope = nullptr;
    return scope;
  }
  // The first kInline ranges live in the scope itself: an entry point checks a handful of
  // arrays, and this runs on every _core call of a training step (no heap allocation).
  static constexpr int kInline = 8;
  const Buffer& buffer(int i) const { return i < kInline ? inline_[i] : more_[i - kInline]; }
  void push(Buffer b) {
    if (count_ < kInline) inline_[count_] = std::move(b);
    else more_.push_back(std::move(b));
    ++count_;
  }
  std::string function_;
  InPlace in_place_;
  BufferScope* outer_;
  int count_ = 0;
  std::array<Buffer, kInline> inline_;
  std::vector<Buffer> more_;
};

inline void register_buffer(const py::array& a, const char* name, bool written) {
  BufferScope::add(a.data(), static_cast<int64_t>(a.nbytes()), name, written);
}

inline std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

template <typename T>
const char* dtype_name() {
  if (std::is_same<T, float>::value) return "float32";
  if (std::is_same<T, int8_t>::value) return "int8";
  if (std::is_same<T, int32_t>::value) return "int32";
  if (std::is_same<T, uint8_t>::value) return "uint8";
  return "int64";
}

// Equal dtypes, not only the same object: unpickled or memory-mapped arrays carry their own
// (equal) dtype objects. A byte-swapped dtype shares the type number and is refused.
inline bool same_dtype(const py::dtype& got, const py::dtype& want) {
  return got.is(want) || (got.num() == want.num() && got.itemsize() == want.itemsize() &&
                          got.byteorder() != '>');
}

template <typename T>
T* checked(const py::array& a, const char* name, bool writeable = false) {
  if (!same_dtype(a.dtype(), py::dtype::of<T>()))
    throw py::type_error(std::string(name) + ": expected a " + dtype_name<T>() +
                         " array, received dtype " + std::string(py::str(a.dtype())) +
                         " with shape " + shape_of(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array, received shape " +
                          shape_of(a) + " with strides");
  if (writeable && !a.writeable())
    throw py::value_error(std::string(name) + ": output array is read-only");
  register_buffer(a, name, writeable);
  return static_cast<T*>(const_cast<void*>(a.data()));
}

template <typename T>
T* checked_or_null(const py::object& o, const char* name, bool writeable = false) {
  if (o.is_none()) return nullptr;
  return checked<T>(py::cast<py::array>(o), name, writeable);
}

inline void require_ndim(const py::array& a, py::ssize_t ndim, const char* name) {
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + ": expected a " + std::to_string(ndim) +
                          "-D array, received shape " + shape_of(a));
}

inline void require_same_size(const py::array& a, const py::array& b, const char* an,
                              const char* bn) {
  if (a.size() != b.size())
    throw py::value_error(std::string(an) + " and " + bn + " must have the same size, received " +
                          shape_of(a) + " and " + shape_of(b));
}

inline void require_shape(const py::array& a, const std::vector<py::ssize_t>& shape,
                          const char* name) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(i) == shape[i];
  if (!ok) {
    std::string want = "(";
    for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
    throw py::value_error(std::string(name) + ": expected shape " + want + (shape.size() == 1 ? ",)" : ")") +
                          ", received " + shape_of(a));
  }
}

// An optional float32 operand (None -> nullptr) that must have exactly `shape`.
inline float* optional_f32(const py::object& o, const std::vector<py::ssize_t>& shape,
                           const char* name, bool writeable = false) {
  if (o.is_none()) return nullptr;
  py::array a = py::cast<py::array>(o);
  float* p = checked<float>(a, name, writeable);
  require_shape(a, shape, name);
  return p;
}

// An optional float32 operand (None -> nullptr) with as many elements as `like`.
inline float* optional_f32_like(const py::object& o, const py::array& like, const char* like_name,
                                const char* name, bool writeable = false) {
  if (o.is_none()) return nullptr;
  py::array a = py::cast<py::array>(o);
  require_same_size(like, a, like_name, name);
  return checked<float>(a, name, writeable);
}

// Rows and columns of an array viewed as (size / last_dim, last_dim).
inline std::pair<int64_t, int64_t> rows_cols(const py::array& a, const char* name) {
  if (a.ndim() < 1) throw py::value_error(std::string(name) + ": expected at least 1-D, received a scalar");
  const int64_t cols = a.shape(a.ndim() - 1);
  return {cols == 0 ? 0 : static_cast<int64_t>(a.size()) / cols, cols};
}

// The nnfast::Activation of an id (a value of _core.Activation); `who` names the caller.
inline nnfast::Activation activation_of(int id, const std::string& who) {
  if (id < 0 || id >= nnfast::kActivationCount)
    throw py::value_error(who + ": unknown activation id " + std::to_string(id) +
                          " (expected a value of nnfast._core.Activation, 0.." +
                          std::to_string(nnfast::kActivationCount - 1) + ")");
  return static_cast<nnfast::Activation>(id);
}

// An activation's parameters from a binding's (alpha, max_value, threshold) arguments.
inline nnfast::ActivationParams act_params(float alpha, float max_value, float threshold) {
  nnfast::ActivationParams p;
  p.alpha = alpha;
  p.max_value = max_value;
  p.threshold = threshold;
  return p;
}

}  // namespace nnfast::bind
