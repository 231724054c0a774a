let
  h = import ./harness.nix;
  inherit (h) check throws run;
  u = import ../lib/systemd-units.nix;
  inherit (builtins) elem length;

  # A build script of generateUnits' shape (nixos/lib/systemd-lib.nix): two
  # copy loops over ${package}/example/systemd/${type}/$i, the first for
  # units, the second for wants directories; other lines around them.
  script = { package ? "/nix/store/00000000000000000000000000000000-systemd-257.9", type ? "system", units, wants }: ''
    mkdir -p $out

    # the units
    for i in ${toString units}; do
      fn=${package}/example/systemd/${type}/$i
      if ! [ -e $fn ]; then echo "missing $fn"; false; fi
      ln -s $fn $out/
    done

    # their wants directories
    for i in ${toString wants}; do
      fn=${package}/example/systemd/${type}/$i
      if ! [ -e $fn ]; then echo "missing $fn"; false; fi
      mkdir $out/$(basename $fn)
    done

    for i in $extra; do
      ln -s $i $out/
    done
  '';
  required = system: user: {
    system = u.fromGenerateUnits (script system);
    user = u.fromGenerateUnits (script (user // { type = "user"; }));
  };
  noUser = { units = [ "default.target" ]; wants = [ ]; };

  # What the NixOS modules of nixpkgs 26.11-pre (nixpkgs-slim 47ec8b02) list
  # for nixosConfigurations.nissa, read from its generateUnits script under
  # nix/tests/eval-all.sh: the units systemd 257 does not install, and a few
  # it does.
  modules2611 = {
    units = [
      "basic.target" "multi-user.target" "factory-reset.target" "systemd-udevd.service"
      "systemd-udevd-varlink.socket" "systemd-ask-password@.service" "systemd-ask-password.socket"
      "systemd-tpm2-clear.service" "systemd-machined.socket" "systemd-mute-console@.service"
      "systemd-mute-console.socket" "systemd-repart@.service" "systemd-repart.socket"
      "systemd-factory-reset-request.service" "systemd-factory-reset-reboot.service"
      "systemd-factory-reset@.service" "systemd-factory-reset.socket"
      "systemd-journalctl.socket" "systemd-journalctl@.service"
    ];
    wants = [ "sysinit.target.wants" "sockets.target.wants" "local-fs.target.wants"
      "multi-user.target.wants" "timers.target.wants" "factory-reset.target.wants" ];
  };
  filtered = version: modules2611 // {
    units = builtins.filter (n: !elem n (u.newerOnly version).system) modules2611.units;
  };
  fits = version: u.nothingMissing (u.missing {
    inherit version;
    stubWants = (u.newerOnly version).systemWants;
  } (required (filtered version) noUser));
  m257 = u.missing { version = "257.9"; } (required modules2611 noUser);
in
run [
  (check "both copy loops of a generateUnits script are read"
    ((required { units = [ "a.service" "b.socket" ]; wants = [ "sockets.target.wants" ]; } noUser).system
      == { package = "/nix/store/00000000000000000000000000000000-systemd-257.9"; type = "system";
           units = [ "a.service" "b.socket" ]; wants = [ "sockets.target.wants" ]; }))
  (check "an empty loop is an empty list"
    ((u.fromGenerateUnits (script { units = [ "a.service" ]; wants = [ ]; })).wants == [ ]))
  (check "the user script is read as type user"
    ((required { units = [ ]; wants = [ ]; } noUser).user.type == "user"))
  (check "a script with one copy loop is refused, not guessed at"
    (throws (u.fromGenerateUnits "for i in a.service; do\n  fn=/x/example/systemd/system/$i\ndone\n")))

  (check "systemd 257.9 installs factory-reset.target but no factory-reset units"
    (elem "factory-reset.target" (u.installs "257.9").system
      && !elem "systemd-factory-reset@.service" (u.installs "257.9").system))
  (check "systemd 257.9 has no factory-reset.target.wants; 259 does"
    (!elem "factory-reset.target.wants" (u.installs "257.9").systemWants
      && elem "factory-reset.target.wants" (u.installs "259.5").systemWants))
  (check "systemd-mute-console arrives in 259, systemd-journalctl in 260"
    (elem "systemd-mute-console.socket" (u.installs "259.5").system
      && !elem "systemd-journalctl.socket" (u.installs "259.5").system
      && elem "systemd-journalctl.socket" (u.installs "260.2").system))
  (check "a point release is read from its major's data" ((u.installs "257.13") == (u.installs "257.9")))
  (check "a version without data throws, naming the tool that makes it" (throws (u.installs "255.4")))
  (check "units built only with a meson option nixpkgs turns off are not installed"
    (!elem "ldconfig.service" (u.installs "257.9").system && !elem "quotaon@.service" (u.installs "260.2").system))

  (check "26.11-pre's modules on systemd 257 miss exactly the units 258-260 added"
    (m257.system == [
      "systemd-udevd-varlink.socket" "systemd-ask-password@.service" "systemd-ask-password.socket"
      "systemd-tpm2-clear.service" "systemd-machined.socket" "systemd-mute-console@.service"
      "systemd-mute-console.socket" "systemd-repart@.service" "systemd-repart.socket"
      "systemd-factory-reset-request.service" "systemd-factory-reset-reboot.service"
      "systemd-factory-reset@.service" "systemd-factory-reset.socket"
      "systemd-journalctl.socket" "systemd-journalctl@.service" ]
    && m257.systemWants == [ "factory-reset.target.wants" ]))
  (check "a missing unit fails the check, naming it and the tag the data was read at"
    (let r = builtins.tryEval (u.check { version = "257.9"; } (required modules2611 noUser)); in !r.success))
  (check "the description of what is missing names the unit and the tag"
    (let d = u.describe "257.9" m257; in
      builtins.match ".*systemd-mute-console.socket.*" d != null && builtins.match ".*v257[.]9.*" d != null))
  (check "a missing user unit fails too (no NixOS option filters user units)"
    (!u.nothingMissing (u.missing { version = "257.9"; } (required { units = [ ]; wants = [ ]; } { units = [ "systemd-journalctl@.service" ]; wants = [ ]; }))))
  (check "one missing wants directory is enough to fail"
    (!u.nothingMissing (u.missing { version = "257.9"; } (required { units = [ "basic.target" ]; wants = [ "factory-reset.target.wants" ]; } noUser))))

  (check "with newer-only units filtered and wants stubbed, 26.11-pre's list fits 257" (fits "257.9"))
  (check "and fits 259" (fits "259.5"))
  (check "and fits 260, where nothing is filtered" (fits "260.2" && (u.newerOnly "260.2").system == [ ]))
  (check "259 filters systemd-journalctl, which arrived in 260"
    (elem "systemd-journalctl@.service" (u.newerOnly "259.5").system
      && !elem "systemd-mute-console@.service" (u.newerOnly "259.5").system))
  (check "257 stubs factory-reset.target.wants"
    (elem "factory-reset.target.wants" (u.newerOnly "257.9").systemWants))
  (check "a stubbed wants directory counts as provided"
    (u.nothingMissing (u.missing { version = "257.9"; stubWants = [ "factory-reset.target.wants" ]; }
      (required { units = [ ]; wants = [ "factory-reset.target.wants" ]; } noUser))))
  (check "every data file names the tag and commit it was read from"
    (builtins.all (m: let d = u.dataFor m; in length (builtins.attrNames d.system) > 100
      && builtins.match "v[0-9]+[.][0-9]+" d.tag != null && builtins.stringLength d.commit == 40) [ "257" "259" "260" ]))
]
