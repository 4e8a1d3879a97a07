"""Tests of the emulator services (io, api/pfop, fusion/CDN, downloads, callbacks)."""
