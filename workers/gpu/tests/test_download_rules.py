"""The download manager's refusals, without a network (the jest suite test/gpu/download.test.ts runs
the whole activity against a fake Hub)."""

from pathlib import Path

import pytest

from mms_gpu.download import DownloadRefused, DownloadRequest, RemoteFile, safe_target, select_files
from mms_gpu.validation import BadRequest


@pytest.mark.parametrize("rel", ["../x.safetensors", "a/../../x", "/etc/passwd", "..\\x", "~/x"])
def test_paths_that_escape_are_refused(tmp_path: Path, rel: str):
    with pytest.raises(DownloadRefused) as err:
        safe_target(tmp_path, rel)
    assert err.value.kind == "PathEscape"


def test_paths_inside_are_kept(tmp_path: Path):
    assert safe_target(tmp_path, "sub/model.safetensors") == (tmp_path / "sub" / "model.safetensors").resolve()


def test_pickled_only_repository_is_refused():
    listing = [RemoteFile("config.json", 2, None, "x"), RemoteFile("pytorch_model.bin", 9, "y", "z")]
    with pytest.raises(DownloadRefused, match=r"no safetensors weights .*found: \.bin"):
        select_files(listing, None)


def test_default_selection_skips_pickles_and_docs():
    listing = [RemoteFile(p, 1, None, "x") for p in ("config.json", "model.safetensors", "pytorch_model.bin", "README.md", "tokenizer.json")]
    assert [f.path for f in select_files(listing, None)] == ["config.json", "model.safetensors", "tokenizer.json"]


def test_bad_requests_name_the_field():
    base = {"endpoint": "http://127.0.0.1:1", "repo": "a/b", "modelsDir": "/tmp/m"}
    with pytest.raises(BadRequest, match=r"^repo: must be \"owner/name\""):
        DownloadRequest.parse({**base, "repo": "../b"})
    with pytest.raises(BadRequest, match=r"^files\[0\]: x\.pt is a pickled weights file"):
        DownloadRequest.parse({**base, "files": ["x.pt"]})
    with pytest.raises(BadRequest, match=r"^endpoint: must be an http"):
        DownloadRequest.parse({**base, "endpoint": "file:///etc"})
    with pytest.raises(BadRequest, match=r"^modelsDir: is required"):
        DownloadRequest.parse({k: v for k, v in base.items() if k != "modelsDir"})
