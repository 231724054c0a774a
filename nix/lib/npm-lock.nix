# package-lock.json here is written without "resolved" URLs (npm's
# omit-lockfile-registry-resolved), and nixpkgs' importNpmLock fetches only
# entries that have one. This fills them in with the registry's tarball URL
# (https://registry.npmjs.org/<name>/-/<basename>-<version>.tgz); the
# "integrity" hash already in the lock still pins each file.
let
  inherit (builtins) match elemAt mapAttrs head;
  registry = "https://registry.npmjs.org/";
  # "node_modules/a/node_modules/@s/b" -> "@s/b"
  nameOfPath = path:
    let m = match "(.*node_modules/)?((@[^/]+/)?[^/]+)" path; in
    if m == null then null else elemAt m 1;
  baseName = name:
    let m = match "@[^/]+/(.+)" name; in if m == null then name else head m;
in
rec {
  inherit nameOfPath;
  tarballUrl = name: version: "${registry}${name}/-/${baseName name}-${version}.tgz";

  withResolved = lock: lock // {
    packages = mapAttrs (path: entry:
      if path == "" || entry ? resolved || entry.link or false || !(entry ? version) || !(entry ? integrity)
      then entry
      else entry // { resolved = tarballUrl (entry.name or (nameOfPath path)) entry.version; })
      lock.packages;
  };
}
