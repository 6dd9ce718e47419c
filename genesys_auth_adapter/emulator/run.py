"""Running the emulator in the foreground, for the command line."""

from __future__ import annotations

import shlex
from typing import TextIO

from .emulator import Emulator


def serve_forever(emu: Emulator, out: TextIO, grant: str | None = None) -> None:
    """Starts ``emu``, prints shell ``export`` lines for it, and serves until Ctrl-C (or a stop()).

    Args:
        emu: The emulator; started here if it is not running.
        out: Where the export lines go.
        grant: Print the variables of the user client of this grant (``code``, ``pkce``, ``saml2``)
            instead of the client-credentials client's.
    """
    emu.start()
    try:
        print("# Paste these lines into your shell to point a client at the emulator (Ctrl-C stops it):", file=out)
        for name, value in emu.env(grant).items():
            print(f"export {name}={shlex.quote(value)}", file=out)
        out.flush()
        # A timed wait, so that the main thread gets to run the KeyboardInterrupt on every platform.
        while not emu.wait_stopped(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
