# A tiny assertion harness for pure-Nix tests (builtins only).
# A test file is a list of `check "sentence" condition`; evaluating it with
# `nix-instantiate --eval --strict` throws on the first false condition, so
# the command's exit status is the verdict.
rec {
  check = name: cond:
    if cond == true then name
    else throw "FAILED: ${name}";

  # true when evaluating `value` throws (the thing under test refuses input)
  throws = value: !(builtins.tryEval (builtins.deepSeq value value)).success;

  # Run a list of checks; forcing the list forces every condition.
  run = checks: builtins.deepSeq checks checks;
}
