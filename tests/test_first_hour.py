"""A real user's first hour (issues 29, 36): the CPU command's threads against free cores, the pin_memory warning."""

import logging

import torch

import train


def test_a_launcher_that_pins_one_thread_on_a_multicore_cpu_is_named_with_its_fix(monkeypatch, caplog):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(train.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(train, "cores_used_by_others", lambda: (0.0, []))
    with caplog.at_level(logging.WARNING, logger="cmhl.train"):
        train.warn_about_cpu_threads()
    assert "1 CPU thread of 4 cores" in caplog.text and "--num_cpu_threads_per_process 4" in caplog.text
    caplog.clear()
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    train.warn_about_cpu_threads()
    assert caplog.text == ""


def test_threads_beyond_the_free_cores_are_named_with_their_fix(monkeypatch, caplog):
    """Another process busy on one of 2 cores: 2 threads make every step wait (BENCHMARKS.md "Training speed")."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(train.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(train, "cores_used_by_others", lambda: (1.0, ["python (100%)"]))
    with caplog.at_level(logging.WARNING, logger="cmhl.train"):
        train.warn_about_cpu_threads()
    assert "about 1.0 of the 2 cores (python (100%))" in caplog.text and "OMP_NUM_THREADS=1" in caplog.text
    caplog.clear()
    monkeypatch.setattr(train, "cores_used_by_others", lambda: (0.02, []))
    train.warn_about_cpu_threads()
    assert caplog.text == ""


def test_no_memory_is_pinned_without_an_accelerator(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = train.CMHLTrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    assert args.dataloader_pin_memory is False
