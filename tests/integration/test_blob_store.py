"""The content-addressed blob store on a real file system."""

from __future__ import annotations

import shutil

from ledgerdesk.adapters.blob_store import FileBlobStore


def test_blobs_are_named_by_content_and_stored_once(tmp_path):
    store = FileBlobStore(tmp_path, durable=True)
    first, again = store.put_many([b"hello", b"hello"])
    assert first == again and store.get(first) == b"hello"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [first]


def test_a_blob_folder_removed_behind_the_stores_back_is_made_again(tmp_path):
    store = FileBlobStore(tmp_path, durable=False)
    digest = store.put(b"one")
    shutil.rmtree(tmp_path / digest[:2])
    [again] = store.put_many([b"one"])
    assert store.get(again) == b"one"


def test_blobs_written_under_the_older_two_level_layout_are_still_found(tmp_path):
    store = FileBlobStore(tmp_path)
    digest = FileBlobStore(tmp_path).put(b"old")
    old = tmp_path / digest[:2] / digest[2:4] / digest
    old.parent.mkdir(parents=True)
    (tmp_path / digest[:2] / digest).rename(old)
    assert store.exists(digest) and store.get(digest) == b"old"


def test_deferred_writes_are_synced_by_one_flush(tmp_path):
    store = FileBlobStore(tmp_path, durable=True)
    digests = store.put_many([b"a", b"b", b"c"], defer_sync=True)
    assert store._unsynced  # written, not yet waited for
    store.flush()
    assert not store._unsynced and [store.get(d) for d in digests] == [b"a", b"b", b"c"]
