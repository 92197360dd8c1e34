#!/usr/bin/env python3
"""Every file an SMQ tool writes is all or nothing: this checks it.

    kill_writers.py kill BIN_DIR WORK_DIR MODEL [--tries N] [--kv-model KV]
    kill_writers.py full-disk BIN_DIR WORK_DIR MODEL [--kv-model KV]

kill: for each tool, N times (default 100), starts it writing a new output
over an old one (on every other try, over no file) and kills it with
SIGKILL at a random moment within its run time. Afterwards the output must
be byte for byte the old file or the complete new one, or be absent where
there was none. Moments are drawn from a fixed seed.

full-disk: run inside `unshare -rm` (a mount namespace of its own): mounts
a 4 MiB tmpfs, puts each tool's old output there, fills the rest, runs the
tool, and requires a non-zero exit, a message that says the disk is full,
the old file unchanged and no temporary left behind.

MODEL is a token model with input ids: int64[1, 4] (onehot-linear). The
reports of smq-eval and smq-sweep come from tiny-lm (beside this folder's
parent); smq-generate's, with --kv-model, from a KV-cache decoder of byte
tokens (the shared gpt-byte-kv).
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("mode", choices=["kill", "full-disk"])
parser.add_argument("bins")
parser.add_argument("work")
parser.add_argument("model")
parser.add_argument("--tries", type=int, default=100)
parser.add_argument("--kv-model")
args = parser.parse_args()
mode, bins, work, model = args.mode, args.bins, args.work, args.model
tries = args.tries
here = os.path.dirname(os.path.abspath(__file__))
# A killed tool cannot remove its temporaries (smq-sweep's work folder, the
# C compiler's files under smq-compile): they go to the work folder, not
# to the system's /tmp.
os.environ["TMPDIR"] = os.path.join(work, "tmp")
os.makedirs(os.environ["TMPDIR"], exist_ok=True)
os.makedirs(work, exist_ok=True)


def tool(name):
    return os.path.join(bins, name)


def write_npy_i64(path, values, shape):
    import struct
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    header += " " * ((64 - (11 + len(header)) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) +
                header.encode() + struct.pack("<%dq" % len(values), *values))


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def check(ok, what):
    if not ok:
        print("FAIL:", what)
        sys.exit(1)


# Inputs every tool below reads.
ids_a, ids_b = os.path.join(work, "a.npy"), os.path.join(work, "b.npy")
write_npy_i64(ids_a, [0, 1, 2, 3], (1, 4))
write_npy_i64(ids_b, [3, 3, 1, 0], (1, 4))
tokens = os.path.join(work, "tokens.npy")
write_npy_i64(tokens, [0, 1, 1, 2, 3, 3, 3, 3], (2, 4))
base = os.path.join(work, "m.mlir")
check(run([tool("smq-translate"), "--import-onnx", model, "--input-shape",
           "ids=1x4", "-o", base]).returncode == 0, "import " + model)
# Another model, for a second import.
quant_source = os.path.join(here, "two-linear-lm.onnxtxt")
# A language model (vocabulary 4) for the reports of smq-eval and smq-sweep.
lm = os.path.join(here, "..", "..", "Transforms", "Inputs", "tiny-lm.onnxtxt")
other_tokens = os.path.join(work, "other-tokens.npy")
write_npy_i64(other_tokens, [3, 2, 1, 0, 0, 0, 1, 1], (2, 4))
quant = os.path.join(work, "q.mlir")
quant8 = os.path.join(work, "q8.mlir")
for bits, path in (("4", quant), ("8", quant8)):
    check(run([tool("smq-opt"), base, "--smq-quantize-weights=method=rtn "
               "bits=%s group-size=0 quiet=true" % bits, "-o", path]
              ).returncode == 0, "quantize")


def cases(out):
    """(tool, old command, new command, the files it writes) with outputs
    in the folder `out`; the new command writes other bytes than the old."""
    run_dir = os.path.join(out, "run")
    return [
        ("smq-translate",
         [tool("smq-translate"), "--import-onnx", model, "--input-shape",
          "ids=1x4", "-o", os.path.join(out, "t.mlir")],
         [tool("smq-translate"), "--import-onnx", quant_source, "-o",
          os.path.join(out, "t.mlir")],
         [os.path.join(out, "t.mlir")]),
        ("smq-translate --export-onnx",
         [tool("smq-translate"), "--export-onnx", quant, "--form", "qdq",
          "-o", os.path.join(out, "e.onnx")],
         [tool("smq-translate"), "--export-onnx", quant8, "--form", "qdq",
          "-o", os.path.join(out, "e.onnx")],
         [os.path.join(out, "e.onnx")]),
        ("smq-opt",
         [tool("smq-opt"), base, "-o", os.path.join(out, "o.mlir")],
         [tool("smq-opt"), base, "--smq-quantize-weights=method=rtn bits=4 "
          "group-size=0", "-o", os.path.join(out, "o.mlir")],
         [os.path.join(out, "o.mlir")]),
        ("smq-calibrate",
         [tool("smq-calibrate"), model, "--tokens", tokens, "--seq-len", "4",
          "--quiet", "-o", os.path.join(out, "c.stats")],
         [tool("smq-calibrate"), model, "--tokens", tokens, "--seq-len", "4",
          "--stats", "diag", "--quiet", "-o", os.path.join(out, "c.stats")],
         [os.path.join(out, "c.stats")]),
        ("smq-run",
         [tool("smq-run"), base, "--input", "ids=" + ids_a, "--output-dir",
          run_dir],
         [tool("smq-run"), base, "--input", "ids=" + ids_b, "--output-dir",
          run_dir],
         [os.path.join(run_dir, "y.npy")]),
        ("smq-compile",
         [tool("smq-compile"), base, "-o", os.path.join(out, "libm.so")],
         [tool("smq-compile"), quant, "-o", os.path.join(out, "libm.so")],
         [os.path.join(out, "libm.so"), os.path.join(out, "m.weights")]),
        ("smq-eval",
         [tool("smq-eval"), lm, "--tokens", tokens, "--seq-len", "4",
          "--json", os.path.join(out, "eval.json")],
         [tool("smq-eval"), lm, "--tokens", other_tokens, "--seq-len", "4",
          "--json", os.path.join(out, "eval.json")],
         [os.path.join(out, "eval.json")]),
        # The sweep runs its stages as child processes in its own work
        # folder; each kill takes a tool's whole process group, as a
        # terminal's would.
        ("smq-sweep",
         [tool("smq-sweep"), lm, "--calib-tokens", tokens, "--eval-tokens",
          tokens, "--seq-len", "4", "--bits", "4", "--methods", "rtn",
          "--lambdas", "0", "--group-size", "0", "-j", "1", "--quiet",
          "--json", os.path.join(out, "sweep.json"), "--svg",
          os.path.join(out, "sweep.svg")],
         [tool("smq-sweep"), lm, "--calib-tokens", tokens, "--eval-tokens",
          tokens, "--seq-len", "4", "--bits", "2", "--methods", "rtn",
          "--lambdas", "0", "--group-size", "0", "-j", "1", "--quiet",
          "--json", os.path.join(out, "sweep.json"), "--svg",
          os.path.join(out, "sweep.svg")],
         [os.path.join(out, "sweep.json"), os.path.join(out, "sweep.svg")]),
    ] + ([] if not args.kv_model else [
        ("smq-generate",
         [tool("smq-generate"), args.kv_model, "--prompt", "The ",
          "--byte-tokens", "--max-new-tokens", "4", "--json",
          os.path.join(out, "gen.json")],
         [tool("smq-generate"), args.kv_model, "--prompt", "A model ",
          "--byte-tokens", "--max-new-tokens", "4", "--json",
          os.path.join(out, "gen.json")],
         [os.path.join(out, "gen.json")]),
    ])


def timeless(data):
    """A JSON report without its timings (keys that name seconds or a
    rate), which differ from run to run; None where it does not parse."""
    import json

    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()
                    if "second" not in k and "per_s" not in k}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    try:
        return strip(json.loads(data))
    except ValueError:
        return None


def is_new(f, got, new):
    """`got` is the whole new output: the same bytes, or for a JSON report
    the same report but for its timings."""
    if got is None:
        return False
    if got == new:
        return True
    return f.endswith(".json") and timeless(got) is not None and \
        timeless(got) == timeless(new)


def snapshot(files):
    return {f: open(f, "rb").read() if os.path.exists(f) else None
            for f in files}


def restore(state):
    for f, data in state.items():
        if data is None:
            if os.path.exists(f):
                os.remove(f)
        else:
            os.makedirs(os.path.dirname(f), exist_ok=True)
            with open(f + ".restore", "wb") as g:
                g.write(data)
            os.replace(f + ".restore", f)


def temporaries(folder):
    return sorted(n for n in os.listdir(folder) if ".tmp" in n)


def kill_mode():
    rng = random.Random(1)
    out = os.path.join(work, "kill")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, old, new, files in cases(out):
        check(run(old).returncode == 0, name + " (old)")
        before = snapshot(files)
        start = time.monotonic()
        check(run(new).returncode == 0, name + " (new)")
        seconds = time.monotonic() - start
        after = snapshot(files)
        check(all(not is_new(f, before[f], after[f]) for f in files),
              name + ": old and new outputs are the same")
        outcomes = {"old": 0, "new": 0, "none": 0}
        for attempt in range(tries):
            initial = before if attempt % 2 == 0 else \
                {f: None for f in files}
            restore(initial)
            p = subprocess.Popen(new, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL,
                                 start_new_session=True)
            time.sleep(rng.uniform(0, seconds * 1.1))
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            for f in files:
                got = open(f, "rb").read() if os.path.exists(f) else None
                if is_new(f, got, after[f]):
                    outcomes["new"] += 1
                elif got is not None and got == initial[f]:
                    outcomes["old"] += 1
                elif got is None and initial[f] is None:
                    outcomes["none"] += 1
                else:
                    check(False, "%s: after a kill (try %d) %s is %s" % (
                        name, attempt, os.path.basename(f),
                        "missing" if got is None else
                        "neither the old nor the new file (%d bytes)" %
                        len(got)))
            for folder in {os.path.dirname(f) for f in files}:
                for t in temporaries(folder):
                    os.remove(os.path.join(folder, t))
        print("%s: %d kills in a %.2f s run: old file %d, new file %d, no "
              "file %d" % (name, tries, seconds, outcomes["old"],
                           outcomes["new"], outcomes["none"]))


def full_disk_mode():
    disk = os.path.join(work, "disk")
    os.makedirs(disk, exist_ok=True)
    r = run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk])
    check(r.returncode == 0, "mount a tmpfs: " + r.stderr.strip())
    for name, old, new, files in cases(disk):
        # The old outputs, made on a disk with room, then a full disk.
        check(run(old).returncode == 0, name + " (old)")
        before = snapshot(files)
        filler = os.path.join(disk, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.close(fd)
        r = run(new)
        full = "No space left on device" in r.stderr
        check(r.returncode != 0, name + ": succeeded on a full disk")
        check(full, name + ": the error does not say the disk is full:\n" +
              r.stderr)
        check(snapshot(files) == before,
              name + ": the old output changed on a full disk")
        for folder in {os.path.dirname(f) for f in files}:
            check(not temporaries(folder), name + ": left " +
                  " ".join(temporaries(folder)))
        message = [l for l in r.stderr.splitlines()
                   if "No space left on device" in l][0]
        print("%s: full disk: exit %d, old file kept: %s" % (
            name, r.returncode, message.strip()))
        os.remove(filler)


if mode == "kill":
    kill_mode()
elif mode == "full-disk":
    full_disk_mode()
else:
    sys.exit("unknown mode " + mode)
