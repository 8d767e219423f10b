"""A real user's first hour (issue 29): the CPU command's threads, the pin_memory warning."""

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
    with caplog.at_level(logging.WARNING, logger="cmhl.train"):
        train.warn_if_pinned_to_one_thread()
    assert "1 CPU thread of 4 cores" in caplog.text and "--num_cpu_threads_per_process 4" in caplog.text
    caplog.clear()
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    train.warn_if_pinned_to_one_thread()
    assert caplog.text == ""


def test_no_memory_is_pinned_without_an_accelerator(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = train.CMHLTrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    assert args.dataloader_pin_memory is False
