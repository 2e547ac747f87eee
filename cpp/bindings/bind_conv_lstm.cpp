// ConvLSTM gate-step bindings (the convolutions themselves are conv2d/conv3d's).
#include <stdexcept>

#include "bind_util.h"
#include "nnfast/conv_lstm.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

nnfast::Activation act_of(int id, const char* what) {
  const auto act = activation_of(id, what);
  try {
    nnfast::conv_lstm_check_activation(act, what);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  return act;
}

// (rows, width) view of a C-contiguous float32 array whose size is rows * width.
float* rows_of(const py::array& a, int64_t rows, int64_t width, const char* name,
               bool writeable) {
  float* p = checked<float>(a, name, writeable);
  if (a.size() != rows * width)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(rows) + " x " +
                          std::to_string(width) + " floats, received shape " + shape_of(a));
  return p;
}

}  // namespace

void bind_conv_lstm(py::module_& m) {
  m.def(
      "conv_lstm_gates_forward",
      [](const py::array& gates, const py::array& c, const py::array& h, int activation,
         int recurrent_activation) {
        BufferScope scope("conv_lstm_gates_forward");
        if (c.ndim() < 1 || c.shape(c.ndim() - 1) <= 0)
          throw py::value_error("conv_lstm_gates_forward: c must end with the units axis, "
                                "received shape " + shape_of(c));
        const int64_t units = c.shape(c.ndim() - 1);
        const int64_t rows = c.size() / units;
        float* g = rows_of(gates, rows, 4 * units, "conv_lstm gates", true);
        float* cp = rows_of(c, rows, units, "conv_lstm c", true);
        float* hp = rows_of(h, rows, units, "conv_lstm h", true);
        const auto act = act_of(activation, "activation");
        const auto ract = act_of(recurrent_activation, "recurrent_activation");
        py::gil_scoped_release release;
        nnfast::conv_lstm_gates_forward(rows, units, act, ract, g, cp, hp);
      },
      py::arg("gates"), py::arg("c"), py::arg("h"), py::arg("activation"),
      py::arg("recurrent_activation"),
      "One ConvLSTM step's gates: gates (..., 4u) pre-activations -> activations in place; "
      "c (..., u) c_{t-1} -> c_t in place; h (..., u) <- h_t.");
  m.def(
      "conv_lstm_gates_backward",
      [](const py::array& gates, const py::array& c_t, const py::object& c_prev,
         const py::object& dh_out, const py::array& dh, const py::array& dc,
         const py::array& dgates, int activation, int recurrent_activation) {
        BufferScope scope("conv_lstm_gates_backward");
        if (c_t.ndim() < 1 || c_t.shape(c_t.ndim() - 1) <= 0)
          throw py::value_error("conv_lstm_gates_backward: c_t must end with the units axis, "
                                "received shape " + shape_of(c_t));
        const int64_t units = c_t.shape(c_t.ndim() - 1);
        const int64_t rows = c_t.size() / units;
        const float* g = rows_of(gates, rows, 4 * units, "conv_lstm gates", false);
        const float* ct = rows_of(c_t, rows, units, "conv_lstm c_t", false);
        const float* cp = c_prev.is_none() ? nullptr
                                           : rows_of(py::cast<py::array>(c_prev), rows, units,
                                                     "conv_lstm c_prev", false);
        const float* dho = dh_out.is_none() ? nullptr
                                            : rows_of(py::cast<py::array>(dh_out), rows, units,
                                                      "conv_lstm dh_out", false);
        float* dhp = rows_of(dh, rows, units, "conv_lstm dh", true);
        float* dcp = rows_of(dc, rows, units, "conv_lstm dc", true);
        float* dg = rows_of(dgates, rows, 4 * units, "conv_lstm dgates", true);
        const auto act = act_of(activation, "activation");
        const auto ract = act_of(recurrent_activation, "recurrent_activation");
        py::gil_scoped_release release;
        nnfast::conv_lstm_gates_backward(rows, units, act, ract, g, ct, cp, dho, dhp, dcp, dg);
      },
      py::arg("gates"), py::arg("c_t"), py::arg("c_prev"), py::arg("dh_out"), py::arg("dh"),
      py::arg("dc"), py::arg("dgates"), py::arg("activation"),
      py::arg("recurrent_activation"),
      "Backward of one ConvLSTM step: dh (in dL/dh_t from the next step, out 0), dc (in "
      "dL/dc_t, out dL/dc_{t-1}), dgates <- d(pre-activations); dh_out/c_prev may be None.");
  m.def("conv_lstm_gates_kernel_name", &nnfast::conv_lstm_gates_kernel_name,
        "The LSTM gate kernel set the ConvLSTM steps run on (active ISA).");
}
