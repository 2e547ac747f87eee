#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "nnfast/runtime.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace nnfast {
namespace {

Isa probe_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // NOTE: gcc's __builtin_cpu_supports also checks that the OS saves the wider registers.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::ref;
}

Isa initial_cap() {
  const char* env = std::getenv("NNFAST_MAX_ISA");
  if (env == nullptr || *env == '\0') return Isa::avx512;
  try {
    return parse_isa(env);
  } catch (const std::invalid_argument&) {
    std::fprintf(stderr, "nnfast: ignoring NNFAST_MAX_ISA=%s (use ref, avx2 or avx512)\n", env);
    return Isa::avx512;
  }
}

std::atomic<int>& cap_storage() {
  static std::atomic<int> cap{static_cast<int>(initial_cap())};
  return cap;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::ref: return "ref";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

Isa parse_isa(const std::string& name) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "ref" || s == "scalar" || s == "reference") return Isa::ref;
  if (s == "avx2") return Isa::avx2;
  if (s == "avx512" || s == "avx-512") return Isa::avx512;
  throw std::invalid_argument("unknown ISA '" + name + "': expected one of ref, avx2, avx512");
}

Isa cpu_best_isa() {
  static const Isa best = probe_cpu();
  return best;
}

bool cpu_has_amx_bf16() {
#if defined(__linux__) && defined(__x86_64__)
  static const bool has = [] {
    if (!cpu_has_avx512_bf16()) return false;  // the AMX kernel packs with AVX512_BF16
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool tile = (edx >> 24) & 1u, bf16 = (edx >> 22) & 1u;
    if (!tile || !bf16) return false;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if (((xcr0_lo >> 17) & 3u) != 3u) return false;  // XTILECFG and XTILEDATA enabled
    // Linux hands tile state to a process only on request (once, for all its threads).
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512_vnni() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = cpu_best_isa() == Isa::avx512 && __builtin_cpu_supports("avx512vnni");
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx_vnni() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    if (cpu_best_isa() == Isa::ref) return false;  // the VEX encoding needs AVX2's state
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
    return ((eax >> 4) & 1u) != 0;  // CPUID.(EAX=7,ECX=1):EAX[4] AVX-VNNI
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_amx_int8() {
#if defined(__linux__) && defined(__x86_64__)
  static const bool has = [] {
    if (cpu_best_isa() != Isa::avx512) return false;  // the driver around the tiles is AVX-512
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool tile = (edx >> 24) & 1u, int8 = (edx >> 25) & 1u;
    if (!tile || !int8) return false;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if (((xcr0_lo >> 17) & 3u) != 3u) return false;  // XTILECFG and XTILEDATA enabled
    // Same one-time request for tile data as cpu_has_amx_bf16 (granting twice is harmless).
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = cpu_best_isa() == Isa::avx512 && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

Isa active_isa() {
  int cap = cap_storage().load(std::memory_order_relaxed);
  return static_cast<Isa>(std::min(cap, static_cast<int>(cpu_best_isa())));
}

void set_max_isa(Isa cap) { cap_storage().store(static_cast<int>(cap)); }

bool verbose() {
  static const bool on = [] {
    const char* env = std::getenv("NNFAST_VERBOSE");
    return env != nullptr && *env != '\0' && std::strcmp(env, "0") != 0;
  }();
  return on;
}

void log_choice(const char* family, const char* variant, const char* why) {
  if (!verbose()) return;
  static std::mutex mu;
  static std::unordered_map<std::string, std::string> last;
  std::lock_guard<std::mutex> lock(mu);
  std::string& prev = last[family];
  if (prev == variant) return;
  prev = variant;
  std::fprintf(stderr, "nnfast: %s -> %s (%s)\n", family, variant, why);
}

}  // namespace nnfast
