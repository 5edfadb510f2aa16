import FoundationEssentials
import SystemSupport
import USB
import YubiKey

/// What `doctor` checks, in one place: the devices and the rules
/// (``DeviceChecks``), the TPM (``TPMChecks``), then AWS (``AWSChecks``)
/// and the profiles' backup keys (``BackupChecks``).
public enum HostChecks {
    /// Every check, in the order a person would fix things: pcscd, the key,
    /// the rules, then AWS.
    public static func doctor(root: String, world: World) -> [DoctorCheck] {
        let environment = world.environment
        let pcsc = PCSCFindings.gather()
        let device = DeviceChecks(root: root, pcsc: pcsc, user: .live, environment: environment)
        // The CCID interface is probed (claimed and released) only when
        // pcscd lists no reader: a key pcscd serves is pcscd's to hold.
        let usb = Result { () throws(USBError) in try USBKeys.survey(try USBContext(), probingClaims: pcsc.readers.isEmpty) }
        let udev = UdevFindings.scan(root: root)
        let polkit = PolkitFindings.scan(root: root)
        let aws = AWSChecks(environment: environment, http: world.http, now: { world.clock.now() })
        // The TPM is this machine's, not an image's: checked on `/` only.
        let tpm =
            root == "/"
            ? TPMChecks(environment: environment, user: .live).all()
            : TPMChecks.notChecked(because: "--root is not the running system")
        return [
            device.pcscd(), device.polkit(), device.readers(), device.oathApplets(), device.keyHolders(),
            device.usbDevices(usb),
            device.udevRule(udev), device.polkitRule(polkit), device.groupMembership(udev, polkit),
        ] + tpm + [aws.clock(), aws.profiles(), BackupChecks(config: aws.config, pcsc: pcsc).keys()]
    }
}
