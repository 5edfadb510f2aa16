/// The udev and polkit rules that `latchkey setup` installs and `latchkey
/// doctor` looks for.
///
/// The two texts are the repository's `udev/70-latchkey-yubikey.rules` and
/// `udev/latchkey-pcscd.rules`, byte for byte, with ``groupPlaceholder``
/// where the group's name goes. They are kept here as literals (the package
/// has no resources); CLITests' SetupTests compares what `setup` writes with
/// those files, so a change to one side alone fails the tests.
public enum DeviceRules {
    /// Stands for the group's name in the templates.
    public static let groupPlaceholder = "@LATCHKEY_GROUP@"
    public static let defaultGroup = "latchkey"

    /// Yubico's USB vendor id, as udev writes it.
    public static let vendorID = "1050"
    /// The product ids of YubiKeys with a CCID interface (NEO 0111 0112 0115
    /// 0116; YubiKey 4/5 0404 0405 0406 0407).
    public static let ccidProductIDs = ["0111", "0112", "0115", "0116", "0404", "0405", "0406", "0407"]
    /// The two pcsc-lite polkit actions the polkit rule grants.
    public static let pcscActions = ["org.debian.pcsc-lite.access_pcsc", "org.debian.pcsc-lite.access_card"]

    /// One rule file: where it goes below the root, and its text.
    public struct RuleFile: Sendable {
        /// Relative to the root directory, e.g. `etc/udev/rules.d/70-latchkey-yubikey.rules`.
        public var relativePath: String
        public var template: String

        /// The file's text for `group` (already validated).
        public func text(group: String) -> String {
            template.replacing(DeviceRules.groupPlaceholder, with: group)
        }
    }

    public static let udevRule = RuleFile(relativePath: "etc/udev/rules.d/70-latchkey-yubikey.rules", template: udevTemplate)
    public static let polkitRule = RuleFile(relativePath: "etc/polkit-1/rules.d/50-latchkey-pcscd.rules", template: polkitTemplate)

    /// Whether `name` is a group name setup accepts: `[a-z_][a-z0-9_-]*`, at
    /// most 32 characters (the portable subset useradd(8) documents). The
    /// name goes into both rule files, so nothing else may pass.
    public static func isValidGroupName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 32 else { return false }
        func isLowerOrUnderscore(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || byte == UInt8(ascii: "_") }
        return isLowerOrUnderscore(first)
            && bytes.dropFirst().allSatisfy {
                isLowerOrUnderscore($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-")
            }
    }

    // MARK: - The texts (keep identical to udev/)

    public static let udevTemplate = """
        # latchkey: access to the CCID (smart-card) interface of YubiKeys.
        #
        # Installed by `latchkey setup` as /etc/udev/rules.d/70-latchkey-yubikey.rules;
        # setup fills in the group's name (--group, default latchkey).
        #
        # Each product line does two things:
        #   TAG+="uaccess"   the user logged in at the local seat (a desktop session)
        #                    gets an ACL on the device node; systemd's
        #                    73-seat-late.rules applies it, so this file must sort
        #                    before 73.
        #   GROUP, MODE      members of the group get read/write access everywhere
        #                    else: SSH sessions, cron jobs and services never get
        #                    uaccess.
        # Only the USB device itself is matched (SUBSYSTEM usb, DEVTYPE usb_device:
        # its node is /dev/bus/usb/BBB/DDD), not its interfaces, and only the product
        # ids of YubiKeys that have a CCID interface. Ids without one (0010, 0110,
        # 0113, 0114, 0120, 0401-0403, 0410) are left alone.
        #
        # Beware: mode 0660 on that node reaches the OTP and FIDO interfaces too, not
        # only CCID. Through usbfs a group member can claim any interface of the key
        # and detach the kernel's drivers from the OTP (keyboard) and FIDO (hidraw)
        # interfaces. Put in the group only people you would trust with the whole key.
        # For desktop users at the local seat prefer uaccess alone (delete
        # GROUP="...", MODE="0660" from the lines): their access then ends with their
        # session.

        # Rules below apply when a device appears or changes, not when it goes.
        ACTION!="add|change", GOTO="latchkey_yubikey_end"

        # YubiKey NEO, OTP+CCID
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0111", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"
        # YubiKey NEO, CCID only
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0112", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"
        # YubiKey NEO, FIDO+CCID
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0115", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"
        # YubiKey NEO, OTP+FIDO+CCID
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0116", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"
        # YubiKey 4/5, CCID only
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0404", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"
        # YubiKey 4/5, OTP+CCID
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0405", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"
        # YubiKey 4/5, FIDO+CCID
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0406", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"
        # YubiKey 4/5, OTP+FIDO+CCID
        SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0407", TAG+="uaccess", GROUP="@LATCHKEY_GROUP@", MODE="0660"

        LABEL="latchkey_yubikey_end"
        """ + "\n"

    public static let polkitTemplate = """
        // latchkey: lets members of group @LATCHKEY_GROUP@ use pcscd, and through it
        // the YubiKey, from SSH sessions, cron jobs and services.
        //
        // Installed by `latchkey setup` as /etc/polkit-1/rules.d/50-latchkey-pcscd.rules;
        // setup fills in the group's name (--group, default latchkey).
        // pcsc-lite's own policy allows its two actions to active local sessions
        // only; polkitd reads this file as soon as it appears, no restart needed.
        polkit.addRule(function (action, subject) {
            // access_pcsc: talk to pcscd at all (SCardEstablishContext).
            // access_card: use a card in a reader (SCardConnect).
            if ((action.id == "org.debian.pcsc-lite.access_pcsc" ||
                 action.id == "org.debian.pcsc-lite.access_card") &&
                subject.isInGroup("@LATCHKEY_GROUP@")) {
                return polkit.Result.YES;
            }
        });
        """ + "\n"
}
