#include <limits>
#include <stdexcept>

#include "bind_util.h"
#include "conv_binding_shapes.h"
#include "nnfast/conv.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

using Pair = std::pair<int64_t, int64_t>;

// dst is 4-D with src's batch size.
void require_output_batch(const py::array& src, const py::array& dst, const char* what) {
  require_ndim(dst, 4, (std::string(what) + " output").c_str());
  if (dst.shape(0) != src.shape(0))
    throw py::value_error(std::string(what) + ": input " + shape_of(src) + " and output " +
                          shape_of(dst) + " have different batch sizes");
}

// As make_shape, with the output's dimensions given: (batch, out_h, out_w, out_c).
nnfast::Conv2DShape make_shape_dims(const py::array& src, const py::array& kernel,
                                    const std::vector<py::ssize_t>& out, Pair strides,
                                    Pair pads, Pair dilation, int64_t groups, bool depthwise,
                                    const char* what);

// Builds the shape from src (B, H, W, Cin), dst (B, OH, OW, Cout) and the kernel's spatial
// size, checking the kernel array against (kh, kw, cin/groups, cout) -- or, for depthwise,
// (kh, kw, cin, cout/cin).
nnfast::Conv2DShape make_shape(const py::array& src, const py::array& kernel,
                               const py::array& dst, Pair strides, Pair pads, Pair dilation,
                               int64_t groups, bool depthwise, const char* what) {
  require_output_batch(src, dst, what);
  return make_shape_dims(src, kernel, {dst.shape(0), dst.shape(1), dst.shape(2), dst.shape(3)},
                         strides, pads, dilation, groups, depthwise, what);
}

// The shape of src (B, H, W, Cin) -> out (B, OH, OW, Cout) through a kh x kw window, checked
// by conv2d_validate; `kernel` describes the kernel in the error message.
nnfast::Conv2DShape validated_shape(const py::array& src, const std::vector<py::ssize_t>& out,
                                    Pair kernel_hw, Pair strides, Pair pads, Pair dilation,
                                    int64_t groups, const std::string& kernel,
                                    const char* what, int64_t in_c = -1) {
  require_ndim(src, 4, (std::string(what) + " input").c_str());
  nnfast::Conv2DShape s;
  s.batch = src.shape(0);
  s.in_h = src.shape(1);
  s.in_w = src.shape(2);
  s.in_c = in_c < 0 ? src.shape(3) : in_c;
  s.out_h = out[1];
  s.out_w = out[2];
  s.out_c = out[3];
  s.kernel_h = kernel_hw.first;
  s.kernel_w = kernel_hw.second;
  s.stride_h = strides.first;
  s.stride_w = strides.second;
  s.pad_top = pads.first;
  s.pad_left = pads.second;
  s.dilation_h = dilation.first;
  s.dilation_w = dilation.second;
  s.groups = groups;
  try {
    nnfast::conv2d_validate(s);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string(what) + ": " + e.what() + " (input " + shape_of(src) +
                          ", kernel " + kernel + ", output (" + std::to_string(out[0]) +
                          ", " + std::to_string(out[1]) + ", " + std::to_string(out[2]) + ", " +
                          std::to_string(out[3]) + "))");
  }
  return s;
}

nnfast::Conv2DShape make_shape_dims(const py::array& src, const py::array& kernel,
                                    const std::vector<py::ssize_t>& out, Pair strides,
                                    Pair pads, Pair dilation, int64_t groups, bool depthwise,
                                    const char* what) {
  require_ndim(src, 4, (std::string(what) + " input").c_str());
  require_ndim(kernel, 4, (std::string(what) + " kernel").c_str());
  const nnfast::Conv2DShape s =
      validated_shape(src, out, {kernel.shape(0), kernel.shape(1)}, strides, pads, dilation,
                      depthwise ? src.shape(3) : groups, shape_of(kernel), what);
  const std::vector<py::ssize_t> want =
      depthwise ? std::vector<py::ssize_t>{s.kernel_h, s.kernel_w, s.in_c, s.out_c / s.in_c}
                : std::vector<py::ssize_t>{s.kernel_h, s.kernel_w, s.in_c / s.groups, s.out_c};
  if (depthwise && s.out_c % s.in_c)
    throw py::value_error(std::string(what) + ": output channels " + std::to_string(s.out_c) +
                          " must be a multiple of input channels " + std::to_string(s.in_c));
  require_shape(kernel, want, (std::string(what) + " kernel").c_str());
  return s;
}

nnfast::Activation act_of(int id) { return activation_of(id, "conv"); }

void bind_pass(py::module_& m, bool depthwise) {
  const std::string prefix = depthwise ? "depthwise_conv2d" : "conv2d";
  const auto fwd_name = prefix + "_forward";
  m.def(
      fwd_name.c_str(),
      [depthwise, fwd_name](const py::array& src, const py::array& kernel, const py::object& bias,
                            const py::array& dst, Pair strides, Pair pads, Pair dilation,
                            int64_t groups, int activation, float act_alpha, float act_max,
                            float act_threshold, const py::object& scale,
                            const py::object& residual) {
        BufferScope scope(fwd_name);
        auto s = make_shape(src, kernel, dst, strides, pads, dilation, groups, depthwise,
                            fwd_name.c_str());
        const float* x = checked<float>(src, "conv input");
        const float* w = checked<float>(kernel, "conv kernel");
        float* y = checked<float>(dst, "conv output", true);
        const float* b = checked_or_null<float>(bias, "conv bias");
        if (b) require_shape(py::cast<py::array>(bias), {s.out_c}, "conv bias");
        const float* sc = checked_or_null<float>(scale, "conv scale");
        if (sc) require_shape(py::cast<py::array>(scale), {s.out_c}, "conv scale");
        const float* res = checked_or_null<float>(residual, "conv residual");
        if (res) {
          if (depthwise)
            throw py::value_error(fwd_name + ": a residual is only supported by conv2d_forward");
          require_shape(py::cast<py::array>(residual),
                        {s.batch, s.out_h, s.out_w, s.out_c}, "conv residual");
          if (res == y) throw py::value_error(fwd_name + ": residual must not be dst");
        }
        auto act = act_of(activation);
        auto p = act_params(act_alpha, act_max, act_threshold);
        py::gil_scoped_release release;
        if (depthwise)
          nnfast::depthwise_conv2d_forward(s, x, w, b, act, p, y, sc);
        else
          nnfast::conv2d_forward(s, x, w, b, act, p, y, sc, res);
      },
      py::arg("src"), py::arg("kernel"), py::arg("bias"), py::arg("dst"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("groups") = 1, py::arg("activation") = 0,
      py::arg("act_alpha") = 0.0f, py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f, py::arg("scale") = py::none(),
      py::arg("residual") = py::none(),
      "dst = activation(scale * conv(src, kernel) + bias + residual) on NHWC arrays (scale: "
      "per output channel, None for 1; residual: dst's shape, None for 0); dst's shape gives "
      "out_h/out_w.");

  const auto bd_name = prefix + "_backward_data";
  m.def(
      bd_name.c_str(),
      [depthwise, bd_name](const py::array& ddst, const py::array& kernel, const py::array& dsrc,
                           Pair strides, Pair pads, Pair dilation, int64_t groups) {
        BufferScope scope(bd_name);
        auto s = make_shape(dsrc, kernel, ddst, strides, pads, dilation, groups, depthwise,
                            bd_name.c_str());
        const float* g = checked<float>(ddst, "conv output gradient");
        const float* w = checked<float>(kernel, "conv kernel");
        float* dx = checked<float>(dsrc, "conv input gradient", true);
        py::gil_scoped_release release;
        if (depthwise)
          nnfast::depthwise_conv2d_backward_data(s, g, w, dx);
        else
          nnfast::conv2d_backward_data(s, g, w, dx);
      },
      py::arg("ddst"), py::arg("kernel"), py::arg("dsrc"), py::arg("strides"), py::arg("pads"),
      py::arg("dilation"), py::arg("groups") = 1,
      "dsrc = gradient of the convolution's input (overwritten); dsrc's shape gives the input's.");

  const auto bw_name = prefix + "_backward_weights";
  m.def(
      bw_name.c_str(),
      [depthwise, bw_name](const py::array& src, const py::array& ddst, const py::array& dkernel,
                           const py::object& dbias, Pair strides, Pair pads, Pair dilation,
                           int64_t groups, const py::object& relu_y) {
        BufferScope scope(bw_name);
        auto s = make_shape(src, dkernel, ddst, strides, pads, dilation, groups, depthwise,
                            bw_name.c_str());
        const float* x = checked<float>(src, "conv input");
        const float* g = checked<float>(ddst, "conv output gradient");
        float* dw = checked<float>(dkernel, "conv kernel gradient", true);
        float* db = checked_or_null<float>(dbias, "conv bias gradient", true);
        if (db) require_shape(py::cast<py::array>(dbias), {s.out_c}, "conv bias gradient");
        const float* ry = checked_or_null<float>(relu_y, "conv relu output");
        if (ry) require_same_size(py::cast<py::array>(relu_y), ddst, "conv relu output",
                                  "output gradient");
        if (ry && depthwise)
          throw py::value_error(bw_name + ": relu_y is not supported for depthwise convolutions");
        py::gil_scoped_release release;
        if (depthwise)
          nnfast::depthwise_conv2d_backward_weights(s, x, g, dw, db);
        else
          nnfast::conv2d_backward_weights(s, x, g, dw, db, ry);
      },
      py::arg("src"), py::arg("ddst"), py::arg("dkernel"), py::arg("dbias"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("groups") = 1, py::arg("relu_y") = py::none(),
      "dkernel (and dbias unless None) = gradients of the convolution's weights (overwritten); "
      "with relu_y, ddst is masked by relu_y > 0 first (a fused relu).");
}

const uint8_t* checked_u8(const py::array& a, const char* name, bool writeable = false) {
  if (!a.dtype().is(py::dtype::of<uint8_t>()))
    throw py::type_error(std::string(name) + ": expected a uint8 array, received dtype " +
                         std::string(py::str(a.dtype())) + " with shape " + shape_of(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array, received shape " +
                          shape_of(a) + " with strides");
  if (writeable && !a.writeable())
    throw py::value_error(std::string(name) + ": output array is read-only");
  register_buffer(a, name, writeable);
  return static_cast<const uint8_t*>(a.data());
}

// The fused block's shape: src (B, H, W, Cin), kernel (kh, kw, Cin, Cout), pooled
// (B, PH, PW, Cout); conv_out gives the (unmaterialised) conv output's spatial size.
nnfast::ConvPoolShape make_pool_shape(const py::array& src, const py::array& kernel,
                                      const py::array& pooled, Pair strides, Pair pads,
                                      Pair dilation, Pair conv_out, Pair pool, Pair pool_pads,
                                      const char* what) {
  require_ndim(src, 4, (std::string(what) + " input").c_str());
  require_ndim(kernel, 4, (std::string(what) + " kernel").c_str());
  require_ndim(pooled, 4, (std::string(what) + " pooled output").c_str());
  nnfast::ConvPoolShape ps;
  nnfast::Conv2DShape& s = ps.conv;
  s.batch = src.shape(0);
  s.in_h = src.shape(1);
  s.in_w = src.shape(2);
  s.in_c = src.shape(3);
  s.out_h = conv_out.first;
  s.out_w = conv_out.second;
  s.out_c = pooled.shape(3);
  s.kernel_h = kernel.shape(0);
  s.kernel_w = kernel.shape(1);
  s.stride_h = strides.first;
  s.stride_w = strides.second;
  s.pad_top = pads.first;
  s.pad_left = pads.second;
  s.dilation_h = dilation.first;
  s.dilation_w = dilation.second;
  ps.pool_h = pool.first;
  ps.pool_w = pool.second;
  ps.pad_top = pool_pads.first;
  ps.pad_left = pool_pads.second;
  ps.pooled_h = pooled.shape(1);
  ps.pooled_w = pooled.shape(2);
  if (pooled.shape(0) != s.batch)
    throw py::value_error(std::string(what) + ": input " + shape_of(src) + " and output " +
                          shape_of(pooled) + " have different batch sizes");
  require_shape(kernel, {s.kernel_h, s.kernel_w, s.in_c, s.out_c},
                (std::string(what) + " kernel").c_str());
  try {
    if (!nnfast::conv2d_relu_maxpool_supported(ps))
      throw std::invalid_argument("only groups == 1 convolutions with kh*kw*in_c <= 32 and "
                                  "out_c <= 512 are fused");
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string(what) + ": " + e.what() + " (input " + shape_of(src) +
                          ", kernel " + shape_of(kernel) + ", pooled " + shape_of(pooled) + ")");
  }
  return ps;
}

void bind_conv_pool(py::module_& m) {
  m.def(
      "conv2d_relu_maxpool_supported",
      [](int64_t in_c, int64_t out_c, Pair kernel, int64_t groups, Pair pool) {
        nnfast::ConvPoolShape ps;
        ps.conv.batch = 1;
        ps.conv.in_h = kernel.first;
        ps.conv.in_w = kernel.second;
        ps.conv.in_c = in_c;
        ps.conv.out_c = out_c;
        ps.conv.out_h = ps.conv.out_w = 1;
        ps.conv.kernel_h = kernel.first;
        ps.conv.kernel_w = kernel.second;
        ps.conv.groups = groups;
        ps.pool_h = pool.first;
        ps.pool_w = pool.second;
        ps.pooled_h = ps.pooled_w = 1;
        try {
          return nnfast::conv2d_relu_maxpool_supported(ps);
        } catch (const std::invalid_argument&) {
          return false;
        }
      },
      py::arg("in_c"), py::arg("out_c"), py::arg("kernel"), py::arg("groups"), py::arg("pool"),
      "Whether conv2d_relu_maxpool_* handle these channels, kernel size, groups and pool size.");
  m.def(
      "conv2d_relu_maxpool_forward",
      [](const py::array& src, const py::array& kernel, const py::object& bias,
         const py::array& pooled, const py::object& argidx, Pair strides, Pair pads,
         Pair dilation, Pair conv_out, Pair pool, Pair pool_pads) {
        BufferScope scope("conv2d_relu_maxpool_forward");
        auto s = make_pool_shape(src, kernel, pooled, strides, pads, dilation, conv_out, pool,
                                 pool_pads, "conv2d_relu_maxpool_forward");
        const float* x = checked<float>(src, "conv input");
        const float* w = checked<float>(kernel, "conv kernel");
        float* y = checked<float>(pooled, "pooled output", true);
        const float* b = checked_or_null<float>(bias, "conv bias");
        if (b) require_shape(py::cast<py::array>(bias), {s.conv.out_c}, "conv bias");
        uint8_t* a = nullptr;
        if (!argidx.is_none()) {
          auto arr = py::cast<py::array>(argidx);
          a = const_cast<uint8_t*>(checked_u8(arr, "argidx", true));
          require_same_size(arr, pooled, "argidx", "pooled output");
        }
        py::gil_scoped_release release;
        nnfast::conv2d_relu_maxpool_forward(s, x, w, b, y, a);
      },
      py::arg("src"), py::arg("kernel"), py::arg("bias"), py::arg("pooled"), py::arg("argidx"),
      py::arg("strides"), py::arg("pads"), py::arg("dilation"), py::arg("conv_out"),
      py::arg("pool"), py::arg("pool_pads"),
      "pooled = max_pool(relu(conv(src, kernel) + bias)) without the full-size conv output; "
      "argidx (uint8, pooled's shape, or None) receives each window's argmax offset.");
  m.def(
      "conv2d_relu_maxpool_backward_weights",
      [](const py::array& src, const py::array& dpooled, const py::array& pooled,
         const py::array& argidx, const py::array& dkernel, const py::object& dbias,
         Pair strides, Pair pads, Pair dilation, Pair conv_out, Pair pool, Pair pool_pads) {
        BufferScope scope("conv2d_relu_maxpool_backward_weights");
        auto s = make_pool_shape(src, dkernel, pooled, strides, pads, dilation, conv_out, pool,
                                 pool_pads, "conv2d_relu_maxpool_backward_weights");
        require_same_size(dpooled, pooled, "pooled gradient", "pooled output");
        require_same_size(argidx, pooled, "argidx", "pooled output");
        const float* x = checked<float>(src, "conv input");
        const float* g = checked<float>(dpooled, "pooled gradient");
        const float* y = checked<float>(pooled, "pooled output");
        const uint8_t* a = checked_u8(argidx, "argidx");
        float* dw = checked<float>(dkernel, "conv kernel gradient", true);
        float* db = checked_or_null<float>(dbias, "conv bias gradient", true);
        if (db) require_shape(py::cast<py::array>(dbias), {s.conv.out_c}, "conv bias gradient");
        py::gil_scoped_release release;
        nnfast::conv2d_relu_maxpool_backward_weights(s, x, g, y, a, dw, db);
      },
      py::arg("src"), py::arg("dpooled"), py::arg("pooled"), py::arg("argidx"),
      py::arg("dkernel"), py::arg("dbias"), py::arg("strides"), py::arg("pads"),
      py::arg("dilation"), py::arg("conv_out"), py::arg("pool"), py::arg("pool_pads"),
      "dkernel (and dbias unless None) = weight gradients of the fused block (overwritten).");
  m.def(
      "conv2d_relu_maxpool_backward_data",
      [](const py::array& dpooled, const py::array& pooled, const py::array& argidx,
         const py::array& kernel, const py::array& dsrc, Pair strides, Pair pads,
         Pair dilation, Pair conv_out, Pair pool, Pair pool_pads) {
        BufferScope scope("conv2d_relu_maxpool_backward_data");
        auto s = make_pool_shape(dsrc, kernel, pooled, strides, pads, dilation, conv_out, pool,
                                 pool_pads, "conv2d_relu_maxpool_backward_data");
        require_same_size(dpooled, pooled, "pooled gradient", "pooled output");
        require_same_size(argidx, pooled, "argidx", "pooled output");
        const float* g = checked<float>(dpooled, "pooled gradient");
        const float* y = checked<float>(pooled, "pooled output");
        const uint8_t* a = checked_u8(argidx, "argidx");
        const float* w = checked<float>(kernel, "conv kernel");
        float* dx = checked<float>(dsrc, "conv input gradient", true);
        py::gil_scoped_release release;
        nnfast::conv2d_relu_maxpool_backward_data(s, g, y, a, w, dx);
      },
      py::arg("dpooled"), py::arg("pooled"), py::arg("argidx"), py::arg("kernel"),
      py::arg("dsrc"), py::arg("strides"), py::arg("pads"), py::arg("dilation"),
      py::arg("conv_out"), py::arg("pool"), py::arg("pool_pads"),
      "dsrc = input gradient of the fused block (overwritten).");
}

}  // namespace

// One side's epilogue from Python values, checked against `channels`.
nnfast::ConvEpilogue epilogue_of(const py::object& bias, const py::object& scale, int activation,
                                 float alpha, float max_value, float threshold, int64_t channels,
                                 const char* what) {
  nnfast::ConvEpilogue ep;
  const std::string b_name = std::string(what) + " bias", s_name = std::string(what) + " scale";
  ep.bias = checked_or_null<float>(bias, b_name.c_str());
  if (ep.bias) require_shape(py::cast<py::array>(bias), {channels}, b_name.c_str());
  ep.scale = checked_or_null<float>(scale, s_name.c_str());
  if (ep.scale) require_shape(py::cast<py::array>(scale), {channels}, s_name.c_str());
  ep.act = act_of(activation);
  ep.params = act_params(alpha, max_value, threshold);
  return ep;
}

void bind_separable(py::module_& m) {
  m.def(
      "depthwise_pointwise_forward",
      [](const py::array& src, const py::array& dw_kernel, const py::object& dw_bias,
         const py::object& dw_scale, Pair strides, Pair pads, Pair dilation, int dw_activation,
         float dw_alpha, float dw_max, float dw_threshold, const py::array& pw_kernel,
         const py::object& pw_bias, const py::object& pw_scale, const py::object& residual,
         int pw_activation, float pw_alpha, float pw_max, float pw_threshold,
         const py::array& dst) {
        BufferScope scope("depthwise_pointwise_forward");
        const char* what = "depthwise_pointwise_forward";
        require_ndim(pw_kernel, 4, "pointwise kernel");
        require_ndim(dst, 4, "separable output");
        require_ndim(src, 4, "separable input");
        if (dst.shape(0) != src.shape(0))
          throw py::value_error(std::string(what) + ": input " + shape_of(src) + " and output " +
                                shape_of(dst) + " have different batch sizes");
        const py::ssize_t C = src.shape(3) * (dw_kernel.ndim() == 4 ? dw_kernel.shape(3) : 1);
        // The depthwise output: dst's spatial size with C channels (never materialised).
        auto s = make_shape_dims(src, dw_kernel, {dst.shape(0), dst.shape(1), dst.shape(2), C},
                                 strides, pads, dilation, 1, true, what);
        require_shape(pw_kernel, {1, 1, s.out_c, dst.shape(3)}, "pointwise kernel");
        const int64_t OC = dst.shape(3);
        const float* x = checked<float>(src, "separable input");
        const float* wd = checked<float>(dw_kernel, "depthwise kernel");
        const float* wp = checked<float>(pw_kernel, "pointwise kernel");
        float* y = checked<float>(dst, "separable output", true);
        auto dw = epilogue_of(dw_bias, dw_scale, dw_activation, dw_alpha, dw_max, dw_threshold,
                              s.out_c, "depthwise");
        auto pw = epilogue_of(pw_bias, pw_scale, pw_activation, pw_alpha, pw_max, pw_threshold,
                              OC, "pointwise");
        pw.residual = checked_or_null<float>(residual, "separable residual");
        if (pw.residual) {
          require_shape(py::cast<py::array>(residual), {s.batch, s.out_h, s.out_w, OC},
                        "separable residual");
          if (pw.residual == y) throw py::value_error("residual must not be dst");
        }
        py::gil_scoped_release release;
        nnfast::depthwise_pointwise_forward(s, x, wd, dw, wp, OC, pw, y);
      },
      py::arg("src"), py::arg("dw_kernel"), py::arg("dw_bias"), py::arg("dw_scale"),
      py::arg("strides"), py::arg("pads"), py::arg("dilation"), py::arg("dw_activation"),
      py::arg("dw_alpha"), py::arg("dw_max"), py::arg("dw_threshold"), py::arg("pw_kernel"),
      py::arg("pw_bias"), py::arg("pw_scale"), py::arg("residual"), py::arg("pw_activation"),
      py::arg("pw_alpha"), py::arg("pw_max"), py::arg("pw_threshold"), py::arg("dst"),
      "dst = pw_act(pw_scale * (dw_out @ pw_kernel) + pw_bias + residual) with dw_out = "
      "dw_act(dw_scale * depthwise(src) + dw_bias): an inference separable block in one pass.");
}

void bind_conv(py::module_& m) {
  bind_pass(m, false);
  bind_pass(m, true);
  bind_conv_pool(m);
  bind_separable(m);
  m.def("conv_output_size", &nnfast::conv_output_size, py::arg("n"), py::arg("k"),
        py::arg("stride"), py::arg("dilation"), py::arg("same"));
  m.def("conv_same_padding", &nnfast::conv_same_padding, py::arg("n"), py::arg("k"),
        py::arg("stride"), py::arg("dilation"));
  m.def(
      "relu_backward_from_output",
      [](const py::array& y, const py::array& g, const py::array& dz) {
        BufferScope scope("relu_backward_from_output");
        require_same_size(y, g, "relu output", "gradient");
        require_same_size(y, dz, "relu output", "input gradient");
        const float* py_ = checked<float>(y, "relu output");
        const float* pg = checked<float>(g, "relu output gradient");
        float* pd = checked<float>(dz, "relu input gradient", true);
        const int64_t n = y.size();
        py::gil_scoped_release release;
        nnfast::relu_backward_from_output(py_, pg, pd, n);
      },
      py::arg("y"), py::arg("g"), py::arg("dz"), "dz = g where y > 0, else 0.");
  m.def(
      "bias_activation_inplace",
      [](const py::array& x, const py::object& bias, int activation, float act_alpha,
         float act_max, float act_threshold) {
        BufferScope scope("bias_activation_inplace");
        auto rc = rows_cols(x, "bias_activation x");
        float* px = checked<float>(x, "bias_activation x", true);
        const float* b = checked_or_null<float>(bias, "bias");
        if (b) require_shape(py::cast<py::array>(bias), {rc.second}, "bias");
        auto act = act_of(activation);
        auto p = act_params(act_alpha, act_max, act_threshold);
        py::gil_scoped_release release;
        nnfast::bias_activation_inplace(px, rc.first, rc.second, b, act, p);
      },
      py::arg("x"), py::arg("bias"), py::arg("activation") = 0, py::arg("act_alpha") = 0.0f,
      py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f, "x = activation(x + bias) in place over the last axis.");
}

nnfast::Conv2DShape conv2d_binding_shape(const py::array& src, const py::array& kernel,
                                         const py::array& dst, std::pair<int64_t, int64_t> strides,
                                         std::pair<int64_t, int64_t> pads,
                                         std::pair<int64_t, int64_t> dilation, int64_t groups,
                                         const char* what) {
  return make_shape(src, kernel, dst, strides, pads, dilation, groups, false, what);
}

nnfast::Conv2DShape packed_kernel_binding_shape(const py::array& src, const py::array& dst,
                                                std::pair<int64_t, int64_t> kernel_hw,
                                                std::pair<int64_t, int64_t> strides,
                                                std::pair<int64_t, int64_t> pads,
                                                std::pair<int64_t, int64_t> dilation,
                                                const char* what) {
  require_output_batch(src, dst, what);
  return validated_shape(src, {dst.shape(0), dst.shape(1), dst.shape(2), dst.shape(3)},
                         kernel_hw, strides, pads, dilation, 1,
                         "window (" + std::to_string(kernel_hw.first) + ", " +
                             std::to_string(kernel_hw.second) + ")",
                         what);
}

nnfast::Conv2DShape depthwise_binding_shape(const py::array& src, const py::array& kernel,
                                            const py::array& dst,
                                            std::pair<int64_t, int64_t> strides,
                                            std::pair<int64_t, int64_t> pads,
                                            std::pair<int64_t, int64_t> dilation,
                                            const char* what) {
  return make_shape(src, kernel, dst, strides, pads, dilation, 1, true, what);
}

nnfast::Conv2DShape depthwise_binding_shape_channels(const py::array& src,
                                                     const py::array& kernel,
                                                     const py::array& dst, int64_t out_c,
                                                     std::pair<int64_t, int64_t> strides,
                                                     std::pair<int64_t, int64_t> pads,
                                                     std::pair<int64_t, int64_t> dilation,
                                                     const char* what) {
  require_output_batch(src, dst, what);
  return make_shape_dims(src, kernel, {dst.shape(0), dst.shape(1), dst.shape(2), out_c},
                         strides, pads, dilation, 1, true, what);
}

nnfast::Conv2DShape block_depthwise_binding_shape(const py::array& src,
                                                  const py::array& dw_kernel,
                                                  const py::array& dst, int64_t in_c,
                                                  std::pair<int64_t, int64_t> strides,
                                                  std::pair<int64_t, int64_t> pads,
                                                  std::pair<int64_t, int64_t> dilation,
                                                  const char* what) {
  require_ndim(dw_kernel, 4, (std::string(what) + " depthwise kernel").c_str());
  require_ndim(dst, 4, (std::string(what) + " output").c_str());
  return validated_shape(src, {dst.shape(0), dst.shape(1), dst.shape(2),
                               in_c * dw_kernel.shape(3)},
                         {dw_kernel.shape(0), dw_kernel.shape(1)}, strides, pads, dilation, in_c,
                         shape_of(dw_kernel), what, in_c);
}
