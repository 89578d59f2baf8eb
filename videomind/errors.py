"""Exceptions raised by videomind. Each message says what went wrong and what to do about it."""

from __future__ import annotations


class VideoMindError(Exception):
    """Base class: the command line turns these into a one-line message and exit code 2."""


class UserInputError(VideoMindError, ValueError):
    """An argument the caller gave cannot be used (empty question, options of the wrong type, ...)."""


class CheckpointError(VideoMindError):
    """A checkpoint folder is missing, incomplete or has keys that do not match the model."""


class DataError(VideoMindError):
    """An annotation file is missing or malformed; the message names the file, the record and the field."""
