#!/usr/bin/env python3
"""An STS/IAM test server that checks SigV4 signatures and MFA codes.

moto takes any TokenCode; AWS accepts each TOTP code once. This server does
what AWS does for the calls latchkey makes, so tests can prove "one code,
one use", role-chaining limits and error handling:

    python3 mfa_sts_server.py CONFIG.json

It listens on 127.0.0.1 on a port the kernel picks, prints one line
{"port": N} once it is listening, and exits when its stdin reaches EOF (the
harness closes the pipe) or on SIGTERM. See Tests/Support/MFASTSServer.swift
for the Swift launcher and the configuration's shape.

The query API (POST / with a form body, Version 2011-06-15 for STS and
2010-05-08 for IAM; the service is the one in the SigV4 credential scope):

    sts GetSessionToken   DurationSeconds, SerialNumber, TokenCode
    sts AssumeRole        RoleArn, RoleSessionName, DurationSeconds,
                          ExternalId, SerialNumber, TokenCode
    sts GetCallerIdentity
    iam ListMFADevices    UserName

The console federation endpoint (AWS's custom identity broker flow), GET
with a query or POST with a form body:

    /federation Action=getSigninToken  Session={"sessionId","sessionKey",
                "sessionToken"} of a session this server issued,
                SessionDuration 900..43200 (AssumeRole sessions only)
                -> {"SigninToken": "..."}; a GetSessionToken session gets
                400 and AWS's "Only federation tokens or assume role tokens
                may be used for federated login."
    /federation Action=login  SigninToken, Destination, Issuer
                -> 302 to Destination for a token this server issued

Both count in "actions" (getSigninToken, login) and take faults.

Control endpoints, without authentication, for tests:

    GET  /__stats    {"mfa_checks", "mfa_accepted", "mfa_rejected",
                      "actions": {name: count}, "requests"}
    POST /__faults   a JSON list of faults, appended to those pending
    POST /__clock    {"offset_seconds": N}
    POST /__reset    forget faults, stats and spent MFA steps

Every MFA check (a request carrying SerialNumber) counts in mfa_checks and
in exactly one of mfa_accepted / mfa_rejected, an unknown serial included.
"requests" and "actions" count every API request, refused or faulted ones
included (a request whose body names no Action counts in "requests" only).

A fault applies to the next request(s) naming its action ("*": any), in the
order the faults were given, `times` times (default 1), before any check:

    {"action": "GetSessionToken", "status": 400, "code": "Throttling", "message": "Rate exceeded"}
    {"action": "*", "status": 200, "raw_body": "garbage"}
    {"action": "AssumeRole", "delay_seconds": 3}      then answer normally
    {"action": "GetCallerIdentity", "close": true}    drop the connection unanswered
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import string
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

STS_VERSION = "2011-06-15"
IAM_VERSION = "2010-05-08"
NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
VERSIONS = {"sts": STS_VERSION, "iam": IAM_VERSION}
ACTIONS = {
    "sts": ("GetSessionToken", "AssumeRole", "GetCallerIdentity"),
    "iam": ("ListMFADevices", "ResyncMFADevice", "CreateVirtualMFADevice", "EnableMFADevice",
            "DeactivateMFADevice", "DeleteVirtualMFADevice", "ListAccessKeys", "CreateAccessKey",
            "DeleteAccessKey"),
}
SKEW_SECONDS = 15 * 60
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
SESSION_NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)
UPPER_ALNUM = string.ascii_uppercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

MESSAGES = {
    "signature": "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    "invalid_token": "The security token included in the request is invalid.",
    "expired_token": "The security token included in the request is expired",
    "wrong_code": "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    "unknown_serial": "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user.",
    "session_gst": "Cannot call GetSessionToken with session credentials",
    "chaining": "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    "max_session": "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    "federation_gst": "Only federation tokens or assume role tokens may be used for federated login.",
}


class APIError(Exception):
    """An error answered in AWS's ErrorResponse shape."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def validation_error(value, field, constraint):
    # AWS's wording for a parameter that fails the API model's constraints.
    shown = "null" if value is None else "'%s'" % value
    return APIError(400, "ValidationError",
                    "1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s"
                    % (shown, field, constraint))


def random_text(alphabet, length):
    return "".join(secrets.choice(alphabet) for _ in range(length))


def stable_id(prefix, name):
    """An IAM-style unique id (AIDA…, AROA…) that stays the same for a name."""
    digest = hashlib.sha256(name.encode()).digest()
    return prefix + "".join(UPPER_ALNUM[byte % len(UPPER_ALNUM)] for byte in digest[:17])


def totp(seed, step, digits):
    """RFC 6238 with HMAC-SHA1: the HOTP value (RFC 4226) of the time step."""
    mac = hmac.new(seed, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % (10 ** digits)).zfill(digits)


def iso8601(instant, fraction_digits):
    moment = datetime.fromtimestamp(instant, tz=timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits > 0:
        text += "." + moment.strftime("%f")[:fraction_digits]
    return text + "Z"


def escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def element(name, value):
    return "<%s>%s</%s>" % (name, escape(value), name)


# MARK: - Configuration and state


class Device:
    def __init__(self, raw):
        self.serial = raw["serial"]
        text = raw["seed_base32"].replace(" ", "").upper().rstrip("=")
        self.seed = base64.b32decode(text + "=" * (-len(text) % 8))
        if not self.seed:
            raise ValueError("the MFA device %s has an empty seed" % self.serial)
        self.digits = int(raw.get("digits", 6))
        self.period = int(raw.get("period", 30))
        if not 6 <= self.digits <= 8 or self.period < 1:
            raise ValueError("the MFA device %s needs 6-8 digits and a period of 1 s or more" % self.serial)


class User:
    def __init__(self, raw, account):
        self.name = raw["name"]
        self.arn = "arn:aws:iam::%s:user/%s" % (account, self.name)
        self.user_id = stable_id("AIDA", self.name)
        self.access_key_id = raw["access_key_id"]
        self.secret_access_key = raw["secret_access_key"]
        self.devices = [Device(device) for device in raw.get("mfa_devices", [])]
        # Like AWS's "manage your own credentials only with MFA" policies:
        # the access-key calls need an MFA session.
        self.require_mfa_for_keys = bool(raw.get("require_mfa_for_keys", False))
        # Further keys IAM lists for the user (their secrets unknown to tests).
        self.extra_access_keys = list(raw.get("extra_access_keys", []))


class Role:
    def __init__(self, raw):
        self.arn = raw["arn"]
        self.name = self.arn.rsplit("/", 1)[-1]
        self.role_id = stable_id("AROA", self.arn)
        self.max_session_duration = int(raw.get("max_session_duration", 3600))
        self.external_id = raw.get("external_id")
        self.require_mfa = bool(raw.get("require_mfa", False))


class Key:
    """A key the server knows: a user's long-term key, or temporary
    credentials it issued (kind "session" from GetSessionToken, "role" from
    AssumeRole)."""

    def __init__(self, kind, user, access_key_id, secret, token=None, expires=None, mfa=False,
                 role=None, session_name=None, created=None, usable_from=0.0):
        self.kind = kind
        # A user's key: when CreateAccessKey made it, and from when the
        # server accepts it (IAM takes a few seconds to know a new key).
        self.created = created if created is not None else time.time() - 86400
        self.usable_from = usable_from
        self.user = user
        self.access_key_id = access_key_id
        self.secret = secret
        self.token = token
        self.expires = expires
        self.mfa = mfa
        self.role = role
        self.session_name = session_name

    @property
    def temporary(self):
        return self.kind != "user"

    @property
    def arn(self):
        if self.kind == "role":
            account = self.role.arn.split(":")[4]
            return "arn:aws:sts::%s:assumed-role/%s/%s" % (account, self.role.name, self.session_name)
        return self.user.arn

    @property
    def user_id(self):
        if self.kind == "role":
            return "%s:%s" % (self.role.role_id, self.session_name)
        return self.user.user_id


class State:
    """Everything that changes, behind one lock: tests start many clients at once."""

    def __init__(self, config):
        self.lock = threading.Lock()
        self.account = str(config.get("account", "123456789012"))
        self.users = [User(raw, self.account) for raw in config.get("users", [])]
        self.roles = {role.arn: role for role in (Role(raw) for raw in config.get("roles", []))}
        self.clock_offset = float(config.get("clock_offset_seconds", 0))
        self.fraction_digits = int(config.get("expiration_fraction_digits", 0))
        if self.fraction_digits not in range(0, 7):
            raise ValueError("expiration_fraction_digits must be 0 to 6")
        self.enable_date = iso8601(time.time(), 0)
        self.keys = {user.access_key_id: Key("user", user, user.access_key_id, user.secret_access_key)
                     for user in self.users}
        for user in self.users:
            for extra in user.extra_access_keys:
                self.keys[extra] = Key("user", user, extra, random_text(SECRET_ALPHABET, 40))
        self.key_propagation = float(config.get("key_propagation_seconds", 0))
        # Virtual devices made by CreateVirtualMFADevice: serial -> base32 seed.
        self.virtual = {}
        self.reset()

    def reset(self):
        self.signin_tokens = {}
        self.faults = []
        self.spent = set()
        self.stats = {"mfa_checks": 0, "mfa_accepted": 0, "mfa_rejected": 0, "actions": {}, "requests": 0}

    def now(self):
        return time.time() + self.clock_offset

    def take_fault(self, action):
        for fault in self.faults:
            if fault.get("action", "*") in ("*", action):
                fault["times"] = int(fault.get("times", 1)) - 1
                if fault["times"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def check_mfa(self, user, serial, code):
        """Accepts `code` once for the device's step T-1, T or T+1 (lock held)."""
        self.stats["mfa_checks"] += 1
        device = next((device for device in user.devices if device.serial == serial), None)
        if device is None:
            self.stats["mfa_rejected"] += 1
            raise APIError(403, "AccessDenied", MESSAGES["unknown_serial"])
        step = int(self.now() // device.period)
        for candidate in (step - 1, step, step + 1):
            if (serial, candidate) in self.spent:
                continue
            if code is not None and hmac.compare_digest(totp(device.seed, candidate, device.digits), code):
                self.spent.add((serial, candidate))
                self.stats["mfa_accepted"] += 1
                return
        self.stats["mfa_rejected"] += 1
        raise APIError(403, "AccessDenied", MESSAGES["wrong_code"])

    def issue(self, kind, caller, duration, mfa, role=None, session_name=None):
        """New temporary credentials, remembered until the server exits."""
        while True:
            access_key_id = "ASIA" + random_text(UPPER_ALNUM, 16)
            if access_key_id not in self.keys:
                break
        key = Key(kind, caller.user, access_key_id, random_text(SECRET_ALPHABET, 40),
                  token=base64.b64encode(secrets.token_bytes(264)).decode(), expires=self.now() + duration,
                  mfa=mfa, role=role, session_name=session_name)
        self.keys[access_key_id] = key
        return key


# MARK: - Signature Version 4


def parse_authorization(header):
    scheme, _, rest = header.partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        raise APIError(400, "IncompleteSignature",
                       "Unsupported authorization type: only AWS4-HMAC-SHA256 is accepted")
    parts = {}
    for item in rest.split(","):
        name, equals, value = item.strip().partition("=")
        if equals:
            parts[name] = value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
    if missing:
        raise APIError(400, "IncompleteSignature", " ".join(
            "Authorization header requires '%s' parameter." % name for name in missing))
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise APIError(400, "IncompleteSignature",
                       "Credential must have exactly 5 slash-delimited elements, e.g. "
                       "keyid/date/region/service/term, got '%s'" % parts["Credential"])
    return scope, parts["SignedHeaders"], parts["Signature"]


def authenticate(state, handler, body):
    """The caller's Key, the scope's service, or an APIError as AWS would send it."""
    header = handler.headers.get("Authorization")
    if not header:
        raise APIError(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    (access_key_id, scope_date, region, service, _), signed_headers, signature = parse_authorization(header)
    if service not in ACTIONS:
        raise APIError(403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. ")
    amz_date = handler.headers.get("X-Amz-Date")
    if amz_date is None:
        raise APIError(400, "IncompleteSignature",
                       "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    try:
        signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise APIError(400, "IncompleteSignature",
                       "Date must be in ISO-8601 'basic format'. Got '%s'." % amz_date) from None
    if scope_date != amz_date[:8]:
        raise APIError(403, "SignatureDoesNotMatch",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                       "from HTTP: '%s' != '%s', from '%s'." % (scope_date, amz_date[:8], amz_date))
    if service == "iam" and region != "us-east-1":
        raise APIError(403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region. ")

    token = handler.headers.get("X-Amz-Security-Token")
    with state.lock:
        key = state.keys.get(access_key_id)
        now = state.now()
    if key is None or (key.temporary and (token is None or not hmac.compare_digest(token, key.token))) \
            or (not key.temporary and token is not None) or key.usable_from > now:
        raise APIError(403, "InvalidClientTokenId", MESSAGES["invalid_token"])

    if signed_at < now - SKEW_SECONDS:
        raise APIError(403, "SignatureDoesNotMatch", "Signature expired: %s is now earlier than %s (%s - 15 min.)"
                       % (amz_date, amz_stamp(now - SKEW_SECONDS), amz_stamp(now)))
    if signed_at > now + SKEW_SECONDS:
        raise APIError(403, "SignatureDoesNotMatch", "Signature not yet current: %s is still later than %s (%s + 15 min.)"
                       % (amz_date, amz_stamp(now + SKEW_SECONDS), amz_stamp(now)))

    # Rebuild the request from the headers the client says it signed and let
    # botocore's own signer compute what the signature must be.
    host = handler.headers.get("Host") or "127.0.0.1:%d" % handler.server.server_address[1]
    request = AWSRequest(method=handler.command, url="http://%s%s" % (host, handler.path), data=body)
    wanted = set(signed_headers.split(";"))
    for name, value in handler.headers.items():
        if name.lower() in wanted:
            request.headers[name] = value
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key_id, key.secret, key.token), service, region)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    expected = signer.signature(string_to_sign, request)
    if signer.signed_headers(signer.headers_to_sign(request)) != signed_headers \
            or not hmac.compare_digest(expected, signature):
        raise APIError(403, "SignatureDoesNotMatch", MESSAGES["signature"])

    if key.temporary and key.expires <= now:
        raise APIError(403, "ExpiredToken", MESSAGES["expired_token"])
    return key, service


def amz_stamp(instant):
    return datetime.fromtimestamp(instant, tz=timezone.utc).strftime(AMZ_DATE_FORMAT)


# MARK: - Actions


def duration_parameter(params, default, maximum_allowed):
    text = params.get("DurationSeconds")
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise validation_error(text, "durationSeconds", "Member must be an integer") from None
    if value < 900:
        raise validation_error(text, "durationSeconds", "Member must have value greater than or equal to 900")
    if value > maximum_allowed:
        raise validation_error(text, "durationSeconds",
                               "Member must have value less than or equal to %d" % maximum_allowed)
    return value


def mfa_parameters(params):
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if code is not None and serial is None:
        raise validation_error(None, "serialNumber", "Member must not be null when tokenCode is given")
    return serial, code


def credentials_xml(state, key):
    return ("<Credentials>%s%s%s%s</Credentials>" % (
        element("AccessKeyId", key.access_key_id), element("SecretAccessKey", key.secret),
        element("SessionToken", key.token), element("Expiration", iso8601(key.expires, state.fraction_digits))))


def get_session_token(state, caller, params):
    if caller.temporary:
        raise APIError(403, "AccessDenied", MESSAGES["session_gst"])
    duration = duration_parameter(params, 43200, 129600)
    serial, code = mfa_parameters(params)
    with state.lock:
        if serial is not None:
            state.check_mfa(caller.user, serial, code)
        key = state.issue("session", caller, duration, mfa=serial is not None)
        return credentials_xml(state, key)


def assume_role(state, caller, params):
    role_arn = params.get("RoleArn")
    if role_arn is None:
        raise validation_error(None, "roleArn", "Member must not be null")
    session_name = params.get("RoleSessionName")
    if session_name is None:
        raise validation_error(None, "roleSessionName", "Member must not be null")
    if len(session_name) < 2:
        raise validation_error(session_name, "roleSessionName", "Member must have length greater than or equal to 2")
    if len(session_name) > 64:
        raise validation_error(session_name, "roleSessionName", "Member must have length less than or equal to 64")
    if not SESSION_NAME.fullmatch(session_name):
        raise validation_error(session_name, "roleSessionName",
                               "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    duration = duration_parameter(params, 3600, 43200)
    serial, code = mfa_parameters(params)
    refused = APIError(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                       % (caller.arn, role_arn))
    role = state.roles.get(role_arn)
    if role is None:
        raise refused
    if duration > role.max_session_duration:
        raise APIError(400, "ValidationError", MESSAGES["max_session"])
    if caller.temporary and duration > 3600:
        raise APIError(400, "ValidationError", MESSAGES["chaining"])
    if role.external_id is not None and params.get("ExternalId") != role.external_id:
        raise refused
    with state.lock:
        mfa = caller.mfa
        if serial is not None:
            state.check_mfa(caller.user, serial, code)
            mfa = True
        if role.require_mfa and not mfa:
            raise refused
        key = state.issue("role", caller, duration, mfa=mfa, role=role, session_name=session_name)
        return credentials_xml(state, key) + "<AssumedRoleUser>%s%s</AssumedRoleUser>" % (
            element("AssumedRoleId", key.user_id), element("Arn", key.arn))


def get_caller_identity(state, caller, params):
    return element("Arn", caller.arn) + element("UserId", caller.user_id) + element("Account", state.account)


def requested_user(state, caller, params):
    """The user named by UserName, else the calling user (a role must name one)."""
    if params.get("UserName") is not None:
        return named_user(state, params)
    if caller.kind == "role":
        raise APIError(400, "ValidationError", "Must specify userName when calling with non-User credentials")
    return caller.user


def list_mfa_devices(state, caller, params):
    user = requested_user(state, caller, params)
    members = "".join("<member>%s%s%s</member>" % (
        element("UserName", user.name), element("SerialNumber", device.serial),
        element("EnableDate", state.enable_date)) for device in user.devices)
    return "<IsTruncated>false</IsTruncated><MFADevices>%s</MFADevices>" % members


def named_user(state, params):
    name = params.get("UserName", "")
    user = next((user for user in state.users if user.name == name), None)
    if user is None:
        raise APIError(404, "NoSuchEntity", "The user with name %s cannot be found." % name)
    return user


def assigned(state, serial):
    return next((user for user in state.users if any(device.serial == serial for device in user.devices)), None)


def create_virtual_mfa_device(state, caller, params):
    serial = "arn:aws:iam::%s:mfa/%s" % (state.account, params.get("VirtualMFADeviceName", ""))
    with state.lock:
        if serial in state.virtual or assigned(state, serial) is not None:
            raise APIError(409, "EntityAlreadyExists", "MFADevice entity at the same path and name already exists.")
        seed = base64.b32encode(secrets.token_bytes(20)).decode()
        state.virtual[serial] = seed
    return "<VirtualMFADevice>%s%s</VirtualMFADevice>" % (
        element("SerialNumber", serial), element("Base32StringSeed", base64.b64encode(seed.encode()).decode()))


def enable_mfa_device(state, caller, params):
    """Assigns a virtual device when the two codes are those of consecutive
    steps around now (T-1..T+1 for the first); both steps are then spent."""
    user = named_user(state, params)
    serial = params.get("SerialNumber", "")
    first, second = params.get("AuthenticationCode1", ""), params.get("AuthenticationCode2", "")
    with state.lock:
        if serial not in state.virtual:
            raise APIError(404, "NoSuchEntity", "VirtualMFADevice with serial number %s doesn't exist." % serial)
        if assigned(state, serial) is not None:
            raise APIError(409, "EntityAlreadyExists", "MFA Device is already in use.")
        device = Device({"serial": serial, "seed_base32": state.virtual[serial]})
        step = int(state.now() // device.period)
        for candidate in (step - 1, step, step + 1):
            if (hmac.compare_digest(totp(device.seed, candidate, device.digits), first)
                    and hmac.compare_digest(totp(device.seed, candidate + 1, device.digits), second)):
                state.spent.update({(serial, candidate), (serial, candidate + 1)})
                user.devices.append(device)
                return ""
    raise APIError(403, "InvalidAuthenticationCode", "Authentication code for device is not valid.")


def deactivate_mfa_device(state, caller, params):
    user = named_user(state, params)
    serial = params.get("SerialNumber", "")
    with state.lock:
        if not any(device.serial == serial for device in user.devices):
            raise APIError(404, "NoSuchEntity", "MFA Device with serial number %s does not exist." % serial)
        user.devices = [device for device in user.devices if device.serial != serial]
    return ""


def delete_virtual_mfa_device(state, caller, params):
    serial = params.get("SerialNumber", "")
    with state.lock:
        if assigned(state, serial) is not None:
            raise APIError(409, "DeleteConflict", "MFA device is still in use.")
        if state.virtual.pop(serial, None) is None:
            raise APIError(404, "NoSuchEntity", "VirtualMFADevice with serial number %s doesn't exist." % serial)
    return ""


def resync_mfa_device(state, caller, params):
    """Accepts two codes of consecutive steps within ten steps of now, as
    AWS's resync does for a drifted device; neither code is spent."""
    user = named_user(state, params)
    serial = params.get("SerialNumber", "")
    device = next((device for device in user.devices if device.serial == serial), None)
    if device is None:
        raise APIError(404, "NoSuchEntity", "MFA Device with serial number %s does not exist." % serial)
    first, second = params.get("AuthenticationCode1", ""), params.get("AuthenticationCode2", "")
    step = int(state.now() // device.period)
    for candidate in range(step - 10, step + 11):
        if (hmac.compare_digest(totp(device.seed, candidate, device.digits), first)
                and hmac.compare_digest(totp(device.seed, candidate + 1, device.digits), second)):
            return ""
    raise APIError(403, "InvalidAuthenticationCode", "Authentication code for device is not valid.")


def user_keys(state, user):
    return sorted((key for key in state.keys.values() if key.kind == "user" and key.user is user),
                  key=lambda key: key.created)


def key_user(state, caller, params, action):
    """The user an access-key call is about; AccessDenied as an identity
    policy that requires MFA for it would answer."""
    user = requested_user(state, caller, params)
    if caller.kind != "role" and caller.user.require_mfa_for_keys and not caller.mfa:
        raise APIError(403, "AccessDenied", "User: %s is not authorized to perform: iam:%s on resource: user %s "
                       "with an explicit deny in an identity-based policy" % (caller.user.arn, action, user.name))
    return user


def key_metadata(key):
    return (element("UserName", key.user.name) + element("AccessKeyId", key.access_key_id)
            + element("Status", "Active") + element("CreateDate", iso8601(key.created, 0)))


def list_access_keys(state, caller, params):
    user = key_user(state, caller, params, "ListAccessKeys")
    with state.lock:
        members = "".join("<member>%s</member>" % key_metadata(key) for key in user_keys(state, user))
    return "%s<AccessKeyMetadata>%s</AccessKeyMetadata><IsTruncated>false</IsTruncated>" % (
        element("UserName", user.name), members)


def create_access_key(state, caller, params):
    user = key_user(state, caller, params, "CreateAccessKey")
    with state.lock:
        if len(user_keys(state, user)) >= 2:
            raise APIError(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
        while True:
            access_key_id = "AKIA" + random_text(UPPER_ALNUM, 16)
            if access_key_id not in state.keys:
                break
        now = state.now()
        key = Key("user", user, access_key_id, random_text(SECRET_ALPHABET, 40), created=now,
                  usable_from=now + state.key_propagation)
        state.keys[access_key_id] = key
    return "<AccessKey>%s%s</AccessKey>" % (key_metadata(key), element("SecretAccessKey", key.secret))


def delete_access_key(state, caller, params):
    user = key_user(state, caller, params, "DeleteAccessKey")
    access_key_id = params.get("AccessKeyId", "")
    with state.lock:
        key = state.keys.get(access_key_id)
        if key is None or key.kind != "user" or key.user is not user:
            raise APIError(404, "NoSuchEntity", "The Access Key with id %s cannot be found." % access_key_id)
        del state.keys[access_key_id]
    return ""


HANDLERS = {
    "ListAccessKeys": list_access_keys,
    "CreateAccessKey": create_access_key,
    "DeleteAccessKey": delete_access_key,
    "GetSessionToken": get_session_token,
    "AssumeRole": assume_role,
    "GetCallerIdentity": get_caller_identity,
    "ListMFADevices": list_mfa_devices,
    "ResyncMFADevice": resync_mfa_device,
    "CreateVirtualMFADevice": create_virtual_mfa_device,
    "EnableMFADevice": enable_mfa_device,
    "DeactivateMFADevice": deactivate_mfa_device,
    "DeleteVirtualMFADevice": delete_virtual_mfa_device,
}


# MARK: - HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "latchkey-mfa-sts"
    sys_version = ""

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def date_time_string(self, timestamp=None):
        # The Date header comes from the server's clock, offset included,
        # so a client can measure the skew from it.
        return formatdate(self.server.state.now(), usegmt=True)

    def read_body(self):
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            return None
        return self.rfile.read(int(length))

    def send(self, status, body, content_type="text/xml"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", self.request_id)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status, value):
        self.send(status, json.dumps(value), "application/json")

    def send_error_xml(self, service, error):
        kind = "Receiver" if error.status >= 500 else "Sender"
        self.send(error.status, '<ErrorResponse xmlns="%s"><Error><Type>%s</Type>%s%s</Error>%s</ErrorResponse>\n' % (
            NAMESPACES[service], kind, element("Code", error.code), element("Message", error.message),
            element("RequestId", self.request_id)))

    def do_GET(self):
        self.request_id = str(uuid.uuid4())
        state = self.server.state
        if self.path == "/__stats":
            with state.lock:
                snapshot = json.loads(json.dumps(state.stats))
                snapshot["virtual_devices"] = len(state.virtual)
            self.send_json(200, snapshot)
        elif self.path.startswith("/federation?"):
            self.federation(self.path.partition("?")[2].encode())
        else:
            self.send_json(404, {"error": "no such endpoint: GET %s" % self.path})

    def do_POST(self):
        self.request_id = str(uuid.uuid4())
        body = self.read_body()
        if body is None:
            self.close_connection = True
            self.send_json(411, {"error": "a Content-Length is required"})
        elif self.path.startswith("/__"):
            self.control(body)
        elif self.path == "/federation":
            self.federation(body)
        else:
            self.api(body)

    def control(self, body):
        state = self.server.state
        try:
            value = json.loads(body or b"null")
            with state.lock:
                if self.path == "/__faults" and isinstance(value, list) and all(isinstance(f, dict) for f in value):
                    state.faults.extend(dict(fault) for fault in value)
                elif self.path == "/__clock" and isinstance(value, dict):
                    state.clock_offset = float(value["offset_seconds"])
                elif self.path == "/__reset":
                    state.reset()
                else:
                    self.send_json(404, {"error": "no such endpoint or bad body: POST %s" % self.path})
                    return
        except (ValueError, KeyError, TypeError) as error:
            self.send_json(400, {"error": str(error)})
            return
        self.send_json(200, {"ok": True})

    def api(self, body):
        state = self.server.state
        params = {}
        for name, value in urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            params.setdefault(name, value)
        action = params.get("Action")
        with state.lock:
            state.stats["requests"] += 1
            if action is not None:
                actions = state.stats["actions"]
                actions[action] = actions.get(action, 0) + 1
            fault = state.take_fault(action) if action is not None else None
        service = "sts"
        try:
            if fault is not None and self.apply(fault):
                return
            caller, service = authenticate(state, self, body)
            if params.get("Version") != VERSIONS[service] or action not in ACTIONS[service]:
                raise APIError(400, "InvalidAction", "Could not find operation %s for version %s"
                               % (action, params.get("Version")))
            result = HANDLERS[action](state, caller, params)
        except APIError as error:
            self.send_error_xml(service, error)
            return
        except Exception:  # a bug here: say so in the response and on stderr
            traceback.print_exc()
            self.send_error_xml(service, APIError(500, "InternalFailure", "mfa_sts_server.py failed: see its stderr"))
            return
        self.send(200, '<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata>%s</ResponseMetadata>'
                  '</%sResponse>\n' % (action, NAMESPACES[service], action, result, action,
                                       element("RequestId", self.request_id), action))

    def federation(self, query):
        """getSigninToken and login (see the module's documentation)."""
        state = self.server.state
        params = dict(urllib.parse.parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True))
        action = params.get("Action")
        with state.lock:
            state.stats["requests"] += 1
            if action is not None:
                state.stats["actions"][action] = state.stats["actions"].get(action, 0) + 1
            fault = state.take_fault(action) if action is not None else None
        if fault is not None and self.apply(fault):
            return
        if action == "getSigninToken":
            try:
                session = json.loads(params.get("Session", ""))
                key_id, secret, token = session["sessionId"], session["sessionKey"], session["sessionToken"]
            except (ValueError, KeyError, TypeError):
                self.send(400, "Invalid Session parameter", "text/plain")
                return
            duration = params.get("SessionDuration")
            with state.lock:
                key = state.keys.get(key_id) if isinstance(key_id, str) else None
                valid = (key is not None and key.temporary and isinstance(secret, str) and isinstance(token, str)
                         and hmac.compare_digest(key.secret, secret) and hmac.compare_digest(key.token, token)
                         and key.expires > state.now())
                if not valid:
                    self.send(400, "Invalid or expired session credentials", "text/plain")
                    return
                if key.kind != "role":
                    self.send(400, MESSAGES["federation_gst"], "text/plain")
                    return
                if duration is not None and not (duration.isdigit() and 900 <= int(duration) <= 43200):
                    self.send(400, "SessionDuration must be between 900 and 43200", "text/plain")
                    return
                signin_token = base64.urlsafe_b64encode(secrets.token_bytes(96)).decode()
                state.signin_tokens[signin_token] = (key.access_key_id, state.now() + 900)
            self.send_json(200, {"SigninToken": signin_token})
        elif action == "login":
            with state.lock:
                issued = state.signin_tokens.pop(params.get("SigninToken", ""), None)
                good = issued is not None and issued[1] > state.now()
            destination = params.get("Destination", "")
            if not good or not destination.startswith("https://"):
                self.send(400, "Invalid SigninToken or Destination", "text/plain")
                return
            self.send_response(302)
            self.send_header("Location", destination)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send(400, "Unknown Action", "text/plain")

    def apply(self, fault):
        """Acts out a fault; True when the request has been dealt with."""
        if fault.get("delay_seconds"):
            time.sleep(float(fault["delay_seconds"]))
        if fault.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if "raw_body" in fault:
            self.send(int(fault.get("status", 200)), str(fault["raw_body"]))
            return True
        if "code" in fault:
            raise APIError(int(fault.get("status", 400)), fault["code"], fault.get("message", ""))
        if "status" in fault:
            self.send(int(fault["status"]), "")
            return True
        return False


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # many clients connect at once
    daemon_threads = True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mfa_sts_server.py CONFIG.json")
    try:
        with open(sys.argv[1], encoding="utf-8") as file:
            config = json.load(file)
        state = State(config)
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.exit("mfa_sts_server: bad configuration: %r" % (error,))

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = Server(("127.0.0.1", 0), Handler)
    server.state = state
    server.verbose = bool(config.get("verbose", False))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
