// bfloat16 convolution entry points (mixed_bfloat16's Conv1D/Conv2D): the conv2d_* contract
// of bind_conv.cpp with operands rounded to bf16 and float32 accumulation (nnfast/conv_bf16.h).
#include <limits>
#include <string>
#include <utility>

#include "bind_util.h"
#include "conv_binding_shapes.h"
#include "nnfast/conv_bf16.h"

namespace py = pybind11;
using namespace nnfast::bind;

using Pair = std::pair<int64_t, int64_t>;

nnfast::Bf16GemmVariant bf16_variant_from_name(const std::string& name);

namespace {

// What every entry point checks first: the variant's name, then the input-shaped,
// kernel-shaped and output-shaped arrays against the geometry (`what` names the call).
struct Bf16Conv {
  nnfast::Conv2DShape shape;
  nnfast::Bf16GemmVariant variant;
};
Bf16Conv bf16_conv(const py::array& input, const py::array& kernel, const py::array& output,
                   Pair strides, Pair pads, Pair dilation, int64_t groups,
                   const std::string& bf16_variant, const char* what) {
  const auto variant = bf16_variant_from_name(bf16_variant);
  return {conv2d_binding_shape(input, kernel, output, strides, pads, dilation, groups, what),
          variant};
}

// An optional (out_c,) bias (or bias gradient, writeable); null for None.
float* bias_or_null(const py::object& bias, int64_t out_c, const char* name, bool writeable) {
  float* b = checked_or_null<float>(bias, name, writeable);
  if (b) require_shape(py::cast<py::array>(bias), {out_c}, name);
  return b;
}

nnfast::Activation activation_of(int id) {
  if (id < 0 || id > static_cast<int>(nnfast::Activation::mish))
    throw py::value_error("conv2d_forward_bf16: unknown activation id " + std::to_string(id));
  return static_cast<nnfast::Activation>(id);
}

}  // namespace

void bind_conv_bf16(py::module_& m) {
  m.def(
      "conv2d_forward_bf16",
      [](const py::array& src, const py::array& kernel, const py::object& bias,
         const py::array& dst, Pair strides, Pair pads, Pair dilation, int64_t groups,
         int activation, float act_alpha, float act_max, float act_threshold,
         const std::string& bf16_variant) {
        BufferScope scope("conv2d_forward_bf16");
        const auto [s, variant] = bf16_conv(src, kernel, dst, strides, pads, dilation, groups,
                                            bf16_variant, "conv2d_forward_bf16");
        const float* x = checked<float>(src, "conv input");
        const float* w = checked<float>(kernel, "conv kernel");
        float* y = checked<float>(dst, "conv output", true);
        const float* b = bias_or_null(bias, s.out_c, "conv bias", false);
        const auto act = activation_of(activation);
        const nnfast::ActivationParams p = act_params(act_alpha, act_max, act_threshold);
        py::gil_scoped_release release;
        nnfast::conv2d_forward_bf16(s, x, w, b, act, p, y, variant);
      },
      py::arg("src"), py::arg("kernel"), py::arg("bias"), py::arg("dst"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("groups") = 1, py::arg("activation") = 0,
      py::arg("act_alpha") = 0.0f, py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f, py::arg("bf16_variant") = "best",
      "conv2d_forward with src and kernel rounded to bfloat16, float32 accumulation; "
      "bf16_variant: 'best', 'amx', 'avx512bf16' or 'via_f32'.");

  m.def(
      "conv2d_backward_data_bf16",
      [](const py::array& ddst, const py::array& kernel, const py::array& dsrc, Pair strides,
         Pair pads, Pair dilation, int64_t groups, const std::string& bf16_variant) {
        BufferScope scope("conv2d_backward_data_bf16");
        const auto [s, variant] = bf16_conv(dsrc, kernel, ddst, strides, pads, dilation, groups,
                                            bf16_variant, "conv2d_backward_data_bf16");
        const float* g = checked<float>(ddst, "conv output gradient");
        const float* w = checked<float>(kernel, "conv kernel");
        float* dx = checked<float>(dsrc, "conv input gradient", true);
        py::gil_scoped_release release;
        nnfast::conv2d_backward_data_bf16(s, g, w, dx, variant);
      },
      py::arg("ddst"), py::arg("kernel"), py::arg("dsrc"), py::arg("strides"), py::arg("pads"),
      py::arg("dilation"), py::arg("groups") = 1, py::arg("bf16_variant") = "best",
      "conv2d_backward_data with ddst and kernel rounded to bfloat16, float32 accumulation.");

  m.def(
      "conv2d_backward_weights_bf16",
      [](const py::array& src, const py::array& ddst, const py::array& dkernel,
         const py::object& dbias, Pair strides, Pair pads, Pair dilation, int64_t groups,
         const std::string& bf16_variant) {
        BufferScope scope("conv2d_backward_weights_bf16");
        const auto [s, variant] = bf16_conv(src, dkernel, ddst, strides, pads, dilation, groups,
                                            bf16_variant, "conv2d_backward_weights_bf16");
        const float* x = checked<float>(src, "conv input");
        const float* g = checked<float>(ddst, "conv output gradient");
        float* dw = checked<float>(dkernel, "conv kernel gradient", true);
        float* db = bias_or_null(dbias, s.out_c, "conv bias gradient", true);
        py::gil_scoped_release release;
        nnfast::conv2d_backward_weights_bf16(s, x, g, dw, db, variant);
      },
      py::arg("src"), py::arg("ddst"), py::arg("dkernel"), py::arg("dbias"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("groups") = 1,
      py::arg("bf16_variant") = "best",
      "conv2d_backward_weights with src and ddst rounded to bfloat16 (float32 accumulation); "
      "dbias (unless None) is the float32 sum of ddst.");

  m.def(
      "conv2d_bf16_route",
      [](const py::array& src, const py::array& kernel, const py::array& dst, Pair strides,
         Pair pads, Pair dilation, int64_t groups, const std::string& bf16_variant) {
        BufferScope scope("conv2d_bf16_route");
        const auto [s, variant] = bf16_conv(src, kernel, dst, strides, pads, dilation, groups,
                                            bf16_variant, "conv2d_bf16_route");
        return std::string(nnfast::conv2d_bf16_route(s, variant));
      },
      py::arg("src"), py::arg("kernel"), py::arg("dst"), py::arg("strides"), py::arg("pads"),
      py::arg("dilation"), py::arg("groups") = 1, py::arg("bf16_variant") = "best",
      "The route a bf16 convolution of these arrays takes: 'amx', 'avx512bf16' or 'via_f32'.");
}
