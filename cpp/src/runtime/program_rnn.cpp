// The recurrent ops of a lowered program: an LSTM/GRU/SimpleRNN run straight from its
// embedding table (the training plan's Embedding -> RNN step, ops.lstm(..., input_ids=)),
// the embedding table's gradient and the optimizers' per-token row rules. Each op calls the
// kernel the interpreted path calls (ops/rnn.py _Recurrent, ops/embedding.py
// dense_rows_gradient, optimizers' token-row updates) with the same arguments.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "nnfast/embedding.h"
#include "nnfast/optimizer.h"
#include "nnfast/program.h"
#include "nnfast/rnn.h"

namespace nnfast {
namespace {

std::string recurrence_name(size_t index) {
  return "program recurrence " + std::to_string(index);
}

RnnConfig config_at(const ProgramRecurrence& r, int64_t rows) {
  RnnConfig c = r.config;
  c.batch = rows;
  return c;
}

int64_t bias_size(const RnnConfig& c) {
  const int64_t gu = rnn_gates(c) * c.units;
  return c.cell == RnnCell::gru && c.reset_after ? 2 * gu : gu;
}

// Rows of distinct ids a step of `rows` samples may have.
int64_t distinct_cap(const ProgramRecurrence& r, int64_t rows) {
  return std::min(r.vocab, rows * r.config.steps);
}

}  // namespace

void Program::validate_recurrences() {
  distinct_counts_.assign(recurrences_.size(), 0);
  gradient_rows_.assign(recurrences_.size(), {});
  const auto n_buffers = static_cast<int32_t>(buffers_.size());
  for (size_t i = 0; i < recurrences_.size(); ++i) {
    const ProgramRecurrence& r = recurrences_[i];
    const RnnConfig& c = r.config;
    const std::string name = recurrence_name(i);
    const int cell = static_cast<int>(c.cell);
    if (cell < 0 || cell > 2)
      throw std::invalid_argument(name + ": unknown cell " + std::to_string(cell));
    if (c.steps < 1 || c.input < 1 || c.units < 1 || r.vocab < 1)
      throw std::invalid_argument(name + ": expected steps, input, units and vocab >= 1, "
                                  "received " + std::to_string(c.steps) + ", " +
                                  std::to_string(c.input) + ", " + std::to_string(c.units) +
                                  ", " + std::to_string(r.vocab));
    const int act = static_cast<int>(c.activation), ract = static_cast<int>(c.recurrent_activation);
    if (act < 0 || act >= kActivationCount || ract < 0 || ract >= kActivationCount ||
        !rnn_activation_supported(c.activation) || !rnn_activation_supported(c.recurrent_activation))
      throw std::invalid_argument(name + ": unsupported activation ids " + std::to_string(act) +
                                  " and " + std::to_string(ract));
    const int32_t ids[] = {r.ids, r.table, r.kernel, r.recurrent_kernel, r.bias, r.h_seq,
                           r.h_last, r.c_last, r.workspace, r.dh_last, r.dkernel,
                           r.drecurrent_kernel, r.dbias, r.distinct_ids, r.d_rows, r.d_rows_sq};
    for (int32_t id : ids)
      if (id < -1 || id >= n_buffers)
        throw std::invalid_argument(name + ": buffer id " + std::to_string(id) + " out of range");
    auto kind_of = [&](int32_t id) { return buffers_[static_cast<size_t>(id)].kind; };
    if (r.ids < 0 || kind_of(r.ids) != ProgramBufferKind::step_ids || ids_per_row_ != c.steps)
      throw std::invalid_argument(name + ": its ids must be the step's token ids, " +
                                  std::to_string(c.steps) + " per row (the program has " +
                                  std::to_string(ids_per_row_) + ")");
    for (int32_t id : {r.table, r.kernel, r.recurrent_kernel, r.h_seq, r.h_last, r.workspace})
      if (id < 0) throw std::invalid_argument(name + ": a required buffer is missing");
    if (c.cell == RnnCell::lstm && r.c_last < 0)
      throw std::invalid_argument(name + ": an LSTM needs a c_last buffer");
    for (int32_t id : {r.h_seq, r.h_last, r.c_last, r.workspace, r.distinct_ids, r.d_rows,
                       r.d_rows_sq})
      if (id >= 0 && kind_of(id) != ProgramBufferKind::arena)
        throw std::invalid_argument(name + ": its outputs and workspace must be arena buffers");
    for (int32_t id : {r.table, r.kernel, r.recurrent_kernel, r.bias, r.dh_last, r.dkernel,
                       r.drecurrent_kernel, r.dbias})
      if (id >= 0 && kind_of(id) != ProgramBufferKind::arena &&
          kind_of(id) != ProgramBufferKind::external)
        throw std::invalid_argument(name + ": its weights and gradients must be arena or "
                                    "external float buffers");
  }
}

void Program::check_recurrence_step(size_t index, const ProgramInstruction& ins,
                                    const ProgramRun& run, int64_t rows) const {
  const ProgramRecurrence& r = recurrences_[static_cast<size_t>(ins.ints[0])];
  const RnnConfig c = config_at(r, rows);
  const int64_t gu = rnn_gates(c) * c.units, cap = distinct_cap(r, rows);
  const std::string at = "program instruction " + std::to_string(index) + " (op " +
                         std::to_string(static_cast<int>(ins.op)) + ")";
  auto need = [&](int32_t id, int64_t elements, const char* what, bool required = true) {
    if (id < 0) {
      if (required) throw std::invalid_argument(at + ": missing " + std::string(what));
      return;
    }
    const int64_t have = bind(id, run, 0, 0, rows).size;
    if (have < elements)
      throw std::invalid_argument(at + ": " + what + " has " + std::to_string(have) +
                                  " elements, the call reads or writes " +
                                  std::to_string(elements));
  };
  const int64_t table = r.vocab * c.input;
  switch (ins.op) {
    case ProgramOp::recurrence_forward:
    case ProgramOp::recurrence_backward:
      need(r.ids, rows * c.steps, "token ids");
      need(r.table, table, "embedding table");
      need(r.kernel, c.input * gu, "kernel");
      need(r.recurrent_kernel, c.units * gu, "recurrent kernel");
      need(r.h_seq, rows * c.steps * c.units, "output sequence");
      need(r.workspace, rnn_embedded_workspace_size(c, r.vocab, true), "workspace");
      if (ins.op == ProgramOp::recurrence_forward) {
        need(r.bias, bias_size(c), "bias", false);
        need(r.h_last, rows * c.units, "last output");
        need(r.c_last, rows * c.units, "last cell state", c.cell == RnnCell::lstm);
      } else {
        need(r.dh_last, rows * c.units, "last output gradient");
        need(r.dkernel, c.input * gu, "kernel gradient");
        need(r.drecurrent_kernel, c.units * gu, "recurrent kernel gradient");
        need(r.dbias, bias_size(c), "bias gradient", false);
        need(r.distinct_ids, 2 * cap, "distinct ids");  // int64 in float pairs
        need(r.d_rows, cap * c.input, "row gradients");
        need(r.d_rows_sq, cap * c.input, "row squares", false);
      }
      break;
    case ProgramOp::embedding_rows_gradient:
    case ProgramOp::adam_update_token_rows:
    case ProgramOp::embedding_shift_square_rows:
      need(r.distinct_ids, 2 * cap, "distinct ids");
      need(r.d_rows, cap * c.input, "row gradients");
      need(r.d_rows_sq, cap * c.input, "row squares",
           ins.op != ProgramOp::embedding_rows_gradient);
      need(ins.buffers[0], table, ins.op == ProgramOp::embedding_rows_gradient
                                      ? "table gradient" : "table or slot");
      if (ins.op == ProgramOp::adam_update_token_rows) {
        need(ins.buffers[1], table, "momentum");
        need(ins.buffers[2], table, "velocity");
      }
      break;
    default:
      break;
  }
}

void Program::check_ids(const ProgramRun& run) const {
  if (recurrences_.empty()) return;
  const size_t steps = run.rows.size();
  if (run.id_inputs.size() != steps)
    throw std::invalid_argument("program: " + std::to_string(steps) + " steps but " +
                                std::to_string(run.id_inputs.size()) + " token id batches");
  int64_t vocab = recurrences_[0].vocab;
  for (const ProgramRecurrence& r : recurrences_) vocab = std::min(vocab, r.vocab);
  for (size_t s = 0; s < steps; ++s) {
    const int64_t* ids = run.id_inputs[s];
    const int64_t n = run.rows[s] * ids_per_row_;
    if (ids == nullptr) throw std::invalid_argument("program: step " + std::to_string(s) +
                                                    " has no token ids");
    for (int64_t j = 0; j < n; ++j)
      if (ids[j] < 0 || ids[j] >= vocab)
        throw std::invalid_argument("program: token id " + std::to_string(ids[j]) +
                                    " outside the valid range [0, " + std::to_string(vocab) +
                                    ")");
  }
}

void Program::execute_recurrence(const ProgramInstruction& ins, const ProgramRun& run,
                                 int64_t step, int64_t row0, int64_t rows) {
  const auto index = static_cast<size_t>(ins.ints[0]);
  const ProgramRecurrence& r = recurrences_[index];
  const RnnConfig c = config_at(r, rows);
  auto f = [&](int32_t id) { return bind(id, run, step, row0, rows).f; };
  auto distinct = [&]() { return reinterpret_cast<int64_t*>(f(r.distinct_ids)); };
  switch (ins.op) {
    case ProgramOp::recurrence_forward: {
      RnnForwardArgs a;
      a.x = f(r.table);
      a.kernel = f(r.kernel);
      a.recurrent_kernel = f(r.recurrent_kernel);
      a.bias = f(r.bias);
      a.h_seq = f(r.h_seq);
      a.h_last = f(r.h_last);
      a.c_last = f(r.c_last);
      a.workspace = f(r.workspace);
      a.training = true;
      a.ids = bind(r.ids, run, step, row0, rows).i;
      a.vocab = r.vocab;
      rnn_forward(c, a);
      break;
    }
    case ProgramOp::recurrence_backward: {
      RnnBackwardArgs a;
      a.x = f(r.table);
      a.kernel = f(r.kernel);
      a.recurrent_kernel = f(r.recurrent_kernel);
      a.h_seq = f(r.h_seq);
      a.workspace = f(r.workspace);
      a.dh_last = f(r.dh_last);
      a.dkernel = f(r.dkernel);
      a.drecurrent_kernel = f(r.drecurrent_kernel);
      a.dbias = f(r.dbias);
      a.ids = bind(r.ids, run, step, row0, rows).i;
      a.vocab = r.vocab;
      a.distinct_ids = distinct();
      a.d_rows = f(r.d_rows);
      a.d_rows_sq = f(r.d_rows_sq);
      a.n_distinct = &distinct_counts_[index];
      rnn_backward(c, a);
      break;
    }
    case ProgramOp::embedding_rows_gradient: {
      // As ops/embedding.py's reused gradient buffer: the rows the last step wrote are
      // cleared by the scatter kernel itself, every other row is still zero.
      std::vector<int64_t>& written = gradient_rows_[index];
      const int64_t n = distinct_counts_[index];
      embedding_backward(f(r.d_rows), distinct(), n, c.input, f(ins.buffers[0]), r.vocab,
                         written.data(), static_cast<int64_t>(written.size()));
      written.assign(distinct(), distinct() + n);
      break;
    }
    case ProgramOp::adam_update_token_rows:
      adam_update_token_rows(f(ins.buffers[0]), f(ins.buffers[1]), f(ins.buffers[2]), r.vocab,
                             c.input, distinct(), distinct_counts_[index], f(r.d_rows),
                             f(r.d_rows_sq), run.learning_rates[step], ins.floats[0],
                             ins.floats[1], ins.floats[2], run.first_step + step, 0.0f);
      break;
    case ProgramOp::embedding_shift_square_rows:
      embedding_shift_square_rows(f(ins.buffers[0]), r.vocab, c.input, distinct(),
                                  distinct_counts_[index], f(r.d_rows), f(r.d_rows_sq),
                                  ins.floats[0]);
      break;
    default:
      break;
  }
}

}  // namespace nnfast
