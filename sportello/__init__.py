"""Sportello: the `sportello` command and the settings shared by the CLI and the service."""
