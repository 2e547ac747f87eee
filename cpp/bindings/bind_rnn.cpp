#include <algorithm>
#include <string>

#include "bind_util.h"
#include "nnfast/rnn.h"

namespace py = pybind11;
using namespace nnfast::bind;

// Defined in bind_gemm.cpp: the bf16 variant a bf16_variant= string names.
nnfast::Bf16GemmVariant bf16_variant_from_name(const std::string& name);

namespace {

// precision= "float32" or "bfloat16" (mixed_bfloat16: bf16 products, fp32 gates).
void set_precision(nnfast::RnnConfig& c, const std::string& precision,
                   const std::string& bf16_variant) {
  if (precision != "float32" && precision != "bfloat16")
    throw py::value_error("rnn: precision must be 'float32' or 'bfloat16'. Received: "
                          "precision=" + precision);
  c.bfloat16 = precision == "bfloat16";
  c.bf16_variant = bf16_variant_from_name(bf16_variant);
}

// x (batch, steps, features), or with `ids` (batch, steps) an embedding table (vocab,
// features) whose rows the ids name.
nnfast::RnnConfig make_config(int cell, const py::array& x, int64_t units, int activation,
                              int recurrent_activation, bool go_backwards, bool reset_after,
                              const py::array* ids = nullptr) {
  if (cell < 0 || cell > 2) throw py::value_error("rnn: unknown cell id " + std::to_string(cell));
  nnfast::RnnConfig c;
  c.cell = static_cast<nnfast::RnnCell>(cell);
  if (ids != nullptr) {
    require_ndim(x, 2, "rnn embedding table (vocab, features)");
    require_ndim(*ids, 2, "rnn ids (batch, steps)");
    c.batch = ids->shape(0);
    c.steps = ids->shape(1);
    c.input = x.shape(1);
  } else {
    require_ndim(x, 3, "rnn x (batch, steps, features)");
    c.batch = x.shape(0);
    c.steps = x.shape(1);
    c.input = x.shape(2);
  }
  c.units = units;
  c.activation = static_cast<nnfast::Activation>(activation);
  c.recurrent_activation = static_cast<nnfast::Activation>(recurrent_activation);
  c.go_backwards = go_backwards;
  c.reset_after = reset_after;
  if (!nnfast::rnn_activation_supported(c.activation) ||
      !nnfast::rnn_activation_supported(c.recurrent_activation))
    throw py::value_error("rnn: activation and recurrent_activation must be one of tanh, "
                          "sigmoid, hard_sigmoid, relu, linear; received ids " +
                          std::to_string(activation) + " and " +
                          std::to_string(recurrent_activation));
  if (c.steps < 1)
    throw py::value_error("rnn: expected at least one time step, received " +
                          std::string(ids ? "ids" : "x") + " of shape " +
                          shape_of(ids ? *ids : x));
  return c;
}

const uint8_t* opt_mask(const py::object& o, int64_t batch, int64_t steps) {
  if (o.is_none()) return nullptr;
  py::array a = py::cast<py::array>(o);
  if (!a.dtype().is(py::dtype::of<uint8_t>()))
    throw py::type_error("rnn mask: expected a uint8 array, received dtype " +
                         std::string(py::str(a.dtype())) + " with shape " + shape_of(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error("rnn mask: expected a C-contiguous array");
  require_shape(a, {batch, steps}, "rnn mask");
  register_buffer(a, "rnn mask", false);
  return static_cast<const uint8_t*>(a.data());
}

void check_weights(const nnfast::RnnConfig& c, const py::array& kernel,
                   const py::array& recurrent_kernel) {
  const int64_t gu = nnfast::rnn_gates(c) * c.units;
  require_shape(kernel, {c.input, gu}, "rnn kernel");
  require_shape(recurrent_kernel, {c.units, gu}, "rnn recurrent_kernel");
}

std::vector<py::ssize_t> bias_shape(const nnfast::RnnConfig& c) {
  const int64_t gu = nnfast::rnn_gates(c) * c.units;
  if (c.cell == nnfast::RnnCell::gru && c.reset_after) return {2, gu};
  return {gu};
}

}  // namespace

void bind_rnn(py::module_& m) {
  py::enum_<nnfast::RnnCell>(m, "RnnCell", py::arithmetic(),
                             "Ids of the recurrent cells rnn_forward takes (nnfast::RnnCell).")
      .value("lstm", nnfast::RnnCell::lstm)
      .value("gru", nnfast::RnnCell::gru)
      .value("simple", nnfast::RnnCell::simple);
  m.def(
      "rnn_activation_supported",
      [](int activation) {
        return activation >= 0 && activation < nnfast::kActivationCount &&
               nnfast::rnn_activation_supported(static_cast<nnfast::Activation>(activation));
      },
      py::arg("activation"),
      "Whether the recurrent gate kernels implement this activation id (an Activation value).");
  m.def(
      "rnn_workspace_size",
      [](int cell, const py::array& x, int64_t units, bool reset_after, bool training) {
        BufferScope scope("rnn_workspace_size");
        nnfast::RnnConfig c = make_config(cell, x, units, 3, 2, false, reset_after);
        return nnfast::rnn_workspace_size(c, training);
      },
      py::arg("cell"), py::arg("x"), py::arg("units"), py::arg("reset_after"),
      py::arg("training"), "Floats of workspace rnn_forward / rnn_backward need for x.");

  m.def(
      "rnn_embedded_workspace_size",
      [](int cell, const py::array& table, const py::array& ids, int64_t units,
         bool reset_after, bool training) {
        BufferScope scope("rnn_embedded_workspace_size");
        nnfast::RnnConfig c = make_config(cell, table, units, 3, 2, false, reset_after, &ids);
        return nnfast::rnn_embedded_workspace_size(c, table.shape(0), training);
      },
      py::arg("cell"), py::arg("table"), py::arg("ids"), py::arg("units"),
      py::arg("reset_after"), py::arg("training"),
      "Floats of workspace rnn_forward / rnn_backward need with ids= given.");

  m.def(
      "rnn_forward",
      [](int cell, const py::array& x, const py::array& kernel, const py::array& recurrent_kernel,
         const py::object& bias, const py::object& h0, const py::object& c0,
         const py::object& mask, const py::object& recurrent_mask, const py::object& h_seq,
         const py::array& h_last, const py::object& c_last, const py::array& workspace,
         bool training, int activation, int recurrent_activation, bool go_backwards,
         bool reset_after, const py::object& ids_obj, const std::string& precision,
         const std::string& bf16_variant) {
        BufferScope scope("rnn_forward");
        const int64_t units = recurrent_kernel.ndim() == 2 ? recurrent_kernel.shape(0) : -1;
        if (units < 1)
          throw py::value_error("rnn recurrent_kernel: expected shape (units, gates*units), "
                                "received " + shape_of(recurrent_kernel));
        py::array ids;
        if (!ids_obj.is_none()) ids = py::cast<py::array>(ids_obj);
        const bool embedded = !ids_obj.is_none();
        nnfast::RnnConfig c = make_config(cell, x, units, activation, recurrent_activation,
                                          go_backwards, reset_after, embedded ? &ids : nullptr);
        set_precision(c, precision, bf16_variant);
        check_weights(c, kernel, recurrent_kernel);
        nnfast::RnnForwardArgs a;
        a.x = checked<float>(x, embedded ? "rnn embedding table" : "rnn x");
        if (embedded) {
          a.ids = checked<int64_t>(ids, "rnn ids");
          a.vocab = x.shape(0);
        }
        a.kernel = checked<float>(kernel, "rnn kernel");
        a.recurrent_kernel = checked<float>(recurrent_kernel, "rnn recurrent_kernel");
        a.bias = optional_f32(bias, bias_shape(c), "rnn bias");
        a.h0 = optional_f32(h0, {c.batch, units}, "rnn initial h");
        a.c0 = optional_f32(c0, {c.batch, units}, "rnn initial c");
        a.mask = opt_mask(mask, c.batch, c.steps);
        a.recurrent_mask = optional_f32(recurrent_mask, {c.batch, units}, "rnn recurrent mask");
        a.h_seq = const_cast<float*>(optional_f32(h_seq, {c.batch, c.steps, units}, "rnn h_seq", true));
        a.h_last = checked<float>(h_last, "rnn h_last", true);
        require_shape(h_last, {c.batch, units}, "rnn h_last");
        a.c_last = const_cast<float*>(optional_f32(c_last, {c.batch, units}, "rnn c_last", true));
        a.workspace = checked<float>(workspace, "rnn workspace", true);
        a.training = training;
        const int64_t need = embedded ? nnfast::rnn_embedded_workspace_size(c, a.vocab, training)
                                      : nnfast::rnn_workspace_size(c, training);
        if (workspace.size() < need)
          throw py::value_error("rnn workspace: need " + std::to_string(need) +
                                " floats, received " + std::to_string(workspace.size()));
        if (c.cell == nnfast::RnnCell::lstm && a.c_last == nullptr)
          throw py::value_error("rnn: LSTM needs a c_last output array");
        if (training && a.h_seq == nullptr)
          throw py::value_error("rnn: training needs an h_seq output array");
        py::gil_scoped_release release;
        nnfast::rnn_forward(c, a);
      },
      py::arg("cell"), py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"),
      py::arg("bias"), py::arg("h0"), py::arg("c0"), py::arg("mask"), py::arg("recurrent_mask"),
      py::arg("h_seq"), py::arg("h_last"), py::arg("c_last"), py::arg("workspace"),
      py::arg("training"), py::arg("activation") = 3, py::arg("recurrent_activation") = 2,
      py::arg("go_backwards") = false, py::arg("reset_after") = true,
      py::arg("ids") = py::none(), py::arg("precision") = "float32",
      py::arg("bf16_variant") = "best",
      "Runs an LSTM (cell 0), GRU (1) or SimpleRNN (2) over x (batch, steps, features), or "
      "with ids (batch, steps) int64 over rows of the embedding table x (vocab, features). "
      "precision='bfloat16' rounds every matrix product's operands to bf16 (fp32 sums, fp32 "
      "gates); bf16_variant picks its implementation ('best', 'amx', 'avx512bf16', "
      "'via_f32').");

  m.def(
      "rnn_backward",
      [](int cell, const py::array& x, const py::array& kernel, const py::array& recurrent_kernel,
         const py::object& h0, const py::object& c0, const py::object& mask,
         const py::object& recurrent_mask, const py::array& h_seq, const py::array& workspace,
         const py::object& dh_seq, const py::object& dh_last, const py::object& dc_last,
         const py::object& dx, const py::object& dkernel, const py::object& drecurrent_kernel,
         const py::object& dbias, const py::object& dh0, const py::object& dc0, int activation,
         int recurrent_activation, bool go_backwards, bool reset_after, const py::object& ids_obj,
         const py::object& distinct_ids, const py::object& d_rows,
         const py::object& d_rows_sq, const std::string& precision,
         const std::string& bf16_variant) {
        BufferScope scope("rnn_backward");
        const int64_t units = recurrent_kernel.ndim() == 2 ? recurrent_kernel.shape(0) : -1;
        if (units < 1)
          throw py::value_error("rnn recurrent_kernel: expected shape (units, gates*units), "
                                "received " + shape_of(recurrent_kernel));
        py::array ids;
        if (!ids_obj.is_none()) ids = py::cast<py::array>(ids_obj);
        const bool embedded = !ids_obj.is_none();
        nnfast::RnnConfig c = make_config(cell, x, units, activation, recurrent_activation,
                                          go_backwards, reset_after, embedded ? &ids : nullptr);
        set_precision(c, precision, bf16_variant);
        check_weights(c, kernel, recurrent_kernel);
        const int64_t B = c.batch, T = c.steps, U = units;
        nnfast::RnnBackwardArgs a;
        a.x = checked<float>(x, embedded ? "rnn embedding table" : "rnn x");
        a.kernel = checked<float>(kernel, "rnn kernel");
        a.recurrent_kernel = checked<float>(recurrent_kernel, "rnn recurrent_kernel");
        int64_t n_distinct = 0;
        if (embedded) {
          a.ids = checked<int64_t>(ids, "rnn ids");
          a.vocab = x.shape(0);
          const int64_t cap = std::min<int64_t>(a.vocab, B * T);
          if (distinct_ids.is_none() || d_rows.is_none())
            throw py::value_error("rnn backward with ids needs distinct_ids and d_rows arrays");
          py::array di = py::cast<py::array>(distinct_ids);
          a.distinct_ids = checked<int64_t>(di, "rnn distinct_ids", true);
          require_shape(di, {cap}, "rnn distinct_ids");
          a.d_rows = const_cast<float*>(optional_f32(d_rows, {cap, c.input}, "rnn d_rows", true));
          a.n_distinct = &n_distinct;
          a.d_rows_sq = const_cast<float*>(
              optional_f32(d_rows_sq, {cap, c.input}, "rnn d_rows_sq", true));
        } else if (!d_rows_sq.is_none()) {
          throw py::value_error("rnn backward: d_rows_sq needs ids (an embedding input)");
        }
        a.h0 = optional_f32(h0, {B, U}, "rnn initial h");
        a.c0 = optional_f32(c0, {B, U}, "rnn initial c");
        a.mask = opt_mask(mask, B, T);
        a.recurrent_mask = optional_f32(recurrent_mask, {B, U}, "rnn recurrent mask");
        a.h_seq = checked<float>(h_seq, "rnn h_seq");
        require_shape(h_seq, {B, T, U}, "rnn h_seq");
        a.workspace = checked<float>(workspace, "rnn workspace", true);
        if (workspace.size() < (embedded ? nnfast::rnn_embedded_workspace_size(c, a.vocab, true)
                                         : nnfast::rnn_workspace_size(c, true)))
          throw py::value_error("rnn workspace: too small for training");
        a.dh_seq = optional_f32(dh_seq, {B, T, U}, "rnn d(h_seq)");
        a.dh_last = optional_f32(dh_last, {B, U}, "rnn d(h_last)");
        a.dc_last = optional_f32(dc_last, {B, U}, "rnn d(c_last)");
        a.dx = const_cast<float*>(optional_f32(dx, {B, T, c.input}, "rnn dx", true));
        const int64_t gu = nnfast::rnn_gates(c) * U;
        a.dkernel = const_cast<float*>(optional_f32(dkernel, {c.input, gu}, "rnn dkernel", true));
        a.drecurrent_kernel =
            const_cast<float*>(optional_f32(drecurrent_kernel, {U, gu}, "rnn drecurrent_kernel", true));
        a.dbias = const_cast<float*>(optional_f32(dbias, bias_shape(c), "rnn dbias", true));
        a.dh0 = const_cast<float*>(optional_f32(dh0, {B, U}, "rnn dh0", true));
        a.dc0 = const_cast<float*>(optional_f32(dc0, {B, U}, "rnn dc0", true));
        {
          py::gil_scoped_release release;
          nnfast::rnn_backward(c, a);
        }
        return n_distinct;
      },
      py::arg("cell"), py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"),
      py::arg("h0"), py::arg("c0"), py::arg("mask"), py::arg("recurrent_mask"), py::arg("h_seq"),
      py::arg("workspace"), py::arg("dh_seq"), py::arg("dh_last"), py::arg("dc_last"),
      py::arg("dx"), py::arg("dkernel"), py::arg("drecurrent_kernel"), py::arg("dbias"),
      py::arg("dh0"), py::arg("dc0"), py::arg("activation") = 3,
      py::arg("recurrent_activation") = 2, py::arg("go_backwards") = false,
      py::arg("reset_after") = true, py::arg("ids") = py::none(),
      py::arg("distinct_ids") = py::none(), py::arg("d_rows") = py::none(),
      py::arg("d_rows_sq") = py::none(), py::arg("precision") = "float32",
      py::arg("bf16_variant") = "best",
      "Backward through time of rnn_forward(training=True); the same workspace and precision. "
      "With ids "
      "(x then the embedding table), writes the distinct ids and their rows' gradients "
      "instead of dx and returns how many there are (else 0); with d_rows_sq also each "
      "distinct row's per-token sum of squared gradients.");

  m.def("rnn_kernel_name", &nnfast::rnn_kernel_name,
        "The recurrent kernel variant the active ISA selects.");
}
