let
  h = import ./harness.nix;
  inherit (h) check run;
  n = import ../lib/npm-lock.nix;
  lock = {
    lockfileVersion = 3;
    packages = {
      "" = { name = "root"; version = "1.0.0"; };
      "node_modules/zod" = { version = "4.1.0"; integrity = "sha512-a"; };
      "node_modules/@esbuild/linux-x64" = { version = "0.28.2"; integrity = "sha512-b"; };
      "node_modules/a/node_modules/b" = { version = "2.0.0"; integrity = "sha512-c"; };
      "node_modules/kept" = { version = "1.0.0"; integrity = "sha512-d"; resolved = "https://example.invalid/kept.tgz"; };
      "node_modules/linked" = { link = true; resolved = "packages/linked"; };
      "node_modules/alias" = { name = "real-name"; version = "3.0.0"; integrity = "sha512-e"; };
    };
  };
  p = (n.withResolved lock).packages;
  real = builtins.fromJSON (builtins.readFile ../../package-lock.json);
  realFilled = (n.withResolved real).packages;
in
run [
  (check "an unscoped package gets the registry tarball URL"
    (p."node_modules/zod".resolved == "https://registry.npmjs.org/zod/-/zod-4.1.0.tgz"))
  (check "a scoped package's tarball is named without its scope"
    (p."node_modules/@esbuild/linux-x64".resolved == "https://registry.npmjs.org/@esbuild/linux-x64/-/linux-x64-0.28.2.tgz"))
  (check "a nested package is named by its last node_modules component"
    (p."node_modules/a/node_modules/b".resolved == "https://registry.npmjs.org/b/-/b-2.0.0.tgz"))
  (check "an entry that already has a URL keeps it"
    (p."node_modules/kept".resolved == "https://example.invalid/kept.tgz"))
  (check "a linked workspace entry is left alone" (p."node_modules/linked".resolved == "packages/linked"))
  (check "an aliased package is fetched under its real name"
    (p."node_modules/alias".resolved == "https://registry.npmjs.org/real-name/-/real-name-3.0.0.tgz"))
  (check "the root entry gets no URL" (!(p."" ? resolved)))
  (check "every package in the project's lock file ends up with a URL"
    (builtins.all (path: path == "" || realFilled.${path} ? resolved) (builtins.attrNames realFilled)))
]
