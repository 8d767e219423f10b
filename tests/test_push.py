"""--push_to_hub: every push of the output folder (checkpoint pushes included) carries the code files, and
the final card is ours. The Hub is replaced by a recorder of what would be uploaded."""

import fnmatch
import os
from concurrent.futures import Future
from types import SimpleNamespace

import transformers.utils.hub as transformers_hub

import train
from conftest import DATA, make_tiny_checkpoint

class FakeHub:
    """Records, for each upload_folder call, the files the folder held then (after ignore patterns)."""

    def __init__(self):
        self.folder_uploads, self.file_uploads = [], []

    def create_repo(self, repo_id, **kwargs):
        return SimpleNamespace(repo_id=repo_id)

    def upload_folder(self, repo_id, folder_path, commit_message, ignore_patterns=(), path_in_repo=None, **kwargs):
        files = sorted(name for name in os.listdir(folder_path)
                       if os.path.isfile(os.path.join(folder_path, name))
                       and not any(fnmatch.fnmatch(name, pattern) for pattern in ignore_patterns or ()))
        self.folder_uploads.append((commit_message, path_in_repo, files))
        done = Future()
        done.set_result(None)
        return done

def test_every_push_carries_the_code_and_our_card(tmp_path, monkeypatch):

    hub = FakeHub()
    monkeypatch.setattr(transformers_hub, "_hf_api", hub)
    monkeypatch.setattr(train, "upload_file", lambda **kwargs: hub.file_uploads.append(
        (kwargs["path_in_repo"], open(kwargs["path_or_fileobj"]).read())))
    checkpoint = tmp_path / "tiny"
    make_tiny_checkpoint(checkpoint)
    emotion = DATA / "emotion"
    train.main(["--model_name_or_path", str(checkpoint), "--train_file", str(emotion / "train.txt"),
                "--validation_file", str(emotion / "validation.txt"), "--max_train_samples", "32",
                "--max_eval_samples", "16", "--num_train_epochs", "2", "--per_device_train_batch_size", "16",
                "--output_dir", str(tmp_path / "out"), "--push_to_hub", "--hub_model_id", "someone/cmhl-test"])
    assert len(hub.folder_uploads) >= 3  # two epoch checkpoints and the end of training
    for message, path_in_repo, files in hub.folder_uploads:
        if path_in_repo is None:  # the output folder itself
            assert {"modeling_cmhl.py", "configuration_cmhl.py", "loss.py", "config.json",
                    "model.safetensors"} <= set(files), message
    assert [name for name, _ in hub.file_uploads] == ["README.md"]
    card = hub.file_uploads[0][1]
    assert "pipeline_tag: text-classification" in card and "# someone/cmhl-test" in card
