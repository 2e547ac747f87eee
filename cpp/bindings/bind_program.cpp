// _core.Program: a lowered training program (see nnfast/program.h), built once from the
// description nnfast.models.lowered plans, then run for many steps per call without the GIL.
#include <algorithm>
#include <memory>

#include "bind_util.h"
#include "nnfast/program.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

// One instruction row: op, 6 buffer ids, 4 integers, then (fixed, per_row) for m, n, k.
constexpr py::ssize_t kInstructionInts = 17;
constexpr py::ssize_t kInstructionFloats = 4;
constexpr py::ssize_t kBufferInts = 4;  // kind, offset/index, fixed, per_row

std::shared_ptr<nnfast::Program> make_program(const py::array& buffers,
                                              const py::array& instructions,
                                              const py::array& floats, int64_t arena_size,
                                              int64_t max_rows, int64_t input_per_row,
                                              int64_t target_per_row, int64_t label_classes,
                                              const py::object& geometries,
                                              const py::object& recurrences,
                                              int64_t ids_per_row) {
  BufferScope scope("Program");
  require_ndim(buffers, 2, "Program buffers");
  require_ndim(instructions, 2, "Program instructions");
  if (buffers.shape(1) != kBufferInts)
    throw py::value_error("Program buffers: expected shape (n, 4), received " + shape_of(buffers));
  require_shape(instructions, {instructions.shape(0), kInstructionInts}, "Program instructions");
  require_shape(floats, {instructions.shape(0), kInstructionFloats}, "Program floats");
  const int64_t* pb = checked<int64_t>(buffers, "Program buffers");
  const int64_t* pi = checked<int64_t>(instructions, "Program instructions");
  const float* pf = checked<float>(floats, "Program floats");
  std::vector<nnfast::ProgramBuffer> bufs(static_cast<size_t>(buffers.shape(0)));
  for (size_t i = 0; i < bufs.size(); ++i) {
    const int64_t* row = pb + i * kBufferInts;
    if (row[0] < 0 || row[0] > static_cast<int64_t>(nnfast::ProgramBufferKind::step_ids))
      throw py::value_error("Program buffers: row " + std::to_string(i) + " has unknown kind " +
                            std::to_string(row[0]));
    bufs[i] = {static_cast<nnfast::ProgramBufferKind>(row[0]), row[1], row[2], row[3]};
  }
  std::vector<nnfast::ProgramInstruction> ins(static_cast<size_t>(instructions.shape(0)));
  for (size_t i = 0; i < ins.size(); ++i) {
    const int64_t* row = pi + i * kInstructionInts;
    if (!nnfast::program_op_is_known(row[0]))
      throw py::value_error("Program instructions: row " + std::to_string(i) +
                            " has unknown op " + std::to_string(row[0]));
    ins[i].op = static_cast<nnfast::ProgramOp>(row[0]);
    for (int k = 0; k < 6; ++k) {
      if (row[1 + k] < -1 || row[1 + k] >= static_cast<int64_t>(bufs.size()))
        throw py::value_error("Program instructions: row " + std::to_string(i) +
                              " names buffer " + std::to_string(row[1 + k]) + " of " +
                              std::to_string(bufs.size()));
      ins[i].buffers[k] = static_cast<int32_t>(row[1 + k]);
    }
    for (int k = 0; k < 4; ++k) ins[i].ints[k] = row[7 + k];
    for (int k = 0; k < 3; ++k) {
      ins[i].dim_fixed[k] = row[11 + 2 * k];
      ins[i].dim_per_row[k] = row[12 + 2 * k];
    }
    for (int k = 0; k < 4; ++k) ins[i].floats[k] = pf[i * kInstructionFloats + k];
  }
  std::vector<nnfast::ProgramGeometry> geoms;
  if (!geometries.is_none()) {
    py::array g = py::cast<py::array>(geometries);
    require_ndim(g, 2, "Program geometries");
    require_shape(g, {g.shape(0), nnfast::kProgramGeometryInts}, "Program geometries");
    const int64_t* pg = checked<int64_t>(g, "Program geometries");
    for (py::ssize_t i = 0; i < g.shape(0); ++i) {
      const int64_t* r = pg + i * nnfast::kProgramGeometryInts;
      nnfast::ProgramGeometry geo;
      nnfast::Conv2DShape& c = geo.conv;
      c.in_h = r[0], c.in_w = r[1], c.in_c = r[2], c.out_h = r[3], c.out_w = r[4];
      c.out_c = r[5], c.kernel_h = r[6], c.kernel_w = r[7], c.stride_h = r[8];
      c.stride_w = r[9], c.dilation_h = r[10], c.dilation_w = r[11], c.pad_top = r[12];
      c.pad_left = r[13], c.groups = r[14];
      nnfast::Pool2DShape& p = geo.pool;
      p.in_h = r[15], p.in_w = r[16], p.channels = r[17], p.out_h = r[18], p.out_w = r[19];
      p.pool_h = r[20], p.pool_w = r[21], p.stride_h = r[22], p.stride_w = r[23];
      p.pad_top = r[24], p.pad_left = r[25];
      geoms.push_back(geo);
    }
  }
  std::vector<nnfast::ProgramRecurrence> recs;
  if (!recurrences.is_none()) {
    py::array g = py::cast<py::array>(recurrences);
    require_ndim(g, 2, "Program recurrences");
    require_shape(g, {g.shape(0), nnfast::kProgramRecurrenceInts}, "Program recurrences");
    const int64_t* pr = checked<int64_t>(g, "Program recurrences");
    for (py::ssize_t i = 0; i < g.shape(0); ++i) {
      const int64_t* r = pr + i * nnfast::kProgramRecurrenceInts;
      nnfast::ProgramRecurrence rec;
      nnfast::RnnConfig& c = rec.config;
      if (r[0] < 0 || r[0] > 2 || r[4] < 0 || r[4] >= nnfast::kActivationCount || r[5] < 0 ||
          r[5] >= nnfast::kActivationCount)
        throw py::value_error("Program recurrences: row " + std::to_string(i) +
                              " has an unknown cell or activation id");
      c.cell = static_cast<nnfast::RnnCell>(r[0]);
      c.steps = r[1], c.input = r[2], c.units = r[3];
      c.activation = static_cast<nnfast::Activation>(r[4]);
      c.recurrent_activation = static_cast<nnfast::Activation>(r[5]);
      c.go_backwards = r[6] != 0, c.reset_after = r[7] != 0;
      rec.vocab = r[8];
      int32_t* ids[] = {&rec.ids, &rec.table, &rec.kernel, &rec.recurrent_kernel, &rec.bias,
                        &rec.h_seq, &rec.h_last, &rec.c_last, &rec.workspace, &rec.dh_last,
                        &rec.dkernel, &rec.drecurrent_kernel, &rec.dbias, &rec.distinct_ids,
                        &rec.d_rows, &rec.d_rows_sq};
      for (int k = 0; k < 16; ++k) {
        if (r[9 + k] < -1 || r[9 + k] >= static_cast<int64_t>(bufs.size()))
          throw py::value_error("Program recurrences: row " + std::to_string(i) +
                                " names buffer " + std::to_string(r[9 + k]) + " of " +
                                std::to_string(bufs.size()));
        *ids[k] = static_cast<int32_t>(r[9 + k]);
      }
      recs.push_back(rec);
    }
  }
  try {
    return std::make_shared<nnfast::Program>(std::move(bufs), std::move(ins), arena_size,
                                             max_rows, input_per_row, target_per_row,
                                             label_classes, std::move(geoms), std::move(recs),
                                             ids_per_row);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

int64_t run_program(nnfast::Program& program, const py::list& inputs, const py::object& targets,
                 const py::object& labels, const py::list& externals,
                 const py::array& learning_rates, int64_t first_step, const py::array& counters,
                 const py::array& losses, const py::array& counts, const py::object& source) {
  BufferScope scope("Program.run");
  nnfast::ProgramRun run;
  const auto steps = static_cast<py::ssize_t>(py::len(inputs));
  int64_t total_rows = 0;
  if (!source.is_none()) {  // inputs are row indices into source
    if (program.ids_per_row() > 0)
      throw py::value_error("Program.run: a program reading token ids cannot gather from a "
                            "source");
    py::array src = py::cast<py::array>(source);
    run.gather_source = checked<float>(src, "Program source");
    const int64_t size = static_cast<int64_t>(src.size());
    if (size == 0 || size % program.input_per_row() != 0)
      throw py::value_error("Program.run: source of shape " + shape_of(src) +
                            " is not whole rows of " + std::to_string(program.input_per_row()) +
                            " values");
    run.gather_rows = size / program.input_per_row();
  }
  for (py::ssize_t s = 0; s < steps; ++s) {
    if (run.gather_source) {
      py::array idx = py::cast<py::array>(inputs[static_cast<size_t>(s)]);
      require_ndim(idx, 1, "Program row indices");
      run.gather_index.push_back(checked<int64_t>(idx, "Program row indices"));
      run.inputs.push_back(nullptr);
      run.rows.push_back(static_cast<int64_t>(idx.size()));
      total_rows += run.rows.back();
      continue;
    }
    py::array x = py::cast<py::array>(inputs[static_cast<size_t>(s)]);
    if (program.ids_per_row() > 0) {  // token ids (batch, steps)
      run.id_inputs.push_back(checked<int64_t>(x, "Program token ids"));
      run.inputs.push_back(nullptr);
      const int64_t size = static_cast<int64_t>(x.size());
      if (size == 0 || size % program.ids_per_row() != 0)
        throw py::value_error("Program.run: token id batch " + std::to_string(s) + " of shape " +
                              shape_of(x) + " is not whole rows of " +
                              std::to_string(program.ids_per_row()) + " ids");
      run.rows.push_back(size / program.ids_per_row());
      total_rows += run.rows.back();
      continue;
    }
    run.inputs.push_back(checked<float>(x, "Program input"));
    const int64_t size = static_cast<int64_t>(x.size());
    if (size == 0 || size % program.input_per_row() != 0)
      throw py::value_error("Program.run: input batch " + std::to_string(s) + " of shape " +
                            shape_of(x) + " is not whole rows of " +
                            std::to_string(program.input_per_row()) + " values");
    run.rows.push_back(size / program.input_per_row());
    total_rows += run.rows.back();
  }
  if (!targets.is_none()) {
    py::array t = py::cast<py::array>(targets);
    run.targets = checked<float>(t, "Program targets");
    if (static_cast<int64_t>(t.size()) != total_rows * program.target_per_row())
      throw py::value_error("Program.run: expected " +
                            std::to_string(total_rows * program.target_per_row()) +
                            " target values for " + std::to_string(total_rows) +
                            " rows, received shape " + shape_of(t));
  }
  if (!labels.is_none()) {
    py::array l = py::cast<py::array>(labels);
    run.labels = checked<int64_t>(l, "Program labels");
    if (static_cast<int64_t>(l.size()) != total_rows)
      throw py::value_error("Program.run: expected " + std::to_string(total_rows) +
                            " labels, received shape " + shape_of(l));
  }
  for (py::handle h : externals) {
    py::array a = py::cast<py::array>(h);
    run.externals.push_back(checked<float>(a, "Program external", true));
    run.external_sizes.push_back(static_cast<int64_t>(a.size()));
  }
  require_shape(learning_rates, {steps}, "Program learning_rates");
  run.learning_rates = checked<float>(learning_rates, "Program learning_rates");
  if (first_step < 1)
    throw py::value_error("Program.run: first_step must be >= 1, received " +
                          std::to_string(first_step));
  run.first_step = first_step;
  require_ndim(counters, 1, "Program counters");
  run.counters = checked<int64_t>(counters, "Program counters", true);
  run.n_counters = static_cast<int64_t>(counters.size());
  require_ndim(losses, 2, "Program losses");
  require_ndim(counts, 2, "Program counts");
  if (losses.shape(0) != steps || counts.shape(0) != steps)
    throw py::value_error("Program.run: losses and counts need one row per step (" +
                          std::to_string(steps) + "), received " + shape_of(losses) + " and " +
                          shape_of(counts));
  run.losses = checked<float>(losses, "Program losses", true);
  run.loss_width = losses.shape(1);
  run.counts = checked<int64_t>(counts, "Program counts", true);
  run.count_width = counts.shape(1);
  py::gil_scoped_release release;
  return program.run(run);
}

}  // namespace

void bind_program(py::module_& m) {
  py::class_<nnfast::Program, std::shared_ptr<nnfast::Program>>(
      m, "Program",
      "A lowered training program: kernel calls over a buffer arena planned once, run for "
      "many steps per call with the GIL released. Built by nnfast.models.lowered.")
      .def(py::init(&make_program), py::arg("buffers"), py::arg("instructions"),
           py::arg("floats"), py::arg("arena_size"), py::arg("max_rows"),
           py::arg("input_per_row"), py::arg("target_per_row"), py::arg("label_classes"),
           py::arg("geometries") = py::none(), py::arg("recurrences") = py::none(),
           py::arg("ids_per_row") = 0)
      .def("run", &run_program, py::arg("inputs"), py::arg("targets"), py::arg("labels"),
           py::arg("externals"), py::arg("learning_rates"), py::arg("first_step"),
           py::arg("counters"), py::arg("losses"), py::arg("counts"),
           py::arg("source") = py::none(),
           "Runs one step per input batch; weights, slots and counters change in place. Returns "
           "the number of steps run (fewer when a step would take the sparse Dense product). "
           "With source (float32 rows), inputs are int64 row indices into it: the program "
           "gathers each batch itself.")
      .def("set_timing", &nnfast::Program::set_timing, py::arg("on"),
           "Time each kernel call (and reset the total).")
      .def_property_readonly("kernel_seconds", &nnfast::Program::kernel_seconds)
      .def_property_readonly(
          "instruction_seconds",
          [](const nnfast::Program& p) {
            const std::vector<double>& t = p.instruction_seconds();
            py::array_t<double> out(static_cast<py::ssize_t>(t.size()));
            std::copy(t.begin(), t.end(), out.mutable_data());
            return out;
          },
          "Seconds in each instruction's kernel calls since set_timing (one per instruction).")
      .def_property_readonly("arena_bytes", &nnfast::Program::arena_bytes)
      .def_property_readonly("instruction_count", &nnfast::Program::instruction_count)
      .def_property_readonly("max_rows", &nnfast::Program::max_rows);
}
