// RUN: smq-opt %s --smq-expand-integer-pow | FileCheck %s
// An integer power in place, as structured control flow (no call): a zero
// exponent gives 1; a negative one is decided by the base; a positive one
// loops, squaring. Known answers on a device: e2e/gpu-vulkan-integer-pow.test.
// CHECK-LABEL: func.func @ipow
// CHECK-NOT: call
// CHECK: %[[E0:.*]] = arith.cmpi eq, %arg1, %c0
// CHECK: scf.if %[[E0]] -> (i64)
// CHECK: arith.cmpi slt, %arg1, %c0
// CHECK: arith.divsi
// CHECK: scf.while
// CHECK: arith.shrui
// CHECK: scf.condition
// CHECK-NOT: math.ipowi
func.func @ipow(%b: i64, %e: i64) -> i64 {
  %0 = math.ipowi %b, %e : i64
  return %0 : i64
}
