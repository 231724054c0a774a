# The harness itself: a false condition must fail, or every other test here
# could pass vacuously.
let
  h = import ./harness.nix;
  inherit (h) check throws run;
in
run [
  (check "a true condition passes" (check "inner" true == "inner"))
  (check "a false condition throws" (throws (check "inner" false)))
  (check "a non-boolean condition throws" (throws (check "inner" "yes")))
  (check "throws is false for a value that evaluates" (!(throws 1)))
]
