"""Corpora from where they live (sources.py, recipes/): real slices of each corpus served by an HTTP server on
127.0.0.1 and read through the same code path as a real download; the cache reused offline; a wrong hash, a 404, a
refused connection and a truncated body each one sentence with nothing cached; a Hub data set read through a local
`datasets` folder of the same layout; the recipe's precedence rules. No test reaches the internet."""

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from conftest import DATA, REPO
from corpora import LabelMapping, read_corpus_file
from data import DataError
from model_card import _source_cell
from sources import Source

SLICES = {  # name served -> (local file, lines kept): real rows of each corpus, header included where it has one
    "train_sent_emo.csv": (DATA / "meld" / "train_sent_emo.csv", 40),
    "emobank.csv": (DATA / "emobank" / "emobank.csv", 40),
    "train.tsv": (DATA / "goemotions" / "train.tsv", 40),
    "train.txt": (DATA / "emotion" / "train.txt", 40),
}
MAPPINGS = {"train_sent_emo.csv": "meld_to_dair_emotion.json", "train.tsv": "goemotions_to_dair_emotion.json",
            "train.txt": "dair_ai_emotion.json"}


def sliced(path: Path, lines: int) -> bytes:
    with open(path, "rb") as handle:
        return b"".join(handle.readline() for _ in range(lines))


@pytest.fixture(scope="module")
def server():
    """Serves the slices; /truncated/<name> announces the whole body and sends half of it."""
    bodies = {name: sliced(path, lines) for name, (path, lines) in SLICES.items()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 -- the stdlib's name
            truncated = self.path.startswith("/truncated/")
            body = bodies.get(self.path.rsplit("/", 1)[-1])
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2] if truncated else body)
            if truncated:
                self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", bodies
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty `datasets` cache, downloads on."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path / "hf-datasets" / "cmhl-downloads"


def cached_files(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def served(server, name, truncated=False):
    """The test server's URL for `name`, as https (sources.py reads https only) rewritten to the local http."""
    base, bodies = server
    return f"{base}/{'truncated/' if truncated else ''}{name}", hashlib.sha256(bodies[name]).hexdigest()


@pytest.fixture
def plain_http(monkeypatch):
    """sources.py refuses http://; the test server speaks plain http on 127.0.0.1, so the check is widened here
    (only here) to that address: everything after it (download, checks, cache) is the real path."""
    import sources

    real = sources.Source.parse.__func__

    def parse(cls, value, flag):
        text = str(value)
        if text.startswith("http://127.0.0.1:"):
            location, _, sha256 = text.partition(sources.HASH_MARK)
            return cls(text, url=location, sha256=sha256)
        return real(cls, value, flag)

    monkeypatch.setattr(sources.Source, "parse", classmethod(parse))


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_a_download_reads_as_the_local_file(server, cache, plain_http, name, tmp_path):
    url, sha256 = served(server, name)
    mapping = REPO / "mappings" / MAPPINGS[name]
    local = tmp_path / name
    local.write_bytes(server[1][name])
    downloaded = read_corpus_file(Source.parse(f"{url}#sha256={sha256}", "--corpus x train"), mapping)
    expected = read_corpus_file(local, mapping)
    assert [(r.text, r.label) for r in downloaded] == [(r.text, r.label) for r in expected] and len(expected) >= 30
    assert cached_files(cache) == [f"{sha256}/{name}"]


def test_the_cache_is_reused_offline_and_a_missing_file_is_named(server, cache, plain_http, monkeypatch):
    url, sha256 = served(server, "emobank.csv")
    first = Source.parse(f"{url}#sha256={sha256}", "--affect_file").local_path()
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    assert Source.parse(f"{url}#sha256={sha256}", "--affect_file").local_path() == first
    other, other_sha = served(server, "train.tsv")
    with pytest.raises(DataError, match=r"train\.tsv: not in the cache .* downloads are off"):
        Source.parse(f"{other}#sha256={other_sha}", "--corpus x train").local_path()
    assert cached_files(cache) == [f"{sha256}/emobank.csv"]


def test_a_wrong_hash_caches_nothing(server, cache, plain_http):
    url, sha256 = served(server, "emobank.csv")
    wrong = "0" * 64
    with pytest.raises(DataError, match=r"emobank\.csv: the file downloaded \(\d[\d,]* bytes\) has sha256 .*not the "
                                        r"pinned 0000000000000000"):
        Source.parse(f"{url}#sha256={wrong}", "--affect_file").local_path()
    assert cached_files(cache) == []


def test_a_404_caches_nothing(server, cache, plain_http):
    base, _ = server
    with pytest.raises(DataError, match=r"missing\.csv: the server answered HTTP 404"):
        Source.parse(f"{base}/missing.csv#sha256={'a' * 64}", "--affect_file").local_path()
    assert cached_files(cache) == []


def test_a_refused_connection_caches_nothing(cache, plain_http):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DataError, match=r"the download failed \(.*refused.*\); nothing was cached"):
        Source.parse(f"http://127.0.0.1:{port}/emobank.csv#sha256={'a' * 64}", "--affect_file").local_path()
    assert cached_files(cache) == []


def test_a_truncated_body_caches_nothing(server, cache, plain_http):
    url, sha256 = served(server, "train_sent_emo.csv", truncated=True)
    with pytest.raises(DataError, match=r"train_sent_emo\.csv: (the download ended after [\d,]+ of [\d,]+ bytes "
                                        r"\(truncated\)|the download failed \(.*\)); nothing was cached"):
        Source.parse(f"{url}#sha256={sha256}", "--corpus meld train").local_path()
    assert cached_files(cache) == []


@pytest.mark.parametrize("value, message", [
    ("https://example.org/x.csv", "a URL needs its sha256"),
    ("http://example.org/x.csv#sha256=" + "a" * 64, "only https:// downloads"),
    ("https://example.org/x.csv#sha256=abc", "expected 64 hexadecimal digits"),
    ("hub:dair-ai/emotion", "expected hub:<dataset>"),
    ("hub:dair-ai/emotion@:train", "expected hub:<dataset>"),
    ("ftp://example.org/x.csv", "expected a local path"),
    ("", "got an empty value"),
])
def test_malformed_sources_are_one_sentence(value, message):
    with pytest.raises(DataError, match=message):
        Source.parse(value, "--corpus x train")


def test_a_local_copy_with_another_hash_is_named(tmp_path):
    copy = tmp_path / "emobank.csv"
    copy.write_text("id,split,V,A,D,text\n")
    with pytest.raises(DataError, match=rf"{copy}: its sha256 is not the pinned"):
        Source.parse(f"{copy}#sha256={'b' * 64}", "--affect_file").local_path()


def test_a_hub_split_reads_through_a_local_datasets_folder(tmp_path):
    """GoEmotions' Hub layout (text, labels as a list of ids, id) in a local folder load_dataset reads: the same
    rows, labels and mapping as the TSV file."""
    import datasets

    tsv = tmp_path / "train.tsv"
    tsv.write_bytes(sliced(DATA / "goemotions" / "train.tsv", 60))
    mapping = REPO / "mappings" / "goemotions_to_dair_emotion.json"
    rows = read_corpus_file(tsv, mapping)
    folder = tmp_path / "go_emotions"
    folder.mkdir()
    datasets.Dataset.from_dict({
        "text": [r.text for r in rows], "labels": [[int(i) for i in r.label.split(",")] for r in rows],
        "id": [f"id{i}" for i in range(len(rows))]}).to_parquet(str(folder / "train.parquet"))
    hub = read_corpus_file(Source.parse(f"hub:{folder}:train", "--corpus goemotions train"), mapping)
    labels = ["sadness", "joy", "love", "anger", "fear", "surprise", "neutral"]
    convert = LabelMapping(mapping, labels)
    assert [(r.text, convert(r)) for r in hub] == [(r.text, convert(r)) for r in rows]
    assert hub[0].where == f"hub:{folder}:train, row 0"
    with pytest.raises(DataError, match=r"cannot be read with datasets\.load_dataset"):
        read_corpus_file(Source.parse(f"hub:{tmp_path / 'nothing'}:train", "--corpus x train"), mapping)


# ---- recipes ----

def parse(*argv):
    import train

    return train.parse_arguments(list(argv))


def test_the_recipe_is_read_and_flags_after_it_win():
    model, data, cmhl, training = parse("recipes/corpora.yaml", "--output_dir", "out", "--num_train_epochs", "3")
    assert training.num_train_epochs == 3  # the flag, over the recipe's 2
    assert data.epoch_size == 45000 and data.drop_test_overlap is True  # the recipe, over the defaults
    assert model.model_name_or_path == "FacebookAI/roberta-base"  # not in the recipe: the default
    import train

    public = [str(c.train) for c in train.parsed_corpora(data)]
    assert public[0] == "hub:dair-ai/emotion@split:train" and public[2].startswith("https://raw.githubusercontent")
    data.corpus_dir = str(DATA)
    local = train.parsed_corpora(data)
    assert [c.train.path for c in local] == [DATA / "emotion" / "train.txt", DATA / "goemotions" / "train.tsv",
                                             DATA / "meld" / "train_sent_emo.csv"]
    assert local[2].train.sha256 == public[2].rsplit("=", 1)[1]  # the copy is checked against the URL's pin
    assert [c.proportion for c in local] == [0.35, 0.45, 0.2]
    assert [c.published for c in local] == public  # the card names the public source of a local copy


def test_a_corpus_flag_replaces_the_recipes_list():
    _, data, _, _ = parse("recipes/corpora.yaml", "--output_dir", "out", "--corpus",
                          "name=mine,train=a.txt,mapping=m.json")
    assert data.corpus == ["name=mine,train=a.txt,mapping=m.json"]


def test_recipe_mistakes_are_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rat: 1e-4\n")
    with pytest.raises(DataError, match=r"bad\.yaml: \['learning_rat'\] are not train\.py arguments"):
        parse(str(bad), "--output_dir", "out")
    bad.write_text("learning_rate: fast\n")
    with pytest.raises(DataError, match=r"bad\.yaml: learning_rate: 'fast' is not a valid value"):
        parse(str(bad), "--output_dir", "out")
    bad.write_text("corpus:\n  - {name: x, train: a.txt, mapping: m.json, share: 1}\n")
    import train

    _, data, _, _ = parse(str(bad), "--output_dir", "out")
    with pytest.raises(DataError, match=r"corpus x: unknown key\(s\) \['share'\]"):
        train.parsed_corpora(data)


def test_flags_that_contradict_the_recipe_are_refused():
    import train

    _, data, _, _ = parse("recipes/corpora.yaml", "--output_dir", "out", "--train_file", "mine.txt")
    with pytest.raises(DataError, match="--corpus replaces --train_file"):
        train.load_corpus_splits(data, None, {}, 42)
    _, data, _, _ = parse("--output_dir", "out", "--train_file", "a.txt", "--epoch_size", "64",
                          "--corpus_dir", str(DATA))
    with pytest.raises(DataError, match=r"--epoch_size and --corpus_dir apply to several corpora"):
        train.check_corpus_settings(data)


def test_the_card_names_each_source():
    assert _source_cell("hub:dair-ai/emotion@split:train") == \
        "[dair-ai/emotion@split:train](https://huggingface.co/datasets/dair-ai/emotion)"
    assert _source_cell("https://x.org/a/emobank.csv#sha256=" + "c" * 64) == "<https://x.org/a/emobank.csv> (sha256 `cccccccccccc...`)"
    assert _source_cell("../shared/data/meld/train_sent_emo.csv#sha256=" + "c" * 64) == "a local file, `train_sent_emo.csv`"
