#!/usr/bin/env python3
"""Perplexity of next-byte prediction from two models' logits on the same
tokens, and whether they agree to 4 significant digits.

    perplexity_pair.py TOKENS.npy LOGITS_A.npy LOGITS_B.npy

TOKENS is [B, T] int64, the logits [B, T, V]; position t predicts token
t+1. Prints both perplexities and exits 1 if they differ at 4 digits.
Needs numpy.
"""
import sys

import numpy as np


def perplexity(tokens, logits):
    logits = logits.astype(np.float64)[:, :-1]
    target = tokens[:, 1:]
    m = logits.max(axis=-1, keepdims=True)
    logz = np.log(np.exp(logits - m).sum(axis=-1)) + m[..., 0]
    picked = np.take_along_axis(logits, target[..., None], axis=-1)[..., 0]
    return float(np.exp((logz - picked).mean()))


def main():
    tokens = np.load(sys.argv[1])
    a, b = (perplexity(tokens, np.load(p)) for p in sys.argv[2:4])
    print("perplexity %.4g %.4g" % (a, b))
    sys.exit(0 if "%.4g" % a == "%.4g" % b else 1)


if __name__ == "__main__":
    main()
