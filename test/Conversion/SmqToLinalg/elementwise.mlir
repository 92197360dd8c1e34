// RUN: smq-opt %s --convert-smq-to-linalg --split-input-file -verify-diagnostics | FileCheck %s

// Numpy broadcasting becomes indexing maps: a size-1 dim read by a larger
// result dim indexes with 0; missing leading dims are dropped.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @broadcast_add
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: arith.addf
func.func @broadcast_add(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %0 = smq.add %a, %b : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Unsigned tensors become signless; the op keeps its unsigned meaning.
// CHECK-LABEL: func.func @unsigned_div
// CHECK-SAME: (%{{.*}}: tensor<4xi8>, %{{.*}}: tensor<4xi8>) -> tensor<4xi8>
// CHECK: arith.divui
func.func @unsigned_div(%a: tensor<4xui8>, %b: tensor<4xui8>) -> tensor<4xui8> {
  %0 = smq.div %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

// CHECK-LABEL: func.func @gelu_erf
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: arith.mulf
func.func @gelu_erf(%a: tensor<8xf32>) -> tensor<8xf32> {
  %0 = smq.gelu %a : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @cast_float_to_bool
// CHECK: arith.cmpf une
func.func @cast_float_to_bool(%a: tensor<3xf32>) -> tensor<3xi1> {
  %0 = smq.cast %a : tensor<3xf32> to tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// Gather clamps indices after wrapping negative ones.
// CHECK-LABEL: func.func @gather
// CHECK: linalg.generic
// CHECK: arith.index_cast
// CHECK: arith.select
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract %arg0
func.func @gather(%t: tensor<10x6xf32>, %i: tensor<2x3xi64>) -> tensor<2x3x6xf32> {
  %0 = smq.gather %t[%i] {axis = 0 : i64} : (tensor<10x6xf32>, tensor<2x3xi64>) -> tensor<2x3x6xf32>
  return %0 : tensor<2x3x6xf32>
}

// -----

// Shape ops that did not fold compute dynamic shapes: refused, with the op.
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<2xi64> {
  // expected-error @+1 {{failed to legalize operation 'smq.shape'}}
  %0 = smq.shape %x {start = 0 : i64, end = 2 : i64} : (tensor<?x4xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// CHECK-LABEL: func.func @sub_f32
// CHECK: linalg.generic
// CHECK: arith.subf
func.func @sub_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = smq.sub %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @mul_f32
// CHECK: linalg.generic
// CHECK: arith.mulf
func.func @mul_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = smq.mul %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @pow_f32
// CHECK: linalg.generic
// CHECK: math.powf
func.func @pow_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = smq.pow %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @max_f32
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func @max_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = smq.max %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @min_f32
// CHECK: linalg.generic
// CHECK: arith.minimumf
func.func @min_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = smq.min %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @equal_f32
// CHECK: linalg.generic
// CHECK: arith.cmpf oeq
func.func @equal_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xi1> {
  %0 = smq.equal %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xi1>
  return %0 : tensor<4x3xi1>
}

// -----

// CHECK-LABEL: func.func @less_f32
// CHECK: linalg.generic
// CHECK: arith.cmpf olt
func.func @less_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xi1> {
  %0 = smq.less %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xi1>
  return %0 : tensor<4x3xi1>
}

// -----

// CHECK-LABEL: func.func @less_equal_f32
// CHECK: linalg.generic
// CHECK: arith.cmpf ole
func.func @less_equal_f32(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xi1> {
  %0 = smq.less_equal %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xi1>
  return %0 : tensor<4x3xi1>
}

// -----

// CHECK-LABEL: func.func @add_si32
// CHECK: arith.addi
func.func @add_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = smq.add %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @sub_si32
// CHECK: arith.subi
func.func @sub_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = smq.sub %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @mul_si32
// CHECK: arith.muli
func.func @mul_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = smq.mul %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @div_si32
// CHECK: arith.divsi
func.func @div_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = smq.div %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @pow_si32
// CHECK: math.ipowi
func.func @pow_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = smq.pow %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @max_si32
// CHECK: arith.maxsi
func.func @max_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = smq.max %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @max_ui32
// CHECK: arith.maxui
func.func @max_ui32(%a: tensor<4xui32>, %b: tensor<4xui32>) -> tensor<4xui32> {
  %0 = smq.max %a, %b : (tensor<4xui32>, tensor<4xui32>) -> tensor<4xui32>
  return %0 : tensor<4xui32>
}

// -----

// CHECK-LABEL: func.func @min_si32
// CHECK: arith.minsi
func.func @min_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = smq.min %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @min_ui32
// CHECK: arith.minui
func.func @min_ui32(%a: tensor<4xui32>, %b: tensor<4xui32>) -> tensor<4xui32> {
  %0 = smq.min %a, %b : (tensor<4xui32>, tensor<4xui32>) -> tensor<4xui32>
  return %0 : tensor<4xui32>
}

// -----

// CHECK-LABEL: func.func @equal_si32
// CHECK: arith.cmpi eq
func.func @equal_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi1> {
  %0 = smq.equal %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @less_si32
// CHECK: arith.cmpi slt
func.func @less_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi1> {
  %0 = smq.less %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @less_ui32
// CHECK: arith.cmpi ult
func.func @less_ui32(%a: tensor<4xui32>, %b: tensor<4xui32>) -> tensor<4xi1> {
  %0 = smq.less %a, %b : (tensor<4xui32>, tensor<4xui32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @less_equal_si32
// CHECK: arith.cmpi sle
func.func @less_equal_si32(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi1> {
  %0 = smq.less_equal %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @less_equal_ui32
// CHECK: arith.cmpi ule
func.func @less_equal_ui32(%a: tensor<4xui32>, %b: tensor<4xui32>) -> tensor<4xi1> {
  %0 = smq.less_equal %a, %b : (tensor<4xui32>, tensor<4xui32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @and
// CHECK: arith.andi
func.func @and(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  %0 = smq.and %a, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @or
// CHECK: arith.ori
func.func @or(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  %0 = smq.or %a, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @xor
// CHECK: arith.xori
func.func @xor(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  %0 = smq.xor %a, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @sqrt
// CHECK: linalg.generic
// CHECK: math.sqrt
func.func @sqrt(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.sqrt %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @reciprocal
// CHECK: linalg.generic
// CHECK: arith.constant 1.000000e+00
// CHECK: arith.divf
func.func @reciprocal(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.reciprocal %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @neg
// CHECK: linalg.generic
// CHECK: arith.negf
func.func @neg(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.neg %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @exp
// CHECK: linalg.generic
// CHECK: math.exp
func.func @exp(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.exp %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @log
// CHECK: linalg.generic
// CHECK: math.log
func.func @log(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.log %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @tanh
// CHECK: linalg.generic
// CHECK: math.tanh
func.func @tanh(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.tanh %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @erf
// CHECK: linalg.generic
// CHECK: math.erf
func.func @erf(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.erf %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @sigmoid
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @sigmoid(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.sigmoid %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @relu
// CHECK: linalg.generic
// CHECK: arith.maxnumf
func.func @relu(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.relu %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @cos
// CHECK: linalg.generic
// CHECK: math.cos
func.func @cos(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.cos %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @sin
// CHECK: linalg.generic
// CHECK: math.sin
func.func @sin(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = smq.sin %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Integer negation subtracts from zero.
// CHECK-LABEL: func.func @neg_i64
// CHECK: arith.constant 0 : i64
// CHECK: arith.subi
func.func @neg_i64(%a: tensor<3xi64>) -> tensor<3xi64> {
  %0 = smq.neg %a : tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @not
// CHECK: arith.constant true
// CHECK: arith.xori
func.func @not(%a: tensor<3xi1>) -> tensor<3xi1> {
  %0 = smq.not %a : tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// CHECK-LABEL: func.func @gelu_tanh
// CHECK: arith.constant 4.471500e-02
// CHECK: arith.constant 0.79788
// CHECK: math.tanh
// CHECK-NOT: math.erf
func.func @gelu_tanh(%a: tensor<8xf32>) -> tensor<8xf32> {
  %0 = smq.gelu %a {approximate = "tanh"} : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @cast_f32_to_i64
// CHECK: arith.fptosi
func.func @cast_f32_to_i64(%a: tensor<3xf32>) -> tensor<3xi64> {
  %0 = smq.cast %a : tensor<3xf32> to tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @cast_f32_to_ui8
// CHECK: arith.fptoui
func.func @cast_f32_to_ui8(%a: tensor<3xf32>) -> tensor<3xui8> {
  %0 = smq.cast %a : tensor<3xf32> to tensor<3xui8>
  return %0 : tensor<3xui8>
}

// -----

// CHECK-LABEL: func.func @cast_i32_to_f32
// CHECK: arith.sitofp
func.func @cast_i32_to_f32(%a: tensor<3xi32>) -> tensor<3xf32> {
  %0 = smq.cast %a : tensor<3xi32> to tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @cast_ui8_to_f32
// CHECK: arith.uitofp
func.func @cast_ui8_to_f32(%a: tensor<3xui8>) -> tensor<3xf32> {
  %0 = smq.cast %a : tensor<3xui8> to tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @cast_i1_to_f32
// CHECK: arith.uitofp
func.func @cast_i1_to_f32(%a: tensor<3xi1>) -> tensor<3xf32> {
  %0 = smq.cast %a : tensor<3xi1> to tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @cast_f32_to_f16
// CHECK: arith.truncf
func.func @cast_f32_to_f16(%a: tensor<3xf32>) -> tensor<3xf16> {
  %0 = smq.cast %a : tensor<3xf32> to tensor<3xf16>
  return %0 : tensor<3xf16>
}

// -----

// CHECK-LABEL: func.func @cast_f16_to_f32
// CHECK: arith.extf
func.func @cast_f16_to_f32(%a: tensor<3xf16>) -> tensor<3xf32> {
  %0 = smq.cast %a : tensor<3xf16> to tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @cast_i32_to_i64
// CHECK: arith.extsi
func.func @cast_i32_to_i64(%a: tensor<3xi32>) -> tensor<3xi64> {
  %0 = smq.cast %a : tensor<3xi32> to tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @cast_ui8_to_i32
// CHECK: arith.extui
func.func @cast_ui8_to_i32(%a: tensor<3xui8>) -> tensor<3xi32> {
  %0 = smq.cast %a : tensor<3xui8> to tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

// CHECK-LABEL: func.func @cast_i64_to_i32
// CHECK: arith.trunci
func.func @cast_i64_to_i32(%a: tensor<3xi64>) -> tensor<3xi32> {
  %0 = smq.cast %a : tensor<3xi64> to tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

// CHECK-LABEL: func.func @cast_i64_to_i1
// CHECK: arith.cmpi ne
func.func @cast_i64_to_i1(%a: tensor<3xi64>) -> tensor<3xi1> {
  %0 = smq.cast %a : tensor<3xi64> to tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// Where broadcasts all three operands.
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @where
// CHECK: linalg.generic {indexing_maps = [#[[C]], #[[X]], #[[ID]], #[[ID]]]
// CHECK: arith.select
func.func @where(%c: tensor<2x1xi1>, %x: tensor<3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = smq.where %c, %x, %y : (tensor<2x1xi1>, tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Expand is a broadcasting copy: the shape operand is not read.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @expand
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<3xf32>)
// CHECK-NEXT: ^bb0(%[[IN_ARG:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[IN_ARG]]
func.func @expand(%a: tensor<3xf32>, %s: tensor<2xi64>) -> tensor<2x3xf32> {
  %0 = smq.expand %a, %s : (tensor<3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
