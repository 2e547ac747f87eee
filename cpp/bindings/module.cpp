// nnfast._core: the compiled kernels. Users never import this; nnfast.ops and
// nnfast.backend do. One bind_<area>.cpp per kernel family.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_runtime(py::module_& m);
void bind_gemm(py::module_& m);
void bind_gemm_small(py::module_& m);
void bind_activation(py::module_& m);
void bind_softmax(py::module_& m);
void bind_loss(py::module_& m);
void bind_dropout(py::module_& m);
void bind_optimizer(py::module_& m);
void bind_rnn(py::module_& m);
void bind_embedding(py::module_& m);
void bind_conv(py::module_& m);
void bind_conv_bf16(py::module_& m);
void bind_conv3d(py::module_& m);
void bind_conv_lstm(py::module_& m);
void bind_pool(py::module_& m);
void bind_resize(py::module_& m);
void bind_norm(py::module_& m);
void bind_memory(py::module_& m);
void bind_gather(py::module_& m);
void bind_topk(py::module_& m);
void bind_sparse(py::module_& m);
void bind_cuda(py::module_& m);
void bind_quantized(py::module_& m);
void bind_program(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "nnfast compiled kernels (internal; use nnfast.ops)";
  bind_runtime(m);
  bind_gemm(m);
  bind_gemm_small(m);
  bind_activation(m);
  bind_softmax(m);
  bind_loss(m);
  bind_dropout(m);
  bind_optimizer(m);
  bind_rnn(m);
  bind_embedding(m);
  bind_conv(m);
  bind_conv_bf16(m);
  bind_conv3d(m);
  bind_conv_lstm(m);
  bind_pool(m);
  bind_resize(m);
  bind_norm(m);
  bind_memory(m);
  bind_gather(m);
  bind_topk(m);
  bind_sparse(m);
  bind_quantized(m);
  bind_program(m);
  bind_cuda(m);  // _core.cuda exists in every build; compiled says whether it is real
}
