// The int8 GEMM of quantized layers: a packed int8 kernel object, the exact int32 product,
// and the quantize-multiply-dequantize dense step (see nnfast/gemm_int8.h).
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bind_util.h"
#include "conv_binding_shapes.h"
#include "nnfast/conv.h"
#include "nnfast/depthwise_int8.h"
#include "nnfast/gemm_int8.h"
#include "nnfast/stem_int8.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

nnfast::Int8GemmVariant parse_int8_variant(const std::string& name) {
  if (name == "best") return nnfast::Int8GemmVariant::best;
  if (name == "amx") return nnfast::Int8GemmVariant::amx;
  if (name == "avx512vnni") return nnfast::Int8GemmVariant::avx512vnni;
  if (name == "ref") return nnfast::Int8GemmVariant::ref;
  if (name == "avxvnni") return nnfast::Int8GemmVariant::avxvnni;
  throw py::value_error("int8 GEMM: variant must be one of 'best', 'amx', 'avx512vnni', "
                        "'avxvnni', 'ref'. Received: variant=" + name);
}

template <typename T>
T* checked_2d(const py::array& a, const char* name, bool writeable = false) {
  require_ndim(a, 2, name);
  return checked<T>(a, name, writeable);
}

void require_shape(const py::array& a, int64_t rows, int64_t cols, const char* name) {
  if (a.shape(0) != rows || a.shape(1) != cols)
    throw py::value_error(std::string(name) + ": expected shape (" + std::to_string(rows) +
                          ", " + std::to_string(cols) + "), received " + shape_of(a));
}

using nnfast::bind::require_shape;  // beside the (rows, cols) overload above

// A float vector argument of n values, or null for None (a fused block's scales and biases).
const float* optional_vector(const py::object& a, int64_t n, const char* name) {
  const float* p = checked_or_null<float>(a, name);
  if (p) require_shape(py::cast<py::array>(a), {n}, name);
  return p;
}

// A fused block's quantized 1x1 step (expand or project): its packed kernel, per-column scales
// and bias, and the activation of its epilogue; `step` names it in errors.
nnfast::Int8PointwiseConv fused_pointwise_step(const nnfast::Int8PackedKernel& packed,
                                               const py::array& kernel_scale,
                                               const py::object& bias, int activation,
                                               float alpha, float max_value, float threshold,
                                               const std::string& step, const char* who) {
  nnfast::Int8PointwiseConv conv;
  conv.packed = &packed;
  conv.kernel_scale = optional_vector(kernel_scale, packed.n, (step + " kernel_scale").c_str());
  conv.bias = optional_vector(bias, packed.n, (step + " bias").c_str());
  if (!conv.kernel_scale)
    throw py::value_error(std::string(who) + ": " + step + " kernel_scale must not be None");
  conv.epilogue.act = activation_of(activation, who);
  conv.epilogue.params = act_params(alpha, max_value, threshold);
  return conv;
}

// A fused block's quantized depthwise step over `channels` output channels.
nnfast::Int8DepthwiseConv fused_depthwise_step(const py::array& kernel,
                                               const py::array& kernel_scale,
                                               const py::object& bias, const py::object& scale,
                                               int64_t channels, int activation, float alpha,
                                               float max_value, float threshold,
                                               const char* who) {
  nnfast::Int8DepthwiseConv conv;
  conv.kernel = checked<int8_t>(kernel, "int8 depthwise kernel");
  conv.kernel_scale = optional_vector(kernel_scale, channels, "int8 depthwise kernel_scale");
  conv.bias = optional_vector(bias, channels, "int8 depthwise bias");
  conv.scale = optional_vector(scale, channels, "int8 depthwise scale");
  if (!conv.kernel_scale)
    throw py::value_error(std::string(who) + ": int8 depthwise kernel_scale must not be None");
  conv.act = activation_of(activation, who);
  conv.params = act_params(alpha, max_value, threshold);
  return conv;
}

// A fused block's project step must take the depthwise output's channels and give dst's.
void require_project_fits(const nnfast::Int8PackedKernel& project, int64_t depthwise_channels,
                          const py::array& src, const py::array& dst, const char* who) {
  if (project.k != depthwise_channels || dst.shape(3) != project.n ||
      dst.shape(0) != src.shape(0))
    throw py::value_error(std::string(who) + ": the project kernel is (" +
                          std::to_string(project.k) + ", " + std::to_string(project.n) +
                          ") but the depthwise output has " + std::to_string(depthwise_channels) +
                          " channels and dst " + shape_of(dst) + " (src " + shape_of(src) + ")");
}

}  // namespace

void bind_quantized(py::module_& m) {
  using Packed = nnfast::Int8PackedKernel;
  py::class_<Packed, std::shared_ptr<Packed>>(
      m, "Int8PackedKernel",
      "An int8 (k, n) kernel packed for the int8 GEMM (made by int8_pack_kernel).")
      .def_property_readonly("k", [](const Packed& p) { return p.k; }, "Depth (rows).")
      .def_property_readonly("n", [](const Packed& p) { return p.n; }, "Output columns.");

  m.def(
      "int8_pack_kernel",
      [](const py::array& kernel) {
        BufferScope scope("int8_pack_kernel");
        const int8_t* pk = checked_2d<int8_t>(kernel, "int8_pack_kernel kernel");
        const int64_t k = kernel.shape(0), n = kernel.shape(1);
        py::gil_scoped_release release;
        return std::make_shared<Packed>(nnfast::pack_int8_kernel(pk, k, n, n));
      },
      py::arg("kernel"),
      "Packs a C-contiguous int8 (k, n) kernel once for gemm_int8 and int8_dense.");

  m.def(
      "gemm_int8",
      [](const py::array& a, const Packed& b, const py::array& out, const std::string& variant) {
        BufferScope scope("gemm_int8");
        const int8_t* pa = checked_2d<int8_t>(a, "gemm_int8 a");
        int32_t* po = checked_2d<int32_t>(out, "gemm_int8 out", true);
        const int64_t m_ = a.shape(0);
        if (a.shape(1) != b.k)
          throw py::value_error("gemm_int8: a must have " + std::to_string(b.k) +
                                " columns (the kernel's depth), received shape " + shape_of(a));
        require_shape(out, m_, b.n, "gemm_int8 out");
        const nnfast::Int8GemmVariant v = parse_int8_variant(variant);
        py::gil_scoped_release release;
        nnfast::gemm_int8_s32(m_, b.k, pa, b.k, b, po, b.n, v);
      },
      py::arg("a"), py::arg("packed"), py::arg("out"), py::arg("variant") = "best",
      "out (int32, (m, n)) = a (int8, (m, k)) @ kernel, exact; variant picks the "
      "implementation ('best', 'amx', 'avx512vnni', 'avxvnni', 'ref').");

  m.def(
      "int8_dense",
      [](const py::array& x, const Packed& b, const py::array& kernel_scale,
         const py::object& bias, const py::array& out, float epsilon,
         const std::string& variant) {
        BufferScope scope("int8_dense");
        const float* px = checked_2d<float>(x, "int8_dense x");
        float* po = checked_2d<float>(out, "int8_dense out", true);
        const float* ps = checked<float>(kernel_scale, "int8_dense kernel_scale");
        const float* pb = checked_or_null<float>(bias, "int8_dense bias");
        const int64_t m_ = x.shape(0);
        if (x.shape(1) != b.k)
          throw py::value_error("int8_dense: x must have " + std::to_string(b.k) +
                                " columns (the kernel's depth), received shape " + shape_of(x));
        require_shape(out, m_, b.n, "int8_dense out");
        if (kernel_scale.size() != b.n)
          throw py::value_error("int8_dense: kernel_scale must have " + std::to_string(b.n) +
                                " entries, received shape " + shape_of(kernel_scale));
        if (pb && py::cast<py::array>(bias).size() != b.n)
          throw py::value_error("int8_dense: bias must have " + std::to_string(b.n) +
                                " entries, received shape " +
                                shape_of(py::cast<py::array>(bias)));
        const nnfast::Int8GemmVariant v = parse_int8_variant(variant);
        py::gil_scoped_release release;
        nnfast::int8_dense(m_, b.k, px, b.k, b, ps, pb, epsilon, po, b.n, v);
      },
      py::arg("x"), py::arg("packed"), py::arg("kernel_scale"), py::arg("bias"), py::arg("out"),
      py::arg("epsilon"), py::arg("variant") = "best",
      "Keras's int8 Dense product: rows of x (float32, (m, k)) quantized to int8 with scale "
      "127 / (max|row| + epsilon) (round half to even, clip to 127), multiplied exactly by the "
      "packed kernel, then out = acc / (x_scale * kernel_scale) (+ bias when not None).");

  m.def(
      "int8_conv2d_forward",
      [](const py::array& src, const Packed& b, const py::array& kernel_scale,
         const py::object& bias, const py::array& dst, std::pair<int64_t, int64_t> kernel_size,
         std::pair<int64_t, int64_t> strides, std::pair<int64_t, int64_t> pads,
         std::pair<int64_t, int64_t> dilation, int activation, float act_alpha, float act_max,
         float act_threshold, const py::object& residual, float epsilon,
         const std::string& variant, const py::object& channel_absmax) {
        const char* who = "int8_conv2d_forward";
        BufferScope scope(who);
        const nnfast::Conv2DShape s =
            packed_kernel_binding_shape(src, dst, kernel_size, strides, pads, dilation, who);
        const float* x = checked<float>(src, "int8_conv2d_forward src");
        float* y = checked<float>(dst, "int8_conv2d_forward dst", true);
        if (s.kernel_h * s.kernel_w * s.in_c != b.k || s.out_c != b.n)
          throw py::value_error(std::string(who) + ": the packed kernel is (" +
                                std::to_string(b.k) + ", " + std::to_string(b.n) +
                                ") but src " + shape_of(src) + ", dst " + shape_of(dst) +
                                " and kernel_size (" + std::to_string(s.kernel_h) + ", " +
                                std::to_string(s.kernel_w) + ") need (kh*kw*in, out)");
        const float* ks = checked<float>(kernel_scale, "int8_conv2d_forward kernel_scale");
        if (kernel_scale.size() != b.n)
          throw py::value_error(std::string(who) + ": kernel_scale must have " +
                                std::to_string(b.n) + " entries, received shape " +
                                shape_of(kernel_scale));
        const float* pb = checked_or_null<float>(bias, "int8_conv2d_forward bias");
        if (pb && py::cast<py::array>(bias).size() != b.n)
          throw py::value_error(std::string(who) + ": bias must have " + std::to_string(b.n) +
                                " entries, received shape " +
                                shape_of(py::cast<py::array>(bias)));
        nnfast::Int8Epilogue ep;
        ep.residual = checked_or_null<float>(residual, "int8_conv2d_forward residual");
        if (ep.residual) {
          const py::array r = py::cast<py::array>(residual);
          if (r.ndim() != 4 || r.shape(0) != s.batch || r.shape(1) != s.out_h ||
              r.shape(2) != s.out_w || r.shape(3) != s.out_c)
            throw py::value_error(std::string(who) + ": residual must have dst's shape " +
                                  shape_of(dst) + ", received " + shape_of(r));
          ep.ldr = s.out_c;
        }
        ep.channel_absmax =
            checked_or_null<int32_t>(channel_absmax, "int8_conv2d_forward channel_absmax", true);
        if (ep.channel_absmax) {
          require_shape(py::cast<py::array>(channel_absmax), {s.batch, s.out_c},
                        "int8_conv2d_forward channel_absmax");
          ep.rows_per_sample = s.out_h * s.out_w;
        }
        ep.act = activation_of(activation, who);
        ep.params = act_params(act_alpha, act_max, act_threshold);
        const nnfast::Int8GemmVariant v = parse_int8_variant(variant);
        py::gil_scoped_release release;
        nnfast::int8_conv2d_forward(s, x, b, ks, pb, epsilon, y, ep, v);
      },
      py::arg("src"), py::arg("packed"), py::arg("kernel_scale"), py::arg("bias"),
      py::arg("dst"), py::arg("kernel_size"), py::arg("strides"), py::arg("pads"),
      py::arg("dilation"), py::arg("activation") = 0, py::arg("act_alpha") = 0.0f,
      py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f, py::arg("residual") = py::none(),
      py::arg("epsilon") = 1e-7f, py::arg("variant") = "best",
      py::arg("channel_absmax") = py::none(),
      "A quantized Conv2D for inference on NHWC arrays (groups 1): each output pixel's window "
      "(kh, kw, in order, zeros outside the image) quantized as an int8_dense row straight "
      "from src, multiplied by the packed (kh*kw*in, out) kernel, dequantized with "
      "kernel_scale and bias, then dst = activation(dst + residual); dst's shape gives "
      "out_h/out_w and pads the zeros before the first row/column. channel_absmax (int32 "
      "(batch, out), zeroed by the caller) receives the bit pattern of max |dst| per sample "
      "and channel, for an int8 depthwise convolution reading dst next.");

  m.def("gemm_int8_kernel_name", &nnfast::gemm_int8_kernel_name,
        "The int8 GEMM implementation 'best' runs now: AMX-INT8 tiles, the AVX512_VNNI "
        "micro-kernel, or the scalar reference.");
  m.def(
      "gemm_int8_variants",
      [] {
        std::vector<std::string> names;
        for (const char* name : {"amx", "avx512vnni", "avxvnni", "ref"})
          if (nnfast::gemm_int8_variant_available(parse_int8_variant(name)))
            names.emplace_back(name);
        return names;
      },
      "The int8 GEMM implementations this CPU runs under the current ISA cap, best first.");

  m.def(
      "int8_depthwise_conv2d_forward",
      [](const py::array& src, const py::array& kernel, const py::array& kernel_scale,
         const py::object& bias, const py::array& dst, std::pair<int64_t, int64_t> strides,
         std::pair<int64_t, int64_t> pads, std::pair<int64_t, int64_t> dilation, int activation,
         float act_alpha, float act_max, float act_threshold, const py::object& scale,
         float epsilon, const py::object& input_absmax) {
        const char* who = "int8_depthwise_conv2d_forward";
        BufferScope scope(who);
        auto s = depthwise_binding_shape(src, kernel, dst, strides, pads, dilation, who);
        const float* x = checked<float>(src, "int8 depthwise input");
        const int8_t* w = checked<int8_t>(kernel, "int8 depthwise kernel");
        float* y = checked<float>(dst, "int8 depthwise output", true);
        const float* ks = checked<float>(kernel_scale, "int8 depthwise kernel_scale");
        if (kernel_scale.ndim() != 1 || kernel_scale.shape(0) != s.out_c)
          throw py::value_error(std::string(who) + ": kernel_scale must have shape (" +
                                std::to_string(s.out_c) + ",), received " +
                                shape_of(kernel_scale));
        const float* b = optional_vector(bias, s.out_c, "int8 depthwise bias");
        const float* sc = optional_vector(scale, s.out_c, "int8 depthwise scale");
        const int32_t* stats = checked_or_null<int32_t>(input_absmax, "int8 depthwise input_absmax");
        if (stats)
          require_shape(py::cast<py::array>(input_absmax), {s.batch, s.in_c},
                        "int8 depthwise input_absmax");
        const auto act = activation_of(activation, who);
        const nnfast::ActivationParams p = act_params(act_alpha, act_max, act_threshold);
        py::gil_scoped_release release;
        nnfast::int8_depthwise_conv2d_forward(s, x, w, ks, b, sc, act, p, epsilon, y, stats);
      },
      py::arg("src"), py::arg("kernel"), py::arg("kernel_scale"), py::arg("bias"),
      py::arg("dst"), py::arg("strides"), py::arg("pads"), py::arg("dilation"),
      py::arg("activation") = 0, py::arg("act_alpha") = 0.0f,
      py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f, py::arg("scale") = py::none(),
      py::arg("epsilon") = 1e-7f, py::arg("input_absmax") = py::none(),
      "int8 depthwise convolution for inference on NHWC arrays: src (float32) quantized per "
      "sample and channel with scale 127 / (max|src[b, :, :, c]| + epsilon), kernel int8 (kh, "
      "kw, in_c, depth_multiplier) with kernel_scale (out_c,), exact int32 sums, then dst = "
      "activation(acc * scale / (x_scale * kernel_scale) + bias); dst's shape gives "
      "out_h/out_w. input_absmax (int32 (batch, in_c), the bit patterns of those maxima, as "
      "int8_conv2d_forward's channel_absmax gathers them) skips the pass that finds them.");
  m.def(
      "int8_depthwise_pointwise_forward",
      [](const py::array& src, const py::array& dw_kernel, const py::array& dw_kernel_scale,
         const py::object& dw_bias, const py::object& dw_scale, std::pair<int64_t, int64_t> strides,
         std::pair<int64_t, int64_t> pads, std::pair<int64_t, int64_t> dilation,
         int dw_activation, float dw_alpha, float dw_max, float dw_threshold,
         const py::object& input_absmax, const Packed& pw, const py::array& pw_kernel_scale,
         const py::object& pw_bias, const py::object& residual, int pw_activation,
         float pw_alpha, float pw_max, float pw_threshold, const py::array& dst, float epsilon,
         const std::string& variant) {
        const char* who = "int8_depthwise_pointwise_forward";
        BufferScope scope(who);
        require_ndim(dw_kernel, 4, "int8 depthwise kernel");
        require_ndim(src, 4, "int8 depthwise input");
        const auto s = depthwise_binding_shape_channels(
            src, dw_kernel, dst, src.shape(3) * dw_kernel.shape(3), strides, pads, dilation, who);
        if (pw.k != s.out_c || dst.shape(3) != pw.n)
          throw py::value_error(std::string(who) + ": the packed pointwise kernel is (" +
                                std::to_string(pw.k) + ", " + std::to_string(pw.n) +
                                ") but the depthwise output has " + std::to_string(s.out_c) +
                                " channels and dst " + shape_of(dst));
        const float* x = checked<float>(src, "int8 depthwise input");
        const int8_t* w = checked<int8_t>(dw_kernel, "int8 depthwise kernel");
        float* y = checked<float>(dst, "int8 pointwise output", true);
        const float* dks = checked<float>(dw_kernel_scale, "int8 depthwise kernel_scale");
        require_shape(dw_kernel_scale, {s.out_c}, "int8 depthwise kernel_scale");
        const float* db = optional_vector(dw_bias, s.out_c, "int8 depthwise bias");
        const float* dsc = optional_vector(dw_scale, s.out_c, "int8 depthwise scale");
        const int32_t* stats = checked_or_null<int32_t>(input_absmax, "int8 depthwise input_absmax");
        if (stats)
          require_shape(py::cast<py::array>(input_absmax), {s.batch, s.in_c},
                        "int8 depthwise input_absmax");
        const float* pks = checked<float>(pw_kernel_scale, "int8 pointwise kernel_scale");
        require_shape(pw_kernel_scale, {pw.n}, "int8 pointwise kernel_scale");
        const float* pb = optional_vector(pw_bias, pw.n, "int8 pointwise bias");
        nnfast::Int8Epilogue ep;
        ep.residual = checked_or_null<float>(residual, "int8 pointwise residual");
        if (ep.residual) {
          require_shape(py::cast<py::array>(residual), {s.batch, s.out_h, s.out_w, pw.n},
                        "int8 pointwise residual");
          if (ep.residual == y) throw py::value_error(std::string(who) + ": residual must not be dst");
          ep.ldr = pw.n;
        }
        ep.act = activation_of(pw_activation, who);
        ep.params = act_params(pw_alpha, pw_max, pw_threshold);
        const auto dw_act = activation_of(dw_activation, who);
        const nnfast::ActivationParams dp = act_params(dw_alpha, dw_max, dw_threshold);
        const nnfast::Int8GemmVariant v = parse_int8_variant(variant);
        py::gil_scoped_release release;
        nnfast::int8_depthwise_pointwise_forward(s, x, w, dks, db, dsc, dw_act, dp, stats, pw, pks,
                                                 pb, epsilon, y, ep, v);
      },
      py::arg("src"), py::arg("dw_kernel"), py::arg("dw_kernel_scale"), py::arg("dw_bias"),
      py::arg("dw_scale"), py::arg("strides"), py::arg("pads"), py::arg("dilation"),
      py::arg("dw_activation"), py::arg("dw_alpha"), py::arg("dw_max"), py::arg("dw_threshold"),
      py::arg("input_absmax"), py::arg("pw_packed"), py::arg("pw_kernel_scale"),
      py::arg("pw_bias"), py::arg("residual"), py::arg("pw_activation"), py::arg("pw_alpha"),
      py::arg("pw_max"), py::arg("pw_threshold"), py::arg("dst"), py::arg("epsilon") = 1e-7f,
      py::arg("variant") = "best",
      "A quantized depthwise convolution (as int8_depthwise_conv2d_forward) whose output feeds "
      "a quantized 1x1 stride-1 convolution (as int8_conv2d_forward with the packed "
      "(in*depth_multiplier, out) kernel), in one call over blocks of output pixels: the "
      "depthwise output never leaves the cache; the same bits as the two calls. dst (batch, "
      "out_h, out_w, out) gives out_h/out_w; residual has dst's shape.");
  m.def(
      "int8_inverted_residual_forward",
      [](const py::array& src, const Packed& expand_packed, const py::array& expand_kernel_scale,
         const py::object& expand_bias, int expand_activation, float expand_alpha,
         float expand_max, float expand_threshold, const py::array& dw_kernel,
         const py::array& dw_kernel_scale, const py::object& dw_bias, const py::object& dw_scale,
         std::pair<int64_t, int64_t> strides, std::pair<int64_t, int64_t> pads,
         std::pair<int64_t, int64_t> dilation, int dw_activation, float dw_alpha, float dw_max,
         float dw_threshold, const Packed& project_packed, const py::array& project_kernel_scale,
         const py::object& project_bias, const py::object& residual, int project_activation,
         float project_alpha, float project_max, float project_threshold, const py::array& dst,
         float epsilon, const std::string& variant) {
        const char* who = "int8_inverted_residual_forward";
        BufferScope scope(who);
        require_ndim(src, 4, "int8 inverted residual input");
        require_ndim(dw_kernel, 4, "int8 depthwise kernel");
        require_ndim(dst, 4, "int8 inverted residual output");
        if (src.shape(3) != expand_packed.k)
          throw py::value_error(std::string(who) + ": the expand kernel takes " +
                                std::to_string(expand_packed.k) + " channels, received src " +
                                shape_of(src));
        const int64_t c = expand_packed.n, oc = c * dw_kernel.shape(3);
        require_shape(dw_kernel, {dw_kernel.shape(0), dw_kernel.shape(1), c, dw_kernel.shape(3)},
                      "int8 depthwise kernel (its input channels are the expand's outputs)");
        require_project_fits(project_packed, oc, src, dst, who);
        const nnfast::Conv2DShape s =
            block_depthwise_binding_shape(src, dw_kernel, dst, c, strides, pads, dilation, who);
        const nnfast::Int8PointwiseConv expand = fused_pointwise_step(
            expand_packed, expand_kernel_scale, expand_bias, expand_activation, expand_alpha,
            expand_max, expand_threshold, "int8 expand", who);
        const nnfast::Int8DepthwiseConv depthwise = fused_depthwise_step(
            dw_kernel, dw_kernel_scale, dw_bias, dw_scale, oc, dw_activation, dw_alpha, dw_max,
            dw_threshold, who);
        const int64_t n = project_packed.n;
        nnfast::Int8PointwiseConv project = fused_pointwise_step(
            project_packed, project_kernel_scale, project_bias, project_activation,
            project_alpha, project_max, project_threshold, "int8 project", who);
        const float* x = checked<float>(src, "int8 inverted residual input");
        float* y = checked<float>(dst, "int8 inverted residual output", true);
        project.epilogue.residual = checked_or_null<float>(residual, "int8 project residual");
        if (project.epilogue.residual) {
          require_shape(py::cast<py::array>(residual), {s.batch, s.out_h, s.out_w, n},
                        "int8 project residual");
          if (project.epilogue.residual == y)
            throw py::value_error(std::string(who) + ": residual must not be dst");
          project.epilogue.ldr = n;
        }
        const nnfast::Int8GemmVariant v = parse_int8_variant(variant);
        py::gil_scoped_release release;
        nnfast::int8_inverted_residual_forward(s, x, expand, depthwise, project, epsilon, y, v);
      },
      py::arg("src"), py::arg("expand_packed"), py::arg("expand_kernel_scale"),
      py::arg("expand_bias"), py::arg("expand_activation"), py::arg("expand_alpha"),
      py::arg("expand_max"), py::arg("expand_threshold"), py::arg("dw_kernel"),
      py::arg("dw_kernel_scale"), py::arg("dw_bias"), py::arg("dw_scale"), py::arg("strides"),
      py::arg("pads"), py::arg("dilation"), py::arg("dw_activation"), py::arg("dw_alpha"),
      py::arg("dw_max"), py::arg("dw_threshold"), py::arg("project_packed"),
      py::arg("project_kernel_scale"), py::arg("project_bias"), py::arg("residual"),
      py::arg("project_activation"), py::arg("project_alpha"), py::arg("project_max"),
      py::arg("project_threshold"), py::arg("dst"), py::arg("epsilon") = 1e-7f,
      py::arg("variant") = "best",
      "An int8 inverted residual block for inference: expand (a quantized 1x1 conv of src, as "
      "int8_conv2d_forward), a quantized depthwise conv (strides/pads/dilation; its input "
      "quantized per sample, band of rows and channel), project (a quantized 1x1 conv, "
      "residual added before its activation), over bands of output rows so neither "
      "intermediate feature map is written to memory. dst (batch, out_h, out_w, out) gives "
      "out_h/out_w.");
  m.def("int8_inverted_residual_band_rows",
        [](std::pair<int64_t, int64_t> in_hw, int64_t channels, std::pair<int64_t, int64_t> kernel_hw,
           std::pair<int64_t, int64_t> strides, std::pair<int64_t, int64_t> dilation,
           int64_t out_h) {
          nnfast::Conv2DShape s;
          s.in_h = in_hw.first;
          s.in_w = in_hw.second;
          s.in_c = channels;
          s.kernel_h = kernel_hw.first;
          s.kernel_w = kernel_hw.second;
          s.stride_h = strides.first;
          s.stride_w = strides.second;
          s.dilation_h = dilation.first;
          s.dilation_w = dilation.second;
          s.out_h = out_h;
          if (s.in_w < 1 || s.in_c < 1 || s.kernel_h < 1 || s.stride_h < 1 || s.dilation_h < 1)
            throw py::value_error("int8_inverted_residual_band_rows: sizes must be positive");
          return nnfast::int8_inverted_residual_band_rows(s);
        },
        py::arg("in_hw"), py::arg("channels"), py::arg("kernel_hw"), py::arg("strides"),
        py::arg("dilation"), py::arg("out_h"),
        "Output rows per band of int8_inverted_residual_forward (its depthwise scales are per "
        "band): for tests and the docs.");
  m.def("int8_depthwise_kernel_name", &nnfast::int8_depthwise_kernel_name,
        "The int8 depthwise kernel the registry picks now.");
  m.def("int8_depthwise_allow_vnni", &nnfast::int8_depthwise_allow_vnni, py::arg("allowed"),
        "Whether the int8 depthwise registry may pick its AVX512_VNNI kernel (True by default; "
        "tests switch it off to run the plain AVX-512 kernel on a VNNI CPU). Returns the "
        "previous setting.");

  m.def(
      "int8_stem_conv2d_forward",
      [](const py::array& src, const py::array& kernel, const py::array& kernel_scale,
         const py::object& bias, const py::array& dst, std::pair<int64_t, int64_t> strides,
         std::pair<int64_t, int64_t> pads, std::pair<int64_t, int64_t> dilation, int activation,
         float act_alpha, float act_max, float act_threshold, float epsilon,
         const py::object& channel_absmax) {
        const char* who = "int8_stem_conv2d_forward";
        BufferScope scope(who);
        require_ndim(kernel, 4, "int8 stem kernel");
        const nnfast::Conv2DShape s = packed_kernel_binding_shape(
            src, dst, {kernel.shape(0), kernel.shape(1)}, strides, pads, dilation, who);
        if (kernel.shape(2) != s.in_c || kernel.shape(3) != s.out_c)
          throw py::value_error(std::string(who) + ": kernel must be (kh, kw, " +
                                std::to_string(s.in_c) + ", " + std::to_string(s.out_c) +
                                ") for src " + shape_of(src) + " and dst " + shape_of(dst) +
                                ", received " + shape_of(kernel));
        if (!nnfast::int8_stem_conv2d_supported(s))
          throw py::value_error(std::string(who) + ": expected groups 1, dilation_w 1, "
                                "kh * ceil(kw * in / 4) <= 64 and at most 1024 filters, "
                                "received kernel " + shape_of(kernel) + " and dilation (" +
                                std::to_string(dilation.first) + ", " +
                                std::to_string(dilation.second) + ")");
        const float* x = checked<float>(src, "int8 stem input");
        const int8_t* w = checked<int8_t>(kernel, "int8 stem kernel");
        float* y = checked<float>(dst, "int8 stem output", true);
        const float* ks = checked<float>(kernel_scale, "int8 stem kernel_scale");
        require_shape(kernel_scale, {s.out_c}, "int8 stem kernel_scale");
        const float* b = optional_vector(bias, s.out_c, "int8 stem bias");
        int32_t* stats = checked_or_null<int32_t>(channel_absmax, "int8 stem channel_absmax", true);
        if (stats)
          require_shape(py::cast<py::array>(channel_absmax), {s.batch, s.out_c},
                        "int8 stem channel_absmax");
        const auto act = activation_of(activation, who);
        const nnfast::ActivationParams p = act_params(act_alpha, act_max, act_threshold);
        py::gil_scoped_release release;
        nnfast::int8_stem_conv2d_forward(s, x, w, ks, b, epsilon, act, p, y, stats);
      },
      py::arg("src"), py::arg("kernel"), py::arg("kernel_scale"), py::arg("bias"),
      py::arg("dst"), py::arg("strides"), py::arg("pads"), py::arg("dilation"),
      py::arg("activation") = 0, py::arg("act_alpha") = 0.0f,
      py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f, py::arg("epsilon") = 1e-7f,
      py::arg("channel_absmax") = py::none(),
      "int8 convolution of a shallow first layer (groups 1, kh * ceil(kw * in / 4) <= 64) for "
      "inference on NHWC arrays: each sample quantized once with scale 127 / (max|src[b]| + "
      "epsilon), kernel int8 (kh, kw, in, out) with kernel_scale (out,), exact int32 sums, "
      "then dst = activation(fma(acc, 1 / x_scale * (1 / kernel_scale), bias)); dst's shape "
      "gives out_h/out_w and pads the zeros before the first row/column. channel_absmax "
      "(int32 (batch, out), zeroed by the caller) receives the bit pattern of max |dst| per "
      "sample and channel.");
  m.def(
      "int8_stem_block_forward",
      [](const py::array& src, const py::array& stem_kernel, const py::array& stem_kernel_scale,
         const py::object& stem_bias, std::pair<int64_t, int64_t> stem_strides,
         std::pair<int64_t, int64_t> stem_pads, std::pair<int64_t, int64_t> stem_out_hw,
         int stem_activation, float stem_alpha, float stem_max, float stem_threshold,
         const py::array& dw_kernel, const py::array& dw_kernel_scale, const py::object& dw_bias,
         const py::object& dw_scale, std::pair<int64_t, int64_t> strides,
         std::pair<int64_t, int64_t> pads, int dw_activation, float dw_alpha, float dw_max,
         float dw_threshold, const Packed& project_packed, const py::array& project_kernel_scale,
         const py::object& project_bias, int project_activation, float project_alpha,
         float project_max, float project_threshold, const py::array& dst, float epsilon,
         const std::string& variant) {
        const char* who = "int8_stem_block_forward";
        BufferScope scope(who);
        require_ndim(src, 4, "int8 stem input");
        require_ndim(stem_kernel, 4, "int8 stem kernel");
        require_ndim(dw_kernel, 4, "int8 depthwise kernel");
        require_ndim(dst, 4, "int8 stem block output");
        if (stem_pads.first < 0 || stem_pads.second < 0 || pads.first < 0 || pads.second < 0)
          throw py::value_error(std::string(who) + ": pads must not be negative");
        nnfast::Conv2DShape stem;
        stem.batch = src.shape(0), stem.in_h = src.shape(1), stem.in_w = src.shape(2);
        stem.in_c = src.shape(3);
        stem.kernel_h = stem_kernel.shape(0), stem.kernel_w = stem_kernel.shape(1);
        stem.out_c = stem_kernel.shape(3);
        stem.out_h = stem_out_hw.first, stem.out_w = stem_out_hw.second;
        stem.stride_h = stem_strides.first, stem.stride_w = stem_strides.second;
        stem.pad_top = stem_pads.first, stem.pad_left = stem_pads.second;
        require_shape(stem_kernel, {stem.kernel_h, stem.kernel_w, stem.in_c, stem.out_c},
                      "int8 stem kernel (its input channels are src's)");
        if (!nnfast::int8_stem_conv2d_supported(stem))
          throw py::value_error(std::string(who) + ": expected a stem kernel with kh * ceil(kw "
                                "* in / 4) <= 64 and at most 1024 filters, received " +
                                shape_of(stem_kernel));
        const int64_t c = stem.out_c, oc = c * dw_kernel.shape(3);
        require_shape(dw_kernel, {dw_kernel.shape(0), dw_kernel.shape(1), c, dw_kernel.shape(3)},
                      "int8 depthwise kernel (its input channels are the stem's outputs)");
        require_project_fits(project_packed, oc, src, dst, who);
        // The depthwise step reads the stem's output grid, checked as a convolution of its own.
        nnfast::Conv2DShape s;
        s.batch = stem.batch, s.in_h = stem.out_h, s.in_w = stem.out_w, s.in_c = c;
        s.out_h = dst.shape(1), s.out_w = dst.shape(2), s.out_c = oc;
        s.kernel_h = dw_kernel.shape(0), s.kernel_w = dw_kernel.shape(1);
        s.stride_h = strides.first, s.stride_w = strides.second;
        s.pad_top = pads.first, s.pad_left = pads.second, s.groups = c;
        try {
          nnfast::conv2d_validate(s);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(std::string(who) + ": the depthwise step: " + e.what() +
                                " (stem output (" + std::to_string(s.batch) + ", " +
                                std::to_string(s.in_h) + ", " + std::to_string(s.in_w) + ", " +
                                std::to_string(c) + "), kernel " + shape_of(dw_kernel) +
                                ", dst " + shape_of(dst) + ")");
        }
        const float* x = checked<float>(src, "int8 stem input");
        const int8_t* sk = checked<int8_t>(stem_kernel, "int8 stem kernel");
        const float* sks = optional_vector(stem_kernel_scale, c, "int8 stem kernel_scale");
        const float* sb = optional_vector(stem_bias, c, "int8 stem bias");
        if (!sks) throw py::value_error(std::string(who) + ": int8 stem kernel_scale must not be None");
        const nnfast::ActivationParams sp = act_params(stem_alpha, stem_max, stem_threshold);
        const nnfast::Int8DepthwiseConv depthwise = fused_depthwise_step(
            dw_kernel, dw_kernel_scale, dw_bias, dw_scale, oc, dw_activation, dw_alpha, dw_max,
            dw_threshold, who);
        const nnfast::Int8PointwiseConv project = fused_pointwise_step(
            project_packed, project_kernel_scale, project_bias, project_activation,
            project_alpha, project_max, project_threshold, "int8 project", who);
        float* y = checked<float>(dst, "int8 stem block output", true);
        const auto act = activation_of(stem_activation, who);
        const nnfast::Int8GemmVariant v = parse_int8_variant(variant);
        py::gil_scoped_release release;
        nnfast::int8_stem_block_forward(stem, x, sk, sks, sb, act, sp, s, depthwise, project,
                                        epsilon, y, v);
      },
      py::arg("src"), py::arg("stem_kernel"), py::arg("stem_kernel_scale"),
      py::arg("stem_bias"), py::arg("stem_strides"), py::arg("stem_pads"),
      py::arg("stem_out_hw"), py::arg("stem_activation"), py::arg("stem_alpha"),
      py::arg("stem_max"), py::arg("stem_threshold"), py::arg("dw_kernel"),
      py::arg("dw_kernel_scale"), py::arg("dw_bias"), py::arg("dw_scale"), py::arg("strides"),
      py::arg("pads"), py::arg("dw_activation"), py::arg("dw_alpha"), py::arg("dw_max"),
      py::arg("dw_threshold"), py::arg("project_packed"), py::arg("project_kernel_scale"),
      py::arg("project_bias"), py::arg("project_activation"), py::arg("project_alpha"),
      py::arg("project_max"), py::arg("project_threshold"), py::arg("dst"),
      py::arg("epsilon") = 1e-7f, py::arg("variant") = "best",
      "A quantized stem (as int8_stem_conv2d_forward, output (stem_out_hw, out)) feeding only a "
      "quantized depthwise conv (strides/pads, dilation 1; its input quantized per sample, "
      "band of rows and channel) feeding only a quantized 1x1 project conv (no residual), over "
      "bands of output rows so neither the stem's nor the depthwise output is written to "
      "memory. dst (batch, out_h, out_w, project out) gives out_h/out_w.");
  m.def("int8_stem_kernel_name", &nnfast::int8_stem_kernel_name,
        "The int8 stem kernel the registry picks now (s8_stem_avx512vnni, s8_stem_avxvnni, "
        "s8_stem_ref).");
}
