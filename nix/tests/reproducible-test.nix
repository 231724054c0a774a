let
  h = import ./harness.nix;
  inherit (h) check run;
  r = import ../lib/reproducible.nix;
  uuidShape = u: builtins.match "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}" u != null;
in
run [
  (check "the filesystem UUID is the same for the same seed" (r.fsUuid "a" == r.fsUuid "a"))
  (check "the filesystem UUID differs for another seed" (r.fsUuid "a" != r.fsUuid "b"))
  (check "the filesystem UUID has the UUID text form" (uuidShape (r.fsUuid "x")))
  (check "the hash seed has the UUID text form" (uuidShape (r.hashSeed "x")))
  (check "the hash seed differs from the filesystem UUID" (r.hashSeed "x" != r.fsUuid "x"))
  (check "the feature argument starts from none" (r.featureArg [ "extent" "64bit" ] == "none,extent,64bit"))
]
