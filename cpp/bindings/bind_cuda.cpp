// nnfast._core.cuda: registered in every build so Python can always ask. Without
// NNFAST_HAVE_CUDA it only says compiled = False and device_count() = 0; with it, device
// queries, DeviceArray (owned device memory + shape + dtype) and the CUDA kernels, taking
// DeviceArrays with the same argument names and shape checks as the CPU bindings.
#include <pybind11/pybind11.h>

namespace py = pybind11;

#ifndef NNFAST_HAVE_CUDA

void bind_cuda(py::module_& m) {
  py::module_ cu = m.def_submodule("cuda", "CUDA kernels (this build has none)");
  cu.attr("compiled") = false;
  cu.def("device_count", [] { return 0; }, "Always 0: nnfast was built without CUDA.");
  cu.def("unavailable_reason", [] { return std::string("nnfast was built without CUDA"); });
}

#else  // NNFAST_HAVE_CUDA

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nnfast/cuda/kernels.h"
#include "nnfast/cuda/runtime.h"

namespace cu = nnfast::cuda;

namespace {

enum class DType : int { float32 = 0, int32 = 1, int64 = 2 };

const char* dtype_name(DType d) {
  switch (d) {
    case DType::float32: return "float32";
    case DType::int32: return "int32";
    case DType::int64: return "int64";
  }
  return "?";
}
std::size_t itemsize(DType d) { return d == DType::int64 ? 8 : 4; }

DType parse_dtype(const py::object& o) {
  const py::dtype dt = py::dtype::from_args(o);
  if (dt.is(py::dtype::of<float>())) return DType::float32;
  if (dt.is(py::dtype::of<int32_t>())) return DType::int32;
  if (dt.is(py::dtype::of<int64_t>())) return DType::int64;
  throw py::type_error("DeviceArray: dtype must be float32, int32 or int64, received " +
                       std::string(py::str(o)));
}

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::int32: return py::dtype::of<int32_t>();
    case DType::int64: return py::dtype::of<int64_t>();
    default: return py::dtype::of<float>();
  }
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// A dense C-ordered array in device memory. Reshaped views share the buffer.
struct DeviceArray {
  std::shared_ptr<cu::DeviceBuffer> buffer;
  std::vector<int64_t> shape;
  DType dtype = DType::float32;

  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  std::size_t nbytes() const { return static_cast<std::size_t>(size()) * itemsize(dtype); }
  void* data() const { return buffer ? buffer->data() : nullptr; }

  static DeviceArray empty(std::vector<int64_t> shape, DType dtype) {
    for (int64_t d : shape)
      if (d < 0) throw py::value_error("DeviceArray: negative dimension in shape " + shape_str(shape));
    DeviceArray a;
    a.shape = std::move(shape);
    a.dtype = dtype;
    a.buffer = std::make_shared<cu::DeviceBuffer>(a.nbytes());
    return a;
  }
};

std::vector<int64_t> shape_of_numpy(const py::array& a) {
  std::vector<int64_t> s(static_cast<std::size_t>(a.ndim()));
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s[static_cast<std::size_t>(i)] = a.shape(i);
  return s;
}

std::vector<int64_t> parse_shape(const py::object& o) {
  if (py::isinstance<py::int_>(o)) return {o.cast<int64_t>()};
  return o.cast<std::vector<int64_t>>();
}

// ---- the checks of bind_util.h, for DeviceArrays --------------------------------------------

template <typename T>
DType dtype_of();
template <>
DType dtype_of<float>() { return DType::float32; }
template <>
DType dtype_of<int32_t>() { return DType::int32; }
template <>
DType dtype_of<int64_t>() { return DType::int64; }

template <typename T>
T* checked(const DeviceArray& a, const char* name) {
  if (a.dtype != dtype_of<T>())
    throw py::type_error(std::string(name) + ": expected a " + dtype_name(dtype_of<T>()) +
                         " DeviceArray, received dtype " + dtype_name(a.dtype) + " with shape " +
                         shape_str(a.shape));
  return static_cast<T*>(a.data());
}

// None -> nullptr; anything but a DeviceArray is a TypeError.
const DeviceArray* optional_array(const py::object& o, const char* name) {
  if (o.is_none()) return nullptr;
  if (!py::isinstance<DeviceArray>(o))
    throw py::type_error(std::string(name) + ": expected a DeviceArray or None, received " +
                         std::string(py::str(py::type::of(o))));
  return &o.cast<const DeviceArray&>();
}

void require_ndim(const DeviceArray& a, std::size_t ndim, const char* name) {
  if (a.shape.size() != ndim)
    throw py::value_error(std::string(name) + ": expected a " + std::to_string(ndim) +
                          "-D array, received shape " + shape_str(a.shape));
}

void require_same_size(const DeviceArray& a, const DeviceArray& b, const char* an,
                       const char* bn) {
  if (a.size() != b.size())
    throw py::value_error(std::string(an) + " and " + bn + " must have the same size, received " +
                          shape_str(a.shape) + " and " + shape_str(b.shape));
}

void require_shape(const DeviceArray& a, const std::vector<int64_t>& shape, const char* name) {
  if (a.shape != shape)
    throw py::value_error(std::string(name) + ": expected shape " + shape_str(shape) +
                          ", received " + shape_str(a.shape));
}

void require_same_shape(const DeviceArray& a, const DeviceArray& b, const char* an,
                        const char* bn) {
  if (a.shape != b.shape)
    throw py::value_error(std::string(an) + " and " + bn + " must have the same shape, received " +
                          shape_str(a.shape) + " and " + shape_str(b.shape));
}

std::pair<int64_t, int64_t> rows_cols(const DeviceArray& a, const char* name) {
  if (a.shape.empty())
    throw py::value_error(std::string(name) + ": expected at least 1-D, received a scalar");
  const int64_t cols = a.shape.back();
  return {cols == 0 ? 0 : a.size() / cols, cols};
}

nnfast::Activation to_activation(int id) {
  if (id < 0 || id > static_cast<int>(nnfast::Activation::mish))
    throw py::value_error("unknown activation id " + std::to_string(id));
  return static_cast<nnfast::Activation>(id);
}

nnfast::ActivationParams act_params(float alpha, float max_value, float threshold) {
  nnfast::ActivationParams p;
  p.alpha = alpha;
  p.max_value = max_value;
  p.threshold = threshold;
  return p;
}

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- device, memory, DeviceArray ------------------------------------------------------------

void bind_device(py::module_& m) {
  m.attr("compiled") = true;
  m.def("device_count", &cu::device_count,
        "Number of visible CUDA devices; 0 (never an error) without a driver or a device.");
  m.def("unavailable_reason", &cu::unavailable_reason,
        "Why no device is usable (the CUDA error string); empty when one is.");
  m.def(
      "device_name", [](int i) { return cu::device_info(i).name; }, py::arg("index") = 0);
  m.def(
      "device_info",
      [](int i) {
        const cu::DeviceInfo d = cu::device_info(i);
        py::dict r;
        r["name"] = d.name;
        r["compute_capability"] = py::make_tuple(d.major, d.minor);
        r["multiprocessors"] = d.multiprocessors;
        r["total_memory"] = d.total_memory;
        return r;
      },
      py::arg("index") = 0);
  m.def("memory_info", [] {
    std::size_t free_bytes = 0, total_bytes = 0;
    cu::memory_info(&free_bytes, &total_bytes);
    return py::make_tuple(free_bytes, total_bytes);
  }, "(free, total) bytes of the current device.");
  m.def("synchronize", [] {
    py::gil_scoped_release release;
    cu::synchronize();
  }, "Waits for queued kernels; raises RuntimeError if one failed.");
  m.def("allocator_stats", [] {
    const cu::AllocatorStats s = cu::allocator_stats();
    py::dict r;
    r["bytes_in_use"] = s.bytes_in_use;
    r["bytes_cached"] = s.bytes_cached;
    r["device_allocs"] = s.device_allocs;
    r["device_frees"] = s.device_frees;
    r["cache_hits"] = s.cache_hits;
    return r;
  }, "Caching allocator counters: bytes in use / cached, cudaMalloc / cudaFree calls, hits.");
  m.def("empty_cache", &cu::empty_cache, "Returns cached, unused device blocks with cudaFree.");
  m.def("allocator_round_size", &cu::allocator_round_size, py::arg("nbytes"),
        "The bucket size a request of nbytes is rounded up to.");
  m.def("cublas_available", &cu::cublas_available);
  m.def(
      "set_gemm_backend",
      [](const std::string& name) {
        if (name == "nnfast")
          cu::set_gemm_backend(cu::GemmBackend::nnfast);
        else if (name == "cublas")
          cu::set_gemm_backend(cu::GemmBackend::cublas);
        else
          throw py::value_error("set_gemm_backend: expected 'nnfast' or 'cublas', received '" +
                                name + "'");
      },
      py::arg("name"));
  m.def("gemm_backend", [] {
    return std::string(cu::gemm_backend() == cu::GemmBackend::cublas ? "cublas" : "nnfast");
  });

  py::class_<DeviceArray>(m, "DeviceArray",
                          "A C-ordered float32/int32/int64 array in device memory (from the "
                          "caching allocator). Kernels in nnfast._core.cuda take these.")
      .def_static(
          "from_numpy",
          [](const py::array& host) {
            const DType dtype = parse_dtype(host.dtype());
            py::array c = py::array::ensure(host, py::array::c_style);
            if (!c) throw py::value_error("DeviceArray.from_numpy: cannot make a C-ordered copy");
            DeviceArray a = DeviceArray::empty(shape_of_numpy(c), dtype);
            const void* src = c.data();  // `c` stays referenced until the copy returns
            py::gil_scoped_release release;
            cu::copy_to_device(a.data(), src, a.nbytes());
            return a;
          },
          py::arg("array"), "Copies a NumPy array (float32, int32 or int64) to the device.")
      .def_static(
          "empty",
          [](const py::object& shape, const py::object& dtype) {
            return DeviceArray::empty(parse_shape(shape), parse_dtype(dtype));
          },
          py::arg("shape"), py::arg("dtype") = "float32", "Uninitialised device array.")
      .def_static(
          "zeros",
          [](const py::object& shape, const py::object& dtype) {
            DeviceArray a = DeviceArray::empty(parse_shape(shape), parse_dtype(dtype));
            cu::fill_zero(a.data(), a.nbytes());
            return a;
          },
          py::arg("shape"), py::arg("dtype") = "float32")
      .def(
          "numpy",
          [](const DeviceArray& a) {
            py::array host(numpy_dtype(a.dtype), a.shape);
            void* dst = host.mutable_data();
            {
              py::gil_scoped_release release;
              cu::copy_to_host(dst, a.data(), a.nbytes());
            }
            return host;
          },
          "Copies the array back into a new NumPy array (waits for queued kernels).")
      .def(
          "copy_from_numpy",
          [](DeviceArray& a, const py::array& host) {
            const DType dtype = parse_dtype(host.dtype());
            py::array c = py::array::ensure(host, py::array::c_style);
            if (dtype != a.dtype || shape_of_numpy(c) != a.shape)
              throw py::value_error("copy_from_numpy: expected a " + std::string(dtype_name(a.dtype)) +
                                    " array of shape " + shape_str(a.shape) + ", received " +
                                    dtype_name(dtype) + " " + shape_str(shape_of_numpy(c)));
            const void* src = c.data();
            py::gil_scoped_release release;
            cu::copy_to_device(a.data(), src, a.nbytes());
          },
          py::arg("array"), "Overwrites the contents from a NumPy array of the same shape/dtype.")
      .def(
          "reshape",
          [](const DeviceArray& a, const py::object& shape) {
            DeviceArray r = a;
            r.shape = parse_shape(shape);
            int64_t unknown = -1, known = 1;
            for (std::size_t i = 0; i < r.shape.size(); ++i) {
              if (r.shape[i] == -1 && unknown < 0)
                unknown = static_cast<int64_t>(i);
              else if (r.shape[i] < 0)
                throw py::value_error("reshape: bad shape " + shape_str(r.shape));
              else
                known *= r.shape[i];
            }
            if (unknown >= 0 && known > 0) r.shape[static_cast<std::size_t>(unknown)] = a.size() / known;
            if (r.size() != a.size())
              throw py::value_error("reshape: cannot reshape " + shape_str(a.shape) + " into " +
                                    shape_str(r.shape));
            return r;
          },
          py::arg("shape"), "A view with another shape, sharing the device memory.")
      .def_property_readonly("shape", [](const DeviceArray& a) {
        py::tuple t(a.shape.size());
        for (std::size_t i = 0; i < a.shape.size(); ++i) t[i] = a.shape[i];
        return t;
      })
      .def_property_readonly("dtype", [](const DeviceArray& a) { return numpy_dtype(a.dtype); })
      .def_property_readonly("size", &DeviceArray::size)
      .def_property_readonly("ndim", [](const DeviceArray& a) { return a.shape.size(); })
      .def_property_readonly("nbytes", &DeviceArray::nbytes)
      .def("__repr__", [](const DeviceArray& a) {
        return "DeviceArray(shape=" + shape_str(a.shape) + ", dtype=" + dtype_name(a.dtype) + ")";
      });
}

// ---- kernels --------------------------------------------------------------------------------

void bind_kernels(py::module_& m) {
  m.def(
      "gemm",
      [](const DeviceArray& a, const DeviceArray& b, DeviceArray& c, bool trans_a, bool trans_b,
         float alpha, float beta, const py::object& bias, int activation, float act_alpha,
         float act_max, float act_threshold) {
        require_ndim(a, 2, "gemm a");
        require_ndim(b, 2, "gemm b");
        require_ndim(c, 2, "gemm c");
        const float* pa = checked<float>(a, "gemm a");
        const float* pb = checked<float>(b, "gemm b");
        float* pc = checked<float>(c, "gemm c");
        const int64_t m_ = trans_a ? a.shape[1] : a.shape[0];
        const int64_t k = trans_a ? a.shape[0] : a.shape[1];
        const int64_t kb = trans_b ? b.shape[1] : b.shape[0];
        const int64_t n = trans_b ? b.shape[0] : b.shape[1];
        if (k != kb)
          throw py::value_error("gemm: inner dimensions differ: op(a) has shape (" +
                                std::to_string(m_) + ", " + std::to_string(k) + ") and op(b) (" +
                                std::to_string(kb) + ", " + std::to_string(n) + ") from a " +
                                shape_str(a.shape) + ", b " + shape_str(b.shape));
        require_shape(c, {m_, n}, "gemm c");
        nnfast::GemmEpilogue ep;
        if (const DeviceArray* pbias = optional_array(bias, "gemm bias")) {
          ep.bias = checked<float>(*pbias, "gemm bias");
          require_shape(*pbias, {n}, "gemm bias");
        }
        ep.activation = to_activation(activation);
        ep.params = act_params(act_alpha, act_max, act_threshold);
        const int64_t lda = a.shape[1], ldb = b.shape[1];
        py::gil_scoped_release release;
        cu::sgemm(trans_a ? nnfast::Trans::T : nnfast::Trans::N,
                  trans_b ? nnfast::Trans::T : nnfast::Trans::N, m_, n, k, alpha, pa, lda, pb,
                  ldb, beta, pc, n, ep);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false,
      py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      py::arg("bias") = py::none(), py::arg("activation") = 0, py::arg("act_alpha") = 0.0f,
      py::arg("act_max") = kInf, py::arg("act_threshold") = 0.0f,
      "c = activation(alpha * op(a) @ op(b) + beta * c + bias), in place, on the device.");

  m.def(
      "activation_forward",
      [](int act, const DeviceArray& x, DeviceArray& y, float alpha, float max_value,
         float threshold) {
        require_same_size(x, y, "activation input", "output");
        const float* px = checked<float>(x, "activation input");
        float* py_ = checked<float>(y, "activation output");
        const auto a = to_activation(act);
        const auto p = act_params(alpha, max_value, threshold);
        const int64_t n = x.size();
        py::gil_scoped_release release;
        cu::activation_forward(a, p, px, py_, n);
      },
      py::arg("activation"), py::arg("x"), py::arg("out"), py::arg("alpha") = 0.0f,
      py::arg("max_value") = kInf, py::arg("threshold") = 0.0f);
  m.def(
      "activation_backward",
      [](int act, const py::object& x, const py::object& y, const DeviceArray& dy,
         DeviceArray& dx, float alpha, float max_value, float threshold) {
        require_same_size(dy, dx, "activation gradient", "output");
        const DeviceArray* ax = optional_array(x, "activation input");
        const DeviceArray* ay = optional_array(y, "activation output");
        const float* px = ax ? checked<float>(*ax, "activation input") : nullptr;
        const float* py_ = ay ? checked<float>(*ay, "activation output") : nullptr;
        if (ax) require_same_size(*ax, dy, "activation input", "gradient");
        if (ay) require_same_size(*ay, dy, "activation output", "gradient");
        const float* pdy = checked<float>(dy, "activation gradient");
        float* pdx = checked<float>(dx, "activation input gradient");
        const auto a = to_activation(act);
        const auto p = act_params(alpha, max_value, threshold);
        const int64_t n = dy.size();
        py::gil_scoped_release release;
        cu::activation_backward(a, p, px, py_, pdy, pdx, n);
      },
      py::arg("activation"), py::arg("x"), py::arg("y"), py::arg("dy"), py::arg("out"),
      py::arg("alpha") = 0.0f, py::arg("max_value") = kInf, py::arg("threshold") = 0.0f);

  m.def(
      "softmax_forward",
      [](const DeviceArray& x, DeviceArray& y, bool log) {
        require_same_size(x, y, "softmax input", "output");
        auto [rows, cols] = rows_cols(x, "softmax input");
        const float* px = checked<float>(x, "softmax input");
        float* py_ = checked<float>(y, "softmax output");
        py::gil_scoped_release release;
        (log ? cu::log_softmax_forward : cu::softmax_forward)(px, py_, rows, cols);
      },
      py::arg("x"), py::arg("out"), py::arg("log") = false,
      "Softmax (or log-softmax) over the last axis.");
  m.def(
      "softmax_backward",
      [](const DeviceArray& y, const DeviceArray& dy, DeviceArray& dx, bool log) {
        require_same_size(y, dy, "softmax output", "gradient");
        require_same_size(y, dx, "softmax output", "input gradient");
        auto [rows, cols] = rows_cols(y, "softmax output");
        const float* py_ = checked<float>(y, "softmax output");
        const float* pdy = checked<float>(dy, "softmax gradient");
        float* pdx = checked<float>(dx, "softmax input gradient");
        py::gil_scoped_release release;
        (log ? cu::log_softmax_backward : cu::softmax_backward)(py_, pdy, pdx, rows, cols);
      },
      py::arg("y"), py::arg("dy"), py::arg("out"), py::arg("log") = false);
  m.def(
      "sum_over_rows",
      [](const DeviceArray& x, DeviceArray& out, bool accumulate) {
        auto [rows, cols] = rows_cols(x, "sum_over_rows input");
        require_shape(out, {cols}, "sum_over_rows output");
        const float* px = checked<float>(x, "sum_over_rows input");
        float* po = checked<float>(out, "sum_over_rows output");
        py::gil_scoped_release release;
        cu::sum_over_rows(px, rows, cols, po, accumulate);
      },
      py::arg("x"), py::arg("out"), py::arg("accumulate") = false,
      "out[j] (+)= sum of x[..., j] over every leading index.");
  m.def(
      "sum_over_cols",
      [](const DeviceArray& x, DeviceArray& out) {
        auto [rows, cols] = rows_cols(x, "sum_over_cols input");
        if (out.size() != rows)
          throw py::value_error("sum_over_cols output: expected " + std::to_string(rows) +
                                " values (one per row of " + shape_str(x.shape) +
                                "), received shape " + shape_str(out.shape));
        const float* px = checked<float>(x, "sum_over_cols input");
        float* po = checked<float>(out, "sum_over_cols output");
        py::gil_scoped_release release;
        cu::sum_over_cols(px, rows, cols, po);
      },
      py::arg("x"), py::arg("out"), "out[i] = sum of x[i, :] over the last axis.");

  // Softmax cross-entropy: exactly one of target= (dense, like logits) or labels= (int64).
  struct Targets {
    const float* dense = nullptr;
    const int64_t* labels = nullptr;
  };
  auto targets_for = [](const DeviceArray& pred, const py::object& target,
                        const py::object& labels, int64_t rows) {
    Targets t;
    const DeviceArray* at = optional_array(target, "loss target");
    const DeviceArray* al = optional_array(labels, "loss labels");
    if ((at == nullptr) == (al == nullptr))
      throw py::value_error("loss: give exactly one of target= or labels=");
    if (at) {
      t.dense = checked<float>(*at, "loss target");
      require_same_size(pred, *at, "predictions", "targets");
    }
    if (al) {
      t.labels = checked<int64_t>(*al, "loss labels");
      if (al->size() != rows)
        throw py::value_error("loss: expected " + std::to_string(rows) + " labels for predictions " +
                              shape_str(pred.shape) + ", received " + shape_str(al->shape));
    }
    return t;
  };
  auto check_rows = [](const DeviceArray& a, int64_t rows, const char* name) {
    if (a.size() != rows)
      throw py::value_error(std::string(name) + ": expected " + std::to_string(rows) +
                            " values (one per row), received " + shape_str(a.shape));
  };
  m.def(
      "softmax_cross_entropy_forward",
      [targets_for, check_rows](const DeviceArray& logits, const py::object& target,
                                const py::object& labels, DeviceArray& probs, DeviceArray& loss) {
        auto [rows, cols] = rows_cols(logits, "logits");
        Targets t = targets_for(logits, target, labels, rows);
        require_same_size(logits, probs, "logits", "probs");
        check_rows(loss, rows, "loss");
        const float* z = checked<float>(logits, "logits");
        float* p = checked<float>(probs, "probs");
        float* l = checked<float>(loss, "loss");
        py::gil_scoped_release release;
        cu::softmax_cross_entropy_forward(z, t.dense, t.labels, rows, cols, p, l);
      },
      py::arg("logits"), py::arg("target"), py::arg("labels"), py::arg("probs"), py::arg("loss"));
  m.def(
      "softmax_cross_entropy_backward",
      [targets_for, check_rows](const DeviceArray& probs, const py::object& target,
                                const py::object& labels, const DeviceArray& drow,
                                DeviceArray& dlogits) {
        auto [rows, cols] = rows_cols(probs, "probs");
        Targets t = targets_for(probs, target, labels, rows);
        check_rows(drow, rows, "row gradient");
        require_same_size(probs, dlogits, "probs", "dlogits");
        const float* p = checked<float>(probs, "probs");
        const float* g = checked<float>(drow, "row gradient");
        float* d = checked<float>(dlogits, "dlogits");
        py::gil_scoped_release release;
        cu::softmax_cross_entropy_backward(p, t.dense, t.labels, g, rows, cols, d);
      },
      py::arg("probs"), py::arg("target"), py::arg("labels"), py::arg("drow"), py::arg("out"));

  // Optimizers: variable, gradient and slots all float32 DeviceArrays of one size.
  auto slot = [](const DeviceArray& w, const py::object& s, const char* name, bool required) {
    const DeviceArray* a = optional_array(s, name);
    if (a == nullptr) {
      if (required) throw py::value_error(std::string("missing optimizer slot '") + name + "'");
      return static_cast<float*>(nullptr);
    }
    require_same_size(w, *a, "variable", name);
    return checked<float>(*a, name);
  };
  auto common = [](float grad_scale, float clip_lo, float clip_hi, float decay) {
    nnfast::OptimizerCommon c;
    c.grad_scale = grad_scale;
    c.clip_lo = clip_lo;
    c.clip_hi = clip_hi;
    c.decay = decay;
    return c;
  };
  auto wg = [](const DeviceArray& w, const DeviceArray& g) {
    require_same_size(w, g, "variable", "gradient");
    return std::make_pair(checked<float>(w, "variable"), checked<float>(g, "gradient"));
  };
#define NNFAST_COMMON_ARGS                                                   \
  py::kw_only(), py::arg("grad_scale") = 1.0f, py::arg("clip_lo") = -kInf, \
      py::arg("clip_hi") = kInf, py::arg("decay") = 0.0f
  m.def(
      "sgd_update",
      [slot, common, wg](DeviceArray& w, const DeviceArray& g, const py::object& mom, float lr,
                         float momentum, bool nesterov, float gs, float lo, float hi,
                         float decay) {
        auto [pw, pg] = wg(w, g);
        float* pm = slot(w, mom, "momentum", momentum != 0.0f);
        auto c = common(gs, lo, hi, decay);
        const int64_t n = w.size();
        py::gil_scoped_release release;
        cu::sgd_update(pw, pg, pm, n, lr, momentum, nesterov, c);
      },
      py::arg("w"), py::arg("g"), py::arg("momentum_buf"), py::arg("lr"), py::arg("momentum"),
      py::arg("nesterov"), NNFAST_COMMON_ARGS);
  m.def(
      "adam_update",
      [slot, common, wg](DeviceArray& w, const DeviceArray& g, const py::object& m_,
                         const py::object& v, const py::object& vhat, float lr, float b1,
                         float b2, float eps, int64_t step, float gs, float lo, float hi,
                         float decay) {
        auto [pw, pg] = wg(w, g);
        float* pm = slot(w, m_, "momentum", true);
        float* pv = slot(w, v, "velocity", true);
        float* ph = slot(w, vhat, "velocity_hat", false);
        auto c = common(gs, lo, hi, decay);
        const int64_t n = w.size();
        py::gil_scoped_release release;
        cu::adam_update(pw, pg, pm, pv, ph, n, lr, b1, b2, eps, step, c);
      },
      py::arg("w"), py::arg("g"), py::arg("m"), py::arg("v"), py::arg("vhat"), py::arg("lr"),
      py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("step"),
      NNFAST_COMMON_ARGS);
  m.def(
      "rmsprop_update",
      [slot, common, wg](DeviceArray& w, const DeviceArray& g, const py::object& v,
                         const py::object& mom, const py::object& avg, float lr, float rho,
                         float momentum, float eps, float gs, float lo, float hi, float decay) {
        auto [pw, pg] = wg(w, g);
        float* pv = slot(w, v, "velocity", true);
        float* pm = slot(w, mom, "momentum", momentum > 0.0f);
        float* pa = slot(w, avg, "average_gradient", false);
        auto c = common(gs, lo, hi, decay);
        const int64_t n = w.size();
        py::gil_scoped_release release;
        cu::rmsprop_update(pw, pg, pv, pm, pa, n, lr, rho, momentum, eps, c);
      },
      py::arg("w"), py::arg("g"), py::arg("velocity"), py::arg("momentum_buf"),
      py::arg("average_grad"), py::arg("lr"), py::arg("rho"), py::arg("momentum"),
      py::arg("epsilon"), NNFAST_COMMON_ARGS);
  m.def(
      "adagrad_update",
      [slot, common, wg](DeviceArray& w, const DeviceArray& g, const py::object& acc, float lr,
                         float eps, float gs, float lo, float hi, float decay) {
        auto [pw, pg] = wg(w, g);
        float* pa = slot(w, acc, "accumulator", true);
        auto c = common(gs, lo, hi, decay);
        const int64_t n = w.size();
        py::gil_scoped_release release;
        cu::adagrad_update(pw, pg, pa, n, lr, eps, c);
      },
      py::arg("w"), py::arg("g"), py::arg("accumulator"), py::arg("lr"), py::arg("epsilon"),
      NNFAST_COMMON_ARGS);
  m.def(
      "lion_update",
      [slot, common, wg](DeviceArray& w, const DeviceArray& g, const py::object& m_, float lr,
                         float b1, float b2, float gs, float lo, float hi, float decay) {
        auto [pw, pg] = wg(w, g);
        float* pm = slot(w, m_, "momentum", true);
        auto c = common(gs, lo, hi, decay);
        const int64_t n = w.size();
        py::gil_scoped_release release;
        cu::lion_update(pw, pg, pm, n, lr, b1, b2, c);
      },
      py::arg("w"), py::arg("g"), py::arg("m"), py::arg("lr"), py::arg("beta_1"),
      py::arg("beta_2"), NNFAST_COMMON_ARGS);
#undef NNFAST_COMMON_ARGS

  m.def(
      "embedding_forward",
      [](const DeviceArray& table, const DeviceArray& ids, DeviceArray& out) {
        require_ndim(table, 2, "embedding table");
        const float* pt = checked<float>(table, "embedding table");
        const int64_t* pi = checked<int64_t>(ids, "embedding ids");
        float* po = checked<float>(out, "embedding output");
        const int64_t vocab = table.shape[0], dim = table.shape[1], n = ids.size();
        if (out.size() != n * dim)
          throw py::value_error("embedding output: expected " + std::to_string(n * dim) +
                                " floats (ids " + shape_str(ids.shape) + " x dim " +
                                std::to_string(dim) + "), received shape " + shape_str(out.shape));
        py::gil_scoped_release release;
        cu::embedding_forward(pt, vocab, dim, pi, n, po);
      },
      py::arg("table"), py::arg("ids"), py::arg("out"),
      "out[i] = table[ids[i]] (ids int64, checked against the table's rows).");
  m.def(
      "embedding_backward",
      [](const DeviceArray& grad, const DeviceArray& ids, DeviceArray& dtable,
         const py::object& clear_ids) {
        require_ndim(dtable, 2, "embedding dtable");
        const float* pg = checked<float>(grad, "embedding grad");
        const int64_t* pi = checked<int64_t>(ids, "embedding ids");
        float* pd = checked<float>(dtable, "embedding dtable");
        const int64_t vocab = dtable.shape[0], dim = dtable.shape[1], n = ids.size();
        if (grad.size() != n * dim)
          throw py::value_error("embedding grad: expected " + std::to_string(n * dim) +
                                " floats, received shape " + shape_str(grad.shape));
        const int64_t* pc = nullptr;
        int64_t n_clear = 0;
        if (const DeviceArray* c = optional_array(clear_ids, "embedding clear_ids")) {
          pc = checked<int64_t>(*c, "embedding clear_ids");
          n_clear = c->size();
        }
        py::gil_scoped_release release;
        cu::embedding_backward(pg, pi, n, dim, pd, vocab, pc, n_clear);
      },
      py::arg("grad"), py::arg("ids"), py::arg("dtable"), py::arg("clear_ids") = py::none(),
      "dtable[ids[i]] += grad[i] (atomicAdd); rows named by clear_ids are zeroed first.");

  using Pair = std::pair<int64_t, int64_t>;
  m.def(
      "conv2d_forward",
      [](const DeviceArray& src, const DeviceArray& kernel, const py::object& bias,
         DeviceArray& dst, Pair strides, Pair pads, Pair dilation, int64_t groups,
         int activation, float act_alpha, float act_max, float act_threshold,
         const py::object& scale, const py::object& residual) {
        const char* what = "conv2d_forward";
        require_ndim(src, 4, "conv2d_forward input");
        require_ndim(kernel, 4, "conv2d_forward kernel");
        require_ndim(dst, 4, "conv2d_forward output");
        nnfast::Conv2DShape s;
        s.batch = src.shape[0];
        s.in_h = src.shape[1];
        s.in_w = src.shape[2];
        s.in_c = src.shape[3];
        s.out_h = dst.shape[1];
        s.out_w = dst.shape[2];
        s.out_c = dst.shape[3];
        s.kernel_h = kernel.shape[0];
        s.kernel_w = kernel.shape[1];
        s.stride_h = strides.first;
        s.stride_w = strides.second;
        s.pad_top = pads.first;
        s.pad_left = pads.second;
        s.dilation_h = dilation.first;
        s.dilation_w = dilation.second;
        s.groups = groups;
        if (dst.shape[0] != s.batch)
          throw py::value_error(std::string(what) + ": input " + shape_str(src.shape) +
                                " and output " + shape_str(dst.shape) +
                                " have different batch sizes");
        try {
          nnfast::conv2d_validate(s);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(std::string(what) + ": " + e.what() + " (input " +
                                shape_str(src.shape) + ", kernel " + shape_str(kernel.shape) +
                                ", output " + shape_str(dst.shape) + ")");
        }
        require_shape(kernel, {s.kernel_h, s.kernel_w, s.in_c / s.groups, s.out_c},
                      "conv2d_forward kernel");
        const float* x = checked<float>(src, "conv input");
        const float* w = checked<float>(kernel, "conv kernel");
        float* y = checked<float>(dst, "conv output");
        const float* b = nullptr;
        if (const DeviceArray* ab = optional_array(bias, "conv bias")) {
          b = checked<float>(*ab, "conv bias");
          require_shape(*ab, {s.out_c}, "conv bias");
        }
        const float* sc = nullptr;
        if (const DeviceArray* as = optional_array(scale, "conv scale")) {
          sc = checked<float>(*as, "conv scale");
          require_shape(*as, {s.out_c}, "conv scale");
        }
        const float* res = nullptr;
        if (const DeviceArray* ar = optional_array(residual, "conv residual")) {
          res = checked<float>(*ar, "conv residual");
          require_shape(*ar, {s.batch, s.out_h, s.out_w, s.out_c}, "conv residual");
          if (res == y) throw py::value_error("conv2d_forward: residual must not be dst");
        }
        const auto act = to_activation(activation);
        const auto p = act_params(act_alpha, act_max, act_threshold);
        py::gil_scoped_release release;
        cu::conv2d_forward(s, x, w, b, act, p, y, sc, res);
      },
      py::arg("src"), py::arg("kernel"), py::arg("bias"), py::arg("dst"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("groups") = 1, py::arg("activation") = 0,
      py::arg("act_alpha") = 0.0f, py::arg("act_max") = kInf, py::arg("act_threshold") = 0.0f,
      py::arg("scale") = py::none(), py::arg("residual") = py::none(),
      "dst = activation(scale * conv(src, kernel) + bias + residual) on NHWC device arrays "
      "(scale: per output channel, None for 1; residual: dst's shape, None for 0); dst's shape "
      "gives out_h/out_w.");

  auto pool_shape = [](const DeviceArray& src, const DeviceArray& dst, Pair pool, Pair strides,
                       Pair pads, const char* what) {
    require_ndim(src, 4, what);
    require_ndim(dst, 4, what);
    nnfast::Pool2DShape s;
    s.batch = src.shape[0];
    s.in_h = src.shape[1];
    s.in_w = src.shape[2];
    s.channels = src.shape[3];
    s.out_h = dst.shape[1];
    s.out_w = dst.shape[2];
    s.pool_h = pool.first;
    s.pool_w = pool.second;
    s.stride_h = strides.first;
    s.stride_w = strides.second;
    s.pad_top = pads.first;
    s.pad_left = pads.second;
    if (dst.shape[0] != s.batch || dst.shape[3] != s.channels)
      throw py::value_error(std::string(what) + ": input " + shape_str(src.shape) +
                            " and output " + shape_str(dst.shape) +
                            " must agree on batch and channels");
    try {
      nnfast::pool2d_validate(s);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(std::string(what) + ": " + e.what());
    }
    return s;
  };
  m.def(
      "max_pool2d_forward",
      [pool_shape](const DeviceArray& src, DeviceArray& dst, const py::object& argmax, Pair pool,
                   Pair strides, Pair pads) {
        auto s = pool_shape(src, dst, pool, strides, pads, "max_pool2d");
        const float* x = checked<float>(src, "max_pool2d input");
        float* y = checked<float>(dst, "max_pool2d output");
        int32_t* a = nullptr;
        if (const DeviceArray* arr = optional_array(argmax, "max_pool2d argmax")) {
          require_same_shape(*arr, dst, "max_pool2d argmax", "output");
          a = checked<int32_t>(*arr, "max_pool2d argmax");
        }
        py::gil_scoped_release release;
        cu::max_pool2d_forward(s, x, y, a);
      },
      py::arg("src"), py::arg("dst"), py::arg("argmax"), py::arg("pool"), py::arg("strides"),
      py::arg("pads"),
      "Max pooling of NHWC src into dst; argmax (int32, dst's shape) receives ih*in_w + iw.");
  m.def(
      "max_pool2d_backward",
      [pool_shape](const DeviceArray& ddst, const DeviceArray& argmax, DeviceArray& dsrc,
                   Pair pool, Pair strides, Pair pads) {
        auto s = pool_shape(dsrc, ddst, pool, strides, pads, "max_pool2d_backward");
        require_same_shape(argmax, ddst, "max_pool2d argmax", "output gradient");
        const float* g = checked<float>(ddst, "max_pool2d output gradient");
        const int32_t* a = checked<int32_t>(argmax, "max_pool2d argmax");
        float* dx = checked<float>(dsrc, "max_pool2d input gradient");
        py::gil_scoped_release release;
        cu::max_pool2d_backward(s, g, a, dx);
      },
      py::arg("ddst"), py::arg("argmax"), py::arg("dsrc"), py::arg("pool"), py::arg("strides"),
      py::arg("pads"));
  m.def(
      "avg_pool2d_forward",
      [pool_shape](const DeviceArray& src, DeviceArray& dst, Pair pool, Pair strides, Pair pads) {
        auto s = pool_shape(src, dst, pool, strides, pads, "avg_pool2d");
        const float* x = checked<float>(src, "avg_pool2d input");
        float* y = checked<float>(dst, "avg_pool2d output");
        py::gil_scoped_release release;
        cu::avg_pool2d_forward(s, x, y);
      },
      py::arg("src"), py::arg("dst"), py::arg("pool"), py::arg("strides"), py::arg("pads"),
      "Average pooling; each window divides by its number of valid (unpadded) positions.");
  m.def(
      "avg_pool2d_backward",
      [pool_shape](const DeviceArray& ddst, DeviceArray& dsrc, Pair pool, Pair strides,
                   Pair pads) {
        auto s = pool_shape(dsrc, ddst, pool, strides, pads, "avg_pool2d_backward");
        const float* g = checked<float>(ddst, "avg_pool2d output gradient");
        float* dx = checked<float>(dsrc, "avg_pool2d input gradient");
        py::gil_scoped_release release;
        cu::avg_pool2d_backward(s, g, dx);
      },
      py::arg("ddst"), py::arg("dsrc"), py::arg("pool"), py::arg("strides"), py::arg("pads"));
}

}  // namespace

void bind_cuda(py::module_& m) {
  py::module_ c = m.def_submodule("cuda", "CUDA kernels on DeviceArrays (internal; see nnfast.backend.cuda)");
  bind_device(c);
  bind_kernels(c);
}

#endif  // NNFAST_HAVE_CUDA
