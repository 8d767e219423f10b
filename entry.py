"""The one way every command-line tool ends (train.py, predict.py, evaluate_cmhl.py, export_onnx.py, no_emotion.py,
app.py): a user's mistake is one line and exit 2, Ctrl-C one line with advice that works and exit 130, never a
traceback.

    if __name__ == "__main__":
        entry.run(main, interrupted=lambda: "nothing was written; run the same command again")

`main()` returns None or an exit status. `interrupted` is called when Ctrl-C arrives, so that its advice can look
at what is on disk then (train.py: resume, or evaluate the finished model). `failures` maps more exception types to
their exit status (train.py: a non-finite loss, 3).
"""

import sys

from data import DataError

USAGE = 2  # a user's mistake: a bad path, file, line, value or flag
INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def say(message: str) -> None:
    """One line on stderr, whatever the message holds (a lone surrogate from a user's JSON is shown escaped)."""
    line = " ".join(str(message).split("\n")).strip()
    print(line.encode("utf-8", "backslashreplace").decode("utf-8"), file=sys.stderr)


def os_error_line(error: OSError) -> str:
    """An OSError as one sentence naming the path: 'error: <path>: <what the system said>'."""
    reason = error.strerror or (str(error).splitlines()[0] if str(error) else type(error).__name__)
    path = getattr(error, "filename", None)
    return f"{path}: {reason}" if path else reason


def run(main, interrupted=None, failures: dict | None = None) -> None:
    """Run `main()` and exit with its status; DataError / OSError: 'error: ...', exit 2; Ctrl-C: 'interrupted: ...'
    with `interrupted()`'s advice, exit 130; an exception type of `failures`: 'error: ...', its status."""
    failures = failures or {}
    try:
        status = main()
    except KeyboardInterrupt:
        advice = interrupted() if callable(interrupted) else interrupted
        say(f"interrupted{': ' + advice if advice else ''}")
        sys.exit(INTERRUPTED)
    except DataError as error:
        say(f"error: {error}")
        sys.exit(USAGE)
    except OSError as error:
        say(f"error: {os_error_line(error)}")
        sys.exit(USAGE)
    except tuple(failures) as error:
        say(f"error: {error}")
        sys.exit(next(code for kind, code in failures.items() if isinstance(error, kind)))
    sys.exit(status if isinstance(status, int) else 0)
