#!/usr/bin/env node
// Greedy generation with ONNX Runtime on a decoder with a KV cache in
// Hugging Face's contract (input_ids, attention_mask, position_ids,
// past_key_values.{i}.key/value -> logits, present.{i}.key/value; or ONNX
// Runtime GenAI's, without position_ids), step by
// step with a cache that grows by one position per token: the reference
// smq-generate is compared with, and the peer bench/generate.sh times.
//
//   node ort_generate.mjs MODEL.onnx PROMPT_FILE N [--threads T]
//
// Writes the N new bytes to stdout and "prompt: X tok/s, decode: Y tok/s"
// to stderr. Needs onnxruntime-node (NODE_PATH or a parent node_modules).
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const require = createRequire(path.join(process.cwd(), 'noop.js'));
const ort = require('onnxruntime-node');

const [modelPath, promptPath, count, ...rest] = process.argv.slice(2);
const n = parseInt(count, 10);
const threads = rest[0] === '--threads' ? parseInt(rest[1], 10) : 1;
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: threads, interOpNumThreads: 1,
});

const pastNames = session.inputNames.filter(s => s.startsWith('past_key_values.'));
// [batch, heads, past, head size]: heads and head size from the metadata.
const dims = {};
for (const meta of session.inputMetadata)
  if (meta.name.startsWith('past_key_values.')) dims[meta.name] = meta.shape;

const prompt = [...fs.readFileSync(promptPath)];
let past = {};
for (const name of pastNames) {
  const [, h, , d] = dims[name];
  past[name] = new ort.Tensor('float32', new Float32Array(0), [1, h, 0, d]);
}
const i64 = (a, shape) => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), shape);

let length = 0;
async function step(tokens) {
  const feeds = {
    input_ids: i64(tokens, [1, tokens.length]),
    attention_mask: i64(Array(length + tokens.length).fill(1), [1, length + tokens.length]),
    ...past,
  };
  // ONNX Runtime GenAI's decoders with GroupQueryAttention take none.
  if (session.inputNames.includes('position_ids'))
    feeds.position_ids = i64(tokens.map((_, i) => length + i), [1, tokens.length]);
  const out = await session.run(feeds);
  length += tokens.length;
  for (const name of pastNames) past[name] = out[name.replace('past_key_values.', 'present.')];
  const logits = out.logits;
  const vocab = logits.dims[2];
  const row = logits.data.subarray((tokens.length - 1) * vocab, tokens.length * vocab);
  let best = 0;
  for (let i = 1; i < vocab; ++i) if (row[i] > row[best]) best = i;
  return best;
}

const out = [];
let t0 = performance.now();
out.push(await step(prompt));
const promptMs = performance.now() - t0;
t0 = performance.now();
for (let i = 1; i < n; ++i) out.push(await step([out[out.length - 1]]));
const decodeMs = performance.now() - t0;
process.stdout.write(Buffer.from(out));
process.stderr.write(`prompt: ${(prompt.length / promptMs * 1e3).toFixed(1)} tok/s, ` +
  `decode: ${((n - 1) / decodeMs * 1e3).toFixed(1)} tok/s ` +
  `(ONNX Runtime ${ort.env.versions?.common ?? ''}, ${threads} threads)\n`);
