// Shared checks for the bindings: every array crossing into C++ is checked here, with the
// GIL held, so kernels only ever see valid float32/int64 C-contiguous buffers.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nnfast::bind {
namespace py = pybind11;

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
  return std::is_same<T, float>::value ? "float32" : "int64";
}

template <typename T>
T* checked(const py::array& a, const char* name, bool writeable = false) {
  if (!a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + ": expected a " + dtype_name<T>() +
                         " array, received dtype " + std::string(py::str(a.dtype())) +
                         " with shape " + shape_of(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array, received shape " +
                          shape_of(a) + " with strides");
  if (writeable && !a.writeable())
    throw py::value_error(std::string(name) + ": output array is read-only");
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

}  // namespace nnfast::bind
