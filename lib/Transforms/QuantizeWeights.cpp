//===- QuantizeWeights.cpp - MatMul weights to grouped low-bit codes ------===//
//
// Adapts smq IR to the plain C++ numerics of lib/Quant: reads each weight
// blob and its calibration statistics, quantizes, and replaces the matmul by
// an smq.quantized_matmul over new blobs.
//
//===----------------------------------------------------------------------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Quant/Quantizer.h"
#include "smq/Quant/Statistics.h"
#include "smq/Support/AtomicFile.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Regex.h"

#include <chrono>

namespace mlir::smq {
#define GEN_PASS_DEF_SMQQUANTIZEWEIGHTS
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;
namespace q = ::smq::quant;

namespace {

/// Packs codes row by row into little-endian bit streams.
std::vector<uint8_t> packCodes(const q::QuantizedWeight &w) {
  int64_t rowBytes = (w.cols * w.bits + 7) / 8;
  std::vector<uint8_t> out(w.rows * rowBytes, 0);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      uint32_t v = w.codes[r * w.cols + c];
      int64_t bit = c * w.bits;
      for (int b = 0; b < w.bits; ++b, ++bit)
        if (v >> b & 1)
          out[r * rowBytes + bit / 8] |= uint8_t(1u << (bit % 8));
    }
  return out;
}

DenseResourceElementsAttr blob(MLIRContext *ctx, ArrayRef<int64_t> shape,
                               Type elt, ArrayRef<char> bytes,
                               const std::string &name) {
  auto type = RankedTensorType::get(shape, elt);
  size_t align = std::max<size_t>(1, elt.getIntOrFloatBitWidth() / 8);
  return DenseResourceElementsAttr::get(
      type, name, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, align));
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

struct QuantizeWeightsPass
    : public mlir::smq::impl::SmqQuantizeWeightsBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (bits < 2 || bits > 8) {
      module.emitError() << "bits must be between 2 and 8, got " << bits;
      return signalPassFailure();
    }
    if (groupSize < 0) {
      module.emitError() << "group-size must be >= 0";
      return signalPassFailure();
    }
    if (method != "rtn" && method != "wmse" && method != "search" &&
        method != "gptq") {
      module.emitError() << "unknown method '" << method
                         << "' (rtn, wmse, search or gptq)";
      return signalPassFailure();
    }
    double lam = 0;
    if (lambda == "auto") {
      module.emitError() << "lambda=auto is not implemented yet; give a "
                            "number (0 is fitting only)";
      return signalPassFailure();
    }
    if (!llvm::to_float(lambda.getValue(), lam) || lam < 0) {
      module.emitError() << "lambda must be a non-negative number, got '"
                         << lambda << "'";
      return signalPassFailure();
    }
    bool needsStats = method == "search" || method == "gptq";
    std::optional<q::StatisticsFile> stats;
    if (needsStats) {
      if (statsPath.empty()) {
        module.emitError() << "method " << method
                           << " needs calibration statistics (stats=FILE)";
        return signalPassFailure();
      }
      std::string why;
      stats = q::readStatistics(statsPath, &why);
      if (!stats) {
        module.emitError() << why;
        return signalPassFailure();
      }
    }
    llvm::Regex excludeRe(exclude.getValue());
    std::string reError;
    if (!exclude.empty() && !excludeRe.isValid(reError)) {
      module.emitError() << "exclude is not a valid regex: " << reError;
      return signalPassFailure();
    }

    struct Done {
      Value codes, scales, zeros;
    };
    llvm::StringMap<Done> done;
    std::vector<std::string> reportRows;
    bool failedAny = false;
    SmallVector<MatMulOp> matmuls;
    module.walk([&](MatMulOp op) { matmuls.push_back(op); });
    for (MatMulOp op : matmuls) {
      DenseResourceElementsAttr res = getWeightAttr(op.getRhs());
      auto wType = res ? dyn_cast<RankedTensorType>(res.getType())
                       : RankedTensorType();
      if (!wType || !wType.getElementType().isF32() || !wType.hasStaticShape())
        continue;
      auto cst = op.getRhs().getDefiningOp<ConstantOp>();
      std::string key = res.getRawHandle().getKey().str();
      std::string node;
      if (auto name = dyn_cast<NameLoc>(op.getLoc()))
        node = name.getName().str();
      if (!exclude.empty() &&
          (excludeRe.match(key) || (!node.empty() && excludeRe.match(node))))
        continue;
      OpBuilder b(op);
      auto it = done.find(key);
      if (it == done.end()) {
        AsmResourceBlob *data = res.getRawHandle().getBlob();
        if (!data) {
          op.emitError() << "weight '" << key << "' has no data";
          failedAny = true;
          continue;
        }
        int64_t k = wType.getDimSize(0), n = wType.getDimSize(1);
        auto src = reinterpret_cast<const float *>(data->getData().data());
        // smq.matmul multiplies by a K×N weight; W is its transpose.
        std::vector<float> w(n * k);
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < n; ++j)
            w[j * k + i] = src[i * n + j];
        q::Config config{static_cast<int>(bits.getValue()),
                         groupSize == 0 ? k : std::min<int64_t>(groupSize, k),
                         symmetric, threads};
        std::vector<double> h, d, m, m0;
        if (needsStats) {
          auto entry = stats->layers.find(key);
          if (entry == stats->layers.end()) {
            op.emitError() << "no calibration statistics for weight '" << key
                           << "' (exclude it, or calibrate this model)";
            failedAny = true;
            continue;
          }
          if (entry->second.k != k) {
            op.emitError() << "statistics for '" << key << "' have K = "
                           << entry->second.k << " but the weight has K = "
                           << k;
            failedAny = true;
            continue;
          }
          h = entry->second.fullH();
          d = entry->second.fullD();
          m = q::combineStatistics(h.data(), d.data(), k, lam);
          m0 = q::combineStatistics(h.data(), nullptr, k, 0.0);
        }
        auto start = std::chrono::steady_clock::now();
        auto quantize = [&](const std::vector<double> &mm,
                            q::QuantizedWeight &out) -> bool {
          if (method == "rtn")
            out = q::quantizeRtn(w.data(), n, k, config);
          else if (method == "wmse")
            out = q::quantizeWmse(w.data(), n, k, config);
          else if (method == "search")
            out = q::quantizeSearch(w.data(), n, k, config, mm.data());
          else {
            std::string why;
            if (!q::quantizeGptq(w.data(), n, k, config, mm.data(), out,
                                 &why)) {
              op.emitError() << "gptq on '" << key << "': " << why;
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
        double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
        std::vector<uint8_t> packed = packCodes(qw);
        int64_t rowBytes = (k * qw.bits + 7) / 8, groups = qw.groupsPerRow();
        Type ui8 = IntegerType::get(ctx, 8, IntegerType::Unsigned);
        auto codesAttr = blob(
            ctx, {n, rowBytes}, ui8,
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
        it = done.insert({key, entry}).first;

        if (!report.empty()) {
          std::vector<float> wq = qw.dequantize();
          double meanClip = 0;
          for (float c : qw.clips)
            meanClip += c;
          meanClip /= qw.clips.empty() ? 1 : qw.clips.size();
          std::string row = llvm::formatv(
              "{{\"weight\": \"{0}\", \"node\": \"{1}\", \"rows\": {2}, "
              "\"cols\": {3}, \"bits\": {4}, \"group\": {5}, "
              "\"method\": \"{6}\", \"lambda\": {7}, \"mean_clip\": {8:f4}, "
              "\"seconds\": {9:f4}",
              key, node, n, k, qw.bits, qw.groupSize, method.getValue(), lam,
              meanClip, seconds);
          if (needsStats) {
            double fit = relativeError(w, wq, n, k, m0);
            double smooth = relativeError(
                w, wq, n, k, q::combineStatistics(d.data(), nullptr, k, 0.0));
            row += llvm::formatv(", \"fitting_error\": {0:e4}, "
                                 "\"smoothness_error\": {1:e4}",
                                 fit, smooth)
                       .str();
            q::QuantizedWeight q0;
            if (lam != 0 && quantize(m0, q0)) {
              std::vector<float> w0 = q0.dequantize();
              row += llvm::formatv(
                         ", \"fitting_error_lambda0\": {0:e4}, "
                         "\"smoothness_error_lambda0\": {1:e4}",
                         relativeError(w, w0, n, k, m0),
                         relativeError(w, w0, n, k,
                                       q::combineStatistics(d.data(), nullptr,
                                                            k, 0.0)))
                         .str();
            }
          }
          reportRows.push_back(row + "}");
        }
      }
      b.setInsertionPoint(op);
      auto qmm = QuantizedMatMulOp::create(
          b, op.getLoc(), op.getLhs(), it->second.codes, it->second.scales,
          it->second.zeros, b.getI64IntegerAttr(bits),
          b.getI64IntegerAttr(groupSize == 0 ? wType.getDimSize(0)
                                             : std::min<int64_t>(
                                                   groupSize,
                                                   wType.getDimSize(0))));
      op.getResult().replaceAllUsesWith(qmm.getResult());
      op.erase();
      if (cst.use_empty())
        cst.erase();
    }
    if (failedAny)
      return signalPassFailure();
    if (!report.empty()) {
      std::string json = "[\n";
      for (size_t i = 0; i < reportRows.size(); ++i)
        json += "  " + reportRows[i] + (i + 1 < reportRows.size() ? ",\n" : "\n");
      json += "]\n";
      std::string why;
      if (!::smq::writeFileAtomically(
              report, [&](std::ostream &os) { return bool(os << json); },
              &why)) {
        module.emitError() << why;
        return signalPassFailure();
      }
    }
  }
};

} // namespace
