func.func @main(%b: tensor<10xi32> {smq.name = "b"}, %e: tensor<10xi32> {smq.name = "e"},
                %b64: tensor<3xi64> {smq.name = "b64"}, %e64: tensor<3xi64> {smq.name = "e64"})
    -> (tensor<10xi32> {smq.name = "y"}, tensor<3xi64> {smq.name = "y64"}) {
  %y = smq.pow %b, %e : (tensor<10xi32>, tensor<10xi32>) -> tensor<10xi32> loc("node 'pow32' (Pow)")
  %y64 = smq.pow %b64, %e64 : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64> loc("node 'pow64' (Pow)")
  return %y, %y64 : tensor<10xi32>, tensor<3xi64>
}
