# -*- Python -*-
import os
import subprocess

import lit.formats
import lit.util
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SMQ"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py", "Unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.smq_obj_root, "test")

config.substitutions.append(("%shared", config.shared_dir))
config.substitutions.append(("%smq_src", config.smq_src_root))
config.substitutions.append(("%smq_obj", config.smq_obj_root))
config.substitutions.append(("%node_tests", config.onnx_node_tests))
config.substitutions.append(("%python", "python3"))

# %pyonnx: a Python that imports onnx and numpy, for the generators that
# write ONNX files (Debian's python3-onnx; a python3 first on PATH, such as
# pyenv's, may lack it). Tests that use it REQUIRE python-onnx.
def find_pyonnx():
    for py in ("/usr/bin/python3", lit.util.which("python3")):
        if not py:
            continue
        try:
            ok = subprocess.run([py, "-c", "import onnx, numpy"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode == 0
        except OSError:
            ok = False
        if ok:
            return py
    return None


pyonnx = find_pyonnx()
if pyonnx:
    config.available_features.add("python-onnx")
config.substitutions.append(("%pyonnx", pyonnx or "python3"))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

tool_dirs = [config.smq_tools_dir, config.llvm_tools_dir]
tools = ["smq-opt", "smq-translate", "smq-onnx-conformance", "smq-run", "smq-eval", "smq-calibrate", "smq-stats", "smq-sweep", "smq-compile", "smq-generate"]
llvm_config.add_tool_substitutions(["not", "count", "llvm-objdump"], [config.llvm_tools_dir])
llvm_config.add_tool_substitutions(tools, tool_dirs)

if os.path.isdir(config.shared_dir):
    config.available_features.add("shared-models")
if os.path.isdir(config.onnx_node_tests):
    config.available_features.add("onnx-node-tests")

# The compile cache stays inside the build folder (tests that are about the
# cache give each run a folder of its own).
config.environment["SMQ_CACHE_DIR"] = os.path.join(config.smq_obj_root, "test-cache")

# Instruction-set levels this CPU runs (SMQ_CPU_ISA=<level> forces one), so
# that every kernel path is tested on a machine that has it. They mirror
# lib/Runtime/Dispatch.cpp's checks.
try:
    with open("/proc/cpuinfo") as f:
        flags = set(next((l for l in f if l.startswith("flags")), "").split())
except OSError:
    flags = set()
v3 = {"avx2", "fma", "bmi2", "f16c", "movbe"} <= flags
v4 = v3 and {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"} <= flags
for level, have in [("avx2", v3), ("avxvnni", v3 and "avx_vnni" in flags),
                    ("avx512", v4),
                    ("avx512vnni", v4 and "avx512_vnni" in flags)]:
    if have:
        config.available_features.add("cpu-" + level)

# GPU devices. "vulkan": a Vulkan loader and an installed driver (setup.sh
# installs lavapipe, Mesa's CPU implementation, so every machine has one).
# "cuda": the CUDA driver, on machines with an NVIDIA GPU only.
def loads(library):
    try:
        import ctypes
        ctypes.CDLL(library)
        return True
    except OSError:
        return False


icd_dirs = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]
if loads("libvulkan.so.1") and any(
        os.path.isdir(d) and os.listdir(d) for d in icd_dirs):
    config.available_features.add("vulkan")
if loads("libcuda.so.1"):
    config.available_features.add("cuda")

# A mount namespace of the test's own (unshare -rm), where it may mount a
# small tmpfs to fill up (test/tools/full-disk.test).
try:
    import subprocess
    if subprocess.run(["unshare", "-rm", "true"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL, timeout=10).returncode == 0:
        config.available_features.add("mount-namespaces")
except (OSError, subprocess.SubprocessError):
    pass

# ONNX Runtime 1.30 (npm package, installed by scripts/install-ort.sh).
ort_modules = os.path.join(config.smq_obj_root, "ort", "node_modules")
ort_script = os.path.join(config.shared_dir, "tools", "ort-run.mjs")
if os.path.isdir(os.path.join(ort_modules, "onnxruntime-node")) and \
        os.path.isfile(ort_script) and lit.util.which("node"):
    config.available_features.add("ort")
    config.environment["NODE_PATH"] = ort_modules
    config.substitutions.append(("%ort", "node " + ort_script))
