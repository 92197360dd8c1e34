//===- Generation.h - text generation with a KV cache -----------*- C++ -*-===//
//
// Runs a decoder exported with a key/value cache in Hugging Face's ONNX
// contract (input_ids, attention_mask, position_ids and
// past_key_values.{i}.key/value in; logits and present.{i}.key/value out),
// compiled once for a bounded context, not once per token.
//
// SMQ compiles static shapes, so the cache has a fixed number of slots,
// T = the maximum context. Two variants of the model are compiled from one
// module imported with dynamic dims (smq-specialize-shapes on two clones):
//   - decode: seq = 1, past = T - 1;
//   - prompt: seq = C (the prompt chunk), past = T - C.
// Slots a sequence has not filled yet hold zeros and are masked out by
// attention_mask; the model appends the new keys and values after the past
// slots, and the generator copies them into the sequence's next free slots.
// Attention does not depend on where in the cache a key sits (positions
// come from position_ids), so this computes what a growing cache would,
// at the cost of attending over all T slots every step. Sequences of a
// batch may have prompts of different lengths: each row has its own fill.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EXECUTION_GENERATION_H
#define SMQ_EXECUTION_GENERATION_H

#include "smq/Eval/Sampling.h"
#include "smq/Execution/CompiledModel.h"
#include "smq/Transforms/DecoderContract.h"

#include <functional>
#include <memory>

namespace mlir::smq {

struct GeneratorOptions {
  /// Cache slots: prompt plus generated tokens of each sequence fit in it.
  int64_t maxContext = 128;
  /// Prompt tokens per call of the prompt variant (clamped to maxContext).
  int64_t promptChunk = 32;
  /// Sequences run together.
  int64_t batch = 1;
  /// GroupQueryAttention models on the CPU: a decode step's presents are
  /// the cache's own buffers (written in place, not copied), where nothing
  /// but the KV kernel reads the pasts. Off: separate buffers, as before,
  /// for comparison.
  bool shareCache = true;
  CompileOptions compile;
};

class Generator {
public:
  /// Compiles the two variants of `module` (imported with dynamic dims; it
  /// is cloned, not changed). The generator must not outlive the module's
  /// context. Emits diagnostics and returns null on failure.
  static std::unique_ptr<Generator> create(ModuleOp module,
                                           const GeneratorOptions &options);
  ~Generator();

  const DecoderContract &contract() const { return io; }
  int64_t capacity() const { return slots; }
  int64_t batch() const { return rows; }
  double compileSeconds() const { return seconds; }

  /// Whether `prompts` suit prefill(): one per row, each non-empty, no
  /// longer than the context, with tokens in [0, vocab).
  bool checkPrompts(const std::vector<std::vector<int64_t>> &prompts,
                    std::string *why) const;
  /// Starts one sequence per row from its prompt (each non-empty, tokens in
  /// [0, vocab)), dropping any earlier state. `logits` gets, per row, the
  /// logits after the row's last prompt token.
  bool prefill(const std::vector<std::vector<int64_t>> &prompts,
               std::vector<std::vector<float>> &logits, std::string *why);
  /// Appends one token per row and returns the logits after it.
  bool step(const std::vector<int64_t> &tokens,
            std::vector<std::vector<float>> &logits, std::string *why);
  /// Tokens in row `b`'s cache.
  int64_t length(int64_t b) const { return fill[b]; }

private:
  Generator() = default;
  struct Variant;
  /// Runs `v` on `tokens[b][0..n_b)` per row (n_b <= the variant's seq),
  /// storing the new keys and values and the logits of each row's last
  /// token.
  bool run(Variant &v, const std::vector<std::vector<int64_t>> &tokens,
           std::vector<std::vector<float>> &logits, std::string *why);
  bool checkTokens(const std::vector<int64_t> &tokens, std::string *why) const;

  DecoderContract io;
  int64_t slots = 0, rows = 0, chunk = 0;
  double seconds = 0;
  std::unique_ptr<Variant> decode, prompt;
  /// The cache: per contract.past entry, [rows, heads, cacheSlots,
  /// headDim], which is the decode variant's past input itself, and, when
  /// the decode variant shares it (cacheSlots == slots), its present too.
  std::vector<::smq::HostArray> cache;
  int64_t cacheSlots = 0;
  std::vector<int64_t> fill;
};

/// Timings and tokens of one generate() call.
struct GenerationResult {
  std::vector<std::vector<int64_t>> tokens;
  int64_t promptTokens = 0, decodeTokens = 0;
  double promptSeconds = 0, decodeSeconds = 0;
};

/// Prefills `prompts` and generates `maxNewTokens` per row (the first from
/// the prompt's logits, then one decode step per token), calling `onToken`
/// with (row, token) as each is chosen. Each row samples from its own
/// stream of `sampling.seed`.
bool generate(Generator &generator,
              const std::vector<std::vector<int64_t>> &prompts,
              int64_t maxNewTokens, const ::smq::eval::SamplingOptions &sampling,
              const std::function<void(int64_t, int64_t)> &onToken,
              GenerationResult &result, std::string *why);

} // namespace mlir::smq

#endif // SMQ_EXECUTION_GENERATION_H
