{
  description = "shimboot-nixos: a ChromeOS RMA shim turned into a bootable NixOS USB image";

  inputs = {
    # nixos-unstable; needs Nix >= 2.18 (lib/minver.nix).
    nixpkgs.url = "github:NixOS/nixpkgs/6201e203d09599479a3b3450ed24fa81537ebc4e";
    # Carries systemd 257.9, the newest systemd shim kernels below 5.4 (and
    # 5.4-5.9 when nixpkgs has no 259) can run: nix/lib/systemd-choice.nix.
    nixpkgs-systemd257.url = "github:NixOS/nixpkgs/d3736636ac39ed678e557977b65d620ca75142d0";
  };

  outputs = { self, nixpkgs, nixpkgs-systemd257 }:
    let
      inherit (nixpkgs) lib;
      boards = import ./nix/boards.nix;
      policy = import ./nix/lib/kernel-policy.nix;
      systems = [ "x86_64-linux" ];
      forSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
      flakeRev = self.rev or self.dirtyRev or "unknown";
      archSystem = arch: "${arch}-linux";
      boardsFor = system: lib.filterAttrs (_: b: archSystem b.arch == system) boards;

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

      # The user's system: configuration/configuration.nix on each board.
      userSystem = board: mkSystem {
        inherit board;
        system = archSystem boards.${board}.arch;
        modules = [ ./configuration/configuration.nix ];
      };
    in
    {
      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./nix/modules ];
        shimboot.systemd.offered.nixpkgs-systemd257 =
          lib.mkDefault nixpkgs-systemd257.legacyPackages.${pkgs.stdenv.hostPlatform.system}.systemd;
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
            rootfs = mkRootfs nixos;
          in
          (nixos.pkgs.callPackage ./nix/image.nix { shimboot = shimbootFor nixos.pkgs; } {
            inherit board rootfs shim recovery flakeRev;
            boardInfo = boards.${board} or null;
          }).overrideAttrs (old: { passthru = old.passthru // { inherit nixos; }; });
      };

      nixosConfigurations = lib.mapAttrs (board: _: userSystem board) boards;

      packages = forSystems (system: pkgs:
        let shimboot = shimbootFor pkgs; in
        { inherit shimboot; default = shimboot; }
        // lib.mapAttrs' (board: _: lib.nameValuePair "rootfs-${board}" (mkRootfs self.nixosConfigurations.${board})) (boardsFor system)
        // lib.mapAttrs' (board: _: lib.nameValuePair "image-${board}"
          (pkgs.callPackage ./nix/image.nix { inherit shimboot; } {
            inherit board flakeRev;
            boardInfo = boards.${board};
            rootfs = self.packages.${system}."rootfs-${board}";
          })) (boardsFor system)
        // lib.mapAttrs' (board: _: lib.nameValuePair "recovery-${board}"
          self.packages.${system}."image-${board}".recoveryFile) (boardsFor system));

      apps = forSystems (system: pkgs:
        let
          drvs = pkgs.callPackage ./nix/apps.nix {
            shimboot = self.packages.${system}.shimboot;
            flakeRef = "${self}";
            inherit flakeRev;
          };
          app = drv: { type = "app"; program = lib.getExe drv; };
        in
        lib.mapAttrs (_: app) drvs // { default = app drvs.build-shimboot; });

      checks = forSystems (system: pkgs:
        let
          testFiles = lib.filter (lib.hasSuffix "-test.nix") (builtins.attrNames (builtins.readDir ./nix/tests));
          pureResults = map (f: import (./nix/tests + "/${f}")) testFiles;
          structure = board:
            let nixos = self.nixosConfigurations.${board}; in
            pkgs.callPackage ./nix/checks/rootfs-structure.nix { } {
              rootfs = self.packages.${system}."rootfs-${board}";
              systemd = nixos.config.systemd.package;
              ext4Features = policy.ext4Features nixos.config.shimboot.kernelVersion;
            };
        in
        {
          vitest = pkgs.callPackage ./nix/checks/vitest.nix { src = self; };
          # Evaluating the check evaluates every pure test (each throws on failure).
          pure-nix = builtins.deepSeq pureResults (pkgs.runCommand "shimboot-pure-nix-tests" { } "touch $out");
          # One board per systemd source: grunt (4.14, systemd 257), nissa (5.15, newest).
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
