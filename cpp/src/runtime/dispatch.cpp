// The kernel registry's shared part: the list of families, the verbose log, ISA reasons.
#include "runtime/dispatch.h"

#include <cstdio>
#include <mutex>

namespace nnfast::dispatch {
namespace {

std::mutex& families_mutex() {
  static std::mutex mu;
  return mu;
}

std::vector<const FamilyBase*>& family_list() {
  static std::vector<const FamilyBase*> list;
  return list;
}

}  // namespace

FamilyBase::FamilyBase(const char* family) : family_(family) {
  std::lock_guard<std::mutex> lock(families_mutex());
  family_list().push_back(this);
}

void FamilyBase::changed(const char* chosen, const std::string& why_not) const {
  last_.store(chosen, std::memory_order_relaxed);
  if (!verbose()) return;
  static std::mutex log_mu;
  std::lock_guard<std::mutex> lock(log_mu);
  std::fprintf(stderr, "nnfast: %s -> %s (active ISA %s%s%s)\n", family_, chosen,
               isa_name(active_isa()), why_not.empty() ? "" : "; skipped ", why_not.c_str());
}

const char* isa_block_reason(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(cpu_best_isa())) return "CPU lacks the ISA";
  if (static_cast<int>(isa) > static_cast<int>(active_isa()))
    return "ISA capped by NNFAST_MAX_ISA / set_max_isa";
  return nullptr;
}

std::vector<const FamilyBase*> families() {
  std::lock_guard<std::mutex> lock(families_mutex());
  return family_list();
}

}  // namespace nnfast::dispatch

namespace nnfast {

std::vector<KernelFamily> kernel_families() {
  std::vector<KernelFamily> out;
  for (const dispatch::FamilyBase* f : dispatch::families()) {
    KernelFamily k;
    k.family = f->family();
    const char* last = f->last();
    k.selected = last ? last : "";
    for (const auto& [name, isa] : f->implementations())
      k.implementations.emplace_back(name, isa_name(isa));
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace nnfast
