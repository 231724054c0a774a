{
  description = "shimboot-nixos: a ChromeOS RMA shim turned into a bootable NixOS USB image";

  inputs = {
    # nixos-unstable; needs Nix >= 2.18 (lib/minver.nix). Every board's
    # system comes from this revision; only PID 1's systemd may come from an
    # older one (docs/nix.md, "Which systemd").
    nixpkgs.url = "github:NixOS/nixpkgs/6201e203d09599479a3b3450ed24fa81537ebc4e";
    # Older systemd expressions, built with the current package set
    # (nix/systemd/rebuild.nix) for shim kernels that cannot run a newer one
    # (nix/lib/kernel-policy.nix): systemd 257.9 (kernels below 5.4) and
    # 259.x (5.4-5.9). The 259 revision is today the same as nixpkgs'; it is
    # pinned on its own so that bumping nixpkgs past 259 keeps those boards.
    nixpkgs-systemd257.url = "github:NixOS/nixpkgs/d3736636ac39ed678e557977b65d620ca75142d0";
    nixpkgs-systemd259.url = "github:NixOS/nixpkgs/6201e203d09599479a3b3450ed24fa81537ebc4e";
  };

  outputs = { self, nixpkgs, nixpkgs-systemd257, nixpkgs-systemd259 }:
    let
      inherit (nixpkgs) lib;
      boards = import ./nix/boards.nix;
      policy = import ./nix/lib/kernel-policy.nix;
      unfree = import ./nix/lib/unfree.nix;
      systems = [ "x86_64-linux" ];
      forSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
      flakeRev = self.rev or self.dirtyRev or "unknown";
      archSystem = arch: "${arch}-linux";
      boardsFor = system: lib.filterAttrs (_: b: archSystem b.arch == system) boards;

      # The older nixpkgs inputs and the systemd major each must carry.
      olderSystemd = {
        nixpkgs-systemd257 = { input = nixpkgs-systemd257; major = 257; };
        nixpkgs-systemd259 = { input = nixpkgs-systemd259; major = 259; };
      };
      rebuiltSystemd = pkgs: name: pkgs.callPackage ./nix/systemd/rebuild.nix { } {
        inherit name;
        olderPkgs = olderSystemd.${name}.input.legacyPackages.${pkgs.stdenv.hostPlatform.system};
      };

      # The shim, recovery and image derivations are unfree (nix/lib/unfree.nix):
      # a package set that allows exactly those of the given boards.
      # rev: the flake revision the image records (its name carries 12 digits).
      imagePkgsFor = system: rev: boardNames: import nixpkgs {
        localSystem = system;
        config.allowUnfreePredicate = unfree.allows (lib.concatMap
          (board: unfree.names { inherit board; shortRev = builtins.substring 0 12 rev; }) boardNames);
      };
      imagePkgs = lib.genAttrs systems (system: imagePkgsFor system flakeRev (lib.attrNames (boardsFor system)));

      # A NixOS system for a board (or, off the table, a kernel version).
      mkSystem = { board ? null, kernelVersion ? null, modules ? [ ], system ? "x86_64-linux" }:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            { nixpkgs.hostPlatform = system; shimboot.board = board; }
          ]
          ++ lib.optional (kernelVersion != null) { shimboot.kernelVersion = kernelVersion; }
          ++ modules;
        };

      mkRootfs = nixos:
        nixos.pkgs.callPackage ./nix/rootfs { } {
          toplevel = nixos.config.system.build.toplevel;
          inherit (nixos.config.shimboot) label;
          ext4Features = policy.ext4Features nixos.config.shimboot.kernelVersion;
        };

      shimbootFor = pkgs: pkgs.callPackage ./nix/package.nix { src = self; };

      mkImage = { imagePkgs, board, boardInfo, rootfs, shimboot, shim ? null, recovery ? null, flakeRev }:
        imagePkgs.callPackage ./nix/image.nix { inherit shimboot; } {
          inherit board boardInfo rootfs shim recovery flakeRev;
        };

      # configuration/configuration.nix, or an example, on a board.
      userSystem = modules: board: mkSystem {
        inherit board modules;
        system = archSystem boards.${board}.arch;
      };
      exampleFiles = lib.mapAttrs' (file: _: lib.nameValuePair (lib.removeSuffix ".nix" file) (./configuration/examples + "/${file}"))
        (lib.filterAttrs (f: t: t == "regular" && lib.hasSuffix ".nix" f) (builtins.readDir ./configuration/examples));
    in
    {
      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./nix/modules ];
        shimboot.systemd.offered = lib.mapAttrs (name: _: lib.mkDefault (rebuiltSystemd pkgs name)) olderSystemd;
      };

      lib = {
        inherit mkSystem mkRootfs;
        # Another flake's own image:
        #   shimboot.lib.mkShimbootImage { board = "dedede"; modules = [ ./configuration.nix ]; }
        mkShimbootImage =
          { board, modules ? [ ], shim ? null, recovery ? null, kernelVersion ? null
          , system ? archSystem (boards.${board}.arch or "x86_64"), flakeRev ? "unknown" }:
          let
            known = boards ? ${board};
            nixos = mkSystem { board = if known then board else null; inherit kernelVersion modules system; };
          in
          (mkImage {
            imagePkgs = imagePkgsFor system flakeRev [ board ];
            inherit board shim recovery flakeRev;
            boardInfo = boards.${board} or null;
            rootfs = mkRootfs nixos;
            shimboot = shimbootFor nixos.pkgs;
          }).overrideAttrs (old: { passthru = old.passthru // { inherit nixos; }; });
      };

      nixosConfigurations = lib.mapAttrs (board: _: userSystem [ ./configuration/configuration.nix ] board) boards;

      # configuration/configuration.nix with each configuration/examples/<name>.nix
      # on every board, for evaluation (nix/tests/eval-all.sh); `nix flake
      # check` does not descend into legacyPackages.
      legacyPackages = forSystems (system: _: {
        examples = lib.mapAttrs (_: file: lib.mapAttrs (board: _:
          userSystem [ ./configuration/configuration.nix file ] board) (boardsFor system)) exampleFiles;
        # What evaluating every output gives: derivation paths (app programs),
        # by group, for nix/tests/eval-all.sh. An item whose evaluation throws
        # is null, so one evaluation names every failing item of a group.
        drvPaths =
          let
            try = v: let r = builtins.tryEval (builtins.deepSeq v v); in if r.success then r.value else null;
            path = p: try (builtins.unsafeDiscardStringContext p);
            top = nixos: path nixos.config.system.build.toplevel.drvPath;
          in {
            nixosConfigurations = lib.mapAttrs (board: _: top self.nixosConfigurations.${board}) (boardsFor system);
            examples = lib.mapAttrs (_: lib.mapAttrs (_: top)) self.legacyPackages.${system}.examples;
            packages = lib.mapAttrs (_: p: path p.drvPath) self.packages.${system};
            checks = lib.mapAttrs (_: c: path c.drvPath) self.checks.${system};
            apps = lib.mapAttrs (_: a: path a.program) self.apps.${system};
            devShells = lib.mapAttrs (_: d: path d.drvPath) self.devShells.${system};
            formatter = path self.formatter.${system}.drvPath;
          };
      });

      packages = forSystems (system: pkgs:
        let shimboot = shimbootFor pkgs; in
        { inherit shimboot; default = shimboot; }
        // lib.mapAttrs' (board: _: lib.nameValuePair "rootfs-${board}" (mkRootfs self.nixosConfigurations.${board})) (boardsFor system)
        // lib.mapAttrs' (board: _: lib.nameValuePair "image-${board}" (mkImage {
          imagePkgs = imagePkgs.${system};
          inherit board shimboot flakeRev;
          boardInfo = boards.${board};
          rootfs = self.packages.${system}."rootfs-${board}";
        })) (boardsFor system)
        // lib.mapAttrs' (board: _: lib.nameValuePair "recovery-${board}"
          self.packages.${system}."image-${board}".recoveryFile) (boardsFor system));

      apps = forSystems (system: pkgs:
        let
          # callPackage adds override functions beside the derivations.
          drvs = lib.filterAttrs (_: lib.isDerivation) (pkgs.callPackage ./nix/apps.nix {
            shimboot = self.packages.${system}.shimboot;
            flakeRef = "${self}";
            inherit flakeRev;
          });
          app = drv: { type = "app"; program = lib.getExe drv; meta.description = drv.meta.description; };
        in
        lib.mapAttrs (_: app) drvs // { default = app drvs.build-shimboot; });

      checks = forSystems (system: pkgs:
        let
          testFiles = lib.filter (lib.hasSuffix "-test.nix") (builtins.attrNames (builtins.readDir ./nix/tests));
          pureResults = map (f: import (./nix/tests + "/${f}")) testFiles;
          # A check that evaluation alone decides: forcing its text forces `value`.
          evalCheck = name: value: pkgs.writeText "shimboot-${name}" (builtins.toJSON (builtins.deepSeq value value));
          structure = board:
            let nixos = self.nixosConfigurations.${board}; in
            pkgs.callPackage ./nix/checks/rootfs-structure.nix { } {
              rootfs = self.packages.${system}."rootfs-${board}";
              systemd = nixos.config.systemd.package;
              ext4Features = policy.ext4Features nixos.config.shimboot.kernelVersion;
            };
          # PID 1's systemd for a board: the choice, the unit comparison
          # (nix/lib/systemd-units.nix), and, for a rebuilt one, that the older
          # expression's patches exist.
          systemdReport = board:
            let
              config = self.nixosConfigurations.${board}.config;
              r = config.shimboot.systemd.report;
              rebuild = config.systemd.package.shimbootRebuild or null;
            in
            if !r.ok then throw "shimboot: ${board}: systemd units do not fit: ${builtins.toJSON r.missing}"
            else if rebuild != null && rebuild.missingPatches != [ ] then
              throw "shimboot: ${board}: ${rebuild.name} lists patches that do not exist: ${toString rebuild.missingPatches}"
            else r // { drv = builtins.unsafeDiscardStringContext config.systemd.package.drvPath; };
          # Each older input carries the systemd major its name promises.
          inputMajors = lib.mapAttrs (name: o:
            let v = o.input.legacyPackages.${system}.systemd.version; in
            if lib.versions.major v == toString o.major then v
            else throw "shimboot: input ${name} carries systemd ${v}, not ${toString o.major}") olderSystemd;
        in
        {
          vitest = pkgs.callPackage ./nix/checks/vitest.nix { src = self; };
          # Evaluating the check evaluates every pure test (each throws on failure).
          pure-nix = builtins.deepSeq pureResults (pkgs.runCommand "shimboot-pure-nix-tests" { } "touch $out");
          systemd-inputs = evalCheck "systemd-inputs" inputMajors;
          # One board per kind of PID 1: grunt (4.14: systemd 257, rebuilt from the
          # older input), nissa (5.15: the nixpkgs pin's own).
          rootfs-structure-grunt = structure "grunt";
          rootfs-structure-nissa = structure "nissa";
          vm-boot = pkgs.callPackage ./nix/checks/vm-boot.nix { } {
            rootfs = self.packages.${system}.rootfs-dedede;
          };
        }
        # Every board's system evaluates (drvPath forces evaluation, not a build).
        // lib.mapAttrs' (board: _: lib.nameValuePair "eval-${board}"
          (pkgs.writeText "shimboot-eval-${board}"
            (builtins.unsafeDiscardStringContext self.nixosConfigurations.${board}.config.system.build.toplevel.drvPath)))
          (boardsFor system)
        // lib.mapAttrs' (board: _: lib.nameValuePair "systemd-${board}" (evalCheck "systemd-${board}" (systemdReport board)))
          (boardsFor system));

      devShells = forSystems (system: pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            nodejs nix jq e2fsprogs xfsprogs fakeroot kmod xz zstd lz4 bzip2 cpio util-linux
            (pkgs.vboot-utils or pkgs.vboot_reference) busybox dtc ubootTools binutils qemu shellcheck cloud-utils nixfmt
          ];
        };
      });

      # RFC-style nixfmt: `nixfmt` at this nixpkgs (nixfmt-rfc-style became it).
      formatter = forSystems (system: pkgs: pkgs.nixfmt);
    };
}
