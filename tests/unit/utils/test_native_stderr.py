"""Native (fd 2) start-up noise of TensorFlow Lite is dropped; every other line comes through."""

from __future__ import annotations

import os


def test_native_noise_dropped_other_lines_kept(capfd):
    from wakeforge.utils.console import native_stderr_filtered

    with native_stderr_filtered():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"a real problem from C++\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    err = capfd.readouterr().err
    assert err == "a real problem from C++\n"


def test_lines_survive_an_exception(capfd):
    import pytest

    from wakeforge.utils.console import native_stderr_filtered

    with pytest.raises(RuntimeError):
        with native_stderr_filtered():
            os.write(2, b"kept before the error\n")
            raise RuntimeError("boom")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "kept before the error\nafter\n"
