// 3-D convolution (NDHWC) bindings: forward, backward-data, backward-weights.
#include <array>
#include <limits>
#include <stdexcept>

#include <pybind11/stl.h>

#include "bind_util.h"
#include "nnfast/conv3d.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

using Triple = std::array<int64_t, 3>;

std::string dims(const nnfast::Conv3DShape& s) {
  return "(" + std::to_string(s.batch) + ", " + std::to_string(s.out_d) + ", " +
         std::to_string(s.out_h) + ", " + std::to_string(s.out_w) + ", " +
         std::to_string(s.out_c) + ")";
}

// src (B, D, H, W, Cin), dst (B, OD, OH, OW, Cout), kernel (kd, kh, kw, Cin/groups, Cout).
nnfast::Conv3DShape make_shape(const py::array& src, const py::array& kernel,
                               const py::array& dst, Triple strides, Triple pads,
                               Triple dilation, int64_t groups, const char* what) {
  const std::string w(what);
  require_ndim(src, 5, (w + " input").c_str());
  require_ndim(kernel, 5, (w + " kernel").c_str());
  require_ndim(dst, 5, (w + " output").c_str());
  if (dst.shape(0) != src.shape(0))
    throw py::value_error(w + ": input " + shape_of(src) + " and output " + shape_of(dst) +
                          " have different batch sizes");
  nnfast::Conv3DShape s;
  s.batch = src.shape(0);
  s.in_d = src.shape(1);
  s.in_h = src.shape(2);
  s.in_w = src.shape(3);
  s.in_c = src.shape(4);
  s.out_d = dst.shape(1);
  s.out_h = dst.shape(2);
  s.out_w = dst.shape(3);
  s.out_c = dst.shape(4);
  s.kernel_d = kernel.shape(0);
  s.kernel_h = kernel.shape(1);
  s.kernel_w = kernel.shape(2);
  s.stride_d = strides[0];
  s.stride_h = strides[1];
  s.stride_w = strides[2];
  s.pad_front = pads[0];
  s.pad_top = pads[1];
  s.pad_left = pads[2];
  s.dilation_d = dilation[0];
  s.dilation_h = dilation[1];
  s.dilation_w = dilation[2];
  s.groups = groups;
  try {
    nnfast::conv3d_validate(s);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(w + ": " + e.what() + " (input " + shape_of(src) + ", kernel " +
                          shape_of(kernel) + ", output " + dims(s) + ")");
  }
  require_shape(kernel, {s.kernel_d, s.kernel_h, s.kernel_w, s.in_c / s.groups, s.out_c},
                (w + " kernel").c_str());
  return s;
}

nnfast::Activation act_of(int id) {
  if (id < 0 || id > static_cast<int>(nnfast::Activation::mish))
    throw py::value_error("unknown activation id " + std::to_string(id));
  return static_cast<nnfast::Activation>(id);
}

}  // namespace

void bind_conv3d(py::module_& m) {
  m.def(
      "conv3d_forward",
      [](const py::array& src, const py::array& kernel, const py::object& bias,
         const py::array& dst, Triple strides, Triple pads, Triple dilation, int64_t groups,
         int activation, float act_alpha, float act_max, float act_threshold) {
        BufferScope scope("conv3d_forward");
        auto s = make_shape(src, kernel, dst, strides, pads, dilation, groups, "conv3d_forward");
        const float* x = checked<float>(src, "conv3d input");
        const float* w = checked<float>(kernel, "conv3d kernel");
        float* y = checked<float>(dst, "conv3d output", true);
        const float* b = checked_or_null<float>(bias, "conv3d bias");
        if (b) require_shape(py::cast<py::array>(bias), {s.out_c}, "conv3d bias");
        auto act = act_of(activation);
        const nnfast::ActivationParams p = act_params(act_alpha, act_max, act_threshold);
        py::gil_scoped_release release;
        nnfast::conv3d_forward(s, x, w, b, act, p, y);
      },
      py::arg("src"), py::arg("kernel"), py::arg("bias"), py::arg("dst"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("groups") = 1, py::arg("activation") = 0,
      py::arg("act_alpha") = 0.0f, py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f,
      "dst = activation(conv3d(src, kernel) + bias) on NDHWC arrays; dst's shape gives the "
      "output size; pads are (front, top, left).");
  m.def(
      "conv3d_backward_data",
      [](const py::array& ddst, const py::array& kernel, const py::array& dsrc, Triple strides,
         Triple pads, Triple dilation, int64_t groups) {
        BufferScope scope("conv3d_backward_data");
        auto s = make_shape(dsrc, kernel, ddst, strides, pads, dilation, groups,
                            "conv3d_backward_data");
        const float* g = checked<float>(ddst, "conv3d output gradient");
        const float* w = checked<float>(kernel, "conv3d kernel");
        float* dx = checked<float>(dsrc, "conv3d input gradient", true);
        py::gil_scoped_release release;
        nnfast::conv3d_backward_data(s, g, w, dx);
      },
      py::arg("ddst"), py::arg("kernel"), py::arg("dsrc"), py::arg("strides"), py::arg("pads"),
      py::arg("dilation"), py::arg("groups") = 1,
      "dsrc = gradient of the 3-D convolution's input (overwritten); dsrc's shape gives the "
      "input's.");
  m.def(
      "conv3d_backward_weights",
      [](const py::array& src, const py::array& ddst, const py::array& dkernel,
         const py::object& dbias, Triple strides, Triple pads, Triple dilation, int64_t groups) {
        BufferScope scope("conv3d_backward_weights");
        auto s = make_shape(src, dkernel, ddst, strides, pads, dilation, groups,
                            "conv3d_backward_weights");
        const float* x = checked<float>(src, "conv3d input");
        const float* g = checked<float>(ddst, "conv3d output gradient");
        float* dw = checked<float>(dkernel, "conv3d kernel gradient", true);
        float* db = checked_or_null<float>(dbias, "conv3d bias gradient", true);
        if (db) require_shape(py::cast<py::array>(dbias), {s.out_c}, "conv3d bias gradient");
        py::gil_scoped_release release;
        nnfast::conv3d_backward_weights(s, x, g, dw, db);
      },
      py::arg("src"), py::arg("ddst"), py::arg("dkernel"), py::arg("dbias"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("groups") = 1,
      "dkernel (and dbias unless None) = gradients of the 3-D convolution's weights "
      "(overwritten).");
  m.def("conv3d_variant_name", &nnfast::conv3d_variant_name,
        "The conv3d implementation the active ISA selects (reference under max ISA 'ref').");
}
