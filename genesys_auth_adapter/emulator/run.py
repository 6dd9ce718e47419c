"""Running the emulator in the foreground, for the command line."""

from __future__ import annotations

import shlex
from typing import TextIO

from .emulator import Emulator


def serve_forever(emu: Emulator, out: TextIO) -> None:
    """Starts ``emu``, prints shell ``export`` lines for it, and serves until Ctrl-C (or a stop()).

    Args:
        emu: The emulator; started here if it is not running.
        out: Where the export lines go.
    """
    emu.start()
    try:
        print("# Paste these lines into your shell to point a client at the emulator (Ctrl-C stops it):", file=out)
        for name, value in emu.env().items():
            print(f"export {name}={shlex.quote(value)}", file=out)
        out.flush()
        # A timed wait, so that the main thread gets to run the KeyboardInterrupt on every platform.
        while not emu.wait_stopped(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
