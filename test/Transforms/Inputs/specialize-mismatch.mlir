// Operands that stop agreeing once the shapes are known.
func.func @mismatch(%x: tensor<?x?xf32> {smq.name = "x"}, %y: tensor<?xf32> {smq.name = "y"}) -> tensor<?x?xf32> {
  %0 = smq.add %x, %y : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
