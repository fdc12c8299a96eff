"""The extension's entry point: runs a user's script with the channel to the extension open.

The extension starts

    python -u -c "<insert the helper's folder in sys.path; run attention_lens.launch.main()>" \
        HELPER_DIR (--program PATH | --module NAME) -- ARGS...

with the protocol on file descriptor 3 (ATTENTION_LENS_FD=3). This greets the host at once
(trainerReady, before torch is imported, so the handshake does not wait for it), checks that
torch imports (else the run fails saying how to install it), then runs the program as
`python PATH ARGS` would (sys.argv, sys.path[0], __main__) or the module as `python -m NAME
ARGS` would. However the script ends, the host is told: completed (it returned, or called
finish()), stopped (Stopped, SIGTERM), or failed with the reason: the exception and where it
was raised, an exit code, or "it never called attention_lens.init()".
"""

import os
import runpy
import sys
import traceback

TORCH_HINT = (
    "install it for this interpreter: `sudo apt install python3-torch` (Debian, Ubuntu), or "
    "`{python} -m pip install torch` (see pytorch.org for CUDA builds); or choose an interpreter "
    "that has torch (the Python extension's interpreter, or the setting attentionLens.python.interpreter)"
)


def _usage():
    print("usage: attention_lens.launch HELPER_DIR (--program PATH | --module NAME) [-- ARGS...]", file=sys.stderr)
    sys.exit(2)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and os.path.isdir(argv[0]) and argv[0] not in ("--program", "--module"):
        argv = argv[1:]  # the helper's folder (already in sys.path)
    if len(argv) < 2 or argv[0] not in ("--program", "--module"):
        _usage()
    kind, target, rest = argv[0], argv[1], argv[2:]
    if rest and rest[0] == "--":
        rest = rest[1:]

    from . import channel

    ch = channel.connect_from_env()
    if ch is None:
        print("attention_lens.launch is started by the Attention Lens extension (it needs its channel, ATTENTION_LENS_FD)", file=sys.stderr)
        sys.exit(2)

    def fail(message, code=1):
        ch.send({"type": "runFailed", "message": message})
        ch.close()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    try:
        import torch  # noqa: F401
    except ImportError as e:
        missing = getattr(e, "name", None) == "torch"
        what = f"torch is not installed for {sys.executable} (Python {sys.version.split()[0]})" if missing else f"torch could not be imported in {sys.executable}: {e}"
        print(f"attention_lens: {what}", file=sys.stderr)
        fail(f"{what}: " + TORCH_HINT.format(python=sys.executable))

    from . import run as _run

    _run.install_sigterm(ch.control)
    # As `python PATH` / `python -m NAME` would set them.
    if kind == "--program":
        path = os.path.abspath(target)
        if not os.path.exists(path):
            fail(f"the program {target} does not exist")
        sys.argv = [target] + rest
        sys.path[0] = os.path.dirname(path)
    else:
        sys.argv = [target] + rest
        sys.path[0] = os.getcwd()
    skip = (os.path.dirname(os.path.abspath(__file__)), "runpy", "<frozen runpy>")
    code = 0
    try:
        if kind == "--program":
            runpy.run_path(target, run_name="__main__")
        else:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
    except _run.Stopped as s:
        code = s.code if isinstance(s.code, int) else 0
    except SystemExit as e:
        c = e.code
        code = c if isinstance(c, int) else (0 if c is None else 1)
        if c is not None and not isinstance(c, int):
            print(c, file=sys.stderr)
        if code != 0:
            r = _run.current()
            if r is not None:
                r.finish("failed", f"the script exited with code {code}")
            else:
                fail(f"the script exited with code {code} before calling attention_lens.init()", code)
    except BaseException as e:  # the script raised: print its traceback as Python would, without these frames
        tb = e.__traceback__
        while tb is not None and any(s in tb.tb_frame.f_code.co_filename for s in skip):
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb)
        reason = "the script raised " + _run.exception_summary(e, tb, skip)
        r = _run.current()
        if r is not None:
            r.finish("failed", reason)
        else:
            fail(reason)
        code = 130 if isinstance(e, KeyboardInterrupt) else 1
    r = _run.current()
    if r is not None:
        r.finish("completed")
    elif not ch_started_run(_run):
        fail(f"{target} ended without calling attention_lens.init()", code or 1)
    ch.close()
    sys.exit(code)


def ch_started_run(run_module):
    """Whether a run was started in this process (it may have ended since)."""
    return run_module._started_any
