//===- Generation.cpp - text generation with a KV cache -------------------===//
#include "smq/Execution/Generation.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/BitVector.h"

#include <chrono>
#include <cstring>
#include <set>

using namespace mlir;
using namespace mlir::smq;
using ::smq::DType;
using ::smq::HostArray;

namespace {

HostArray zeros(DType dtype, std::vector<int64_t> shape) {
  HostArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.bytes.assign(a.numElements() * ::smq::dtypeSize(dtype), 0);
  return a;
}

void setInt(HostArray &a, int64_t k, int64_t v) {
  switch (a.dtype) {
  case DType::I64:
    a.data<int64_t>()[k] = v;
    break;
  case DType::I32:
    a.data<int32_t>()[k] = static_cast<int32_t>(v);
    break;
  default:
    a.bytes[k] = static_cast<char>(v != 0); // bool masks
  }
}

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Whether each past input of `io` feeds only the past operand of one
/// GroupQueryAttention whose present result is returned, unchanged, as the
/// matching present output. Then the compiled code's only reader of a past
/// is the KV-cache kernel that writes its present (smq.ukernel.kv_place,
/// which reads a row before it writes it, and copies nothing onto itself),
/// and the two may be one buffer.
bool pastFeedsOnlyItsPresent(ModuleOp module, StringRef entry,
                             const DecoderContract &io) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal())
    return false;
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  auto named = [](DictionaryAttr attrs) -> StringRef {
    auto name = attrs ? attrs.getAs<StringAttr>("smq.name") : StringAttr();
    return name ? name.getValue() : StringRef();
  };
  for (size_t i = 0; i < io.past.size(); ++i) {
    Value past;
    for (unsigned a = 0; a < func.getNumArguments(); ++a)
      if (named(func.getArgAttrDict(a)) == io.past[i])
        past = func.getArgument(a);
    int result = -1;
    for (unsigned r = 0; r < func.getNumResults(); ++r)
      if (named(func.getResultAttrDict(r)) == io.present[i])
        result = int(r);
    if (!past || result < 0 || !past.hasOneUse())
      return false;
    auto gqa = dyn_cast<GroupQueryAttentionOp>(*past.user_begin());
    if (!gqa)
      return false;
    Value present = past == gqa.getPastKey()     ? gqa.getPresentKey()
                    : past == gqa.getPastValue() ? gqa.getPresentValue()
                                                 : Value();
    if (!present || !present.hasOneUse() ||
        *present.user_begin() != ret.getOperation() ||
        ret.getOperand(result) != present)
      return false;
  }
  return !io.past.empty();
}

} // namespace

struct Generator::Variant {
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<CompiledModel> model;
  int64_t seq = 0, past = 0;
  /// The decode variant whose presents are its pasts' buffers (the cache):
  /// its past and mask span all the slots, and a step writes its new keys
  /// and values straight into the cache.
  bool shared = false;
  /// Per output, the input whose bytes it is written into, or -1.
  std::vector<int> outputInInput;
  std::vector<HostArray> own;
  std::vector<const HostArray *> ordered;
  std::vector<HostArray> outputs;
  int ids = -1, mask = -1, positions = -1, logits = -1;
  /// Per contract.past entry: the input index, and the present output's.
  std::vector<int> pastInput, presentOutput;
};

Generator::~Generator() = default;

std::unique_ptr<Generator> Generator::create(ModuleOp module,
                                             const GeneratorOptions &options) {
  auto io = findDecoderContract(module, options.compile.entry);
  if (failed(io))
    return nullptr;
  if (options.maxContext < 1 || options.batch < 1 || options.promptChunk < 1) {
    module.emitError() << "the context, the batch and the prompt chunk must "
                          "be at least 1";
    return nullptr;
  }
  if (io->positions > 0 && options.maxContext > io->positions) {
    module.emitError() << "a context of " << options.maxContext
                       << " tokens exceeds the model's " << io->positions
                       << " positions";
    return nullptr;
  }
  std::unique_ptr<Generator> g(new Generator());
  g->io = *io;
  g->slots = options.maxContext;
  g->rows = options.batch;
  g->chunk = std::min(options.promptChunk, options.maxContext);
  g->fill.assign(g->rows, 0);
  // GroupQueryAttention's present is [B, Nk, max(past, total), H]: with a
  // past and a mask of all the slots, a decode step's present has its
  // past's shape, and where nothing but the KV kernel reads the past they
  // share the cache's buffer, so that a step does not copy the whole cache
  // (ONNX Runtime GenAI's shared past and present buffer). Otherwise the
  // past has a slot fewer than the present.
  bool share = options.shareCache && io->cacheAtLength &&
               options.compile.device == "cpu" &&
               options.compile.attentionKernel &&
               pastFeedsOnlyItsPresent(module, options.compile.entry, *io);
  auto makeCache = [&](bool shared) {
    g->cacheSlots = shared ? g->slots : g->slots - 1;
    g->cache.clear();
    for (size_t i = 0; i < io->past.size(); ++i)
      g->cache.push_back(zeros(DType::F32, {g->rows, io->heads[i],
                                            g->cacheSlots, io->headDims[i]}));
  };
  makeCache(share);

  double t0 = now();
  // The variants share one packing of the weights: packed here, on the
  // model with its dims still dynamic, their clones refer to the same
  // panels and codes, and compiling each finds nothing left to pack. (Each
  // packed its own copy before: twice a model's weights.)
  OwningOpRef<ModuleOp> packed = module.clone();
  if (failed(packWeights(*packed, options.compile)))
    return nullptr;
  bool presentUnlikePast = false;
  auto build = [&](int64_t seq, bool shared) -> std::unique_ptr<Variant> {
    auto v = std::make_unique<Variant>();
    v->seq = seq;
    v->shared = shared;
    v->past = shared ? g->slots : g->slots - seq;
    std::map<std::string, std::vector<int64_t>> shapes = {
        {io->inputIds, {g->rows, seq}},
        {io->attentionMask, {g->rows, g->slots}}};
    if (!io->positionIds.empty())
      shapes[io->positionIds] = {g->rows, seq};
    for (size_t i = 0; i < io->past.size(); ++i)
      shapes[io->past[i]] = {g->rows, io->heads[i], v->past, io->headDims[i]};
    v->module = packed->clone();
    if (failed(specializeInputShapes(*v->module, shapes)))
      return nullptr;
    // Only the new rows of each present are read (below): the rest need
    // not be zeroed on every step.
    CompileOptions compile = options.compile;
    compile.zeroPresentTail = false;
    v->model = CompiledModel::compile(*v->module, compile);
    if (!v->model)
      return nullptr;
    const auto &inputs = v->model->inputs();
    v->own.reserve(inputs.size());
    v->pastInput.assign(io->past.size(), -1);
    for (size_t k = 0; k < inputs.size(); ++k) {
      const std::string &name = inputs[k].name;
      v->own.push_back(zeros(inputs[k].dtype, inputs[k].shape));
      v->ordered.push_back(&v->own.back());
      if (name == io->inputIds)
        v->ids = k;
      else if (name == io->attentionMask)
        v->mask = k;
      else if (!io->positionIds.empty() && name == io->positionIds)
        v->positions = k;
      for (size_t i = 0; i < io->past.size(); ++i)
        if (name == io->past[i]) {
          v->pastInput[i] = k;
          // The decode variant reads the cache in place.
          if (seq == 1)
            v->ordered.back() = &g->cache[i];
        }
    }
    const auto &outputs = v->model->outputs();
    v->presentOutput.assign(io->present.size(), -1);
    for (size_t k = 0; k < outputs.size(); ++k) {
      if (outputs[k].name == io->logits)
        v->logits = k;
      for (size_t i = 0; i < io->present.size(); ++i)
        if (outputs[k].name == io->present[i])
          v->presentOutput[i] = k;
    }
    v->outputInInput.assign(outputs.size(), -1);
    for (size_t i = 0; shared && i < io->present.size(); ++i) {
      int in = v->pastInput[i], out = v->presentOutput[i];
      if (in < 0 || out < 0 || inputs[in].shape != outputs[out].shape ||
          inputs[in].dtype != outputs[out].dtype) {
        presentUnlikePast = true;
        return nullptr;
      }
      v->outputInInput[out] = in;
    }
    std::vector<DType> indexTypes = {inputs[v->ids].dtype};
    if (v->positions >= 0)
      indexTypes.push_back(inputs[v->positions].dtype);
    for (DType t : indexTypes)
      if (t != DType::I64 && t != DType::I32) {
        module.emitError() << "input_ids and position_ids must be int64 or "
                              "int32, not "
                           << ::smq::dtypeName(t);
        return nullptr;
      }
    return v;
  };
  g->decode = build(1, share);
  if (presentUnlikePast) {
    // The present did not come out with its past's shape: separate
    // buffers, as for other models. (A variant that failed to compile is
    // an error either way, and is not compiled again.)
    makeCache(false);
    g->decode = build(1, false);
  }
  if (!g->decode)
    return nullptr;
  if (g->chunk > 1) {
    g->prompt = build(g->chunk, false);
    if (!g->prompt)
      return nullptr;
  }
  g->seconds = now() - t0;
  return g;
}

bool Generator::checkTokens(const std::vector<int64_t> &tokens,
                            std::string *why) const {
  for (int64_t t : tokens)
    if (t < 0 || t >= io.vocab) {
      *why = "token " + std::to_string(t) + " is outside the model's " +
             std::to_string(io.vocab) + "-token vocabulary";
      return false;
    }
  return true;
}

bool Generator::run(Variant &v, const std::vector<std::vector<int64_t>> &tokens,
                    std::vector<std::vector<float>> &logits, std::string *why) {
  const int64_t total = v.shared ? slots : v.past + v.seq;
  HostArray &ids = v.own[v.ids], &mask = v.own[v.mask];
  HostArray *pos = v.positions >= 0 ? &v.own[v.positions] : nullptr;
  for (int64_t b = 0; b < rows; ++b) {
    int64_t n = tokens[b].size();
    for (int64_t i = 0; i < v.seq; ++i) {
      setInt(ids, b * v.seq + i, i < n ? tokens[b][i] : 0);
      if (pos)
        setInt(*pos, b * v.seq + i, i < n ? fill[b] + i : 0);
    }
    // GroupQueryAttention reads a row's past length off the mask's sum
    // (minus the chunk): padding tokens count, and land after the row's
    // real ones, where nothing reads them before they are overwritten.
    // Sharing the cache, the mask spans its slots: the row's past and new
    // tokens, then nothing.
    for (int64_t j = 0; j < total; ++j)
      setInt(mask, b * total + j,
             v.shared     ? j < fill[b] + v.seq
             : j < v.past ? j < fill[b]
                          : io.cacheAtLength || j - v.past < n);
  }
  // The prompt variant reads the first `past` slots of the cache.
  for (size_t i = 0; i < cache.size() && v.seq > 1; ++i) {
    HostArray &dst = v.own[v.pastInput[i]];
    int64_t d = io.headDims[i], n = rows * io.heads[i];
    for (int64_t bh = 0; bh < n; ++bh)
      std::memcpy(dst.data<float>() + bh * v.past * d,
                  cache[i].data<float>() + bh * cacheSlots * d,
                  v.past * d * sizeof(float));
  }
  if (!v.model->run(v.ordered, v.outputs, why, &v.outputInInput))
    return false;
  // New keys and values follow the past slots in each present output, or
  // sit at the row's length (GroupQueryAttention); sharing the cache, they
  // are in it already.
  for (size_t i = 0; i < cache.size() && !v.shared; ++i) {
    const HostArray &present = v.outputs[v.presentOutput[i]];
    int64_t d = io.headDims[i], h = io.heads[i], length = present.shape[2];
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t head = 0; head < h; ++head)
        for (int64_t t = 0; t < int64_t(tokens[b].size()); ++t) {
          int64_t slot = fill[b] + t;
          if (slot >= cacheSlots)
            continue; // the context is then full: no later step reads it
          int64_t from = io.cacheAtLength ? slot : v.past + t;
          std::memcpy(cache[i].data<float>() +
                          ((b * h + head) * cacheSlots + slot) * d,
                      present.data<float>() +
                          ((b * h + head) * length + from) * d,
                      d * sizeof(float));
        }
  }
  const HostArray &out = v.outputs[v.logits];
  logits.resize(rows);
  for (int64_t b = 0; b < rows; ++b) {
    int64_t n = tokens[b].size();
    if (n == 0)
      continue;
    const float *row = out.data<float>() + (b * v.seq + n - 1) * io.vocab;
    logits[b].assign(row, row + io.vocab);
    fill[b] += n;
  }
  return true;
}

bool Generator::checkPrompts(const std::vector<std::vector<int64_t>> &prompts,
                             std::string *why) const {
  if (int64_t(prompts.size()) != rows) {
    *why = std::to_string(prompts.size()) + " prompts for a batch of " +
           std::to_string(rows);
    return false;
  }
  for (const auto &p : prompts) {
    if (p.empty() || int64_t(p.size()) > slots) {
      *why = "a prompt of " + std::to_string(p.size()) +
             " tokens does not fit a context of " + std::to_string(slots) +
             " (it must have 1 to " + std::to_string(slots) + " tokens)";
      return false;
    }
    if (!checkTokens(p, why))
      return false;
  }
  return true;
}

bool Generator::prefill(const std::vector<std::vector<int64_t>> &prompts,
                        std::vector<std::vector<float>> &logits,
                        std::string *why) {
  if (!checkPrompts(prompts, why))
    return false;
  fill.assign(rows, 0);
  for (HostArray &c : cache)
    std::fill(c.bytes.begin(), c.bytes.end(), 0);
  std::vector<size_t> done(rows, 0);
  for (;;) {
    bool left = false;
    int64_t most = 0;
    for (int64_t b = 0; b < rows; ++b) {
      left |= done[b] < prompts[b].size();
      most = std::max(most, fill[b]);
    }
    if (!left)
      return true;
    // Whole chunks while every row's fill leaves room for one, then single
    // tokens through the decode variant.
    Variant &v = prompt && most <= prompt->past ? *prompt : *decode;
    std::vector<std::vector<int64_t>> part(rows);
    for (int64_t b = 0; b < rows; ++b) {
      size_t n = std::min<size_t>(v.seq, prompts[b].size() - done[b]);
      part[b].assign(prompts[b].begin() + done[b],
                     prompts[b].begin() + done[b] + n);
      done[b] += n;
    }
    if (!run(v, part, logits, why))
      return false;
  }
}

bool Generator::step(const std::vector<int64_t> &tokens,
                     std::vector<std::vector<float>> &logits,
                     std::string *why) {
  if (int64_t(tokens.size()) != rows) {
    *why = std::to_string(tokens.size()) + " tokens for a batch of " +
           std::to_string(rows);
    return false;
  }
  if (!checkTokens(tokens, why))
    return false;
  std::vector<std::vector<int64_t>> part(rows);
  for (int64_t b = 0; b < rows; ++b) {
    if (fill[b] >= slots) {
      *why = "the context of " + std::to_string(slots) +
             " tokens is full (raise the maximum context)";
      return false;
    }
    part[b] = {tokens[b]};
  }
  return run(*decode, part, logits, why);
}

bool mlir::smq::generate(Generator &generator,
                         const std::vector<std::vector<int64_t>> &prompts,
                         int64_t maxNewTokens,
                         const ::smq::eval::SamplingOptions &sampling,
                         const std::function<void(int64_t, int64_t)> &onToken,
                         GenerationResult &result, std::string *why) {
  std::string bad = ::smq::eval::validate(sampling);
  if (!bad.empty()) {
    *why = bad;
    return false;
  }
  if (maxNewTokens < 1) {
    *why = "the number of new tokens must be at least 1";
    return false;
  }
  if (!generator.checkPrompts(prompts, why))
    return false;
  for (const auto &p : prompts)
    if (int64_t(p.size()) + maxNewTokens - 1 > generator.capacity()) {
      *why = "a prompt of " + std::to_string(p.size()) + " tokens and " +
             std::to_string(maxNewTokens) +
             " new ones do not fit a context of " +
             std::to_string(generator.capacity()) +
             " (raise the maximum context)";
      return false;
    }
  int64_t rows = generator.batch();
  std::vector<::smq::eval::TokenSampler> samplers;
  for (int64_t b = 0; b < rows; ++b)
    samplers.emplace_back(sampling, b);
  result = GenerationResult();
  result.tokens.assign(rows, {});
  std::vector<std::vector<float>> logits;
  double t0 = now();
  if (!generator.prefill(prompts, logits, why))
    return false;
  std::vector<int64_t> last(rows);
  auto choose = [&]() {
    for (int64_t b = 0; b < rows; ++b) {
      last[b] = samplers[b].next(logits[b].data(), logits[b].size());
      result.tokens[b].push_back(last[b]);
      if (onToken)
        onToken(b, last[b]);
    }
  };
  choose();
  for (const auto &p : prompts)
    result.promptTokens += p.size();
  result.promptSeconds = now() - t0;
  t0 = now();
  for (int64_t n = 1; n < maxNewTokens; ++n) {
    if (!generator.step(last, logits, why))
      return false;
    choose();
    result.decodeTokens += rows;
  }
  result.decodeSeconds = now() - t0;
  return true;
}
