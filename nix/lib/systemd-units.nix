# Which upstream units and wants directories a NixOS system copies from its
# systemd package, and whether that systemd version installs them. Pure:
# builtins only, so CI's Nix 2.8 runs the tests.
#
# NixOS builds /etc/systemd/{system,user} with generateUnits
# (nixos/lib/systemd-lib.nix), whose build script stops with "missing $fn"
# for any listed unit or wants directory the package lacks. The lists are
# module-internal, so they are read back from that script: it is what the
# build will actually do.
let
  inherit (builtins) all any attrNames concatMap elem filter foldl' fromJSON head
    isString length listToAttrs match split sort;

  data = import ../systemd/units;
  majorOf = version: fromJSON (head (match "([0-9]+).*" version));
  words = s: filter (w: isString w && w != "") (split "[[:space:]]+" s);
  uniq = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  lines = s: filter isString (split "\n" s);
  at = list: i: builtins.elemAt list i;
in
rec {
  # Meson conditions no nixpkgs systemd build turns on: the expressions pass
  # quotacheck=false and ldconfig=false, and an empty sysvinit-path (257;
  # SysV support is gone in 259). Units built only under them never exist.
  neverBuilt = [ "ENABLE_QUOTACHECK" "ENABLE_LDCONFIG" "HAVE_SYSV_COMPAT" ];

  built = conditions: all (c: !elem c neverBuilt) conditions;

  # The data (nix/systemd/units) for a version, by major.
  dataFor = version:
    let m = toString (majorOf version); in
    data.${m} or (throw ("shimboot: no unit data for systemd ${version}: generate "
      + "nix/systemd/units/systemd-${m}.nix with nix/systemd/units/extract.mjs from the v${version} tag "
      + "and list it in nix/systemd/units/default.nix"));

  knownMajors = sort builtins.lessThan (map fromJSON (attrNames data));

  # What a version installs (after neverBuilt): unit and wants-dir names.
  installs = version:
    let
      d = dataFor version;
      units = set: filter (n: built set.${n}) (attrNames set);
      wants = set: filter (w: any (u: built u.conditions) set.${w}) (attrNames set);
    in {
      system = units d.system;
      systemWants = wants d.systemWants;
      user = units d.user;
      userWants = wants d.userWants;
    };

  # The lists in one generateUnits build script: the first `for i in ...`
  # loop copies units, the second wants directories, each from
  # ${package}/example/systemd/${type}/$i. Anything else is a nixpkgs change
  # this reader must learn about, so it throws rather than guess.
  fromGenerateUnits = script:
    let
      ls = lines script;
      loopAt = i:
        let
          f = match "[[:space:]]*for i in (.*); do[[:space:]]*" (at ls i);
          fn = match "[[:space:]]*fn=(.*)/example/systemd/([a-z]+)/[$]i[[:space:]]*" (at ls (i + 1));
        in if f != null && fn != null then [ { names = words (head f); package = head fn; type = at fn 1; } ] else [ ];
      loops = concatMap loopAt (builtins.genList (i: i) (length ls - 1));
    in
    if length loops != 2 then
      throw "shimboot: generateUnits' build script (nixos/lib/systemd-lib.nix) has ${toString (length loops)} copy loops, expected 2 (units, wants directories): update nix/lib/systemd-units.nix"
    else {
      inherit (head loops) package type;
      units = (head loops).names;
      wants = (at loops 1).names;
    };

  # What a package lacks of what a system requires. required: the parsed
  # system and user scripts ({ system, user } of fromGenerateUnits);
  # stubWants: the empty wants directories nix/systemd adds to the package.
  missing = { version, stubWants ? [ ] }: required:
    let
      i = installs version;
      lacking = have: want: filter (n: !elem n have) want;
    in {
      system = lacking i.system required.system.units;
      systemWants = lacking (i.systemWants ++ stubWants) required.system.wants;
      user = lacking i.user required.user.units;
      userWants = lacking i.userWants required.user.wants;
    };

  nothingMissing = m: m.system == [ ] && m.systemWants == [ ] && m.user == [ ] && m.userWants == [ ];

  describe = version: m:
    let
      d = dataFor version;
      part = what: names: if names == [ ] then "" else "\n  ${what}: ${toString names}";
    in
    "systemd ${version} (units read at ${d.tag}, commit ${d.commit}) lacks what this system's NixOS modules list:"
    + part "system units" m.system + part "system wants directories" m.systemWants
    + part "user units" m.user + part "user wants directories" m.userWants;

  # true, or a throw naming every missing unit.
  check = { version, stubWants ? [ ] }: required:
    let m = missing { inherit version stubWants; } required; in
    if nothingMissing m then true else throw "shimboot: ${describe version m}";

  # Units and wants directories that systemd versions newer than `version`
  # install and it does not: what NixOS modules written for a newer systemd
  # may list. Derived from the data alone, so the module can filter or stub
  # them without reading its own output (which would recurse).
  newerOnly = version:
    let
      m = majorOf version;
      newer = filter (n: n > m) knownMajors;
      mine = installs version;
      theirs = map (n: installs (toString n)) newer;
      union = field: uniq (concatMap (x: x.${field}) theirs);
      only = field: filter (n: !elem n mine.${field}) (union field);
    in {
      system = only "system";
      systemWants = only "systemWants";
      user = only "user";
      userWants = only "userWants";
    };
}
