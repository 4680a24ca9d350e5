"""Decoder training: data, losses and the resumable trainer behind ``depthstyle train``."""
