import AWSConfig
import AWSSigning
import FoundationEssentials

/// Signs, sends and decodes query-protocol calls for one service endpoint,
/// retrying once after a pause when the service is throttling or answers
/// with a 5xx status.
struct QueryAPIClient {
    var credentials: AWSCredentials
    var endpoint: ServiceEndpoint
    var service: String
    var transport: any HTTPTransport
    var clock: any RequestClock
    var retryDelay: Duration
    var jitter: @Sendable () -> Double

    func call<Result>(
        _ request: AWSQueryRequest, decode: (TransportResponse) throws(STSClientError) -> Result
    ) throws(STSClientError) -> Result {
        var attempt = 1
        while true {
            let now = clock.now()
            let signed = request.signed(for: endpoint, service: service, credentials: credentials, at: now)
            let response: TransportResponse
            do {
                response = try transport.post(url: signed.url, headers: signed.headers, body: signed.body)
            } catch {
                throw .transport(error)
            }
            do {
                return try decode(response)
            } catch {
                var error = error
                if case .service(var refusal) = error {
                    refusal.signedAt = now
                    error = .service(refusal)
                }
                guard attempt == 1, Self.isRetryable(error, status: response.status) else { throw error }
                attempt += 1
                clock.sleep(for: retryDelay * max(1, min(2, jitter())))
            }
        }
    }

    static func isRetryable(_ error: STSClientError, status: Int) -> Bool {
        if status >= 500 && status < 600 { return true }
        if case .service(let serviceError) = error, serviceError.kind == .throttling { return true }
        return false
    }
}

/// STS calls: GetSessionToken, AssumeRole, GetCallerIdentity.
///
///     let endpoint = try EndpointResolver.sts(region: region, profile: profile, config: config, environment: env)
///     let client = STSClient(credentials: longTerm, endpoint: endpoint, transport: http)
///     let session = try client.getSessionToken(.init(durationSeconds: 43200, serialNumber: serial, tokenCode: code))
///
/// Every call validates its parameters before sending, signs with the
/// clock's current time, and retries once (after `retryDelay`, stretched by
/// up to half again at random) on throttling or a 5xx status.
public struct STSClient {
    var core: QueryAPIClient

    public init(
        credentials: AWSCredentials, endpoint: ServiceEndpoint, transport: any HTTPTransport,
        clock: any RequestClock = SystemClock(), retryDelay: Duration = .seconds(1),
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 1.0..<1.5) }
    ) {
        core = QueryAPIClient(
            credentials: credentials, endpoint: endpoint, service: "sts", transport: transport, clock: clock,
            retryDelay: retryDelay, jitter: jitter)
    }

    public func getSessionToken(_ request: GetSessionTokenRequest) throws(STSClientError) -> GetSessionTokenResult {
        let query: AWSQueryRequest
        do { query = try request.queryRequest() } catch { throw .invalidRequest(error) }
        return try core.call(query) { (response) throws(STSClientError) in try GetSessionTokenResult(parsing: response)
        }
    }

    public func assumeRole(_ request: AssumeRoleRequest) throws(STSClientError) -> AssumeRoleResult {
        let query: AWSQueryRequest
        do { query = try request.queryRequest() } catch { throw .invalidRequest(error) }
        return try core.call(query) { (response) throws(STSClientError) in try AssumeRoleResult(parsing: response) }
    }

    public func getCallerIdentity() throws(STSClientError) -> CallerIdentity {
        try core.call(GetCallerIdentityRequest().queryRequest()) { (response) throws(STSClientError) in
            try CallerIdentity(parsing: response)
        }
    }
}

/// IAM calls: ListMFADevices, and the life of a virtual MFA device:
/// CreateVirtualMFADevice, EnableMFADevice, ResyncMFADevice,
/// DeactivateMFADevice, DeleteVirtualMFADevice; GetUser.
public struct IAMClient {
    var core: QueryAPIClient

    public init(
        credentials: AWSCredentials, endpoint: ServiceEndpoint, transport: any HTTPTransport,
        clock: any RequestClock = SystemClock(), retryDelay: Duration = .seconds(1),
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 1.0..<1.5) }
    ) {
        core = QueryAPIClient(
            credentials: credentials, endpoint: endpoint, service: "iam", transport: transport, clock: clock,
            retryDelay: retryDelay, jitter: jitter)
    }

    public func listMFADevices(_ request: ListMFADevicesRequest = .init()) throws(STSClientError)
        -> ListMFADevicesResult
    {
        let query: AWSQueryRequest
        do { query = try request.queryRequest() } catch { throw .invalidRequest(error) }
        return try core.call(query) { (response) throws(STSClientError) in
            try ListMFADevicesResult(parsing: response)
        }
    }

    public func createVirtualMFADevice(_ request: CreateVirtualMFADeviceRequest) throws(STSClientError)
        -> CreateVirtualMFADeviceResult
    {
        try core.call(try Self.query(request.queryRequest)) { (response) throws(STSClientError) in
            try CreateVirtualMFADeviceResult(parsing: response)
        }
    }

    /// EnableMFADevice or ResyncMFADevice, by the request's action.
    public func send(_ request: MFADeviceCodesRequest) throws(STSClientError) {
        try core.call(try Self.query(request.queryRequest)) { (response) throws(STSClientError) in
            _ = try Acknowledgement(of: request.action.rawValue, parsing: response)
        }
    }

    /// DeactivateMFADevice or DeleteVirtualMFADevice, by the request's action.
    public func send(_ request: MFADeviceRequest) throws(STSClientError) {
        try core.call(try Self.query(request.queryRequest)) { (response) throws(STSClientError) in
            _ = try Acknowledgement(of: request.action.rawValue, parsing: response)
        }
    }

    /// GetUser: `userName`, or the caller when nil.
    public func getUser(userName: String? = nil) throws(STSClientError) -> IAMUser {
        try core.call(try Self.query(MFADeviceRequest.getUser(userName: userName).queryRequest)) {
            (response) throws(STSClientError) in try IAMUser(parsing: response)
        }
    }

    static func query(_ build: () throws(STSValidationError) -> AWSQueryRequest) throws(STSClientError)
        -> AWSQueryRequest
    {
        do { return try build() } catch { throw .invalidRequest(error) }
    }

    /// Every device of `userName` (the caller when nil), following markers
    /// for at most `maximumPages` pages.
    public func allMFADevices(userName: String? = nil, maximumPages: Int = 20) throws(STSClientError) -> [MFADevice] {
        var devices: [MFADevice] = []
        var request = ListMFADevicesRequest(userName: userName)
        for _ in 0..<maximumPages {
            let page = try listMFADevices(request)
            devices += page.devices
            guard page.isTruncated, let marker = page.marker else { return devices }
            request.marker = marker
        }
        return devices
    }
}
