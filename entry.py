"""The one way every command-line tool ends (train.py, predict.py, evaluate_cmhl.py, export_onnx.py, no_emotion.py,
app.py): a user's mistake is one line and exit 2, Ctrl-C one line with advice that works and exit 130, never a
traceback.

    if __name__ == "__main__":
        entry.run(main, interrupted=lambda: "nothing was written; run the same command again")

`main()` returns None or an exit status. `interrupted` is called when Ctrl-C arrives, so that its advice can look
at what is on disk then (train.py: resume, or evaluate the finished model). `failures` maps more exception types to
their exit status (train.py: a non-finite loss, 3).
"""

import errno
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


def flag_value(argv, *flags: str) -> str | None:
    """The value given to the first of `flags` on a command line (`--flag value` or `--flag=value`), for messages."""
    argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    for index, item in enumerate(argv):
        for flag in flags:
            if item == flag and index + 1 < len(argv):
                return argv[index + 1]
            if item.startswith(flag + "="):
                return item.split("=", 1)[1]
    return None


def disk_full(error: BaseException) -> bool:
    """An out-of-space error, whichever library raised it: OSError ENOSPC, or safetensors' SafetensorError whose
    text carries the system's words (its Rust IoError: 'No space left on device', StorageFull)."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error)
    return type(error).__name__ == "SafetensorError" and ("No space left" in text or "StorageFull" in text)


def run(main, interrupted=None, failures: dict | None = None, writing=None) -> None:
    """Run `main()` and exit with its status; DataError / OSError: 'error: ...', exit 2; Ctrl-C: 'interrupted: ...'
    with `interrupted()`'s advice, exit 130; an exception type of `failures`: 'error: ...', its status. A full disk
    (disk_full), whatever raised it: 'error: <writing()>: no space left on the device ...' with `interrupted()`'s
    advice on what is kept, exit 2 (`writing`: the output the tool was writing, read from its arguments)."""
    failures = failures or {}
    try:
        try:
            status = main()
        except Exception as error:  # noqa: BLE001 -- only a full disk is turned into a sentence here
            if not disk_full(error):
                raise
            where = writing() if callable(writing) else writing
            advice = interrupted() if callable(interrupted) else interrupted
            raise DataError(f"{where or 'the output'}: no space left on the device while writing; free some space and "
                            f"run the same command again{' (' + advice + ')' if advice else ''}") from None
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
