//===- QuantizeWeights.cpp - MatMul weights to grouped low-bit codes ------===//
//
// Adapts smq IR to the plain C++ numerics of lib/Quant: reads each weight
// blob and its calibration statistics, quantizes, and replaces the matmul by
// an smq.quantized_matmul over new blobs.
//
// lambda=auto quantizes a copy of the model once per λ of the grid, with
// the statistics of the calibration sequences that were not held out, runs
// each copy on the held-out sequences (through SmqExecutionInterface), and
// keeps the λ with the lowest held-out NLL (or KL to the float model); the
// model itself is then quantized with that λ and all the statistics.
//
//===----------------------------------------------------------------------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/SmqExecutionInterface.h"
#include "smq/Transforms/DecoderContract.h"
#include "smq/Dialect/Smq/IR/ConstantBytes.h"
#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Eval/Metrics.h"
#include "smq/Quant/CodeLayout.h"
#include "smq/Quant/MixedPrecision.h"
#include "smq/Quant/Quantizer.h"
#include "smq/Quant/Statistics.h"
#include "smq/Support/AtomicFile.h"
#include "smq/Support/MemoryLimit.h"
#include "smq/Support/Progress.h"
#include "smq/Support/ScratchMapping.h"
#include "smq/Dialect/Smq/IR/SmqDialect.h"
#include "smq/Transforms/FunctionSegments.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "mlir/Analysis/SliceAnalysis.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Regex.h"

#include <atomic>
#include <map>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>
#include <unistd.h>

namespace mlir::smq {
#define GEN_PASS_DEF_SMQQUANTIZEWEIGHTS
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;
namespace q = ::smq::quant;

StringRef mlir::smq::methodName(QuantMethod method) {
  switch (method) {
  case QuantMethod::Rtn:
    return "rtn";
  case QuantMethod::Wmse:
    return "wmse";
  case QuantMethod::Search:
    return "search";
  case QuantMethod::Gptq:
    return "gptq";
  }
  llvm_unreachable("unknown method");
}

StringRef mlir::smq::criterionName(LambdaCriterion criterion) {
  return criterion == LambdaCriterion::Kl ? "kl" : "nll";
}

namespace {

/// Packs codes row by row into little-endian bit streams.
std::vector<uint8_t> packCodes(const q::QuantizedWeight &w) {
  int64_t rowBytes = q::streamBytes(w.cols, w.bits);
  std::vector<uint8_t> out(w.rows * rowBytes, 0);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c)
      q::streamSet(&out[r * rowBytes], c, w.bits, w.codes[r * w.cols + c]);
  return out;
}

/// A quantized weight kept to compile a runner again, its codes packed as
/// the module stores them: a byte per code would be twice W4's bytes.
class KeptWeight {
public:
  explicit KeptWeight(const q::QuantizedWeight &w) : packed(packCodes(w)) {
    params.rows = w.rows;
    params.cols = w.cols;
    params.groupSize = w.groupSize;
    params.bits = w.bits;
    params.symmetric = w.symmetric;
    params.scales = w.scales;
    params.zeros = w.zeros;
  }
  int64_t rows() const { return params.rows; }
  int64_t cols() const { return params.cols; }
  /// Ŵ, as QuantizedWeight::dequantize gives it.
  std::vector<float> dequantize() const {
    q::QuantizedWeight w = params;
    int64_t rowBytes = q::streamBytes(w.cols, w.bits);
    w.codes.resize(w.rows * w.cols);
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c)
        w.codes[r * w.cols + c] = static_cast<uint8_t>(
            q::streamGet(&packed[r * rowBytes], c, w.bits));
    return w.dequantize();
  }

private:
  q::QuantizedWeight params; // no codes
  std::vector<uint8_t> packed;
};

/// A quantized weight's codes, scales or zero points as a resource. From
/// 64 KiB on they go to an unnamed scratch file, mapped (ScratchMapping.h):
/// a large model's quantized weights are then written out as they are
/// made, and do not all stay in the process's memory until the end (352 MB
/// of a 0.64B decoder's W4 codes, scales and zero points). Where no such
/// file can be made they stay in memory.
DenseResourceElementsAttr blob(MLIRContext *ctx, ArrayRef<int64_t> shape,
                               Type elt, ArrayRef<char> bytes,
                               const std::string &name) {
  auto type = RankedTensorType::get(shape, elt);
  constexpr size_t kScratchFrom = 64 << 10;
  if (bytes.size() >= kScratchFrom)
    if (std::shared_ptr<::smq::ScratchMapping> map =
            ::smq::mapScratchCopy(bytes.data(), bytes.size())) {
      ArrayRef<char> data(map->data(), map->size());
      return DenseResourceElementsAttr::get(
          type, name,
          AsmResourceBlob(
              data, elementAlignment(type),
              [map](void *, size_t, size_t) mutable { map.reset(); },
              /*dataIsMutable=*/false));
    }
  return bytesAttr(type, name, bytes);
}

/// tr(ΔW S ΔWᵀ) / tr(W S Wᵀ): the error a statistic S sees, relative to
/// the weight's own size under it.
double relativeError(const std::vector<float> &w, const std::vector<float> &wq,
                     int64_t rows, int64_t cols, const std::vector<double> &s) {
  std::vector<float> zero(w.size(), 0.0f);
  double base = q::objective(w.data(), zero.data(), rows, cols, s.data());
  double err = q::objective(w.data(), wq.data(), rows, cols, s.data());
  return base > 0 ? err / base : 0.0;
}


/// A number as JSON and people write it: 0.5, not 0.50.
std::string num(double v) { return llvm::formatv("{0}", llvm::format("%g", v)); }

/// What every layer is quantized with, except λ and the statistics.
struct Settings {
  QuantMethod method = QuantMethod::Gptq;
  int bits = 4;
  int64_t groupSize = 64;
  bool symmetric = false;
  bool actOrder = false;
  bool staticGroups = false;
  q::ScaleSearch scaleSearch = q::ScaleSearch::Clip;
  bool refit = false;
  bool sequential = false;
  bool floatTarget = false;
  bool recompute = true;
  SmoothnessControl control = SmoothnessControl::None;
  int threads = 0;
  std::optional<llvm::Regex> exclude;
  bool needsStats = false;
  /// Where progress goes: the tool's listener, or null (quiet).
  ::smq::ProgressListener *progress = nullptr;
  /// average-bits: each weight's own width (by key), else `bits`.
  std::map<std::string, int> layerBits;

  int bitsFor(const std::string &key) const {
    auto it = layerBits.find(key);
    return it == layerBits.end() ? bits : it->second;
  }
};

/// A weight-bearing op: an smq.matmul by a K×N weight, or an smq.gemm
/// (with A not transposed, as calibration observes it) whose B is K×N, or
/// N×K with transB.
struct WeightUse {
  Operation *op;
  Value input;
  std::string key;
  /// The blob holds W (N×K) itself rather than Wᵀ.
  bool holdsW;
};

/// The weight-bearing ops of `module` that `s` does not exclude.
std::vector<WeightUse> collectWeightUses(ModuleOp module, const Settings &s) {
  std::vector<WeightUse> out;
  module.walk([&](Operation *op) {
    Value input, weight;
    bool holdsW = false;
    if (auto mm = dyn_cast<MatMulOp>(op)) {
      input = mm.getLhs();
      weight = mm.getRhs();
    } else if (auto gemm = dyn_cast<GemmOp>(op); gemm && !gemm.getTransA()) {
      input = gemm.getA();
      weight = gemm.getB();
      holdsW = gemm.getTransB();
    } else {
      return;
    }
    DenseResourceElementsAttr res = getWeightAttr(weight);
    auto wType = res ? dyn_cast<RankedTensorType>(res.getType())
                     : RankedTensorType();
    if (!wType || !wType.getElementType().isF32() || !wType.hasStaticShape())
      return;
    std::string key = res.getRawHandle().getKey().str();
    std::string node;
    if (auto name = dyn_cast<NameLoc>(op->getLoc()))
      node = name.getName().str();
    if (s.exclude &&
        (s.exclude->match(key) || (!node.empty() && s.exclude->match(node))))
      return;
    out.push_back({op, input, key, holdsW});
  });
  return out;
}

/// alpha · x for a scalar alpha, as an smq op.
Value scaled(OpBuilder &b, Location loc, Value x, float alpha) {
  if (alpha == 1.0f)
    return x;
  auto type = RankedTensorType::get({}, b.getF32Type());
  Value c = ConstantOp::create(b, loc, DenseElementsAttr::get(type, alpha));
  return MulOp::create(b, loc, x, c);
}

/// Frees `v`'s memory now (`v = {}` would keep its capacity).
void release(std::vector<double> &v) { std::vector<double>().swap(v); }

/// The statistics of weight `key` (K inputs) in `stats`, or null after an
/// error at `op`: none, or of another size.
const q::LayerStatistics *statisticsFor(Operation *op, const std::string &key,
                                        int64_t k,
                                        const q::StatisticsFile &stats) {
  auto entry = stats.layers.find(key);
  if (entry == stats.layers.end()) {
    op->emitError() << "no calibration statistics for weight '" << key
                    << "' (exclude it, or calibrate this model)";
    return nullptr;
  }
  if (entry->second.k != k) {
    op->emitError() << "statistics for '" << key << "' have K = "
                    << entry->second.k << " but the weight has K = " << k;
    return nullptr;
  }
  return &entry->second;
}

/// A weight-bearing op's weight (the op's operand), its blob and its W's
/// shape (N×K).
struct WeightBlob {
  Value value;
  DenseResourceElementsAttr res;
  int64_t n, k;
  /// The blob's floats, or null if it has no data.
  const float *data() const {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    return blob ? reinterpret_cast<const float *>(blob->getData().data())
                : nullptr;
  }
};

WeightBlob weightBlob(const WeightUse &use) {
  Operation *op = use.op;
  Value weight = isa<MatMulOp>(op) ? cast<MatMulOp>(op).getRhs()
                                   : cast<GemmOp>(op).getB();
  DenseResourceElementsAttr res = getWeightAttr(weight);
  auto wType = cast<RankedTensorType>(res.getType());
  return {weight, res, wType.getDimSize(use.holdsW ? 0 : 1),
          wType.getDimSize(use.holdsW ? 1 : 0)};
}

/// W (N×K, row-major) from a weight blob: smq.matmul multiplies by a K×N
/// weight, whose transpose W is; a blob that holds W is W.
std::vector<float> weightRows(const float *src, int64_t n, int64_t k,
                              bool holdsW) {
  std::vector<float> w(src, src + n * k);
  if (!holdsW)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        w[j * k + i] = src[i * n + j];
  return w;
}

/// average-bits: measures each weight's output error at 2, 3 and 4 bits,
/// tr(ΔW H ΔWᵀ) for its round-to-nearest weights under its statistics' H,
/// and chooses its width (q::allocateBits) into `s.layerBits`.
LogicalResult allocateLayerBits(ModuleOp module, Settings &s,
                                const q::StatisticsFile &stats,
                                double averageBits) {
  const std::vector<int> widths = {2, 3, 4};
  std::vector<std::string> keys;
  std::vector<q::LayerBitCosts> costs;
  llvm::StringSet<> seen;
  std::vector<WeightUse> uses;
  for (const WeightUse &use : collectWeightUses(module, s))
    if (seen.insert(use.key).second)
      uses.push_back(use);
  ::smq::ProgressTask progress(s.progress, "quantize: sensitivity of layer",
                               uses.size());
  for (const WeightUse &use : uses) {
    Operation *op = use.op;
    WeightBlob weight = weightBlob(use);
    int64_t n = weight.n, k = weight.k;
    const float *src = weight.data();
    const q::LayerStatistics *entry = statisticsFor(op, use.key, k, stats);
    if (!src || !entry)
      return op->emitError() << "average-bits: weight '" << use.key
                             << "' has no data or no statistics";
    // A weight that is not finite is reported when it is quantized.
    if (q::firstNonFinite(src, n * k) >= 0)
      continue;
    std::vector<float> w = weightRows(src, n, k, use.holdsW);
    std::vector<double> h = entry->fullH();
    int64_t group = s.groupSize == 0 ? k : std::min<int64_t>(s.groupSize, k);
    q::LayerBitCosts cost;
    cost.weights = n * k;
    for (int bits : widths) {
      q::Config config{bits, group, s.symmetric, s.threads};
      std::vector<float> wq =
          q::quantizeRtn(w.data(), n, k, config).dequantize();
      cost.error.push_back(q::objective(w.data(), wq.data(), n, k, h.data()));
    }
    keys.push_back(use.key);
    costs.push_back(std::move(cost));
    progress.step(use.key);
  }
  std::string why;
  std::vector<int> levels = q::allocateBits(costs, widths, averageBits, &why);
  if (levels.size() != costs.size())
    return module.emitError() << "average-bits=" << num(averageBits) << ": "
                              << why;
  int64_t at[3] = {0, 0, 0}, weights = 0, bitWeights = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    int bits = widths[levels[i]];
    s.layerBits[keys[i]] = bits;
    ++at[levels[i]];
    weights += costs[i].weights;
    bitWeights += costs[i].weights * bits;
  }
  if (s.progress)
    s.progress->note(
        llvm::formatv("quantize: average-bits={0}: {1} layers at 2 bits, "
                      "{2} at 3, {3} at 4 ({4:F3} bits per weight)",
                      num(averageBits), at[0], at[1], at[2],
                      weights ? double(bitWeights) / double(weights) : 0.0)
            .str());
  return success();
}

/// Threads for the numerics and the runs: `threads`, or one per core.
int threadsFor(const Settings &s) {
  return s.threads > 0 ? s.threads
                       : static_cast<int>(
                             std::max(1u, std::thread::hardware_concurrency()));
}

/// What a sequential stage asks of quantizeMatMuls: only these weights, and
/// each one's quantized values handed back once it is chosen.
struct StageFilter {
  const llvm::StringSet<> *keys = nullptr;
  std::function<LogicalResult(StringRef key, const q::QuantizedWeight &)>
      quantized;
  /// The stage's own statistics, which each weight's quantization may free
  /// as soon as it is done with them (E after the float target, H and D
  /// once M is formed), so that wide layers hold as few K×K matrices as
  /// they can.
  q::StatisticsFile *consumable = nullptr;
};

/// Replaces each weight matmul of `module` by a quantized one, with
/// M = H̄ + λ·D̄ from `which` sequences of `stats`. Emits errors at the ops
/// that fail. Adds a report row per layer to `reportRows` if given.
LogicalResult quantizeMatMuls(ModuleOp module, const Settings &s,
                              const q::StatisticsFile *stats,
                              q::Sequences which, double lam,
                              const std::string &stage,
                              std::vector<std::string> *reportRows,
                              const StageFilter &filter = {}) {
  MLIRContext *ctx = module.getContext();
  struct Done {
    Value codes, scales, zeros;
  };
  llvm::StringMap<Done> done;
  bool failedAny = false;
  std::vector<WeightUse> uses = collectWeightUses(module, s);
  if (filter.keys)
    llvm::erase_if(uses, [&](const WeightUse &use) {
      return !filter.keys->contains(use.key);
    });
  llvm::StringMap<bool> keys;
  for (const WeightUse &use : uses)
    keys[use.key + (use.holdsW ? "/W" : "")] = true;
  // A sequential stage reports progress itself, stage by stage.
  ::smq::ProgressTask progress(filter.keys ? nullptr : s.progress,
                               "quantize: " + stage + "layer", keys.size());
  for (const WeightUse &use : uses) {
    Operation *op = use.op;
    const std::string &key = use.key;
    WeightBlob weight = weightBlob(use);
    auto cst = weight.value.getDefiningOp<ConstantOp>();
    std::string node;
    if (auto name = dyn_cast<NameLoc>(op->getLoc()))
      node = name.getName().str();
    int64_t k = weight.k, n = weight.n;
    int64_t group = s.groupSize == 0 ? k : std::min<int64_t>(s.groupSize, k);
    OpBuilder b(op);
    // The same blob read the other way round is another weight.
    std::string doneKey = key + (use.holdsW ? "/W" : "");
    auto it = done.find(doneKey);
    if (it == done.end()) {
      const float *src = weight.data();
      if (!src) {
        op->emitError() << "weight '" << key << "' has no data";
        failedAny = true;
        continue;
      }
      // A value that is not finite would end up in its group's scale.
      if (int64_t at = q::firstNonFinite(src, n * k); at >= 0) {
        op->emitError() << "weight '" << key << "' holds "
                        << q::nonFiniteName(src[at]) << " at element " << at
                        << " of " << n * k
                        << "; a quantized weight cannot represent it";
        failedAny = true;
        continue;
      }
      std::vector<float> w = weightRows(src, n, k, use.holdsW);
      q::Config config{s.bitsFor(key), group, s.symmetric, s.threads};
      config.actOrder = s.actOrder;
      config.staticGroups = s.staticGroups;
      config.scaleSearch = s.scaleSearch;
      config.refit = s.refit;
      std::vector<double> d, m, m0;
      if (s.needsStats) {
        const q::LayerStatistics *entry = statisticsFor(op, key, k, *stats);
        if (!entry) {
          failedAny = true;
          continue;
        }
        // H as the statistics hold it where it is already what is asked
        // for: a K×K copy less (254 MB at K = 5632).
        std::vector<double> hCopy;
        const double *h = entry->h.data();
        if (entry->diagonalOnly ||
            (which == q::Sequences::NotHeldOut && !entry->heldOutH.empty())) {
          hCopy = entry->fullH(which);
          h = hCopy.data();
        }
        // A sequential stage's own statistics are used up here, so that a
        // wide layer holds as few K×K matrices as it can: the float target
        // writes E H⁻¹ over E, and M is formed over H.
        q::LayerStatistics *own = nullptr;
        if (filter.consumable) {
          auto found = filter.consumable->layers.find(key);
          if (found != filter.consumable->layers.end() &&
              &found->second == entry)
            own = &found->second;
        }
        double *hOwned =
            !hCopy.empty() ? hCopy.data() : own ? own->h.data() : nullptr;
        // Sequential with a float target: fit T, so that Ŵ on this layer's
        // quantized-model inputs matches W on the float model's.
        if (!entry->shift.empty()) {
          std::vector<double> hLocal, eLocal;
          double *hWork = hOwned, *e = own ? own->shift.data() : nullptr;
          if (!hWork) {
            hLocal = entry->h;
            hWork = hLocal.data();
          }
          if (!e) {
            eLocal = entry->shift;
            e = eLocal.data();
          }
          std::string why;
          bool eTimesW = entry->shiftRows != 0;
          if (eTimesW && entry->shiftRows != n) {
            op->emitError() << "float target of '" << key << "': its shift "
                            << "statistic has " << entry->shiftRows
                            << " rows, the weight " << n;
            failedAny = true;
            continue;
          }
          // T is written over W: one copy of the weight less.
          if (!q::floatTarget(w.data(), n, k, hWork, e, w, &why, 0.01,
                              s.threads, eTimesW)) {
            op->emitError() << "float target of '" << key << "': " << why;
            failedAny = true;
            continue;
          }
          if (own)
            release(own->shift);
        }
        // D counts only through λ, and in the report.
        if (lam != 0 || reportRows)
          d = entry->fullD(which);
        if (lam != 0 && s.control == SmoothnessControl::Ridge) {
          d.assign(k * k, 0.0);
          for (int64_t i = 0; i < k; ++i)
            d[i * k + i] = 1.0;
        } else if (lam != 0 && s.control == SmoothnessControl::Gaussian) {
          uint64_t seed = stats->seed;
          for (char c : key) // a stream per weight, the same every run
            seed = (seed ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
          d = q::gaussianControl(d.data(), k, entry->positions, seed);
        }
        if (reportRows)
          m0 = q::combineStatistics(h, nullptr, k, 0.0);
        const double *dm = d.empty() ? nullptr : d.data();
        if (hOwned) {
          m = !hCopy.empty() ? std::move(hCopy) : std::move(own->h);
          q::combineStatisticsInto(m.data(), dm, k, lam, m.data());
        } else {
          m = q::combineStatistics(h, dm, k, lam);
        }
        if (own) {
          release(own->h);
          release(own->d);
        }
        release(hCopy);
      }
      auto start = std::chrono::steady_clock::now();
      auto quantize = [&](std::vector<double> &mm,
                          q::QuantizedWeight &out) -> bool {
        if (s.method == QuantMethod::Rtn)
          out = q::quantizeRtn(w.data(), n, k, config);
        else if (s.method == QuantMethod::Wmse)
          out = q::quantizeWmse(w.data(), n, k, config);
        else if (s.method == QuantMethod::Search)
          out = q::quantizeSearch(w.data(), n, k, config, mm.data());
        else {
          std::string why;
          if (!q::quantizeGptq(w.data(), n, k, config, mm.data(), out, &why)) {
            op->emitError() << "gptq on '" << key << "': " << why;
            return false;
          }
        }
        return true;
      };
      q::QuantizedWeight qw;
      if (!quantize(m, qw)) {
        failedAny = true;
        continue;
      }
      // M is done with (a report scores against m0): 254 MB at K = 5632
      // less while the weight is handed on and stored.
      release(m);
      if (filter.quantized && failed(filter.quantized(key, qw))) {
        failedAny = true;
        continue;
      }
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      progress.step(key);
      std::vector<uint8_t> packed = packCodes(qw);
      int64_t rowBytes = (k * qw.bits + 7) / 8, groups = qw.groupsPerRow();
      Type ui8 = IntegerType::get(ctx, 8, IntegerType::Unsigned);
      auto codesAttr =
          blob(ctx, {n, rowBytes}, ui8,
               ArrayRef<char>(reinterpret_cast<const char *>(packed.data()),
                              packed.size()),
               key + ".codes");
      auto bytesOf = [](const std::vector<float> &v) {
        return ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                              v.size() * sizeof(float));
      };
      auto scalesAttr = blob(ctx, {n, groups}, b.getF32Type(),
                             bytesOf(qw.scales), key + ".scales");
      auto zerosAttr = blob(ctx, {n, groups}, b.getF32Type(),
                            bytesOf(qw.zeros), key + ".zeros");
      Location loc = cst.getLoc();
      b.setInsertionPoint(cst);
      Done entry{ConstantOp::create(b, loc, codesAttr),
                 ConstantOp::create(b, loc, scalesAttr),
                 ConstantOp::create(b, loc, zerosAttr)};
      it = done.insert({doneKey, entry}).first;

      if (reportRows) {
        std::vector<float> wq = qw.dequantize();
        double meanClip = 0;
        for (float c : qw.clips)
          meanClip += c;
        meanClip /= qw.clips.empty() ? 1 : qw.clips.size();
        std::string row = llvm::formatv(
            "{{\"weight\": \"{0}\", \"node\": \"{1}\", \"rows\": {2}, "
            "\"cols\": {3}, \"bits\": {4}, \"group\": {5}, "
            "\"method\": \"{6}\", \"act_order\": {10}, "
            "\"static_groups\": {11}, \"scale_search\": \"{12}\", "
            "\"refit\": {13}, \"sequential\": {14}, "
            "\"float_target\": {15}, \"smoothness_control\": \"{16}\", "
            "\"lambda\": {7}, \"mean_clip\": {8:f4}, \"seconds\": {9:f4}",
            key, node, n, k, qw.bits, qw.groupSize, methodName(s.method),
            num(lam), meanClip,
            seconds, s.actOrder ? "true" : "false",
            s.staticGroups ? "true" : "false",
            s.scaleSearch == q::ScaleSearch::Grid ? "grid" : "clip",
            s.refit ? "true" : "false", s.sequential ? "true" : "false",
            s.floatTarget ? "true" : "false",
            s.control == SmoothnessControl::Ridge      ? "ridge"
            : s.control == SmoothnessControl::Gaussian ? "gaussian"
                                                        : "none");
        if (s.needsStats) {
          std::vector<double> dBar =
              q::combineStatistics(d.data(), nullptr, k, 0.0);
          row += llvm::formatv(", \"fitting_error\": {0:e4}, "
                               "\"smoothness_error\": {1:e4}",
                               relativeError(w, wq, n, k, m0),
                               relativeError(w, wq, n, k, dBar))
                     .str();
          q::QuantizedWeight q0;
          if (lam != 0 && quantize(m0, q0)) {
            std::vector<float> w0 = q0.dequantize();
            row += llvm::formatv(", \"fitting_error_lambda0\": {0:e4}, "
                                 "\"smoothness_error_lambda0\": {1:e4}",
                                 relativeError(w, w0, n, k, m0),
                                 relativeError(w, w0, n, k, dBar))
                       .str();
          }
        }
        reportRows->push_back(row + "}");
      }
    }
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    Value result = QuantizedMatMulOp::create(
        b, loc,
        // Read from the op now: an earlier rewrite may have replaced the
        // value the use recorded (chained weight-bearing ops).
        isa<MatMulOp>(op) ? cast<MatMulOp>(op).getLhs()
                          : cast<GemmOp>(op).getA(),
        it->second.codes, it->second.scales,
        it->second.zeros, b.getI64IntegerAttr(s.bitsFor(key)),
        b.getI64IntegerAttr(group));
    // The ONNX node the weight came from, for --export-onnx.
    if (Attribute node = op->getAttr(kOnnxNodeAttr))
      result.getDefiningOp()->setAttr(kOnnxNodeAttr, node);
    if (auto gemm = dyn_cast<GemmOp>(op)) {
      // alpha·(A·Ŵᵀ) + beta·C
      result = scaled(b, loc, result, gemm.getAlpha().convertToFloat());
      if (Value c = gemm.getC())
        result = AddOp::create(
            b, loc, result, scaled(b, loc, c, gemm.getBeta().convertToFloat()));
    }
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
    if (cst.use_empty())
      cst.erase();
  }
  return failure(failedAny);
}

/// One λ of the grid and what its quantized model scored on the held-out
/// sequences.
struct Candidate {
  double lambda;
  double nll = 0, kl = 0;
};

struct QuantizeWeightsPass
    : public mlir::smq::impl::SmqQuantizeWeightsBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Settings s;
    s.method = method;
    s.bits = static_cast<int>(bits.getValue());
    s.groupSize = groupSize;
    s.symmetric = symmetric;
    s.actOrder = actOrder;
    s.staticGroups = staticGroups;
    s.control = smoothnessControl;
    s.scaleSearch = scaleSearch == ScaleSearch::Grid ? q::ScaleSearch::Grid
                                                     : q::ScaleSearch::Clip;
    s.threads = threads;
    if (!quiet)
      if (auto *dialect = module.getContext()->getLoadedDialect<SmqDialect>())
        s.progress = dialect->getProgressListener();
    if (bits < 2 || bits > 8) {
      module.emitError() << "bits must be between 2 and 8, got "
                         << static_cast<int64_t>(bits.getValue());
      return signalPassFailure();
    }
    if (groupSize < 0) {
      module.emitError() << "group-size must be >= 0";
      return signalPassFailure();
    }
    StringRef methodText = methodName(method);
    s.needsStats = method == QuantMethod::Search || method == QuantMethod::Gptq;
    if (s.control != SmoothnessControl::None && !s.needsStats) {
      module.emitError() << "smoothness-control applies to method=search "
                            "and gptq, not '"
                         << methodText << "'";
      return signalPassFailure();
    }
    // sequential, float-target and refit are on by default for the methods
    // that use statistics; said explicitly where they cannot apply, they are
    // errors, and left to their defaults, they step aside.
    auto notForMethod = [&](StringRef name) {
      module.emitError() << name
                         << " applies to method=search and gptq, which use "
                            "statistics, not '"
                         << methodText << "'";
      return signalPassFailure();
    };
    if (!s.needsStats) {
      if (sequential.hasValue() && sequential)
        return notForMethod("sequential");
      if (floatTarget.hasValue() && floatTarget)
        return notForMethod("float-target");
      if (refit.hasValue() && refit)
        return notForMethod("refit");
    }
    s.sequential = sequential && s.needsStats;
    s.floatTarget = floatTarget && s.sequential;
    s.recompute = recompute;
    s.refit = refit && s.needsStats;
    if (floatTarget.hasValue() && floatTarget && !s.sequential) {
      module.emitError() << "float-target needs sequential=true (it compares "
                            "the quantized model's inputs with the float "
                            "model's)";
      return signalPassFailure();
    }
    if ((actOrder || staticGroups) && method != QuantMethod::Gptq) {
      module.emitError() << (actOrder ? "act-order" : "static-groups")
                         << " applies to method=gptq, not '" << methodText
                         << "'";
      return signalPassFailure();
    }
    if (scaleSearch != ScaleSearch::Clip && method == QuantMethod::Rtn) {
      module.emitError() << "scale-search applies to wmse, search and gptq, "
                            "not 'rtn' (which takes each group's range)";
      return signalPassFailure();
    }
    // λ weighs a statistic that rtn and wmse do not use.
    bool autoLambda = lambda == "auto" && s.needsStats;
    double lam = 0;
    if (lambda != "auto" &&
        (!llvm::to_float(lambda.getValue(), lam) || lam < 0)) {
      module.emitError() << "lambda must be 'auto' or a non-negative number, "
                            "got '"
                         << lambda << "'";
      return signalPassFailure();
    }
    std::vector<double> grid(lambdaGrid.begin(), lambdaGrid.end());
    if (grid.empty())
      grid = {0, 0.25, 0.5, 1};
    for (double v : grid)
      if (!(v >= 0) || !std::isfinite(v)) {
        module.emitError() << "lambda-grid takes non-negative numbers, got "
                           << v;
        return signalPassFailure();
      }
    llvm::sort(grid);
    grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
    std::optional<q::StatisticsFile> stats;
    if (s.needsStats) {
      if (statsPath.empty()) {
        module.emitError() << "method " << methodText
                           << " needs calibration statistics (stats=FILE)";
        return signalPassFailure();
      }
      // The reader holds the file and what it parses from it at once:
      // refused up front where that is more than the machine (or
      // SMQ_MAX_MEMORY) allows, rather than killed half way.
      uint64_t fileBytes = 0;
      if (!llvm::sys::fs::file_size(statsPath, fileBytes) &&
          2 * fileBytes > ::smq::memoryLimit(0)) {
        module.emitError()
            << "reading '" << statsPath << "' ("
            << ::smq::formatBytes(fileBytes) << ") takes about "
            << ::smq::formatBytes(2 * fileBytes) << ", "
            << ::smq::describeMemoryLimit(0)
            << "; diagonal statistics (smq-calibrate --stats diag), or "
               "sequential quantization from a file of windows only "
               "(--stats windows), need far less";
        return signalPassFailure();
      }
      std::string why;
      stats = q::readStatistics(statsPath, &why);
      if (!stats) {
        module.emitError() << why;
        return signalPassFailure();
      }
    }
    if (s.sequential && stats->windows() == 0) {
      if (sequential.hasValue())
        return (void)(module.emitError()
                      << "sequential replays the calibration windows, and '"
                      << statsPath
                      << "' keeps none (it predates statistics format 3): "
                         "run smq-calibrate again"),
               signalPassFailure();
      module.emitWarning()
          << "'" << statsPath
          << "' keeps no calibration windows (it predates statistics format "
             "3), so the weights are quantized one-shot; run smq-calibrate "
             "again for sequential quantization";
      s.sequential = s.floatTarget = false;
    }
    // A model that takes token windows of another length (a one-token
    // decode step, say) cannot replay the calibration windows.
    if (s.sequential) {
      auto entry = module.lookupSymbol<func::FuncOp>("main");
      auto tokens = entry && entry.getNumArguments() > 0
                        ? dyn_cast<RankedTensorType>(
                              entry.getArgument(0).getType())
                        : RankedTensorType();
      int64_t length = stats->windowLength;
      if (tokens && tokens.getRank() == 2 && tokens.hasStaticShape() &&
          tokens.getDimSize(1) != length) {
        if (sequential.hasValue())
          return (void)(module.emitError()
                        << "sequential: the model takes windows of "
                        << tokens.getDimSize(1) << " tokens but '"
                        << statsPath << "' was calibrated on " << length
                        << " (import the model with --input-shape "
                           "<tokens>=1x"
                        << length << ")"),
                 signalPassFailure();
        module.emitWarning()
            << "the model takes windows of " << tokens.getDimSize(1)
            << " tokens and '" << statsPath << "' was calibrated on "
            << length
            << ", so the weights are quantized one-shot (import the model "
               "with --input-shape <tokens>=1x"
            << length
            << " for sequential quantization, and export or re-import it "
               "for other shapes)";
        s.sequential = s.floatTarget = false;
      }
    }
    // smq-calibrate --stats windows: the windows and nothing else, for
    // models too big for one-shot statistics. Only sequential mode can use
    // it, and only with a λ given.
    bool windowsOnly = stats && stats->layers.empty() && stats->windows() > 0;
    if (windowsOnly && !s.sequential)
      return (void)(module.emitError()
                    << "'" << statsPath
                    << "' keeps the calibration windows only (smq-calibrate "
                       "--stats windows), which only sequential "
                       "quantization can use, and this model is quantized "
                       "one-shot"),
             signalPassFailure();
    if (windowsOnly && autoLambda)
      return (void)(module.emitError()
                    << "lambda=auto scores candidates quantized with "
                       "one-shot statistics, and '"
                    << statsPath
                    << "' keeps the calibration windows only (smq-calibrate "
                       "--stats windows); give lambda a number"),
             signalPassFailure();
    if (s.floatTarget && stats->diagonal) {
      if (floatTarget.hasValue())
        return (void)(module.emitError()
                      << "float-target needs full statistics, and '"
                      << statsPath << "' has diagonal ones"),
               signalPassFailure();
      s.floatTarget = false;
    }
    if (averageBits != 0) {
      if (bits.hasValue())
        return (void)(module.emitError()
                      << "give bits or average-bits, not both"),
               signalPassFailure();
      if (!s.needsStats || windowsOnly)
        return (void)(module.emitError()
                      << "average-bits weighs each layer's error by its "
                         "calibration statistics: method=search or gptq, "
                         "with a statistics file that holds them (not "
                         "smq-calibrate --stats windows)"),
               signalPassFailure();
      if (!(averageBits >= 2 && averageBits <= 4))
        return (void)(module.emitError()
                      << "average-bits must be between 2 and 4, got "
                      << num(averageBits)),
               signalPassFailure();
    }
    if (!exclude.empty()) {
      s.exclude.emplace(exclude.getValue());
      std::string reError;
      if (!s.exclude->isValid(reError)) {
        module.emitError() << "exclude is not a valid regex: " << reError;
        return signalPassFailure();
      }
    }

    // A decoder with a KV cache kept with dynamic dims cannot run windows
    // as it is: the steps that run the model (lambda=auto, sequential) work
    // on a copy bound to windows without its cache, and its quantized ops
    // then replace the decoder's matmuls.
    OwningOpRef<ModuleOp> windowsCopy;
    ModuleOp target = module;
    if ((autoLambda || s.sequential) && isDecoderWithCache(module) &&
        hasDynamicInput(module)) {
      windowsCopy = module.clone();
      if (failed(bindDecoderForWindows(*windowsCopy, stats->windowLength)))
        return signalPassFailure();
      module = *windowsCopy;
    }

    if (averageBits != 0 &&
        failed(allocateLayerBits(module, s, *stats, averageBits)))
      return signalPassFailure();

    std::vector<Candidate> candidates;
    int64_t heldOutTokens = 0;
    if (autoLambda) {
      if (failed(selectLambda(module, s, *stats, grid, candidates,
                              heldOutTokens)))
        return signalPassFailure();
      auto best = llvm::min_element(candidates, [&](const Candidate &a,
                                                    const Candidate &b) {
        return lambdaCriterion == LambdaCriterion::Kl ? a.kl < b.kl
                                                      : a.nll < b.nll;
      });
      lam = best->lambda;
      if (s.progress)
        s.progress->note(llvm::formatv(
                             "quantize: lambda=auto picked {0} (held-out {1})",
                             num(lam), criterionName(lambdaCriterion))
                             .str());
    }

    std::vector<std::string> reportRows;
    if (s.sequential) {
      if (failed(quantizeSequentially(module, s, *stats, lam,
                                      report.empty() ? nullptr : &reportRows)))
        return signalPassFailure();
    } else if (failed(quantizeMatMuls(module, s, stats ? &*stats : nullptr,
                                      q::Sequences::All, lam, "",
                                      report.empty() ? nullptr
                                                     : &reportRows))) {
      return signalPassFailure();
    }
    if (!report.empty() &&
        failed(writeReport(module, lam, autoLambda, candidates, heldOutTokens,
                           reportRows)))
      return signalPassFailure();
    if (windowsCopy && failed(transplantQuantized(*windowsCopy, target)))
      return signalPassFailure();
  }

  /// Replaces each smq.matmul of `target` whose weight `from` quantized
  /// (codes named "<weight>.codes") by that quantized matmul, on the
  /// target's own lhs and with its result type.
  static LogicalResult transplantQuantized(ModuleOp from, ModuleOp target) {
    std::map<std::string, QuantizedMatMulOp> quantized;
    WalkResult walk = from.walk([&](QuantizedMatMulOp q) {
      DenseResourceElementsAttr codes = getWeightAttr(q.getCodes());
      StringRef key = codes ? codes.getRawHandle().getKey() : "";
      if (!key.consume_back(".codes")) {
        q.emitOpError("has codes the quantize pass did not name");
        return WalkResult::interrupt();
      }
      quantized[key.str()] = q;
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    SmallVector<MatMulOp> matmuls;
    target.walk([&](MatMulOp m) { matmuls.push_back(m); });
    size_t replaced = 0;
    for (MatMulOp m : matmuls) {
      DenseResourceElementsAttr weight = getWeightAttr(m.getRhs());
      if (!weight)
        continue;
      auto it = quantized.find(weight.getRawHandle().getKey().str());
      if (it == quantized.end())
        continue;
      QuantizedMatMulOp q = it->second;
      OpBuilder b(m);
      IRMapping map;
      map.map(q.getLhs(), m.getLhs());
      for (Value v : {q.getCodes(), q.getScales(), q.getZeroPoints()})
        map.map(v, b.clone(*v.getDefiningOp())->getResult(0));
      Operation *copy = b.clone(*q, map);
      copy->getResult(0).setType(m.getType());
      Operation *rhs = m.getRhs().getDefiningOp();
      m.replaceAllUsesWith(copy);
      m.erase();
      if (rhs && rhs->use_empty())
        rhs->erase();
      ++replaced;
    }
    if (replaced != quantized.size())
      return target.emitError()
             << "quantizing a decoder with a KV cache: " << quantized.size()
             << " weights were quantized on windows but " << replaced
             << " of the decoder's matmuls take them (Gemm weights are not "
                "supported on this path)";
    return success();
  }

  /// The execution engine a tool registered, or an error naming `what`
  /// needs it.
  const SmqExecutionInterface *executionEngine(ModuleOp module,
                                               StringRef what,
                                               StringRef hint) {
    auto *dialect = module.getContext()->getLoadedDialect<SmqDialect>();
    auto *exec = dialect
                     ? dialect->getRegisteredInterface<SmqExecutionInterface>()
                     : nullptr;
    if (!exec)
      module.emitError()
          << what
          << " runs the model, and this tool has no execution engine "
             "registered (mlir::smq::registerExecutionInterface)"
          << hint;
    return exec;
  }

  /// Stages of `uses` in program order: a use joins the current stage
  /// unless its input depends on an op of that stage.
  static std::vector<std::vector<WeightUse>>
  sequentialStages(const std::vector<WeightUse> &uses) {
    std::vector<std::vector<WeightUse>> stages;
    llvm::SmallPtrSet<Operation *, 8> current;
    for (const WeightUse &use : uses) {
      bool depends = false;
      if (!current.empty()) {
        llvm::SetVector<Operation *> slice;
        BackwardSliceOptions options;
        options.omitBlockArguments = true;
        (void)getBackwardSlice(use.input, &slice, options);
        if (Operation *def = use.input.getDefiningOp())
          slice.insert(def);
        depends = llvm::any_of(
            slice, [&](Operation *op) { return current.contains(op); });
      }
      if (stages.empty() || depends) {
        stages.emplace_back();
        current.clear();
      }
      stages.back().push_back(use);
      current.insert(use.op);
    }
    return stages;
  }

  /// sequential=true: see the pass description.
  LogicalResult quantizeSequentially(ModuleOp module, const Settings &s,
                                     const q::StatisticsFile &stats,
                                     double lam,
                                     std::vector<std::string> *reportRows) {
    std::vector<WeightUse> uses = collectWeightUses(module, s);
    if (uses.empty())
      return success();
    // A stage's weights, each with its K and which of the stage's distinct
    // inputs it takes; and where its segment of the model starts.
    struct Stage {
      Operation *cut;
      std::vector<std::pair<std::string, int64_t>> keys;
      std::vector<size_t> inputOf;
      SmallVector<Value> inputs;
      // Read off the IR before any rewrite: each input's K, and where it
      // is in the values carried into the segment (none: the segment
      // computes it, and runs before the stage is quantized, to observe it).
      std::vector<int64_t> inputK;
      std::vector<std::optional<size_t>> inState;
      bool observeByRunning = false;
      size_t carriedOut = 0;
      // The stage's last weight op; the segments that start at its narrow
      // point (stage 0: the function's start) and at its cut (the same one
      // where nothing lies between). Whether its values are recomputed from
      // the previous stage's narrow point instead of held at its own (see
      // below), and the bytes its statistics take.
      Operation *lastOp = nullptr;
      size_t narrowSegment = 0, bodySegment = 0;
      bool recompute = false;
      int64_t statisticBytes = 0;
      // Each weight's blob; and per input, the weight the float target's
      // E is held through as W E (see LayerStatistics::shiftRows), if any:
      // the one weight that takes the input, where it has fewer outputs
      // than inputs.
      std::vector<WeightBlob> blobs;
      std::vector<std::optional<size_t>> through;
    };
    // The file's one-shot statistics are not used here, but they say it was
    // calibrated on this model. Each stage's weights and their K are read
    // before any rewrite erases the ops the uses point at.
    llvm::StringMap<bool> heldAsW;
    bool missing = false;
    std::vector<Stage> stages;
    for (const auto &group : sequentialStages(uses)) {
      Stage stage{group.front().op, {}, {}, {}};
      stage.lastOp = group.back().op;
      for (const WeightUse &use : group) {
        int64_t k =
            cast<RankedTensorType>(use.input.getType()).getShape().back();
        // A file of windows only has none to check.
        if (!stats.layers.empty() &&
            !statisticsFor(use.op, use.key, k, stats))
          missing = true;
        // A weight shared with an earlier stage was quantized with it.
        if (!heldAsW.try_emplace(use.key, use.holdsW).second)
          continue;
        stage.keys.push_back({use.key, k});
        stage.blobs.push_back(weightBlob(use));
        auto *at = llvm::find(stage.inputs, use.input);
        stage.inputOf.push_back(at - stage.inputs.begin());
        if (at == stage.inputs.end())
          stage.inputs.push_back(use.input);
      }
      // Nothing left to quantize: its ops run in the previous segment.
      if (!stage.keys.empty())
        stages.push_back(std::move(stage));
    }
    if (missing)
      return failure();
    auto func = dyn_cast<func::FuncOp>(uses.front().op->getParentOp());
    if (!func || llvm::any_of(uses, [&](const WeightUse &use) {
          return use.op->getParentOp() != func;
        }))
      return module.emitError() << "sequential runs the model a stage at a "
                                   "time, and needs every weight op in the "
                                   "body of one function";
    // The function is cut where each stage's weights start (the stage's
    // cut) and, before that, where the fewest bytes are live since the
    // previous stage's last weight (its narrow point: before a LayerNorm,
    // the residual stream alone). The narrow point's segment, the
    // stage's prelude, holds no weight; the stage's body runs from its cut
    // to the next stage's narrow point.
    std::vector<Operation *> cuts;
    Operation *firstOp = &func.getBody().front().front();
    const CutWidths widths(func);
    for (size_t st = 0; st < stages.size(); ++st) {
      Stage &stage = stages[st];
      if (st > 0) {
        Operation *narrow = widths.narrowest(stages[st - 1].lastOp, stage.cut);
        stage.narrowSegment = cuts.size() + 1;
        cuts.push_back(narrow);
      }
      if (stage.cut != (cuts.empty() ? firstOp : cuts.back()))
        cuts.push_back(stage.cut);
      stage.bodySegment = cuts.size();
    }
    size_t segmentCount = cuts.size() + 1;
    SmallVector<SmallVector<Value>> extra(segmentCount);
    for (const Stage &stage : stages)
      extra[stage.bodySegment] = stage.inputs;
    // Which weights each segment's ops use, to give a segment the quantized
    // values of a weight an earlier stage shares with it.
    std::vector<llvm::StringSet<>> usedIn(segmentCount);
    for (size_t use = 0, seg = 0; use < uses.size(); ++use) {
      while (seg < cuts.size() && (uses[use].op == cuts[seg] ||
                                   cuts[seg]->isBeforeInBlock(uses[use].op)))
        ++seg;
      usedIn[seg].insert(uses[use].key);
    }
    FailureOr<FunctionSegments> segments = cutFunction(func, cuts, extra);
    if (failed(segments))
      return failure();
    // runOnOperation checked the window length against the model's.
    int64_t length = stats.windowLength;
    const SmallVector<Value> &first = segments->live.front();
    auto tokenType = first.size() == 1
                         ? dyn_cast<RankedTensorType>(first[0].getType())
                         : RankedTensorType();
    if (!tokenType || !tokenType.getElementType().isInteger(64) ||
        tokenType.getShape() != ArrayRef<int64_t>{1, length})
      return module.emitError() << "sequential runs the model on token "
                                   "windows, and needs one int64 [1, "
                                << length << "] input";
    const SmqExecutionInterface *exec =
        executionEngine(module, "sequential", "; give sequential=false");
    if (!exec)
      return failure();
    int threads = threadsFor(s);

    // The values live at the current cut, per window: of the model as
    // quantized so far, of the float model (for the float target), and of
    // the quantized model on each window's neighbour (for D).
    using State = std::vector<::smq::HostArray>;
    auto tokens = [&](ArrayRef<int64_t> window) {
      State state(1);
      state[0].dtype = ::smq::DType::I64;
      state[0].shape = {1, length};
      state[0].bytes.resize(length * 8);
      std::memcpy(state[0].bytes.data(), window.data(), length * 8);
      return state;
    };
    std::vector<std::vector<int64_t>> windows;
    for (int64_t w = 0; w < stats.windows(); ++w)
      windows.emplace_back(stats.windowTokens.begin() + w * length,
                           stats.windowTokens.begin() + (w + 1) * length);
    // D enters M only through λ, and the report's smoothness errors.
    bool needD = lam != 0 || reportRows;
    std::vector<State> quantState, floatState, nearState;
    for (const auto &window : windows) {
      quantState.push_back(tokens(window));
      if (s.floatTarget)
        floatState.push_back(quantState.back());
    }
    if (needD)
      for (const auto &near : q::neighbourWindows(windows, stats.seed))
        nearState.push_back(tokens(near));

    // Runs `task(i)` for i < n, `threads` at a time; each kernel then keeps
    // to its caller's thread. Every task writes only its own result, so the
    // order they run in changes nothing.
    auto parallel = [&](size_t n, const std::function<void(size_t)> &task) {
      std::atomic<size_t> next{0};
      auto worker = [&] {
        for (size_t i; (i = next++) < n;)
          task(i);
      };
      std::vector<std::thread> pool;
      for (int t = 1; t < threads && static_cast<size_t>(t) < n; ++t)
        pool.emplace_back(worker);
      worker();
      for (auto &t : pool)
        t.join();
    };

    // What one window's values take at the start of each segment.
    std::vector<int64_t> segmentBytes;
    for (const auto &live : segments->live) {
      int64_t bytes = 0;
      for (Value v : live)
        bytes += valueBytes(v);
      segmentBytes.push_back(bytes);
    }
    size_t streams = 1 + (s.floatTarget ? 1 : 0) + (needD ? 1 : 0);
    for (size_t st = 0; st < stages.size(); ++st) {
      Stage &stage = stages[st];
      const SmallVector<Value> &live = segments->live[stage.bodySegment];
      stage.carriedOut = stage.bodySegment + 1 == segmentCount
                             ? 0
                             : segments->live[stage.bodySegment + 1].size();
      for (size_t in = 0; in < stage.inputs.size(); ++in) {
        Value input = stage.inputs[in];
        int64_t k = cast<RankedTensorType>(input.getType()).getShape().back();
        stage.inputK.push_back(k);
        auto *at = llvm::find(live, input);
        stage.inState.push_back(at == live.end()
                                    ? std::nullopt
                                    : std::optional<size_t>(at - live.begin()));
        stage.observeByRunning |= at == live.end();
        auto taker = llvm::find(stage.inputOf, in);
        size_t l = taker - stage.inputOf.begin();
        const WeightBlob &b = stage.blobs[l];
        stage.through.push_back(
            llvm::count(stage.inputOf, in) == 1 && b.n < b.k && b.data()
                ? std::optional<size_t>(l)
                : std::nullopt);
        // H, then D and the float target's E (or W E) where they are kept.
        int64_t square = (stats.diagonal ? 1 : k) * k * 8;
        int64_t shiftRows = stage.through.back() ? b.n : k;
        stage.statisticBytes += square + (needD ? square : 0) +
                                (s.floatTarget ? shiftRows * k * 8 : 0);
      }
      // The rewrites to come erase the ops these values came from.
      stage.inputs.clear();
      stage.cut = stage.lastOp = nullptr;
    }
    // Each window's values are held at its stage's narrow point, or where a
    // cut is wider than that (the MLP's hidden values, 2.75 times the
    // model's width) and holding them would raise the peak (the windows'
    // values and the stage's statistics, of the stage that needs most),
    // at the previous stage's: a window at a time, its values are then
    // recomputed by the previous stage's segments, as quantized and, for
    // the float target, with their float weights. Never twice in a row.
    auto heldBytes = [&](size_t segment) {
      return static_cast<double>(segmentBytes[segment]) *
             static_cast<double>(windows.size() * streams);
    };
    double peak = 0;
    for (size_t st = 0; st < stages.size(); ++st) {
      double need = heldBytes(stages[st].narrowSegment);
      if (st > 0)
        need = std::min(need, heldBytes(stages[st - 1].narrowSegment));
      peak = std::max(peak, need + static_cast<double>(stages[st].statisticBytes));
    }
    for (size_t st = 1; st < stages.size(); ++st)
      stages[st].recompute =
          s.recompute && !stages[st - 1].recompute &&
          heldBytes(stages[st].narrowSegment) +
                  static_cast<double>(stages[st].statisticBytes) >
              peak;
    if (s.progress) {
      int64_t most = 0;
      std::string recomputed;
      for (size_t st = 0; st < stages.size(); ++st) {
        const Stage &stage = stages[st];
        most = std::max(most, segmentBytes[stage.recompute
                                               ? stages[st - 1].narrowSegment
                                               : stage.narrowSegment]);
        if (stage.recompute)
          recomputed += (recomputed.empty() ? "" : ", ") + std::to_string(st + 1);
      }
      s.progress->note(llvm::formatv(
          "quantize: sequential: {0} stages in {1} segments; {2} windows x "
          "{3} stream{4} held, at most {5} bytes each; recomputed from the "
          "stage before: {6}",
          stages.size(), segmentCount, windows.size(), streams,
          streams == 1 ? "" : "s", most,
          recomputed.empty() ? "none"
          : "stages " + recomputed +
                (s.floatTarget ? ", in two passes over the windows" : ""))
          .str());
    }
    // How many values each segment hands on to the next.
    std::vector<size_t> carriedBy(segmentCount, 0);
    for (size_t j = 0; j + 1 < segmentCount; ++j)
      carriedBy[j] = segments->live[j + 1].size();
    segments->live.clear();
    // The weights quantized so far that a runner still to be compiled
    // uses: a later segment's that shares one, or a stage's own once it
    // drops its runners to quantize (see `split` below).
    llvm::StringMap<KeptWeight> quantizedSoFar;
    // Each segment's runner, compiled when first needed and dropped once no
    // window is held before it: with the weights as quantized so far, and
    // (a stage's body that the next stage recomputes through) with its
    // float weights, for the float target.
    std::vector<std::unique_ptr<FunctionRunner>> runners(segmentCount),
        floatRunners(segmentCount);
    std::string why;
    auto compile = [&](size_t seg) -> std::unique_ptr<FunctionRunner> {
      auto compiled =
          exec->compileFunction(*segments->modules[seg], threads, &why);
      if (!compiled) {
        module.emitError() << "sequential cannot run segment " << seg + 1
                           << " of " << segmentCount << ": " << why;
        return nullptr;
      }
      if (threads > 1)
        compiled->setKernelThreads(1);
      for (const auto &entry : usedIn[seg]) {
        auto known = quantizedSoFar.find(entry.getKey());
        if (known == quantizedSoFar.end())
          continue;
        const KeptWeight &kept = known->second;
        StringRef key = known->getKey();
        if (failed(compiled->replaceWeight(key, kept.dequantize(),
                                           kept.rows(), kept.cols(),
                                           heldAsW.lookup(key), &why))) {
          module.emitError() << "sequential: " << why;
          return nullptr;
        }
      }
      return compiled;
    };
    auto runnerFor = [&](size_t seg) -> FunctionRunner * {
      if (!runners[seg])
        runners[seg] = compile(seg);
      return runners[seg].get();
    };
    // Runs segment `seg` on `state`; `out` gets what it returns.
    auto runOn = [&](FunctionRunner &runner, size_t seg, const State &state,
                     State &out, std::string &error) -> bool {
      std::vector<const ::smq::HostArray *> in;
      for (const auto &a : state)
        in.push_back(&a);
      if (succeeded(runner.run(in, out, &error)))
        return true;
      if (error.empty())
        error = "segment " + std::to_string(seg + 1) + " failed to run";
      return false;
    };
    // Runs the segments in [from, to) one after another on `held`, each on
    // what the one before handed on; returns `held` itself if there are
    // none, else `scratch`, which holds the values at `to`.
    auto runChain = [&](const std::vector<FunctionRunner *> &chain,
                        size_t from, State &held, State &scratch,
                        std::string &error) -> State * {
      State *at = &held;
      for (size_t i = 0; i < chain.size(); ++i) {
        State out;
        if (!runOn(*chain[i], from + i, *at, out, error))
          return nullptr;
        out.resize(carriedBy[from + i]);
        scratch = std::move(out);
        at = &scratch;
      }
      return at;
    };
    ::smq::ProgressTask progress(s.progress, "quantize: sequential stage",
                                 stages.size());
    for (size_t st = 0; st < stages.size(); ++st) {
      const Stage &stage = stages[st];
      bool last = st + 1 == stages.size();
      // Where every window's values are held for this stage, and whether
      // they stay there for the next (which recomputes from them).
      size_t held =
          stage.recompute ? stages[st - 1].narrowSegment : stage.narrowSegment;
      bool deferNext = !last && stages[st + 1].recompute;
      size_t body = stage.bodySegment;
      size_t carried = stage.carriedOut;
      const auto &inState = stage.inState;
      bool observeByRunning = stage.observeByRunning;
      // A stage that recomputes its input (the MLP's down projection, whose
      // K×K statistic is the largest) holds no runner while it quantizes,
      // and goes over the windows twice: first for the float target's
      // statistic, with the float model's runners as well, then for H with
      // the quantized model's alone. So its H never meets the float
      // model's runners, nor its statistics the quantized model's. The
      // runners it needs after are compiled again, with its weights as
      // quantized.
      bool split = stage.recompute && s.floatTarget;
      // The segments from the held values to the stage's cut, as quantized
      // so far and for the float model: a body there is an earlier
      // stage's, whose float weights the float model keeps.
      std::vector<FunctionRunner *> chain, floatChain;
      auto compileChain = [&]() -> LogicalResult {
        chain.clear();
        floatChain.clear();
        for (size_t seg = held; seg < body; ++seg) {
          FunctionRunner *segment = runnerFor(seg);
          if (!segment)
            return failure();
          chain.push_back(segment);
          floatChain.push_back(floatRunners[seg] ? floatRunners[seg].get()
                                                 : segment);
        }
        return success();
      };
      if (failed(compileChain()))
        return failure();
      FunctionRunner *runner = nullptr;
      if (!last || observeByRunning) {
        if (!(runner = runnerFor(body)))
          return failure();
        // The next stage runs this body again for the float model, once
        // this stage's weights are quantized.
        if (deferNext && s.floatTarget && !(floatRunners[body] = compile(body)))
          return failure();
        // What compiling freed (the module's copies, LLVM's own).
        ::smq::releaseFreedMemory();
      }
      auto run = [&](const State &state, State &out, std::string &error) {
        return runOn(*runner, body, state, out, error);
      };
      // An input of the stage, for one window: from the state, or from what
      // running the segment on it returned.
      auto inputOf = [&](size_t input, const State &state,
                         const State &ran) -> const ::smq::HostArray & {
        return inState[input] ? state[*inState[input]]
                              : ran[carried + input];
      };

      // This stage's statistics, from the model as quantized so far: one
      // per distinct input (q, k and v share theirs), then each weight's.
      std::vector<q::LayerStatistics> perInput;
      for (int64_t k : stage.inputK)
        perInput.emplace_back(k, stats.diagonal);
      // Each input by the first weight that takes it, for errors.
      std::vector<std::string> inputName(perInput.size());
      for (size_t l = stage.keys.size(); l-- > 0;)
        inputName[stage.inputOf[l]] = stage.keys[l].first;
      const auto &through = stage.through;
      // A few windows at a time: their runs side by side, then the
      // statistics add each window in order (E on a thread of its own), so
      // the result is the same at any thread count.
      size_t batch = std::max(1, threads);
      std::vector<State> ranQuant(batch), ranFloat(batch), ranNear(batch);
      std::vector<State> cutQuant(batch), cutFloat(batch), cutNear(batch);
      std::vector<State *> atQuant(batch), atFloat(batch), atNear(batch);
      std::vector<std::string> errors(3 * batch);
      // The float model runs this segment to observe, or to move on to the
      // next cut (unless it stays here for the next stage).
      bool runFloat =
          s.floatTarget && ((!last && !deferNext) || observeByRunning);
      // One pass over the windows: with the float model, for E (and the
      // float model moves on); with the neighbours, for H and D.
      auto passOverWindows = [&](bool withFloat,
                                 bool withH) -> LogicalResult {
        // A pass with one statistic to add gives it every thread; with
        // two, E takes a thread of its own.
        int sumThreads = withFloat && withH ? 1 : threads;
        for (size_t w0 = 0; w0 < windows.size(); w0 += batch) {
          size_t count = std::min(batch, windows.size() - w0);
          parallel(3 * count, [&](size_t task) {
            size_t i = task / 3, w = w0 + i;
            std::string &error = errors[task];
            switch (task % 3) {
            case 0:
              if (!withFloat)
                break;
              if (!(atFloat[i] = runChain(floatChain, held, floatState[w],
                                          cutFloat[i], error)))
                return;
              if (runFloat && !run(*atFloat[i], ranFloat[i], error))
                return;
              break;
            case 1:
              if (!(atQuant[i] = runChain(chain, held, quantState[w],
                                          cutQuant[i], error)))
                return;
              if (observeByRunning && !run(*atQuant[i], ranQuant[i], error))
                return;
              break;
            case 2:
              if (!needD || !withH)
                break;
              if (!(atNear[i] = runChain(chain, held, nearState[w], cutNear[i],
                                         error)))
                return;
              if (observeByRunning && !run(*atNear[i], ranNear[i], error))
                return;
              break;
            }
            error.clear();
          });
          for (const std::string &error : errors)
            if (!error.empty())
              return module.emitError() << "sequential: " << error;
          for (size_t i = 0; i < count; ++i) {
            size_t w = w0 + i;
            std::thread shift;
            if (withFloat) {
              auto accumulateShift = [&] {
                for (size_t in = 0; in < perInput.size(); ++in) {
                  const auto &x = inputOf(in, *atQuant[i], ranQuant[i]);
                  const auto &xf = inputOf(in, *atFloat[i], ranFloat[i]);
                  int64_t rows = x.numElements() / perInput[in].k;
                  if (through[in]) {
                    const WeightBlob &b = stage.blobs[*through[in]];
                    perInput[in].accumulateShiftThrough(
                        xf.data<float>(), x.data<float>(), rows, b.data(), b.n,
                        heldAsW.lookup(stage.keys[*through[in]].first),
                        sumThreads);
                  } else {
                    perInput[in].accumulateShift(
                        xf.data<float>(), x.data<float>(), rows, sumThreads);
                  }
                }
              };
              if (threads > 1 && withH)
                shift = std::thread(accumulateShift);
              else
                accumulateShift();
            }
            for (size_t in = 0; withH && in < perInput.size(); ++in) {
              const auto &x = inputOf(in, *atQuant[i], ranQuant[i]);
              const ::smq::HostArray *near =
                  needD ? &inputOf(in, *atNear[i], ranNear[i]) : nullptr;
              for (const ::smq::HostArray *a : {&x, near}) {
                if (!a)
                  continue;
                int64_t k = perInput[in].k;
                if (auto bad = q::nonFiniteActivation(
                        a->data<float>(), a->numElements() / k, k, w,
                        a == near, inputName[in])) {
                  if (shift.joinable())
                    shift.join();
                  return module.emitError() << "sequential: " << *bad;
                }
              }
              // Sequential fits use every window: no held-out share is kept.
              perInput[in].accumulate(x.data<float>(),
                                      near ? near->data<float>() : nullptr,
                                      x.numElements() / perInput[in].k,
                                      /*heldOut=*/false, sumThreads);
            }
            if (shift.joinable())
              shift.join();
            // The float model moves on to the next cut.
            if (withFloat && runFloat && !last && !deferNext) {
              ranFloat[i].resize(carried);
              floatState[w] = std::move(ranFloat[i]);
            }
          }
        }
        return success();
      };
      // Drops the runners of segments [from, to), and what they freed.
      auto dropRunners = [&](auto &set, size_t from, size_t to) {
        for (size_t seg = from; seg < to; ++seg)
          set[seg].reset();
        ::smq::releaseFreedMemory();
      };
      if (!split) {
        if (failed(passOverWindows(s.floatTarget, true)))
          return failure();
      } else {
        // H is allocated for the second pass only.
        for (q::LayerStatistics &in : perInput)
          release(in.h);
        if (failed(passOverWindows(true, false)))
          return failure();
        // The float model is done with its runners here; this body's (its
        // float weights) only if the quantized model does not observe
        // through it.
        floatChain.clear();
        dropRunners(floatRunners, held, body);
        if (!observeByRunning) {
          runner = nullptr;
          dropRunners(runners, body, body + 1);
        }
        for (q::LayerStatistics &in : perInput)
          in.h = q::LayerStatistics(in.k, in.diagonalOnly).h;
        if (failed(passOverWindows(false, true)))
          return failure();
        chain.clear();
        runner = nullptr;
        dropRunners(runners, held, body + 1);
      }
      cutQuant.clear();
      cutFloat.clear();
      cutNear.clear();
      ranQuant.clear();
      ranFloat.clear();
      ranNear.clear();
      // What the runs freed, before the stage's largest allocations (the
      // inverse factor of a wide layer's M is 254 MB at K = 5632).
      ::smq::releaseFreedMemory();
      q::StatisticsFile stageStats;
      llvm::StringSet<> keys;
      for (size_t l = 0; l < stage.keys.size(); ++l) {
        keys.insert(stage.keys[l].first);
        // The last weight of an input takes its statistics; others a copy.
        size_t in = stage.inputOf[l];
        bool lastOfInput =
            std::find(stage.inputOf.begin() + l + 1, stage.inputOf.end(),
                      in) == stage.inputOf.end();
        stageStats.layers[stage.keys[l].first] =
            lastOfInput ? std::move(perInput[in]) : perInput[in];
      }
      // Quantize the stage; later stages see its quantized values.
      StageFilter filter;
      filter.keys = &keys;
      filter.consumable = &stageStats;
      filter.quantized = [&](StringRef key,
                             const q::QuantizedWeight &qw) -> LogicalResult {
        if (runner && failed(runner->replaceWeight(key, qw.dequantize(),
                                                   qw.rows, qw.cols,
                                                   heldAsW.lookup(key), &why)))
          return module.emitError() << "sequential: " << why;
        quantizedSoFar.insert_or_assign(key, KeptWeight(qw));
        return success();
      };
      if (failed(quantizeMatMuls(module, s, &stageStats, q::Sequences::All,
                                 lam, "", reportRows, filter)))
        return failure();
      // The quantized model (and its neighbours) move on to the next cut,
      // unless the next stage recomputes its values from this one.
      if (!last && !deferNext) {
        // A split stage compiles its runners again, its weights quantized.
        if (split && (failed(compileChain()) || !(runner = runnerFor(body))))
          return failure();
        size_t streamsToMove = needD ? 2 : 1;
        std::vector<std::string> runErrors(streamsToMove * windows.size());
        parallel(streamsToMove * windows.size(), [&](size_t task) {
          State &heldState = task % streamsToMove == 0
                                 ? quantState[task / streamsToMove]
                                 : nearState[task / streamsToMove];
          State scratch, out;
          State *state = runChain(chain, held, heldState, scratch,
                                  runErrors[task]);
          if (!state || !run(*state, out, runErrors[task]))
            return;
          out.resize(carried);
          heldState = std::move(out);
          runErrors[task].clear();
        });
        for (const std::string &error : runErrors)
          if (!error.empty())
            return module.emitError() << "sequential: " << error;
      }
      // Runners of segments before where the next stage holds its values
      // are done with.
      size_t nextHeld = last ? segmentCount
                             : stages[st + 1].recompute
                                   ? stage.narrowSegment
                                   : stages[st + 1].narrowSegment;
      for (size_t seg = 0; seg < nextHeld; ++seg) {
        runners[seg].reset();
        floatRunners[seg].reset();
      }
      // So are the quantized weights that no runner still to be compiled
      // uses.
      for (auto it = quantizedSoFar.begin(); it != quantizedSoFar.end();) {
        auto entry = it++;
        bool used = false;
        for (size_t seg = nextHeld; seg < segmentCount && !used; ++seg)
          used = usedIn[seg].contains(entry->getKey());
        if (!used)
          quantizedSoFar.erase(entry);
      }
      // And what the stage freed: its statistics, the old cut's values.
      ::smq::releaseFreedMemory();
      progress.step(llvm::formatv("({0} layer{1}, {2} windows)",
                                  stage.keys.size(),
                                  stage.keys.size() == 1 ? "" : "s",
                                  windows.size())
                        .str());
    }
    return success();
  }

  /// Scores each λ of `grid` on the held-out calibration sequences.
  LogicalResult selectLambda(ModuleOp module, const Settings &s,
                             const q::StatisticsFile &stats,
                             ArrayRef<double> grid,
                             std::vector<Candidate> &candidates,
                             int64_t &heldOutTokens) {
    if (stats.heldOutSequences() == 0)
      return module.emitError()
             << "lambda=auto scores candidates on held-out calibration "
                "sequences, and '"
             << statsPath
             << "' has none (calibrate with --holdout N and at least N "
                "sequences), or give lambda a number";
    const SmqExecutionInterface *exec =
        executionEngine(module, "lambda=auto", "; give lambda a number");
    if (!exec)
      return failure();
    int threads = threadsFor(s);
    std::string why;
    auto reference = exec->compileTokenModel(module, nullptr, threads, &why);
    if (!reference)
      return module.emitError()
             << "lambda=auto cannot run the float model: " << why;
    int64_t length = stats.heldOutLength, vocab = reference->vocabulary();
    if (vocab == 0)
      return module.emitError() << "lambda=auto scores next-token "
                                   "predictions, and the model's first "
                                   "output is not [1, T, V] logits; give "
                                   "lambda a number";
    if (reference->sequenceLength() != length)
      return module.emitError()
             << "lambda=auto: the model takes windows of "
             << reference->sequenceLength()
             << " tokens but the held-out sequences have " << length
             << " (import the model with --input-shape <tokens>=1x" << length
             << ")";
    int64_t sequences = stats.heldOutSequences();
    std::vector<std::vector<float>> referenceLogits(sequences);
    for (int64_t i = 0; i < sequences; ++i)
      if (failed(reference->run(
              ArrayRef<int64_t>(stats.heldOutTokens).slice(i * length, length),
              referenceLogits[i], &why)))
        return module.emitError() << "lambda=auto: " << why;
    reference.reset();

    for (size_t c = 0; c < grid.size(); ++c) {
      double lam = grid[c];
      std::string stage = llvm::formatv("lambda {0} ({1}/{2}): ", num(lam), c + 1,
                                        grid.size());
      auto runner = exec->compileTokenModel(
          module,
          [&](ModuleOp copy) {
            return quantizeMatMuls(copy, s, &stats, q::Sequences::NotHeldOut,
                                   lam, stage, nullptr);
          },
          threads, &why);
      if (!runner)
        return module.emitError()
               << "lambda=auto: candidate lambda " << lam << ": " << why;
      ::smq::eval::LanguageModelStats score;
      std::vector<float> logits;
      for (int64_t i = 0; i < sequences; ++i) {
        ArrayRef<int64_t> tokens =
            ArrayRef<int64_t>(stats.heldOutTokens).slice(i * length, length);
        if (failed(runner->run(tokens, logits, &why)))
          return module.emitError() << "lambda=auto: " << why;
        for (int64_t t = 0; t + 1 < length; ++t) {
          if (tokens[t + 1] < 0 || tokens[t + 1] >= vocab)
            return module.emitError()
                   << "lambda=auto: held-out token " << tokens[t + 1]
                   << " is outside the model's vocabulary of " << vocab;
          score.add(&logits[t * vocab], vocab, tokens[t + 1],
                    &referenceLogits[i][t * vocab]);
        }
      }
      candidates.push_back({lam, score.meanNll(), score.meanKl()});
      heldOutTokens = score.positions();
      if (s.progress)
        s.progress->note(
            llvm::formatv("quantize: lambda {0}: held-out NLL {1:f6}, KL to "
                          "float {2:e4} over {3} tokens",
                          num(lam), score.meanNll(), score.meanKl(),
                          score.positions())
                .str());
    }
    return success();
  }

  LogicalResult writeReport(ModuleOp module, double lam, bool autoLambda,
                            ArrayRef<Candidate> candidates,
                            int64_t heldOutTokens,
                            const std::vector<std::string> &rows) {
    std::string json = "{\n  \"lambda\": {";
    if (autoLambda) {
      json += llvm::formatv("\"mode\": \"auto\", \"criterion\": \"{0}\", "
                            "\"picked\": {1}, \"held_out_tokens\": {2}, "
                            "\"candidates\": [",
                            criterionName(lambdaCriterion), num(lam),
                            heldOutTokens)
                  .str();
      for (size_t i = 0; i < candidates.size(); ++i)
        json += llvm::formatv("{0}{{\"lambda\": {1}, \"nll\": {2:f8}, "
                              "\"kl\": {3:e6}}",
                              i ? ", " : "", num(candidates[i].lambda),
                              candidates[i].nll, candidates[i].kl)
                    .str();
      json += "]},\n";
    } else {
      json += llvm::formatv("\"mode\": \"fixed\", \"picked\": {0}},\n", num(lam))
                  .str();
    }
    json += "  \"layers\": [\n";
    for (size_t i = 0; i < rows.size(); ++i)
      json += "    " + rows[i] + (i + 1 < rows.size() ? ",\n" : "\n");
    json += "  ]\n}\n";
    std::string why;
    if (!::smq::writeFileAtomically(
            report, [&](std::ostream &os) { return bool(os << json); }, &why))
      return module.emitError() << why;
    return success();
  }
};

} // namespace
