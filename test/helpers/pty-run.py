# Runs a command under a real pseudo-terminal (80x24) and records every byte the terminal received.
# usage: pty-run.py OUT_FILE ACTIONS_JSON -- ARGV...
# ACTIONS_JSON is a list of steps done in order: {"wait": REGEX} waits until the output matches (bytes, Python re),
# {"send": TEXT} types TEXT at the terminal (\u0003 is Ctrl-C), {"signal": "TERM"} sends a signal to the process.
# Prints the exit code (128+N for a signal). Gives up (kills the child) after 300 s, which the test then sees.
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time

out_path, actions = sys.argv[1], json.loads(sys.argv[2])
argv = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
buf = b''
deadline = time.time() + 300
while True:
    while actions:
        a = actions[0]
        if 'wait' in a:
            if not re.search(a['wait'].encode(), buf):
                break
        elif 'send' in a:
            os.write(fd, a['send'].encode())
        elif 'signal' in a:
            os.kill(pid, getattr(signal, 'SIG' + a['signal']))
        actions.pop(0)
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        deadline = float('inf')
_, status = os.waitpid(pid, 0)
with open(out_path, 'wb') as f:
    f.write(buf)
print(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
