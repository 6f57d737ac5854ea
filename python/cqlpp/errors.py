"""Exceptions named after Cassandra's, carrying the server's fields."""


class DriverException(Exception):
    """Base class of every cqlpp error."""

    def __init__(self, message="", info=None):
        super().__init__(message)
        self.message = message
        self.info = dict(info or {})
        for k, v in self.info.items():
            if k not in ("attempts",):
                setattr(self, k, v)
        self.attempts = self.info.get("attempts", [])


class RequestExecutionException(DriverException): pass
class Unavailable(RequestExecutionException): pass
class Timeout(RequestExecutionException): pass
class ReadTimeout(Timeout): pass
class WriteTimeout(Timeout): pass
class CoordinationFailure(RequestExecutionException): pass
class ReadFailure(CoordinationFailure): pass
class WriteFailure(CoordinationFailure): pass
class FunctionFailure(RequestExecutionException): pass
class CDCWriteFailure(RequestExecutionException): pass
class CasWriteUnknown(RequestExecutionException): pass
class Overloaded(RequestExecutionException): pass
class IsBootstrapping(RequestExecutionException): pass
class TruncateError(RequestExecutionException): pass
class RequestValidationException(DriverException): pass
class InvalidRequest(RequestValidationException): pass
class SyntaxException(RequestValidationException): pass
class Unauthorized(RequestValidationException): pass
class ConfigurationException(RequestValidationException): pass
class AlreadyExists(ConfigurationException): pass
class Unprepared(RequestValidationException): pass
class ServerError(DriverException): pass
class ProtocolError(DriverException): pass
class AuthenticationFailed(DriverException): pass
class OperationTimedOut(DriverException): pass
class NoHostAvailable(DriverException):
    @property
    def errors(self):
        return {h: msg for h, msg, _ in self.attempts}
class ConnectionException(DriverException): pass
class SessionClosed(DriverException): pass
class BulkError(DriverException): pass

_SERVER = {
    0x0000: ServerError, 0x000A: ProtocolError, 0x0100: AuthenticationFailed,
    0x1000: Unavailable, 0x1001: Overloaded, 0x1002: IsBootstrapping, 0x1003: TruncateError,
    0x1100: WriteTimeout, 0x1200: ReadTimeout, 0x1300: ReadFailure, 0x1400: FunctionFailure,
    0x1500: WriteFailure, 0x1600: CDCWriteFailure, 0x1700: CasWriteUnknown,
    0x2000: SyntaxException, 0x2100: Unauthorized, 0x2200: InvalidRequest,
    0x2300: ConfigurationException, 0x2400: AlreadyExists, 0x2500: Unprepared,
}
_DRIVER = {1: NoHostAvailable, 2: OperationTimedOut, 3: SessionClosed, 4: NoHostAvailable,
           5: ValueError, 6: ValueError, 7: KeyError, 8: TypeError}
_TRANSPORT = {2: OperationTimedOut, 4: OperationTimedOut, 12: AuthenticationFailed, 13: ProtocolError}


def _make_error(category, code, message, info):
    """Called by the native core for a failed request."""
    if "server_code" in info:
        cls = _SERVER.get(info["server_code"], ServerError)
    elif category == "cqlpp.server":
        cls = _SERVER.get(code, ServerError)
    elif category == "cqlpp.driver":
        cls = _DRIVER.get(code, DriverException)
    elif category == "cqlpp.transport":
        cls = _TRANSPORT.get(code, ConnectionException)
    elif category.startswith("cqlpp.bulk"):
        cls = BulkError
    else:
        cls = DriverException
    if not issubclass(cls, DriverException):
        return cls(message)
    return cls(message, info)
