"""The pytest plugin's fixtures, under their former name (the plugin itself is ``genesys_auth_adapter_pytest``)."""

from genesys_auth_adapter_pytest import genesys_emulator, genesys_emulator_factory, genesys_session

__all__ = ["genesys_emulator", "genesys_emulator_factory", "genesys_session"]
