"""Inputs for one no-cache pass of a KV decoder over prompt + generated
tokens, and the check that the generated tokens are that pass's argmax.

    kv_no_cache_inputs.py PROMPT GEN.json OUTDIR [KV_HEADS HEAD_SIZE]
                          [--sample IDS.npy]
    kv_no_cache_inputs.py --check LOGITS.npy PROMPT GEN.json

--sample: the pass covers these token ids ([1, n]) instead (PROMPT and
GEN.json are then not read).
"""
import json
import os
import sys

import numpy as np

if sys.argv[1] == "--check":
    logits = np.load(sys.argv[2])
    prompt = open(sys.argv[3], "rb").read()
    tokens = json.load(open(sys.argv[4]))["tokens"][0]
    # The token after position i is predicted by logits[0, i].
    predicted = logits[0, len(prompt) - 1:len(prompt) - 1 + len(tokens)].argmax(-1)
    same = int((predicted == np.array(tokens)).sum())
    print("%d of %d generated tokens are the no-cache argmax" % (same, len(tokens)))
    sys.exit(0 if same == len(tokens) else 1)

args = sys.argv[1:]
sample = None
if "--sample" in args:
    at = args.index("--sample")
    sample = args[at + 1]
    del args[at:at + 2]
out = args[2]
os.makedirs(out, exist_ok=True)
if sample:
    ids = np.load(sample).astype(np.int64)
else:
    prompt = open(args[0], "rb").read()
    tokens = json.load(open(args[1]))["tokens"][0]
    # The last generated token is never fed back, so the pass covers the
    # prompt and all but the last.
    ids = np.array(list(prompt) + tokens[:-1], dtype=np.int64)[None, :]
n = ids.shape[1]
np.save(os.path.join(out, "input_ids.npy"), ids)
np.save(os.path.join(out, "attention_mask.npy"), np.ones((1, n), dtype=np.int64))
np.save(os.path.join(out, "position_ids.npy"), np.arange(n, dtype=np.int64)[None, :])
heads, head = (int(args[3]), int(args[4])) if len(args) > 4 else (4, 48)
np.save(os.path.join(out, "past.npy"), np.zeros((1, heads, 0, head), dtype=np.float32))
