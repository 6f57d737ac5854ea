#!/usr/bin/env python3
"""Drives `cqlpp shell` through a pseudo-terminal, as a user at a keyboard.
Usage: pty_shell.py CQLPP HOSTS HISTORY SCRIPT [SHELL-OPTION...]
SCRIPT lines: `send TEXT` (TEXT then Enter), `eof` (Ctrl-D), `intr` (Ctrl-C),
`wait TEXT` (until TEXT appears in the output after what the last wait
found, 10 s at most), `run COMMAND` (a /bin/sh command, e.g. to stop the
server), `kill` (SIGKILL the shell, as a closed terminal might).
Prints everything the shell wrote and exits with the shell's status."""
import os, pty, select, signal, subprocess, sys, time

cqlpp, hosts, history, script = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "dumb"
    os.execv(cqlpp, [cqlpp, "shell", "--hosts", hosts, "--history", history] + sys.argv[5:])

out = b""
mark = 0  # output before this was matched by an earlier wait
def pump(until=None, seconds=10.0):
    global out, mark
    end = time.time() + seconds
    while time.time() < end:
        if until is not None:
            at = out.find(until.encode(), mark)
            if at >= 0:
                mark = at + len(until.encode())
                return True
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return until is None
            if not data:
                return until is None
            out += data
    return until is None

for line in open(script):
    line = line.rstrip("\n")
    cmd, _, arg = line.partition(" ")
    if cmd == "send":
        os.write(fd, arg.encode() + b"\r")
    elif cmd == "eof":
        os.write(fd, b"\x04")
    elif cmd == "intr":
        os.write(fd, b"\x03")
    elif cmd == "run":
        subprocess.run(arg, shell=True, check=True)
    elif cmd == "kill":
        os.kill(pid, signal.SIGKILL)
    elif cmd == "wait":
        if not pump(arg):
            sys.stdout.write(out.decode(errors="replace"))
            sys.stderr.write("pty_shell: timed out waiting for %r\n" % arg)
            os.kill(pid, 9)
            sys.exit(124)
    pump(seconds=0.2)

deadline = time.time() + 10
status = None
while time.time() < deadline:
    pump(seconds=0.1)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        break
if status is None:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
pump(seconds=0.2)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
