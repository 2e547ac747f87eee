// Bilinear resize (NHWC float32): _core.resize_bilinear_forward / _backward.
#include <stdexcept>
#include <string>

#include "bind_util.h"
#include "nnfast/resize.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

// src/dst are (batch, in_h, in_w, c) and (batch, out_h, out_w, c) whichever way the data flows.
nnfast::Resize2DShape make_shape(const py::array& small, const py::array& big,
                                 const char* small_name, const char* big_name, const char* what) {
  require_ndim(small, 4, small_name);
  require_ndim(big, 4, big_name);
  if (small.shape(0) != big.shape(0) || small.shape(3) != big.shape(3))
    throw py::value_error(std::string(what) + ": " + small_name + " " + shape_of(small) +
                          " and " + big_name + " " + shape_of(big) +
                          " must agree on batch and channels");
  nnfast::Resize2DShape s;
  s.batch = small.shape(0);
  s.in_h = small.shape(1);
  s.in_w = small.shape(2);
  s.channels = small.shape(3);
  s.out_h = big.shape(1);
  s.out_w = big.shape(2);
  try {
    nnfast::resize_bilinear_validate(s);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string(what) + ": " + e.what());
  }
  return s;
}

}  // namespace

void bind_resize(py::module_& m) {
  m.def(
      "resize_bilinear_forward",
      [](const py::array& src, const py::array& dst) {
        BufferScope scope("resize_bilinear_forward");
        auto s = make_shape(src, dst, "input", "output", "resize_bilinear_forward");
        const float* x = checked<float>(src, "resize_bilinear_forward input");
        float* y = checked<float>(dst, "resize_bilinear_forward output", true);
        py::gil_scoped_release release;
        nnfast::resize_bilinear_forward(s, x, y);
      },
      py::arg("src"), py::arg("dst"),
      "dst (b, out_h, out_w, c) = tf.image.resize(src (b, h, w, c), bilinear, half-pixel "
      "centres, no antialias); float32 NHWC, C-contiguous.");
  m.def(
      "resize_bilinear_backward",
      [](const py::array& ddst, const py::array& dsrc) {
        BufferScope scope("resize_bilinear_backward");
        auto s = make_shape(dsrc, ddst, "input gradient", "output gradient",
                            "resize_bilinear_backward");
        const float* g = checked<float>(ddst, "resize_bilinear_backward output gradient");
        float* dx = checked<float>(dsrc, "resize_bilinear_backward input gradient", true);
        py::gil_scoped_release release;
        nnfast::resize_bilinear_backward(s, g, dx);
      },
      py::arg("ddst"), py::arg("dsrc"),
      "dsrc (b, h, w, c) = adjoint of resize_bilinear_forward applied to ddst "
      "(b, out_h, out_w, c); dsrc is overwritten.");
}
