/// Responses in the shapes AWS documents and moto sends (REFERENCE §5 and
/// §7), written out by hand. The keys are AWS's documentation examples.
enum Fixtures {
    /// AWS's pretty-printed GetSessionToken example (3 fraction digits).
    static let getSessionTokenAWS = """
        <GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <GetSessionTokenResult>
            <Credentials>
              <SessionToken>
               AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8C5zqx37wnOE49mRl/+OtkIKGO7fAE
              </SessionToken>
              <SecretAccessKey>
              wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY
              </SecretAccessKey>
              <Expiration>2011-07-11T19:55:29.611Z</Expiration>
              <AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId>
            </Credentials>
          </GetSessionTokenResult>
          <ResponseMetadata>
            <RequestId>58c5dbae-abef-11e0-8cfe-09039844ac7d</RequestId>
          </ResponseMetadata>
        </GetSessionTokenResponse>
        """

    static let exampleToken =
        "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8C5zqx37wnOE49mRl/+OtkIKGO7fAE"

    /// moto's GetSessionToken: one line, 6 fraction digits.
    static let getSessionTokenMoto =
        #"<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetSessionTokenResult><Credentials><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey><SessionToken>AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8C5zqx37wnOE49mRl/+OtkIKGO7fAE</SessionToken><Expiration>2026-11-22T11:03:12.494400Z</Expiration></Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>WqlsFZxImuCyApyToFFvHw6UbDQbNpeWul5gqHpH7u1rIm412olP</RequestId></ResponseMetadata></GetSessionTokenResponse>"#

    /// AWS's AssumeRole example, with a prolog, an extra element AWS may add,
    /// and an Expiration without fraction digits.
    static let assumeRoleAWS = """
        <?xml version="1.0" encoding="UTF-8"?>
        <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleResult>
          <SourceIdentity>DevUser123</SourceIdentity>
            <AssumedRoleUser>
              <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>
              <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>
            </AssumedRoleUser>
            <Credentials>
              <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
              <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
              <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==</SessionToken>
              <Expiration>2019-11-09T13:34:41Z</Expiration>
            </Credentials>
            <PackedPolicySize>6</PackedPolicySize>
          </AssumeRoleResult>
          <ResponseMetadata>
            <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
          </ResponseMetadata>
        </AssumeRoleResponse>
        """

    static let assumeRoleMoto =
        #"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIARZPUZDIKC2FK7ACA</AccessKeyId><SecretAccessKey>Gps8IlsCLf47bN3ez9cDEg0smG9LA1QqqcnUUVEH</SecretAccessKey><SessionToken>FQoGZXIvYXdzEBYaDwqw2l4tJlsQw3G8sic1IETvb9Vg1Meg8n123pw8JbZfIAsx+zJSheJSxcSdkt+9tUyT98ZD3fkAQNtDK9f5XQTSd3XAW+TyZFlT0XToVMU0cg5RkOx6o3YI5ZbsffoYn0/kyISD98GWIQyWs0FeNSf9Tcxhy2r8uxuS4A1XvlcM4VzLEEvOoRGXrmL0llvPU0ZqyneeME4jBAjpqGQCxNv0xNUuMdYzagzQ2aDBSWJfD0kfKrwasNj53sMXKd6VDXA0eLm+IaqjSxViNmFeKLbR92Jiuzmt+gPP5beWgQPcK6OUOqKIjHsf7WIgJ3C7JQg7bT52cnyF/KFyfEA=</SessionToken><Expiration>2026-11-22T11:48:12.578345Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROARZPUZDIKFCUUY4B7S:ss</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/ss</Arn></AssumedRoleUser><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>rFrhz8jOIXoWuhJIn3OcX23kKQJUWi3uNrNX2gV3be8FcKIb87eN</RequestId></ResponseMetadata></AssumeRoleResponse>"#

    static let getCallerIdentityAWS = """
        <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <GetCallerIdentityResult>
           <Arn>arn:aws:iam::123456789012:user/Alice</Arn>
            <UserId>AKIAI44QH8DHBEXAMPLE</UserId>
            <Account>123456789012</Account>
          </GetCallerIdentityResult>
          <ResponseMetadata>
            <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
          </ResponseMetadata>
        </GetCallerIdentityResponse>
        """

    static func listMFADevices(
        members: [(user: String, serial: String, date: String)], truncated: Bool,
        marker: String? = nil
    ) -> String {
        let items = members.map {
            "<member><UserName>\($0.user)</UserName><SerialNumber>\($0.serial)</SerialNumber>"
                + "<EnableDate>\($0.date)</EnableDate></member>"
        }.joined()
        return #"<ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListMFADevicesResult>"#
            + "<MFADevices>\(items)</MFADevices><IsTruncated>\(truncated)</IsTruncated>"
            + (marker.map { "<Marker>\($0)</Marker>" } ?? "")
            + "</ListMFADevicesResult><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>"
            + "</ResponseMetadata></ListMFADevicesResponse>"
    }

    /// AWS's error shape.
    static func errorAWS(code: String, message: String, type: String = "Sender") -> String {
        """
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error>
            <Type>\(type)</Type>
            <Code>\(code)</Code>
            <Message>\(message)</Message>
          </Error>
          <RequestId>4a7c9ebd-5a0e-11e9-9e2e-EXAMPLE</RequestId>
        </ErrorResponse>
        """
    }

    /// moto's older error shape: a prolog, `<Errors>` around `<Error>`, no namespace.
    static func errorMoto(code: String, message: String) -> String {
        #"<?xml version="1.0" encoding="utf-8"?>"# + "\n"
            + "<ErrorResponse><Errors><Error><Code>\(code)</Code><Message>\(message)</Message><Type>Sender</Type>"
            + "</Error></Errors></ErrorResponse>"
    }

    /// moto's newer error shape: a lower-case duplicate `<message>` too.
    static let errorMotoModeled =
        #"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name nobody cannot be found.</Message><message>The user with name nobody cannot be found.</message></Error><RequestId>G2rcsXpTkN48uuL2oD5S4RwX0tejsieGFGfMWDexSoCJ772QuxGu</RequestId></ErrorResponse>"#

    static let wrongCodeMessage = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
    static let unknownSerialMessage =
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
}
