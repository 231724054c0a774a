# No published default password: with shimboot.firstBootPassword.user set,
# the first boot asks for that user's password on the console before any
# login prompt, and never again once one is set.
{ config, lib, pkgs, ... }:
let user = config.shimboot.firstBootPassword.user; in
{
  options.shimboot.firstBootPassword.user = lib.mkOption {
    type = lib.types.nullOr lib.types.str;
    default = null;
    description = "User whose password is set interactively on first boot (null: none).";
  };
  config = lib.mkIf (user != null) {
    assertions = [{
      assertion = config.users.mutableUsers;
      message = "shimboot.firstBootPassword needs users.mutableUsers (passwd must persist).";
    }];
    systemd.services.shimboot-first-password = {
      description = "Set ${user}'s password (first boot)";
      wantedBy = [ "multi-user.target" ];
      before = [ "getty.target" "display-manager.service" "sshd.service" ];
      after = [ "systemd-user-sessions.service" ];
      unitConfig.ConditionPathExists = "!/var/lib/shimboot/password-set";
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        StandardInput = "tty";
        StandardOutput = "tty";
        TTYPath = "/dev/console";
        TTYReset = true;
      };
      path = [ pkgs.shadow pkgs.coreutils ];
      script = ''
        echo "First boot: choose a password for ${user}."
        until passwd ${lib.escapeShellArg user}; do echo "Try again."; done
        mkdir -p /var/lib/shimboot && touch /var/lib/shimboot/password-set
      '';
    };
  };
}
