#!/usr/bin/env python3
"""Stops smq-sweep with a signal while its stages run, and checks what it
leaves: no stage still running (each is a child process, in the sweep's
process group), no temporary folder, no report.

    stop_sweep.py SIGNAL[-group] WORK_DIR SWEEP_ARGV...

With -group the signal goes to the sweep's whole process group, stages
included, as Ctrl-C in a terminal sends it. Prints the sweep's exit
status, its last line of stderr and whether any stage was reported as
failed.
"""
import os
import signal
import subprocess
import sys
import time

group = sys.argv[1].endswith("-group")
signum = getattr(signal, sys.argv[1].replace("-group", ""))
work = sys.argv[2]
argv = sys.argv[3:]
tmp = os.path.join(work, "tmp")
os.makedirs(tmp, exist_ok=True)
env = dict(os.environ, TMPDIR=tmp)
err_path = os.path.join(work, "stderr.txt")
with open(err_path, "w") as err:
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env,
                         start_new_session=True)
    # Once a stage has finished, others are running: stop the sweep then
    # (only the sweep itself, as `kill PID` would).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        if "[1/" in open(err_path).read():
            break
        time.sleep(0.01)
    if p.poll() is not None:
        sys.exit("the sweep ended before it could be stopped")
    if group:
        os.killpg(p.pid, signum)
    else:
        p.send_signal(signum)
    status = p.wait()
time.sleep(0.2)
left = True
try:
    os.killpg(p.pid, 0)
except ProcessLookupError:
    left = False
lines = open(err_path).read().splitlines()
print("exit", status if status >= 0 else "signal %d" % -status)
print("last line:", lines[-1] if lines else "")
print("stages still running:", "yes" if left else "none")
print("temporary files left:", len(os.listdir(tmp)))
print("stages reported failed:",
      sum("failed" in line for line in lines))
if left:
    os.killpg(p.pid, signal.SIGKILL)
