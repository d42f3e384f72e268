"""Thin click CLI: each module wires one command group to the library; no logic lives here."""
