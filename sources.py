"""Where a data file comes from: a local path, an `https://` URL pinned by sha256, or a split of a Hugging Face Hub
data set. One spelling for every flag that names data (`--corpus` train/validation/test, `--affect_file`):

    ../shared/data/meld/train_sent_emo.csv                       a local file
    ../shared/data/meld/train_sent_emo.csv#sha256=d2fa2d65...    a local file that must have this sha256
    https://raw.githubusercontent.com/.../train_sent_emo.csv#sha256=d2fa2d65...    downloaded once, then cached
    hub:google-research-datasets/go_emotions@simplified:train    a Hub data set's split (@config optional)

A URL needs its sha256: the download goes to `.<name>.incomplete-<pid>` beside its place in the cache, is checked
(size against Content-Length, then sha256) and only then renamed into place, so a 404, a refused connection, a
truncated body or another file leaves nothing that a later run could trust. The cache is the `datasets` cache
(`HF_DATASETS_CACHE`, under `cmhl-downloads/<sha256>/`); with `HF_DATASETS_OFFLINE=1` (or `HF_HUB_OFFLINE=1`) a
cached file is used and a missing one is an error. A Hub split is read by `datasets.load_dataset`, with its cache and
its offline mode. docs/data.md lists every corpus's public sources and hashes (recipes/).
"""

import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from data import DataError, Row
from outputs import staged_file
from saves import file_digest

HASH_MARK = "#sha256="
HUB_PREFIX = "hub:"


@dataclass(frozen=True)
class Source:
    """One data file as given (`spec`), parsed: exactly one of `path`, `url` or `hub` is set."""

    spec: str
    path: Path | None = None
    url: str | None = None
    sha256: str | None = None
    hub: str | None = None
    config: str | None = None
    split: str | None = None

    @classmethod
    def parse(cls, value, flag: str) -> "Source":
        """A source string (module docstring) -> Source; a malformed one is one sentence naming `flag`."""
        spec = str(value).strip()
        if not spec:
            raise DataError(f"{flag}: expected a path, an https:// URL with {HASH_MARK}<hex> or "
                            f"{HUB_PREFIX}<dataset>[@<config>]:<split>, got an empty value")
        if spec.startswith(HUB_PREFIX):
            name, sep, split = spec[len(HUB_PREFIX):].rpartition(":")
            dataset, _, config = name.partition("@")
            if not (sep and dataset and split) or (config == "" and "@" in name):
                raise DataError(f"{flag} {spec!r}: expected {HUB_PREFIX}<dataset>[@<config>]:<split>, e.g. "
                                f"{HUB_PREFIX}dair-ai/emotion@split:train")
            return cls(spec, hub=dataset, config=config or None, split=split)
        location, _, sha256 = spec.partition(HASH_MARK)
        if HASH_MARK in spec and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower())):
            raise DataError(f"{flag} {spec!r}: expected 64 hexadecimal digits after {HASH_MARK}, got {sha256!r}")
        sha256 = sha256.lower() or None
        if location.startswith(("http://", "https://")):
            if not location.startswith("https://"):
                raise DataError(f"{flag} {spec!r}: only https:// downloads are read (a pinned sha256 guards the "
                                "content, https the way)")
            if sha256 is None:
                raise DataError(f"{flag} {spec!r}: a URL needs its sha256 ({location}{HASH_MARK}<64 hex digits>): "
                                "a download is only ever trusted by content")
            return cls(spec, url=location, sha256=sha256)
        if "://" in location:
            raise DataError(f"{flag} {spec!r}: expected a local path, an https:// URL or {HUB_PREFIX}...")
        return cls(spec, path=Path(location), sha256=sha256)

    def __str__(self) -> str:
        return self.spec

    @property
    def name(self) -> str:
        """The file name a reader goes by (its suffix picks the format); a Hub split's is its spec."""
        if self.hub:
            return self.spec
        return Path(self.url.rsplit("/", 1)[-1]).name if self.url else self.path.name

    def local_path(self) -> Path:
        """The file to read: a local path (checked against its sha256 when pinned) or the cached download of a URL.
        A Hub split has none (read it with `hub_rows`)."""
        if self.hub:
            raise ValueError(f"{self.spec} is a Hub data set split, not a file")
        if self.path is not None:
            if self.sha256 and self.path.is_file() and file_digest(self.path) != self.sha256:
                raise DataError(f"{self.path}: its sha256 is not the pinned {self.sha256[:16]}... (another version "
                                "of the file, or a damaged copy)")
            return self.path
        return download(self.url, self.sha256)

    def identity(self):
        """What a run record keeps of it: a file's sha256 (its content), a Hub split's name, config and split."""
        if self.hub:
            return {"hub": self.hub, "config": self.config, "split": self.split}
        return self.sha256 if self.url else None  # local paths: the caller hashes the file


def offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


def cache_dir() -> Path:
    """`datasets`' cache folder (HF_DATASETS_CACHE, else HF_HOME/datasets, else ~/.cache/huggingface/datasets)."""
    import datasets.config  # deferred: only a run that downloads needs it

    return Path(datasets.config.HF_DATASETS_CACHE) / "cmhl-downloads"


def download(url: str, sha256: str, timeout: float = 60.0) -> Path:
    """The cached file of `url` whose content has `sha256`: downloaded once (module docstring), never half-written."""
    name = Path(url.rsplit("/", 1)[-1].split("?")[0]).name or "download"
    target = cache_dir() / sha256 / name
    if target.is_file():
        return target  # only ever renamed into place after its sha256 was checked
    if offline():
        raise DataError(f"{url}: not in the cache ({target}) and downloads are off (HF_DATASETS_OFFLINE / "
                        "HF_HUB_OFFLINE); run once with network, or give a local path")
    with staged_file(target) as staging:
        digest, size = hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(staging, "wb") as out:
                expected = response.headers.get("Content-Length")
                for block in iter(lambda: response.read(1 << 20), b""):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
        except urllib.error.HTTPError as error:
            raise DataError(f"{url}: the server answered HTTP {error.code} ({error.reason}); nothing was cached. "
                            "Check the address, or give a local copy's path") from None
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError) as error:
            reason = getattr(error, "reason", None) or error
            raise DataError(f"{url}: the download failed ({reason}); nothing was cached. Check the network, or give "
                            "a local copy's path") from None
        if expected is not None and size != int(expected):
            raise DataError(f"{url}: the download ended after {size:,} of {int(expected):,} bytes (truncated); "
                            "nothing was cached, run again")
        if digest.hexdigest() != sha256:
            raise DataError(f"{url}: the file downloaded ({size:,} bytes) has sha256 {digest.hexdigest()[:16]}..., "
                            f"not the pinned {sha256[:16]}... (the file changed upstream, or the pin is wrong); "
                            "nothing was cached")
    return target


def hub_rows(source: Source, text_column: str = "text", label_column: str = "label",
             separator: str | None = None) -> list[Row]:
    """The rows of a Hub data set's split (`datasets.load_dataset(hub, config, split=split)`; a local folder of the
    same layout works too). A list of label ids (GoEmotions' `labels`) becomes one cell joined by `separator`."""
    import datasets  # deferred: reading local files needs none of it

    try:
        dataset = datasets.load_dataset(source.hub, source.config, split=source.split)
    except Exception as error:  # noqa: BLE001 -- datasets raises many kinds; each is one sentence here
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DataError(f"{source}: cannot be read with datasets.load_dataset ({type(error).__name__}: {first:.200}); "
                        "check the name, config and split, the network (or HF_DATASETS_OFFLINE with a cached copy)"
                        ) from None
    missing = [c for c in (text_column, label_column) if c not in dataset.column_names]
    if missing:
        raise DataError(f"{source}: no column(s) {missing}; it has {dataset.column_names} (the mapping file's "
                        "reader names them: hub_text_column, hub_label_column)")
    rows = []
    for index, (text, label) in enumerate(zip(dataset[text_column], dataset[label_column])):
        where = f"{source}, row {index}"
        if isinstance(label, list):
            if separator is None:
                raise DataError(f"{where}: a list of labels {label}, and the mapping file has no 'separator' for "
                                "several labels")
            label = separator.join(str(item) for item in label)
        rows.append(Row(where, text, label))
    if not rows:
        raise DataError(f"{source}: the split holds no rows")
    return rows
