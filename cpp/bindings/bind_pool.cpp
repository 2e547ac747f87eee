#include <stdexcept>

#include "bind_util.h"
#include "nnfast/pool.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

using Pair = std::pair<int64_t, int64_t>;

int32_t* checked_i32(const py::array& a, const char* name, bool writeable) {
  if (!a.dtype().is(py::dtype::of<int32_t>()))
    throw py::type_error(std::string(name) + ": expected an int32 array, received dtype " +
                         std::string(py::str(a.dtype())) + " with shape " + shape_of(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array, received shape " +
                          shape_of(a));
  if (writeable && !a.writeable())
    throw py::value_error(std::string(name) + ": output array is read-only");
  register_buffer(a, name, writeable);
  return static_cast<int32_t*>(const_cast<void*>(a.data()));
}

nnfast::Pool2DShape make_shape(const py::array& src, const py::array& dst, Pair pool,
                               Pair strides, Pair pads, const char* what) {
  require_ndim(src, 4, what);
  require_ndim(dst, 4, what);
  nnfast::Pool2DShape s;
  s.batch = src.shape(0);
  s.in_h = src.shape(1);
  s.in_w = src.shape(2);
  s.channels = src.shape(3);
  s.out_h = dst.shape(1);
  s.out_w = dst.shape(2);
  s.pool_h = pool.first;
  s.pool_w = pool.second;
  s.stride_h = strides.first;
  s.stride_w = strides.second;
  s.pad_top = pads.first;
  s.pad_left = pads.second;
  if (dst.shape(0) != s.batch || dst.shape(3) != s.channels)
    throw py::value_error(std::string(what) + ": input " + shape_of(src) + " and output " +
                          shape_of(dst) + " must agree on batch and channels");
  try {
    nnfast::pool2d_validate(s);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string(what) + ": " + e.what());
  }
  return s;
}

void require_same_shape(const py::array& a, const py::array& b, const char* an, const char* bn) {
  bool ok = a.ndim() == b.ndim();
  for (py::ssize_t i = 0; ok && i < a.ndim(); ++i) ok = a.shape(i) == b.shape(i);
  if (!ok)
    throw py::value_error(std::string(an) + " and " + bn + " must have the same shape, received " +
                          shape_of(a) + " and " + shape_of(b));
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def(
      "max_pool2d_forward",
      [](const py::array& src, const py::array& dst, const py::object& argmax, Pair pool,
         Pair strides, Pair pads) {
        BufferScope scope("max_pool2d_forward");
        auto s = make_shape(src, dst, pool, strides, pads, "max_pool2d");
        const float* x = checked<float>(src, "max_pool2d input");
        float* y = checked<float>(dst, "max_pool2d output", true);
        int32_t* a = nullptr;
        if (!argmax.is_none()) {
          auto arr = py::cast<py::array>(argmax);
          require_same_shape(arr, dst, "max_pool2d argmax", "output");
          a = checked_i32(arr, "max_pool2d argmax", true);
        }
        py::gil_scoped_release release;
        nnfast::max_pool2d_forward(s, x, y, a);
      },
      py::arg("src"), py::arg("dst"), py::arg("argmax"), py::arg("pool"), py::arg("strides"),
      py::arg("pads"),
      "Max pooling of NHWC src into dst (its shape gives out_h/out_w); argmax (int32, dst's "
      "shape) receives each maximum's position ih*in_w + iw.");
  m.def(
      "max_pool2d_backward",
      [](const py::array& ddst, const py::array& argmax, const py::array& dsrc, Pair pool,
         Pair strides, Pair pads, const py::object& relu_y) {
        BufferScope scope("max_pool2d_backward");
        auto s = make_shape(dsrc, ddst, pool, strides, pads, "max_pool2d_backward");
        require_same_shape(argmax, ddst, "max_pool2d argmax", "output gradient");
        const float* g = checked<float>(ddst, "max_pool2d output gradient");
        const int32_t* a = checked_i32(argmax, "max_pool2d argmax", false);
        float* dx = checked<float>(dsrc, "max_pool2d input gradient", true);
        const float* y = nullptr;
        if (!relu_y.is_none()) {
          const py::array ya = py::cast<py::array>(relu_y);
          require_same_shape(ya, ddst, "max_pool2d relu_y", "output gradient");
          y = checked<float>(ya, "max_pool2d relu_y");
        }
        py::gil_scoped_release release;
        nnfast::max_pool2d_backward(s, g, a, dx, y);
      },
      py::arg("ddst"), py::arg("argmax"), py::arg("dsrc"), py::arg("pool"), py::arg("strides"),
      py::arg("pads"), py::arg("relu_y") = py::none(),
      "dsrc = the input gradient of max pooling (overwritten): ddst at each window's argmax; "
      "with relu_y (the pooled output of a relu'd input), ddst only where relu_y > 0.");
  m.def(
      "avg_pool2d_forward",
      [](const py::array& src, const py::array& dst, Pair pool, Pair strides, Pair pads) {
        BufferScope scope("avg_pool2d_forward");
        auto s = make_shape(src, dst, pool, strides, pads, "avg_pool2d");
        const float* x = checked<float>(src, "avg_pool2d input");
        float* y = checked<float>(dst, "avg_pool2d output", true);
        py::gil_scoped_release release;
        nnfast::avg_pool2d_forward(s, x, y);
      },
      py::arg("src"), py::arg("dst"), py::arg("pool"), py::arg("strides"), py::arg("pads"),
      "Average pooling; each window divides by its number of valid (unpadded) positions.");
  m.def(
      "avg_pool2d_backward",
      [](const py::array& ddst, const py::array& dsrc, Pair pool, Pair strides, Pair pads) {
        BufferScope scope("avg_pool2d_backward");
        auto s = make_shape(dsrc, ddst, pool, strides, pads, "avg_pool2d_backward");
        const float* g = checked<float>(ddst, "avg_pool2d output gradient");
        float* dx = checked<float>(dsrc, "avg_pool2d input gradient", true);
        py::gil_scoped_release release;
        nnfast::avg_pool2d_backward(s, g, dx);
      },
      py::arg("ddst"), py::arg("dsrc"), py::arg("pool"), py::arg("strides"), py::arg("pads"));

  auto global_dims = [](const py::array& x, const py::array& y, const char* what) {
    require_ndim(x, 3, what);
    require_ndim(y, 2, what);
    if (y.shape(0) != x.shape(0) || y.shape(1) != x.shape(2))
      throw py::value_error(std::string(what) + ": expected pooled shape (" +
                            std::to_string(x.shape(0)) + ", " + std::to_string(x.shape(2)) +
                            ") for input " + shape_of(x) + ", received " + shape_of(y));
    return std::make_tuple<int64_t, int64_t, int64_t>(x.shape(0), x.shape(1), x.shape(2));
  };
  m.def(
      "global_avg_pool_forward",
      [global_dims](const py::array& src, const py::array& dst) {
        BufferScope scope("global_avg_pool_forward");
        auto [b, sp, c] = global_dims(src, dst, "global_avg_pool");
        const float* x = checked<float>(src, "global_avg_pool input");
        float* y = checked<float>(dst, "global_avg_pool output", true);
        py::gil_scoped_release release;
        nnfast::global_avg_pool_forward(x, b, sp, c, y);
      },
      py::arg("src"), py::arg("dst"), "Mean over axis 1 of (batch, spatial, channels).");
  m.def(
      "global_avg_pool_backward",
      [global_dims](const py::array& ddst, const py::array& dsrc) {
        BufferScope scope("global_avg_pool_backward");
        auto [b, sp, c] = global_dims(dsrc, ddst, "global_avg_pool_backward");
        const float* g = checked<float>(ddst, "global_avg_pool output gradient");
        float* dx = checked<float>(dsrc, "global_avg_pool input gradient", true);
        py::gil_scoped_release release;
        nnfast::global_avg_pool_backward(g, b, sp, c, dx);
      },
      py::arg("ddst"), py::arg("dsrc"));
  m.def(
      "global_max_pool_forward",
      [global_dims](const py::array& src, const py::array& dst, const py::object& argmax) {
        BufferScope scope("global_max_pool_forward");
        auto [b, sp, c] = global_dims(src, dst, "global_max_pool");
        const float* x = checked<float>(src, "global_max_pool input");
        float* y = checked<float>(dst, "global_max_pool output", true);
        int32_t* a = nullptr;
        if (!argmax.is_none()) {
          auto arr = py::cast<py::array>(argmax);
          require_same_shape(arr, dst, "global_max_pool argmax", "output");
          a = checked_i32(arr, "global_max_pool argmax", true);
        }
        if (sp == 0) throw py::value_error("global_max_pool: input has no positions");
        py::gil_scoped_release release;
        nnfast::global_max_pool_forward(x, b, sp, c, y, a);
      },
      py::arg("src"), py::arg("dst"), py::arg("argmax"),
      "Max over axis 1 of (batch, spatial, channels); argmax receives the spatial index.");
  m.def(
      "global_max_pool_backward",
      [global_dims](const py::array& ddst, const py::array& argmax, const py::array& dsrc) {
        BufferScope scope("global_max_pool_backward");
        auto [b, sp, c] = global_dims(dsrc, ddst, "global_max_pool_backward");
        require_same_shape(argmax, ddst, "global_max_pool argmax", "output gradient");
        const float* g = checked<float>(ddst, "global_max_pool output gradient");
        const int32_t* a = checked_i32(argmax, "global_max_pool argmax", false);
        float* dx = checked<float>(dsrc, "global_max_pool input gradient", true);
        py::gil_scoped_release release;
        nnfast::global_max_pool_backward(g, a, b, sp, c, dx);
      },
      py::arg("ddst"), py::arg("argmax"), py::arg("dsrc"));
}
