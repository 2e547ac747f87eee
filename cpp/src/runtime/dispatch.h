// The kernel registry: one dispatch mechanism for every kernel family.
//
// Each family (gemm, norm, conv2d_forward, ...) declares one ordered list of implementations,
// fastest first and the portable reference last (oneDNN's cpu_<primitive>_list.cpp idea):
//
//   const dispatch::Registry<kernels::NormKernels> kNorm{"norm", {
//       {Isa::avx512, "f32_norm_avx512", &kernels::f32_norm_avx512},
//       {Isa::avx2, "f32_norm_avx2", &kernels::f32_norm_avx2},
//       {Isa::ref, "f32_norm_ref", &kernels::f32_norm_ref}}};
//   const kernels::NormKernels& k = *kNorm.select().fns;
//
// select() returns the first implementation that may run: its ISA is not above active_isa()
// (the CPU's best capped by NNFAST_MAX_ISA), the CPU has any extra feature it needs (AMX,
// AVX512_BF16, ...), and its accepts() predicate takes the problem's shape. Under
// NNFAST_VERBOSE=1 a change of choice prints which implementation runs and why each better one
// was skipped; selected_kernels() reports each family's latest choice (tests assert on it).
#pragma once
#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nnfast/runtime.h"

namespace nnfast::dispatch {

// The problem type of families whose choice depends on the ISA alone.
struct AnyShape {};

template <typename Fns, typename Problem = AnyShape>
struct Impl {
  Isa isa;                // the instruction set the functions are compiled for
  const char* name;       // as logged and reported by selected_kernels()
  const Fns* fns;         // the functions (a kernel table, or a driver route)
  // Shape predicate; null accepts every problem. `rule` says in words what it requires.
  bool (*accepts)(const Problem&) = nullptr;
  const char* rule = nullptr;
  // An extra CPU feature beyond `isa` (AMX tiles, AVX512_BF16); null when `isa` is enough.
  bool (*cpu_has)() = nullptr;
  const char* feature = nullptr;
};

// One family's public face: its name, implementations and latest choice, type-erased so
// selected_kernels() can list every family.
class FamilyBase {
 public:
  explicit FamilyBase(const char* family);
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  const char* family() const { return family_; }
  // The latest implementation chosen (null before the family first ran).
  const char* last() const { return last_.load(std::memory_order_relaxed); }
  virtual std::vector<std::pair<std::string, Isa>> implementations() const = 0;

 protected:
  ~FamilyBase() = default;
  // Records a new choice; under NNFAST_VERBOSE prints it with why better ones were skipped.
  void changed(const char* chosen, const std::string& why_not) const;
  const char* family_;
  mutable std::atomic<const char*> last_{nullptr};
};

// Why `isa` cannot run now, or null when it can.
const char* isa_block_reason(Isa isa);

template <typename Fns, typename Problem = AnyShape>
class Registry final : public FamilyBase {
 public:
  using Entry = Impl<Fns, Problem>;

  Registry(const char* family, std::initializer_list<Entry> impls)
      : FamilyBase(family), impls_(impls) {
    // The reference comes last and takes every problem, so select() always finds one.
    if (impls_.empty() || impls_.back().isa != Isa::ref || impls_.back().accepts ||
        impls_.back().cpu_has)
      throw std::logic_error(std::string("kernel registry '") + family +
                             "': the last implementation must be an unconditional reference");
  }

  const Entry& select(const Problem& p = Problem{}) const {
    const Isa cap = active_isa();
    for (const Entry& e : impls_) {
      if (static_cast<int>(e.isa) > static_cast<int>(cap)) continue;
      if (e.cpu_has && !e.cpu_has()) continue;
      if (e.accepts && !e.accepts(p)) continue;
      if (last_.load(std::memory_order_relaxed) != e.name) changed(e.name, skipped(e, p));
      return e;
    }
    return impls_.back();  // unreachable: the reference accepts everything
  }

  // The implementation select() would pick, without recording it.
  const Entry& peek(const Problem& p = Problem{}) const {
    const Isa cap = active_isa();
    for (const Entry& e : impls_)
      if (static_cast<int>(e.isa) <= static_cast<int>(cap) && (!e.cpu_has || e.cpu_has()) &&
          (!e.accepts || e.accepts(p)))
        return e;
    return impls_.back();
  }

  std::vector<std::pair<std::string, Isa>> implementations() const override {
    std::vector<std::pair<std::string, Isa>> out;
    for (const Entry& e : impls_) out.emplace_back(e.name, e.isa);
    return out;
  }

 private:
  // The reasons the implementations before `chosen` were passed over (only built when the
  // choice changes, so the hot path never formats strings).
  std::string skipped(const Entry& chosen, const Problem& p) const {
    std::string why;
    for (const Entry& e : impls_) {
      if (&e == &chosen) break;
      std::string reason;
      if (const char* r = isa_block_reason(e.isa)) reason = r;
      else if (e.cpu_has && !e.cpu_has())
        reason = std::string("CPU lacks ") + (e.feature ? e.feature : "a required feature");
      else if (e.accepts && !e.accepts(p))
        reason = std::string("shape not accepted (needs ") + (e.rule ? e.rule : "?") + ")";
      if (!why.empty()) why += "; ";
      why += std::string(e.name) + ": " + reason;
    }
    return why;
  }

  std::vector<Entry> impls_;
};

// Every family registered so far (one static Registry per family, in the ops/ files).
std::vector<const FamilyBase*> families();

}  // namespace nnfast::dispatch
