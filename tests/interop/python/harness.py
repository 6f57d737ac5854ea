"""A tiny test harness: named checks, a pass/fail counter, and readable failures.

Kept free of unittest so one process can run a list of dependent steps
against a live simulator and report each of them.
"""
import sys
import time
import traceback


class CheckFailed(AssertionError):
    pass


def eq(got, want, what=""):
    if got != want:
        raise CheckFailed("%s: expected %r, got %r" % (what or "value", want, got))


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def raises(exc_types, fn, *args, **kwargs):
    """Runs fn and returns the exception it raised; fails unless it is one of exc_types."""
    try:
        fn(*args, **kwargs)
    except exc_types as e:  # noqa: B014
        return e
    except Exception as e:  # noqa: BLE001
        raise CheckFailed("expected %s, got %s: %s" % (_names(exc_types), type(e).__name__, e))
    raise CheckFailed("expected %s, but the call succeeded" % _names(exc_types))


def _names(exc_types):
    if isinstance(exc_types, tuple):
        return " or ".join(t.__name__ for t in exc_types)
    return exc_types.__name__


class Suite:
    def __init__(self, tag, only=None):
        self.tag = tag
        self.only = only  # run only checks whose name contains this (setup steps always run)
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.broken = None  # set when a step that later steps need has failed

    def run(self, name, fn, *args, needs_setup=True, **kwargs):
        """Runs one check. Returns fn's result, or None when it failed."""
        if self.only and self.only not in name and not kwargs.pop("_is_setup", False):
            return None
        kwargs.pop("_is_setup", None)
        if needs_setup and self.broken:
            self._fail(name, "not run: %s failed" % self.broken)
            return None
        t0 = time.monotonic()
        try:
            result = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            detail = "%s: %s" % (type(e).__name__, e)
            if not isinstance(e, CheckFailed):
                detail += "\n" + "".join(traceback.format_exception(type(e), e, e.__traceback__)[-4:])
            self._fail(name, detail)
            return None
        self.passed += 1
        print("ok    [%s] %s (%.2fs)" % (self.tag, name, time.monotonic() - t0), flush=True)
        return result

    def setup(self, name, fn, *args, **kwargs):
        """Like run(), but a failure stops the checks that depend on it."""
        before = self.failed
        result = self.run(name, fn, *args, _is_setup=True, **kwargs)
        if self.failed != before:
            self.broken = name
        return result

    def _fail(self, name, detail):
        self.failed += 1
        self.failures.append((name, detail))
        print("FAIL  [%s] %s: %s" % (self.tag, name, detail), flush=True)

    def finish(self):
        print("[%s] %d passed, %d failed" % (self.tag, self.passed, self.failed), flush=True)
        if self.failures:
            print("[%s] failures:" % self.tag)
            for name, detail in self.failures:
                print("  - %s: %s" % (name, detail.splitlines()[0]))
        # The run script adds up these machine-readable totals.
        print("INTEROP-TOTALS %d %d" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 else 1


def exit_with(suite):
    sys.exit(suite.finish())
