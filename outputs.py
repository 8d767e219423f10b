"""Every file and folder a CMHL tool writes goes through this module (docs/guarantees.md, "Writes").

    with Output(args.output_dir, "folder", flag="--output_dir", inputs=[args.model_name_or_path],
                overwrite=args.overwrite_output_dir, replaceable=holds_an_earlier_export) as out:
        write_everything_into(out.staging)
    # the block ended without an error: the staging folder is renamed into place; an error or Ctrl-C removes it

The same order of work in every tool, before any work is done:
1. resolve: the output path through `~`, `..` and symlinks; missing parent folders are made; a parent that is a
   file is an error naming it.
2. inputs: an output that is one of the inputs, a file directly in an input folder (beside a model's parts and
   card; a folder of its own under it is fine), or a folder that holds an input is refused.
3. lock: `.<name>.lock` beside the output, taken at once or refused ("another run is writing it now"); held until
   the block ends, released by the system if the process is killed.
4. check, after the lock: an existing output is refused unless `overwrite`, and then unless `replaceable(path)`
   says it holds earlier work of the same tool (never a user's other files).
5. stale staging: `.<name>.incomplete-*` left by a killed run (nobody else can be writing: we hold the lock) is
   removed.
6. staging: the work goes to `.<name>.incomplete-<pid>` beside the output and is renamed into place only when the
   block ends without an error, replacing an existing output only then and whole. With `stage=False` (train.py,
   whose checkpoints must survive a kill to be resumed) the work goes into the output itself, under the lock.
"""

import errno
import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from data import DataError

STAGING_MARK = ".incomplete-"


class OutputError(DataError):
    """An output that cannot be written as asked; the message names the path and what to do."""


def resolve(path, flag: str) -> Path:
    """`path` as the system will write it: `~` expanded, `..` and symlinks resolved. A parent that is a file (or
    cannot be made) is an error naming it; missing parent folders are not (they are made when writing)."""
    path = Path(path).expanduser()
    resolved = Path(os.path.realpath(path))
    for parent in resolved.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{flag} {path}: {parent} is a file, so nothing can be written under it; give a "
                                  "path in a folder")
            break
    return resolved


def refuse_inputs(output: Path, inputs, flag: str, replaces: bool) -> None:
    """An output must not be an input; a file output (`replaces` False) must not lie directly in an input folder; a
    folder output (`replaces` True) must not hold an input.
    Paths are compared resolved (`x`, `./x`, `a/../x`, links); inputs that do not exist here (Hub ids) are skipped."""
    for given in inputs:
        if given is None or not Path(given).expanduser().exists():
            continue
        source = Path(os.path.realpath(Path(given).expanduser()))
        if output == source:
            raise OutputError(f"{flag} {output}: is also an input of this run ({given}); refusing to write over it. "
                              "Choose another output path")
        if replaces is False and source.is_dir() and output.parent == source:
            raise OutputError(f"{flag} {output}: lies in {given}, an input folder of this run; writing there would "
                              "change what is read (a model's card, its parts). Choose a path outside it, or a "
                              f"folder of its own under it ({source / 'predictions'})")
        if replaces and source.is_relative_to(output):
            raise OutputError(f"{flag} {output}: holds {given}, an input of this run, and replacing it would remove "
                              "that input. Choose another output path")


@contextmanager
def locked(output: Path, flag: str, tool: str = "another run"):
    """Hold `.<name>.lock` beside `output` (flock, not blocking): a second writer of the same output is refused at
    once. The lock file is removed on release; an acquirer checks it locked the file still at that path."""
    lock_path = output.parent / f".{output.name}.lock"
    output.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(lock_path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.close()
            if error.errno in (errno.EAGAIN, errno.EACCES):
                raise OutputError(f"{flag} {output}: {tool} is writing it now ({lock_path} is held); wait for it to "
                                  "end, or choose another output path") from None
            raise
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()  # the holder released and removed it between our open and our lock: take the new one
    try:
        yield lock_path
    finally:
        lock_path.unlink(missing_ok=True)
        handle.close()


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_stale_staging(output: Path) -> list[Path]:
    """Staging places of this output left by killed runs (the caller holds the lock, so none is being written)."""
    stale = sorted(output.parent.glob(f".{output.name}{STAGING_MARK}*"))
    for path in stale:
        remove(path)
    return stale


class Output:
    """One output of one run: a file or a folder, claimed before any work (module docstring). `staging` is where
    the run writes; `path` is the resolved output; `existed` whether an earlier output is being replaced.
    `replaceable(path)`: why an existing output may not be replaced (None: it may); `existing_advice(path)`: what to
    do about an existing output instead of the default "<overwrite flag> to replace it"."""

    def __init__(self, path, kind: str, *, flag: str, inputs=(), overwrite: bool = False, replaceable=None,
                 overwrite_flag: str | None = None, stage: bool = True, tool: str = "another run",
                 existing_advice=None):
        if kind not in ("file", "folder"):
            raise ValueError(f"kind: 'file' or 'folder', got {kind!r}")
        self.given, self.kind, self.flag, self.stage, self.tool = Path(path), kind, flag, stage, tool
        self.overwrite, self.replaceable, self.existing_advice = overwrite, replaceable, existing_advice
        self.overwrite_flag = overwrite_flag or ("--overwrite_output_dir" if kind == "folder" else "--overwrite_output_file")
        self.path = resolve(path, flag)
        refuse_inputs(self.path, inputs, flag, replaces=kind == "folder")
        self.staging = None
        self.existed = False
        self.check_existing()  # early, so that a refusal comes before any work; again under the lock

    def check_existing(self) -> None:
        """Under the lock: an existing output is kept unless asked to replace it and it holds this tool's work."""
        path = self.path
        if not (path.exists() or path.is_symlink()):
            return
        if self.kind == "file" and path.is_dir():
            raise OutputError(f"{self.flag} {self.given}: is a folder; expected a file path")
        if self.kind == "folder" and not path.is_dir():
            raise OutputError(f"{self.flag} {self.given}: is a file; expected a folder")
        if self.kind == "folder" and not any(path.iterdir()):
            return  # an empty folder is as good as a new one
        if not self.overwrite:
            held = f" ({sorted(p.name for p in path.iterdir())[:5]})" if path.is_dir() else ""
            advice = (self.existing_advice(path) if self.existing_advice else None) or \
                f"{self.overwrite_flag} to replace it"
            raise OutputError(f"{self.flag} {self.given}: exists{held}; give a new path, or {advice}")
        reason = self.replaceable(path) if self.replaceable else None
        if reason:
            raise OutputError(f"{self.overwrite_flag}: {self.given} is not replaced: {reason}")
        self.existed = True

    def __enter__(self):
        self._lock = locked(self.path, self.flag, self.tool)
        self._lock.__enter__()
        try:
            self.check_existing()
            remove_stale_staging(self.path)
            if not self.stage:
                self.staging = self.path
                return self
            self.staging = self.path.parent / f".{self.path.name}{STAGING_MARK}{os.getpid()}"
            if self.kind == "folder":
                self.staging.mkdir()
            return self
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise

    def __exit__(self, kind, error, traceback):
        try:
            if not self.stage:
                return False
            if kind is not None:
                remove(self.staging)
                return False
            if self.kind == "folder" and self.existed:  # the earlier output goes only once the new one is whole
                aside = self.path.parent / f".{self.path.name}{STAGING_MARK}{os.getpid()}-replaced"
                os.replace(self.path, aside)
                os.replace(self.staging, self.path)
                remove(aside)
            else:
                if self.kind == "folder" and self.path.is_dir():
                    self.path.rmdir()  # empty (check_existing)
                os.replace(self.staging, self.path)
            return False
        finally:
            self._lock.__exit__(None, None, None)


def write_text(path, text: str) -> Path:
    """Write a file whole or not at all (a staging name beside it, then a rename): for files inside an output this
    run has claimed (a manifest, a results file), and for records a later run replaces (benchmark results)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f".{path.name}{STAGING_MARK}{os.getpid()}"
    try:
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return path


def write_json(path, value, indent: int = 2) -> Path:
    return write_text(path, json.dumps(value, indent=indent, ensure_ascii=False) + "\n")


@contextmanager
def staged_file(path):
    """A file path to write to, renamed to `path` when the block ends without an error, removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f".{path.name}{STAGING_MARK}{os.getpid()}"
    try:
        yield staging
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
