"""The secret key file of a fresh state folder: of several processes starting at once, one key wins and
every one of them reads that key, never an empty or half-written file."""

from __future__ import annotations

import multiprocessing
import stat

from gwanje.core.settings import Settings


def _key(var_dir: str, start, out) -> None:  # noqa: ANN001 - multiprocessing primitives
    start.wait()
    out.put(Settings(var_dir=var_dir, database_url="sqlite:///:memory:").resolved_secret_key())


def test_processes_starting_together_on_a_fresh_state_folder_share_one_key(tmp_path):
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_key, args=(str(tmp_path), start, out)) for _ in range(8)]
    for p in procs:
        p.start()
    start.set()
    keys = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(30)
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    path = tmp_path / "secret_key"
    assert path.read_text().strip() == keys[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"], "no temporary file is left behind"


def test_a_key_another_process_wrote_after_our_check_is_kept_not_overwritten(tmp_path, monkeypatch):
    """The race itself, made certain: our check saw no file, another process's key landed before our
    write. Ours must give way to it (every process then holds the one key on file)."""
    from pathlib import Path

    theirs = "t" * 48
    real_exists = Path.exists

    def stale_exists(self: Path, *args, **kwargs) -> bool:  # noqa: ANN002, ANN003
        if self.name == "secret_key" and not real_exists(self):
            self.write_text(theirs)  # the other process, between our check and our write
            return False
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", stale_exists)
    assert Settings(var_dir=tmp_path, database_url="sqlite:///:memory:").resolved_secret_key() == theirs
    assert (tmp_path / "secret_key").read_text() == theirs


def test_a_key_on_file_is_kept(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 48 + "\n")
    assert Settings(var_dir=tmp_path, database_url="sqlite:///:memory:").resolved_secret_key() == "k" * 48
